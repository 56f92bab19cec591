"""A user's own measurements: read them, turn them into dataset rows, update the posterior.

Three formats are read, recognised from the file's columns or content (``format=`` overrides):

``codecarbon``
    CodeCarbon's ``emissions.csv`` (any version: 1.x files have ``experiment_id`` and no
    hardware columns; 2.x/3.x add ``run_id``, ``gpu_count``, ``gpu_model``, ``pue`` ...). One
    dataset row per tracked run: ``device_hours = gpu_count x duration / 3600``, hardware from
    ``gpu_model`` (``"8 x NVIDIA A100-SXM4-80GB"``), ``energy_mwh = gpu_energy / 1000`` with
    ``power_scope`` gpu when the row has a GPU reading, else ``energy_consumed / 1000`` (CPU +
    GPU + RAM, scope system); a note says which was fitted. PUE is inside only when the file's
    ``pue`` is above 1 (CodeCarbon multiplies every reading by it). ``co2_t = emissions / 1000``
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
spreadsheet, header = row 1), the column, the value and the fix; several invalid rows raise
one :class:`RowErrors` listing each. ``skip_invalid=True`` reads the valid rows instead and
keeps every skipped row with its reason in ``attrs["skipped"]``. The CSV dialect (``,`` or
``;`` between columns, decimal commas) is sniffed from the header; a co2_eq_emissions block or
an estimate table carbon_bayes wrote itself is refused (an estimate is not a measurement).

Facts a file lacks (CodeCarbon records no model size or architecture, a model card no
training hours or year) can be given as ``facts`` (``{"architecture": "dense_transformer",
"year": 2024}``; on the command line ``--architecture`` ...); they apply to every run of the
file and take precedence over what the file says.

:func:`update_from_measurements` reads a file, checks that every run can be fitted, refits
the model with the runs as the user's own cluster (:meth:`carbon_bayes.fitting.CarbonModel.update`)
and writes the new posterior to ``out`` or to :func:`default_output_path` in the per-user
data directory (:func:`user_data_dir`). The shipped posterior is never modified.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from carbon_bayes import schema
from carbon_bayes.constants import MEASUREMENT_FORMATS
from carbon_bayes.csvio import sniff_dialect
from carbon_bayes.errors import DataError, InputError
from carbon_bayes.measurements._common import (
    _apply_facts,
    _check_co2_hours,
    _check_watts,
    _read_csv_text,
    _read_text,
    normalise_facts,
    split_device_count,
)
from carbon_bayes.measurements._problems import Problems, RowErrors, skipped_summary
from carbon_bayes.measurements.codecarbon import CODECARBON_REQUIRED, CODECARBON_SIGNATURE, _codecarbon_rows
from carbon_bayes.measurements.modelcard import _model_card_rows, front_matter, parse_co2_metadata
from carbon_bayes.measurements.usercsv import CSV_LABELS, _user_csv_rows
from carbon_bayes.safeio import file_lock, remove_stale_temps

FORMATS = MEASUREMENT_FORMATS
_CLUSTER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


# ------------------------------------------------------------------------ per-user data directory
def user_data_dir() -> Path:
    """Directory for a user's own posteriors.

    ``$CARBON_BAYES_HOME`` when set, else the platform's per-user data directory as
    ``platformdirs`` finds it (Linux: ``$XDG_DATA_HOME/carbon_bayes`` or
    ``~/.local/share/carbon_bayes``; macOS: ``~/Library/Application Support/carbon_bayes``;
    Windows: ``%LOCALAPPDATA%/carbon_bayes``). It is created when a posterior is first written there.
    """
    home = os.environ.get("CARBON_BAYES_HOME", "").strip()
    if home:
        return Path(home).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("carbon_bayes", appauthor=False))


def check_cluster(cluster) -> str:
    """Check a cluster name is usable in a file name (letters, digits, ``.``, ``_``, ``-``; up to 64)."""
    name = "" if cluster is None else str(cluster).strip()
    if not _CLUSTER_RE.match(name):
        raise InputError("cluster", cluster, "name your cluster with letters, digits, '.', '_' or '-' "
                         "(up to 64 characters, starting with a letter or digit), e.g. 'my-lab'")
    return name


def default_output_path(cluster: str = "user") -> Path:
    """Where ``carbon-bayes update`` writes by default: ``user_data_dir() / posterior-<cluster>.nc``."""
    return user_data_dir() / f"posterior-{check_cluster(cluster)}.nc"


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
    dialect = sniff_dialect(text, "measurements", path)
    delimiter = dialect.delimiter
    if dialect.sep_line:  # the header is the line after Excel's "sep=;"
        first = next(ln for ln in text.lstrip().splitlines()[1:] if ln.strip()).strip()
    try:
        header = [c.strip() for c in next(csv.reader([first], delimiter=delimiter))]
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


# ------------------------------------------------------------------------ entry points
def _finish(rows: list[dict], path: Path, fmt: str, problems: Problems, dialect: str = "") -> pd.DataFrame:
    from carbon_bayes.dataset import with_defaults

    df = with_defaults(pd.DataFrame(rows))
    df.attrs["format"] = fmt
    df.attrs["path"] = str(path)
    df.attrs["skipped"] = problems.skipped()
    df.attrs["dialect"] = dialect
    return df


def read_measurements(path: str | Path, format: str | None = None, facts: dict | None = None, *,
                      skip_invalid: bool = False) -> pd.DataFrame:
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
    skip_invalid
        Read the valid rows and skip the others, each with its reason in ``attrs["skipped"]``
        (printed by :func:`skipped_summary`). Default (strict): any invalid row raises one
        :class:`RowErrors` that lists every invalid row.

    Returns
    -------
    pandas.DataFrame
        One row per run with every dataset column (``attrs["format"]`` and ``attrs["path"]``
        say what was read, ``attrs["dialect"]`` how a CSV was read, ``attrs["skipped"]`` what
        was skipped). Rows are not yet checked for fitting: see :func:`check_fittable`.

    Raises
    ------
    InputError
        Naming the file, the row, the column, the value and the fix (:class:`RowErrors`, an
        InputError, when several rows are invalid). The file is never written.
    """
    path = Path(path)
    text = _read_text(path)
    if format is not None and format not in FORMATS:
        raise InputError("format", format, f"use one of {', '.join(FORMATS)} (or leave it out to detect it)")
    fmt = format or _detect(text, path)
    f = normalise_facts(facts)
    problems = Problems(path, skip_invalid=bool(skip_invalid))
    dialect = ""
    if fmt == "model-card":
        rows = _model_card_rows(text, path, f)
    else:
        df = _read_csv_text(text, path, problems)
        dialect = df.attrs.get("dialect", "")
        reader = _codecarbon_rows if fmt == "codecarbon" else _user_csv_rows
        rows = reader(df, path, f, problems)
    _apply_facts(rows, f)
    _check_with_facts(rows, f, path)
    return _finish(rows, path, fmt, problems, dialect)


#: Facts that change what a run's energy or CO2 can physically be.
_PHYSICAL_FACTS = {"hardware", "n_devices", "device_hours", "training_days", "training_flops", "parameters",
                   "active_parameters", "training_tokens", "power_scope"}


def _check_with_facts(rows: list[dict], facts: dict, path: Path) -> None:
    """Check again, physically, the runs whose hardware, hours or compute came from ``facts``.

    Hours against compute (through the input contract), energy against hours and devices, CO2
    against hours and devices: a fact that makes a run impossible is an error naming the fact.
    """
    given = _PHYSICAL_FACTS & set(facts)
    if not given or not rows:
        return
    named = "with " + ", ".join(f"{k}={facts[k]:g}" if isinstance(facts[k], (int, float)) else f"{k}={facts[k]}"
                                for k in sorted(given)) + " given for every run"
    contract = ["hardware", "device_hours", "training_flops", "parameters", "active_parameters", "training_tokens"]
    cells = [{c: r[c] for c in contract if c in r and _known(r[c])} for r in rows]
    try:
        schema.normalise_runs(cells)  # hours against compute, all runs at once ...
        bad = None
    except InputError:
        bad = next(i for i, c in enumerate(cells) if not _passes(c))  # ... and the first run that fails, named
    for i, r in enumerate(rows):
        try:
            if i == bad:
                schema.normalise_runs([cells[i]])
            notes: list[str] = []
            _check_watts(r.get("energy_mwh", np.nan), r.get("device_hours", np.nan), r.get("hardware", ""),
                         r.get("power_scope", ""), "", notes, "energy_mwh")
            if not np.isfinite(r.get("energy_mwh", np.nan)):
                _check_co2_hours(r.get("co2_t", np.nan), r.get("device_hours", np.nan), r.get("hardware", ""), "")
        except InputError as e:
            raise InputError(e.field, e.value, f"{e.fix} ({named}: run {r.get('run_id', '')!r} of {path.name}); "
                             "correct the fact") from None
        if notes:
            r["decision_note"] = "; ".join(x for x in (r.get("decision_note", ""), *notes) if x)


def _passes(cells: dict) -> bool:
    """Whether one run's contract cells pass :func:`carbon_bayes.schema.normalise_runs`."""
    try:
        schema.normalise_runs([cells])
    except InputError:
        return False
    return True


def _known(v) -> bool:
    return not (v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip()))


def read_codecarbon(path: str | Path, facts: dict | None = None, *, skip_invalid: bool = False) -> pd.DataFrame:
    """Dataset rows from a CodeCarbon ``emissions.csv`` (columns read: :mod:`carbon_bayes.measurements.codecarbon`)."""
    return read_measurements(path, format="codecarbon", facts=facts, skip_invalid=skip_invalid)


def read_model_card(path: str | Path, facts: dict | None = None) -> pd.DataFrame:
    """Dataset rows (one) from the ``co2_eq_emissions`` metadata of a model card README.md."""
    return read_measurements(path, format="model-card", facts=facts)


def read_user_csv(path: str | Path, facts: dict | None = None, *, skip_invalid: bool = False) -> pd.DataFrame:
    """Dataset rows from a CSV of runs in the input contract plus ``energy_mwh`` / ``co2_t`` labels."""
    return read_measurements(path, format="csv", facts=facts, skip_invalid=skip_invalid)


def check_fittable(rows: pd.DataFrame, skip_invalid: bool = False) -> pd.DataFrame:
    """Check that every row can enter a fit; returns the rows validated as dataset rows.

    A fitted run needs its training year, its accelerator, and its device-hours (or
    ``n_devices`` and ``training_days``) or its compute (``training_flops``, or
    ``parameters`` and ``training_tokens``). With ``skip_invalid`` a row that cannot is
    dropped and added to ``attrs["skipped"]``; else every such row is listed in one error.

    Raises
    ------
    InputError
        Naming each run, the missing fact and the flag that gives it.
    """
    from carbon_bayes.dataset import load_training_runs

    path = rows.attrs.get("path", "<rows>")
    problems = Problems(Path(path), skip_invalid=skip_invalid)
    ok = [problems.row(lambda r=r: _fittable(r, path) or True) for r in rows.itertuples(index=False)]
    kept = rows[[bool(x) for x in ok]].reset_index(drop=True) if len(rows) else rows
    if problems.errors:
        problems.finish([x for x in ok if x], "fittable run")
        kept.attrs.update(rows.attrs)
        kept.attrs["skipped"] = list(rows.attrs.get("skipped", [])) + problems.skipped()
    try:
        out = load_training_runs(kept)
    except DataError as e:
        raise DataError(f"{path}: the converted rows are not valid dataset rows: {e}") from None
    out.attrs.update(kept.attrs)
    return out


def fittable_rows(rows: pd.DataFrame, skip_invalid: bool = False) -> pd.DataFrame:
    """Return the rows (as read) that can enter a fit, checked by :func:`check_fittable`.

    With ``skip_invalid`` the others are dropped and listed in ``attrs["skipped"]``.
    """
    checked = check_fittable(rows, skip_invalid=skip_invalid)
    if len(checked) == len(rows):
        return rows
    kept = rows[rows["run_id"].isin(set(checked["run_id"]))].reset_index(drop=True)
    kept.attrs.update(checked.attrs)
    return kept


def _fittable(r, path) -> None:
    """Raise when run ``r`` lacks what a fit needs (year, accelerator, hours or compute)."""
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
        return (f"use it with:  carbon-bayes estimate --posterior {self.path} ...\n"
                f"          or:  carbon_bayes.estimate(runs, posterior={str(self.path)!r})\n"
                f"          or:  carbon-bayes forecast --posterior {self.path} ...")


def _stamp(path: Path) -> tuple | None:
    """Return what identifies a file's content cheaply (size, mtime, inode); None when absent."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def update_from_measurements(measurements, *, format: str | None = None, facts: dict | None = None, out=None,
                             base=None, cluster: str = "user", allow_unconverged: bool = False, priors=None,
                             skip_invalid: bool = False, **sampler_overrides) -> UpdateResult:
    """Refit the model with a user's measurements as their own cluster and save the posterior.

    Parameters
    ----------
    measurements
        A measurement file (see :func:`read_measurements`) or rows it returned.
    format, facts, skip_invalid
        As in :func:`read_measurements` (strict by default: any invalid row stops the update,
        every such row listed).
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
        rows = read_measurements(measurements, format=format, facts=facts, skip_invalid=skip_invalid)
    rows = fittable_rows(rows, skip_invalid=skip_invalid)
    from carbon_bayes.fitting import CarbonModel

    m = CarbonModel(priors=priors, sampler_config={k: v for k, v in sampler_overrides.items() if v is not None})
    before = _stamp(out)
    with file_lock(out, field="out"):  # a second update of the same file waits here
        if _stamp(out) != before:
            raise InputError("out", str(out), "another update wrote this file while this one waited for it; to add "
                             f"these runs to that result, run again with base={str(out)!r} (--base), else write "
                             "elsewhere (--out)")
        remove_stale_temps(out)
        m.update(rows, base=base, cluster=cluster, allow_unconverged=allow_unconverged)
        path = m.save(out)
    added = m.dataset[m.dataset["cluster"] == cluster].reset_index(drop=True)
    return UpdateResult(path=Path(path), rows=added, cluster=cluster, convergence=dict(m.convergence or {}))


__all__ = ["FORMATS", "read_measurements", "read_codecarbon", "read_model_card", "read_user_csv", "detect_format",
           "check_fittable", "normalise_facts", "user_data_dir", "default_output_path", "update_from_measurements",
           "UpdateResult", "check_cluster", "split_device_count", "front_matter", "parse_co2_metadata",
           "CODECARBON_SIGNATURE", "CODECARBON_REQUIRED", "CSV_LABELS", "RowErrors", "skipped_summary", "fittable_rows"]
