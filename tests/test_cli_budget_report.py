"""CLI: `carbon-bayes budget`, `carbon-bayes report` and `estimate --voi`: outputs and exit codes."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from carbon_bayes.cli import main

RUN_FLAGS = ["--parameters", "7e9", "--training-tokens", "2e12", "--hardware", "H100", "--year", "2024"]
SMALL_FLAGS = ["--parameters", "1.3e9", "--training-tokens", "2.6e10", "--hardware", "A100-80GB", "--year", "2024",
               "--region", "aws:us-east-1"]


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv, field", [
    (["--budget-t", "-1"], "--budget-t"),
    (["--budget-t", "0"], "--budget-t"),
    (["--budget-t", "ten"], "--budget-t"),
    (["--budget-t", "10", "--max-risk", "2"], "--max-risk"),
    (["--budget-t", "10", "--max-risk", "0"], "--max-risk"),
    (["--budget-t", "10", "--alternatives", "/no/such/alternatives.csv"], "--alternatives"),
    (["--budget-t", "10", "--trials", "0"], "--trials"),
])
def test_budget_bad_input_exits_2_with_one_line(capsys, argv, field):
    code, out, err = run_cli(capsys, "budget", *argv, *RUN_FLAGS)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}=")
    assert out == ""


def test_budget_single_run_json_carries_prob_exceeds(capsys):
    code, out, _ = run_cli(capsys, "budget", "--budget-t", "50", *RUN_FLAGS, "--region", "gcp:us-east1",
                           "--format", "json")
    assert code == 0
    rec = json.loads(out)[0]
    assert 0 < rec["prob_exceeds"] < 1
    assert rec["meets_risk"] == (rec["prob_exceeds"] <= 0.05)
    assert rec["carbon_at_risk_t"] >= rec["co2_t_median"]


def test_budget_regions_compared_with_first_as_reference(capsys, tmp_path):
    png = tmp_path / "alt.png"
    code, out, err = run_cli(capsys, "budget", "--budget-t", "20", *RUN_FLAGS, "--region", "gcp:us-east1",
                             "gcp:europe-north1", "--format", "json", "--plot", str(png))
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 2
    ref = next(r for r in rows if r["is_reference"])
    alt = next(r for r in rows if not r["is_reference"])
    assert ref["region"] == "gcp:us-east1" and alt["region"] == "gcp:europe-north1"
    assert alt["prob_better"] > 0.5 and "prob_exceeds" in alt
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_budget_alternatives_file(capsys, tmp_path):
    alts = tmp_path / "alts.csv"
    pd.DataFrame({"region": ["gcp:europe-north1", ""], "hardware": ["", "A100-80GB"]}).to_csv(alts, index=False)
    code, out, _ = run_cli(capsys, "budget", "--budget-t", "20", *RUN_FLAGS, "--region", "gcp:us-east1",
                           "--alternatives", str(alts), "--format", "csv")
    assert code == 0
    df = pd.read_csv(pd.io.common.StringIO(out))
    assert set(df["alternative"]) == {"reference", "region=gcp:europe-north1", "hardware=A100-SXM4-80GB"}
    bad = tmp_path / "bad.csv"
    bad.write_text("regoin\ngcp:europe-north1\n")
    code, _, err = run_cli(capsys, "budget", "--budget-t", "20", *RUN_FLAGS, "--alternatives", str(bad))
    assert code == 2 and "unknown override column" in err and len(err.strip().splitlines()) == 1


def test_budget_sweep_of_trials_and_of_a_file(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "budget", "--budget-t", "8", *SMALL_FLAGS, "--trials", "80", "--format", "json")
    assert code == 0
    rec = json.loads(out)[0]
    assert rec["n_runs"] == 80 and 0 <= rec["prob_exceeds"] <= 1
    runs = tmp_path / "runs.csv"
    pd.DataFrame([{"run_id": "a", "parameters": 1.3e9, "training_tokens": 2.6e10, "hardware": "A100-80GB",
                   "year": 2024}, {"run_id": "b", "parameters": 7e9, "training_tokens": 1e11, "hardware": "H100",
                                   "year": 2024}]).to_csv(runs, index=False)
    code, out, _ = run_cli(capsys, "budget", "--budget-t", "8", "--input", str(runs), "--format", "json")
    assert code == 0
    rec = json.loads(out)[0]
    assert rec["n_runs"] == 2 and rec["runs"] == "total of 2 runs"
    code, _, err = run_cli(capsys, "budget", "--budget-t", "8", "--input", str(runs), "--alternatives", str(runs))
    assert code == 2 and "one run" in err


def test_report_formats(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "report", *RUN_FLAGS, "--n-devices", "256", "--region", "gcp:europe-north1",
                           "--format", "hf-card")
    assert code == 0
    card = yaml.safe_load(out)["co2_eq_emissions"]
    assert card["hardware_used"] == "256 x H100-SXM5" and card["emissions"] > 0
    code, out, _ = run_cli(capsys, "report", *RUN_FLAGS, "--format", "markdown")
    assert code == 0 and out.startswith("## Training energy and emissions") and "```bibtex" in out
    target = tmp_path / "sub" / "report.tex"
    code, out, err = run_cli(capsys, "report", *RUN_FLAGS, "--format", "latex", "--output", str(target))
    assert code == 0 and out == "" and str(target) in err
    assert r"\begin{tabular}" in target.read_text()
    assert [p.name for p in target.parent.iterdir()] == ["report.tex"]  # no temporary file left
    code, out, _ = run_cli(capsys, "report", *RUN_FLAGS, "--format", "json")
    assert code == 0 and json.loads(out)["runs"][0]["tier"] == "T2"


def test_report_errors(capsys, tmp_path):
    runs = tmp_path / "runs.csv"
    pd.DataFrame([{"run_id": "a", "parameters": 7e9}, {"run_id": "b", "parameters": 1e9}]).to_csv(runs, index=False)
    code, _, err = run_cli(capsys, "report", "--input", str(runs), "--format", "hf-card")
    assert code == 2 and err.startswith("error: format=") and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, "report", "--parameters", "7", "--format", "markdown")
    assert code == 2 and err.startswith("error: parameters=")


def test_a_metadata_only_run_gets_its_most_valuable_input_as_a_hint(capsys, monkeypatch):
    import sys

    t3 = ("estimate", "--parameters", "7e10", "--year", "2024", "--architecture", "dense_transformer")
    code, out, err = run_cli(capsys, *t3)
    assert code == 0 and "hint:" not in err  # not at a terminal (a script, a pipe): no hint, no extra time
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out, err = run_cli(capsys, *t3)
    assert code == 0 and "T3" in out
    hint = [line for line in err.splitlines() if line.startswith("hint: metadata only; giving ")]
    assert len(hint) == 1 and "x (--voi" in hint[0]
    top = hint[0].split("giving ")[1].split(" would")[0]
    code, out, _ = run_cli(capsys, *t3, "--voi", "--format", "json")
    assert json.loads(out)[0]["voi_top_input"] == top  # the hint is --voi's answer
    code, out, err = run_cli(capsys, "estimate", *RUN_FLAGS)
    assert code == 0 and "hint:" not in err  # a run with more than metadata gets none


def test_estimate_voi_columns(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "estimate", *RUN_FLAGS, "--voi", "--format", "json")
    assert code == 0
    rec = json.loads(out)[0]
    assert rec["voi_top_input"] in {"device_hours", "carbon_intensity", "pue"}
    assert rec["voi_narrowing"] > 1
    many = tmp_path / "many.csv"
    pd.DataFrame([{"run_id": f"r{i}", "parameters": 7e9} for i in range(51)]).to_csv(many, index=False)
    code, out, err = run_cli(capsys, "estimate", "--input", str(many), "--voi")
    assert code == 2 and err.startswith("error: --voi=") and "at most 50" in err
    code, out, _ = run_cli(capsys, "estimate", "--input", str(many))
    assert code == 0 and "voi_top_input" not in out
