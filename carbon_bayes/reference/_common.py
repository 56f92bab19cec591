"""Helpers shared by the reference lookups: name normalisation, "did you mean" text, CSV reading (no pandas)."""

from __future__ import annotations

import csv
import difflib
import functools
import math
import re
import unicodedata

from ..errors import DataError, InputError
from ..resources import priors_path

_HW_VENDOR_WORDS = re.compile(r"\b(nvidia|tesla|geforce|amd|instinct|google|cloud)\b")


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _norm(text: str) -> str:
    """Lower-case and keep letters and digits only (accents folded)."""
    return re.sub(r"[^a-z0-9]", "", _ascii(str(text)).lower())


def _norm_hw(text: str) -> str:
    """Normalise a hardware name: drop vendor words, spaces, dashes, underscores, parentheses."""
    s = _ascii(str(text)).lower().replace("(", " ").replace(")", " ")
    s = _HW_VENDOR_WORDS.sub(" ", s)
    return re.sub(r"[^a-z0-9]", "", s)


def _split_list(cell: object) -> list[str]:
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return []
    return [p.strip() for p in str(cell).split(";") if p.strip()]


def _quote_list(items: list[str]) -> str:
    quoted = [f"'{x}'" for x in items]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _did_you_mean(key: str, index: dict[str, str], n: int = 3, label=None) -> str:
    """'did you mean ...?' text from difflib matches of ``key`` among ``index`` keys."""
    if not key:
        return ""
    matches = difflib.get_close_matches(key, list(index), n=25, cutoff=0.5)
    # also catch prefixes ("a100" -> "a100sxm480gb") that difflib ranks low
    matches += sorted(k for k in index if k.startswith(key) and k not in matches)
    seen: list[str] = []
    for m in matches:
        target = index[m]
        if target not in seen:
            seen.append(target)
        if len(seen) == n:
            break
    if not seen:
        return ""
    shown = [label(t) if label else t for t in seen]
    return f"; did you mean {_quote_list(shown)}?"


@functools.cache
def _read_records(name: str) -> tuple[dict[str, str | None], ...]:
    """Rows of ``priors/<name>`` as dicts of text, empty cells None (read once; do not modify them).

    Read with the csv module, not pandas: a one-run estimate needs no pandas (its import is most
    of a cold start). Numbers are converted by each table's loader (:func:`_number`).
    """
    path = priors_path(name)
    if not path.is_file():
        raise DataError(f"reference file {path} is missing; reinstall carbon_bayes")
    with open(path, newline="", encoding="utf-8-sig") as f:  # a byte-order mark is not a column name
        return tuple({k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(f))


def _number(cell: str | None, name: str, column: str) -> float:
    """Read a numeric cell of ``priors/<name>`` as a float (NaN when empty); DataError when it is not a number."""
    if cell is None:
        return math.nan
    try:
        return float(cell)
    except ValueError:
        raise DataError(f"{name}: column {column} has {cell!r}, not a number; reinstall carbon_bayes") from None


def _year(cell: str | None, name: str) -> int:
    """Read the ``year`` cell of ``priors/<name>`` as an int ("2012" or "2012.0"); DataError if empty or not a year."""
    v = _number(cell, name, "year")
    if not float(v).is_integer():
        raise DataError(f"{name}: column year has {cell!r}, not a whole year; reinstall carbon_bayes")
    return int(v)


def _kahan_sum(values) -> float:
    """Compensated sum in order, as pandas' groupby ``sum`` adds (so tables read without pandas add alike)."""
    total = comp = 0.0
    for v in values:
        y = v - comp
        t = total + y
        comp = t - total - y
        total = t
    return total


def _as_year(year: object, field: str = "year") -> int:
    try:
        y = float(year)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(field, year, "give the year as a number, e.g. 2023") from None
    if not math.isfinite(y):
        raise InputError(field, year, "give the year as a finite number, e.g. 2023")
    return int(round(y))
