"""Strict CSV reading: every row must have as many fields as the header.

pandas silently shifts values when a data row has more fields than the header (the extra
leading fields become an index); carbon_bayes refuses such files and names the line.
:func:`iter_csv_strict` reads a file in blocks of rows with the same checks, so that memory
is bounded by the block.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
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
    blocks = list(iter_csv_strict(path, field))
    return blocks[0] if len(blocks) == 1 else pd.concat(blocks, ignore_index=True)


def iter_csv_strict(path: str | Path, field: str = "input", chunk_rows: int | None = None) -> Iterator[pd.DataFrame]:
    """Yield a CSV as DataFrames of strings of at most ``chunk_rows`` rows (default: one block).

    The checks of :func:`read_csv_strict` apply to every line; a bad line raises when its block
    is read, naming the line.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(field, str(path), "file not found; check the path")
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            rows = (r for r in csv.reader(fh, strict=True) if any(c.strip() for c in r))
            header = [h.strip() for h in next(rows, [])]
            if not header:
                raise InputError(field, str(path), "the file is empty; give a header row and at least one row")
            dup = {h for h in header if header.count(h) > 1}
            if dup:
                raise InputError(field, str(path), f"duplicate column name(s) {sorted(dup)} in the header")
            yield from _blocks(rows, header, p, field, chunk_rows)
    except UnicodeDecodeError:
        raise InputError(field, str(path), "not a readable CSV (not UTF-8 text); save it as comma-separated "
                                           "UTF-8") from None
    except csv.Error as e:
        raise InputError(field, str(path), f"not a readable CSV ({e}); save it as comma-separated UTF-8") from None


def _blocks(rows: Iterator[list[str]], header: list[str], path: Path, field: str,
            chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    """Group checked data rows into DataFrames of strings."""
    block: list[list[str]] = []
    line = 1  # counts non-blank lines, as the error messages always have
    for r in rows:
        line += 1
        if len(r) != len(header):
            raise InputError(field, str(path), f"line {line} has {len(r)} fields but the header has {len(header)}; "
                             "check for unquoted commas or a missing/extra column")
        block.append([c.strip() for c in r])
        if chunk_rows is not None and len(block) >= chunk_rows:
            yield pd.DataFrame(block, columns=header, dtype=object)
            block = []
    if line == 1:
        raise InputError(field, str(path), "no rows under the header; give at least one row")
    if block:
        yield pd.DataFrame(block, columns=header, dtype=object)
