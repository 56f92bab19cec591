"""The result of :func:`carbon_bayes.estimate`: :class:`Estimate`, its columns and its kept draws.

The summary and the normalised inputs are held as numpy arrays and become DataFrames on first
access; the draws become an xarray Dataset on first access of ``.draws`` (``.quantile``,
``.prob_exceeds`` and the risk measures read the arrays directly).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from carbon_bayes import risk, schema
from carbon_bayes._compat import deprecated_attribute
from carbon_bayes.errors import InputError
from carbon_bayes.frames import is_frame

if TYPE_CHECKING:  # pandas and xarray are imported where a DataFrame or a Dataset is built (one-run CLI: neither)
    import pandas as pd
    import xarray as xr

    from carbon_bayes.predict import Simulation

QUANTITIES = ("energy_mwh", "co2_t")
STATS = ("mean", "median", "lower", "upper")
OUTPUT_COLUMNS = ("run_id", *[f"{q}_{s}" for q in QUANTITIES for s in STATS], "tier", "warnings")
UNITS = {"energy_mwh": "MWh", "co2_t": "t CO2e"}
LONG_NAMES = {"energy_mwh": "training energy", "co2_t": "training emissions"}
MCSE_COLUMNS = ("n_draws", "energy_mwh_median_mcse", "co2_t_median_mcse")


@dataclass
class _Kept:
    """The kept draws of a batch (runs x draws for each quantity)."""

    energy_mwh: np.ndarray
    co2_t: np.ndarray


class _KeptDraws:
    """Kept draws of an estimate's batches, as (run, draw) arrays and a Dataset when first read.

    ``results`` are the estimator's batch results ``(row positions, summary, draws, rows of the
    draws' columns)``; runs with fewer draws than the most are padded with NaN.
    """

    def __init__(self, results: list, n: int, max_s: int, ci: float, run_ids: np.ndarray):
        self._results, self.n, self.max_s, self.ci, self.run_ids = results, n, max_s, ci, run_ids
        self._arrays: dict[str, np.ndarray] = {}

    def values(self, quantity: str) -> np.ndarray:
        """Return the (run, draw) float32 array of ``quantity`` (built once)."""
        if quantity not in self._arrays:
            out = np.full((self.n, self.max_s), np.nan, dtype=np.float32)
            for rows, _, sim, sim_rows in self._results:
                if len(rows):
                    a = getattr(sim, quantity)[:, np.searchsorted(sim_rows, rows)].T
                    out[rows, :a.shape[1]] = a
            self._arrays[quantity] = out
            if len(self._arrays) == len(QUANTITIES):
                self._results = []  # every quantity is in the arrays: the batches' draws can go
        return self._arrays[quantity]

    def dataset(self) -> xr.Dataset:
        """Build the draws as a Dataset: ``energy_mwh`` and ``co2_t`` with dims (run, draw)."""
        import xarray as xr

        data = {q: xr.DataArray(self.values(q), dims=("run", "draw"), attrs={"units": UNITS[q],
                                                                            "long_name": LONG_NAMES[q]})
                for q in QUANTITIES}
        return xr.Dataset(data, coords={"run": self.run_ids, "draw": np.arange(self.max_s)}, attrs={"ci": self.ci})


def check_levels(q, field: str = "q") -> np.ndarray:
    """Return quantile levels ``q`` (a number or a flat list of them) as a float array, each in [0, 1].

    Raises
    ------
    InputError
        For booleans, None, text, nested lists, NaN or a level outside [0, 1].
    """
    fix = "give a quantile level or a list of them, fractions between 0 and 1 (e.g. 0.95 or [0.05, 0.95])"
    flat = q if isinstance(q, (list, tuple, np.ndarray)) else [q]
    if any(v is None or isinstance(v, (bool, np.bool_, str, bytes, list, tuple, dict)) for v in flat):
        raise InputError(field, q, fix)
    try:
        qs = np.atleast_1d(np.asarray(q, dtype=float))
    except (TypeError, ValueError):
        raise InputError(field, q, fix) from None
    if qs.ndim != 1 or not len(qs) or np.any(np.isnan(qs) | (qs < 0) | (qs > 1)):
        raise InputError(field, q, fix)
    return qs


class Estimate:
    """Credible estimates of energy and CO2e for a batch of runs.

    Attributes
    ----------
    summary
        The output contract and the medians' Monte Carlo errors (one row per run).
    ci_level
        Credible-interval level of the summary columns (``ci`` is a deprecated alias).
    inputs
        The normalised inputs (one row per run).
    simulation
        Every node of the chain, for a single run whose draws are kept (else None).

    The summary and the inputs are built as DataFrames, and the draws as an xarray Dataset, on
    first access: a one-run call that only reads :meth:`to_frame` builds one DataFrame.
    """

    def __init__(self, summary: pd.DataFrame | Mapping[str, np.ndarray], ci_level: float,
                 inputs: pd.DataFrame | Mapping[str, np.ndarray], _draws: xr.Dataset | _KeptDraws | None = None,
                 simulation: Simulation | None = None):
        self._summary = summary
        self.ci_level = ci_level
        self._inputs = inputs
        self._kept = _draws
        self.simulation = simulation

    ci = deprecated_attribute("ci", "ci_level")

    def __repr__(self) -> str:
        return f"Estimate(runs={len(self._summary['run_id'])}, ci_level={self.ci_level!r})"

    @property
    def summary(self) -> pd.DataFrame:
        """The summary columns as a DataFrame (built once)."""
        if not is_frame(self._summary):
            import pandas as pd

            self._summary = pd.DataFrame(self._summary)
        return self._summary

    @property
    def inputs(self) -> pd.DataFrame:
        """The normalised inputs as a DataFrame (built once)."""
        if not is_frame(self._inputs):
            self._inputs = schema.columns_frame(self._inputs)
        return self._inputs

    def to_frame(self, mcse: bool = False) -> pd.DataFrame:
        """Return the output contract as a DataFrame (a copy).

        With ``mcse=True`` it also has ``n_draws`` and the relative Monte Carlo standard errors of
        the medians (``energy_mwh_median_mcse``, ``co2_t_median_mcse``: 0.01 is 1% of the median).
        """
        import pandas as pd

        cols = [*OUTPUT_COLUMNS, *MCSE_COLUMNS] if mcse else list(OUTPUT_COLUMNS)
        if is_frame(self._summary):
            return self._summary.loc[:, cols].copy()
        return pd.DataFrame(self.to_columns(mcse))

    def to_columns(self, mcse: bool = False) -> dict[str, np.ndarray]:
        """Return the output contract as ``{column: numpy array}`` (copies), the columns of :meth:`to_frame`.

        It needs no pandas: the one-run CLI prints its table from it.
        """
        cols = [*OUTPUT_COLUMNS, *MCSE_COLUMNS] if mcse else list(OUTPUT_COLUMNS)
        if is_frame(self._summary):
            return {c: self._summary[c].to_numpy(copy=True) for c in cols}
        return {c: np.array(self._summary[c], copy=True) for c in cols}

    @property
    def draws_kept(self) -> bool:
        """Whether the draws were kept (``.draws``, ``.quantile`` and ``.prob_exceeds`` work)."""
        return self._kept is not None

    @property
    def _draws(self) -> xr.Dataset | None:
        if isinstance(self._kept, _KeptDraws):
            self._kept = self._kept.dataset()
        return self._kept

    @property
    def draws(self) -> xr.Dataset:
        """Predictive draws: ``energy_mwh`` and ``co2_t`` with dims (run, draw)."""
        if self._kept is None:
            raise RuntimeError("draws were not kept for this estimate (keep_draws=False, or more runs x draws than "
                               "are kept by default); call estimate(..., keep_draws=True), on fewer runs if they "
                               "are many")
        return self._draws  # type: ignore[return-value]  # kept: not None

    def _values(self, quantity: str) -> np.ndarray:
        """Draws of ``quantity`` as (run, draw), NaN-padded (without building the Dataset)."""
        if isinstance(self._kept, _KeptDraws):
            return self._kept.values(quantity)
        return self._da(quantity).values

    def _da(self, quantity: str) -> xr.DataArray:
        if quantity not in QUANTITIES:
            raise InputError("quantity", quantity, f"use one of {', '.join(QUANTITIES)}")
        return self.draws[quantity]

    def _checked_values(self, quantity: str) -> np.ndarray:
        if quantity not in QUANTITIES:
            raise InputError("quantity", quantity, f"use one of {', '.join(QUANTITIES)}")
        if self._kept is None:
            self.draws  # noqa: B018  (raises: not kept)
        return self._values(quantity)

    def quantile(self, q, quantity: str = "co2_t") -> pd.DataFrame:
        """Quantiles ``q`` (a number or list in [0, 1]) of ``quantity`` per run (rows: run_id).

        The columns name the quantity and the level (``co2_t_q0.05``, ``energy_mwh_q0.5``).
        """
        import pandas as pd

        qs = check_levels(q)
        vals = np.nanquantile(self._checked_values(quantity), qs, axis=1).T  # NaN pads runs with fewer draws
        return pd.DataFrame(vals, index=pd.Index(self.summary["run_id"], name="run_id"),
                            columns=pd.Index([f"{quantity}_q{x:g}" for x in qs], name=quantity))

    def prob_exceeds(self, co2_t: float | None = None, energy_mwh: float | None = None) -> pd.Series:
        """P(quantity > threshold) per run; give exactly one of ``co2_t`` or ``energy_mwh``."""
        import pandas as pd

        if (co2_t is None) == (energy_mwh is None):
            raise InputError("prob_exceeds", {"co2_t": co2_t, "energy_mwh": energy_mwh},
                             "give exactly one threshold, e.g. prob_exceeds(co2_t=100)")
        quantity, thr = ("co2_t", co2_t) if co2_t is not None else ("energy_mwh", energy_mwh)
        fix = "give a budget >= 0 in " + ("t CO2e" if quantity == "co2_t" else "MWh")
        if isinstance(thr, (bool, np.bool_)):
            raise InputError(quantity, thr, fix)
        try:
            thr = float(thr)
        except (TypeError, ValueError):
            raise InputError(quantity, thr, fix) from None
        if not np.isfinite(thr) or thr < 0:
            raise InputError(quantity, thr, fix)
        v = self._checked_values(quantity)  # NaN pads runs with fewer draws than the batch's most
        p = np.nanmean(np.where(np.isnan(v), np.nan, v > thr), axis=1)
        return pd.Series(p, index=pd.Index(self.summary["run_id"], name="run_id"), name=f"P({quantity} > {thr:g})")

    def carbon_at_risk(self, q: float = 0.95, quantity: str = "co2_t") -> pd.Series:
        """Carbon-at-risk per run: the ``q``-quantile of ``quantity`` (exceeded with probability ``1 - q``).

        Parameters
        ----------
        q
            Quantile level in [0, 1] (default 0.95).
        quantity
            ``co2_t`` (default) or ``energy_mwh``.

        Returns
        -------
        pandas.Series
            Indexed by run_id.
        """
        import pandas as pd

        v = risk.carbon_at_risk(self._checked_values(quantity), q)
        return pd.Series(np.atleast_1d(v), index=pd.Index(self.summary["run_id"], name="run_id"),
                         name=f"{quantity} at risk (q={float(q):g})")

    def expected_shortfall(self, budget_t: float) -> pd.Series:
        """Compute the expected overshoot of a CO2e budget per run, ``E[max(CO2 - budget_t, 0)]`` (t CO2e).

        Parameters
        ----------
        budget_t
            Budget in tonnes CO2e (> 0).

        Returns
        -------
        pandas.Series
            Indexed by run_id; 0 where no draw exceeds the budget.
        """
        import pandas as pd

        v = risk.expected_shortfall(self._checked_values("co2_t"), budget_t)
        return pd.Series(np.atleast_1d(v), index=pd.Index(self.summary["run_id"], name="run_id"),
                         name=f"expected shortfall over {float(budget_t):g} t")
