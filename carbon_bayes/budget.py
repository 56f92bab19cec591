"""Deciding under a carbon budget: risk of exceeding it, what-if alternatives, sweeps of many runs.

Everything here works on predictive draws (the ones :func:`carbon_bayes.estimate` keeps),
so a decision uses the whole distribution, not a point estimate:

- :func:`prob_exceeds`, :func:`carbon_at_risk` and :func:`expected_shortfall` summarise draws
  against a budget (defined in :mod:`carbon_bayes.risk`, which ``Estimate`` uses too).
- :func:`plan` compares alternatives for one run (other regions, hardware, PUE) with common
  random numbers: every alternative sees the same random numbers for every node of the chain,
  so the difference between two alternatives is caused by their inputs only, and
  ``P(better than the reference)`` is a sharp, paired comparison.
- :func:`sweep` gives the risk of a set of runs (an 80-trial hyperparameter search, a project
  of several runs) by summing per draw: the risk of the total, not N times the risk of one.

Units: CO2e in tonnes (``*_t``), energy in MWh.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from carbon_bayes import schema, streams
from carbon_bayes._compat import deprecated_attribute, renamed_kwargs
from carbon_bayes.alternatives import (  # noqa: F401  (part of this module's API: budget.apply_overrides, ...)
    MAX_ALTERNATIVES,
    OVERRIDABLE,
    REFERENCE,
    _label,
    _one_run,
    alternative_runs,
    apply_overrides,
    expand_alternatives,
)
from carbon_bayes.constants import CHUNK_ELEMENTS, CI_LEVEL, SEED
from carbon_bayes.errors import InputError
from carbon_bayes.estimator import UNITS, common_draws, noise_for

# the risk measures are part of this module's API too (budget.prob_exceeds(draws, B), ...)
from carbon_bayes.risk import carbon_at_risk, check_budget, check_risk, expected_shortfall, prob_exceeds  # noqa: F401
from carbon_bayes.streams import Streams

#: Inputs that describe where a run is computed; trials of one sweep that agree on all of them
#: share the draw's carbon intensity and PUE (see :func:`sweep`).
SITE_COLUMNS = ("region", "country", "provider", "carbon_intensity", "pue", "accounting")


def _stats(draws: np.ndarray, level: float, prefix: str) -> dict[str, np.ndarray]:
    lo, hi = (1 - level) / 2, (1 + level) / 2
    q = np.quantile(draws, [lo, 0.5, hi], axis=-1)
    return {f"{prefix}_mean": draws.mean(axis=-1), f"{prefix}_median": q[1], f"{prefix}_lower": q[0],
            f"{prefix}_upper": q[2]}


# --------------------------------------------------------------------------- simulation helpers
def _site_keys(inputs: pd.DataFrame) -> np.ndarray:
    """Integer id per row of its site (rows agreeing on every :data:`SITE_COLUMNS` value)."""
    keys = [tuple(map(str, r)) for r in inputs[list(SITE_COLUMNS)].itertuples(index=False)]
    lookup: dict[tuple, int] = {}
    return np.array([lookup.setdefault(k, len(lookup)) for k in keys])


def _share_site(co2: np.ndarray, energy: np.ndarray, intensity: np.ndarray, pue: np.ndarray,
                intensity_ref: np.ndarray, pue_ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replace each column's carbon intensity and PUE draws by the reference ones (same draw)."""
    pue_ratio = pue_ref / pue
    with np.errstate(divide="ignore", invalid="ignore"):
        intensity_ratio = np.where(intensity > 0, intensity_ref / np.where(intensity > 0, intensity, 1.0), 1.0)
    return co2 * intensity_ratio * pue_ratio, energy * pue_ratio


# --------------------------------------------------------------------------- plan
@renamed_kwargs(ci="ci_level", model="posterior")
def plan(run, budget_t: float, max_risk: float = 0.05, alternatives=None, posterior=None, seed: int | None = None,
         ci_level: float = CI_LEVEL, *, n_trials: int = 1, same_site: bool = True,
         n_draws: int | None = None) -> pd.DataFrame:
    """Compare alternatives for one run against a carbon budget, with common random numbers.

    The reference (the run as given) and every alternative are simulated in one call of
    :meth:`~carbon_bayes.predict.Predictor.simulate` with one noise key for every row: each row
    gets the same random numbers for every node (utilisation, power, PUE, intensity, label
    noise), so the comparison is paired and differences are not Monte-Carlo noise. With
    ``n_trials > 1`` the total of that many repetitions of the run is compared (one paired
    simulation per trial, summed per draw; see :func:`sweep` for ``same_site``).

    Parameters
    ----------
    run
        One run (dict, one-row DataFrame) in the input contract: the reference.
    budget_t
        Carbon budget, t CO2e (> 0).
    max_risk
        Acceptable probability of exceeding the budget, in (0, 1).
    alternatives
        A list of dicts of overrides (``[{"region": "gcp:europe-north1"}]``), a DataFrame of
        overrides (one row each), or a grid dict (``{"region": [...], "hardware": [...],
        "pue": [...]}``, cartesian product); at most :data:`MAX_ALTERNATIVES`. How an
        override changes related inputs: :func:`apply_overrides`. Alternatives identical to
        the reference (after normalisation) are dropped.
    posterior
        Posterior path, :class:`~carbon_bayes.posterior.Posterior` or predictor (default:
        the shipped posterior). ``model=`` is a deprecated alias.
    seed
        Random seed (default fixed).
    ci_level
        Level of the credible interval columns (default 0.9). ``ci=`` is a deprecated alias.
    n_trials
        Repetitions of the run whose total is compared (default 1).
    same_site
        With ``n_trials > 1``: trials share the draw's carbon intensity and PUE.
    n_draws
        Predictive draws (default: the most the reference and the alternatives need, as
        :func:`carbon_bayes.estimate` chooses them).

    Returns
    -------
    pandas.DataFrame
        One row per alternative plus the reference, ranked by ``prob_exceeds`` then
        ``co2_t_mean``: ``rank``, ``alternative`` (label), ``is_reference``, one column per
        overridden input (the value used), ``co2_t_mean/median/lower/upper``,
        ``energy_mwh_median``, ``prob_exceeds`` (P(CO2 > budget)), ``meets_risk``
        (``prob_exceeds <= max_risk``), ``carbon_at_risk_t`` (the ``1 - max_risk`` quantile),
        ``prob_better`` (P(CO2 of the alternative < CO2 of the reference), per paired draw),
        ``expected_shortfall_t`` (E[max(CO2 - budget, 0)]) and ``notes``. ``attrs`` holds
        ``budget_t``, ``max_risk``, ``ci`` (the interval level), ``n_trials`` and ``n_draws``.

    Raises
    ------
    InputError
        Bad budget, risk, run or alternatives (naming the field).

    Examples
    --------
    >>> from carbon_bayes.budget import plan
    >>> run = {"parameters": 7e9, "training_tokens": 2e12, "hardware": "H100", "year": 2024,
    ...        "region": "gcp:us-east1"}
    >>> plan(run, budget_t=10, alternatives={"region": ["gcp:europe-north1"]})  # doctest: +SKIP
    """
    from carbon_bayes.estimator import check_ci_level
    from carbon_bayes.predict import get_predictor

    budget = check_budget(budget_t)
    risk = check_risk(max_risk)
    level = check_ci_level(ci_level)
    n_trials = check_trials(n_trials, allow_none=False)
    inputs, notes, overrides = alternative_runs(_one_run(run), alternatives)
    pred = get_predictor(posterior)
    S = common_draws(inputs, n_draws, pred, seed)
    co2, energy = _paired_totals(pred, inputs, n_trials, seed, same_site, S)  # (rows, S)
    out = _ranking(inputs, overrides, notes, co2, energy, budget, risk, level)
    out.attrs.update({"budget_t": budget, "max_risk": risk, "ci": level, "n_trials": n_trials, "n_draws": S})
    return out


def _ranking(inputs: pd.DataFrame, overrides: list[dict], notes: list[list[str]], co2: np.ndarray,
             energy: np.ndarray, budget: float, risk: float, level: float) -> pd.DataFrame:
    """Tabulate and rank the paired draws (rows x draws) of the reference (row 0) and its alternatives."""
    ref_co2 = co2[0]
    over_cols = list(dict.fromkeys(k for o in overrides for k in o))
    labels = [REFERENCE] + [_label(o, inputs.iloc[j + 1]) for j, o in enumerate(overrides[1:])]
    out = pd.DataFrame({"alternative": labels, "is_reference": [True] + [False] * (len(inputs) - 1)})
    for c in over_cols:
        out[c] = inputs[c].to_numpy()
    for k, v in _stats(co2, level, "co2_t").items():
        out[k] = v
    out["energy_mwh_median"] = np.median(energy, axis=-1)
    out["prob_exceeds"] = (co2 > budget).mean(axis=-1)
    out["meets_risk"] = out["prob_exceeds"] <= risk
    out["carbon_at_risk_t"] = np.quantile(co2, 1 - risk, axis=-1)
    out["prob_better"] = (co2 < ref_co2[None, :]).mean(axis=-1)
    out["expected_shortfall_t"] = np.maximum(co2 - budget, 0).mean(axis=-1)
    out["notes"] = ["; ".join(n) for n in notes]
    out = out.sort_values(["prob_exceeds", "co2_t_mean"], kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def _paired_totals(pred, inputs: pd.DataFrame, n_trials: int, seed, same_site: bool, n_draws: int):
    """Per-row totals over ``n_trials`` paired simulations: (rows, draws) arrays.

    Every row of a trial shares the reference run's random numbers (common random numbers); each
    trial is a replicate with its own.
    """
    ref = noise_for(inputs.iloc[[0]], n_draws, seed).keys[0]
    co2_tot = energy_tot = intensity_ref = pue_ref = None
    for t in range(n_trials):
        same = np.full(len(inputs), ref, dtype=np.uint64)
        keys = streams.replicate_keys(same, t)
        sim = pred.simulate(inputs, Streams(keys, n_draws, SEED if seed is None else seed, spec_keys=same))
        co2, energy = sim.co2_t.astype(float), sim.energy_mwh.astype(float)
        if t == 0:
            intensity_ref, pue_ref = sim.carbon_intensity.astype(float), sim.pue.astype(float)
            co2_tot, energy_tot = co2.copy(), energy.copy()
            continue
        if same_site:
            co2, energy = _share_site(co2, energy, sim.carbon_intensity.astype(float), sim.pue.astype(float),
                                      intensity_ref, pue_ref)
        co2_tot += co2
        energy_tot += energy
    return co2_tot.T, energy_tot.T


def check_trials(n_trials, allow_none: bool = True):
    """Check a number of trials and return it as a positive int (None passes when ``allow_none``).

    Raises
    ------
    InputError
        ``field="n_trials"`` for a non-integer, a count below 1 or above 1,000,000.
    """
    if n_trials is None and allow_none:
        return None
    try:
        if isinstance(n_trials, (bool, np.bool_)):
            raise TypeError
        n = int(n_trials)
        if n != float(n_trials):
            raise ValueError
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
        raise InputError("n_trials", n_trials, "give a whole number of trials, e.g. 80") from None
    if n < 1:
        raise InputError("n_trials", n_trials, "give at least 1 trial")
    if n > 1_000_000:
        raise InputError("n_trials", n_trials, "at most 1,000,000 trials")
    return n


# --------------------------------------------------------------------------- sweep
@dataclass
class SweepResult:
    """Total energy and CO2e of several runs, per draw.

    Attributes
    ----------
    draws
        ``co2_t`` and ``energy_mwh`` of the total, dim ``draw``.
    run_draws
        Per-run draws (dims ``run``, ``draw``) after site sharing, whose sum over ``run`` is
        ``draws``; None when runs x draws exceeds the estimator's keep-draws limit.
    budget_t
        The budget (t CO2e) or None.
    ci_level
        Credible-interval level of the summary (``ci`` is a deprecated alias).
    n_runs
        Number of runs summed (trials included).
    """

    draws: xr.Dataset
    run_draws: xr.Dataset | None
    budget_t: float | None
    ci_level: float
    n_runs: int
    same_site: bool = True
    inputs: pd.DataFrame = field(default=None, repr=False)

    ci = deprecated_attribute("ci", "ci_level")

    def prob_exceeds(self, budget_t: float | None = None) -> float:
        """P(total CO2e > budget) (default: the sweep's budget)."""
        b = self._budget(budget_t)
        return prob_exceeds(self.draws["co2_t"].values, b)

    def carbon_at_risk(self, q: float = 0.95) -> float:
        """Return the ``q``-quantile of the total CO2e (t)."""
        return carbon_at_risk(self.draws["co2_t"].values, q)

    def expected_shortfall(self, budget_t: float | None = None) -> float:
        """E[max(total CO2e - budget, 0)] (t)."""
        return expected_shortfall(self.draws["co2_t"].values, self._budget(budget_t))

    def _budget(self, budget_t):
        b = self.budget_t if budget_t is None else budget_t
        if b is None:
            raise InputError("budget_t", None, "give a budget, e.g. prob_exceeds(100)")
        return b

    def to_frame(self) -> pd.DataFrame:
        """Summarise the total as one row.

        Returns
        -------
        pandas.DataFrame
            ``n_runs``, energy and CO2e mean/median/lower/upper of the total,
            ``carbon_at_risk_t`` (95% quantile) and, with a budget, ``budget_t``,
            ``prob_exceeds`` and ``expected_shortfall_t``.
        """
        row: dict = {"n_runs": self.n_runs}
        for q in ("energy_mwh", "co2_t"):
            row.update({k: float(v) for k, v in _stats(self.draws[q].values, self.ci_level, q).items()})
        row["carbon_at_risk_t"] = self.carbon_at_risk(0.95)
        if self.budget_t is not None:
            row["budget_t"] = self.budget_t
            row["prob_exceeds"] = self.prob_exceeds()
            row["expected_shortfall_t"] = self.expected_shortfall()
        return pd.DataFrame([row])


def _repeated(base: pd.DataFrame, n_trials: int) -> pd.DataFrame:
    """Repeat each run ``n_trials`` times (run_ids ``<id>#1``, ``<id>#2``, ...); as it is for one trial."""
    if n_trials <= 1:
        return base
    rep = base.loc[base.index.repeat(n_trials)].reset_index(drop=True)
    trial = np.tile(np.arange(1, n_trials + 1), len(base))
    rep["run_id"] = [f"{r}#{t}" for r, t in zip(rep["run_id"], trial, strict=True)]
    return rep


def _at_shared_sites(sim, co2: np.ndarray, energy: np.ndarray, sites: np.ndarray,
                     site_ref: dict[int, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Give every run of a site the intensity and PUE draws of its first run (kept across chunks)."""
    intensity_d, pue_d = sim.carbon_intensity.astype(float), sim.pue.astype(float)
    intensity_ref = np.empty_like(intensity_d)
    pue_ref = np.empty_like(pue_d)
    for site in np.unique(sites):
        cols = np.flatnonzero(sites == site)
        if site not in site_ref:
            site_ref[site] = (intensity_d[:, cols[0]].copy(), pue_d[:, cols[0]].copy())
        intensity_ref[:, cols] = site_ref[site][0][:, None]
        pue_ref[:, cols] = site_ref[site][1][:, None]
    return _share_site(co2, energy, intensity_d, pue_d, intensity_ref, pue_ref)


def _sweep_datasets(total_c, total_e, kept_c, kept_e, base: pd.DataFrame, same_site: bool, keep: bool):
    """Return the total's draws and (when kept) each run's, as Datasets with units."""
    S = len(total_c)
    draws = xr.Dataset({q: xr.DataArray(v, dims="draw", attrs={"units": UNITS[q]})
                        for q, v in (("co2_t", total_c), ("energy_mwh", total_e))},
                       coords={"draw": np.arange(S)}, attrs={"n_runs": len(base), "same_site": int(same_site)})
    run_draws = None
    if keep:
        run_draws = xr.Dataset({q: xr.DataArray(np.concatenate(k, axis=1).T, dims=("run", "draw"),
                                                attrs={"units": UNITS[q]})
                                for q, k in (("co2_t", kept_c), ("energy_mwh", kept_e))},
                               coords={"run": base["run_id"].to_numpy(), "draw": np.arange(S)})
    return draws, run_draws


@renamed_kwargs(ci="ci_level", model="posterior")
def sweep(run_or_runs, n_trials: int | None = None, budget_t: float | None = None, posterior=None,
          seed: int | None = None, ci_level: float = CI_LEVEL, *, same_site: bool = True,
          n_draws: int | None = None) -> SweepResult:
    """Risk of a set of runs under one budget: the per-draw sum of their CO2e.

    Each run (each trial) gets its own draws of its run-level nodes (utilisation, power
    fraction, hardware when not given, label noise); all runs share the posterior draw (the
    population parameters), so their uncertainties are correlated as the model says. The
    total is summed per draw, so ``P(total > budget)`` is the probability for the whole set,
    neither N times the risk of one run nor ``1 - (1 - p)^N``.

    With ``same_site=True`` (default), runs that agree on every location input (region,
    country, provider, carbon_intensity, pue, accounting) also share the draw's carbon
    intensity and PUE: the trials of a sweep run in one data centre on one grid, so that
    uncertainty does not average out across trials. ``same_site=False`` draws them per run.

    Parameters
    ----------
    run_or_runs
        One run (dict) or several (list of dicts, DataFrame), input contract.
    n_trials
        Repetitions: one run repeated ``n_trials`` times (e.g. 80 trials of a hyperparameter
        search), or every run of a list repeated that many times. Default 1.
    budget_t
        Budget for the total, t CO2e (optional).
    posterior, seed, ci_level, n_draws
        As in :func:`carbon_bayes.estimate` (``model=`` and ``ci=`` are deprecated aliases). With the
        same seed, a sweep of one run gives exactly the draws of ``estimate(run, seed=seed)``.
    same_site
        Share carbon intensity and PUE between runs at the same site (see above).

    Returns
    -------
    SweepResult
        ``.draws`` of the total, ``.run_draws`` per run, ``.to_frame()`` summary,
        ``.prob_exceeds()``.

    Examples
    --------
    >>> from carbon_bayes.budget import sweep
    >>> trial = {"parameters": 1.3e9, "training_tokens": 2.6e10, "hardware": "A100-80GB", "year": 2024,
    ...          "region": "aws:us-east-1"}
    >>> sweep(trial, n_trials=80, budget_t=20).to_frame()  # doctest: +SKIP
    """
    from carbon_bayes.estimator import KEEP_DRAWS_LIMIT, check_ci_level
    from carbon_bayes.predict import get_predictor

    level = check_ci_level(ci_level)
    budget = None if budget_t is None else check_budget(budget_t)
    n_trials = check_trials(n_trials) or 1
    base = _repeated(schema.normalise_runs(run_or_runs), n_trials)
    pred = get_predictor(posterior)
    S = common_draws(base, n_draws, pred, seed)
    n = len(base)
    keep = n * S <= KEEP_DRAWS_LIMIT
    # First occurrences draw as estimate() does; repeats get noise of their own but share the run's
    # unknown specification (spec_keys: size, hardware, compute, new-group effects; docs/model.md §5).
    noise = noise_for(base, S, seed)
    keys = streams.replicate_keys(noise.keys, streams.occurrence(noise.keys))
    sites = _site_keys(base)
    site_ref: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    total_c = np.zeros(S)
    total_e = np.zeros(S)
    kept_c, kept_e = [], []
    size = max(64, CHUNK_ELEMENTS // S)
    for sl in (slice(k, min(n, k + size)) for k in range(0, n, size)):
        sim = pred.simulate(base.iloc[sl], Streams(keys[sl], S, SEED if seed is None else seed,
                                                   spec_keys=noise.keys[sl]))
        co2, energy = sim.co2_t.astype(float), sim.energy_mwh.astype(float)
        if same_site:
            co2, energy = _at_shared_sites(sim, co2, energy, sites[sl], site_ref)
        total_c += co2.sum(axis=1)
        total_e += energy.sum(axis=1)
        if keep:
            kept_c.append(co2)
            kept_e.append(energy)
    draws, run_draws = _sweep_datasets(total_c, total_e, kept_c, kept_e, base, same_site, keep)
    return SweepResult(draws=draws, run_draws=run_draws, budget_t=budget, ci_level=level, n_runs=n, same_site=same_site,
                       inputs=base)
