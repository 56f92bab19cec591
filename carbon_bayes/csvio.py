"""Strict CSV reading: every row must have as many fields as the header.

pandas silently shifts values when a data row has more fields than the header (the extra
leading fields become an index); carbon_bayes refuses such files and names the line.

The dialect is sniffed from the header, never assumed: a file with ``;`` (or tabs) between
its columns, as spreadsheets in much of Europe save CSV, is read with that delimiter, and
its decimal commas (``1234,5``, ``1.234,5``) become decimal points; a file whose header
could be either is refused with a message (:func:`sniff_dialect`, from the first
:data:`SNIFF_BYTES` of the file). :func:`iter_csv_strict` reads a file in blocks of rows with
the same checks, so that memory is bounded by the block.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from carbon_bayes.contract import TEXT_COLUMNS
from carbon_bayes.errors import InputError

#: How much of a file the dialect is told from (the header and the rows that fit).
SNIFF_BYTES = 1 << 16
_SEP_LINE = re.compile(r'^"?sep=(.)"?$', re.IGNORECASE)
_DECIMAL_COMMA = re.compile(r"^[-+]?(\d{1,3}(\.\d{3})+|\d+),\d+([eE][-+]?\d+)?$")


@dataclass(frozen=True)
class Dialect:
    """How a CSV file separates columns and writes decimals."""

    delimiter: str = ","
    decimal_comma: bool = False
    sep_line: bool = False  # the file starts with Excel's "sep=;" line (not a row: the header follows it)

    def describe(self) -> str:
        """Say how the file was read, e.g. "';' between columns, decimal commas"."""
        name = {",": "','", ";": "';'", "\t": "tabs"}[self.delimiter]
        return (f"{name} between columns" + (", decimal commas" if self.decimal_comma else "")
                + (" (Excel's sep= line)" if self.sep_line else ""))


def _count_outside_quotes(line: str, ch: str) -> int:
    n, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == ch and not quoted:
            n += 1
    return n


def sniff_dialect(text: str, field: str = "input", path: str | Path = "") -> Dialect:
    """Tell the delimiter (``,``, ``;`` or tab) from the header and whether numbers use a decimal comma.

    Raises
    ------
    InputError
        When the header has as many commas as semicolons (or tabs): the file could be either.
    """
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return Dialect()
    sep = _SEP_LINE.match(lines[0].strip())
    if sep:  # Excel's "sep=;" names the delimiter; the header is the next line
        if sep.group(1) not in (",", ";", "\t"):
            raise InputError(field, str(path), f"the first line {lines[0].strip()!r} names the delimiter "
                             f"{sep.group(1)!r}; save the file with ',' or ';' between columns")
        cells = [c.strip() for row in csv.reader(lines[2:], delimiter=sep.group(1)) for c in row]
        return Dialect(sep.group(1), sep.group(1) != "," and any(_DECIMAL_COMMA.match(c) for c in cells), True)
    counts = {d: _count_outside_quotes(lines[0], d) for d in (",", ";", "\t")}
    best = max(counts.values())
    if best == 0:
        return Dialect()
    tied = [d for d, c in counts.items() if c == best]
    if len(tied) > 1:
        shown = " and ".join({",": "commas", ";": "semicolons", "\t": "tabs"}[d] for d in tied)
        raise InputError(field, str(path), f"cannot tell the delimiter: the header has as many {shown}; save the "
                         "file as comma-separated CSV (one header row, ',' between columns, '.' for decimals)")
    delimiter = tied[0]
    if delimiter == ",":
        return Dialect()
    cells = [c.strip() for row in csv.reader(lines[1:], delimiter=delimiter) for c in row]
    return Dialect(delimiter, any(_DECIMAL_COMMA.match(c) for c in cells))


def decimal_point(cell: str) -> str:
    """``"1.234,5"`` -> ``"1234.5"`` for a cell that is a number with a decimal comma; other cells unchanged."""
    if not _DECIMAL_COMMA.match(cell):
        return cell
    return cell.replace(".", "").replace(",", ".")


#: The first bytes of files people give for a CSV that are not text, and what each is.
_MAGIC = {b"\x1f\x8b": "gzip-compressed: decompress it first, e.g. gunzip", b"PK\x03\x04": "a zip or Excel workbook",
          b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16",
          b"PAR1": "a Parquet file, which `carbon-bayes estimate --input` reads when it is named .parquet"}


def not_text_kind(path: str | Path) -> str:
    """``": gzip-compressed ..."`` when the file's first bytes say what it is instead of text, else ``""``."""
    try:
        with open(path, "rb") as fh:
            start = fh.read(4)
    except OSError:
        return ""
    return next((f": {what}" for magic, what in _MAGIC.items() if start.startswith(magic)), "")


def cell_fixes(header: list[str], dialect: Dialect, text_columns: frozenset[str] = TEXT_COLUMNS) -> list:
    """Per column, what reading a cell does: decimal commas made points, except in text columns."""
    return [str if not dialect.decimal_comma or h in text_columns else decimal_point for h in header]


def read_csv_strict(path: str | Path, field: str = "input") -> pd.DataFrame:
    """Read a CSV as strings ("" for empty cells) after checking its shape.

    Raises
    ------
    InputError
        Naming ``field``, the path, the line and the fix, for a missing, empty, ragged or
        undecodable file.
    """
    blocks = list(iter_csv_strict(path, field))
    df = blocks[0] if len(blocks) == 1 else pd.concat(blocks, ignore_index=True)
    df.attrs["dialect"] = blocks[0].attrs["dialect"]
    return df


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
            head = fh.read(SNIFF_BYTES)
            if "\x00" in head:
                raise InputError(field, str(path), "the file has NUL bytes, so it is not a text CSV (a binary file, or "
                                 "UTF-16 text?); save it as comma-separated UTF-8")
            dialect = sniff_dialect(head, field, path)
            fh.seek(0)
            if fh.read(1) != "\ufeff":  # utf-8-sig skips a byte-order mark only at the first read
                fh.seek(0)
            rows = (r for r in csv.reader(fh, strict=True, delimiter=dialect.delimiter) if any(c.strip() for c in r))
            if dialect.sep_line:
                next(rows, None)
            header = [h.strip() for h in next(rows, [])]
            if not header:
                raise InputError(field, str(path), "the file is empty; give a header row and at least one row")
            dup = {h for h in header if header.count(h) > 1}
            if dup:
                raise InputError(field, str(path), f"duplicate column name(s) {sorted(dup)} in the header")
            yield from _blocks(rows, header, p, field, chunk_rows, dialect)
    except UnicodeDecodeError:
        raise InputError(field, str(path), f"not a readable CSV (not UTF-8 text{not_text_kind(p)}); save it as "
                                           "comma-separated UTF-8") from None
    except csv.Error as e:
        raise InputError(field, str(path), f"not a readable CSV ({e}); save it as comma-separated UTF-8") from None


def _blocks(rows: Iterator[list[str]], header: list[str], path: Path, field: str,
            chunk_rows: int | None, dialect: Dialect) -> Iterator[pd.DataFrame]:
    """Group checked data rows into DataFrames of strings (decimal commas made points); each says its dialect."""
    fixes = cell_fixes(header, dialect)
    block: list[list[str]] = []
    line = 1  # rows as every error counts them: header = row 1, blank lines not counted
    for r in rows:
        line += 1
        if len(r) != len(header):
            raise InputError(field, str(path), f"this row has {len(r)} fields but the header has {len(header)}; "
                             "check for unquoted commas or a missing/extra column", row=line)
        block.append([fix(c.strip()) for fix, c in zip(fixes, r, strict=True)])
        if chunk_rows is not None and len(block) >= chunk_rows:
            yield _frame(block, header, dialect)
            block = []
    if line == 1:
        raise InputError(field, str(path), "no rows under the header; give at least one row")
    if block:
        yield _frame(block, header, dialect)


def _frame(block: list[list[str]], header: list[str], dialect: Dialect) -> pd.DataFrame:
    df = pd.DataFrame(block, columns=header, dtype=object)
    df.attrs["dialect"] = dialect.describe()
    return df
