"""The ``carbon-bayes`` command in-process (estimate, data, --help) and the installed console script.

``fit`` is covered elsewhere.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from carbon_bayes.cli import main

CONTRACT = ["run_id", "energy_mwh_mean", "energy_mwh_median", "energy_mwh_lower", "energy_mwh_upper",
            "co2_t_mean", "co2_t_median", "co2_t_lower", "co2_t_upper", "tier", "warnings"]
FLAGS = ["--parameters", "7e9", "--hardware", "H100", "--device-hours", "1e6", "--year", "2024"]


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error:"), err
    return lines[0]


# ----------------------------------------------------------------------------- estimate


def test_estimate_from_flags_prints_the_contract(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # a terminal wide enough for the table in one block
    code, out, err = _run(capsys, "estimate", *FLAGS)
    assert code == 0, err
    level, header, row = out.strip().splitlines()[:3]
    assert "90% equal-tailed credible interval" in level
    assert header.split() == CONTRACT[:-1]  # warnings go under the table, one line per run that has any
    assert row.split()[0] == "run-0"
    assert " T1" in row


def test_estimate_csv_format_is_parseable_and_sane(capsys):
    code, out, _ = _run(capsys, "estimate", *FLAGS, "--run-id", "mine", "--format", "csv")
    assert code == 0
    df = pd.read_csv(io.StringIO(out), keep_default_na=False)
    assert list(df.columns) == CONTRACT
    r = df.iloc[0]
    assert (r["run_id"], r["tier"]) == ("mine", "T1")
    for q in ("energy_mwh", "co2_t"):
        assert 0 < r[f"{q}_lower"] < r[f"{q}_median"] < r[f"{q}_upper"]
    # 1e6 H100-hours at 700 W TDP is 700 MWh before PUE; the physical estimate is in that range
    assert 100 < r["energy_mwh_median"] < 3000


def test_estimate_json(capsys):
    code, out, _ = _run(capsys, "estimate", *FLAGS, "--format", "json")
    assert code == 0
    records = json.loads(out)
    assert isinstance(records, list) and len(records) == 1
    assert list(records[0]) == CONTRACT
    assert records[0]["tier"] == "T1"


def test_estimate_input_and_output_csv(capsys, tmp_path):
    runs = pd.DataFrame([
        {"run_id": "llama2-7b-like", "parameters": "7e9", "training_tokens": "2e12", "hardware": "A100-80GB",
         "device_hours": "184320", "country": "US", "year": "2023"},
        {"run_id": "compute-only", "parameters": "1.3B", "training_tokens": "300B", "hardware": "V100",
         "device_hours": "", "country": "", "year": "2021"},
        {"run_id": "metadata-only", "parameters": "70e9", "training_tokens": "", "hardware": "", "device_hours": "",
         "country": "", "year": "2025"},
    ])
    src = tmp_path / "runs.csv"
    runs.to_csv(src, index=False)
    dst = tmp_path / "out" / "est.csv"
    dst.parent.mkdir()
    code, out, err = _run(capsys, "estimate", "--input", str(src), "--output", str(dst))
    assert code == 0, err
    assert "wrote 3 rows" in err
    res = pd.read_csv(dst, keep_default_na=False)
    assert list(res.columns) == CONTRACT
    assert list(res["run_id"]) == list(runs["run_id"])
    assert list(res["tier"]) == ["T1", "T2", "T3"]


@pytest.mark.parametrize(("argv", "field"), [
    (["estimate", "--parameters", "lots"], "parameters"),
    (["estimate", "--parameters", "7"], "parameters"),
    (["estimate", "--hardware", "A10O", "--device-hours", "100"], "hardware"),
    (["estimate", "--pue", "0.8"], "pue"),
    (["estimate"], "run"),
    (["estimate", *FLAGS, "--ci-level", "90"], "ci_level"),
])
def test_estimate_bad_flags_exit_2_with_one_error_line(capsys, argv, field):
    code, out, err = _run(capsys, *argv)
    assert code == 2
    line = _one_error_line(err)
    assert line.startswith(f"error: {field}=")
    assert out == ""


def test_ci_is_a_deprecated_spelling_of_ci_level(capsys):
    code, default, _ = _run(capsys, "estimate", *FLAGS, "--format", "csv")
    assert code == 0
    code, new, err_new = _run(capsys, "estimate", *FLAGS, "--ci-level", "0.5", "--format", "csv")
    assert code == 0 and "deprecated" not in err_new
    code, old, err_old = _run(capsys, "estimate", *FLAGS, "--ci", "0.5", "--format", "csv")
    assert code == 0
    assert old == new
    assert "warning: --ci is deprecated, use --ci-level (same meaning)" in err_old
    wide, narrow = (pd.read_csv(io.StringIO(t)).iloc[0] for t in (default, new))
    assert wide["co2_t_lower"] < narrow["co2_t_lower"] < narrow["co2_t_upper"] < wide["co2_t_upper"]


def test_model_is_a_deprecated_spelling_of_posterior(capsys, tiny_fit):
    path = str(tiny_fit["path"])
    code, default, _ = _run(capsys, "estimate", *FLAGS, "--format", "csv")
    code, new, err_new = _run(capsys, "estimate", *FLAGS, "--posterior", path, "--format", "csv")
    assert code == 0 and "deprecated" not in err_new
    code, old, err_old = _run(capsys, "estimate", *FLAGS, "--model", path, "--format", "csv")
    assert code == 0 and old == new != default
    assert "warning: --model is deprecated, use --posterior (same meaning)" in err_old


@pytest.mark.parametrize(("content", "needle"), [
    (b'run_id,parameters\n"unterminated,7e9\n', "not a readable CSV"),
    (b"\xff\xfe\x00\x01garbage", "not a readable CSV"),
    (b"", "empty"),
    (b"run_id,parameters\n", "no rows"),
])
def test_estimate_bad_csv_files(capsys, tmp_path, content, needle):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    code, _, err = _run(capsys, "estimate", "--input", str(path))
    assert code == 2
    line = _one_error_line(err)
    assert line.startswith("error: input=")
    assert str(path) in line and needle in line


def test_estimate_bad_value_in_csv_names_field_and_row(capsys, tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("run_id,parameters,hardware\nok,7e9,H100\nbad,7e9,A10O\n")
    code, _, err = _run(capsys, "estimate", "--input", str(path))
    assert code == 2
    line = _one_error_line(err)
    assert line.startswith("error: hardware='A10O'") and "'bad'" in line


def test_estimate_missing_input_file(capsys, tmp_path):
    missing = tmp_path / "nope.csv"
    code, _, err = _run(capsys, "estimate", "--input", str(missing))
    assert code == 2
    line = _one_error_line(err)
    assert str(missing) in line and "not found" in line


def test_estimate_input_and_flags_together(capsys, tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("parameters\n7e9\n")
    code, _, err = _run(capsys, "estimate", "--input", str(path), "--parameters", "7e9")
    assert code == 2
    line = _one_error_line(err)
    assert line.startswith("error: --input=") and "not both" in line


# ----------------------------------------------------------------------------- data


def test_data_lists_runs(capsys, dataset):
    code, out, _ = _run(capsys, "data")
    assert code == 0
    for rid in ("meta-llama-2-7b", "google-t5-11b", "allenai-olmo-2-13b-morrison", "it5-large"):
        assert rid in out
    assert f"{len(dataset)} published figures" in out


def test_data_csv_format_has_every_row(capsys, dataset):
    code, out, _ = _run(capsys, "data", "--format", "csv")
    assert code == 0
    df = pd.read_csv(io.StringIO(out.split("\n\n")[0]))
    assert list(df["run_id"]) == list(dataset["run_id"])


def test_data_run_shows_source_and_quote(capsys):
    code, out, _ = _run(capsys, "data", "--run", "llama-2-7b")
    assert code == 0
    assert out.startswith("meta-llama-2-7b")
    assert "Llama 2 model card" in out  # source
    assert '"|Llama 2 7B|184320|400|31.22|"' in out  # verbatim quote
    assert "31.22" in out and "184320" in out


def test_data_run_by_run_id_of_a_group_member(capsys):
    code, out, _ = _run(capsys, "data", "--run", "meta-llama-1-65b")
    assert code == 0
    assert "LLaMA" in out and "1,022,362" in out  # quote of Table 15


def test_data_unknown_run_exits_2(capsys):
    code, out, err = _run(capsys, "data", "--run", "nosuchrun")
    assert code == 2
    line = _one_error_line(err)
    assert line.startswith("error: --run='nosuchrun'") and "carbon-bayes data" in line


def test_data_unknown_run_did_you_mean(capsys):
    code, _, err = _run(capsys, "data", "--run", "llama-2-7")
    assert code == 2
    line = _one_error_line(err)
    assert "did you mean" in line and "'llama-2-7b'" in line


def test_data_hardware(capsys):
    code, out, _ = _run(capsys, "data", "--hardware", "--format", "csv")
    assert code == 0
    df = pd.read_csv(io.StringIO(out)).set_index("hardware_id")
    assert df.loc["A100-SXM4-80GB", "tdp_w"] == 400
    assert "A100-80GB" in df.loc["A100-SXM4-80GB", "aliases"]
    assert "TPUV3" in df.index


def test_data_references(capsys):
    code, out, _ = _run(capsys, "data", "--references")
    assert code == 0
    for f in ("priors/accelerators.csv", "priors/grid_intensity_country.csv", "priors/model_priors.toml"):
        assert f in out
    assert "Licences and attribution" in out


# ----------------------------------------------------------------------------- help


@pytest.mark.parametrize("argv", [["--help"], ["estimate", "--help"], ["data", "--help"], ["fit", "--help"]])
def test_help(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: carbon-bayes")
    if argv == ["--help"]:
        assert "estimate" in out and "data" in out
    if argv[0] == "estimate":
        for flag in ("--device-hours", "--carbon-intensity", "--input", "--output", "--format"):
            assert flag in out
    if argv[0] == "data":
        assert "--run" in out and "--hardware" in out and "--references" in out


def test_no_command_prints_help(capsys):
    code, out, _ = _run(capsys)
    assert code == 0 and "usage: carbon-bayes" in out


# ----------------------------------------------------------------------------- installed script


def test_installed_console_script_runs_from_any_directory(tmp_path):
    exe = Path(sys.executable).parent / "carbon-bayes"
    if not exe.exists():
        pytest.skip(f"console script not installed next to {sys.executable}")
    help_ = subprocess.run([str(exe), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert help_.returncode == 0, help_.stderr
    assert "usage: carbon-bayes" in help_.stdout
    est = subprocess.run([str(exe), "estimate", *FLAGS, "--format", "csv"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert est.returncode == 0, est.stderr
    df = pd.read_csv(io.StringIO(est.stdout), keep_default_na=False)
    assert list(df.columns) == CONTRACT and df["tier"].iloc[0] == "T1"
    assert list(tmp_path.iterdir()) == []  # nothing written to the working directory
