"""PUE priors by operator and year (``priors/pue_by_provider.csv``); PUE is dimensionless."""

from __future__ import annotations

import functools

import numpy as np

from ..errors import InputError
from ._common import _as_year, _did_you_mean, _norm, _number, _read_records, _year

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


@functools.lru_cache(maxsize=1)
def _pue_table() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    by_provider: dict[str, list[tuple[int, float, float]]] = {}
    for r in _read_records("pue_by_provider.csv"):
        by_provider.setdefault(str(r["provider"]), []).append(
            (_year(r["year"], "pue_by_provider.csv"), _number(r["pue_centre"], "pue_by_provider.csv", "pue_centre"),
             _number(r["pue_log_sd"], "pue_by_provider.csv", "pue_log_sd")))
    out = {}
    for provider in sorted(by_provider):
        rows = sorted(by_provider[provider], key=lambda row: row[0])
        out[provider] = (np.array([r[0] for r in rows], dtype=int), np.array([r[1] for r in rows], dtype=float),
                         np.array([r[2] for r in rows], dtype=float))
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
