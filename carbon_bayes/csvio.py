"""Strict CSV reading: every row must have as many fields as the header.

pandas silently shifts values when a data row has more fields than the header (the extra
leading fields become an index); carbon_bayes refuses such files and names the line.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from carbon_bayes.errors import InputError


def read_csv_strict(path: str | Path, field: str = "input") -> pd.DataFrame:
    """Read a CSV as strings ("" for empty cells) after checking its shape.

    Raises
    ------
    InputError
        Naming ``field``, the path, the line and the fix, for a missing, empty, ragged or
        undecodable file.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(field, str(path), "file not found; check the path")
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh, strict=True))
    except UnicodeDecodeError:
        raise InputError(field, str(path), "not a readable CSV (not UTF-8 text); save it as comma-separated "
                                           "UTF-8") from None
    except csv.Error as e:
        raise InputError(field, str(path), f"not a readable CSV ({e}); save it as comma-separated UTF-8") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise InputError(field, str(path), "the file is empty; give a header row and at least one row")
    header = [h.strip() for h in rows[0]]
    if len(rows) == 1:
        raise InputError(field, str(path), "no rows under the header; give at least one row")
    for i, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            raise InputError(field, str(path), f"line {i} has {len(r)} fields but the header has {len(header)}; "
                             "check for unquoted commas or a missing/extra column")
    dup = {h for h in header if header.count(h) > 1}
    if dup:
        raise InputError(field, str(path), f"duplicate column name(s) {sorted(dup)} in the header")
    return pd.DataFrame([[c.strip() for c in r] for r in rows[1:]], columns=header, dtype=object)
