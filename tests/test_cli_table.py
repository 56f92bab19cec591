"""The human table of ``carbon-bayes estimate``: fits the terminal, names the interval level, notes under it."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from carbon_bayes.cli import main
from carbon_bayes.cli.common import print_human

LONG = "hardware not given: drawn from what runs of 2024 used; " * 8
FRAME = pd.DataFrame({"run_id": ["a", "b"], "energy_mwh_median": [12.5, 3.0], "energy_mwh_lower": [5.0, 1.0],
                      "energy_mwh_upper": [40.0, 9.0], "tier": ["T3", "T1"], "warnings": [LONG, ""],
                      "voi_top_input": ["device_hours", ""], "voi_narrowing": [12.0, 1.0]})
T3_FLAGS = ["estimate", "--parameters", "7e9", "--year", "2024", "--seed", "3"]


def test_table_fits_the_width_and_puts_warnings_and_voi_apart(capsys):
    print_human(FRAME, ci_level=0.8, width=72)
    lines = capsys.readouterr().out.splitlines()
    assert max(len(ln.rstrip()) for ln in lines) <= 72
    assert "80% equal-tailed credible interval" in lines[0]
    header = lines[1].split()
    assert "warnings" not in header and "voi_top_input" not in header and "energy_mwh_lower" in header
    voi_at = next(i for i, ln in enumerate(lines) if ln.startswith("value of information"))
    assert lines[voi_at + 1].split() == ["run_id", "voi_top_input", "voi_narrowing"]
    warn_at = lines.index("warnings:")
    notes = " ".join(ln.strip() for ln in lines[warn_at + 1:])
    assert notes.startswith("a: hardware not given") and "b:" not in notes  # only runs that have a warning
    assert notes.replace("a: ", "", 1).split() == LONG.split()  # the whole text, wrapped


def test_cli_table_at_a_narrow_terminal(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main([*T3_FLAGS, "--voi"]) == 0
    out = capsys.readouterr().out
    assert max(len(ln.rstrip()) for ln in out.splitlines()) <= 80
    assert "90% equal-tailed credible interval" in out and "\nwarnings:\n" in out
    assert "\nvalue of information" in out


def test_machine_formats_keep_every_column(capsys):
    assert main([*T3_FLAGS, "--voi", "--format", "csv"]) == 0
    df = pd.read_csv(io.StringIO(capsys.readouterr().out), keep_default_na=False)
    assert {"warnings", "voi_top_input", "voi_narrowing"} <= set(df.columns)
    assert "hardware not given" in df["warnings"].iloc[0]
    assert main([*T3_FLAGS, "--format", "json"]) == 0
    (rec,) = json.loads(capsys.readouterr().out)
    assert "hardware not given" in rec["warnings"]


def test_quantile_columns_name_the_quantity():
    from carbon_bayes import estimate

    est = estimate({"parameters": 7e9, "hardware": "H100", "device_hours": 1e6, "year": 2024}, seed=3)
    q = est.quantile([0.05, 0.95], quantity="energy_mwh")
    assert list(q.columns) == ["energy_mwh_q0.05", "energy_mwh_q0.95"] and q.columns.name == "energy_mwh"
    assert list(est.quantile(0.5).columns) == ["co2_t_q0.5"]


def test_readme_reproduces_the_llama2_card_next_to_the_physical_estimate():
    """README "Reproducing a model card's figure": the card's 31.22 t with its accounting; the default is wider."""
    from carbon_bayes import estimate

    run = {"parameters": 7e9, "training_tokens": 2e12, "hardware": "A100-80GB", "device_hours": 184320,
           "country": "US", "year": 2023}
    card = estimate({**run, "energy_basis": "tdp", "power_per_device_w": 400, "pue": 1.0,
                     "carbon_intensity": 0.4234}).to_frame().iloc[0]
    assert card["energy_mwh_median"] == pytest.approx(184320 * 0.4 / 1000, rel=0.01)  # kWh -> MWh
    assert card["co2_t_median"] == pytest.approx(31.22, rel=0.01)
    phys = estimate(run).to_frame().iloc[0]
    # the figures the README prints for the physical estimate are the ones the package gives
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    m = re.search(r"physical estimate of the same run: median (\d+) MWh \(90% CI (\d+)-(\d+)\), "
                  r"(\d+) t \((\d+)-(\d+)\)", readme)
    assert m, "README: the physical-estimate comment of the Llama 2 example is missing"
    e_med, e_lo, e_hi, c_med, c_lo, c_hi = map(int, m.groups())
    assert (round(phys["energy_mwh_median"]), round(phys["co2_t_median"])) == (e_med, c_med)
    assert (round(phys["energy_mwh_lower"]), round(phys["energy_mwh_upper"])) == (e_lo, e_hi)
    assert (round(phys["co2_t_lower"]), round(phys["co2_t_upper"])) == (c_lo, c_hi)
    assert phys["energy_mwh_lower"] < card["energy_mwh_median"] < phys["energy_mwh_upper"]  # the card is inside
