"""The published training-run dataset (``data/training_runs.csv``): load and validate.

One row per published figure (a source's energy and/or CO2 number for a run), with the
features of the run, the provenance of the figure and the decisions a fit needs (see
``data/README.md``). :func:`load_training_runs` checks types, units, ranges, categories,
duplicate ids and cross-row references and names the file, row and column of any problem.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from carbon_bayes import reference
from carbon_bayes.csvio import read_csv_strict
from carbon_bayes.errors import DataError, InputError
from carbon_bayes.resources import data_path

TRAINING_RUNS = "training_runs.csv"

NUMERIC = {
    # column: (lower, upper, unit)
    "year": (2010, 2100, "year"),
    "parameters": (1e5, 1e14, "count"),
    "active_parameters": (1e5, 1e14, "count"),
    "training_tokens": (1e5, 1e15, "count"),
    "training_flops": (1e12, 1e29, "FLOP"),
    "n_devices": (1, 1e7, "count"),
    "device_hours": (1e-3, 1e10, "accelerator-hours"),
    "training_days": (1e-4, 1e5, "days"),  # hypothetical extrapolations (Strubell NAS) exceed 2,000
    "energy_mwh": (1e-7, 1e6, "MWh"),
    "co2_t": (0, 1e6, "t CO2e"),
    "source_power_w": (1, 5000, "W per device"),
    "source_pue": (1.0, 3.0, "-"),
    "source_carbon_intensity": (0.0, 1.5, "kg CO2e/kWh"),
}
CATEGORIES = {
    "task": {"language", "vision", "image_generation", "speech", "multimodal", "other"},
    "architecture": {"dense_transformer", "moe_transformer", "cnn", "diffusion_unet", "rnn", "other"},
    "scope": {"final_pretraining", "finetune", "project_total", "aggregate"},
    "energy_basis": {"measured", "tdp", "assumed"},
    "power_scope": {"", "system", "gpu"},
    "accounting": {"location_based", "market_based", "unknown"},
    "confidence": {"high", "medium", "low"},
    "provider": {"", "google", "aws", "azure", "meta", "oracle", "hpc", "colo", "on_premise", "unknown"},
}
OPTIONAL_TEXT = ("cluster",)  # "" for published runs; a user's own cluster name for their measurements
#: Optional columns with a default: ``operator`` (normalised organisation: the unit of
#: leave-one-organisation-out validation; default the organization) and ``pue_stated`` (the source
#: says whether a PUE is inside its figure; default True, e.g. for a user's own measurements).
OPTIONAL_DEFAULTS = {"operator": "", "pue_stated": "True"}
TEXT = ("run_id", "run_group", "model_name", "organization", "hardware", "hardware_as_published", "country",
        "region", "location_or_region", "derived_from", "decision_note", "feature_sources", "source",
        "source_quote", "source_ci_country")
BOOL = ("pue_included", "in_fit", "validate", "pue_stated")
REQUIRED = tuple(NUMERIC) + tuple(CATEGORIES) + TEXT + BOOL[:3]


def _err(path, i, rid, col, value, fix) -> DataError:
    return DataError(f"{path}: row {i + 2} (run_id {rid!r}), column {col!r}: value {value!r}: {fix}")


def _as_strings(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=range(len(df)))
    for c in df.columns:
        s = df[c].reset_index(drop=True)
        if s.dtype.kind == "f":
            out[c] = [("" if np.isnan(v) else repr(float(v))) for v in s]
        else:
            out[c] = ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in s]
    return out


def load_training_runs(path: str | Path | pd.DataFrame | None = None) -> pd.DataFrame:
    """Load and validate the training-run dataset.

    Parameters
    ----------
    path
        A CSV with the columns of ``data/training_runs.csv`` (default: the shipped file), or a
        DataFrame with those columns (validated the same way).

    Returns
    -------
    pandas.DataFrame
        Numeric columns as float, text columns as str ("" when empty), booleans as bool.

    Raises
    ------
    DataError
        Naming the file, the row (as numbered in a spreadsheet, header = row 1), the column,
        the value and the fix.
    """
    if isinstance(path, pd.DataFrame):
        raw, path = _as_strings(path), "<DataFrame>"
    else:
        path = Path(path) if path is not None else data_path(TRAINING_RUNS)
        try:
            raw = read_csv_strict(path, "dataset").astype(str)
        except InputError as e:
            raise DataError(f"{path}: {e.fix}") from None
    for c in OPTIONAL_TEXT:
        if c not in raw.columns:
            raw[c] = ""
    for c, default in OPTIONAL_DEFAULTS.items():
        if c not in raw.columns:
            raw[c] = default
    if (raw["operator"].str.strip() == "").any():
        raw["operator"] = np.where(raw["operator"].str.strip() == "", raw["organization"], raw["operator"])
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; see data/README.md for the data dictionary")
    df = pd.DataFrame(index=raw.index)
    rid = raw["run_id"].str.strip()
    for col in raw.columns:
        s = raw[col].str.strip()
        if col in NUMERIC:
            lo, hi, unit = NUMERIC[col]
            vals = pd.to_numeric(s.replace("", np.nan), errors="coerce")
            bad = vals.isna() & (s != "")
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise _err(path, i, rid[i], col, s[i], f"must be a number in {unit}")
            out = (vals < lo) | (vals > hi)
            if out.any():
                i = int(np.flatnonzero(out)[0])
                raise _err(path, i, rid[i], col, s[i], f"must be between {lo:g} and {hi:g} {unit}")
            df[col] = vals.astype(float)
        elif col in BOOL:
            ok = s.isin(["True", "False", "true", "false"])
            if not ok.all():
                i = int(np.flatnonzero(~ok)[0])
                raise _err(path, i, rid[i], col, s[i], "must be True or False")
            df[col] = s.str.lower() == "true"
        else:
            df[col] = s.astype(object)
    for col, allowed in CATEGORIES.items():
        bad = ~df[col].isin(allowed)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise _err(path, i, rid[i], col, df[col][i], f"must be one of {sorted(allowed)}")
    if (rid == "").any():
        i = int(np.flatnonzero(rid == "")[0])
        raise _err(path, i, "", "run_id", "", "every row needs a run_id")
    dup = rid.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise _err(path, i, rid[i], "run_id", rid[i], "duplicate run_id; ids must be unique")
    if (df["year"].isna()).any() or (df["year"] != df["year"].round()).any():
        i = int(np.flatnonzero(df["year"].isna() | (df["year"] != df["year"].round()))[0])
        raise _err(path, i, rid[i], "year", raw["year"][i], "every row needs a whole training year")
    _check_rows(path, df)
    return df


def _check_rows(path, df: pd.DataFrame) -> None:
    ids = set(df["run_id"])
    for i, r in enumerate(df.itertuples(index=False)):
        rid = r.run_id
        if np.isnan(r.energy_mwh) and np.isnan(r.co2_t):
            raise _err(path, i, rid, "energy_mwh", "", "every row needs a label: energy_mwh and/or co2_t")
        if not r.source or not r.source_quote:
            raise _err(path, i, rid, "source" if not r.source else "source_quote", "",
                       "every figure needs its source and a verbatim quote")
        if r.hardware:
            try:
                canon = reference.resolve_hardware(r.hardware)
            except InputError as e:
                raise _err(path, i, rid, "hardware", r.hardware, e.fix) from None
            if canon != r.hardware:
                raise _err(path, i, rid, "hardware", r.hardware, f"use the canonical id {canon!r}")
        for col in ("country", "source_ci_country"):
            v = getattr(r, col)
            if v:
                try:
                    canon = reference.resolve_country(v)
                except InputError as e:
                    raise _err(path, i, rid, col, v, e.fix) from None
                if canon != v:
                    raise _err(path, i, rid, col, v, f"use the ISO3 code {canon!r}")
        if r.region:
            try:
                reference.resolve_region(r.region)
            except InputError as e:
                raise _err(path, i, rid, "region", r.region, e.fix) from None
        if r.derived_from:
            if r.derived_from not in ids:
                raise _err(path, i, rid, "derived_from", r.derived_from, "must name another row's run_id")
            if r.in_fit:
                raise _err(path, i, rid, "in_fit", True, "a row that re-derives another is not independent evidence; "
                           "set in_fit to False")
        if r.energy_basis == "measured" and not r.power_scope:
            raise _err(path, i, rid, "power_scope", "", "a measured label needs power_scope system or gpu")
        if r.in_fit:
            if not r.hardware:
                raise _err(path, i, rid, "in_fit", True, "a fitted row needs its hardware")
            if r.scope == "project_total":
                raise _err(path, i, rid, "in_fit", True, "project totals are not single runs; set in_fit to False")
    # Run-level facts must agree within a run group.
    for col in ("device_hours", "parameters", "training_tokens", "hardware", "year", "country"):
        for g, sub in df[df["in_fit"]].groupby("run_group"):
            vals = sub[col].replace("", np.nan).dropna().unique()
            if len(vals) > 1:
                if sub[col].dtype.kind == "f" and vals.max() / vals.min() < 1.05:
                    continue  # rounding differences between sources (e.g. 176B vs 176.247B)
                raise DataError(f"{path}: run_group {g!r} has conflicting {col} values {list(vals)} among its "
                                "fitted rows; fix one or split the group")


#: Defaults for columns a user's own measurement rows may omit (see CarbonModel.update).
ROW_DEFAULTS = {"run_group": None, "model_name": "", "organization": "", "task": "other", "architecture": "other",
                "hardware_as_published": "", "country": "", "region": "", "provider": "", "location_or_region": "",
                "scope": "final_pretraining", "energy_basis": "measured", "power_scope": "system",
                "pue_included": False, "accounting": "location_based", "derived_from": "", "in_fit": True,
                "validate": False, "decision_note": "", "feature_sources": "", "source_ci_country": "",
                "confidence": "high", "cluster": "", "operator": "", "pue_stated": True}


def with_defaults(rows: pd.DataFrame) -> pd.DataFrame:
    """Fill the columns a measurement row may omit (numbers NaN; text as :data:`ROW_DEFAULTS`)."""
    out = rows.copy().reset_index(drop=True)
    for col in REQUIRED + OPTIONAL_TEXT + tuple(OPTIONAL_DEFAULTS):
        if col in out.columns:
            continue
        if col == "run_group":
            out[col] = out["run_id"]
        elif col in ROW_DEFAULTS:
            out[col] = ROW_DEFAULTS[col]
        elif col in NUMERIC:
            out[col] = np.nan
        else:
            out[col] = ""
    return out


def fitted_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows used by the default fit (``in_fit``)."""
    return df[df["in_fit"]].reset_index(drop=True)
