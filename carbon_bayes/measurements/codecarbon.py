"""CodeCarbon ``emissions.csv`` (any version) -> dataset rows."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from carbon_bayes import reference
from carbon_bayes.errors import InputError
from carbon_bayes.formula import SECONDS_PER_HOUR
from carbon_bayes.measurements._common import (
    _canonical_region,
    _check_intensity,
    _check_watts,
    _line,
    _number,
    _parse_gpu_model,
    _provider_of,
    _where,
    split_device_count,
)
from carbon_bayes.measurements._problems import Problems

#: Columns that identify a CodeCarbon emissions.csv (any version).
CODECARBON_SIGNATURE = frozenset({
    "timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions", "emissions_rate",
    "energy_consumed", "cpu_energy", "gpu_energy", "ram_energy", "cpu_power", "gpu_power", "ram_power",
    "codecarbon_version", "country_iso_code", "country_name", "on_cloud", "tracking_mode", "cloud_provider",
    "cloud_region", "gpu_model", "gpu_count", "water_consumed",
})
CODECARBON_REQUIRED = ("duration", "energy_consumed")
#: CodeCarbon computes emissions from a grid's intensity: above this (kg/kWh) the row's is not used as one.
CODECARBON_MAX_INTENSITY = 1.5

# ------------------------------------------------------------------------ CodeCarbon
def _codecarbon_rows(df: pd.DataFrame, path: Path, facts: dict, problems: Problems) -> list[dict]:
    missing = [c for c in CODECARBON_REQUIRED if c not in df.columns]
    if missing:
        what = {"duration": "the tracked duration in seconds", "energy_consumed": "the energy in kWh"}
        raise InputError("column", missing[0], f"{path} has no {missing[0]!r} column ({what[missing[0]]}); every "
                         "CodeCarbon version writes it, so the file is truncated or edited: export it again from "
                         "CodeCarbon, or give your runs as a CSV with energy_mwh (format csv)")
    has_gpu_cols = "gpu_model" in df.columns or "gpu_count" in df.columns
    if not has_gpu_cols and not {"hardware"} <= set(facts):
        raise InputError("hardware", "missing", f"{path} has no gpu_model/gpu_count columns (CodeCarbon before 2.x "
                         "did not record them); name the accelerator and how many with hardware=... and n_devices=... "
                         "(--hardware A100 --n-devices 8)")
    keep, dropped = _longest_snapshots(df, path)
    used_ids: set = set()
    rows = [problems.row(lambda i=i: _codecarbon_row(df, i, path, facts, dropped.get(i, []), used_ids)) for i in keep]
    return problems.finish(rows, "run")


def _longest_snapshots(df: pd.DataFrame, path: Path) -> tuple[list[int], dict[int, list[int]]]:
    """Rows to read, and the snapshot rows each stands for.

    Rows sharing a CodeCarbon ``run_id`` are cumulative snapshots (``tracker.flush()``): the
    longest is the run's total. A row whose duration cannot be read stays in (its own error
    names it) and never stands for others.
    """
    keep = list(range(len(df)))
    dropped: dict[int, list[int]] = {}
    if "run_id" not in df.columns:
        return keep, dropped
    durations = []
    for i in keep:
        try:
            durations.append(_number(path, df, i, "duration", "seconds"))
        except InputError:
            durations.append(float("nan"))
    best: dict[str, int] = {}
    for i in keep:
        rid = df["run_id"].iloc[i]
        if rid and np.isfinite(durations[i]) and (rid not in best or durations[i] >= durations[best[rid]]):
            best[rid] = i
    out = []
    for i in keep:
        rid = df["run_id"].iloc[i]
        if rid in best and best[rid] != i and np.isfinite(durations[i]):
            dropped.setdefault(best[rid], []).append(_line(df, i))
        else:
            out.append(i)
    return out, dropped


def _codecarbon_hardware(df: pd.DataFrame, i: int, path: Path, facts: dict, cell: dict, where: str):
    """Return the accelerator, the device count and the gpu_model cell of row ``i``."""
    gpu_model = cell.get("gpu_model", "")
    model_count, hw = None, ""
    if "hardware" in facts:
        hw = facts["hardware"]
        if gpu_model:
            model_count = split_device_count(gpu_model)[0]
    elif gpu_model:
        try:
            model_count, hw = _parse_gpu_model(gpu_model)
        except InputError as e:
            raise InputError("gpu_model", gpu_model, f"{e.fix}; or name the accelerator with hardware=... "
                             "(--hardware)", row=where) from None
    gpu_count = _number(path, df, i, "gpu_count", "devices", lower=0.0, what="the GPU count") \
        if "gpu_count" in df.columns else float("nan")
    n_dev = facts.get("n_devices", np.nan)
    if np.isnan(n_dev):
        n_dev = gpu_count if np.isfinite(gpu_count) and gpu_count > 0 else (model_count or np.nan)
    if not hw:
        raise InputError("gpu_model", gpu_model, "no GPU was recorded for this run (a CPU-only run, or CodeCarbon "
                         "could not see the GPUs); carbon_bayes models accelerator training runs: delete the row, "
                         "or name the accelerator and count with hardware=... n_devices=... (--hardware --n-devices)",
                         row=where)
    if np.isnan(n_dev) or n_dev < 1:
        raise InputError("gpu_count", cell.get("gpu_count", ""), "the number of GPUs is not recorded; give it "
                         "with n_devices=... (--n-devices)", row=where)

    return hw, n_dev, gpu_model


def _codecarbon_location(cell: dict, notes: list[str]) -> tuple[str, str, str, str]:
    """Return country, cloud region, provider and the free-text location of a row."""
    country = ""
    iso = cell.get("country_iso_code", "")
    if iso:
        try:
            country = reference.resolve_country(iso)
        except InputError:
            notes.append(f"country_iso_code {iso!r} not recognised: country left empty")
    region, provider = "", ""
    reg = _canonical_region(cell.get("cloud_provider", "").lower(), cell.get("cloud_region", ""))
    if reg is not None:
        region, provider = f"{reg.provider}:{reg.region}", _provider_of(reg)
        if country and country != reg.country_iso3:
            notes.append(f"country {country} differs from the cloud region's {reg.country_iso3}: the region is used")
        country = reg.country_iso3
    elif cell.get("cloud_region", ""):
        notes.append(f"cloud region {cell.get('cloud_provider', '')}:{cell['cloud_region']} not recognised: "
                     "region left empty")
    location = ", ".join(x for x in (cell.get("region", ""), cell.get("country_name", "")) if x)

    return country, region, provider, location


def _codecarbon_year(cell: dict, where: str) -> float:
    """Return the training year from the row's timestamp (NaN when there is none)."""
    year = np.nan
    ts = cell.get("timestamp", "")
    if ts:
        t = pd.to_datetime(ts, errors="coerce")
        if pd.isna(t):
            raise InputError("timestamp", ts, "not a date; CodeCarbon writes e.g. 2024-07-19T15:57:43: correct the "
                             "cell, or give the year with year=... (--year)", row=where)
        year = float(t.year)

    return year


_FINETUNE_RE = re.compile(r"fine[-_ ]?tun|(?<![a-z0-9])(sft|lora|qlora|peft|dpo|rlhf)(?![a-z0-9])", re.IGNORECASE)
_NODE_COLUMNS = ("n_nodes", "num_nodes", "nodes")


def _energy_scope(df: pd.DataFrame, i: int, path: Path, facts: dict, kwh: float, where: str) -> tuple[float, str, str]:
    """Return the kWh to fit, its ``power_scope`` and a note saying which scope was fitted.

    CodeCarbon's ``energy_consumed`` is ``cpu_energy + gpu_energy + ram_energy``, and its RAM
    figure is an estimate from the memory size, not a reading. When the row has a GPU reading
    (``gpu_energy`` > 0) that reading is fitted with scope ``gpu``; else the whole figure with
    scope ``system``. ``power_scope`` given as a fact chooses.
    """
    parts = {c: _number(path, df, i, c, "kWh", lower=0.0, what=c) for c in ("cpu_energy", "gpu_energy", "ram_energy")
             if c in df.columns}
    gpu = parts.get("gpu_energy", float("nan"))
    ram = parts.get("ram_energy", float("nan"))
    if np.isfinite(gpu) and gpu > kwh * 1.01:
        raise InputError("gpu_energy", df["gpu_energy"].iloc[i], f"is larger than energy_consumed ({kwh:g} kWh), "
                         "which CodeCarbon writes as cpu + gpu + ram energy: the row is corrupt; delete it", row=where)
    want = facts.get("power_scope", "")
    has_gpu = bool(np.isfinite(gpu) and gpu > 0)
    if want == "gpu" and not has_gpu:
        raise InputError("gpu_energy", df["gpu_energy"].iloc[i] if "gpu_energy" in df.columns else "missing",
                         "power_scope gpu needs the GPUs' own energy reading, and this row has none; leave out "
                         "power_scope (--power-scope) to fit energy_consumed, or delete the row", row=where)
    ram_note = f", of which ram_energy {ram:.4g} kWh is CodeCarbon's estimate from the memory size" \
        if np.isfinite(ram) and ram > 0 else ""
    if want == "system" or not has_gpu:
        why = "; no GPU reading (gpu_energy empty or 0)" if "gpu_energy" in df.columns and not has_gpu else ""
        return kwh, "system", f"fitted scope: system, energy_consumed {kwh:.4g} kWh (CPU + GPU + RAM{ram_note}){why}"
    cpu = parts.get("cpu_energy", float("nan"))
    left = ", ".join(f"{n} {v:.4g} kWh" for n, v in (("cpu_energy", cpu), ("ram_energy", ram)) if np.isfinite(v))
    out = f" ({left} left out: CodeCarbon's RAM figure is an estimate, not a reading)" if left else ""
    return gpu, "gpu", f"fitted scope: gpu, gpu_energy {gpu:.4g} kWh of energy_consumed {kwh:.4g} kWh{out}"


def _nodes(df: pd.DataFrame, i: int, path: Path) -> float:
    """Nodes the row stands for (1 when the file has no node count); CodeCarbon measures the machine it runs on."""
    col = next((c for c in _NODE_COLUMNS if c in df.columns), None)
    if col is None:
        return 1.0
    v = _number(path, df, i, col, "nodes", lower=1.0, what="the node count")
    if np.isfinite(v) and v != int(v):
        raise InputError(col, df[col].iloc[i], "give a whole number of nodes", row=_where(path, _line(df, i)))
    return 1.0 if np.isnan(v) else v


def _scope(cell: dict) -> tuple[str, str]:
    """``finetune`` when the file says the run is a fine-tune (project name, training_type), with the words it used."""
    for col in ("training_type", "project_name", "experiment_name"):
        text = cell.get(col, "")
        m = _FINETUNE_RE.search(text)
        if m:
            return "finetune", f"read as a fine-tune: {col} {text!r} says {m.group(0)!r}"
    return "final_pretraining", ""


def _codecarbon_row(df: pd.DataFrame, i: int, path: Path, facts: dict, dropped: list[int], used_ids: set) -> dict:
    line = _line(df, i)
    where = _where(path, line)
    cell = {c: df[c].iloc[i] for c in df.columns}
    notes: list[str] = []
    duration = _number(path, df, i, "duration", "seconds", lower=0.0, strict_lower=True, required=True,
                       what="the duration")
    kwh_all = _number(path, df, i, "energy_consumed", "kWh", lower=0.0, strict_lower=True, required=True,
                      what="the energy consumed")
    kg = _number(path, df, i, "emissions", "kg CO2e", lower=0.0, what="the emissions")
    pue = _number(path, df, i, "pue", "(dimensionless, >= 1)", lower=1.0, what="PUE") if "pue" in df.columns else 1.0
    pue = 1.0 if np.isnan(pue) else pue
    kwh, power_scope, scope_note = _energy_scope(df, i, path, facts, kwh_all, where)
    nodes = _nodes(df, i, path)
    hw, n_dev, gpu_model = _codecarbon_hardware(df, i, path, facts, cell, where)
    if nodes > 1:
        if "n_devices" not in facts:
            n_dev *= nodes
        kwh, kwh_all, kg = kwh * nodes, kwh_all * nodes, kg * nodes
        notes.append(f"{nodes:g} nodes: the row is one node's reading (CodeCarbon measures the machine it runs on), "
                     f"so energy and emissions are x {nodes:g}" + ("" if "n_devices" in facts else " and so is the "
                                                                   "GPU count"))
    country, region, provider, location = _codecarbon_location(cell, notes)
    year = _codecarbon_year(cell, where)
    scope, scope_why = _scope(cell)
    notes += [scope_note] + ([scope_why] if scope_why else [])
    if cell.get("tracking_mode", "") == "process":
        notes.append("tracking_mode process: CPU and RAM energy are this process's share, GPU energy is the GPUs'")
    if dropped:
        notes.append(f"cumulative CodeCarbon snapshots of the same run_id on rows {dropped} left out "
                     "(this row is the longest)")
    _check_size(kwh_all, duration, n_dev, cell, where)
    _check_watts(kwh / 1000.0, n_dev * duration / SECONDS_PER_HOUR, hw, power_scope, where, notes,
                 "gpu_energy" if power_scope == "gpu" else "energy_consumed")
    intensity = _check_intensity(kg / 1000.0, kwh_all / 1000.0, where, notes, "emissions")
    if intensity > CODECARBON_MAX_INTENSITY:
        notes.append(f"intensity emissions/energy_consumed = {intensity:.3g} kg/kWh is above any grid's: not used")
        intensity = np.nan
    return _record(cell, path, line, used_ids, {
        "year": year, "hardware": hw, "hardware_as_published": gpu_model, "n_devices": float(n_dev),
        "device_hours": n_dev * duration / SECONDS_PER_HOUR, "country": country, "region": region,
        "provider": provider, "location_or_region": location, "scope": scope, "energy_mwh": kwh / 1000.0,
        "co2_t": kg / 1000.0 if np.isfinite(kg) else np.nan, "power_scope": power_scope,
        "pue_included": bool(pue > 1.0), "source_pue": pue if pue > 1.0 else np.nan,
        "source_carbon_intensity": intensity, "decision_note": "; ".join(notes)})


def _check_size(kwh: float, duration: float, n_dev: float, cell: dict, where: str) -> None:
    """Refuse rows too small to be a training run (an empty or test row)."""
    if kwh / 1000 < 1e-7:
        raise InputError("energy_consumed", cell["energy_consumed"], "is below 1e-4 kWh: too small to be a training "
                         "run; delete the row", row=where)
    if n_dev * duration / SECONDS_PER_HOUR < 1e-3:
        raise InputError("duration", cell["duration"], f"{n_dev:g} GPU(s) x {duration:g} s is under 4 GPU-seconds: "
                         "too short to be a training run; delete the row", row=where)


def _record(cell: dict, path: Path, line: int, used_ids: set, values: dict) -> dict:
    """Build the dataset row: ids, provenance and the values read."""
    cc_id = cell.get("run_id", "") or cell.get("experiment_id", "")
    base_id = f"codecarbon-{cc_id[:8]}" if cc_id else f"codecarbon-{path.stem}-row{line}"
    rid = base_id if base_id not in used_ids else f"{base_id}-row{line}"
    used_ids.add(rid)
    version = cell.get("codecarbon_version", "") or "(version not recorded)"
    quote_cols = ("duration", "energy_consumed", "gpu_energy", "emissions", "gpu_count", "gpu_model", "pue",
                  "n_nodes", "run_id", "experiment_id", "timestamp")
    return {
        "run_id": rid, "model_name": cell.get("project_name", ""), **values, "energy_basis": "measured",
        "accounting": "location_based", "feature_sources": "device_hours = GPU count x duration / 3600 (CodeCarbon)",
        "source": f"user measurement: CodeCarbon {version} {path.name} row {line}",
        "source_quote": "; ".join(f"{c}={cell[c]}" for c in quote_cols if cell.get(c, "")),
    }
