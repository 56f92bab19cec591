"""Catalogues on dask: the predictor mapped over the partitions of a dask DataFrame, or blocks on a cluster.

:func:`estimate_dask` is what :func:`~carbon_bayes.estimator.estimate` does with a dask
DataFrame or an xarray Dataset: it returns a lazy dask DataFrame of the output contract, one
partition per input partition, computed on whatever scheduler is active (threads, processes, or
a ``dask.distributed`` cluster). :func:`estimate_on_cluster` sends the blocks of a CSV or
Parquet file to a ``dask.distributed`` scheduler and yields their results in order, a few
blocks in flight at a time. A run's numbers are those of one in-process call on every run.
Needs the ``dask`` extra (``pip install 'carbon_bayes[dask]'``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from carbon_bayes.errors import InputError
from carbon_bayes.runblocks import (
    CHUNK_ROWS,
    Progress,
    RunIds,
    check_chunk_rows,
    count_runs,
    read_runs,
    shifted,
    with_run_ids,
)

#: Blocks sent to the cluster ahead of the one being written, per worker.
IN_FLIGHT_PER_WORKER = 2


def _need(module: str, what: str):
    from importlib import import_module

    try:
        return import_module(module)
    except ImportError:
        raise InputError(what, module, "install the dask extra: pip install 'carbon_bayes[dask]'") from None


def output_meta(columns: Sequence[str]) -> pd.DataFrame:
    """Return an empty frame of the output contract's ``columns`` with their dtypes (dask's ``meta``)."""
    kinds = {"run_id": object, "tier": object, "warnings": object, "n_draws": np.int64}
    return pd.DataFrame({c: pd.Series(dtype=kinds.get(c, np.float64)) for c in columns})


def _as_dask_frame(runs):
    """Return ``runs`` as a dask DataFrame (it is one, or an xarray Dataset with one dimension)."""
    dd = _need("dask.dataframe", "runs")
    if type(runs).__module__.split(".")[0] != "xarray":
        return runs
    if len(runs.dims) != 1:
        raise InputError("runs", f"Dataset with dims {dict(runs.sizes)}", "give a Dataset with one dimension (a run "
                                                                         "per position), e.g. ds.stack(run=[...])")
    dim = next(iter(runs.dims))
    frame = runs.to_dask_dataframe() if runs.chunks else dd.from_pandas(runs.to_dataframe().reset_index(),
                                                                        chunksize=CHUNK_ROWS)
    return frame.drop(columns=[dim]) if dim in frame.columns and dim != "run_id" else frame


def estimate_dask(runs, estimate: Callable[[pd.DataFrame], pd.DataFrame], columns: Sequence[str]):
    """Map ``estimate`` (a frame of runs -> its output contract) over the partitions of ``runs``.

    ``runs`` is a dask DataFrame or an xarray Dataset (dask-backed or not) with one dimension.
    Returns a lazy dask DataFrame of the output ``columns`` (``.compute()`` it, or write it with
    ``.to_parquet``). :func:`~carbon_bayes.estimator.estimate` calls this with itself, so that a
    run's numbers are those of one in-process call on every run. The partitions' lengths are
    counted first, so that runs without a run_id are numbered ``run-<row>`` over the whole frame;
    run_ids are checked for duplicates within a partition.
    """
    frame = _as_dask_frame(runs)
    offsets = np.concatenate([[0], np.cumsum(frame.map_partitions(len).compute())])[:-1].tolist()

    def run(block: pd.DataFrame, partition_info=None) -> pd.DataFrame:
        offset = offsets[partition_info["number"] if partition_info else 0]
        try:
            return estimate(with_run_ids(block, offset))
        except InputError as e:
            raise shifted(e, offset) from None

    return frame.map_partitions(run, meta=output_meta(columns), enforce_metadata=False)


def estimate_on_cluster(path, scheduler: str, estimate_block: Callable[..., pd.DataFrame],
                        chunk_size: int = CHUNK_ROWS, progress: bool = False, **options) -> Iterator[pd.DataFrame]:
    """Yield the output contract of the runs in ``path``, estimated block by block on ``scheduler``.

    ``estimate_block(block, offset, **options)`` (:func:`carbon_bayes.chunked.estimate_block`)
    runs on the workers. Blocks are read here (memory bounded by the blocks in flight, a few per
    worker) and their results are yielded in the file's order; a run_id repeated in a later
    block is refused, and ``progress`` writes the line of the local path (both:
    :mod:`carbon_bayes.runblocks`).
    """
    distributed = _need("distributed", "--scheduler")
    chunk_size = check_chunk_rows(chunk_size)
    try:
        client = distributed.Client(scheduler, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise InputError("--scheduler", scheduler, f"no dask scheduler answers there ({type(e).__name__}); start "
                                                   "one with `dask scheduler` or check the address") from None
    with client:
        window = IN_FLIGHT_PER_WORKER * max(1, len(client.scheduler_info()["workers"]))
        pending: deque = deque()  # (future, offset of its block), in the file's order
        ids, offset = RunIds(), 0
        with Progress(count_runs(path) if progress else None, progress) as line:
            for block in read_runs(path, chunk_size):
                pending.append((client.submit(estimate_block, block, offset, pure=False, **options), offset))
                offset += len(block)
                yield from _ready(pending, window - 1, ids, line)
            yield from _ready(pending, 0, ids, line)


def _ready(pending: deque, keep: int, ids: RunIds, line: Progress) -> Iterator[pd.DataFrame]:
    """Yield the oldest results until at most ``keep`` blocks are in flight, their run_ids checked and counted."""
    while len(pending) > keep:
        future, offset = pending.popleft()
        frame = future.result()
        ids.add(frame["run_id"].tolist(), offset)
        line.add(len(frame))
        yield frame
