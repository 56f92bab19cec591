"""CodeCarbon ``emissions.csv`` (any version) -> dataset rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from carbon_bayes import reference
from carbon_bayes.errors import InputError
from carbon_bayes.formula import SECONDS_PER_HOUR
from carbon_bayes.measurements._common import (
    _canonical_region,
    _number,
    _parse_gpu_model,
    _provider_of,
    _where,
    split_device_count,
)

#: Columns that identify a CodeCarbon emissions.csv (any version).
CODECARBON_SIGNATURE = frozenset({
    "timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions", "emissions_rate",
    "energy_consumed", "cpu_energy", "gpu_energy", "ram_energy", "cpu_power", "gpu_power", "ram_power",
    "codecarbon_version", "country_iso_code", "country_name", "on_cloud", "tracking_mode", "cloud_provider",
    "cloud_region", "gpu_model", "gpu_count", "water_consumed",
})
CODECARBON_REQUIRED = ("duration", "energy_consumed")

# ------------------------------------------------------------------------ CodeCarbon
def _codecarbon_rows(df: pd.DataFrame, path: Path, facts: dict) -> list[dict]:
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
    # Rows sharing a CodeCarbon run_id are cumulative snapshots (tracker.flush()): keep the longest.
    keep = list(range(len(df)))
    dropped: dict[int, list[int]] = {}
    if "run_id" in df.columns:
        durations = [_number(path, df, i, "duration", "seconds", required=True, what="the duration") for i in keep]
        best: dict[str, int] = {}
        for i in keep:
            rid = df["run_id"].iloc[i]
            if not rid:
                continue
            if rid not in best or durations[i] >= durations[best[rid]]:
                best[rid] = i
        keep = [i for i in keep if not df["run_id"].iloc[i] or best[df["run_id"].iloc[i]] == i]
        for i in range(len(df)):
            rid = df["run_id"].iloc[i]
            if rid and best[rid] != i:
                dropped.setdefault(best[rid], []).append(i + 2)
    rows, used_ids = [], set()
    for i in keep:
        rows.append(_codecarbon_row(df, i, path, facts, dropped.get(i, []), used_ids))
    return rows


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


def _codecarbon_row(df: pd.DataFrame, i: int, path: Path, facts: dict, dropped: list[int], used_ids: set) -> dict:
    line = i + 2
    where = _where(path, line)
    cell = {c: df[c].iloc[i] for c in df.columns}
    notes: list[str] = []
    duration = _number(path, df, i, "duration", "seconds", lower=0.0, strict_lower=True, required=True,
                       what="the duration")
    kwh = _number(path, df, i, "energy_consumed", "kWh", lower=0.0, strict_lower=True, required=True,
                  what="the energy consumed")
    kg = _number(path, df, i, "emissions", "kg CO2e", lower=0.0, what="the emissions")
    pue = _number(path, df, i, "pue", "(dimensionless, >= 1)", lower=1.0, what="PUE") if "pue" in df.columns else 1.0
    pue = 1.0 if np.isnan(pue) else pue

    hw, n_dev, gpu_model = _codecarbon_hardware(df, i, path, facts, cell, where)
    country, region, provider, location = _codecarbon_location(cell, notes)
    year = _codecarbon_year(cell, where)
    if cell.get("tracking_mode", "") == "process":
        notes.append("tracking_mode process: CPU and RAM energy are this process's share, GPU energy is the GPUs'")
    if dropped:
        notes.append(f"cumulative CodeCarbon snapshots of the same run_id on rows {dropped} left out "
                     "(this row is the longest)")
    if kwh / 1000 < 1e-7:
        raise InputError("energy_consumed", cell["energy_consumed"], "is below 1e-4 kWh: too small to be a training "
                         "run; delete the row", row=where)
    hours = n_dev * duration / SECONDS_PER_HOUR
    if hours < 1e-3:
        raise InputError("duration", cell["duration"], f"{n_dev:g} GPU(s) x {duration:g} s is under 4 GPU-seconds: "
                         "too short to be a training run; delete the row", row=where)
    intensity = kg / kwh if np.isfinite(kg) else np.nan
    if np.isfinite(intensity) and not 0 <= intensity <= 1.5:
        notes.append(f"intensity emissions/energy_consumed = {intensity:.3g} kg/kWh is implausible: not used")
        intensity = np.nan
    cc_id = cell.get("run_id", "") or cell.get("experiment_id", "")
    base_id = f"codecarbon-{cc_id[:8]}" if cc_id else f"codecarbon-{path.stem}-row{line}"
    rid = base_id if base_id not in used_ids else f"{base_id}-row{line}"
    used_ids.add(rid)
    version = cell.get("codecarbon_version", "") or "(version not recorded)"
    quote_cols = ("duration", "energy_consumed", "emissions", "gpu_count", "gpu_model", "pue", "run_id",
                  "experiment_id", "timestamp")
    return {
        "run_id": rid, "model_name": cell.get("project_name", ""), "year": year,
        "hardware": hw, "hardware_as_published": gpu_model, "n_devices": float(n_dev), "device_hours": hours,
        "country": country, "region": region, "provider": provider, "location_or_region": location,
        "energy_mwh": kwh / 1000.0, "co2_t": kg / 1000.0 if np.isfinite(kg) else np.nan,
        "energy_basis": "measured", "power_scope": "system", "pue_included": bool(pue > 1.0),
        "source_pue": pue if pue > 1.0 else np.nan, "source_carbon_intensity": intensity,
        "accounting": "location_based",
        "feature_sources": "device_hours = GPU count x duration / 3600 (CodeCarbon)",
        "decision_note": "; ".join(notes),
        "source": f"user measurement: CodeCarbon {version} {path.name} row {line}",
        "source_quote": "; ".join(f"{c}={cell[c]}" for c in quote_cols if cell.get(c, "")),
    }


