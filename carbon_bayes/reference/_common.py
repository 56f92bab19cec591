"""Helpers shared by the reference lookups: name normalisation, "did you mean" text, CSV reading."""

from __future__ import annotations

import difflib
import math
import re
import unicodedata

import pandas as pd

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


def _read_csv(name: str, **kwargs) -> pd.DataFrame:
    path = priors_path(name)
    if not path.is_file():
        raise DataError(f"reference file {path} is missing; reinstall carbon_bayes")
    return pd.read_csv(path, keep_default_na=False, na_values=[""], **kwargs)


def _as_year(year: object, field: str = "year") -> int:
    try:
        y = float(year)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(field, year, "give the year as a number, e.g. 2023") from None
    if not math.isfinite(y):
        raise InputError(field, year, "give the year as a finite number, e.g. 2023")
    return int(round(y))
