"""Catalogues in blocks of runs: CSV and Parquet read and written a block at a time, runs numbered over the whole.

The helpers of :mod:`carbon_bayes.chunked` (block by block in-process) and
:mod:`carbon_bayes.catalogue` (dask partitions and clusters); they do not estimate anything.
Both stream a catalogue's estimates through :class:`RunIds` (a run_id repeated in a later block
is refused) and :class:`Progress` (the progress line on stderr).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from carbon_bayes.contract import COLUMN_ALIASES
from carbon_bayes.errors import InputError, row_number

#: Runs estimated at a time by default: about 100 MB of working memory per block.
CHUNK_ROWS = 10_000
#: File types :func:`read_runs` and :func:`write_frames` know, by suffix.
SUFFIXES = (".csv", ".parquet")
#: Names a run_id column may have (the contract's and its aliases).
_ID_COLUMNS = ("run_id", *[a for a, c in COLUMN_ALIASES.items() if c == "run_id"])


def check_chunk_rows(chunk_rows) -> int:
    """Return ``chunk_rows`` as an int; raise :class:`InputError` unless it is a whole number >= 1."""
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)) or chunk_rows < 1:
        raise InputError("chunk_size", chunk_rows, f"give a whole number of runs >= 1 (default {CHUNK_ROWS:,})")
    return int(chunk_rows)


def file_kind(path: str | Path, field: str) -> str:
    """Return ``"csv"`` or ``"parquet"`` from the suffix of ``path``; refuse any other suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(field, str(path), f"give a file ending in {' or '.join(SUFFIXES)}")
    return suffix[1:]


def read_runs(path: str | Path, chunk_rows: int = CHUNK_ROWS, field: str = "input") -> Iterator[pd.DataFrame]:
    """Yield the runs of a CSV or Parquet file in blocks of at most ``chunk_rows`` rows.

    CSV cells are read as strings (empty cells as None) with the strict checks of
    :func:`carbon_bayes.csvio.read_csv_strict`; Parquet columns keep their types.
    """
    chunk_rows = check_chunk_rows(chunk_rows)
    if Path(path).is_dir():
        raise InputError(field, str(path), "is a directory; give the CSV or Parquet file of runs")
    if file_kind(path, field) == "csv":
        from carbon_bayes.csvio import iter_csv_strict

        for block in iter_csv_strict(path, field, chunk_rows):
            yield block.replace({"": None})
        return
    yield from _read_parquet(path, chunk_rows, field)


def _read_parquet(path: str | Path, chunk_rows: int, field: str) -> Iterator[pd.DataFrame]:
    pq = _pyarrow_parquet(field)
    if not Path(path).is_file():
        raise InputError(field, str(path), "file not found; check the path")
    try:
        f = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises several types for files that are not Parquet
        raise InputError(field, str(path), f"not a readable Parquet file ({type(e).__name__}: {e})") from None
    if f.metadata.num_rows == 0:
        raise InputError(field, str(path), "no rows; give at least one run")
    with f:
        for batch in f.iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()


def _pyarrow_parquet(field: str):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(field, "parquet", "Parquet needs pyarrow: pip install 'carbon_bayes[dask]' (or pyarrow), "
                                           "or give a CSV") from None
    return pq


def blocks_of(runs, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Yield ``runs`` in blocks of at most ``chunk_rows`` rows.

    ``runs`` is a CSV or Parquet path, a DataFrame, a dict (one run), a list of dicts, or an
    iterable of DataFrames (each yielded as it is).
    """
    chunk_rows = check_chunk_rows(chunk_rows)
    if isinstance(runs, (str, Path)):
        yield from read_runs(runs, chunk_rows)
    elif isinstance(runs, Mapping):
        yield pd.DataFrame([dict(runs)]) if all(np.ndim(v) == 0 for v in runs.values()) else pd.DataFrame(runs)
    elif isinstance(runs, pd.DataFrame):
        for k in range(0, max(len(runs), 1), chunk_rows):
            yield runs.iloc[k:k + chunk_rows]
    elif isinstance(runs, list) and all(isinstance(r, Mapping) for r in runs):
        for k in range(0, max(len(runs), 1), chunk_rows):
            yield pd.DataFrame(runs[k:k + chunk_rows])
    elif isinstance(runs, Iterable):
        for block in runs:
            if not isinstance(block, pd.DataFrame):
                raise InputError("runs", type(block).__name__, "an iterable of runs must yield pandas DataFrames")
            yield block
    else:
        raise InputError("runs", type(runs).__name__, "pass a path, a DataFrame, a dict, a list of dicts or an "
                                                      "iterable of DataFrames")


def with_run_ids(block: pd.DataFrame, offset: int) -> pd.DataFrame:
    """Return ``block`` with absent run_ids filled as ``run-<offset + row>`` (as one call would number them).

    Text columns of pandas' string or Arrow dtypes (as dask and Parquet give them) become plain
    objects with None for a missing cell, as a CSV or a list of dicts gives them.
    """
    text = [c for c in block.columns if block[c].dtype.kind not in "fiub" and block[c].dtype != object]
    if text:
        block = block.astype({c: object for c in text})
        for c in text:
            block[c] = block[c].where(block[c].notna(), None)
    col = next((c for c in _ID_COLUMNS if c in block.columns), "run_id")
    n = len(block)
    ids = block[col].to_numpy(dtype=object) if col in block.columns else np.full(n, None, dtype=object)
    empty = np.array([v is None or (isinstance(v, float) and np.isnan(v)) or not str(v).strip() for v in ids],
                     dtype=bool)
    if col in block.columns and not empty.any():
        return block
    out = block.copy()
    out[col] = np.where(empty, [f"run-{offset + i}" for i in range(n)], ids)
    return out


def shifted(e: InputError, offset: int) -> InputError:
    """Return ``e`` with its row position counted over the whole catalogue, not the block."""
    if offset == 0 or e.row is None:
        return e
    row = e.row + offset if isinstance(e.row, (int, np.integer)) else re.sub(
        r"^\d+", lambda m: str(int(m.group()) + offset), str(e.row))
    return InputError(e.field, e.value, e.fix, row=row)


def write_frames(frames: Iterable[pd.DataFrame], path: str | Path, field: str = "--output") -> int:
    """Write frames of equal columns to one CSV or Parquet file, atomically; return the rows written.

    Each frame is written as it comes, so memory is bounded by a frame; the file appears (by
    rename) only once every frame is written, and nothing is left behind on an error. In a CSV
    file, text a spreadsheet would run as a formula is prefixed by ``'``
    (:func:`~carbon_bayes.safeio.escape_formulas`); Parquet keeps every value as it is.
    """
    from carbon_bayes.posterior import atomic_write
    from carbon_bayes.safeio import escape_formulas

    kind = file_kind(path, field)
    pq = _pyarrow_parquet(field) if kind == "parquet" else None
    rows = 0

    def write(tmp: str) -> None:
        nonlocal rows
        writer = None
        try:
            for k, frame in enumerate(frames):
                if pq is None:
                    escape_formulas(frame).to_csv(tmp, index=False, mode="w" if k == 0 else "a", header=k == 0)
                else:
                    import pyarrow as pa

                    table = pa.Table.from_pandas(frame, preserve_index=False,
                                                 schema=None if writer is None else writer.schema)
                    writer = writer or pq.ParquetWriter(tmp, table.schema)
                    writer.write_table(table)
                rows += len(frame)
        finally:
            if writer is not None:
                writer.close()

    atomic_write(path, write)
    return rows


def count_runs(runs) -> int | None:
    """Return the number of runs in ``runs`` (anything :func:`blocks_of` takes) if it is known cheaply, else None.

    A Parquet file's count is in its metadata; a CSV file's, or an iterable of frames', is not
    known before it is read. A file that cannot be read gives None (reading it names the problem).
    """
    if isinstance(runs, (str, Path)):
        if Path(runs).suffix.lower() != ".parquet" or not Path(runs).is_file():
            return None
        try:
            import pyarrow.parquet as pq

            return int(pq.read_metadata(runs).num_rows)
        except Exception:  # no pyarrow, or not a Parquet file: read_runs says which
            return None
    if isinstance(runs, Mapping):
        return 1 if all(np.ndim(v) == 0 for v in runs.values()) else len(pd.DataFrame(runs))
    if isinstance(runs, pd.DataFrame) or (isinstance(runs, list) and all(isinstance(r, Mapping) for r in runs)):
        return len(runs)
    if isinstance(runs, (list, tuple)) and all(isinstance(r, pd.DataFrame) for r in runs):
        return sum(len(r) for r in runs)
    return None  # an iterator of frames: not known before it is read


class RunIds:
    """The run_ids of a catalogue's blocks so far: one given again in a later block is refused.

    A block's own duplicates are refused when it is estimated; this refuses one repeated across
    blocks, with the row of its second occurrence counted over the whole catalogue.
    """

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def add(self, ids: Sequence[str], offset: int) -> None:
        """Record the run_ids of the block starting at row ``offset``; raise :class:`InputError` on one seen before."""
        again = next((i for i, rid in enumerate(ids) if rid in self._seen), None)
        if again is not None:
            raise InputError("run_id", ids[again], "run_id must be unique; rename or drop the duplicate row",
                             row=row_number(offset + again))
        self._seen.update(ids)


class Progress:
    """The progress line of a streamed catalogue on stderr: ``estimated N of T runs (P%)``.

    With ``total=None`` (not known before reading, e.g. a CSV file) the line is ``estimated N
    runs``. Each :meth:`add` rewrites the line (after a carriage return); the line is ended on
    leaving the ``with`` block, also on an error, so that the error is on a line of its own. With
    ``on=False`` nothing is written.
    """

    def __init__(self, total: int | None, on: bool = True) -> None:
        self.total, self.on, self.done = total, on, 0

    def line(self) -> str:
        """Return the text of the progress line for the runs done so far."""
        if not self.total:
            return f"estimated {self.done:,} runs"
        return f"estimated {self.done:,} of {self.total:,} runs ({100 * self.done // self.total}%)"

    def add(self, runs: int) -> None:
        """Count ``runs`` more runs done and rewrite the line."""
        self.done += runs
        if self.on:
            print(f"\r{self.line()}", end="", file=sys.stderr, flush=True)

    def __enter__(self) -> Progress:
        """Return the line."""
        return self

    def __exit__(self, *exc) -> None:
        """End the line, if anything was written."""
        if self.on and self.done:
            print(file=sys.stderr, flush=True)
