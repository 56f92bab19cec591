"""Grouped cross-validation by information tier, with every baseline on the same rows.

All rows of one ``run_group`` leave together. The model is compiled once; each fold switches
the held-out runs' likelihood terms off (``pm.Data`` weights) and samples again. Each held-out
published figure is then predicted at tiers T1, T2 and T3 by masking the inputs each tier
does not know (:data:`RUN_FACTS` lists what it does), and scored against its own basis (a
nominal figure against ``energy_basis="tdp"``, a GPU-only measurement with
``power_scope="gpu"``, a figure without PUE with ``pue=1``):
these describe *what the published number counts*, so they are given at every tier, while
facts about the run (hours, compute, hardware, location, the source's stated PUE and
intensity) are masked by tier.

Metrics (on each label's own scale): absolute percentage error of the posterior median,
coverage of 50/80/90/95% equal-tailed intervals, median width (upper/lower of the 90%
interval), CRPS of log10(label) from a quantile grid (comparable across the model, the
formulas and the machine-learning baselines) and the log score of log10(label).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from carbon_bayes.constants import SEED

TIERS = ("T1", "T2", "T3")
LEVELS = (0.5, 0.8, 0.9, 0.95)
#: Quantile grid for CRPS (CRPS = 2 x mean pinball loss over the grid) and intervals.
QGRID = np.round(np.concatenate([[0.025], np.arange(0.05, 0.951, 0.05), [0.975]]), 3)
#: The validation targets (never loosened).
TARGETS = {"T1_measured_median_ape": 15.0, "T1_median_ape": 10.0, "T2_median_ape": 25.0,
           "coverage90": (85.0, 95.0), "coverage50": (40.0, 60.0), "T3_width90_energy": 100.0,
           "T3_width90_co2": 300.0}
FORMULAS = ("ml_co2_impact", "green_algorithms", "flops_formula")
ML_MODELS = ("random_forest", "gradient_boosting")

RUN_FACTS = {
    "T1": ("year", "task", "architecture", "parameters", "active_parameters", "hardware", "device_hours", "n_devices",
           "training_days", "region", "country", "provider", "scope"),
    "T2": ("year", "task", "architecture", "parameters", "active_parameters", "training_tokens", "training_flops",
           "hardware", "region", "country", "provider", "scope"),
    "T3": ("year", "task", "architecture", "parameters", "active_parameters", "scope"),
}


# ------------------------------------------------------------------------------ rows and inputs

def scored_labels(dataset: pd.DataFrame) -> pd.DataFrame:
    """One scored figure per row with ``validate``: energy if the row gives it, else CO2 (> 0).

    ``basis`` is the label kind (measured or nominal) and ``figure`` the quantity as the
    validation tables split it: energy, CO2 whose source states its intensity, CO2 without.
    """
    rows = dataset[dataset["validate"]].copy()
    has_e = rows["energy_mwh"].notna()
    has_c = rows["co2_t"].notna() & (rows["co2_t"] > 0) & (rows["accounting"] != "market_based")
    rows = rows[has_e | has_c].copy()
    rows["quantity"] = np.where(rows["energy_mwh"].notna(), "energy_mwh", "co2_t")
    rows["value"] = np.where(rows["quantity"] == "energy_mwh", rows["energy_mwh"], rows["co2_t"])
    rows["basis"] = np.where(rows["energy_basis"] == "measured", "measured", "nominal")
    rows["figure"] = np.where(rows["quantity"] == "energy_mwh", "energy",
                              np.where(rows["source_carbon_intensity"].notna(), "co2, intensity stated",
                                       "co2, no intensity stated"))
    if "operator" not in rows:
        rows["operator"] = rows["organization"]
    return rows.reset_index(drop=True)


def tier_inputs(rows: pd.DataFrame, tier: str) -> pd.DataFrame:
    """Return the inputs (the input contract) for predicting ``rows`` at ``tier``.

    Only what a user reading the figure's source would know about how it was made is given: its
    basis (measured, GPU-only, or nominal); for a nominal figure, the watts it used where the
    source states them (T1, T2); and the PUE it includes where the source says (none, or its
    stated value at T1). A nominal figure whose source does not say whether a PUE is inside is
    predicted on the ``nominal`` basis, where that convention (and unstated watts) is a latent.
    Stated intensities are given at T1 only.
    """
    out = pd.DataFrame({"run_id": rows["run_id"].to_numpy()})
    for c in RUN_FACTS[tier]:
        out[c] = rows[c].replace("", np.nan).to_numpy() if c in rows else np.nan
    if tier == "T1":
        out["device_hours"] = np.where(rows["device_hours"].notna(), rows["device_hours"],
                                       rows["n_devices"] * rows["training_days"] * 24)
        out = out.drop(columns=["n_devices", "training_days"])
    nominal = (rows["energy_basis"] != "measured").to_numpy()
    stated = rows["pue_stated"].to_numpy(dtype=bool) if "pue_stated" in rows else np.ones(len(rows), dtype=bool)
    included = rows["pue_included"].to_numpy(dtype=bool)
    latent_convention = nominal & (~stated | (~included & rows["source_power_w"].isna().to_numpy()))
    out["energy_basis"] = np.where(nominal, np.where(latent_convention, "nominal", "tdp"), "measured")
    out["power_scope"] = np.where(rows["power_scope"] == "gpu", "gpu", "system")
    out["power_per_device_w"] = np.where(nominal & (tier != "T3"), rows["source_power_w"], np.nan)
    pue = np.where(stated & ~included, 1.0, np.nan)
    if tier == "T1":
        pue = np.where(stated & included & rows["source_pue"].notna(), rows["source_pue"], pue)
        out["carbon_intensity"] = rows["source_carbon_intensity"].to_numpy()
    out["pue"] = pue
    return out


def printed_unit(values: np.ndarray) -> np.ndarray:
    """Return the unit of the last printed digit of each published figure (``2 x`` its rounding half-unit)."""
    from carbon_bayes.fitdata import rounding_half_unit

    return np.array([2 * rounding_half_unit(v) for v in np.asarray(values, dtype=float)])


def as_printed(draws: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Predictive draws of published figures rounded as each figure is printed (rows x draws).

    "17 MWh" is any energy in [16.5, 17.5): the predictive of the printed figure is the rounded
    draw, so an exact reproduction does not miss by its rounding. A draw that would round to zero
    stays as it is: a figure that small would have been printed with more digits, never as "0"
    (rounding it to zero gave intervals with a lower bound of 0, infinitely wide on a log scale).
    """
    unit = printed_unit(values)[:, None]
    rounded = np.round(draws / np.where(unit > 0, unit, 1.0)) * unit
    return np.where((unit > 0) & (rounded > 0), rounded, draws)


def fold_units(labels: pd.DataFrame, by: str) -> pd.Series:
    """Return the unit whose figures leave together, per label: its run group, or its run group's operator."""
    if by == "organisation":
        first = labels.groupby("run_group", sort=False)["operator"].first()
        return labels["run_group"].map(first)
    if by in ("group", "run"):
        return labels["run_group"]
    from carbon_bayes.errors import InputError

    raise InputError("by", by, "use organisation, group or run")


def assign_folds(groups, k: int | None, seed: int = SEED) -> dict[str, int]:
    """Deterministic grouped folds (k=None: one fold per group, i.e. leave-one-run-out)."""
    groups = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(groups))
    k = len(groups) if k is None else min(k, len(groups))
    return {groups[j]: int(i % k) for i, j in enumerate(order)}


# ------------------------------------------------------------------------------ scoring

def crps_from_quantiles(q: np.ndarray, y: np.ndarray) -> np.ndarray:
    """CRPS ~ 2 x mean pinball loss over :data:`QGRID` (q: rows x len(QGRID)); a point forecast gives |x - y|."""
    tau = QGRID[None, :]
    diff = y[:, None] - q
    return 2 * np.mean(np.maximum(tau * diff, (tau - 1) * diff), axis=1)


def log_score(log_draws: np.ndarray, log_y: np.ndarray) -> np.ndarray:
    """Log predictive density of log10(y) by a Gaussian kernel estimate (Silverman bandwidth).

    NaN draws (padding of a run with fewer draws than its batch's most) are left out.
    """
    n = np.sum(~np.isnan(log_draws), axis=1)
    sd = np.nanstd(log_draws, axis=1)
    iqr = np.subtract(*np.nanquantile(log_draws, [0.75, 0.25], axis=1))
    bw = 0.9 * np.minimum(sd, iqr / 1.34) * n ** -0.2
    bw = np.maximum(bw, 1e-3)
    z = (log_y[:, None] - log_draws) / bw[:, None]
    dens = np.nanmean(np.exp(-0.5 * z ** 2), axis=1) / (bw * np.sqrt(2 * np.pi))
    return np.log(np.maximum(dens, 1e-300))


def score_draws(draws: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Score predictive draws (rows x draws, natural units; NaN pads fewer draws) against labels y."""
    ld = np.log10(np.maximum(draws, 1e-30))
    ly = np.log10(y)
    q = np.nanquantile(ld, QGRID, axis=1).T
    out = {"median": 10 ** np.nanmedian(ld, axis=1), "crps": crps_from_quantiles(q, ly), "log_score": log_score(ld, ly)}
    for lev in LEVELS:
        lo, hi = np.nanquantile(draws, [(1 - lev) / 2, (1 + lev) / 2], axis=1)
        out[f"lower{int(lev * 100)}"] = lo
        out[f"upper{int(lev * 100)}"] = hi
        out[f"cover{int(lev * 100)}"] = (y >= lo) & (y <= hi)
    return out


def score_quantiles(q_log10: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Scores of forecasts given as log10 quantiles on :data:`QGRID` (point forecasts: equal columns)."""
    ly = np.log10(y)
    q = np.sort(q_log10, axis=1)
    out = {"median": 10 ** q[:, list(QGRID).index(0.5)], "crps": crps_from_quantiles(q, ly),
           "log_score": np.full(len(y), np.nan)}
    for lev in LEVELS:
        lo = 10 ** q[:, int(np.argmin(np.abs(QGRID - (1 - lev) / 2)))]
        hi = 10 ** q[:, int(np.argmin(np.abs(QGRID - (1 + lev) / 2)))]
        point = np.all(q == q[:, :1], axis=1)
        out[f"lower{int(lev * 100)}"] = lo
        out[f"upper{int(lev * 100)}"] = hi
        out[f"cover{int(lev * 100)}"] = np.where(point, False, (y >= lo) & (y <= hi))
    return out


# ------------------------------------------------------------------------------ baselines

def formula_predictions(inputs: pd.DataFrame, quantity: np.ndarray) -> dict[str, np.ndarray]:
    """Point predictions of the three formulas (NaN where a formula cannot answer)."""
    from carbon_bayes import baselines

    out = {}
    for name in FORMULAS:
        df = getattr(baselines, name)(inputs)
        out[name] = np.where(quantity == "energy_mwh", df["energy_mwh"].to_numpy(), df["co2_t"].to_numpy())
    return out


def ml_features(inputs: pd.DataFrame, quantity: np.ndarray) -> np.ndarray:
    """Log features for the machine-learning baselines (NaN for masked inputs)."""
    from carbon_bayes import design, schema
    from carbon_bayes.priorspec import load_prior_spec

    df = schema.normalise_runs(inputs)
    pr = load_prior_spec()
    f = design.run_features(df, design.model_levels(pr.structure), pr.structure, 0.0)
    ln10 = np.log(10)
    return np.column_stack([
        f.log_hours / ln10, f.log10_params, f.log_flops / ln10, f.log_tokens / ln10, np.log10(f.tdp_w),
        np.log10(f.peak_flops), f.year, f.log_ci_centre / ln10, np.log10(f.ci_given + 1e-3), f.pue_given,
        (f.energy_basis == "measured").astype(float), (f.power_scope == "gpu").astype(float),
        (quantity == "co2_t").astype(float), f.fam_idx.astype(float), f.arch_idx.astype(float),
        np.log10(f.power_w_given), f.finetune,
    ])


def ml_quantiles(X_train, y_train, X_test, seed: int) -> dict[str, np.ndarray]:
    """Predict log10 quantiles on QGRID with the machine-learning baselines.

    A random forest with out-of-bag conformal intervals, and gradient boosting with quantile loss
    (one model per quantile).
    """
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor

    keep = ~np.all(np.isnan(X_train), axis=0)  # features masked at this tier carry nothing
    X_train, X_test = X_train[:, keep], X_test[:, keep]
    rf = RandomForestRegressor(n_estimators=300, min_samples_leaf=2, oob_score=True, random_state=seed)
    rf.fit(np.nan_to_num(X_train, nan=-9.0), y_train)
    centre = rf.predict(np.nan_to_num(X_test, nan=-9.0))
    resid = np.abs(y_train - rf.oob_prediction_)
    half = np.array([np.quantile(resid, min(1.0, abs(2 * t - 1))) for t in QGRID])
    q_rf = centre[:, None] + np.sign(QGRID - 0.5)[None, :] * half[None, :]
    q_gb = np.column_stack([
        HistGradientBoostingRegressor(loss="quantile", quantile=float(t), max_iter=200, min_samples_leaf=3,
                                      learning_rate=0.1, random_state=seed).fit(X_train, y_train).predict(X_test)
        for t in QGRID
    ])
    return {"random_forest": q_rf, "gradient_boosting": np.sort(q_gb, axis=1)}


# ------------------------------------------------------------------------------ the CV loop

@dataclass
class ValidationResult:
    """Per-label predictions of every method at every tier, and how they were made."""

    predictions: pd.DataFrame
    folds: dict[str, int]
    settings: dict
    convergence: list[dict] = field(default_factory=list)

    def metrics(self, by: tuple[str, ...] = ("tier", "method")) -> pd.DataFrame:
        """Summarise the predictions by ``by`` (see :func:`metrics`)."""
        return metrics(self.predictions, by)


def metrics(pred: pd.DataFrame, by=("tier", "method")) -> pd.DataFrame:
    """Median / mean APE, coverage at each level, median 90% width, CRPS and log score per group."""
    def agg(g):
        ok = g["median"].notna()
        ape = 100 * np.abs(g.loc[ok, "median"] - g.loc[ok, "value"]) / g.loc[ok, "value"]
        row = {"n": int(len(g)), "answered": int(ok.sum()), "median_ape": ape.median(), "mean_ape": ape.mean()}
        for lev in LEVELS:
            row[f"cover{int(lev * 100)}"] = 100 * g.loc[ok, f"cover{int(lev * 100)}"].astype(float).mean()
        width = g.loc[ok, "upper90"] / g.loc[ok, "lower90"]
        row["width90"] = width.median()
        row["crps"] = g.loc[ok, "crps"].mean()
        row["log_score"] = g.loc[ok, "log_score"].mean()
        return pd.Series(row)

    return pred.groupby(list(by), sort=False).apply(agg, include_groups=False).reset_index()


def default_jobs(chains: int) -> int:
    """Folds sampled at once: each fold's chains already run in parallel, so one fold per ``chains`` cores."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // max(1, chains))


def score_fold(test: pd.DataFrame, train: pd.DataFrame, post, fold: int, *, tiers=TIERS, seed: int = SEED,
               n_draws: int = 1000, baselines: bool = True, ml: bool = True) -> list[pd.DataFrame]:
    """Score one fold's held-out figures ``test`` at each tier.

    The model is scored with the fold's posterior ``post``, next to the formulas and the
    machine-learning baselines trained on ``train``.
    """
    from carbon_bayes.estimator import estimate

    out = []
    y = test["value"].to_numpy()
    qty = test["quantity"].to_numpy()
    for tier in tiers:
        inp = tier_inputs(test, tier)
        est = estimate(inp, posterior=post, n_draws=n_draws, seed=seed + fold, keep_draws=True)
        draws = as_printed(np.where(qty[:, None] == "energy_mwh", est.draws["energy_mwh"].values,
                                    est.draws["co2_t"].values), y)
        base = test[["run_id", "run_group", "operator", "quantity", "figure", "value", "basis", "architecture",
                     "hardware", "year"]].assign(effective_tier=est.summary["tier"].to_numpy())
        out.append(base.assign(tier=tier, method="carbon_bayes", fold=fold, **score_draws(draws, y)))
        if baselines:
            for name, p in formula_predictions(inp, qty).items():
                q = np.repeat(np.log10(p)[:, None], len(QGRID), axis=1)
                sc = score_quantiles(q, y)
                for kk in sc:  # a formula that cannot answer a row is not scored on it
                    sc[kk] = np.where(np.isnan(p), False if kk.startswith("cover") else np.nan, sc[kk])
                out.append(base.assign(tier=tier, method=name, fold=fold, **sc))
        if ml and len(train) >= 5:
            Xtr = ml_features(tier_inputs(train, tier), train["quantity"].to_numpy())
            for name, q in ml_quantiles(Xtr, np.log10(train["value"].to_numpy()), ml_features(inp, qty),
                                        seed + fold).items():
                out.append(base.assign(tier=tier, method=name, fold=fold, **score_quantiles(q, y)))
    return out


def _with_groups(pred: pd.DataFrame) -> pd.DataFrame:
    """Add the hardware family and the era of each figure (for the per-group tables)."""
    from carbon_bayes import reference

    fam = reference.accelerators()["family"].to_dict()
    pred["family"] = [fam.get(h, "unknown") if h else "unknown" for h in pred["hardware"]]
    pred["era"] = pd.cut(pred["year"], [0, 2018, 2020, 2022, 2024, 3000],
                         labels=["<=2018", "2019-2020", "2021-2022", "2023-2024", ">=2025"]).astype(str)
    return pred


def _fold_jobs(jobs: int | None, cfg: dict) -> int:
    """Check the folds sampled at once (and the sampler, before any work): 1 with PyMC's NUTS."""
    from carbon_bayes.errors import InputError
    from carbon_bayes.fitting import resolve_sampler

    jobs = default_jobs(cfg["chains"]) if jobs is None else int(jobs)
    if jobs < 1:
        raise InputError("jobs", jobs, f"give at least 1 fold at a time (or leave it unset for one per {cfg['chains']} "
                         "cores)")
    if resolve_sampler(cfg["sampler"]) == "pymc":
        jobs = 1  # PyMC's NUTS takes a fold's weights by setting them on the one shared model
    return jobs


def fold_map(labels: pd.DataFrame, dataset: pd.DataFrame, by: str, folds: int | None, seed: int) -> dict[str, int]:
    """Fold of every run group: by run group (K folds or one per group), or by its organisation.

    With ``by="organisation"`` every run group of a scored organisation leaves with it, scored or
    not (its fitted-only figures would otherwise tell the fit about the held-out organisation).
    """
    units = fold_units(labels, by)
    unit_fold = assign_folds(units, None if by == "organisation" else folds, seed)
    fold_of = {g: unit_fold[u] for g, u in zip(labels["run_group"], units, strict=True)}
    if by == "organisation":
        operator_of = dataset.groupby("run_group", sort=False)["operator"].first()
        fold_of.update({g: unit_fold[op] for g, op in operator_of.items() if op in unit_fold})
    return fold_of


def cross_validate(dataset: pd.DataFrame | None = None, *, folds: int | None = 10, tiers=TIERS, seed: int = SEED,
                   sampler_config: dict | None = None, baselines: bool = True, ml: bool = True,
                   n_draws: int = 1000, progress: bool = True, jobs: int | None = None,
                   by: str = "group") -> ValidationResult:
    """Cross-validate the model and the baselines, grouped K-fold (``folds=None``: leave-one-run-out).

    ``by="organisation"``: leave one organisation out (every figure of one ``operator`` leaves
    together; ``folds`` is ignored), as a user from an organisation the data do not hold meets
    the model.

    The model is compiled once; ``jobs`` folds are sampled at once in threads (default
    :func:`default_jobs`: one fold per ``chains`` cores, so one at a time on 2 cores). Each fold has
    its own seed (``seed + fold``), so the result does not depend on ``jobs``.
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from carbon_bayes.dataset import load_training_runs
    from carbon_bayes.errors import InputError
    from carbon_bayes.fitting import CarbonModel, compile_model, convergence_report, free_variable_names, sample
    from carbon_bayes.posterior import build_posterior_tree, posterior_from_tree

    for t in tiers:
        if t not in TIERS:
            raise InputError("tiers", t, f"use some of {', '.join(TIERS)}")
    dataset = load_training_runs(dataset) if not isinstance(dataset, pd.DataFrame) else dataset
    labels = scored_labels(dataset)
    fold_of = fold_map(labels, dataset, by, folds, seed)
    n_folds = len(set(fold_of.values()))
    cm = CarbonModel(sampler_config={**(sampler_config or {}), "progressbar": False, "seed": seed})
    jobs = _fold_jobs(jobs, cm.sampler_config)
    model = cm.build(dataset)
    fd = cm.fit_data
    compiled = compile_model(model, cm.sampler_config)
    lab_groups = fd.labels["run_group"].to_numpy()
    run_groups = fd.runs["run_group"].to_numpy()
    ev_groups = fd.ci_evidence["run_group"].to_numpy()
    # Training labels of the machine-learning baselines: the fitted labels (energy if given, else CO2).
    train_rows = scored_labels(dataset.assign(validate=dataset["in_fit"]))
    lock = threading.Lock()  # guards the shared CarbonModel's provenance and the progress line
    done: list[int] = []
    t0 = time.perf_counter()

    def run_fold(k: int):
        held = {g for g, f in fold_of.items() if f == k}
        data = {"label_weight": (~np.isin(lab_groups, list(held))).astype(float),
                "run_weight": (~np.isin(run_groups, list(held))).astype(float),
                "evidence_weight": (~np.isin(ev_groups, list(held))).astype(float)}
        tree = sample(model, dict(cm.sampler_config, seed=seed + k), data=data, compiled=compiled)
        rep = convergence_report(tree, free_variable_names(model))
        with lock:
            cm.idata, cm.convergence = tree, rep
            prov = {**cm.provenance(), "fit_rows": dataset}
        post = posterior_from_tree(build_posterior_tree(tree, **prov))
        test = labels[labels["run_group"].isin(held)]
        train = train_rows[~train_rows["run_group"].isin(held)]
        out = score_fold(test, train, post, k, tiers=tiers, seed=seed, n_draws=n_draws, baselines=baselines, ml=ml)
        if progress:
            with lock:
                done.append(k)
                el, n = time.perf_counter() - t0, len(done)
                print(f"\rfold {n}/{n_folds} done ({el:.0f} s elapsed, ~{el / n * (n_folds - n):.0f} s "
                      f"left; {rep['divergences']} divergences, max r_hat {rep['r_hat_max']:.3f})", end="",
                      file=sys.stderr, flush=True)
        return out, {"fold": k, **rep}

    with ThreadPoolExecutor(max_workers=min(jobs, n_folds)) as pool:
        results = list(pool.map(run_fold, range(n_folds)))  # in fold order, whatever finished first
    if progress:
        print(file=sys.stderr)
    parts = [df for out, _ in results for df in out]
    conv = [c for _, c in results]
    pred = _with_groups(pd.concat(parts, ignore_index=True))
    scheme = ("leave-one-organisation-out" if by == "organisation" else
              "leave-one-run-out" if folds is None else n_folds)
    settings = {"folds": scheme, "by": by, "tiers": list(tiers), "seed": seed,
                "sampler": {k: v for k, v in cm.sampler_config.items() if k != "progressbar"},
                "n_labels": int(len(labels)), "n_groups": int(labels["run_group"].nunique()),
                "jobs": min(jobs, n_folds), "seconds": round(time.perf_counter() - t0, 1)}
    return ValidationResult(pred, fold_of, settings, conv)
