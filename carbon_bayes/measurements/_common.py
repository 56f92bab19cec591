"""Helpers shared by the measurement readers.

File reading, numbers, hardware and region names, and facts the user states for every run of a file.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from carbon_bayes import reference, schema
from carbon_bayes.contract import TEXT_COLUMNS
from carbon_bayes.csvio import cell_fixes, sniff_dialect
from carbon_bayes.errors import InputError

#: Input-contract columns that can be stated as facts, and the dataset column each becomes.
FACT_COLUMNS = {
    "model_name": "model_name", "year": "year", "task": "task", "architecture": "architecture",
    "parameters": "parameters", "active_parameters": "active_parameters", "training_tokens": "training_tokens",
    "training_flops": "training_flops", "hardware": "hardware", "n_devices": "n_devices",
    "device_hours": "device_hours", "training_days": "training_days", "country": "country", "region": "region",
    "provider": "provider", "accounting": "accounting", "energy_basis": "energy_basis",
    "power_scope": "power_scope", "pue": "source_pue", "carbon_intensity": "source_carbon_intensity",
    "power_per_device_w": "source_power_w",
}
#: Text columns of the measurement files: the contract's and CodeCarbon's (decimal commas left as they are).
MEASUREMENT_TEXT_COLUMNS = TEXT_COLUMNS | {
    "timestamp", "project_name", "experiment_id", "country_name", "country_iso_code", "cloud_provider",
    "cloud_region", "os", "python_version", "codecarbon_version", "cpu_model", "gpu_model", "tracking_mode",
    "on_cloud"}
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0", ""}

# ------------------------------------------------------------------------ helpers
def _where(path: Path, line: int | str) -> str:
    return f"{line} of {path}"


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise InputError("measurements", str(path), "file not found; check the path")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        from carbon_bayes.csvio import not_text_kind

        raise InputError("measurements", str(path),
                         f"not UTF-8 text{not_text_kind(path)}; save the file as UTF-8 (CSV or README.md)") from None
    if not text.strip():
        raise InputError("measurements", str(path), "the file is empty; give a CodeCarbon emissions.csv, a model card "
                         "README.md, or a CSV with a header row and one row per run")
    return text


def _read_csv_text(text: str, path: Path, problems=None) -> pd.DataFrame:
    """Cells of a CSV as stripped strings, in the file's own dialect (see :func:`carbon_bayes.csvio.sniff_dialect`).

    ``df.attrs["lines"]`` holds each row's number as every error counts it (header = row 1,
    blank lines not counted),
    ``df.attrs["dialect"]`` how the file was read. A row with more or fewer fields than the
    header goes to ``problems`` (:class:`~carbon_bayes.measurements._problems.Problems`), or raises.
    """
    dialect = sniff_dialect(text, "measurements", path)
    reader = csv.reader(io.StringIO(text), delimiter=dialect.delimiter, skipinitialspace=True)
    try:
        rows = [row for row in reader if any(c.strip() for c in row)]
    except csv.Error as e:
        raise InputError("measurements", str(path), f"not a readable CSV ({e}); save it as comma-separated UTF-8 "
                         "with one header row") from None
    # rows as every error counts them (header = row 1, blank lines not counted; see errors.row_number)
    records = list(enumerate(rows[1:] if dialect.sep_line else rows, start=1))
    if not records:
        raise InputError("measurements", str(path), "the file is empty: no header row")
    header = [c.strip() for c in records[0][1]]
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise InputError("measurements", str(path), f"duplicate column name(s) {dup} in the header: which one holds "
                         "the value is not knowable; rename or delete one of each")
    lines, cells = [], []
    fixes = cell_fixes(header, dialect, MEASUREMENT_TEXT_COLUMNS)
    for n, row in records[1:]:
        while len(row) > len(header) and not row[-1].strip():
            row = row[:-1]  # trailing empty cells (a spreadsheet's extra delimiter)
        if len(row) != len(header):
            err = InputError("fields", len(row), f"the header has {len(header)} columns: an unquoted delimiter or a "
                             "missing cell shifts every value after it; fix or delete the row", row=_where(path, n))
            if problems is None:
                raise err
            problems.add(err)
            continue
        lines.append(n)
        cells.append([fix(c.strip()) for fix, c in zip(fixes, row, strict=True)])
    if not cells and not (problems is not None and problems.errors):
        raise InputError("measurements", str(path), "only a header, no rows: the file records no run")
    df = pd.DataFrame(cells, columns=header, dtype=object)
    df.attrs["lines"] = lines
    df.attrs["dialect"] = dialect.describe()
    return df


def _line(df: pd.DataFrame, i: int) -> int:
    """Line of row ``i`` as a spreadsheet numbers it (header = 1)."""
    lines = df.attrs.get("lines")
    return int(lines[i]) if lines else i + 2


def _number(path: Path, df: pd.DataFrame, i: int, col: str, unit: str, *, lower: float | None = None,
            strict_lower: bool = False, required: bool = False, what: str = "") -> float:
    """One numeric cell (NaN when empty), or an InputError naming file, row, column and the fix."""
    raw = df[col].iloc[i] if col in df.columns else ""
    row = _where(path, _line(df, i))
    if raw == "" or raw.lower() in ("nan", "none", "null"):
        if required:
            raise InputError(col, raw, f"is empty; every row needs {what or col} in {unit}", row=row)
        return float("nan")
    try:
        v = float(raw)
    except ValueError:
        hint = (f" (a decimal comma? write {raw.replace(',', '.')}, or save the file with ';' between columns)"
                if re.fullmatch(r"[-+]?\d+,\d+", raw) else "")
        raise InputError(col, raw, f"must be a number in {unit}{hint}; correct the cell or delete the row "
                         "(the file was not changed)", row=row) from None
    if not np.isfinite(v):
        raise InputError(col, raw, f"must be a finite number in {unit}", row=row)
    if lower is not None and (v < lower or (strict_lower and v == lower)):
        what = what or col
        problem = f"{what} cannot be negative" if v < 0 <= lower else \
            f"{what} must be {'greater than' if strict_lower else 'at least'} {lower:g} {unit}"
        raise InputError(col, raw, f"{problem}; correct the cell or delete the row (the file was not changed)",
                         row=row)
    return v


#: Implied watts per device (energy / device-hours) above this many times the TDP is an error: for the
#: GPUs' own reading (scope gpu), and for a whole-system figure (CPU, RAM and host included).
WATTS_ERROR = {"gpu": 2.0, "system": 5.0}
#: Below this fraction of the TDP the figure is noted as implausibly low (idle devices, or wrong units).
WATTS_NOTE = 0.02


def _check_watts(energy_mwh: float, device_hours: float, hardware: str, scope: str, where: str,
                 notes: list[str], field: str = "energy_consumed") -> None:
    """Energy against hours and devices: the implied watts per device must be possible for the chip."""
    if not (hardware and np.isfinite(energy_mwh) and np.isfinite(device_hours) and device_hours > 0):
        return
    tdp = float(reference.accelerators().loc[hardware, "tdp_w"])
    watts = energy_mwh * 1e6 / device_hours
    said = (f"{energy_mwh:.4g} MWh over {device_hours:.4g} device-hours is {watts:,.4g} W per device, "
            f"{watts / tdp:.3g}x the {hardware} TDP of {tdp:g} W")
    limit = WATTS_ERROR.get(scope or "system", WATTS_ERROR["system"])
    if watts > limit * tdp:
        raise InputError(field, f"{energy_mwh * 1000:.4g} kWh", f"{said} (more than {limit:g}x is not possible "
                         "for this scope); check the units (kWh), the GPU count and the hardware", row=where)
    if watts < WATTS_NOTE * tdp:
        notes.append(f"{said}: implausibly low (idle devices, or the wrong unit or count?)")


#: Implied carbon intensity (CO2e / energy, kg/kWh) above this is an error: the dirtiest grids emit about
#: 1.1 kg/kWh and a PUE of 2 at most doubles it for a figure of IT energy, so more is a unit slip (t vs kg).
INTENSITY_ERROR = 2.5
#: Above this the intensity is noted as unusually high (coal-heavy grid, or CO2 including PUE over IT energy).
INTENSITY_NOTE = 1.2


def _check_intensity(co2_t: float, energy_mwh: float, where: str, notes: list[str], field: str = "co2_t") -> float:
    """CO2 against energy: the implied intensity (kg/kWh) must be one a grid can have; returns it (NaN if unknown)."""
    if not (np.isfinite(co2_t) and np.isfinite(energy_mwh) and energy_mwh > 0):
        return float("nan")
    intensity = co2_t / energy_mwh  # t/MWh = kg/kWh
    said = f"{co2_t:.4g} t CO2e from {energy_mwh:.4g} MWh is {intensity:.3g} kg CO2e/kWh"
    if intensity > INTENSITY_ERROR:
        raise InputError(field, f"{co2_t:.4g} t", f"{said}, more than any grid emits (at most about 1.1 kg/kWh, "
                         f"{INTENSITY_ERROR:g} with a PUE of 2): check the units (t vs kg, MWh vs kWh)", row=where)
    if intensity > INTENSITY_NOTE:
        notes.append(f"{said}: unusually high (a coal-heavy grid, or CO2 including the PUE over IT energy?)")
    elif intensity == 0:
        notes.append(f"{said}: zero (market-based accounting or offsets? say accounting=market_based)")
    return intensity


def _check_co2_hours(co2_t: float, device_hours: float, hardware: str, where: str, field: str = "co2_t") -> None:
    """CO2 with no energy, against hours and devices: at most every device at the watts limit on the dirtiest grid."""
    if not (hardware and np.isfinite(co2_t) and np.isfinite(device_hours) and device_hours > 0):
        return
    tdp = float(reference.accelerators().loc[hardware, "tdp_w"])
    most_t = device_hours * tdp * WATTS_ERROR["system"] * 1e-6 * INTENSITY_ERROR
    if co2_t > most_t:
        raise InputError(field, f"{co2_t:.4g} t", f"is more than {device_hours:.4g} {hardware} device-hours can emit "
                         f"({most_t:.3g} t even at {WATTS_ERROR['system']:g}x the {tdp:g} W TDP on a "
                         f"{INTENSITY_ERROR:g} kg/kWh grid): check the units (grams vs kg vs t) and the hours",
                         row=where)


def _canonical_region(provider: str, region: str):
    if not provider or not region:
        return None
    try:
        return reference.resolve_region(f"{provider}:{region}")
    except InputError:
        return None


def _provider_of(region) -> str:
    return {"gcp": "google", "aws": "aws", "azure": "azure"}.get(region.provider, "")


_COUNT_RE = re.compile(r"^\s*(\d+)\s*(?:x|×|\*)?\s+(.+?)\s*$", re.IGNORECASE)
_UNIT_WORDS_RE = re.compile(r"\s+(gpus?|tpus?|chips?|cards?|devices?|accelerators?)\.?\s*$", re.IGNORECASE)


def split_device_count(text: str) -> tuple[int | None, str]:
    """``"8 x NVIDIA A100-SXM4-80GB"`` -> ``(8, "NVIDIA A100-SXM4-80GB")``; ``"8 v100 GPUs"`` -> ``(8, "v100")``."""
    s = _UNIT_WORDS_RE.sub(" ", str(text)).strip()
    m = _COUNT_RE.match(s)
    if m:
        return int(m.group(1)), m.group(2).strip()
    return None, s


def _resolve_device(name: str) -> str:
    """Resolve an accelerator name, also without a memory size ("RTX3090 24GB")."""
    try:
        return reference.resolve_hardware(name)
    except InputError as first:
        stripped = re.sub(r"\b\d+\s*GB\b", " ", name, flags=re.IGNORECASE).strip()
        if stripped and stripped != name:
            try:
                return reference.resolve_hardware(stripped)
            except InputError:
                pass
        raise first


def _parse_gpu_model(text: str) -> tuple[int | None, str]:
    """CodeCarbon's ``gpu_model`` ("8 x NVIDIA A100-SXM4-80GB", several models comma-separated).

    Returns the total count (None when not stated) and the one accelerator id; raises
    InputError (field ``gpu_model``) when a name is unknown or the models differ.
    """
    parts = [p for p in re.split(r",(?=\s*\d+\s*x\s)", text) if p.strip()] or [text]
    ids, total, counted = [], 0, True
    for part in parts:
        n, name = split_device_count(part)
        ids.append(_resolve_device(name))
        if n is None:
            counted = False
        else:
            total += n
    if len(set(ids)) > 1:
        raise InputError("gpu_model", text, f"lists different accelerators ({', '.join(sorted(set(ids)))}); "
                         "carbon_bayes models one accelerator type per run: split the run, or name the one that "
                         "did the training with hardware=... (--hardware)")
    return (total if counted else None), ids[0]


# ------------------------------------------------------------------------ facts
def normalise_facts(facts: dict | None) -> dict:
    """Check facts stated for every run of a file; returns dataset columns -> values.

    Keys are input-contract columns (:data:`FACT_COLUMNS`); values are checked and made
    canonical as :func:`carbon_bayes.schema.normalise_runs` does (hardware ids, ISO3 countries,
    cloud regions, categories). ``pue`` becomes ``source_pue``, ``carbon_intensity``
    ``source_carbon_intensity`` and ``power_per_device_w`` ``source_power_w``.
    """
    facts = {k: v for k, v in (facts or {}).items() if v is not None and not (isinstance(v, str) and not v.strip())}
    if not facts:
        return {}
    bad = [k for k in facts if k not in FACT_COLUMNS]
    if bad:
        import difflib

        close = difflib.get_close_matches(bad[0], list(FACT_COLUMNS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InputError("facts", bad[0], f"not a fact update can use; use any of {', '.join(FACT_COLUMNS)}{hint}")
    norm = schema.normalise_runs([facts]).iloc[0]
    out = {FACT_COLUMNS[k]: norm[k] for k in facts}
    if "region" in facts:  # a region also fixes the country and the provider
        out.setdefault("country", norm["country"])
        out.setdefault("provider", norm["provider"])
    if "n_devices" in facts and "training_days" in facts and "device_hours" not in facts:
        out["device_hours"] = norm["device_hours"]
    return out


def _apply_facts(rows: list[dict], facts: dict) -> None:
    for r in rows:
        for col, v in facts.items():
            r[col] = v
        if facts:
            note = "facts given for every run of the file: " + ", ".join(
                f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in facts.items())
            r["decision_note"] = "; ".join(x for x in (r.get("decision_note", ""), note) if x)
        if {"n_devices", "training_days"} & set(facts) and "device_hours" not in facts:
            nd, days = r.get("n_devices", np.nan), r.get("training_days", np.nan)
            if np.isfinite(nd) and np.isfinite(days):
                r["device_hours"] = nd * days * 24.0


