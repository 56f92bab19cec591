"""Plain-text tables from columns of numpy arrays.

The one-run CLI prints its table without pandas (importing it is most of a cold start), so the
table every command prints for a person is built here, from a DataFrame's columns or from the
arrays an estimate holds alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from carbon_bayes.frames import is_frame


def as_columns(table) -> dict[str, np.ndarray]:
    """Return a DataFrame or a mapping of columns as ``{name: numpy array}`` (a DataFrame's columns in order)."""
    if is_frame(table):
        return {str(c): table[c].to_numpy() for c in table.columns}
    return {str(c): np.asarray(v) for c, v in table.items()}


def _cell(value: object, float_format: Callable[[float], str]) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "NaN" if math.isnan(value) else float_format(float(value))
    return str(value).translate(_ESCAPES)


#: Control characters a cell shows escaped (as pandas' ``to_string`` does for the first three), so that text
#: cannot break a table's rows or send terminal codes.
_ESCAPES = {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", 0x1B: "\\x1b"}  # ESC: no terminal codes


def format_table(columns: Mapping[str, Sequence], names: Sequence[str] | None = None,
                 float_format: Callable[[float], str] = lambda x: f"{x:.4g}") -> str:
    """``columns`` (or those in ``names``) as a right-aligned text table, header first, two spaces apart.

    Numbers go through ``float_format`` (default four significant digits); a missing number
    prints as ``NaN`` and a missing text (None) as nothing.
    """
    names = list(columns) if names is None else list(names)
    cells = [[name, *(_cell(v, float_format) for v in columns[name])] for name in names]
    widths = [max(len(c) for c in col) for col in cells]
    rows = zip(*cells, strict=True) if cells else iter(())
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows)


def percent(fraction: float) -> str:
    """Format a fraction as a percentage to four significant digits ("90%", "99.9%", "95.5%"), as reports do."""
    return f"{float(fraction) * 100:.4g}%"
