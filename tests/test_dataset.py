"""The shipped training-run dataset.

Its invariants, its reproducibility from ../shared, and the loader's error messages on corrupted
copies (file, row and column named).
"""

from __future__ import annotations

import importlib.util
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbon_bayes import reference
from carbon_bayes.dataset import fitted_rows, load_training_runs
from carbon_bayes.errors import DataError
from carbon_bayes.resources import data_path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
BUILD_SCRIPT = REPO / "scripts" / "build_training_runs.py"


# ----------------------------------------------------------------------------- the shipped data


def test_shipped_dataset_loads(dataset):
    assert len(dataset) >= 80
    assert dataset["year"].dtype.kind == "f" and dataset["energy_mwh"].dtype.kind == "f"
    assert dataset["in_fit"].dtype == bool and dataset["validate"].dtype == bool
    assert dataset["in_fit"].sum() >= 40


def test_every_row_has_source_quote_and_label(dataset):
    assert (dataset["source"].str.strip() != "").all()
    assert (dataset["source_quote"].str.strip() != "").all()
    has_label = dataset["energy_mwh"].notna() | dataset["co2_t"].notna()
    assert has_label.all(), list(dataset.loc[~has_label, "run_id"])


def test_run_id_unique(dataset):
    assert dataset["run_id"].is_unique


def test_fitted_rows_have_hardware_and_are_not_derived(dataset):
    fit = fitted_rows(dataset)
    assert len(fit) == int(dataset["in_fit"].sum())
    assert (fit["hardware"] != "").all(), list(fit.loc[fit["hardware"] == "", "run_id"])
    assert (fit["derived_from"] == "").all(), list(fit.loc[fit["derived_from"] != "", "run_id"])
    assert (fit["scope"] != "project_total").all()


def test_hardware_ids_are_canonical(dataset):
    hw = dataset.loc[dataset["hardware"] != "", "hardware"]
    known = set(reference.accelerators().index)
    assert set(hw) <= known, set(hw) - known


def test_derived_rows_point_at_existing_rows_of_the_same_run(dataset):
    by_id = dataset.set_index("run_id")
    derived = dataset[dataset["derived_from"] != ""]
    assert len(derived) >= 5
    for r in derived.itertuples(index=False):
        assert r.derived_from in by_id.index
        assert by_id.loc[r.derived_from, "run_group"] == r.run_group


def test_documented_special_rows(dataset):
    by_id = dataset.set_index("run_id")
    # The hydropower row: a real zero, with a zero stated intensity, neither fitted nor scored.
    lumi = by_id.loc["allenai-olmo-7b-lumi"]
    assert (lumi["co2_t"], lumi["source_carbon_intensity"]) == (0.0, 0.0)
    assert (lumi["in_fit"], lumi["validate"]) == (False, False)
    # Market-based (Patterson "net") twins are not fitted.
    mb = dataset[dataset["accounting"] == "market_based"]
    assert set(mb["run_id"]) >= {"google-gshard-600b-net", "google-switch-transformer-net"}
    assert not mb.loc[mb["derived_from"] != "", "in_fit"].any()
    # Nothing with a non-final scope other than fine-tunes and aggregates is fitted.
    assert set(fitted_rows(dataset)["scope"]) <= {"final_pretraining", "finetune", "aggregate"}


# ----------------------------------------------------------------------------- reproducible build


def _load_build():
    spec = importlib.util.spec_from_file_location("build_training_runs", BUILD_SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _csv_text(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    df.to_csv(buf, index=False, float_format="%.10g", lineterminator="\n")
    return buf.getvalue()


@pytest.mark.skipif(not (SHARED / "ground_truth").is_dir(),
                    reason=f"{SHARED / 'ground_truth'} is absent: cannot rebuild data/training_runs.csv")
def test_committed_csv_equals_the_build():
    build = _load_build()
    built = build.build(SHARED)
    committed = pd.read_csv(data_path("training_runs.csv"))
    assert list(committed.columns) == list(built.columns) == build.OUT_COLUMNS
    assert list(committed["run_id"]) == list(built["run_id"])
    built_text, committed_text = _csv_text(built), _csv_text(committed)
    if built_text != committed_text:  # name the first differing cell
        a = pd.read_csv(io.StringIO(built_text), dtype=str, keep_default_na=False)
        b = pd.read_csv(io.StringIO(committed_text), dtype=str, keep_default_na=False)
        diff = (a != b).to_numpy().nonzero()
        i, j = int(diff[0][0]), int(diff[1][0])
        pytest.fail(f"data/training_runs.csv differs from the build at run_id {a.iloc[i, 0]!r}, column "
                    f"{a.columns[j]!r}: built {a.iloc[i, j]!r}, committed {b.iloc[i, j]!r}; re-run "
                    "`python scripts/build_training_runs.py --shared ../shared`")


# ----------------------------------------------------------------------------- corrupted copies


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """Read the shipped CSV as text cells (written back unchanged by to_csv)."""
    return pd.read_csv(data_path("training_runs.csv"), dtype=str, keep_default_na=False)


def _write(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False)
    return path


def _row(raw: pd.DataFrame, run_id: str) -> int:
    return int(np.flatnonzero(raw["run_id"] == run_id)[0])


def test_unmodified_copy_loads(raw, tmp_path, dataset):
    df = load_training_runs(_write(raw, tmp_path / "copy.csv"))
    assert list(df["run_id"]) == list(dataset["run_id"])


def _corrupt(raw, run_id, column, value):
    df = raw.copy()
    i = _row(df, run_id)
    df.loc[i, column] = value
    return df, i


@pytest.mark.parametrize(("run_id", "column", "value", "fix_word"), [
    ("meta-llama-1-7b", "energy_mwh", "thirty-six", "number"),
    ("meta-llama-2-7b", "co2_t", "-31.22", "between"),
    ("google-t5-11b", "energy_basis", "guessed", "measured"),
    ("dodge-vit-base", "source", "", "source"),
    ("meta-llama-2-13b", "source_quote", "", "quote"),
    ("meta-llama-2-70b", "hardware", "A10O", "did you mean"),
    ("meta-llama-2-70b", "hardware", "A100-80GB", "canonical"),
    ("meta-opt-175b-bloomtable-exclpue", "in_fit", "True", "independent"),
    ("meta-llama-3-8b", "in_fit", "yes", "True or False"),
    ("strubell-elmo", "country", "Atlantis", "ISO"),
    ("google-t5-11b", "derived_from", "no-such-row", "run_id"),
    ("meta-llama-1-13b", "year", "2023.5", "whole"),
])
def test_loader_names_file_row_and_column(raw, tmp_path, run_id, column, value, fix_word):
    df, i = _corrupt(raw, run_id, column, value)
    path = _write(df, tmp_path / "corrupt.csv")
    with pytest.raises(DataError) as info:
        load_training_runs(path)
    msg = str(info.value)
    assert str(path) in msg
    assert f"row {i + 2}" in msg  # spreadsheet numbering: header is row 1
    assert run_id in msg
    assert f"column {column!r}" in msg
    assert fix_word.lower() in msg.lower(), msg


def test_duplicated_run_id_is_named(raw, tmp_path):
    df = raw.copy()
    first, second = _row(df, "meta-llama-2-7b"), _row(df, "meta-llama-2-13b")
    df.loc[second, "run_id"] = "meta-llama-2-7b"
    path = _write(df, tmp_path / "dup.csv")
    with pytest.raises(DataError) as info:
        load_training_runs(path)
    msg = str(info.value)
    assert str(path) in msg and f"row {max(first, second) + 2}" in msg and "'run_id'" in msg
    assert "duplicate" in msg


def test_missing_column_is_named(raw, tmp_path):
    path = _write(raw.drop(columns=["energy_basis"]), tmp_path / "missing.csv")
    with pytest.raises(DataError) as info:
        load_training_runs(path)
    msg = str(info.value)
    assert str(path) in msg and "energy_basis" in msg and "missing" in msg


def test_unreadable_csv_is_named(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b"\xff\xfe\x00run_id\n")
    with pytest.raises(DataError, match=re.escape(str(path))):
        load_training_runs(path)


def test_conflicting_device_hours_in_a_fitted_run_group(raw, tmp_path):
    # opt-175b has two fitted rows: the LLaMA recompute (809,472 h) and the OPT paper's own
    # figure (hours not stated). Giving the second 1,000,000 h contradicts the first by 24%.
    df, _ = _corrupt(raw, "meta-opt-175b-opt-paper", "device_hours", "1000000")
    path = _write(df, tmp_path / "conflict.csv")
    with pytest.raises(DataError) as info:
        load_training_runs(path)
    msg = str(info.value)
    assert str(path) in msg and "opt-175b" in msg and "device_hours" in msg and "conflicting" in msg


def test_rounding_differences_within_a_run_group_are_accepted(raw, tmp_path):
    # bloom-176b: 1,082,880 h (LLaMA) and 1,082,990 h (BLOOM paper) are both fitted: 0.01% apart.
    fit = raw[(raw["run_group"] == "bloom-176b") & (raw["in_fit"] == "True")]
    assert set(fit["device_hours"]) == {"1082880", "1082990"}
    load_training_runs(_write(raw, tmp_path / "ok.csv"))


def test_conflicting_hours_in_rows_not_fitted_are_allowed(raw, tmp_path):
    df, _ = _corrupt(raw, "meta-opt-175b-bloomtable-exclpue", "device_hours", "1000000")
    assert df.loc[_row(df, "meta-opt-175b-bloomtable-exclpue"), "in_fit"] == "False"
    load_training_runs(_write(df, tmp_path / "notfitted.csv"))
