"""Risk measures of predictive draws against a carbon budget, and the checks of a budget and a risk.

The functions take draws with the draws on the last axis (numpy array, or an
``xarray.DataArray`` with a ``draw`` dim) and return a float for one run, an array otherwise.
:class:`carbon_bayes.Estimate`, :mod:`carbon_bayes.budget` and the plots use them; they depend
on numpy and xarray only, so anything may import them.

Units: those of the draws (t CO2e for ``co2_t``).
"""

from __future__ import annotations

import sys

import numpy as np

from carbon_bayes.errors import InputError

__all__ = ["carbon_at_risk", "check_budget", "check_risk", "expected_shortfall", "prob_exceeds"]


def _values(draws) -> np.ndarray:
    """Draws as a float array with the draws on the last axis (xarray: the ``draw`` dim)."""
    xr = sys.modules.get("xarray")  # not imported: draws cannot be a DataArray (a one-run CLI call does without it)
    if xr is not None and isinstance(draws, xr.DataArray):
        if "draw" in draws.dims:
            draws = draws.transpose(..., "draw")
        return np.asarray(draws.values, dtype=float)
    arr = np.asarray(draws, dtype=float)
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise InputError("draws", f"shape {arr.shape}", "give at least one draw (draws on the last axis)")
    return arr


#: The largest budget accepted, t CO2e (the world emits about 5e10 t a year).
MAX_BUDGET_T = 1e12


def check_budget(budget_t, field: str = "budget_t") -> float:
    """Check a budget: return it as a finite positive float, or raise :class:`InputError` naming ``field``."""
    if isinstance(budget_t, (bool, np.bool_)):
        raise InputError(field, budget_t, "give the budget as a number of tonnes CO2e, e.g. 100")
    try:
        b = float(budget_t)
    except (TypeError, ValueError):
        raise InputError(field, budget_t, "give the budget as a number of tonnes CO2e, e.g. 100") from None
    if not np.isfinite(b) or b <= 0:
        raise InputError(field, budget_t, "the budget must be a positive number of tonnes CO2e, e.g. 100")
    if b > MAX_BUDGET_T:
        raise InputError(field, budget_t, f"is more than {MAX_BUDGET_T:.0e} t CO2e, over twenty years of the world's "
                         "emissions; give the budget in tonnes")
    return b


def check_risk(max_risk, field: str = "max_risk") -> float:
    """Check an acceptable probability of exceeding the budget, strictly between 0 and 1."""
    try:
        r = float(max_risk)
    except (TypeError, ValueError):
        raise InputError(field, max_risk, "give a probability between 0 and 1, e.g. 0.05") from None
    if not 0 < r < 1:
        fix = ("give a fraction, e.g. 0.05 for 5%" if 1 < r <= 100 else
               "give a probability strictly between 0 and 1, e.g. 0.05 for 5% (1 would accept any run, 0 none)")
        raise InputError(field, max_risk, fix)
    return r


def prob_exceeds(draws, budget_t: float):
    """Probability that the quantity exceeds a budget: the fraction of draws above it.

    Parameters
    ----------
    draws
        Predictive draws, draws on the last axis (an ``xarray.DataArray`` with a ``draw`` dim
        is transposed accordingly); e.g. ``Estimate.draws["co2_t"]`` of shape (run, draw).
    budget_t
        Budget in the unit of the draws (t CO2e for ``co2_t``), > 0.

    Returns
    -------
    float or numpy.ndarray
        ``P(X > budget)`` per leading index (a float for 1-D draws).
    """
    b = check_budget(budget_t)
    v = _values(draws)  # NaN pads runs with fewer draws than their batch (Estimate.draws)
    p = np.nanmean(np.where(np.isnan(v), np.nan, v > b), axis=-1)
    return float(p) if np.ndim(p) == 0 else p


def carbon_at_risk(draws, q: float = 0.95):
    """Carbon-at-risk: the ``q``-quantile of the draws (the budget that is exceeded with probability ``1 - q``).

    Parameters
    ----------
    draws
        Predictive draws, draws on the last axis.
    q
        Quantile level in (0, 1); 0.95 means "exceeded with 5% probability".

    Returns
    -------
    float or numpy.ndarray
        The quantile (linear interpolation, as ``numpy.quantile``) per leading index.
    """
    try:
        if isinstance(q, (bool, np.bool_)):
            raise TypeError
        qf = float(q)
    except (TypeError, ValueError):
        raise InputError("q", q, "give a quantile level between 0 and 1, e.g. 0.95") from None
    if not 0 <= qf <= 1:
        raise InputError("q", q, "give a quantile level between 0 and 1, e.g. 0.95" +
                         (" (a fraction, not a percentage)" if 1 < qf <= 100 else ""))
    v = np.nanquantile(_values(draws), qf, axis=-1)
    return float(v) if np.ndim(v) == 0 else v


def expected_shortfall(draws, budget_t: float):
    """Compute the expected overshoot of a budget, ``E[max(X - budget, 0)]``, in the unit of the draws.

    Parameters
    ----------
    draws
        Predictive draws, draws on the last axis.
    budget_t
        Budget (> 0).

    Returns
    -------
    float or numpy.ndarray
        Mean overshoot per leading index; 0 when no draw exceeds the budget.
    """
    b = check_budget(budget_t)
    v = np.nanmean(np.maximum(_values(draws) - b, 0.0), axis=-1)
    return float(v) if np.ndim(v) == 0 else v
