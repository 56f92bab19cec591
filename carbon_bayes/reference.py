"""Reference tables shipped in ``priors/``: accelerators, countries, grid and cloud-region
carbon intensity, PUE priors, hardware use by year and compute priors.

Every loader reads its file once (``functools.lru_cache``) through
:func:`carbon_bayes.resources.priors_path`; nothing here reads ``../shared`` or the network.
Lookups accept the spellings people and datasets use and raise
:class:`~carbon_bayes.errors.InputError` naming the field, the value and a fix (with
"did you mean" suggestions) when a name is unknown.

Units: TDP in W, peaks in FLOP/s (the CSV stores TFLOP/s), carbon intensity in kg CO2e/kWh,
PUE dimensionless.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd

from .errors import DataError, InputError
from .resources import priors_path

__all__ = [
    "CloudRegion",
    "accelerators",
    "compute_prior",
    "compute_prior_coefficients",
    "continent_of",
    "grid_intensity",
    "grid_intensity_many",
    "hardware_mix",
    "params_prior",
    "peak_flops",
    "provider_of_region",
    "pue_prior",
    "region_intensity",
    "resolve_country",
    "resolve_hardware",
    "resolve_region",
]

PRECISIONS = ("fp32", "tf32", "bf16", "fp16", "fp8")
_PRECISION_ALIASES = {
    "fp32": "fp32", "float32": "fp32", "float": "fp32", "single": "fp32", "f32": "fp32",
    "tf32": "tf32", "tensorfloat32": "tf32",
    "bf16": "bf16", "bfloat16": "bf16",
    "fp16": "fp16", "float16": "fp16", "half": "fp16", "f16": "fp16",
    "fp8": "fp8", "float8": "fp8", "e4m3": "fp8", "e5m2": "fp8",
}
CONTINENTS = ("AFRICA", "ASIA", "EUROPE", "NORTH_AMERICA", "SOUTH_AMERICA", "OCEANIA")
AGGREGATES = ("WORLD", "EU27") + CONTINENTS
_AGGREGATE_ALIASES = {
    "WORLD": ("World", "Global", "OWID_WRL", "WRL", "Earth", "Worldwide"),
    "EU27": ("EU", "EU-27", "EU 27", "European Union", "European Union (27)"),
    "AFRICA": ("Africa",),
    "ASIA": ("Asia",),
    "EUROPE": ("Europe",),
    "NORTH_AMERICA": ("North America",),
    "SOUTH_AMERICA": ("South America", "Latin America"),
    "OCEANIA": ("Oceania",),
}
PROVIDERS = ("aws", "gcp", "azure")
_CLOUD_PROVIDER_ALIASES = {
    "aws": "aws", "amazon": "aws", "ec2": "aws", "amazonwebservices": "aws",
    "gcp": "gcp", "google": "gcp", "googlecloud": "gcp", "gce": "gcp", "googlecloudplatform": "gcp",
    "azure": "azure", "microsoft": "azure", "microsoftazure": "azure", "msft": "azure",
}
_PUE_PROVIDER_ALIASES = {
    "google": "google", "gcp": "google", "googlecloud": "google",
    "aws": "aws", "amazon": "aws", "amazonwebservices": "aws",
    "azure": "azure", "microsoft": "azure", "microsoftazure": "azure",
    "meta": "meta", "facebook": "meta",
    "oracle": "oracle", "oci": "oracle",
    "hpc": "hpc", "supercomputer": "hpc", "hpccentre": "hpc", "hpccenter": "hpc",
    "colo": "colo", "colocation": "colo",
    "onpremise": "on_premise", "onprem": "on_premise", "onpremises": "on_premise",
    "enterprise": "on_premise", "university": "on_premise",
    "unknown": "unknown",
}
TASKS = ("language", "vision", "image_generation", "speech", "multimodal", "other")

_HW_VENDOR_WORDS = re.compile(r"\b(nvidia|tesla|geforce|amd|instinct|google|cloud)\b")


# --------------------------------------------------------------------------- helpers
def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _norm(text: str) -> str:
    """Lower-case and keep letters and digits only (accents folded)."""
    return re.sub(r"[^a-z0-9]", "", _ascii(str(text)).lower())


def _norm_hw(text: str) -> str:
    """Normalise a hardware name: drop vendor words, spaces, dashes, underscores, parentheses."""
    s = _ascii(str(text)).lower().replace("(", " ").replace(")", " ")
    s = _HW_VENDOR_WORDS.sub(" ", s)
    return re.sub(r"[^a-z0-9]", "", s)


def _split_list(cell: object) -> list[str]:
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return []
    return [p.strip() for p in str(cell).split(";") if p.strip()]


def _quote_list(items: list[str]) -> str:
    quoted = [f"'{x}'" for x in items]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _did_you_mean(key: str, index: dict[str, str], n: int = 3, label=None) -> str:
    """'did you mean ...?' text from difflib matches of ``key`` among ``index`` keys."""
    if not key:
        return ""
    matches = difflib.get_close_matches(key, list(index), n=25, cutoff=0.5)
    # also catch prefixes ("a100" -> "a100sxm480gb") that difflib ranks low
    matches += sorted(k for k in index if k.startswith(key) and k not in matches)
    seen: list[str] = []
    for m in matches:
        target = index[m]
        if target not in seen:
            seen.append(target)
        if len(seen) == n:
            break
    if not seen:
        return ""
    shown = [label(t) if label else t for t in seen]
    return f"; did you mean {_quote_list(shown)}?"


def _read_csv(name: str, **kwargs) -> pd.DataFrame:
    path = priors_path(name)
    if not path.is_file():
        raise DataError(f"reference file {path} is missing; reinstall carbon_bayes")
    return pd.read_csv(path, keep_default_na=False, na_values=[""], **kwargs)


def _as_year(year: object, field: str = "year") -> int:
    try:
        y = float(year)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(field, year, "give the year as a number, e.g. 2023") from None
    if not math.isfinite(y):
        raise InputError(field, year, "give the year as a finite number, e.g. 2023")
    return int(round(y))


# --------------------------------------------------------------------------- accelerators
def _build_hardware_index(table: pd.DataFrame) -> dict[str, str]:
    """Map every normalised id, display name and alias to its hardware_id.

    Raises DataError when one spelling points at two rows.
    """
    index: dict[str, str] = {}
    for hid, row in table.iterrows():
        names = [str(hid), str(row["display_name"])] + _split_list(row["aliases"])
        for name in names:
            key = _norm_hw(name)
            if not key:
                continue
            if index.get(key, hid) != hid:
                raise DataError(
                    f"accelerators.csv: spelling {name!r} (normalised {key!r}) is an alias of both "
                    f"{index[key]!r} and {hid!r}"
                )
            index[key] = str(hid)
    return index


def _lookup_hardware(name: str, index: dict[str, str]) -> str | None:
    """Resolve ``name`` in ``index`` (see :func:`resolve_hardware`); None when unknown."""
    for cand in (name, re.sub(r"\(.*?\)", " ", name)):
        key = _norm_hw(cand)
        if key in index:
            return index[key]
        if re.fullmatch(r"v\d+[a-z]*", key) and "tpu" + key in index:  # "v3" -> TPU v3
            return index["tpu" + key]
        # TPU slice / pod names: "v3-8", "TPU v4-512", "v5litepod-16", "tpu7x-64"
        stripped = re.sub(r"[-_\s]+\d+\s*$", "", cand.strip())
        if stripped != cand.strip():
            skey = _norm_hw(stripped)
            if re.fullmatch(r"(tpu)?v?\d+[a-z]*", skey):
                for k in (skey, "tpu" + skey):
                    if k in index:
                        return index[k]
    return None


@functools.lru_cache(maxsize=1)
def _accelerator_table() -> pd.DataFrame:
    table = _read_csv("accelerators.csv", dtype={"hardware_id": str, "aliases": str})
    table = table.set_index("hardware_id")
    if not table.index.is_unique:
        raise DataError(f"accelerators.csv: duplicate hardware_id {table.index[table.index.duplicated()].tolist()}")
    for col in ("tdp_w", "tdp_log_sd", "memory_gb") + tuple(f"peak_{p}_tflops" for p in PRECISIONS):
        table[col] = pd.to_numeric(table[col], errors="raise").astype(float)
    table["release_year"] = table["release_year"].astype(int)
    return table


@functools.lru_cache(maxsize=1)
def _hardware_index() -> dict[str, str]:
    return _build_hardware_index(_accelerator_table())


def accelerators() -> pd.DataFrame:
    """Accelerator table (``priors/accelerators.csv``) indexed by canonical ``hardware_id``.

    Returns
    -------
    pandas.DataFrame
        One row per device as users count devices (TPU chips, one GK210 of a K80 board,
        one MI250X module, ...). ``tdp_w`` in W; ``peak_*_tflops`` dense TFLOP/s (no
        sparsity; NaN when the chip has no such mode); ``tdp_basis`` ``published`` or
        ``estimated`` with ``tdp_log_sd`` the log-scale sd of an estimate. A copy: edit freely.
    """
    return _accelerator_table().copy()


def resolve_hardware(name: str) -> str:
    """Canonical ``hardware_id`` for an accelerator name.

    Parameters
    ----------
    name
        Any spelling: ``"A100-80GB"``, ``"NVIDIA A100 SXM4 80GB"``, ``"TPU v3"``,
        ``"TPUv3"``, ``"v3-8"``, ``"H100"``, Epoch AI's ``"NVIDIA Tesla V100 DGXS 32 GB"``...
        Matching ignores case, vendor words (NVIDIA, Tesla, GeForce, AMD, Instinct, Google,
        Cloud), spaces, dashes, underscores and parentheses. Generic names resolve to the
        variant most used for training (``"A100"`` -> ``A100-SXM4-40GB``).

    Returns
    -------
    str
        The ``hardware_id`` (index of :func:`accelerators`).

    Raises
    ------
    InputError
        ``field="hardware"`` when the name is unknown, with up to three suggestions.
    """
    if not isinstance(name, str) or not name.strip():
        raise InputError("hardware", name, "give an accelerator name such as 'A100-80GB' or 'TPU v4'")
    index = _hardware_index()
    hid = _lookup_hardware(name, index)
    if hid is not None:
        return hid
    fix = "use one of the names in `carbon-bayes data --hardware`" + _did_you_mean(_norm_hw(name), index)
    raise InputError("hardware", name, fix)


def _resolve_precision(precision: str) -> str:
    key = _norm(precision)
    if key not in _PRECISION_ALIASES:
        raise InputError("precision", precision, f"use one of {', '.join(PRECISIONS)}")
    return _PRECISION_ALIASES[key]


def peak_flops(hardware_id: str, precision: str | None = None) -> float:
    """Dense peak throughput of one device.

    Parameters
    ----------
    hardware_id
        Canonical id or any spelling accepted by :func:`resolve_hardware`.
    precision
        ``fp32``, ``tf32``, ``bf16``, ``fp16`` or ``fp8`` (``bfloat16``, ``half``... accepted).
        None (or "") uses the chip's ``default_precision`` (what training on it typically used).

    Returns
    -------
    float
        Peak FLOP/s (TFLOP/s x 1e12), without sparsity.

    Raises
    ------
    InputError
        ``field="precision"`` when the precision is unknown or the chip has no dense peak
        for it; ``field="hardware"`` when the chip is unknown.
    """
    hid = resolve_hardware(hardware_id)
    row = _accelerator_table().loc[hid]
    prec = str(row["default_precision"]) if not precision else _resolve_precision(precision)
    value = float(row[f"peak_{prec}_tflops"])
    if not math.isfinite(value):
        available = [p for p in PRECISIONS if math.isfinite(float(row[f"peak_{p}_tflops"]))]
        raise InputError(
            "precision", precision,
            f"{hid} has no published dense {prec} peak; use one of {', '.join(available)} "
            f"(default {row['default_precision']})",
        )
    return value * 1e12


# --------------------------------------------------------------------------- countries
@functools.lru_cache(maxsize=1)
def _country_table() -> pd.DataFrame:
    table = _read_csv("countries.csv", dtype=str).set_index("iso3")
    if not table.index.is_unique:
        raise DataError(f"countries.csv: duplicate iso3 {table.index[table.index.duplicated()].tolist()}")
    return table


@functools.lru_cache(maxsize=1)
def _country_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for iso3, row in _country_table().iterrows():
        names = [str(iso3), row["name"]] + _split_list(row["aliases"])
        if isinstance(row["iso2"], str):
            names.append(row["iso2"])
        for name in names:
            key = _norm(name)
            if key and index.get(key, iso3) != iso3:
                raise DataError(f"countries.csv: {name!r} names both {index[key]} and {iso3}")
            index[key] = str(iso3)
    return index


def resolve_country(name: str) -> str:
    """ISO 3166 alpha-3 code of a country.

    Parameters
    ----------
    name
        ISO2 (``"US"``), ISO3 (``"USA"``), name (``"United States"``) or a common alias
        (``"UK"``, ``"Korea"``); case, accents and punctuation are ignored.

    Returns
    -------
    str
        ISO3 code (Kosovo uses the user-assigned ``XKX``).

    Raises
    ------
    InputError
        ``field="country"`` when unknown, with suggestions.
    """
    if not isinstance(name, str) or not name.strip():
        raise InputError("country", name, "give an ISO code such as 'US', 'USA' or 'FR', or a country name")
    index = _country_index()
    key = _norm(name)
    if key in index:
        return index[key]
    names = _country_table()["name"]
    fix = ("use an ISO 3166 alpha-2/alpha-3 code or a country name (see `carbon-bayes data --countries`)"
           + _did_you_mean(key, index, label=lambda c: f"{c} ({names[c]})"))
    raise InputError("country", name, fix)


def continent_of(iso3: str) -> str:
    """Continent of a country.

    Parameters
    ----------
    iso3
        ISO3 code or anything :func:`resolve_country` accepts.

    Returns
    -------
    str
        One of AFRICA, ASIA, EUROPE, NORTH_AMERICA, SOUTH_AMERICA, OCEANIA.
    """
    code = resolve_country(iso3)
    return str(_country_table().loc[code, "continent"])


# --------------------------------------------------------------------------- grid intensity
@functools.lru_cache(maxsize=1)
def _grid_matrix() -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]:
    """Dense code x year matrices (values, extrapolated flags) built once."""
    long = _read_csv("grid_intensity_country.csv", dtype={"code": str})
    wide = long.pivot_table(index="code", columns="year", values="carbon_intensity", aggfunc="first")
    years = np.arange(int(wide.columns.min()), int(wide.columns.max()) + 1)
    wide = wide.reindex(columns=years)
    observed = wide.notna().to_numpy()
    filled = wide.interpolate(axis=1, limit_area="inside").ffill(axis=1).bfill(axis=1)
    values = filled.to_numpy(dtype=float)
    # extrapolated = outside the code's first..last observed year (inside gaps are interpolated)
    first = observed.argmax(axis=1)
    last = observed.shape[1] - 1 - observed[:, ::-1].argmax(axis=1)
    cols = np.arange(len(years))
    extrap = (cols[None, :] < first[:, None]) | (cols[None, :] > last[:, None])
    rows = {code: i for i, code in enumerate(wide.index)}
    return rows, years, values, extrap


@functools.lru_cache(maxsize=1)
def _aggregate_index() -> dict[str, str]:
    index = {}
    for code, aliases in _AGGREGATE_ALIASES.items():
        for a in (code,) + aliases:
            index[_norm(a)] = code
    return index


@functools.lru_cache(maxsize=4096)
def _grid_row(code: str) -> int:
    rows = _grid_matrix()[0]
    key = _norm(code)
    agg = _aggregate_index().get(key)
    target = agg if agg is not None else resolve_country(code)
    if target not in rows:
        raise InputError("country", code, f"no carbon-intensity series for {target}; give a neighbouring "
                         "country, a continent (e.g. 'EUROPE') or 'WORLD'")
    return rows[target]


def grid_intensity(code: str, year: int) -> tuple[float, bool]:
    """Average carbon intensity of a country's (or aggregate's) electricity in a year.

    Parameters
    ----------
    code
        ISO3 / ISO2 / country name, or an aggregate: WORLD, EU27, AFRICA, ASIA, EUROPE,
        NORTH_AMERICA, SOUTH_AMERICA, OCEANIA.
    year
        Calendar year. Years outside the series use the nearest available year; gaps inside
        are linearly interpolated.

    Returns
    -------
    tuple of (float, bool)
        kg CO2e per kWh (Our World in Data, from Ember and the Energy Institute), and
        ``extrapolated`` = True when ``year`` lies outside the code's data.

    Raises
    ------
    InputError
        ``field="country"`` for an unknown code.
    """
    _, years, values, extrap = _grid_matrix()
    row = _grid_row(code)
    y = _as_year(year)
    j = int(np.clip(y - years[0], 0, len(years) - 1))
    outside = y < years[0] or y > years[-1]
    return float(values[row, j]), bool(extrap[row, j] or outside)


def grid_intensity_many(codes: Iterable[str], years: Iterable[float]) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`grid_intensity`.

    Parameters
    ----------
    codes
        Array-like of country / aggregate codes (anything :func:`grid_intensity` accepts).
    years
        Array-like of years, broadcastable against ``codes``.

    Returns
    -------
    tuple of (numpy.ndarray, numpy.ndarray)
        kg CO2e/kWh (float) and extrapolated flags (bool), shaped like the broadcast inputs.
    """
    _, year_axis, values, extrap = _grid_matrix()
    codes_arr = np.asarray(codes, dtype=object)
    years_arr = np.asarray(years, dtype=float)
    codes_arr, years_arr = np.broadcast_arrays(codes_arr, years_arr)
    shape = codes_arr.shape
    flat_codes = codes_arr.ravel()
    flat_years = years_arr.ravel()
    if not np.all(np.isfinite(flat_years)):
        bad = flat_years[~np.isfinite(flat_years)][0]
        raise InputError("year", bad, "give every year as a finite number")
    labels, uniques = pd.factorize(pd.Series(flat_codes, dtype=object), use_na_sentinel=False)
    row_of_unique = np.fromiter((_grid_row(c) for c in uniques), dtype=np.int64, count=len(uniques))
    rows = row_of_unique[labels]
    y = np.rint(flat_years).astype(np.int64)
    cols = np.clip(y - year_axis[0], 0, len(year_axis) - 1)
    outside = (y < year_axis[0]) | (y > year_axis[-1])
    out_values = values[rows, cols].reshape(shape)
    out_flags = (extrap[rows, cols] | outside).reshape(shape)
    return out_values, out_flags


# --------------------------------------------------------------------------- cloud regions
@dataclass(frozen=True)
class CloudRegion:
    """A cloud region.

    Attributes
    ----------
    provider
        ``aws``, ``gcp`` or ``azure``.
    region
        API name (``us-east-1``, ``us-central1``, ``westeurope``).
    country_iso3
        Country of the data centre.
    location
        Human-readable location.
    ccf_carbon_intensity
        Cloud Carbon Footprint grid factor in kg CO2e/kWh (AWS/Azure), None when absent.
    ccf_year
        Approximate data year of that factor, None when absent.
    """

    provider: str
    region: str
    country_iso3: str
    location: str
    ccf_carbon_intensity: float | None = None
    ccf_year: int | None = None

    def __str__(self) -> str:
        return f"{self.provider}:{self.region}"


@functools.lru_cache(maxsize=1)
def _region_table() -> pd.DataFrame:
    t = _read_csv("cloud_regions.csv", dtype={"provider": str, "region": str, "aliases": str,
                                               "location": str, "country_iso3": str, "subnational": str})
    return t


@functools.lru_cache(maxsize=1)
def _region_index() -> dict[str, dict[str, int]]:
    """provider -> normalised spelling -> row position."""
    out: dict[str, dict[str, int]] = {p: {} for p in PROVIDERS}
    for i, row in _region_table().iterrows():
        idx = out[row["provider"]]
        for name in [row["region"]] + _split_list(row["aliases"]):
            key = _norm(name)
            if key and idx.get(key, i) != i:
                raise DataError(f"cloud_regions.csv: {name!r} names two {row['provider']} regions")
            idx[key] = int(i)
    return out


def _region_from_row(i: int) -> CloudRegion:
    row = _region_table().iloc[i]
    ccf = row["ccf_carbon_intensity"]
    ccf_ok = isinstance(ccf, (int, float)) and math.isfinite(float(ccf))
    return CloudRegion(
        provider=row["provider"], region=row["region"], country_iso3=row["country_iso3"],
        location=row["location"] if isinstance(row["location"], str) else "",
        ccf_carbon_intensity=float(ccf) if ccf_ok else None,
        ccf_year=int(row["ccf_year"]) if ccf_ok and math.isfinite(float(row["ccf_year"])) else None,
    )


def _find_region(provider: str, name: str) -> int | None:
    idx = _region_index()[provider]
    key = _norm(name)
    if key in idx:
        return idx[key]
    zone_stripped = None
    if provider == "gcp":
        zone_stripped = re.sub(r"-[a-z]$", "", name.strip().lower())
    elif provider == "aws":
        zone_stripped = re.sub(r"(\d)[a-z]$", r"\1", name.strip().lower())
    if zone_stripped and _norm(zone_stripped) in idx:
        return idx[_norm(zone_stripped)]
    return None


def resolve_region(name: str) -> CloudRegion:
    """Look up a cloud region.

    Parameters
    ----------
    name
        ``"aws:us-east-1"``, ``"gcp:us-central1"``, ``"azure:westeurope"``; display names and
        aliases (``"azure:West Europe"``, ``"aws:US East (N. Virginia)"``); zones
        (``"gcp:us-central1-a"``, ``"aws:us-east-1a"``); or no provider prefix when the name
        is unique across providers.

    Returns
    -------
    CloudRegion

    Raises
    ------
    InputError
        ``field="region"`` when unknown or ambiguous, with suggestions within the provider.
    """
    if isinstance(name, CloudRegion):
        return name
    if not isinstance(name, str) or not name.strip():
        raise InputError("region", name, "give a region such as 'aws:us-east-1' or 'gcp:us-central1'")
    text = name.strip()
    provider = None
    if ":" in text:
        prefix, rest = text.split(":", 1)
        provider = _CLOUD_PROVIDER_ALIASES.get(_norm(prefix))
        if provider is None:
            raise InputError("region", name, f"the provider before ':' must be one of {', '.join(PROVIDERS)}")
        text = rest.strip()
    providers = [provider] if provider else list(PROVIDERS)
    hits = [(p, i) for p in providers if (i := _find_region(p, text)) is not None]
    if len(hits) == 1:
        return _region_from_row(hits[0][1])
    if len(hits) > 1:
        options = [f"{p}:{_region_table().iloc[i]['region']}" for p, i in hits]
        raise InputError("region", name, f"ambiguous; prefix the provider: {_quote_list(options)}")
    key = _norm(text)
    suggestions = ""
    for p in providers:
        idx = _region_index()[p]
        names = {k: f"{p}:{_region_table().iloc[i]['region']}" for k, i in idx.items()}
        suggestions = _did_you_mean(key, names)
        if suggestions:
            break
    fix = ("use '<provider>:<region>' with provider aws, gcp or azure and a region from "
           "`carbon-bayes data --regions`" + suggestions)
    raise InputError("region", name, fix)


def provider_of_region(region: str | CloudRegion) -> str:
    """Cloud provider (``aws``, ``gcp``, ``azure``) of a region name or :class:`CloudRegion`."""
    return resolve_region(region).provider


@functools.lru_cache(maxsize=1)
def _gcp_intensity() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    t = _read_csv("gcp_region_intensity.csv", dtype={"region": str})
    out = {}
    for region, g in t.groupby("region"):
        g = g.sort_values("year")
        out[str(region)] = (g["year"].to_numpy(dtype=int), g["carbon_intensity"].to_numpy(dtype=float))
    return out


def region_intensity(region: str | CloudRegion, year: int) -> tuple[float, bool]:
    """Carbon intensity behind a cloud region in a year.

    GCP: Google's published grid intensity for the region and year (lifecycle basis for
    2019-2020, operational from 2021), the nearest published year otherwise
    (``extrapolated=True``). AWS/Azure: the Cloud Carbon Footprint factor (eGRID subregion in
    the US, EEA / carbonfootprint.com elsewhere, data year ``ccf_year``) scaled by the
    country's grid trend, ``ccf * country(year) / country(ccf_year)``; this keeps the
    sub-national level (e.g. Virginia vs the US average) and follows national
    decarbonisation. Regions without a CCF factor use the country average.

    Parameters
    ----------
    region
        :class:`CloudRegion` or a name accepted by :func:`resolve_region`.
    year
        Calendar year.

    Returns
    -------
    tuple of (float, bool)
        kg CO2e per kWh and ``extrapolated`` (the year lies outside the data used).
    """
    reg = resolve_region(region)
    y = _as_year(year)
    if reg.provider == "gcp":
        series = _gcp_intensity().get(reg.region)
        if series is not None:
            yrs, vals = series
            if y in yrs:
                return float(vals[np.searchsorted(yrs, y)]), False
            j = int(np.argmin(np.abs(yrs - y) - 1e-3 * (yrs > y)))  # ties -> later year
            return float(vals[j]), True
        return grid_intensity(reg.country_iso3, y)
    country_now, extrap = grid_intensity(reg.country_iso3, y)
    if reg.ccf_carbon_intensity is None or reg.ccf_year is None:
        return country_now, extrap
    country_then, _ = grid_intensity(reg.country_iso3, reg.ccf_year)
    if country_then <= 0:
        return reg.ccf_carbon_intensity, extrap
    return reg.ccf_carbon_intensity * country_now / country_then, extrap


# --------------------------------------------------------------------------- PUE
@functools.lru_cache(maxsize=1)
def _pue_table() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    t = _read_csv("pue_by_provider.csv", dtype={"provider": str})
    out = {}
    for provider, g in t.groupby("provider"):
        g = g.sort_values("year")
        out[str(provider)] = (g["year"].to_numpy(dtype=int), g["pue_centre"].to_numpy(dtype=float),
                              g["pue_log_sd"].to_numpy(dtype=float))
    return out


def pue_prior(provider: str | None, year: int) -> tuple[float, float]:
    """Prior for the PUE of a data centre: ``log(PUE - 1) ~ Normal(log(centre - 1), sd)``.

    Parameters
    ----------
    provider
        google (gcp), aws, azure, meta, oracle, hpc, colo, on_premise or unknown; None means
        unknown (operator not known: centred between hyperscale and industry average, wide).
    year
        Calendar year; years outside 2012-2026 use the nearest year in the table.

    Returns
    -------
    tuple of (float, float)
        ``pue_centre`` (dimensionless, > 1) and ``pue_log_sd``.

    Raises
    ------
    InputError
        ``field="provider"`` for an unknown provider.
    """
    table = _pue_table()
    key = "unknown" if provider is None else _PUE_PROVIDER_ALIASES.get(_norm(provider))
    if key is None or key not in table:
        index = {k: v for k, v in _PUE_PROVIDER_ALIASES.items() if v in table}
        raise InputError("provider", provider, "use one of " + ", ".join(sorted(table))
                         + _did_you_mean(_norm(provider or ""), index))
    years, centre, sd = table[key]
    j = int(np.argmin(np.abs(years - _as_year(year))))
    return float(centre[j]), float(sd[j])


# --------------------------------------------------------------------------- hardware by year
@functools.lru_cache(maxsize=1)
def _usage_table() -> pd.DataFrame:
    return _read_csv("hardware_usage_by_year.csv", dtype={"hardware_id": str})


def hardware_mix(year: int, smoothing_years: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """What hardware the notable training runs of a year used (Epoch AI data).

    Parameters
    ----------
    year
        Publication year. Years beyond the table use its last (or first) year.
    smoothing_years
        Pool the years within +- this many years of ``year`` (0 = that year only).

    Returns
    -------
    tuple of (numpy.ndarray of str, numpy.ndarray of float)
        Canonical hardware ids and their probabilities (sum 1), most used first.
    """
    t = _usage_table()
    y = _as_year(year)
    lo, hi = int(t["year"].min()), int(t["year"].max())
    centre = min(max(y, lo), hi)
    s = max(int(smoothing_years), 0)
    while True:
        sel = t[(t["year"] >= centre - s) & (t["year"] <= centre + s)]
        if len(sel) or s > hi - lo:
            break
        s += 1
    totals = sel.groupby("hardware_id")["n_models"].sum()
    totals = totals[totals > 0].sort_values(ascending=False, kind="stable")
    probs = totals.to_numpy(dtype=float)
    return totals.index.to_numpy(dtype=str), probs / probs.sum()


# --------------------------------------------------------------------------- compute priors
@functools.lru_cache(maxsize=1)
def _compute_table() -> pd.DataFrame:
    return _read_csv("compute_prior.csv", dtype={"task": str, "predictors": str, "target": str})


def _regression_row(task: str | None, predictors: str, target: str) -> pd.Series:
    t = _compute_table()
    t = t[(t["predictors"] == predictors) & (t["target"] == target)]
    key = (task or "all").strip().lower().replace(" ", "_").replace("-", "_")
    rows = t[t["task"] == key]
    if rows.empty:
        rows = t[t["task"] == "all"]
    if rows.empty:
        raise DataError(f"compute_prior.csv has no 'all' row for {target} ~ {predictors}")
    return rows.iloc[0]


def compute_prior(task: str | None, year: int, log10_params: float | None = None,
                  log10_tokens: float | None = None) -> tuple[float, float]:
    """Prior for log10(training compute in FLOP) from Epoch AI's notable-models regressions.

    Uses the best available regression: ``params+year`` when ``log10_params`` is given,
    else ``tokens+year`` when ``log10_tokens`` is given, else ``year`` alone.

    Parameters
    ----------
    task
        language, vision, image_generation, speech, multimodal or other; None or a task
        without its own regression uses the ``all`` fit.
    year
        Publication year.
    log10_params, log10_tokens
        log10 of the parameter count and of the training tokens (datapoints seen).

    Returns
    -------
    tuple of (float, float)
        Mean and sd (residual sd of the fit) of log10(FLOP).
    """
    y = _as_year(year)
    has_p = log10_params is not None and math.isfinite(log10_params)
    has_t = log10_tokens is not None and math.isfinite(log10_tokens)
    coef = compute_prior_coefficients(task, y, has_params=has_p, has_tokens=has_t)
    mean = float(coef["intercept"]) + float(coef["coef_year"]) * (y - 2020)
    if has_p:
        mean += float(coef["coef_log10_params"]) * (float(log10_params) - 9.0)
    elif has_t:
        mean += float(coef["coef_log10_tokens"]) * (float(log10_tokens) - 11.0)
    return mean, float(coef["sd_resid"])


def compute_prior_coefficients(task: str | None, year: int, has_params: bool = False,
                               has_tokens: bool = False) -> dict[str, float | str]:
    """Coefficients of the regression :func:`compute_prior` would use, for vectorised draws.

    Parameters
    ----------
    task
        As in :func:`compute_prior`.
    year
        Publication year (kept for symmetry; the year enters through ``coef_year``).
    has_params, has_tokens
        Whether log10(parameters) / log10(tokens) will be supplied. Picks ``params+year``,
        else ``tokens+year``, else ``year``.

    Returns
    -------
    dict
        ``intercept``, ``coef_log10_params``, ``coef_log10_tokens``, ``coef_year`` (0.0 for
        predictors not in the chosen model), ``sd_resid``, and ``predictors`` / ``task`` of the
        row used. Mean log10(FLOP) = intercept + coef_log10_params * (log10 N - 9)
        + coef_log10_tokens * (log10 D - 11) + coef_year * (year - 2020).
    """
    _as_year(year)
    predictors = "params+year" if has_params else ("tokens+year" if has_tokens else "year")
    row = _regression_row(task, predictors, "log10_flops")
    out: dict[str, float | str] = {}
    for col in ("intercept", "coef_log10_params", "coef_log10_tokens", "coef_year", "sd_resid"):
        v = float(row[col])
        out[col] = v if math.isfinite(v) else 0.0
    out["predictors"] = str(row["predictors"])
    out["task"] = str(row["task"])
    return out


def params_prior(task: str | None, year: int) -> tuple[float, float]:
    """Prior for log10(parameter count) by task and publication year (Epoch AI fit).

    Parameters
    ----------
    task
        As in :func:`compute_prior`; None or unknown uses ``all``.
    year
        Publication year.

    Returns
    -------
    tuple of (float, float)
        Mean and residual sd of log10(parameters).
    """
    row = _regression_row(task, "year", "log10_params")
    return float(row["intercept"]) + float(row["coef_year"]) * (_as_year(year) - 2020), float(row["sd_resid"])
