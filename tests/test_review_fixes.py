"""Defects a review of the pandas-free one-run path found: each fixed, each pinned here."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import carbon_bayes as cb
from carbon_bayes import reference
from carbon_bayes.cli import main
from carbon_bayes.errors import DataError, InputError
from carbon_bayes.reference import _common

RUN = ["--parameters", "7e9", "--year", "2023", "--hardware", "A100", "--device-hours", "1e5", "--country", "FR"]


def test_output_parquet_is_parquet_with_the_estimate_s_numbers(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    out = tmp_path / "one.parquet"
    assert main(["estimate", *RUN, "--output", str(out)]) == 0
    assert out.read_bytes()[:4] == b"PAR1"  # not CSV text under a .parquet name
    got = pd.read_parquet(out)
    want = cb.estimate({"parameters": 7e9, "year": 2023, "hardware": "A100", "device_hours": 1e5,
                        "country": "FR"}).to_frame()
    assert list(got.columns) == list(want.columns)
    assert got["co2_t_median"].iloc[0] == want["co2_t_median"].iloc[0]


def test_an_output_name_the_writer_refuses_fails_before_estimating(tmp_path, capsys):
    out = tmp_path / "one.txt"
    assert main(["estimate", *RUN, "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--output" in err and "one.txt" in err and ".csv or .parquet" in err
    assert not out.exists()


def test_accelerator_rows_cannot_be_changed_through_the_public_view():
    rows = reference.accelerator_rows()
    tdp = rows["A100-SXM4-80GB"]["tdp_w"]
    with pytest.raises(TypeError):
        rows["A100-SXM4-80GB"]["tdp_w"] = 1.0  # type: ignore[index]
    with pytest.raises(TypeError):
        rows["NEW"] = {}  # type: ignore[index]
    assert reference.accelerators().loc["A100-SXM4-80GB", "tdp_w"] == tdp == 400.0


@pytest.mark.parametrize("field", ["operator", "model_name", "run_id"])
def test_text_that_is_not_valid_unicode_is_an_input_error(field):
    run = {"parameters": 7e9, "year": 2023, field: "a\ud800"}
    with pytest.raises(InputError) as e:
        cb.estimate(run)
    assert e.value.field == field and "valid Unicode" in str(e.value) and "\\ud800" in str(e.value)


def test_reference_years_are_read_as_whole_years_and_refused_otherwise():
    assert _common._year("2012", "t.csv") == 2012 and _common._year("2012.0", "t.csv") == 2012
    for bad in (None, "2012.5", "x"):
        with pytest.raises(DataError, match="t.csv"):
            _common._year(bad, "t.csv")


def test_a_reference_table_saved_with_a_byte_order_mark_reads_the_same(tmp_path, monkeypatch):
    src = reference.accelerator_rows()
    text = (_common.priors_path("hardware_usage_by_year.csv")).read_text(encoding="utf-8")
    (tmp_path / "hardware_usage_by_year.csv").write_text(text, encoding="utf-8-sig")
    monkeypatch.setattr(_common, "priors_path", lambda name="": tmp_path / name)
    rows = _common._read_records("hardware_usage_by_year.csv")
    assert list(rows[0]) == ["year", "hardware_id", "n_models", "source"]
    assert rows[0]["hardware_id"] in src and not math.isnan(float(rows[0]["n_models"]))
