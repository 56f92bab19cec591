"""Tell pandas objects apart without importing pandas.

Importing pandas takes most of a one-run CLI call's cold start, and no DataFrame, Series or
``pd.NA`` can exist before pandas is imported: so these checks look in ``sys.modules`` and
answer False while it is not there.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TypeGuard

if TYPE_CHECKING:
    import pandas as pd


def _pandas():
    return sys.modules.get("pandas")


def is_frame(x: object) -> TypeGuard[pd.DataFrame]:
    """Whether ``x`` is a pandas DataFrame."""
    pd = _pandas()
    return pd is not None and isinstance(x, pd.DataFrame)


def is_series(x: object) -> TypeGuard[pd.Series]:
    """Whether ``x`` is a pandas Series."""
    pd = _pandas()
    return pd is not None and isinstance(x, pd.Series)


def is_pandas_missing(x: object) -> bool:
    """Whether ``x`` is ``pd.NA`` or ``pd.NaT`` (pandas' missing-value singletons)."""
    pd = _pandas()
    return pd is not None and (x is pd.NA or x is pd.NaT)


def is_missing(x: object) -> bool:
    """Whether a cell is missing: None, a float NaN, ``pd.NA`` or ``pd.NaT`` (the one test the readers share)."""
    return x is None or (isinstance(x, float) and x != x) or is_pandas_missing(x)
