"""Your own runs as a CSV in the input contract plus labels -> dataset rows."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from carbon_bayes import schema
from carbon_bayes.errors import InputError
from carbon_bayes.measurements._common import _FALSE, _TRUE, _number, _where

#: Label columns of a user CSV (unit conversions to the dataset's MWh and t).
CSV_LABELS = {"energy_mwh": ("energy_mwh", 1.0, "MWh"), "energy_kwh": ("energy_mwh", 1e-3, "kWh"),
              "co2_t": ("co2_t", 1.0, "t CO2e"), "co2_kg": ("co2_t", 1e-3, "kg CO2e")}
CSV_EXTRA_TEXT = ("source", "source_quote", "scope")

# ------------------------------------------------------------------------ user CSV
def _file_row(row) -> str:
    m = re.match(r"^\s*(\d+)", str(row)) if row is not None else None
    return str(int(m.group(1)) + 2) if m else str(row)


def _user_csv_rows(df: pd.DataFrame, path: Path, facts: dict) -> list[dict]:
    labels = [c for c in df.columns if c in CSV_LABELS]
    if not labels:
        raise InputError("column", "energy_mwh", f"{path} has no label column: add energy_mwh (MWh) and/or co2_t "
                         "(t CO2e) with each run's measured figure (energy_kwh / co2_kg are accepted too)")
    for target in ("energy_mwh", "co2_t"):
        both = [c for c in labels if CSV_LABELS[c][0] == target]
        if len(both) > 1:
            raise InputError("column", both[1], f"{path} gives both {both[0]} and {both[1]}; keep one")
    n = len(df)
    vals = {"energy_mwh": np.full(n, np.nan), "co2_t": np.full(n, np.nan)}
    for c in labels:
        target, factor, unit = CSV_LABELS[c]
        strict = target == "energy_mwh"
        vals[target] = np.array([_number(path, df, i, c, unit, lower=0.0, strict_lower=strict,
                                         what="energy" if strict else "CO2e") for i in range(n)]) * factor
    for i in range(n):
        if np.isnan(vals["energy_mwh"][i]) and np.isnan(vals["co2_t"][i]):
            raise InputError(", ".join(labels), "", "this run has no label: give its energy_mwh and/or co2_t, or "
                             "delete the row", row=_where(path, i + 2))
    pue_inc = np.zeros(n, dtype=bool)
    if "pue_included" in df.columns:
        for i, v in enumerate(df["pue_included"]):
            if v.lower() not in _TRUE | _FALSE:
                raise InputError("pue_included", v, "must be True or False (does the energy include the "
                                 "facility overhead?)", row=_where(path, i + 2))
            pue_inc[i] = v.lower() in _TRUE
    extra = {c: df[c].tolist() if c in df.columns else [""] * n for c in CSV_EXTRA_TEXT}
    scope_ok = {"final_pretraining", "finetune", "aggregate", ""}
    for i, s in enumerate(extra["scope"]):
        if s not in scope_ok:
            raise InputError("scope", s, "use final_pretraining or finetune (or aggregate)", row=_where(path, i + 2))
    given_ids = df["run_id"].tolist() if "run_id" in df.columns else [""] * n
    contract = df.drop(columns=[c for c in df.columns if c in CSV_LABELS or c in CSV_EXTRA_TEXT
                                or c == "pue_included"])
    contract = contract.replace({"": None}) if contract.shape[1] else pd.DataFrame(index=range(n))
    try:
        runs = schema.normalise_runs(contract)
    except InputError as e:
        raise InputError(e.field, e.value, e.fix, row=_where(path, _file_row(e.row))) from None
    rows = []
    for i in range(n):
        r = runs.iloc[i]
        line = i + 2
        rid = given_ids[i] or f"{path.stem}-row{line}"
        quote = "; ".join(f"{c}={df[c].iloc[i]}" for c in labels if df[c].iloc[i])
        rows.append({
            "run_id": rid, "model_name": r["model_name"], "year": r["year"], "task": r["task"] or "other",
            "architecture": r["architecture"] or "other", "parameters": r["parameters"],
            "active_parameters": r["active_parameters"], "training_tokens": r["training_tokens"],
            "training_flops": r["training_flops"], "hardware": r["hardware"], "n_devices": r["n_devices"],
            "device_hours": r["device_hours"], "training_days": r["training_days"], "country": r["country"],
            "region": r["region"], "provider": r["provider"], "scope": extra["scope"][i] or "final_pretraining",
            "energy_mwh": vals["energy_mwh"][i], "co2_t": vals["co2_t"][i], "energy_basis": r["energy_basis"],
            "power_scope": r["power_scope"], "pue_included": bool(pue_inc[i]), "source_pue": r["pue"],
            "source_carbon_intensity": r["carbon_intensity"], "source_power_w": r["power_per_device_w"],
            "accounting": r["accounting"], "decision_note": r["warnings"],
            "source": extra["source"][i] or f"user measurement: {path.name} row {line}",
            "source_quote": extra["source_quote"][i] or quote,
        })
    return rows


