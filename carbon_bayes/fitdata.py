"""Turn ``data/training_runs.csv`` into the arrays the PyMC model observes.

Runs (``run_group``) carry the latent nodes of the chain; labels (one per published energy
or CO2 figure) observe one node each, on their own basis (see ``docs/model.md``):

- a *measured* energy label observes hours x TDP x rho [x GPU share] [x PUE];
- a *nominal* (``tdp`` / ``assumed``) energy label observes hours x the source's power
  [x PUE]: TDP arithmetic never teaches rho;
- a CO2 label (when its row has no energy figure) observes that energy x the intensity
  behind the figure: the source's stated value, or a latent one; when neither PUE nor
  intensity is stated, only their product is identified, so it is one latent;
- a nominal figure that does not state its watts or whether a PUE is inside has those
  conventions as latents (learned spread of the watts around the TDP; a mixture with and
  without PUE);
- a CO2 figure in a row that also gives energy re-derives it and is not used again;
- stated intensities of location-based figures are evidence about how the intensity behind
  published figures relates to the grid average of their country and year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from carbon_bayes import design, reference, schema
from carbon_bayes.dataset import fitted_rows

RUN_COLUMNS = ("year", "task", "architecture", "parameters", "active_parameters", "training_tokens",
               "training_flops", "hardware", "n_devices", "device_hours", "training_days", "country", "region",
               "provider", "operator", "scope")
COMPUTE_COLUMNS = ("parameters", "active_parameters", "training_tokens", "training_flops")


def rounding_half_unit(value: float) -> float:
    """Half the unit of the last digit a figure is printed with ("0.02" -> 0.005; 0 if not positive).

    Trailing zeros of whole numbers are taken as not significant ("1300000" = 1.3M, +-50,000).
    """
    if not np.isfinite(value) or value <= 0:
        return 0.0
    text = np.format_float_positional(float(value), trim="-").replace("-", "")
    digits = text.replace(".", "").lstrip("0")
    if "." not in text:
        digits = digits.rstrip("0")
    n_sig = max(len(digits), 1)
    exponent = np.floor(np.log10(value))
    return float(0.5 * 10 ** (exponent - n_sig + 1))


def rounding_sd(value: float) -> float:
    """Log-scale sd of rounding a figure to the digits it is printed with.

    "0.02" is +-0.005, i.e. uniform on +-25%: sd = 0.25 / sqrt(3) (:func:`rounding_half_unit`).
    """
    if not np.isfinite(value) or value <= 0:
        return 0.0
    return float(rounding_half_unit(value) / value / np.sqrt(3))


@dataclass
class FitData:
    """Runs, labels and evidence of one fit, as numpy arrays and tidy frames."""

    runs: pd.DataFrame
    feats: design.RunFeatures
    labels: pd.DataFrame
    ci_evidence: pd.DataFrame
    needs_u: np.ndarray
    compute_observed: np.ndarray
    hours_observed: np.ndarray
    needs_rho: np.ndarray
    needs_pue: np.ndarray
    params_missing: np.ndarray
    hours_round_sd: np.ndarray
    params_prior: np.ndarray  # (n_runs, 2) mean, sd of log10 params
    epoch_coef: np.ndarray  # (n_runs, 3) Epoch AI compute regression: intercept, slope, year coefficient

    @property
    def clusters(self) -> list[str]:
        """Names of users' own clusters among the runs (empty for published data only)."""
        return sorted({c for c in self.runs["cluster"] if c})

    @property
    def cluster_idx(self) -> np.ndarray:
        """Index into :attr:`clusters` per run; -1 for published runs."""
        lookup = {c: i for i, c in enumerate(self.clusters)}
        return np.array([lookup.get(c, -1) for c in self.runs["cluster"]], dtype=np.int64)

    def informed_providers(self, min_figures: int = 1) -> np.ndarray:
        """Return the indices of the operators with at least ``min_figures`` figures informing their intensity.

        Those figures are labels with a latent intensity, or stated intensities used as evidence.
        """
        lat = self.labels["ci_mode"].to_numpy() == "latent"
        runs = np.concatenate([self.labels["run_idx"].to_numpy()[lat], self.ci_evidence["run_idx"].to_numpy()])
        idx, n = np.unique(self.feats.provider_idx[runs.astype(int)], return_counts=True)
        return idx[n >= min_figures]

    @property
    def n_runs(self) -> int:
        """Number of runs."""
        return len(self.runs)

    @property
    def n_labels(self) -> int:
        """Number of labels (published figures)."""
        return len(self.labels)


def _first(series: pd.Series):
    s = series.replace("", np.nan).dropna()
    return s.iloc[0] if len(s) else (np.nan if series.dtype.kind == "f" else "")


def run_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per run group: the first stated value of each run-level fact."""
    groups = list(dict.fromkeys(rows["run_group"]))
    recs = []
    for g in groups:
        sub = rows[rows["run_group"] == g]
        rec = {"run_id": g}
        for c in RUN_COLUMNS:
            rec[c] = _first(sub[c])
        if (sub["scope"] == "aggregate").all():
            for c in COMPUTE_COLUMNS:
                rec[c] = np.nan
        rec["aggregate"] = bool((sub["scope"] == "aggregate").all())
        rec["cluster"] = _first(sub["cluster"]) if "cluster" in sub else ""
        recs.append(rec)
    return pd.DataFrame(recs)


def fit_levels(dataset: pd.DataFrame, structure: dict) -> design.Levels:
    """Levels of a fit of ``dataset``: the package's, with the organisations of its fitted rows."""
    rows = fitted_rows(dataset)
    return design.model_levels(structure, design.normalise_operator(rows["operator"]) if "operator" in rows else ())


def build_fit_data(dataset: pd.DataFrame, levels: design.Levels, structure: dict,
                   unknown_location_sd: float) -> FitData:
    """Assemble runs, labels and intensity evidence from the fitted rows of ``dataset``."""
    rows = fitted_rows(dataset)
    table = run_table(rows)
    runs = schema.normalise_runs(table.drop(columns=["aggregate", "cluster"]))
    runs["run_group"] = table["run_id"].to_numpy()
    runs["aggregate"] = table["aggregate"].to_numpy()
    runs["cluster"] = table["cluster"].to_numpy()
    feats = design.run_features(runs, levels, structure, unknown_location_sd)
    run_index = {g: i for i, g in enumerate(runs["run_group"])}

    labels = []
    for r in rows.itertuples(index=False):
        ri = run_index[r.run_group]
        measured = r.energy_basis == "measured"
        w_latent = not measured and np.isnan(r.source_power_w)
        nominal_w = feats.tdp_w[ri] if w_latent or measured else r.source_power_w
        if not measured and not getattr(r, "pue_stated", True):
            pue_mode, pue_val = "mixture", np.nan  # the source does not say: a latent convention
        elif not r.pue_included:
            pue_mode, pue_val = "none", 1.0
        elif not np.isnan(r.source_pue):
            pue_mode, pue_val = "given", r.source_pue
        else:
            pue_mode, pue_val = "latent", np.nan
        base = dict(run_idx=ri, run_group=r.run_group, row_id=r.run_id, measured=measured,
                    gpu=measured and r.power_scope == "gpu", log_nominal_w=np.log(nominal_w), w_latent=w_latent,
                    pue_mode=pue_mode, pue_value=pue_val)
        if not np.isnan(r.energy_mwh):
            labels.append(dict(base, kind="energy", log_value=np.log(r.energy_mwh), round_sd=rounding_sd(r.energy_mwh),
                               ci_mode="none", ci_value=np.nan))
        elif not np.isnan(r.co2_t) and r.co2_t > 0 and r.accounting != "market_based":
            ci_stated = not np.isnan(r.source_carbon_intensity)
            lab = dict(base, kind="co2", log_value=np.log(r.co2_t), round_sd=rounding_sd(r.co2_t),
                       ci_mode="given" if ci_stated else "latent", ci_value=r.source_carbon_intensity)
            if not ci_stated and pue_mode == "latent":
                lab["pue_mode"] = "folded"  # PUE x intensity is one latent
            labels.append(lab)
    labels = pd.DataFrame(labels)

    ev = rows[(rows["source_carbon_intensity"] > 0) & (rows["source_ci_country"] != "")
              & (rows["accounting"] != "market_based")].copy()
    ev = ev.drop_duplicates(subset=["source_carbon_intensity", "source_ci_country"])  # one statement, once
    centres, _ = reference.grid_intensity_many(ev["source_ci_country"].to_numpy(), ev["year"].to_numpy(dtype=int))
    ci_evidence = pd.DataFrame({
        "run_group": ev["run_group"].to_numpy(), "row_id": ev["run_id"].to_numpy(),
        "log_ci": np.log(ev["source_carbon_intensity"].to_numpy(dtype=float)),
        "log_centre": np.log(centres),
        "run_idx": [run_index[g] for g in ev["run_group"]],
    })

    n = len(runs)
    h_known = ~np.isnan(feats.log_hours)
    c_known = ~np.isnan(feats.log_flops)
    aggregate = runs["aggregate"].to_numpy()
    # Every single run (not an aggregate of several) carries the chain FLOPs -> u -> hours; its
    # compute is observed, or latent around the compute regression of its size, task and year.
    needs_u = ~aggregate
    compute_observed = needs_u & c_known
    hours_observed = needs_u & h_known
    needs_rho = np.zeros(n, dtype=bool)
    needs_rho[labels.loc[labels["measured"], "run_idx"].to_numpy()] = True
    needs_pue = np.zeros(n, dtype=bool)
    uses_pue = (labels["pue_mode"] == "latent") | ((labels["pue_mode"] == "mixture") & (labels["ci_mode"] != "latent"))
    needs_pue[labels.loc[uses_pue, "run_idx"].to_numpy()] = True
    params_missing = (needs_u | needs_rho) & np.isnan(feats.log10_params)
    params_prior = np.array([reference.params_prior(t or None, int(y))
                             for t, y in zip(feats.task, feats.year, strict=True)])
    hours = runs["device_hours"].to_numpy(dtype=float)
    hours_round = np.array([rounding_sd(h) for h in hours])
    return FitData(runs=runs, feats=feats, labels=labels, ci_evidence=ci_evidence, needs_u=needs_u,
                   compute_observed=compute_observed, hours_observed=hours_observed, needs_rho=needs_rho,
                   needs_pue=needs_pue,
                   params_missing=params_missing, hours_round_sd=hours_round, params_prior=params_prior,
                   epoch_coef=design.epoch_compute_coefficients(feats.task, feats.year))
