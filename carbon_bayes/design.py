"""Features of runs, shared by the PyMC model and the numpy predictor.

Both the fit and every prediction go through :func:`run_features`, so that a run means the
same thing to both: its hardware (TDP, dense peak, generation, family), era, size scale,
compute, device-hours, and the centres of its PUE and carbon-intensity priors.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from carbon_bayes import reference
from carbon_bayes.frames import is_series
from carbon_bayes.schema import CATEGORIES

if TYPE_CHECKING:
    import pandas as pd

#: Year assumed when a run gives none (a warning says so).
DEFAULT_YEAR = 2025
WORLD = "WORLD"


@dataclass(frozen=True)
class Levels:
    """Group levels of the hierarchy (coords of the posterior)."""

    generation: tuple[str, ...]
    family: tuple[str, ...]
    architecture: tuple[str, ...]
    era: tuple[str, ...]
    provider: tuple[str, ...]
    task: tuple[str, ...]
    #: Organisations of the fitted runs (from the data, not the package; see ``effects.DATA_DIMS``).
    operator: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, list[str]]:
        """Return the levels of each dim as lists (the posterior's coords)."""
        return {k: list(getattr(self, k)) for k in ("generation", "family", "architecture", "era", "provider", "task",
                                                    "operator")}


def normalise_operator(values: Any) -> np.ndarray:
    """Organisation names of raw data rows as levels: stripped and lower-case, as the schema reads them."""
    return np.array([str(v).strip().lower() for v in values], dtype=object)


def model_levels(structure: dict, operators: Any = ()) -> Levels:
    """Every level the model knows, observed or not (unobserved levels get new-group draws).

    ``operators``: the organisations of the fitted runs (a posterior's ``operator`` levels).
    """
    acc = reference.accelerator_rows().values()
    return Levels(
        generation=tuple(sorted({row["generation"] for row in acc})),
        family=tuple(sorted({row["family"] for row in acc})),
        architecture=CATEGORIES["architecture"],
        era=tuple(structure["era_labels"]),
        provider=CATEGORIES["provider"],
        task=CATEGORIES["task"],
        operator=tuple(sorted({str(o) for o in operators} - {""})),
    )


def era_index(year: npt.ArrayLike, structure: dict) -> np.ndarray:
    """Index of the era bin of each year."""
    return np.searchsorted(np.asarray(structure["era_edges"], dtype=float), np.asarray(year, dtype=float), side="right")


def scale(log10_params: Any, structure: dict) -> Any:
    """Standardised size: (log10 parameters - centre) / width (works on arrays and tensors)."""
    return (log10_params - structure["scale_log10_centre"]) / structure["scale_log10_width"]


def power_scale(scale_: Any, structure: dict) -> Any:
    """Size term of the power fraction: the scale below the knee, 0 above it (power saturates).

    Written with ``(x - |x|) / 2 = min(x, 0)`` so it works on numpy arrays and PyTensor tensors.
    """
    knee = (structure["power_knee_log10_params"] - structure["scale_log10_centre"]) / structure["scale_log10_width"]
    x = scale_ - knee
    return (x - abs(x)) / 2


@dataclass
class RunFeatures:
    """Per-run arrays (length ``n``); NaN / -1 / "" mark unknowns."""

    n: int
    hardware: np.ndarray
    tdp_w: np.ndarray
    tdp_log_sd: np.ndarray
    peak_flops: np.ndarray
    gen_idx: np.ndarray
    fam_idx: np.ndarray
    arch_idx: np.ndarray
    era_idx: np.ndarray
    year: np.ndarray
    task: np.ndarray
    log10_params: np.ndarray
    log_flops: np.ndarray
    log_tokens: np.ndarray
    log_hours: np.ndarray
    ci_given: np.ndarray
    log_ci_centre: np.ndarray
    ci_extra_sd: np.ndarray
    pue_given: np.ndarray
    pue_centre: np.ndarray
    pue_log_sd: np.ndarray
    power_w_given: np.ndarray
    energy_basis: np.ndarray
    power_scope: np.ndarray
    precision: np.ndarray
    provider_idx: np.ndarray
    task_idx: np.ndarray
    #: Organisation that trained the model (normalised; "" not given) and its level (-1: none or unknown).
    operator: np.ndarray
    operator_idx: np.ndarray
    #: Runs with neither region nor country: their grid is the location mixture.
    location_unknown: np.ndarray
    #: Fine-tunes of a pretrained model (1.0) or trainings from scratch (0.0): the compute regression's shift.
    finetune: np.ndarray
    notes: list[list[str]] = field(default_factory=list)

    def take(self, rows: np.ndarray) -> RunFeatures:
        """Return the features of the runs at positions ``rows`` (what :func:`run_features` gives those rows)."""
        arrays = {f.name: getattr(self, f.name)[rows] for f in fields(self) if f.name not in ("n", "notes")}
        return replace(self, n=len(rows), notes=[self.notes[i] for i in rows], **arrays)

    @property
    def hw_known(self) -> np.ndarray:
        """Mask of the runs whose hardware is given."""
        return self.hardware != ""

    @property
    def nominal(self) -> np.ndarray:
        """Mask of the runs on the ``nominal`` basis (watts and PUE convention latent unless given)."""
        return self.energy_basis == "nominal"


def groups(**columns: np.ndarray) -> dict[tuple, np.ndarray]:
    """Row positions of each distinct combination of the given equal-length arrays."""
    arrays = list(columns.values())
    n = len(arrays[0]) if arrays else 0
    if n <= 256:  # small batches: a dict is faster than a pandas groupby
        found: dict[tuple, list[int]] = {}
        for i, key in enumerate(zip(*arrays, strict=True)):
            found.setdefault(key, []).append(i)
        return {k: np.asarray(v) for k, v in found.items()}
    import pandas as pd

    out = pd.DataFrame(columns).groupby(list(columns), sort=False, dropna=False).indices
    return {(k if isinstance(k, tuple) else (k,)): v for k, v in out.items()}


def _index(values: np.ndarray, levels: tuple[str, ...]) -> np.ndarray:
    lookup = {v: i for i, v in enumerate(levels)}
    return np.array([lookup.get(v, -1) for v in values], dtype=np.int64)


@dataclass(frozen=True)
class HardwareTable:
    """The accelerator table as arrays by position (``pos[hardware_id]``).

    TDP (W), its log-sd, dense peak at the default precision (FLOP/s), and generation / family
    level indices.
    """

    ids: np.ndarray
    pos: dict
    tdp_w: np.ndarray
    tdp_log_sd: np.ndarray
    peak_flops: np.ndarray
    gen_idx: np.ndarray
    fam_idx: np.ndarray


@functools.lru_cache(maxsize=8)
def hardware_table(levels: Levels) -> HardwareTable:
    """Return the accelerator table as arrays (cached: it is read on every estimate)."""
    acc = reference.accelerator_rows()
    g = {v: i for i, v in enumerate(levels.generation)}
    f = {v: i for i, v in enumerate(levels.family)}
    ids = np.array(list(acc), dtype=object)
    rows = list(acc.values())
    tdp_log_sd = np.array([r["tdp_log_sd"] for r in rows], dtype=float)
    return HardwareTable(
        ids=ids, pos={h: i for i, h in enumerate(ids)}, tdp_w=np.array([r["tdp_w"] for r in rows], dtype=float),
        tdp_log_sd=np.where(np.isnan(tdp_log_sd), 0.0, tdp_log_sd),
        peak_flops=np.array([reference.peak_flops(h) for h in ids], dtype=float),
        gen_idx=np.array([g[r["generation"]] for r in rows]), fam_idx=np.array([f[r["family"]] for r in rows]))


def hardware_arrays(hardware: np.ndarray, precision: np.ndarray, levels: Levels
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Look up each run's TDP, TDP log-sd, dense peak, and generation and family index.

    The peak (FLOP/s) is at ``precision`` when given; NaN / -1 where the hardware is unknown.
    """
    table = hardware_table(levels)
    known = hardware != ""
    i = np.array([table.pos.get(h, 0) for h in hardware], dtype=np.int64)
    tdp = np.where(known, table.tdp_w[i], np.nan)
    tdp_sd = np.where(known, table.tdp_log_sd[i], 0.0)
    peak = np.where(known, table.peak_flops[i], np.nan)
    gen = np.where(known, table.gen_idx[i], -1)
    fam = np.where(known, table.fam_idx[i], -1)
    for (hw, prec), idx in groups(hw=hardware, prec=precision).items():
        if hw and prec:
            peak[idx] = reference.peak_flops(hw, prec)
    return tdp, tdp_sd, peak, gen.astype(np.int64), fam.astype(np.int64)


#: Normalised runs: their DataFrame or their columns as arrays (:func:`carbon_bayes.schema.normalise_columns`).
type Runs = pd.DataFrame | Mapping[str, np.ndarray]


def _col(df: Runs, name: str, dtype: npt.DTypeLike = object) -> np.ndarray:
    """Column ``name`` of normalised runs (a DataFrame or a mapping of arrays) as a numpy array."""
    col = df[name]
    return col.to_numpy(dtype=dtype) if is_series(col) else np.asarray(col, dtype=dtype)


def _grid_centre(df: Runs, year: np.ndarray, unknown_sd: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log of the grid intensity at the run's region / country / world mix, and the extra sd.

    Runs with neither region nor country have the world mix here, but the graph and the
    predictor replace it by the location mixture (:func:`carbon_bayes.reference.location_mixture`).
    """
    n = len(year)
    centre = np.full(n, np.nan)
    extra = np.zeros(n)
    extrapolated = np.zeros(n, dtype=bool)
    region = _col(df, "region")
    country = _col(df, "country")
    has_region = region != ""
    pos = np.flatnonzero(has_region)
    for (reg, y), idx in groups(reg=region[has_region], y=year[has_region]).items():
        v, ex = reference.region_intensity(reference.resolve_region(reg), int(y))
        rows = pos[idx]
        centre[rows] = v
        extrapolated[rows] = ex
    rest = ~has_region
    codes = np.where(country == "", WORLD, country)
    grid_v, grid_ex = reference.grid_intensity_many(codes[rest], year[rest].astype(int))
    centre[rest] = grid_v
    extrapolated[rest] = grid_ex
    extra[rest & (country == "")] = unknown_sd
    # A zero intensity (e.g. an all-hydro region) cannot be a log-scale centre; floor at 1 g/kWh.
    return np.log(np.maximum(centre, 1e-3)), extra, extrapolated


def run_features(df: Runs, levels: Levels, structure: dict, unknown_location_sd: float) -> RunFeatures:
    """Features of schema-normalised runs (see :func:`carbon_bayes.schema.normalise_runs`).

    ``df`` is their DataFrame or their columns as arrays (:func:`carbon_bayes.schema.normalise_columns`).
    """
    year = _col(df, "year", float).copy()
    n = len(year)
    notes: list[list[str]] = [[] for _ in range(n)]
    for i in np.flatnonzero(np.isnan(year)):
        notes[i].append(f"year not given: assumed {DEFAULT_YEAR}")
    year[np.isnan(year)] = DEFAULT_YEAR
    hardware = _col(df, "hardware")
    precision = _col(df, "precision")
    tdp, tdp_sd, peak, gen, fam = hardware_arrays(hardware, precision, levels)
    active = _col(df, "active_parameters", float)
    params = np.where(np.isnan(active), _col(df, "parameters", float), active)
    tokens = _col(df, "training_tokens", float)
    flops = _col(df, "training_flops", float)
    from carbon_bayes import formula

    six_nd = formula.training_flops(params, tokens)
    log_flops = np.log(np.where(np.isnan(flops), six_nd, flops))
    log_ci_centre, ci_extra, ci_extrap = _grid_centre(df, year, unknown_location_sd)
    ci_given = _col(df, "carbon_intensity", float)
    for i in np.flatnonzero(ci_extrap & np.isnan(ci_given)):
        notes[i].append(f"grid intensity for {int(year[i])} extrapolated from the nearest published year")
    provider = _col(df, "provider")
    operator = _col(df, "operator")  # lower-cased by the schema
    pue_c = np.empty(n)
    pue_sd = np.empty(n)
    for (prov, y), idx in groups(prov=provider, y=year).items():
        c, s = reference.pue_prior(prov or None, int(y))
        pue_c[idx] = c
        pue_sd[idx] = s
    return RunFeatures(
        n=n, hardware=hardware, tdp_w=tdp, tdp_log_sd=tdp_sd, peak_flops=peak, gen_idx=gen, fam_idx=fam,
        arch_idx=_index(_col(df, "architecture"), levels.architecture),
        era_idx=era_index(year, structure), year=year, task=_col(df, "task"),
        log10_params=np.log10(params), log_flops=log_flops, log_tokens=np.log(tokens),
        log_hours=np.log(_col(df, "device_hours", float)),
        ci_given=ci_given, log_ci_centre=log_ci_centre, ci_extra_sd=ci_extra,
        pue_given=_col(df, "pue", float), pue_centre=pue_c, pue_log_sd=pue_sd,
        power_w_given=_col(df, "power_per_device_w", float),
        energy_basis=_col(df, "energy_basis"), power_scope=_col(df, "power_scope"),
        precision=precision, provider_idx=_index(np.where(provider == "", "unknown", provider), levels.provider),
        task_idx=_index(_col(df, "task"), levels.task),
        operator=operator, operator_idx=_index(operator, levels.operator),
        location_unknown=(_col(df, "region") == "") & (_col(df, "country") == ""),
        finetune=(_col(df, "scope") == "finetune").astype(float), notes=notes,
    )


def epoch_compute_coefficients(task: np.ndarray, year: np.ndarray) -> np.ndarray:
    """Per run (intercept, slope on log10 params - 9, year coefficient) of the Epoch AI regression.

    The regression is of log10 FLOP on size and year for the run's task; mean = a + b (log10 N - 9)
    + c (year - 2020).
    """
    out = np.empty((len(task), 3))
    for (t,), idx in groups(t=task).items():
        c = reference.compute_prior_coefficients(t or None, 2020, has_params=True)
        out[idx] = (c["intercept"], c["coef_log10_params"], c["coef_year"])
    return out


def pue_log_sd_approx(pue_centre: np.ndarray, pue_log_sd: np.ndarray) -> np.ndarray:
    """Sd of log(PUE) when log(PUE - 1) ~ Normal(log(c - 1), s): delta method, (c - 1) / c * s."""
    return (pue_centre - 1.0) / pue_centre * pue_log_sd
