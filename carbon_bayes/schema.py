"""The input contract: what a user may say about a training run, checked and normalised.

``normalise_runs`` accepts a pandas DataFrame, one run as a dict, or a list of dicts, and
returns a DataFrame with every contract column (missing values as NaN, or ``""`` for text),
canonical hardware ids, ISO3 countries, canonical cloud regions, device-hours derived from
``n_devices x training_days`` when needed, and the information tier of each row. Bad input
raises :class:`~carbon_bayes.errors.InputError` naming the column, the value, the row and
the fix; nothing is silently guessed.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from carbon_bayes import consistency, reference
from carbon_bayes.cells import Table, _column, _one_run, _row_label, _to_frame
from carbon_bayes.consistency import UTILISATION_ERROR, UTILISATION_WARN  # noqa: F401  (re-exported)
from carbon_bayes.contract import (  # noqa: F401  (re-exported: schema.COLUMNS, schema.CATEGORIES, ...)
    _BY_NAME,
    _SUFFIX,
    _SUFFIX_RE,
    CATEGORIES,
    CATEGORY_ALIASES,
    COLUMN_ALIASES,
    COLUMN_NAMES,
    COLUMNS,
    MAX_YEAR,
    PASSTHROUGH,
    Column,
)
from carbon_bayes.errors import CarbonBayesWarning, InputError, row_number
from carbon_bayes.frames import is_missing

if TYPE_CHECKING:
    import pandas as pd


def _suggest(value: str, choices) -> str:
    close = difflib.get_close_matches(str(value).lower(), [str(c).lower() for c in choices], n=3, cutoff=0.6)
    lookup = {str(c).lower(): c for c in choices}
    return (" Did you mean " + " or ".join(repr(lookup[c]) for c in close) + "?") if close else ""


_THOUSANDS_RE = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d*)?\s*[A-Za-z]*$")


def _parse_number(col: str, values: np.ndarray, df: Table) -> np.ndarray:
    """Numbers; strings like '7B', '1.3M', '184,320' are accepted; anything else is an error."""
    if values.dtype.kind == "f":
        return _check_finite(col, values.copy(), values, df)
    try:
        out = np.array(values, dtype=float)
        if values.dtype == object and any(isinstance(v, (bool, np.bool_)) for v in values):
            raise ValueError
        return _check_finite(col, out, values, df)
    except (ValueError, TypeError, OverflowError):  # OverflowError: an int beyond float, refused below
        pass
    out = np.empty(len(values))
    for i, raw in enumerate(values):
        if is_missing(raw):
            out[i] = np.nan
            continue
        if isinstance(raw, (bool, np.bool_)):
            raise InputError(col, raw, "give a number", row=_row_label(df, i))
        if isinstance(raw, (list, tuple, set, frozenset, dict, np.ndarray)):
            raise InputError(col, raw, f"give one number per cell (in {_BY_NAME[col].unit}, e.g. {_example(col)}); "
                             "describe several runs as one dict (row) per run", row=_row_label(df, i))
        text = str(raw).replace("_", "").strip()
        if "," in text:
            if not _THOUSANDS_RE.match(text):
                raise InputError(col, raw, "a comma here is not a thousands separator (184,320): for a decimal "
                                 f"write a point, e.g. {text.replace(',', '.')}", row=_row_label(df, i))
            text = text.replace(",", "")
        if text == "" or text.lower() in ("nan", "na", "none"):
            out[i] = np.nan
            continue
        m = _SUFFIX_RE.match(text)
        try:
            out[i] = float(m.group(1)) * _SUFFIX[m.group(2).lower()] if m else float(text)
        except ValueError:
            c = _BY_NAME[col]
            raise InputError(col, raw, f"give a number in {c.unit} (e.g. {_example(col)})",
                             row=_row_label(df, i)) from None
    return _check_finite(col, out, values, df)


def _check_finite(col, out, values, df):
    if np.isinf(out).any():
        i = int(np.flatnonzero(np.isinf(out))[0])
        raise InputError(col, values[i], "give a finite number", row=_row_label(df, i))
    return out


def _example(col: str) -> str:
    return {"parameters": "7e9", "training_tokens": "2e12", "training_flops": "8.4e22", "device_hours": "184320",
            "n_devices": "512", "training_days": "21", "pue": "1.1", "carbon_intensity": "0.385",
            "power_per_device_w": "350", "year": "2024", "active_parameters": "3.7e10"}.get(col, "1")


def _check_bounds(col: Column, values: np.ndarray, raw: np.ndarray, df: Table) -> None:
    known = ~np.isnan(values)
    if col.positive:
        bad = known & (values <= 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(col.name, raw[i], f"must be greater than zero (in {col.unit}); leave it empty if unknown",
                             row=_row_label(df, i))
    if col.lower is not None:
        bad = known & (values < col.lower)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(col.name, raw[i], col.too_small_fix or f"must be at least {col.lower:g} {col.unit}",
                             row=_row_label(df, i))
    if col.upper is not None:
        bad = known & (values > col.upper)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(col.name, raw[i], col.too_large_fix or f"must be at most {col.upper:g} {col.unit}",
                             row=_row_label(df, i))


def _text(values) -> np.ndarray:
    """Text cells as stripped str ("" for missing); pandas' string methods for large batches."""
    if len(values) <= 64:  # a Python loop is faster than building a Series for a few runs
        return np.array(["" if is_missing(v) else str(v).strip() for v in values], dtype=object)
    import pandas as pd

    s = pd.Series(values, dtype=object)
    return s.where(s.notna(), "").astype(str).str.strip().to_numpy(dtype=object)


def _category(name: str, raw: np.ndarray, df: Table) -> np.ndarray:
    allowed = CATEGORIES[name]
    aliases = CATEGORY_ALIASES[name]
    values = _text(raw)
    out = np.empty(len(values), dtype=object)
    for v in set(values):
        key = str(v).strip().lower().replace("-", "_").replace(" ", "_")
        if key == "":
            canon = ""
        elif key in allowed:
            canon = key
        elif key in aliases or key.replace("_", " ") in aliases:
            canon = aliases.get(key, aliases.get(key.replace("_", " ")))
        else:
            i = int(np.flatnonzero(values == v)[0])
            raise InputError(name, v, f"use one of {', '.join(allowed)}.{_suggest(v, allowed)}", row=_row_label(df, i))
        out[values == v] = canon
    return out


def _apply_aliases(df: Table, depth: int = 0) -> Table:
    """Rename the published-runs table's columns to the contract's (:data:`COLUMN_ALIASES`)."""
    renames = {a: c for a, c in COLUMN_ALIASES.items() if a in df.columns}
    for alias, canon in renames.items():
        if canon in df.columns:
            raise InputError("column", alias, f"gives {canon!r} a second time (the table also has {canon!r}); "
                             "keep one of the two columns")
    notes = []
    if renames:
        notes.append("read " + ", ".join(f"{a} as {c}" for a, c in renames.items()))
    if "location_or_region" in df.columns and not {"country", "region"} & set(df.columns):
        notes.append("location_or_region is free text and is not read: give country or region "
                     "(e.g. US, gcp:us-central1) for the grid intensity of the location")
    if notes:
        warnings.warn("; ".join(notes), CarbonBayesWarning, stacklevel=4 + depth)
    return df.rename(columns=renames) if renames else df


def _check_columns(df: Table, depth: int = 0) -> None:
    unknown = [c for c in df.columns if c not in _BY_NAME and c not in PASSTHROUGH]
    ignored = []
    for c in unknown:
        close = difflib.get_close_matches(c.lower(), COLUMN_NAMES, n=1, cutoff=0.75)
        if close:
            raise InputError("column", c, f"unknown column; did you mean {close[0]!r}? "
                             "(see `carbon-bayes estimate --help` for the input columns)")
        ignored.append(c)
    if ignored:
        warnings.warn(f"ignoring columns that are not part of the input contract: {', '.join(ignored)}",
                      CarbonBayesWarning, stacklevel=3 + depth)


def _resolve_unique(values: np.ndarray, fn, df: Table, field: str):
    """Apply a scalar resolver once per distinct value; re-raise with the row of the first bad value."""
    mapping = {}
    for v in set(values):
        if v == "":
            mapping[v] = None
            continue
        try:
            mapping[v] = fn(v)
        except InputError as e:
            i = int(np.flatnonzero(values == v)[0])
            raise InputError(field, v, e.fix, row=_row_label(df, i)) from None
    return mapping


def normalise_runs(runs) -> pd.DataFrame:
    """Check and normalise runs described by the input contract.

    Parameters
    ----------
    runs
        A DataFrame (one row per run), a dict for one run, or a list of dicts. Every column
        is optional; see :data:`COLUMNS` for names and units.

    Returns
    -------
    pandas.DataFrame
        One row per run with every contract column, plus ``tier`` (T1 hours known, T2 compute
        known, T3 metadata only) and ``warnings`` (``"; "``-joined notes about assumptions).

    Raises
    ------
    InputError
        Naming the column, the value, the row and the fix.
    """
    return columns_frame(normalise_columns(runs, _depth=1))


#: Columns of normalised runs, in order.
NORMALISED_COLUMNS = (*COLUMN_NAMES, "tier", "warnings")


def columns_frame(columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Build the DataFrame :func:`normalise_runs` returns from :func:`normalise_columns`' arrays."""
    import pandas as pd

    return pd.DataFrame(columns, columns=list(NORMALISED_COLUMNS))


def normalise_columns(runs, *, _depth: int = 0) -> dict[str, np.ndarray]:
    """Check and normalise runs as :func:`normalise_runs` does, returning its columns as numpy arrays.

    One run (a dict of plain values) is checked without building a DataFrame.
    """
    one = _one_run(runs)
    df = _apply_aliases(one if one is not None else _to_frame(runs), _depth)
    _check_columns(df, _depth)
    out = _parse_columns(df)
    notes: list[list[str]] = [[] for _ in range(len(df))]
    _check_ids_and_year(out, df)
    _resolve_location(out, df)
    _check_parameters(out, df, notes)
    consistency.reconcile_hours(out, df, notes)
    consistency.check_compute_and_power(out, df, notes)
    consistency.check_wall_clock(out, df)
    consistency.check_accounting(out, df)
    out["tier"] = information_tier(out)
    out["warnings"] = np.array(["; ".join(x) for x in notes], dtype=object)
    return {c: out[c] for c in NORMALISED_COLUMNS}


def _parse_columns(df: Table) -> dict[str, np.ndarray]:
    """Parse and bound-check every contract column of ``df`` (absent columns are all unknown)."""
    n = len(df)
    out: dict[str, np.ndarray] = {}
    for col in COLUMNS:
        if col.kind == "number" and col.name in df.columns and df[col.name].dtype.kind in "fiu":
            raw = _column(df, col.name, float)  # already numeric: no per-cell parsing
        else:
            raw = _column(df, col.name, object) if col.name in df.columns else np.full(n, None, dtype=object)
        if col.kind == "number":
            vals = _parse_number(col.name, raw, df)
            _check_bounds(col, vals, raw, df)
            out[col.name] = vals
        elif col.kind == "category":
            out[col.name] = _category(col.name, raw, df)
        elif col.name == "operator":  # a level of the organisation effect: matched without case
            out[col.name] = _check_encodable(col.name, np.array([v.lower() for v in _text(raw)], dtype=object), df)
        else:
            out[col.name] = _check_encodable(col.name, _text(raw), df)
    return out


def _check_encodable(name: str, text: np.ndarray, df: Table) -> np.ndarray:
    """Return ``text``; refuse a cell that is not valid Unicode (a lone surrogate cannot be written or hashed)."""
    for v in set(text):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            i = int(np.flatnonzero(text == v)[0])
            raise InputError(name, v.encode("utf-8", "backslashreplace").decode("ascii"),
                             "the text is not valid Unicode (it holds a lone surrogate, often from a mis-decoded "
                             "file); re-save the input as UTF-8", row=_row_label(df, i)) from None
    return text


def _check_ids_and_year(out: dict[str, np.ndarray], df: Table) -> None:
    """Fill absent run_ids (``run-<row>``), refuse duplicate ones and fractional years."""
    # run_id: strings, unique, filled when absent.
    rid = out["run_id"]
    empty = rid == ""
    rid[empty] = [f"run-{i}" for i in np.flatnonzero(empty)]
    if len(set(rid)) < len(rid):
        seen: set[str] = set()
        i = next(j for j, r in enumerate(rid) if r in seen or seen.add(r))
        raise InputError("run_id", rid[i], "run_id must be unique; rename or drop the duplicate row", row=row_number(i))

    yr = out["year"]
    frac = ~np.isnan(yr) & (yr != np.round(yr))
    if frac.any():
        i = int(np.flatnonzero(frac)[0])
        raise InputError("year", yr[i], "give a whole year, e.g. 2024", row=_row_label(df, i))


def _resolve_location(out: dict[str, np.ndarray], df: Table) -> None:
    """Resolve hardware, region, country and provider; refuse a region that contradicts them."""
    # Hardware.
    hw_map = _resolve_unique(out["hardware"], reference.resolve_hardware, df, "hardware")
    out["hardware"] = np.array([hw_map[v] or "" for v in out["hardware"]], dtype=object)

    # Region -> provider, country.
    region_map = _resolve_unique(out["region"], reference.resolve_region, df, "region")
    region_canon = np.array(["" if region_map[v] is None else f"{region_map[v].provider}:{region_map[v].region}"
                             for v in out["region"]], dtype=object)
    region_country = np.array(["" if region_map[v] is None else region_map[v].country_iso3 for v in out["region"]],
                               dtype=object)
    region_provider = np.array(["" if region_map[v] is None else region_map[v].provider for v in out["region"]],
                               dtype=object)
    out["region"] = region_canon
    country_raw = out["country"]
    country_map = _resolve_unique(out["country"], reference.resolve_country, df, "country")
    country = np.array([country_map[v] or "" for v in out["country"]], dtype=object)
    clash = (country != "") & (region_country != "") & (country != region_country)
    if clash.any():
        i = int(np.flatnonzero(clash)[0])
        raise InputError("country", country_raw[i],
                         f"region {region_canon[i]!r} is in {region_country[i]}, not {country[i]}; "
                         "drop one of country/region or make them agree", row=_row_label(df, i))
    out["country"] = np.where(country == "", region_country, country)
    provider_map = {"google": "google", "aws": "aws", "azure": "azure", "gcp": "google"}
    rp = np.array([provider_map.get(p, p) for p in region_provider], dtype=object)
    pclash = (out["provider"] != "") & (rp != "") & (out["provider"] != rp)
    if pclash.any():
        i = int(np.flatnonzero(pclash)[0])
        raise InputError("provider", out["provider"][i], f"region {region_canon[i]!r} belongs to {rp[i]}; "
                         "drop provider or make it agree", row=_row_label(df, i))
    out["provider"] = np.where(out["provider"] == "", rp, out["provider"])


def _check_parameters(out: dict[str, np.ndarray], df: Table, notes: list[list[str]]) -> None:
    """Refuse active parameters above the total; note an MoE without active parameters."""
    # Parameters: active <= total.
    p, pa = out["parameters"], out["active_parameters"]
    bad = ~np.isnan(p) & ~np.isnan(pa) & (pa > p * 1.0001)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError("active_parameters", pa[i], f"exceeds parameters={p[i]:g}; active parameters are a subset "
                         "of the total", row=_row_label(df, i))
    moe_no_active = (out["architecture"] == "moe_transformer") & np.isnan(pa) & ~np.isnan(p)
    for i in np.flatnonzero(moe_no_active):
        notes[i].append("mixture-of-experts without active_parameters: FLOPs from total parameters overstate compute")


def information_tier(runs) -> np.ndarray:
    """T1 when device-hours are known, T2 when compute is (FLOPs, or parameters and tokens), else T3."""
    hours = ~np.isnan(np.asarray(runs["device_hours"], dtype=float))
    n_eff = np.where(np.isnan(np.asarray(runs["active_parameters"], dtype=float)),
                     np.asarray(runs["parameters"], dtype=float), np.asarray(runs["active_parameters"], dtype=float))
    compute = ~np.isnan(np.asarray(runs["training_flops"], dtype=float)) | (
        ~np.isnan(n_eff) & ~np.isnan(np.asarray(runs["training_tokens"], dtype=float)))
    return np.where(hours, "T1", np.where(compute, "T2", "T3"))


def describe_columns() -> pd.DataFrame:
    """Describe the input contract as a table (name, unit, description)."""
    import pandas as pd

    return pd.DataFrame([(c.name, c.unit, c.description) for c in COLUMNS], columns=["column", "unit", "description"])
