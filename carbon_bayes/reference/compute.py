"""Compute and size priors by task and year.

Regressions fitted to Epoch AI's notable models (``priors/compute_prior.csv``).
"""

from __future__ import annotations

import functools
import math

from ..errors import DataError
from ._common import _as_year, _number, _read_records

_NUMERIC = ("intercept", "coef_log10_params", "coef_log10_tokens", "coef_year", "sd_resid")


@functools.lru_cache(maxsize=256)
def _regression_row(task: str | None, predictors: str, target: str) -> dict:
    """Return the regression's row for the task (else the ``all`` fit) as a dict (cached: read per prediction).

    The coefficients are floats (NaN for a predictor the regression does not use).
    """
    t = [r for r in _read_records("compute_prior.csv") if r["predictors"] == predictors and r["target"] == target]
    key = (task or "all").strip().lower().replace(" ", "_").replace("-", "_")
    rows = [r for r in t if r["task"] == key] or [r for r in t if r["task"] == "all"]
    if not rows:
        raise DataError(f"compute_prior.csv has no 'all' row for {target} ~ {predictors}")
    return {k: (_number(v, "compute_prior.csv", k) if k in _NUMERIC else v) for k, v in rows[0].items()}


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
