"""The user's runs as raw cells, before the input contract's checks (:mod:`carbon_bayes.schema`).

A DataFrame, a list of dicts or a dict of columns becomes a pandas DataFrame; one run of plain
values (a dict, or a list of one) becomes :class:`_Cells`, one-element arrays typed as pandas
types a one-row DataFrame, so a single run is checked without building one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from carbon_bayes.errors import InputError, row_number
from carbon_bayes.frames import is_series

if TYPE_CHECKING:
    import pandas as pd


def _ndim(value) -> int:
    try:
        return int(np.ndim(value))
    except ValueError:  # a ragged nested list: a column whose cells differ in length
        return 1


def _to_frame(runs) -> pd.DataFrame:
    import pandas as pd

    if isinstance(runs, pd.DataFrame):
        df = runs.copy()
        if df.index.name == "run_id" and "run_id" not in df.columns:  # run ids kept as the index: keep them
            df = df.reset_index()
    elif isinstance(runs, pd.Series):
        df = runs.to_frame().T
    elif isinstance(runs, Mapping):
        if all(_ndim(v) == 0 for v in runs.values()):
            df = pd.DataFrame([dict(runs)])
        else:
            lengths = {str(k): len(v) for k, v in runs.items() if _ndim(v) > 0}
            if len(set(lengths.values())) > 1:
                shown = ", ".join(f"{k} {n}" for k, n in lengths.items())
                raise InputError("runs", f"columns of lengths {shown}", "a dict of columns needs the same length "
                                 "in each (one value per run), or pass a list of dicts, one per run")
            indexes = [v.index for v in runs.values() if isinstance(v, pd.Series)]
            if any(not ix.equals(indexes[0]) for ix in indexes[1:]):  # pandas would align them into NaN rows
                raise InputError("runs", "Series with different indexes", "give the columns as lists or arrays, or "
                                 "Series with one index, so that each run's values stay together")
            try:
                df = pd.DataFrame(dict(runs))
            except (ValueError, TypeError) as e:  # e.g. a dict value beside lists
                raise InputError("runs", "a dict of columns", f"cannot be made a table ({e}); give one value per "
                                 "field for one run, or lists of one value per run for several") from None
    elif isinstance(runs, Sequence) and not isinstance(runs, (str, bytes)) and all(
        isinstance(r, Mapping) for r in runs
    ):
        df = pd.DataFrame(list(runs))
    else:
        raise InputError("runs", type(runs).__name__,
                         "pass a pandas DataFrame, a dict describing one run, or a list of such dicts")
    if len(df) == 0:
        raise InputError("runs", "empty", "give at least one run")
    df.columns = [str(c).strip() for c in df.columns]
    twice = df.columns[df.columns.duplicated()]
    if len(twice):
        raise InputError("column", twice[0], "is given twice (names are compared without surrounding spaces); "
                         "keep one of the two")
    return df.reset_index(drop=True)


class _Cells:
    """One run's raw cells as one-element arrays, typed as pandas would type a one-row DataFrame.

    The checks below read it as they read a DataFrame (``columns``, ``[name]``, ``len``,
    ``rename``), so a single run skips building one.
    """

    def __init__(self, data: dict[str, np.ndarray]):
        self._data = data

    @property
    def columns(self) -> list[str]:
        return list(self._data)

    def __len__(self) -> int:
        return 1

    def __getitem__(self, name: str) -> np.ndarray:
        return self._data[name]

    def rename(self, columns: Mapping[str, str]) -> _Cells:
        return _Cells({columns.get(k, k): v for k, v in self._data.items()})


#: What the checks read: a DataFrame or one run's cells.
type Table = pd.DataFrame | _Cells


#: Python types a one-run fast path types exactly as pandas does (anything else goes through pandas).
_PLAIN = {int: np.int64, float: np.float64, str: object, type(None): object}


def _one_run(runs) -> _Cells | None:
    """Return ``runs`` as :class:`_Cells` if it is one run (a dict, or a list of one) of plain values, else None."""
    if isinstance(runs, Sequence) and not isinstance(runs, (str, bytes)) and len(runs) == 1:
        runs = runs[0]
    if not isinstance(runs, dict):
        return None
    data: dict[str, np.ndarray] = {}
    for k, v in runs.items():
        kind = _PLAIN.get(type(v))
        name = str(k).strip()
        if kind is None or name in data or (kind is np.int64 and not -2 ** 63 <= v < 2 ** 63):
            return None  # pandas' own typing (bools, numpy scalars, huge ints, names equal once stripped)
        cell = np.empty(1, dtype=kind)
        cell[0] = v
        data[name] = cell
    return _Cells(data)


def _column(df: Table, name: str, dtype) -> np.ndarray:
    """Column ``name`` of a DataFrame or :class:`_Cells` as a numpy array of ``dtype``."""
    col = df[name]
    return col.to_numpy(dtype=dtype) if is_series(col) else np.asarray(col, dtype=dtype)


def _row_label(df: Table, i: int) -> str:
    rid = _column(df, "run_id", object)[i] if "run_id" in df.columns else None
    n = row_number(i)
    return f"{n}, run_id {rid!r}" if isinstance(rid, str) and rid else str(n)
