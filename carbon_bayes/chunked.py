"""Estimates of catalogues too large to hold: runs read, estimated and written block by block.

A run's numbers depend only on its inputs, the posterior and the seed (its random numbers are
hashes of them, :mod:`carbon_bayes.streams`), so estimating a catalogue block by block gives
exactly the numbers of one :func:`~carbon_bayes.estimator.estimate` call on all of it, with
memory bounded by the block. Runs without a ``run_id`` get ``run-<row>`` numbered over the whole
catalogue, and a ``run_id`` given twice is refused wherever the two rows are, as in one call.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from carbon_bayes.constants import CI_LEVEL
from carbon_bayes.errors import InputError
from carbon_bayes.runblocks import CHUNK_ROWS, Progress, RunIds, blocks_of, count_runs, shifted, with_run_ids


def iter_estimates(runs, chunk_size: int = CHUNK_ROWS, ci_level: float = CI_LEVEL, posterior=None, *,
                   n_draws: int | None = None, seed: int | None = None, keep_draws: bool = False,
                   progress: bool = False):
    """Yield an :class:`~carbon_bayes.estimator.Estimate` per block of at most ``chunk_size`` runs.

    The numbers are those of one :func:`~carbon_bayes.estimator.estimate` call on every run;
    draws are kept only with ``keep_draws=True``. ``runs`` is anything :func:`blocks_of` takes.
    ``progress`` writes the runs done so far on stderr, of how many when that is known
    (:class:`~carbon_bayes.runblocks.Progress`).
    """
    from carbon_bayes.estimator import check_ci_level, estimate, noise_seed
    from carbon_bayes.predict import get_predictor

    check_ci_level(ci_level)
    noise_seed(seed)
    pred = get_predictor(posterior)  # loaded once for every block
    ids, offset = RunIds(), 0
    with Progress(count_runs(runs) if progress else None, progress) as line:
        for block in blocks_of(runs, chunk_size):
            try:
                est = estimate(with_run_ids(block, offset), ci_level, pred, n_draws=n_draws, seed=seed,
                               keep_draws=keep_draws)
            except InputError as e:
                raise shifted(e, offset) from None
            ids.add(est.summary["run_id"].tolist(), offset)
            offset += len(block)
            line.add(len(block))
            yield est


def estimate_chunks(runs, chunk_size: int = CHUNK_ROWS, ci_level: float = CI_LEVEL, posterior=None, *,
                    n_draws: int | None = None, seed: int | None = None, mcse: bool = False,
                    progress: bool = False) -> Iterator[pd.DataFrame]:
    """Yield the output contract (``Estimate.to_frame()``) of ``runs`` block by block.

    Memory is bounded by a block of ``chunk_size`` runs; concatenated, the frames equal
    ``estimate(all runs).to_frame(mcse)``. ``runs`` is a CSV or Parquet path, a DataFrame, a
    dict, a list of dicts or an iterable of DataFrames.

    Examples
    --------
    >>> import carbon_bayes as cb
    >>> for frame in cb.estimate_chunks("runs.parquet", chunk_size=50_000):  # doctest: +SKIP
    ...     frame.to_parquet(...)
    """
    for est in iter_estimates(runs, chunk_size, ci_level, posterior, n_draws=n_draws, seed=seed,
                              progress=progress):
        yield est.to_frame(mcse=mcse)



def estimate_block(block: pd.DataFrame, offset: int, ci_level: float = CI_LEVEL, posterior=None, *,
                   n_draws: int | None = None, seed: int | None = None, mcse: bool = False) -> pd.DataFrame:
    """Return the output contract of one block of runs that starts at row ``offset`` of its catalogue."""
    from carbon_bayes.estimator import estimate

    try:
        est = estimate(with_run_ids(block, offset), ci_level, posterior, n_draws=n_draws, seed=seed,
                       keep_draws=False)
    except InputError as e:
        raise shifted(e, offset) from None
    return est.to_frame(mcse=mcse)
