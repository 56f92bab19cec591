"""Inputs that used to give a silently wrong number or a traceback, each now a clear error (or a right answer)."""

from __future__ import annotations

import pandas as pd
import pytest

import carbon_bayes as cb
from carbon_bayes.budget import check_trials
from carbon_bayes.cli import main
from carbon_bayes.constants import N_DRAWS_MAX
from carbon_bayes.errors import InputError
from carbon_bayes.reference import resolve_hardware

BASE = {"parameters": 7e9, "year": 2023, "hardware": "A100", "country": "US"}


def _error(run) -> InputError:
    with pytest.raises(InputError) as e:
        cb.estimate(run)
    return e.value


@pytest.mark.parametrize("run, field, words", [
    ({"n_devices": 2.5, "device_hours": 184_320}, "n_devices", "whole number"),
    ({"n_devices": 1.024, "training_days": 3.5}, "n_devices", "1024"),  # a thousands point read as a decimal
    ({"n_devices": 1, "device_hours": 1e9}, "device_hours", "days of wall-clock"),
    ({"training_days": 1000, "device_hours": 1}, "device_hours", "fewer than one device"),
    ({"parameters": 1e14, "training_tokens": 1e15}, "training_tokens", "6 x N x D"),
    ({"device_hours": 1000, "power_per_device_w": 1e-9, "hardware": ""}, "power_per_device_w", "1 W"),
])
def test_impossible_runs_are_refused_naming_the_field(run, field, words):
    e = _error({**BASE, **run})
    assert e.field == field and words in str(e)


def test_the_limits_leave_real_runs_alone():
    ok = cb.estimate({**BASE, "n_devices": 1024, "device_hours": 1024 * 24 * 1999})  # 1,999 days
    assert ok.to_frame()["energy_mwh_median"].iloc[0] > 0
    ok = cb.estimate({**BASE, "training_days": 10, "device_hours": 240})  # one device for ten days
    assert ok.to_frame()["tier"].iloc[0] == "T1"


def test_a_column_given_twice_is_an_error_not_a_traceback():
    for runs in (pd.DataFrame([[7e9, 8e9]], columns=["parameters", "parameters"]),
                 {"parameters": 7e9, "parameters ": 8e9}):
        e = _error(runs)
        assert e.field == "column" and e.value == "parameters" and "twice" in str(e)


def test_n_draws_above_the_policy_s_most_is_refused(capsys):
    e = pytest.raises(InputError, cb.estimate, BASE, n_draws=N_DRAWS_MAX + 1).value
    assert e.field == "n_draws" and f"{N_DRAWS_MAX:,}" in str(e)
    assert cb.estimate(BASE, n_draws=N_DRAWS_MAX).to_frame(mcse=True)["n_draws"].iloc[0] == N_DRAWS_MAX
    assert main(["estimate", "--parameters", "7e9", "--year", "2023", "--n-draws", "10000000000000"]) == 2
    assert "n_draws=10000000000000" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["H800 (PCIe)", "H100 (PCIe, 350 W)", "A100 (laptop)"])
def test_a_bracketed_variant_is_not_dropped_to_resolve_another_part(name):
    with pytest.raises(InputError) as e:
        resolve_hardware(name)
    assert e.value.field == "hardware" and "did you mean" in str(e.value)


def test_brackets_without_a_variant_still_resolve():
    assert resolve_hardware("A100 (80GB)") == "A100-SXM4-80GB"  # the bracket is part of the name
    assert resolve_hardware("V100 (Volta)") == resolve_hardware("V100")


BUDGET = ["budget", "--parameters", "7e9", "--training-tokens", "2e12", "--device-hours", "184320", "--country",
          "US", "--year", "2023", "--budget-t", "40", "--format", "csv"]


def test_a_budget_alternative_equal_to_the_reference_is_not_ranked(capsys):
    assert main([*BUDGET, "--hardware", "A100-80GB", "H100"]) == 0
    out = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert out["hardware"].tolist() == ["A100-SXM4-80GB", "H100-SXM5"] and out["is_reference"].tolist() == [True, False]
    assert main([*BUDGET, "--hardware", "A100-80GB", "A100 80GB"]) == 2  # both spellings are the reference
    assert "every alternative equals the reference" in capsys.readouterr().err


def test_output_onto_the_input_file_is_refused(tmp_path, capsys):
    runs = tmp_path / "runs.csv"
    runs.write_text("parameters,year\n7e9,2023\n")
    assert main(["estimate", "--input", str(runs), "--output", str(runs)]) == 2
    assert "is the --input file" in capsys.readouterr().err
    assert runs.read_text() == "parameters,year\n7e9,2023\n"


def test_the_table_names_a_level_it_was_given(capsys):
    assert main(["estimate", "--parameters", "7e9", "--year", "2023", "--ci-level", "0.999"]) == 0
    assert capsys.readouterr().out.startswith("99.9% equal-tailed credible interval")


@pytest.fixture(scope="module")
def one_estimate():
    return cb.estimate(BASE, keep_draws=True)


@pytest.mark.parametrize("q", [float("nan"), None, True, [[0.5]], "0.5", [], [0.5, None]])
def test_quantile_levels_that_are_not_fractions_are_an_input_error(one_estimate, q):
    with pytest.raises(InputError) as e:
        one_estimate.quantile(q)
    assert e.value.field == "q"


def test_booleans_are_not_numbers_for_the_risk_methods(one_estimate):
    for call in (lambda: one_estimate.prob_exceeds(co2_t=True), lambda: one_estimate.carbon_at_risk(True),
                 lambda: one_estimate.expected_shortfall(True), lambda: cb.estimate(BASE, keep_draws="no"),
                 lambda: check_trials(True)):
        with pytest.raises(InputError):
            call()
    assert one_estimate.quantile([0.05, 0.95]).shape == (1, 2)  # real levels still work


def test_not_kept_draws_say_why():
    with pytest.raises(RuntimeError, match="keep_draws=False"):
        cb.estimate(BASE, keep_draws=False).quantile(0.5)


def test_a_run_flag_given_twice_with_two_values_is_refused(capsys):
    assert main(["estimate", "--parameters", "7e9", "--year", "2023", "--country", "US", "--country", "FR"]) == 2
    assert "--country='US and FR'" in capsys.readouterr().err
    assert main(["estimate", "--parameters", "7e9", "--year", "2023", "--country", "US", "--country", "US"]) == 0
    assert main([*BUDGET, "--hardware", "H100", "--region", "gcp:us-central1", "--region", "gcp:europe-north1"]) == 2
    assert "--region gcp:us-central1 gcp:europe-north1" in capsys.readouterr().err


def test_terminal_escape_codes_in_a_cell_are_shown_not_sent():
    from carbon_bayes.textable import format_table

    assert "\x1b" not in format_table({"run_id": ["\x1b[31mred"], "x": [1.0]})


def test_budget_errors_name_the_flag_and_the_command_s_reader(tmp_path, capsys):
    assert main([*BUDGET, "--hardware", "H100", "--plot", str(tmp_path)]) == 2  # a directory
    assert capsys.readouterr().err.startswith("error: --plot=")
    pytest.importorskip("pyarrow")
    pq = tmp_path / "runs.csv"
    pd.DataFrame({"parameters": [7e9], "year": [2023]}).to_parquet(pq)
    assert main(["budget", "--input", str(pq), "--budget-t", "40"]) == 2
    assert "Parquet file, which `carbon-bayes estimate --input` reads" in capsys.readouterr().err


def test_a_run_id_with_a_bar_or_a_newline_keeps_the_markdown_table_whole():
    from carbon_bayes.exports import write

    text = write({**BASE, "device_hours": 1e5, "run_id": "a|b\nc"}, format="markdown")
    rows = [ln for ln in text.splitlines() if ln.startswith("| a")]
    assert len(rows) == 1 and rows[0].startswith("| a\\|b c |")
    assert len(rows[0].replace("\\|", "").split("|")) == 8  # the header's six cells and the two outer bars


def test_a_budget_beyond_any_emissions_is_refused_and_an_empty_output_name_too(capsys):
    assert main([*BUDGET[:-4], "--budget-t", "1e300", "--hardware", "H100"]) == 2
    assert "--budget-t=" in capsys.readouterr().err
    assert main(["estimate", "--parameters", "7e9", "--year", "2023", "--output", ""]) == 2
    assert "--output=''" in capsys.readouterr().err


def test_a_posterior_path_that_is_not_a_file_says_what_it_is(tmp_path):
    from carbon_bayes.errors import PosteriorFileError

    with pytest.raises(PosteriorFileError, match="is a directory"):
        cb.estimate(BASE, posterior=str(tmp_path))
    with pytest.raises(InputError) as e:
        cb.estimate(BASE, posterior="")
    assert e.value.field == "posterior"


def test_run_ids_in_the_index_are_kept_and_misaligned_series_are_refused():
    frame = pd.DataFrame({"parameters": [7e9, 1e9], "year": [2023, 2022]},
                         index=pd.Index(["mine", "theirs"], name="run_id"))
    assert cb.estimate(frame).to_frame()["run_id"].tolist() == ["mine", "theirs"]
    runs = {"parameters": pd.Series([7e9, 1e9], index=[3, 4]), "year": pd.Series([2023, 2022], index=[0, 1])}
    e = _error(runs)
    assert e.field == "runs" and "different indexes" in str(e)
    same = {"parameters": pd.Series([7e9, 1e9], index=[3, 4]), "year": pd.Series([2023, 2022], index=[3, 4])}
    assert len(cb.estimate(same).to_frame()) == 2
