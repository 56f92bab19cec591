"""Mid-training forecasts: the total energy and CO2e of a running job, and the risk of blowing the budget.

Given the planned run (the input contract) and a partial measurement (energy so far, or
device-hours so far, at a fraction of the steps done), :func:`forecast` returns the posterior
predictive of the run's total and P(total CO2e > budget), with a one-sentence stop rule.

The model (see ``docs/updating.md``)
------------------------------------
1. **Prior.** The run's predictive distribution of total energy ``E`` and carbon intensity,
   from :meth:`carbon_bayes.predict.Predictor.simulate` (the same draws ``estimate()`` uses,
   label noise of the run's ``energy_basis`` included, because what is forecast is what the
   user's meter will read at the end).
2. **Progress noise.** Write the total as the energy so far plus the remaining part,
   ``E = E_f + E_f (1 - f) / f * exp(eta)``: the remaining ``1 - f`` of the steps run at the
   average rate so far times ``exp(eta)``, ``eta ~ Normal(0, tau)``. The rate changes because
   of warm-up and compilation at the start, evaluation and checkpoint pauses, restarts after
   failures, batch-size / sequence-length schedules and a changing share of the cluster.
   To first order, ``log E = log(E_f / f) + (1 - f) eta``, i.e. the energy so far is an
   observation of ``f x E`` with log-normal noise::

       log E_f ~ Normal(log(f) + log(E), s(f)),   s(f) = tau * (1 - f)

   The noise shrinks linearly to zero as the run completes (at ``f = 1`` the energy so far is
   the total). ``tau`` (``progress_sigma``, default 0.3: the remaining part runs at 0.55-1.8x
   the rate so far, 95%) is a stated judgement, not fitted; pass another value if your runs
   are steadier or bumpier.
3. **Conditioning.** Each predictive draw is weighted by that likelihood (importance
   sampling). When the effective sample size of the weights falls below ``min_ess`` (default
   200: the measurement is far more informative than the prior, or far from it), the answer
   switches to the analytic log-normal update: a normal prior on ``log E`` fitted to the draws
   (median and 16-84% half-width, robust to the heavy tails) times the normal likelihood above.
   The answer therefore never rests on a handful of draws; ``ess`` and ``method`` say which was
   used. The total is never below the energy already used.
4. **CO2e** is the total energy times the run's intensity draws (exact when the run gives
   ``carbon_intensity``); the intensity is independent of the energy in the prior, so the
   conditioning leaves it unchanged.
5. **Hours so far.** ``hours_so_far / fraction_done`` is a projected device-hours total; it
   replaces the run's ``device_hours`` (planned or unknown), with the same progress noise
   ``s(f)`` on the projection. It is usable when the energy so far is unknown; with both, the
   energy so far is conditioned on as above.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from carbon_bayes import schema
from carbon_bayes._compat import deprecated_attribute, renamed_kwargs
from carbon_bayes.constants import CI_LEVEL
from carbon_bayes.errors import InputError

#: Default log-sd ``tau`` of the rate of the remaining part of a run relative to the rate so far.
PROGRESS_SIGMA = 0.3
#: Below this effective sample size the forecast uses the analytic log-normal update.
MIN_ESS = 200
#: Posterior draws used by a forecast (one run, so more than estimate()'s default is cheap).
N_DRAWS = 4000
#: Smallest progress noise (keeps the likelihood proper at fraction_done = 1).
MIN_PROGRESS_SD = 1e-3
STATS = ("mean", "median", "lower", "upper")


def progress_sd(fraction_done: float, progress_sigma: float = PROGRESS_SIGMA) -> float:
    """Log-sd ``s(f) = tau (1 - f)`` of the energy so far around ``f x`` the total (floored at 1e-3)."""
    return max(progress_sigma * (1.0 - fraction_done), MIN_PROGRESS_SD)


def weighted_quantile(x: np.ndarray, w: np.ndarray, q) -> np.ndarray:
    """Compute quantiles ``q`` of values ``x`` with weights ``w``.

    Midpoint rule; equals np.quantile's 'hazen' method for equal weights.
    """
    order = np.argsort(x)
    xs, ws = x[order], w[order]
    cw = (np.cumsum(ws) - 0.5 * ws) / ws.sum()
    return np.interp(np.asarray(q, dtype=float), cw, xs)


def _summary(x: np.ndarray, w: np.ndarray, ci_level: float) -> dict:
    lo, med, hi = weighted_quantile(x, w, [(1 - ci_level) / 2, 0.5, (1 + ci_level) / 2])
    return {"mean": float(np.sum(w * x) / np.sum(w)), "median": float(med), "lower": float(lo), "upper": float(hi)}


def _number(name: str, value, fix: str, *, positive: bool = True) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(name, value, fix) from None
    if not np.isfinite(v) or (v <= 0 if positive else v < 0):
        raise InputError(name, value, fix)
    return v


@renamed_kwargs(ci="ci_level")
def stop_rule(p_exceed: float, budget_t: float, co2: dict, ci_level: float, fraction_done: float) -> str:
    """Write the one-sentence stop rule for P(total CO2e > budget)."""
    head = (f"at the current rate the run will exceed the budget of {budget_t:g} t CO2e with probability "
            f"{p_exceed:.2f}")
    body = (f"projected total {co2['median']:.3g} t CO2e ({ci_level:.0%} interval "
            f"{co2['lower']:.3g}-{co2['upper']:.3g} t) "
            f"with {1 - fraction_done:.0%} of the steps left")
    if p_exceed >= 0.5:
        advice = "stop or re-plan now (fewer steps, a cleaner region or time window)"
    elif p_exceed >= 0.1:
        advice = "keep watching and forecast again as the run progresses"
    else:
        advice = "on track to stay within the budget"
    return f"{head}: {body}; {advice}."


@dataclass
class Forecast:
    """The forecast total of one run.

    Attributes
    ----------
    energy_mwh, co2_t
        ``mean``, ``median``, ``lower``, ``upper`` of the total (interval level ``ci_level``).
    prior_energy_mwh, prior_co2_t
        The same for the run's predictive before the partial measurement.
    p_exceed
        P(total CO2e > ``budget_t``), None without a budget.
    method
        ``importance`` (weighted predictive draws), ``analytic`` (log-normal update, used when
        the effective sample size fell below ``min_ess``) or ``projection`` (hours so far only).
    ess
        Effective sample size of the importance weights (None for ``projection``).
    stop_rule
        The stop-rule sentence (None without a budget).
    """

    run_id: str
    fraction_done: float
    energy_so_far_mwh: float | None
    hours_so_far: float | None
    projected_device_hours: float | None
    ci_level: float
    energy_mwh: dict
    co2_t: dict
    prior_energy_mwh: dict
    prior_co2_t: dict
    budget_t: float | None
    p_exceed: float | None
    method: str
    ess: float | None
    progress_sigma: float
    stop_rule: str | None
    notes: list[str] = field(default_factory=list)
    _energy: np.ndarray = field(default=None, repr=False)
    _co2: np.ndarray = field(default=None, repr=False)
    _weights: np.ndarray = field(default=None, repr=False)

    ci = deprecated_attribute("ci", "ci_level")

    def prob_exceeds(self, budget_t: float) -> float:
        """P(total CO2e > ``budget_t``) (t CO2e); non-increasing in the budget."""
        b = _number("budget_t", budget_t, "give a budget >= 0 in t CO2e", positive=False)
        order = np.argsort(self._co2, kind="stable")
        tail = np.cumsum(self._weights[order][::-1])[::-1]  # P(X >= x_(i)): monotone by construction
        i = int(np.searchsorted(self._co2[order], b, side="right"))
        return float(min(tail[i], 1.0)) if i < len(tail) else 0.0

    @property
    def draws(self) -> pd.DataFrame:
        """Equally weighted draws of the total (``energy_mwh``, ``co2_t``), resampled systematically."""
        n = len(self._weights)
        u = (np.arange(n) + 0.5) / n
        idx = np.minimum(np.searchsorted(np.cumsum(self._weights), u), n - 1)
        return pd.DataFrame({"energy_mwh": self._energy[idx], "co2_t": self._co2[idx]})

    def to_frame(self) -> pd.DataFrame:
        """One row: the inputs, the total's summaries, P(exceed), method, ESS and the stop rule."""
        row = {"run_id": self.run_id, "fraction_done": self.fraction_done, "energy_so_far_mwh": self.energy_so_far_mwh,
               "hours_so_far": self.hours_so_far, "projected_device_hours": self.projected_device_hours}
        for q in ("energy_mwh", "co2_t"):
            for s in STATS:
                row[f"{q}_{s}"] = getattr(self, q)[s]
        row.update({"budget_t": self.budget_t, "p_exceed": self.p_exceed, "method": self.method, "ess": self.ess,
                    "stop_rule": self.stop_rule or "", "notes": "; ".join(self.notes)})
        return pd.DataFrame([row])


def _checked_progress(fraction_done, energy_so_far_mwh, hours_so_far, budget_t, progress_sigma, min_ess):
    """Check the progress inputs of :func:`forecast`; return (fraction, energy, hours, budget, tau)."""
    if fraction_done is None:
        raise InputError("fraction_done", None, "give the fraction of the training steps done, e.g. 0.3")
    f = _number("fraction_done", fraction_done, "give the fraction of steps done as a number in (0, 1], e.g. 0.3 "
                "(not a percentage)")
    if f > 1:
        raise InputError("fraction_done", fraction_done, "give a fraction in (0, 1], e.g. 0.3 for 30% "
                         "(it looks like a percentage)" if f <= 100 else "give a fraction in (0, 1]")
    e_so_far = _number("energy_so_far_mwh", energy_so_far_mwh, "give the energy used so far in MWh, > 0 "
                       "(kWh / 1000)")
    h_so_far = _number("hours_so_far", hours_so_far, "give the device-hours so far (devices x wall-clock hours), > 0")
    if e_so_far is None and h_so_far is None:
        raise InputError("energy_so_far_mwh", None, "give the energy used so far (--energy-so-far-mwh) and/or the "
                         "device-hours so far (--hours-so-far)")
    budget = _number("budget_t", budget_t, "give the CO2e budget in t, >= 0", positive=False)
    tau = _number("progress_sigma", progress_sigma, "give the log-sd of the rate of the rest of the run, e.g. 0.3",
                  positive=False)
    if not min_ess or min_ess < 1:
        raise InputError("min_ess", min_ess, "give an effective sample size of at least 1, e.g. 200")
    return f, e_so_far, h_so_far, budget, tau


def _condition(energy: np.ndarray, prior_w: np.ndarray, e_so_far: float | None, f: float, s: float,
               min_ess: float, noise, notes: list[str]) -> tuple[np.ndarray, np.ndarray, float | None, str]:
    """Condition the predictive draws of the total energy on the energy so far.

    Importance weights when their effective sample size is at least ``min_ess``, else the analytic
    log-normal update; returns (energy draws, weights, ESS, method).
    """
    w = prior_w
    ess, method = None, "projection"
    if e_so_far is not None:
        log_e = np.log(energy)
        y = np.log(e_so_far) - np.log(f)
        logw = -0.5 * ((y - log_e) / s) ** 2
        w = np.exp(logw - logw.max()) * (energy >= e_so_far)  # a total below the energy used is impossible
        ess = float(w.sum() ** 2 / np.sum(w ** 2)) if w.any() else 0.0
        if ess >= min_ess:
            method = "importance"
            w = w / w.sum()
        else:
            method = "analytic"
            q16, m0, q84 = np.quantile(log_e, [0.16, 0.5, 0.84])
            s0 = max((q84 - q16) / 2, 1e-6)
            prec = 1 / s0 ** 2 + 1 / s ** 2
            m1 = (m0 / s0 ** 2 + y / s ** 2) / prec
            z = noise.normal("forecast_analytic", [0])[:, 0].astype(np.float64)
            energy = np.exp(m1 + _at_least(z, (np.log(e_so_far) - m1) * np.sqrt(prec)) / np.sqrt(prec))
            w = prior_w
            notes.append(f"effective sample size {ess:.0f} < {min_ess:g}: analytic log-normal update used")
            z_conflict = abs(y - m0) / np.hypot(s0, s)
            if z_conflict > 3:
                notes.append(f"the energy so far is {z_conflict:.1f} sd from what the run's description implies "
                             "(the planned device_hours, hardware, size): check the inputs and the unit (MWh); the "
                             "forecast is a compromise between them; if the run is off plan, give hours_so_far")
        energy = np.maximum(energy, e_so_far)  # float rounding only: the update above is already truncated
    return energy, w, ess, method


def _at_least(z: np.ndarray, a: float) -> np.ndarray:
    """Map standard-normal draws ``z`` to draws of a standard normal truncated below at ``a`` (same quantiles).

    The log-normal update conditioned on the total being at least the energy used so far: without
    it, a measurement far above the plan put most draws below that energy, and clamping them made
    the forecast total equal to the energy already used.
    """
    from scipy import stats

    if a < -8:  # the bound is far in the tail: nothing to truncate
        return z
    return stats.truncnorm.ppf(stats.norm.cdf(z), a, np.inf)


def _projected_run(run, h_so_far: float | None, f: float) -> tuple[pd.DataFrame, float | None, list[str]]:
    """Normalise the one planned run; with hours so far, its device-hours become their projection."""
    inputs = schema.normalise_runs(run)
    if len(inputs) != 1:
        raise InputError("run", f"{len(inputs)} runs", "forecast one run at a time (give one row)")
    notes = [w for w in inputs["warnings"] if w]
    projected = None
    if h_so_far is not None:
        projected = h_so_far / f
        planned = float(inputs.at[0, "device_hours"])
        if np.isfinite(planned) and abs(np.log(projected / planned)) > 0.01:
            notes.append(f"planned device_hours {planned:.4g} replaced by the projection hours_so_far / fraction_done "
                         f"= {projected:.4g}")
        inputs.loc[0, "device_hours"] = projected
        inputs.loc[0, "tier"] = "T1"
    return inputs, projected, notes


@renamed_kwargs(ci="ci_level", model="posterior")
def forecast(run, energy_so_far_mwh: float | None = None, hours_so_far: float | None = None,
             fraction_done: float | None = None, budget_t: float | None = None, ci_level: float = CI_LEVEL,
             posterior=None, seed: int | None = None, *, progress_sigma: float = PROGRESS_SIGMA, n_draws: int = N_DRAWS,
             min_ess: float = MIN_ESS) -> Forecast:
    """Forecast the total energy and CO2e of a run in progress from a partial measurement.

    Parameters
    ----------
    run
        The planned run, as for :func:`carbon_bayes.estimate` (one dict or a one-row frame).
    energy_so_far_mwh
        Energy used so far (MWh), measured on the run's ``energy_basis`` (default measured).
    hours_so_far
        Device-hours so far (accelerator-hours: devices x wall-clock hours).
    fraction_done
        Fraction of the training steps done, in (0, 1].
    budget_t
        CO2e budget (t) for P(total > budget) and the stop rule.
    ci_level
        Credible-interval level (default 0.9). ``ci=`` is a deprecated alias.
    posterior
        Posterior file (e.g. one written by ``carbon-bayes update``), default the shipped one.
        ``model=`` is a deprecated alias.
    seed
        Random seed (default fixed: the same input gives the same output).
    progress_sigma
        ``tau``: log-sd of the remaining part's rate relative to the rate so far (module docstring).
    n_draws
        Posterior draws used (default 4,000).
    min_ess
        Effective sample size below which the analytic log-normal update is used.

    Returns
    -------
    Forecast

    Examples
    --------
    >>> from carbon_bayes.forecast import forecast
    >>> fc = forecast({"hardware": "H100", "device_hours": 2e5, "country": "US", "year": 2025},
    ...               energy_so_far_mwh=40, fraction_done=0.3, budget_t=50)   # doctest: +SKIP
    >>> fc.stop_rule                                                          # doctest: +SKIP
    """
    from carbon_bayes.estimator import check_ci_level, check_n_draws, noise_for
    from carbon_bayes.predict import get_predictor

    level = check_ci_level(ci_level)
    f, e_so_far, h_so_far, budget, tau = _checked_progress(fraction_done, energy_so_far_mwh, hours_so_far, budget_t,
                                                           progress_sigma, min_ess)
    inputs, projected, notes = _projected_run(run, h_so_far, f)
    s = progress_sd(f, tau)
    pred = get_predictor(posterior)
    noise = noise_for(inputs, check_n_draws(n_draws), seed)
    sim = pred.simulate(inputs, noise)
    notes += sim.notes[0]
    energy = sim.energy_mwh[:, 0].astype(np.float64)
    co2 = sim.co2_t[:, 0].astype(np.float64)
    intensity = co2 / energy
    if h_so_far is not None:  # the projection of hours is as uncertain as the remaining rate
        energy = energy * np.exp(s * noise.normal("forecast_projection", [0])[:, 0].astype(np.float64))
    S = len(energy)
    prior_w = np.full(S, 1.0 / S)
    prior_e = _summary(energy, prior_w, level)
    prior_c = _summary(energy * intensity, prior_w, level)

    energy, w, ess, method = _condition(energy, prior_w, e_so_far, f, s, min_ess, noise, notes)
    total_co2 = energy * intensity
    e_sum, c_sum = _summary(energy, w, level), _summary(total_co2, w, level)
    p = None if budget is None else float(np.sum(w[total_co2 > budget]))
    rule = None if budget is None else stop_rule(p, budget, c_sum, level, f)
    return Forecast(run_id=str(inputs.at[0, "run_id"]), fraction_done=f, energy_so_far_mwh=e_so_far,
                    hours_so_far=h_so_far, projected_device_hours=projected, ci_level=level, energy_mwh=e_sum,
                    co2_t=c_sum, prior_energy_mwh=prior_e, prior_co2_t=prior_c, budget_t=budget, p_exceed=p,
                    method=method, ess=ess, progress_sigma=tau, stop_rule=rule, notes=notes, _energy=energy,
                    _co2=total_co2, _weights=w)
