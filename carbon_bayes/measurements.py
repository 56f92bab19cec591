"""A user's own measurements: read them, turn them into dataset rows, update the posterior.

Three formats are read, recognised from the file's columns or content (``format=`` overrides):

``codecarbon``
    CodeCarbon's ``emissions.csv`` (any version: 1.x files have ``experiment_id`` and no
    hardware columns; 2.x/3.x add ``run_id``, ``gpu_count``, ``gpu_model``, ``pue`` ...). One
    dataset row per tracked run: ``device_hours = gpu_count x duration / 3600``, hardware from
    ``gpu_model`` (``"8 x NVIDIA A100-SXM4-80GB"``), ``energy_mwh = energy_consumed / 1000``
    (a *measured*, whole-system figure: CPU + GPU + RAM; PUE inside only when the file's ``pue``
    is above 1, because CodeCarbon multiplies every reading by it), ``co2_t = emissions / 1000``
    with its intensity ``emissions / energy_consumed`` as ``source_carbon_intensity``. Rows that
    share a CodeCarbon ``run_id`` are cumulative snapshots of one run (``tracker.flush()``):
    the longest one is the run's total and the others are left out (a note says so).
``model-card``
    The ``co2_eq_emissions`` metadata of a Hugging Face model card (YAML front matter of a
    ``README.md``): a number (grams) or a mapping with ``emissions`` (grams), ``source``,
    ``training_type``, ``geographical_location`` and ``hardware_used``. One row with
    ``co2_t = grams / 1e6``; ``energy_basis`` is ``measured`` when the source is CodeCarbon,
    else ``tdp`` (most card figures come from the ML CO2 Impact calculator: hours x TDP).
``csv``
    Your own runs in the input contract (:data:`carbon_bayes.schema.COLUMNS`) plus labels:
    ``energy_mwh`` and/or ``co2_t`` (or ``energy_kwh`` / ``co2_kg``), and optionally
    ``energy_basis`` (measured | tdp), ``power_scope`` (system | gpu), ``pue_included``
    (True when the energy includes the facility overhead), ``source``, ``source_quote``, ``scope``.

Every reader only reads: the file is never written, and any problem raises
:class:`~carbon_bayes.errors.InputError` naming the file, the row (as numbered in a
spreadsheet, header = row 1), the column, the value and the fix.

Facts a file lacks (CodeCarbon records no model size or architecture, a model card no
training hours or year) can be given as ``facts`` (``{"architecture": "dense_transformer",
"year": 2024}``; on the command line ``--architecture`` ...); they apply to every run of the
file and take precedence over what the file says.

:func:`update_from_measurements` reads a file, checks that every run can be fitted, refits
the model with the runs as the user's own cluster (:meth:`carbon_bayes.model.CarbonModel.update`)
and writes the new posterior to ``out`` or to :func:`default_output_path` in the per-user
data directory (:func:`user_data_dir`). The shipped posterior is never modified.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from carbon_bayes import reference, schema
from carbon_bayes.formula import SECONDS_PER_HOUR
from carbon_bayes.errors import DataError, InputError

FORMATS = ("codecarbon", "model-card", "csv")

#: Columns that identify a CodeCarbon emissions.csv (any version).
CODECARBON_SIGNATURE = frozenset({
    "timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions", "emissions_rate",
    "energy_consumed", "cpu_energy", "gpu_energy", "ram_energy", "cpu_power", "gpu_power", "ram_power",
    "codecarbon_version", "country_iso_code", "country_name", "on_cloud", "tracking_mode", "cloud_provider",
    "cloud_region", "gpu_model", "gpu_count", "water_consumed",
})
CODECARBON_REQUIRED = ("duration", "energy_consumed")
#: Label columns of a user CSV (unit conversions to the dataset's MWh and t).
CSV_LABELS = {"energy_mwh": ("energy_mwh", 1.0, "MWh"), "energy_kwh": ("energy_mwh", 1e-3, "kWh"),
              "co2_t": ("co2_t", 1.0, "t CO2e"), "co2_kg": ("co2_t", 1e-3, "kg CO2e")}
CSV_EXTRA_TEXT = ("source", "source_quote", "scope")
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
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0", ""}
_CLUSTER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


# ------------------------------------------------------------------------ per-user data directory
def user_data_dir() -> Path:
    """Directory for a user's own posteriors.

    ``$CARBON_BAYES_HOME`` when set, else ``$XDG_DATA_HOME/carbon_bayes``, else
    ``~/.local/share/carbon_bayes``. It is created when a posterior is first written there.
    """
    home = os.environ.get("CARBON_BAYES_HOME", "").strip()
    if home:
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    if xdg:
        return Path(xdg).expanduser() / "carbon_bayes"
    return Path.home() / ".local" / "share" / "carbon_bayes"


def check_cluster(cluster) -> str:
    """A cluster name usable in a file name (letters, digits, ``.``, ``_``, ``-``; up to 64)."""
    name = "" if cluster is None else str(cluster).strip()
    if not _CLUSTER_RE.match(name):
        raise InputError("cluster", cluster, "name your cluster with letters, digits, '.', '_' or '-' "
                         "(up to 64 characters, starting with a letter or digit), e.g. 'my-lab'")
    return name


def default_output_path(cluster: str = "user") -> Path:
    """Where ``carbon-bayes update`` writes by default: ``user_data_dir() / posterior-<cluster>.nc``."""
    return user_data_dir() / f"posterior-{check_cluster(cluster)}.nc"


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
        raise InputError("measurements", str(path), "not UTF-8 text; save the file as UTF-8 (CSV or README.md)") from None
    if not text.strip():
        raise InputError("measurements", str(path), "the file is empty; give a CodeCarbon emissions.csv, a model card "
                         "README.md, or a CSV with a header row and one row per run")
    return text


def _read_csv_text(text: str, path: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        msg = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise InputError("measurements", str(path), f"not a readable CSV ({msg}); save it as comma-separated UTF-8 "
                         "with one header row") from None
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise InputError("measurements", str(path), "only a header, no rows: the file records no run")
    return df.apply(lambda s: s.str.strip())


def _number(path: Path, df: pd.DataFrame, i: int, col: str, unit: str, *, lower: float | None = None,
            strict_lower: bool = False, required: bool = False, what: str = "") -> float:
    """One numeric cell (NaN when empty), or an InputError naming file, row, column and the fix."""
    raw = df[col].iloc[i] if col in df.columns else ""
    row = _where(path, i + 2)
    if raw == "" or raw.lower() in ("nan", "none", "null"):
        if required:
            raise InputError(col, raw, f"is empty; every row needs {what or col} in {unit}", row=row)
        return float("nan")
    try:
        v = float(raw)
    except ValueError:
        raise InputError(col, raw, f"must be a number in {unit}; correct the cell or delete the row "
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


# ------------------------------------------------------------------------ format detection
def detect_format(path: str | Path) -> str:
    """Recognise a measurement file: ``"codecarbon"``, ``"model-card"`` or ``"csv"``.

    A file whose first line is ``---`` (or named ``*.md``) is a model card; a CSV with at least
    three of CodeCarbon's columns is CodeCarbon's (unless it has ``energy_mwh`` / ``co2_t``
    labels); a CSV with labels or input-contract columns is a user CSV.
    """
    path = Path(path)
    return _detect(_read_text(path), path)


def _detect(text: str, path: Path) -> str:
    first = text.lstrip().splitlines()[0].strip()
    if first == "---" or path.suffix.lower() in (".md", ".markdown"):
        return "model-card"
    try:
        header = [c.strip() for c in next(csv.reader([first]))]
    except (csv.Error, StopIteration):
        header = []
    cols = set(header)
    if cols & set(CSV_LABELS) and "energy_consumed" not in cols:
        return "csv"
    if len(cols & CODECARBON_SIGNATURE) >= 3:
        return "codecarbon"
    if cols & set(schema.COLUMN_NAMES):
        return "csv"
    shown = ", ".join(header[:8]) + (" ..." if len(header) > 8 else "")
    raise InputError("format", path.name, f"cannot tell what this file is (columns: {shown or 'none'}); give a "
                     "CodeCarbon emissions.csv, a model card README.md, or a CSV of runs with energy_mwh and/or "
                     "co2_t, or say which with format= (--format codecarbon|model-card|csv)")


# ------------------------------------------------------------------------ CodeCarbon
def read_codecarbon(path: str | Path, facts: dict | None = None) -> pd.DataFrame:
    """Dataset rows from a CodeCarbon ``emissions.csv`` (see the module docstring)."""
    return read_measurements(path, format="codecarbon", facts=facts)


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

    # Hardware and device count.
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

    # Location.
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

    # Year from the timestamp.
    year = np.nan
    ts = cell.get("timestamp", "")
    if ts:
        t = pd.to_datetime(ts, errors="coerce")
        if pd.isna(t):
            raise InputError("timestamp", ts, "not a date; CodeCarbon writes e.g. 2024-07-19T15:57:43: correct the "
                             "cell, or give the year with year=... (--year)", row=where)
        year = float(t.year)

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


# ------------------------------------------------------------------------ Hugging Face model cards
def front_matter(text: str, path: Path | str = "<text>") -> list[str]:
    """Lines of the YAML front matter (between the first two ``---`` lines) of a model card."""
    lines = text.splitlines()
    start = next((k for k, ln in enumerate(lines) if ln.strip()), None)
    if start is None or lines[start].strip() != "---":
        raise InputError("co2_eq_emissions", "missing", f"{path} has no YAML front matter (a block between '---' "
                         "lines at the top of the README.md), so no co2_eq_emissions metadata; add it (see "
                         "https://huggingface.co/docs/hub/model-cards-co2) or give your runs as a CSV")
    for k in range(start + 1, len(lines)):
        if lines[k].strip() in ("---", "..."):
            return lines[start + 1:k]
    raise InputError("co2_eq_emissions", "missing", f"{path}: the front matter opened by '---' is never closed; add "
                     "a '---' line after the metadata")


def _strip_comment(value: str) -> str:
    quote = None
    for k, ch in enumerate(value):
        if ch in "\"'" and quote is None:
            quote = ch
        elif ch == quote:
            quote = None
        elif ch == "#" and quote is None and (k == 0 or value[k - 1] in " \t"):
            return value[:k].rstrip()
    return value.strip()


def _scalar(value: str):
    """A YAML scalar of the small subset model cards use: quoted or plain strings, numbers, null."""
    v = _strip_comment(value).strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        inner = v[1:-1]
        return inner.replace("''", "'") if v[0] == "'" else inner.replace('\\"', '"').replace("\\\\", "\\")
    if v.lower() in ("", "~", "null"):
        return None
    try:
        return int(v) if re.fullmatch(r"[-+]?\d+", v) else float(v)
    except ValueError:
        return v


def _flow_mapping(text: str, path) -> dict:
    inner = text.strip()[1:-1]
    out = {}
    for part in re.split(r",(?=(?:[^\"']*[\"'][^\"']*[\"'])*[^\"']*$)", inner):
        if not part.strip():
            continue
        if ":" not in part:
            raise InputError("co2_eq_emissions", text, f"{path}: cannot read {part.strip()!r} as 'key: value'")
        k, v = part.split(":", 1)
        out[k.strip().strip("\"'")] = _scalar(v)
    return out


def parse_co2_metadata(lines: list[str], path: Path | str = "<text>"):
    """The ``co2_eq_emissions`` value of front-matter lines: a number, a dict, or None if absent.

    Handles the YAML subset model cards use: ``co2_eq_emissions: 12.3``, a block mapping of
    indented ``key: value`` lines (plain or quoted scalars, ``#`` comments, ``>``/``|``
    block scalars), and a flow mapping ``{emissions: 12.3, source: ...}``.
    """
    for k, line in enumerate(lines):
        m = re.match(r"^(['\"]?)co2_eq_emissions\1\s*:(.*)$", line)
        if not m:
            continue
        rest = _strip_comment(m.group(2))
        if rest.startswith("{"):
            return _flow_mapping(rest, path)
        if rest:
            return _scalar(rest)
        block = []
        for ln in lines[k + 1:]:
            if ln.strip() and not ln[0].isspace():
                break
            block.append(ln)
        out: dict = {}
        indent = None
        j = 0
        while j < len(block):
            ln = block[j]
            j += 1
            if not ln.strip() or ln.strip().startswith("#"):
                continue
            ind = len(ln) - len(ln.lstrip())
            indent = ind if indent is None else indent
            if ind != indent:
                continue  # deeper structure the reader does not use
            km = re.match(r"^\s*(['\"]?)([A-Za-z0-9_ -]+)\1\s*:(.*)$", ln)
            if not km:
                raise InputError("co2_eq_emissions", ln.strip(), f"{path}: cannot read this line of co2_eq_emissions "
                                 "as 'key: value'; fix the YAML")
            key, val = km.group(2).strip(), _strip_comment(km.group(3))
            if val[:1] in ("|", ">"):
                parts = []
                while j < len(block) and (not block[j].strip() or len(block[j]) - len(block[j].lstrip()) > indent):
                    parts.append(block[j].strip())
                    j += 1
                out[key] = (" " if val[0] == ">" else "\n").join(p for p in parts if p)
            else:
                out[key] = _scalar(val)
        return out or None
    return None


def _location(text: str) -> tuple[str, str, str]:
    """(region, country, provider) of a card's free-text ``geographical_location`` ('' when unknown)."""
    if not text:
        return "", "", ""
    try:
        reg = reference.resolve_region(text)
        return f"{reg.provider}:{reg.region}", reg.country_iso3, _provider_of(reg)
    except InputError:
        pass
    for cand in [p.strip() for p in reversed(text.split(","))] + [text]:
        try:
            return "", reference.resolve_country(cand), ""
        except InputError:
            continue
    return "", "", ""


def read_model_card(path: str | Path, facts: dict | None = None) -> pd.DataFrame:
    """Dataset rows (one) from the ``co2_eq_emissions`` metadata of a model card README.md."""
    return read_measurements(path, format="model-card", facts=facts)


def _model_card_rows(text: str, path: Path, facts: dict) -> list[dict]:
    lines = front_matter(text, path)
    meta = parse_co2_metadata(lines, path)
    if meta is None:
        raise InputError("co2_eq_emissions", "missing", f"{path}: the model card's metadata has no co2_eq_emissions "
                         "field; add e.g. 'co2_eq_emissions: {emissions: 1200, source: codecarbon, hardware_used: "
                         "8 x A100}' (grams), or give the CodeCarbon emissions.csv itself")
    block = [ln.strip() for ln in lines if ln.strip()]
    if isinstance(meta, dict):
        grams = meta.get("emissions")
        field_name = "co2_eq_emissions.emissions"
    else:
        grams, meta, field_name = meta, {}, "co2_eq_emissions"
    if isinstance(grams, str):
        try:
            grams = float(grams.replace(",", ""))
        except ValueError:
            pass
    if grams is None or isinstance(grams, bool) or not isinstance(grams, (int, float)) or not np.isfinite(grams):
        raise InputError(field_name, grams, f"{path}: must be a number of grams of CO2e (e.g. 1200 for 1.2 kg)")
    if grams < 0:
        raise InputError(field_name, grams, f"{path}: emissions cannot be negative; give grams of CO2e")
    notes = []
    source = str(meta.get("source") or "")
    measured = re.search(r"code\s*_?carbon", source, re.IGNORECASE) is not None
    hw_text = str(meta.get("hardware_used") or "")
    n_dev, hw = np.nan, ""
    if hw_text:
        count, name = split_device_count(hw_text)
        try:
            hw = _resolve_device(name)
            n_dev = float(count) if count else np.nan
        except InputError:
            notes.append(f"hardware_used {hw_text!r} not recognised: give hardware=... (--hardware)")
    loc = str(meta.get("geographical_location") or "")
    region, country, provider = _location(loc)
    if loc and not (region or country):
        notes.append(f"geographical_location {loc!r} not recognised: give country=... or region=...")
    ttype = str(meta.get("training_type") or "").lower()
    scope = "finetune" if "fine" in ttype else "final_pretraining"
    name = path.parent.name if path.name.lower() == "readme.md" and path.parent.name else path.stem
    label = f"{path.parent.name}/{path.name}" if path.parent.name else path.name
    quote = [ln for ln in block if ln.startswith(("co2_eq_emissions", "emissions", "source", "training_type",
                                                  "geographical_location", "hardware_used"))]
    method = ("measured with CodeCarbon" if measured else
              "method not stated or calculator-based: read as nominal (hours x TDP) accounting")
    return [{
        "run_id": f"model-card-{re.sub(r'[^A-Za-z0-9._-]+', '-', name).strip('-') or 'card'}",
        "model_name": name, "year": np.nan, "hardware": hw, "hardware_as_published": hw_text, "n_devices": n_dev,
        "country": country, "region": region, "provider": provider, "location_or_region": loc, "scope": scope,
        "energy_mwh": np.nan, "co2_t": grams / 1e6,
        "energy_basis": "measured" if measured else "tdp", "power_scope": "system" if measured else "",
        "pue_included": False, "accounting": "location_based",
        "decision_note": "; ".join([f"model card co2_eq_emissions, {method}"] + notes),
        "source": f"user measurement: Hugging Face model card {label} co2_eq_emissions"
                  + (f" (source: {source})" if source else ""),
        "source_quote": " | ".join(quote) or f"co2_eq_emissions: {grams}",
    }]


# ------------------------------------------------------------------------ user CSV
def read_user_csv(path: str | Path, facts: dict | None = None) -> pd.DataFrame:
    """Dataset rows from a CSV of runs in the input contract plus ``energy_mwh`` / ``co2_t`` labels."""
    return read_measurements(path, format="csv", facts=facts)


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


# ------------------------------------------------------------------------ entry points
def _finish(rows: list[dict], path: Path, fmt: str) -> pd.DataFrame:
    from carbon_bayes.dataset import with_defaults

    df = with_defaults(pd.DataFrame(rows))
    df.attrs["format"] = fmt
    df.attrs["path"] = str(path)
    return df


def read_measurements(path: str | Path, format: str | None = None, facts: dict | None = None) -> pd.DataFrame:
    """Read a measurement file into rows of the ``data/training_runs.csv`` format.

    Parameters
    ----------
    path
        A CodeCarbon ``emissions.csv``, a Hugging Face model card ``README.md``, or a CSV of
        runs in the input contract with ``energy_mwh`` and/or ``co2_t`` columns.
    format
        ``"codecarbon"``, ``"model-card"`` or ``"csv"`` to skip detection (default: recognised
        from the file's columns or content, see :func:`detect_format`).
    facts
        Facts about every run of the file that it does not record (input-contract columns,
        e.g. ``{"architecture": "dense_transformer", "parameters": 7e9, "year": 2024}``);
        they take precedence over the file's values.

    Returns
    -------
    pandas.DataFrame
        One row per run with every dataset column (``attrs["format"]`` and ``attrs["path"]``
        say what was read). Rows are not yet checked for fitting: see :func:`check_fittable`.

    Raises
    ------
    InputError
        Naming the file, the row, the column, the value and the fix. The file is never written.
    """
    path = Path(path)
    text = _read_text(path)
    if format is not None and format not in FORMATS:
        raise InputError("format", format, f"use one of {', '.join(FORMATS)} (or leave it out to detect it)")
    fmt = format or _detect(text, path)
    f = normalise_facts(facts)
    if fmt == "codecarbon":
        rows = _codecarbon_rows(_read_csv_text(text, path), path, f)
    elif fmt == "model-card":
        rows = _model_card_rows(text, path, f)
    else:
        rows = _user_csv_rows(_read_csv_text(text, path), path, f)
    _apply_facts(rows, f)
    return _finish(rows, path, fmt)


def check_fittable(rows: pd.DataFrame) -> pd.DataFrame:
    """Check that every row can enter a fit; returns the rows validated as dataset rows.

    A fitted run needs its training year, its accelerator, and its device-hours (or
    ``n_devices`` and ``training_days``) or its compute (``training_flops``, or
    ``parameters`` and ``training_tokens``).

    Raises
    ------
    InputError
        Naming the run, the missing fact and the flag that gives it.
    """
    from carbon_bayes.dataset import load_training_runs

    path = rows.attrs.get("path", "<rows>")
    for r in rows.itertuples(index=False):
        where = f"run_id {r.run_id!r} from {path}"
        if not np.isfinite(r.year):
            raise InputError("year", "missing", "the training year is not recorded; give it with year=... "
                             "(--year 2024)", row=where)
        if not r.hardware:
            raise InputError("hardware", r.hardware_as_published or "missing", "the accelerator is not known; "
                             "give it with hardware=... (--hardware H100)", row=where)
        hours = np.isfinite(r.device_hours) or (np.isfinite(r.n_devices) and np.isfinite(r.training_days))
        params = r.active_parameters if np.isfinite(r.active_parameters) else r.parameters
        compute = np.isfinite(r.training_flops) or (np.isfinite(params) and np.isfinite(r.training_tokens))
        if not (hours or compute):
            raise InputError("device_hours", "missing", "a fitted run needs its device-hours (--device-hours, or "
                             "--n-devices and --training-days) or its compute (--training-flops, or --parameters and "
                             "--training-tokens)", row=where)
    try:
        return load_training_runs(rows)
    except DataError as e:
        raise DataError(f"{path}: the converted rows are not valid dataset rows: {e}") from None


# ------------------------------------------------------------------------ updating
@dataclass
class UpdateResult:
    """What :func:`update_from_measurements` wrote.

    Attributes
    ----------
    path
        The new posterior file.
    rows
        The measurement rows added to the fit (dataset format, ``cluster`` set).
    cluster
        The user's cluster name.
    convergence
        The convergence report of the refit.
    """

    path: Path
    rows: pd.DataFrame
    cluster: str
    convergence: dict = field(default_factory=dict)

    def usage(self) -> str:
        """How to use the new posterior, one line per interface."""
        return (f"use it with:  carbon-bayes estimate --model {self.path} ...\n"
                f"          or:  carbon_bayes.estimate(runs, model={str(self.path)!r})\n"
                f"          or:  carbon-bayes forecast --model {self.path} ...")


def update_from_measurements(measurements, *, format: str | None = None, facts: dict | None = None, out=None,
                             base=None, cluster: str = "user", allow_unconverged: bool = False, priors=None,
                             **sampler_overrides) -> UpdateResult:
    """Refit the model with a user's measurements as their own cluster and save the posterior.

    Parameters
    ----------
    measurements
        A measurement file (see :func:`read_measurements`) or rows it returned.
    format, facts
        As in :func:`read_measurements`.
    out
        Posterior file to write (atomically); default :func:`default_output_path` of ``cluster``.
    base
        Posterior to extend (default: the shipped one; never modified).
    cluster
        Name of the user's cluster: its runs share one utilisation and one power-fraction effect.
    allow_unconverged
        Keep the posterior even if the convergence gate fails.
    priors
        Prior specification (default: the shipped ``priors/model_priors.toml``).
    **sampler_overrides
        ``draws``, ``tune``, ``chains``, ``seed``, ``sampler``, ``target_accept``, ``progressbar``.

    Returns
    -------
    UpdateResult
    """
    from carbon_bayes.resources import default_posterior_path

    cluster = check_cluster(cluster)
    out = Path(out).expanduser() if out is not None else default_output_path(cluster)
    shipped = default_posterior_path()
    if out.exists() and shipped.exists() and out.resolve() == shipped.resolve():
        raise InputError("out", str(out), "this is the posterior shipped with carbon_bayes, which is never modified; "
                         "write the update elsewhere (leave out --out to use the per-user data directory)")
    if out.suffix != ".nc":
        raise InputError("out", str(out), "give a netCDF file name ending in .nc")
    if isinstance(measurements, pd.DataFrame):
        rows = measurements
    else:
        rows = read_measurements(measurements, format=format, facts=facts)
    check_fittable(rows)
    from carbon_bayes.model import CarbonModel

    m = CarbonModel(priors=priors, sampler_config={k: v for k, v in sampler_overrides.items() if v is not None})
    m.update(rows, base=base, cluster=cluster, allow_unconverged=allow_unconverged)
    path = m.save(out)
    added = m.dataset[m.dataset["cluster"] == cluster].reset_index(drop=True)
    return UpdateResult(path=Path(path), rows=added, cluster=cluster, convergence=dict(m.convergence or {}))


__all__ = ["FORMATS", "read_measurements", "read_codecarbon", "read_model_card", "read_user_csv", "detect_format",
           "check_fittable", "normalise_facts", "user_data_dir", "default_output_path", "update_from_measurements",
           "UpdateResult"]
