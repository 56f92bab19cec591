"""``estimate()``: credible intervals for runs, from whatever the user knows.

The output contract (``Estimate.to_frame()``): one row per input run with ``run_id``;
``energy_mwh_mean/median/lower/upper``; ``co2_t_mean/median/lower/upper`` (equal-tailed
interval at the requested level, default 0.9); ``tier`` (T1 hours known, T2 compute known,
T3 metadata only) and ``warnings``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from carbon_bayes import design, schema, streams
from carbon_bayes._compat import renamed_kwargs
from carbon_bayes.constants import CHUNK_ELEMENTS, CI_LEVEL, MCSE_TARGET, N_DRAWS, N_DRAWS_BY_TIER, N_DRAWS_MAX, SEED
from carbon_bayes.errors import InputError
from carbon_bayes.frames import is_frame
from carbon_bayes.predict import Predictor, Simulation, get_predictor
from carbon_bayes.result import (  # noqa: F401  (re-exported: estimator.Estimate, estimator.OUTPUT_COLUMNS, ...)
    LONG_NAMES,
    MCSE_COLUMNS,
    OUTPUT_COLUMNS,
    QUANTITIES,
    STATS,
    UNITS,
    Estimate,
    _Kept,
    _KeptDraws,
)
from carbon_bayes.streams import Streams

#: Estimates keep their draws by default when runs x draws is at most this many values (one chunk).
KEEP_DRAWS_LIMIT = 2_000_000


def check_ci_level(ci_level) -> float:
    """Check a credible-interval level and return it as a float strictly between 0 and 1."""
    try:
        level = float(ci_level)
    except (TypeError, ValueError):
        raise InputError("ci_level", ci_level,
                         "give the interval level as a fraction between 0 and 1, e.g. 0.9") from None
    if not 0 < level < 1:
        fix = "give a fraction, e.g. 0.9 for 90%" if 1 < level <= 100 else "give a level strictly between 0 and 1"
        raise InputError("ci_level", ci_level, fix)
    return level


def check_ci(ci) -> float:
    """Check an interval level (deprecated name of :func:`check_ci_level`)."""
    import warnings

    warnings.warn("check_ci() is deprecated, use check_ci_level() (same check)", DeprecationWarning, stacklevel=2)
    return check_ci_level(ci)


def quantiles(draws: np.ndarray, qs) -> np.ndarray:
    """Compute quantiles of draws (axis 0) by linear interpolation, as ``np.quantile(method="linear")``.

    One partial sort of contiguous rows: about twice as fast as ``np.quantile`` on large batches.
    """
    return _row_quantiles(np.ascontiguousarray(draws.T), qs)


def _row_quantiles(x: np.ndarray, qs) -> np.ndarray:
    """Quantiles of each row of the C-contiguous ``x`` (runs x draws), as rows of (quantile, run)."""
    return _row_quantile_sets(x, [qs])[0]


def _row_quantile_sets(x: np.ndarray, sets) -> list[np.ndarray]:
    """:func:`_row_quantiles` for several lists of levels, from one partial sort of ``x``.

    A partial sort puts every requested order statistic in place whichever others are requested
    with it, so each set's quantiles are those it would get alone.
    """
    n = x.shape[1]
    hs = [(n - 1) * np.asarray(qs, dtype=float) for qs in sets]
    los = [np.floor(h).astype(int) for h in hs]
    his = [np.minimum(lo + 1, n - 1) for lo in los]
    part = np.partition(x, np.unique(np.concatenate([*los, *his])), axis=1)
    return [(part[:, lo] + (h - lo) * (part[:, hi] - part[:, lo])).T for h, lo, hi in zip(hs, los, his, strict=True)]


@renamed_kwargs(ci="ci_level")
def summarise(draws: np.ndarray, ci_level: float) -> dict[str, np.ndarray]:
    """mean, median and equal-tailed interval of draws (axis 0)."""
    x = np.ascontiguousarray(draws.T)  # each run's draws in a row: its mean is summed alike in any batch
    q = _row_quantiles(x, [(1 - ci_level) / 2, 0.5, (1 + ci_level) / 2])
    return {"mean": x.mean(axis=1, dtype=np.float64), "median": q[1], "lower": q[0], "upper": q[2]}


#: Input columns a run's random numbers are keyed by: every contract column but the labels.
KEY_COLUMNS = tuple(c for c in schema.COLUMN_NAMES if c not in ("run_id", "model_name"))


#: Normalised runs: the DataFrame of :func:`~carbon_bayes.schema.normalise_runs`, or its columns as arrays.
Runs = design.Runs


def _n_runs(inputs: Runs) -> int:
    return len(inputs["tier"])


def _rows(inputs: Runs, rows: np.ndarray) -> Runs:
    """Return the normalised runs at row positions ``rows``."""
    if is_frame(inputs):
        return inputs.iloc[rows]  # type: ignore[union-attr]
    return {c: v[rows] for c, v in inputs.items()}


def draws_per_run(inputs: Runs, n_draws: int | None = None) -> np.ndarray:
    """Predictive draws of each run: ``n_draws`` if given, else by tier (:data:`N_DRAWS_BY_TIER`)."""
    if n_draws is not None:
        return np.full(_n_runs(inputs), check_n_draws(n_draws), dtype=int)
    tiers = np.asarray(inputs["tier"])
    out = np.full(len(tiers), max(N_DRAWS_BY_TIER.values()), dtype=int)
    for tier, s in N_DRAWS_BY_TIER.items():
        out[tiers == tier] = s
    return out


@renamed_kwargs(model="posterior")
def common_draws(inputs: Runs, n_draws: int | None = None, posterior=None, seed: int | None = None) -> int:
    """One draw count for runs that are summed or compared draw by draw.

    It is the most any of them needs (:func:`draws_needed`; distinct rows only).
    """
    keys = noise_for(inputs, 1, seed).keys
    _, first = np.unique(keys, return_index=True)
    return int(draws_needed(_rows(inputs, np.sort(first)), posterior, n_draws=n_draws, seed=seed).max(
        initial=N_DRAWS if n_draws is None else check_n_draws(n_draws)))


def check_n_draws(n_draws) -> int:
    """Return ``n_draws`` as an int; raise :class:`InputError` unless it is a whole number in [100, N_DRAWS_MAX]."""
    if (isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 100
            or n_draws > N_DRAWS_MAX):
        raise InputError("n_draws", n_draws, f"give a whole number of draws >= 100 and <= {N_DRAWS_MAX:,} (the most "
                         "the default draw policy uses; default: by tier, "
                         f"{', '.join(f'{k} {v:,}' for k, v in N_DRAWS_BY_TIER.items())}, more until the "
                         "median is steady)")
    return int(n_draws)


def noise_for(inputs: Runs, n_draws: int, seed: int | None = None, replicate=None) -> Streams:
    """Return the random numbers of ``inputs`` (normalised runs).

    They are keyed by each run's inputs and the seed, and by ``replicate`` (one number per run,
    e.g. a trial) where replicates must not share noise.
    """
    keys = streams.row_keys(inputs, KEY_COLUMNS)
    if replicate is not None:
        keys = streams.replicate_keys(keys, replicate)
    return Streams(keys, n_draws, noise_seed(seed))


def plan(inputs: Runs, n_draws=None, chunk_size: int | None = None, only: np.ndarray | None = None):
    """Batches of (row positions, draws): rows of equal draw count, at most ``chunk_size`` rows each.

    ``chunk_size`` defaults to about :data:`CHUNK_ELEMENTS` / draws. Numbers do not depend on the plan.

    ``n_draws`` is None (by tier), one count, or one count per row; ``only`` restricts the rows.
    """
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer))
                                   or chunk_size < 1):
        raise InputError("chunk_size", chunk_size, "give a whole number of runs >= 1, or leave it unset")
    per_run = np.asarray(n_draws) if np.ndim(n_draws) == 1 else draws_per_run(inputs, n_draws)
    rows_all = np.arange(_n_runs(inputs)) if only is None else np.asarray(only)
    out = []
    for s in np.unique(per_run[rows_all]):
        rows = rows_all[per_run[rows_all] == s]
        size = chunk_size or max(64, CHUNK_ELEMENTS // int(s))
        out += [(rows[k:k + size], int(s)) for k in range(0, len(rows), size)]
    return out


def median_mcse(draws: np.ndarray) -> np.ndarray:
    """Relative Monte Carlo standard error of the median of draws (axis 0).

    From the order statistics one binomial sd either side of it: (Q(1/2 + d) - Q(1/2 - d)) /
    (2 median), d = sqrt(1/(4n)).
    """
    return _mcse_from(quantiles(draws, _mcse_levels(draws.shape[0])))


def _mcse_levels(n_draws: int) -> list[float]:
    d = 0.5 / np.sqrt(n_draws)
    return [0.5 - d, 0.5, 0.5 + d]


def _mcse_from(q: np.ndarray) -> np.ndarray:
    lo, med, hi = q
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(med > 0, (hi - lo) / (2 * med), 0.0)


def _summary_and_mcse(draws: np.ndarray, ci_level: float) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """:func:`summarise` and :func:`median_mcse` of draws (axis 0), from one copy and one partial sort."""
    x = np.ascontiguousarray(draws.T)  # each run's draws in a row: its mean is summed alike in any batch
    q, m = _row_quantile_sets(x, [[(1 - ci_level) / 2, 0.5, (1 + ci_level) / 2], _mcse_levels(draws.shape[0])])
    return {"mean": x.mean(axis=1, dtype=np.float64), "median": q[1], "lower": q[0], "upper": q[2]}, _mcse_from(m)


@renamed_kwargs(ci="ci_level", model="posterior")
def estimate(runs, ci_level: float = CI_LEVEL, posterior=None, *, n_draws: int | None = None, seed: int | None = None,
             keep_draws: bool | None = None, chunk_size: int | None = None) -> Estimate:
    """Estimate energy (MWh) and CO2e (t) with credible intervals, without MCMC.

    A run's numbers depend only on its inputs, the posterior and the seed: the same alone, in any
    batch, at any position and for any ``chunk_size``.

    Parameters
    ----------
    runs
        One run (dict), several (list of dicts) or a DataFrame, in the input contract
        (``carbon_bayes.schema.COLUMNS``); every column is optional. A dask DataFrame or an
        xarray Dataset gives a lazy dask DataFrame of the output contract instead, the runs
        estimated partition by partition (:func:`carbon_bayes.catalogue.estimate_dask`); a file too
        large to hold goes through
        :func:`carbon_bayes.chunked.estimate_chunks`.
    ci_level
        Credible-interval level, default 0.9 (equal-tailed). ``ci=`` is a deprecated alias.
    posterior
        Path of a posterior file (default: the posterior shipped with the package), a loaded
        :class:`~carbon_bayes.posterior.Posterior`, or a :class:`~carbon_bayes.predict.Predictor`.
        ``model=`` is a deprecated alias.
    n_draws
        Predictive draws per run (default by tier: :data:`~carbon_bayes.constants.N_DRAWS_BY_TIER`,
        so that the median's Monte Carlo error is small; a run over its tier's target says so).
    seed
        Random seed (default fixed, so the same input gives the same output).
    keep_draws
        Keep the draws for ``.draws``, ``.quantile`` and ``.prob_exceeds`` (default: when
        runs x draws <= :data:`KEEP_DRAWS_LIMIT`; memory is otherwise bounded by one chunk).
    chunk_size
        Runs simulated at a time (default: about 2e6 / draws).

    Examples
    --------
    >>> import carbon_bayes as cb
    >>> est = cb.estimate({"parameters": 7e9, "training_tokens": 2e12, "hardware": "A100-80GB",
    ...                    "device_hours": 184320, "country": "US", "year": 2023})
    >>> est.to_frame()[["co2_t_median", "co2_t_lower", "co2_t_upper"]]  # doctest: +SKIP
    """
    ci = check_ci_level(ci_level)
    noise_seed(seed)  # a bad seed (or keep_draws) fails before any work
    _check_keep_draws(keep_draws)
    if type(runs).__module__.split(".")[0] in ("dask", "xarray"):  # this function mapped over its partitions
        from functools import partial

        from carbon_bayes.catalogue import estimate_dask

        one = partial(estimate, ci_level=ci, posterior=posterior, n_draws=n_draws, seed=seed, keep_draws=False)
        return estimate_dask(runs, lambda block: one(block).to_frame(), OUTPUT_COLUMNS)
    inputs = schema.normalise_columns(runs)
    n = _n_runs(inputs)
    pred: Predictor = get_predictor(posterior)
    keys = noise_for(inputs, 1, seed).keys
    per_run = draws_per_run(inputs, n_draws)
    default_keep = keep_draws is None
    if default_keep:  # decided before simulating, so memory stays bounded by a chunk otherwise
        keep_draws = n * int(per_run.max(initial=1)) <= KEEP_DRAWS_LIMIT
    features = pred.features(inputs)  # once, for every pass below
    results = _simulate(pred, inputs, keys, per_run, seed, ci, chunk_size, keep_draws, features=features)
    # More draws for the runs whose median is not yet steady, until it is or they reach N_DRAWS_MAX
    # (each run's own inputs decide, so this does not couple runs).
    while n_draws is None:
        more = _more_draws_after(results, per_run, inputs)
        redo = np.flatnonzero(more > per_run)
        if not len(redo):
            break
        results = [_drop(r, redo) for r in results]
        per_run = more
        if default_keep and keep_draws and n * int(per_run.max(initial=1)) > KEEP_DRAWS_LIMIT:
            keep_draws = False  # more draws than can be kept by default
            results = [(pos, part, None, sim_rows) for pos, part, _, sim_rows in results]
        results += _simulate(pred, inputs, keys, more, seed, ci, chunk_size, keep_draws, redo, features)
    order = np.argsort(np.concatenate([r[0] for r in results]))
    summary = {c: np.concatenate([r[1][c] for r in results])[order] for c in results[0][1]}
    draws = (_KeptDraws(results, n, int(per_run.max(initial=1)), ci, summary["run_id"]) if keep_draws
             else None)
    one = keep_draws and n == 1 and len(results[-1][0]) == 1
    return Estimate(summary=summary, ci_level=ci, inputs=inputs, _draws=draws,
                    simulation=results[-1][2] if one else None)


def _check_keep_draws(keep_draws) -> None:
    if keep_draws is not None and not isinstance(keep_draws, (bool, np.bool_)):
        raise InputError("keep_draws", keep_draws, "give True, False, or leave it unset (kept when they fit in memory)")


def _more_draws_after(results, per_run: np.ndarray, inputs: Runs) -> np.ndarray:
    """Return each run's draws for the next pass (its current ones where its median is steady)."""
    mcse = np.zeros(len(per_run))
    for rows, part, _, _ in results:
        mcse[rows] = np.maximum(part["energy_mwh_median_mcse"], part["co2_t_median_mcse"])
    return np.maximum(per_run, more_draws(per_run, mcse, np.asarray(inputs["tier"])))


@renamed_kwargs(model="posterior")
def draws_needed(inputs: Runs, posterior=None, *, n_draws: int | None = None,
                 seed: int | None = None) -> np.ndarray:
    """Return the predictive draws :func:`estimate` gives each of the normalised ``inputs``.

    That is its tier's count, doubled until the median is steady; callers that sum or pair runs
    draw by draw use the most of these, so that a run alone gets exactly its estimate's draws.
    """
    per_run = draws_per_run(inputs, n_draws)
    if n_draws is not None or not _n_runs(inputs):
        return per_run
    keys = noise_for(inputs, 1, seed).keys
    results = _simulate(get_predictor(posterior), inputs, keys, per_run, seed, CI_LEVEL, None, False)
    return _more_draws_after(results, per_run, inputs)


#: Safety factor on the draws the first pass's error estimate asks for (that estimate has a relative
#: error of about 1/sqrt(2 * draws^(1/2)), 10-15% at 1,000-4,000 draws).
MCSE_MARGIN = 1.25


def more_draws(per_run: np.ndarray, mcse: np.ndarray, tiers: np.ndarray) -> np.ndarray:
    """Draws that bring each run's median to its tier's Monte Carlo target.

    A run over its target has its draws doubled (at least once) until ``mcse * sqrt(draws / new)``,
    with a margin, is under it (mcse falls as 1/sqrt(draws)), at most :data:`N_DRAWS_MAX`; a run
    under its target keeps its draws.
    """
    target = np.array([MCSE_TARGET.get(t, max(MCSE_TARGET.values())) for t in tiers])
    # 1.25x the draws the estimated error asks for: the estimate from the first draws is itself noisy
    need = MCSE_MARGIN * per_run * (mcse / target) ** 2
    factor = np.where(mcse > target, 2.0 ** np.ceil(np.log2(np.maximum(need / per_run, 2.0))), 1.0)
    return np.minimum(per_run * factor, np.maximum(N_DRAWS_MAX, per_run)).astype(int)


def _simulate(pred: Predictor, inputs: Runs, keys: np.ndarray, per_run: np.ndarray, seed, ci: float,
              chunk_size, keep: bool, only: np.ndarray | None = None, features: design.RunFeatures | None = None
              ) -> list:
    """Simulate the rows ``only`` (default all), batch by batch.

    ``features`` are the predictor's features of all ``inputs`` when already computed.
    Returns [(row positions, summary, simulation or None, the rows of the simulation's columns)],
    one per batch.
    """
    batches = plan(inputs, per_run, chunk_size, only)

    def run_batch(k: int):
        rows, s = batches[k]
        chunk = _rows(inputs, rows)
        sim = pred.simulate(chunk, Streams(keys[rows], s, noise_seed(seed)),
                            features=None if features is None else features.take(rows))
        part = summarise_batch(chunk, sim, ci)
        # Only the quantities are kept (a single run keeps every node, for .simulation).
        kept = (sim if _n_runs(inputs) == 1 else _Kept(sim.energy_mwh, sim.co2_t)) if keep else None
        return rows, part, kept, rows

    # Batches are independent, so they run on several cores with the same result as one after the
    # other; numpy releases the GIL in the heavy loops.
    workers = min(len(batches), os.cpu_count() or 1, 4) if len(batches) > 1 else 1
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(run_batch, range(len(batches))))
    return [run_batch(k) for k in range(len(batches))]


def _drop(result, rows: np.ndarray):
    """Return a batch result without the given row positions (they are simulated again with more draws)."""
    pos, part, sim, sim_rows = result
    keep = ~np.isin(pos, rows)
    if sim is not None and not keep.all():  # free the dropped rows' draws
        cols = np.searchsorted(sim_rows, pos[keep])
        sim = sim if isinstance(sim, Simulation) and len(pos) == 1 else _Kept(sim.energy_mwh[:, cols],
                                                                              sim.co2_t[:, cols])
        sim_rows = pos[keep]
    return pos[keep], {c: v[keep] for c, v in part.items()}, sim, sim_rows


def noise_seed(seed: int | None) -> int:
    """Return the seed of the random numbers: ``seed``, or :data:`SEED` when None.

    Raises
    ------
    InputError
        Unless ``seed`` is a whole number in [0, 2**63).
    """
    if seed is None:
        return SEED
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2 ** 63:
        raise InputError("seed", seed, "give a whole number >= 0 (or leave it unset for the fixed default)")
    return int(seed)


@renamed_kwargs(ci="ci_level")
def summarise_batch(chunk: Runs, sim: Simulation, ci_level: float) -> dict[str, np.ndarray]:
    """Compute the output contract's columns (and the medians' Monte Carlo errors) for one batch, as arrays."""
    fused = {q: _summary_and_mcse(getattr(sim, q), ci_level) for q in QUANTITIES}
    stats = {f"{q}_{s}": v for q in QUANTITIES for s, v in fused[q][0].items()}
    mcse = {f"{q}_median_mcse": fused[q][1] for q in QUANTITIES}
    # With heavy tails (metadata-only runs) the mean rests on a few extreme draws.
    unstable = (stats["energy_mwh_mean"] > stats["energy_mwh_upper"]) | (stats["co2_t_mean"] > stats["co2_t_upper"])
    for i in np.flatnonzero(unstable):
        sim.notes[i].append("heavy right tail: the mean lies above the upper bound and is unstable; quote the "
                            "median")
    s = sim.energy_mwh.shape[0]
    tiers = np.asarray(chunk["tier"])
    for i in range(len(tiers)):
        worst = max(mcse["energy_mwh_median_mcse"][i], mcse["co2_t_median_mcse"][i])
        target = MCSE_TARGET.get(tiers[i], max(MCSE_TARGET.values()))
        if worst > target:
            sim.notes[i].append(f"Monte Carlo error of the median is {100 * worst:.1f}% with {s:,} draws (target "
                                f"{100 * target:g}%); pass more draws (n_draws / --n-draws) for a steadier figure")
    notes = np.array(["; ".join(([w] if w else []) + sim.notes[i]) for i, w in enumerate(chunk["warnings"])],
                     dtype=object)
    return {"run_id": np.asarray(chunk["run_id"]), **stats, "tier": tiers, "warnings": notes,
            "n_draws": np.full(len(tiers), s), **mcse}
