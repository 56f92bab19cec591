"""Prior and posterior predictive checks against the published figures.

The prior check draws every hyperparameter from ``priors/model_priors.toml`` alone (PyMC's
prior sampling ignores the likelihood terms), wraps the draws as a posterior, and predicts
every scored figure with the same numpy predictor the package uses, at the information tiers
of :mod:`carbon_bayes.validate`. The posterior check does the same with a fitted posterior
(in-sample, so it checks fit, not generalisation; generalisation is cross-validation's job).
Both report, per tier, the share of figures inside the 50% and 90% predictive intervals, the
median 90% interval width in orders of magnitude (log10 upper/lower), and the median
|log10(predicted median / figure)|.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from carbon_bayes.constants import SEED
from carbon_bayes.validate import TIERS, scored_labels, tier_inputs


def prior_posterior(dataset: pd.DataFrame, draws: int = 2000, seed: int = SEED):
    """Draw a :class:`~carbon_bayes.posterior.Posterior` from the priors alone."""
    import pymc as pm
    import xarray as xr

    from carbon_bayes.fitting import CarbonModel
    from carbon_bayes.posterior import build_posterior_tree, posterior_from_tree

    cm = CarbonModel(sampler_config={"progressbar": False})
    model = cm.build(dataset)
    with model:
        prior = pm.sample_prior_predictive(draws=draws, random_seed=seed)
    tree = xr.DataTree()
    tree["posterior"] = xr.DataTree(prior["prior"].to_dataset())
    cm.idata = tree
    cm.convergence = {"passed": False, "note": "prior draws, not a fit"}
    return posterior_from_tree(build_posterior_tree(tree, **cm.provenance()))


def predictive_check(posterior, dataset: pd.DataFrame, tiers=TIERS, seed: int = SEED) -> pd.DataFrame:
    """Per-figure predictions of ``posterior`` at each tier, with coverage and error columns."""
    from carbon_bayes.estimator import estimate

    labels = scored_labels(dataset)
    out = []
    for tier in tiers:
        est = estimate(tier_inputs(labels, tier), posterior=posterior, seed=seed, keep_draws=True)
        qty = labels["quantity"].to_numpy()
        d = np.where(qty[:, None] == "energy_mwh", est.draws["energy_mwh"].values, est.draws["co2_t"].values)
        y = labels["value"].to_numpy()
        q = np.nanquantile(d, [0.05, 0.25, 0.5, 0.75, 0.95], axis=1)  # NaN pads runs with fewer draws
        out.append(pd.DataFrame({
            "run_id": labels["run_id"], "tier": tier, "effective_tier": est.summary["tier"].to_numpy(),
            "basis": labels["basis"], "value": y, "median": q[2], "lower90": q[0], "upper90": q[4],
            "cover50": (y >= q[1]) & (y <= q[3]), "cover90": (y >= q[0]) & (y <= q[4]),
            "decades90": np.log10(q[4] / q[0]), "abs_log10_error": np.abs(np.log10(q[2] / y)),
        }))
    return pd.concat(out, ignore_index=True)


def summarise_check(pred: pd.DataFrame) -> pd.DataFrame:
    """Coverage, width and error per tier (figures at their effective tier only)."""
    p = pred[pred["tier"] == pred["effective_tier"]]
    return p.groupby("tier").agg(
        n=("value", "size"), cover50=("cover50", lambda x: 100 * x.mean()),
        cover90=("cover90", lambda x: 100 * x.mean()), median_decades90=("decades90", "median"),
        max_decades90=("decades90", "max"), median_abs_log10_error=("abs_log10_error", "median"),
    ).reset_index()
