"""Your own runs as a CSV in the input contract plus labels -> dataset rows."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from carbon_bayes import schema
from carbon_bayes.contract import CATEGORIES, CATEGORY_ALIASES
from carbon_bayes.errors import InputError
from carbon_bayes.measurements._common import (
    _FALSE,
    _TRUE,
    _check_co2_hours,
    _check_intensity,
    _check_watts,
    _line,
    _number,
    _where,
)
from carbon_bayes.measurements._problems import Problems

#: Label columns of a user CSV (unit conversions to the dataset's MWh and t).
CSV_LABELS = {"energy_mwh": ("energy_mwh", 1.0, "MWh"), "energy_kwh": ("energy_mwh", 1e-3, "kWh"),
              "co2_t": ("co2_t", 1.0, "t CO2e"), "co2_kg": ("co2_t", 1e-3, "kg CO2e")}
CSV_EXTRA_TEXT = ("source", "source_quote", "scope")

# ------------------------------------------------------------------------ user CSV
def _user_csv_rows(df: pd.DataFrame, path: Path, facts: dict, problems: Problems) -> list[dict]:
    labels = [c for c in df.columns if c in CSV_LABELS]
    estimates = [c for c in df.columns if re.fullmatch(r"(energy_mwh|co2_t)_(median|mean|lower|upper)", c)]
    if estimates and not labels:
        raise InputError("column", estimates[0], f"{path} is carbon_bayes's own estimate output (column "
                         f"{estimates[0]!r}), not a measurement: an estimate read back as a label would fit the model "
                         "to itself; give the measured energy_mwh and/or co2_t of your runs")
    if not labels:
        raise InputError("column", "energy_mwh", f"{path} has no label column: add energy_mwh (MWh) and/or co2_t "
                         "(t CO2e) with each run's measured figure (energy_kwh / co2_kg are accepted too)")
    for target in ("energy_mwh", "co2_t"):
        both = [c for c in labels if CSV_LABELS[c][0] == target]
        if len(both) > 1:
            raise InputError("column", both[1], f"{path} gives both {both[0]} and {both[1]}; keep one")
    contract = df.drop(columns=[c for c in df.columns if c in CSV_LABELS or c in CSV_EXTRA_TEXT
                                or c == "pue_included"])
    runs = _normalised(contract.replace({"": None}) if contract.shape[1] else pd.DataFrame(index=range(len(df))),
                       df, path)
    rows = [problems.row(lambda i=i: _user_row(df, i, path, labels, runs[i])) for i in range(len(df))]
    return problems.finish(rows, "run")


def _normalised(contract: pd.DataFrame, df: pd.DataFrame, path: Path) -> list:
    """Each row checked against the input contract: a Series, or the InputError that row raised."""
    try:
        runs = schema.normalise_runs(contract)
        return [runs.iloc[i] for i in range(len(contract))]
    except InputError:
        pass  # find every bad row, not only the first
    out: list = []
    for i in range(len(contract)):
        try:
            out.append(schema.normalise_runs(contract.iloc[[i]].reset_index(drop=True)).iloc[0])
        except InputError as e:
            out.append(InputError(e.field, e.value, e.fix, row=_where(path, _line(df, i))))
    return out


def _labels(df: pd.DataFrame, i: int, path: Path, labels: list[str]) -> dict[str, float]:
    vals = {"energy_mwh": np.nan, "co2_t": np.nan}
    for c in labels:
        target, factor, unit = CSV_LABELS[c]
        strict = target == "energy_mwh"
        vals[target] = _number(path, df, i, c, unit, lower=0.0, strict_lower=strict,
                               what="energy" if strict else "CO2e") * factor
    if np.isnan(vals["energy_mwh"]) and np.isnan(vals["co2_t"]):
        raise InputError(", ".join(labels), "", "this run has no label: give its energy_mwh and/or co2_t, or "
                         "delete the row", row=_where(path, _line(df, i)))
    return vals


def _dataset_scope(raw: str, where: str) -> str:
    """Return the data table's scope of a user's row: the contract's spellings, or ``aggregate`` (several runs)."""
    key = str(raw).strip().lower().replace("-", "_").replace(" ", "_")
    if key == "aggregate":
        return key
    canon = "pretraining" if key == "" else key if key in CATEGORIES["scope"] else CATEGORY_ALIASES["scope"].get(key)
    if canon is None:
        raise InputError("scope", raw, "use pretraining (default) or finetune, or aggregate for a figure summed over "
                         "several runs", row=where)
    return "finetune" if canon == "finetune" else "final_pretraining"


def _user_row(df: pd.DataFrame, i: int, path: Path, labels: list[str], r) -> dict:
    line = _line(df, i)
    vals = _labels(df, i, path, labels)
    if isinstance(r, InputError):
        raise r
    cell = {c: df[c].iloc[i] for c in df.columns}
    pue_inc = cell.get("pue_included", "")
    if pue_inc.lower() not in _TRUE | _FALSE:
        raise InputError("pue_included", pue_inc, "must be True or False (does the energy include the "
                         "facility overhead?)", row=_where(path, line))
    scope = _dataset_scope(cell.get("scope", ""), _where(path, line))
    quote = "; ".join(f"{c}={cell[c]}" for c in labels if cell[c])
    notes = [r["warnings"]] if r["warnings"] else []
    where = _where(path, line)
    _check_watts(vals["energy_mwh"], r["device_hours"], r["hardware"], r["power_scope"], where, notes,
                 next((c for c in labels if CSV_LABELS[c][0] == "energy_mwh"), "energy_mwh"))
    co2_col = next((c for c in labels if CSV_LABELS[c][0] == "co2_t"), "co2_t")
    _check_intensity(vals["co2_t"], vals["energy_mwh"], where, notes, co2_col)
    if not np.isfinite(vals["energy_mwh"]):
        _check_co2_hours(vals["co2_t"], r["device_hours"], r["hardware"], where, co2_col)
    return {
        "run_id": cell.get("run_id", "") or f"{path.stem}-row{line}", "model_name": r["model_name"],
        "year": r["year"], "task": r["task"] or "other",
        "architecture": r["architecture"] or "other", "parameters": r["parameters"],
        "active_parameters": r["active_parameters"], "training_tokens": r["training_tokens"],
        "training_flops": r["training_flops"], "hardware": r["hardware"], "n_devices": r["n_devices"],
        "device_hours": r["device_hours"], "training_days": r["training_days"], "country": r["country"],
        "region": r["region"], "provider": r["provider"], "scope": scope,
        "energy_mwh": vals["energy_mwh"], "co2_t": vals["co2_t"], "energy_basis": r["energy_basis"],
        "power_scope": r["power_scope"], "pue_included": pue_inc.lower() in _TRUE, "source_pue": r["pue"],
        "source_carbon_intensity": r["carbon_intensity"], "source_power_w": r["power_per_device_w"],
        "accounting": r["accounting"], "decision_note": "; ".join(notes),
        "source": cell.get("source", "") or f"user measurement: {path.name} row {line}",
        "source_quote": cell.get("source_quote", "") or quote,
    }
