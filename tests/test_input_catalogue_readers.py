"""The bad-input catalogue, part 3: measurement files, and budget, forecast, report and update inputs.

CodeCarbon files of every released layout, Hugging Face model cards and user CSVs of runs with labels.
"""

from __future__ import annotations

import pytest
from input_catalogue import EXACT, EXACT_MWH, PLAIN, Case, cli, close, estimate, ids, run_case, write
from test_readers_tolerant import LAYOUTS, ROW

from carbon_bayes import budget
from carbon_bayes.forecast import forecast
from carbon_bayes.measurements import check_cluster, read_measurements, update_from_measurements
from carbon_bayes.report import report
from carbon_bayes.resources import default_posterior_path


# ------------------------------------------------------------------------------ CodeCarbon
def _cc(header: str = LAYOUTS["3.x"], rows=None, *, sep: str = ",", eol: str = "\n", **cells) -> str:
    cols = header.split(",")
    rows = rows if rows is not None else [{**ROW, **cells}]
    return eol.join([sep.join(cols)] + [sep.join(r.get(c, "") for c in cols) for r in rows]) + eol


def _read(text: str | bytes, name: str = "emissions.csv", **kw):
    return lambda p: read_measurements(write(p, name, text), **kw)


def _cc_bad(label: str, field: str, *says: str, **cells) -> Case:
    return Case(f"codecarbon-{label}", _read(_cc(**cells)), field, says)


def _one(check):
    def run(rows):
        assert len(rows) == 1, rows
        return check(rows.iloc[0])

    return run


GPU_KWH = 0.302  # ROW: the GPUs' own reading, fitted with scope gpu
CODECARBON_CASES = [
    _cc_bad("negative-energy", "energy_consumed", "'-0.599'", "cannot be negative", energy_consumed="-0.599"),
    _cc_bad("zero-energy", "energy_consumed", "'0'", "greater than 0", energy_consumed="0"),
    _cc_bad("empty-energy", "energy_consumed", "is empty", energy_consumed=""),
    _cc_bad("energy-text", "energy_consumed", "'n/a'", "must be a number in kWh", energy_consumed="n/a"),
    _cc_bad("energy-inf", "energy_consumed", "'inf'", "finite", energy_consumed="inf"),
    _cc_bad("energy-tiny", "energy_consumed", "below 1e-4 kWh", energy_consumed="1e-9", gpu_energy="0",
            cpu_energy="0", ram_energy="0"),
    _cc_bad("zero-duration", "duration", "'0'", "greater than 0", duration="0"),
    _cc_bad("negative-duration", "duration", "'-5'", "cannot be negative", duration="-5"),
    _cc_bad("clock-duration", "duration", "'1:30:00'", "must be a number in seconds", duration="1:30:00"),
    _cc_bad("one-second", "duration", "under 4 GPU-seconds", duration="1"),
    _cc_bad("gpu-count-text", "gpu_count", "'eight'", "must be a number", gpu_count="eight"),
    _cc_bad("gpu-count-negative", "gpu_count", "'-1'", "cannot be negative", gpu_count="-1"),
    _cc_bad("gpu-model-unknown", "gpu_model", "'1 x Matrox G200'", "hardware=", gpu_model="1 x Matrox G200"),
    _cc_bad("gpu-models-mixed", "gpu_model", "lists different accelerators",
            gpu_model='"1 x NVIDIA A100-SXM4-80GB, 1 x NVIDIA H100 80GB HBM3"', gpu_count="2"),
    _cc_bad("cpu-only", "gpu_model", "no GPU was recorded", gpu_model="", gpu_count=""),
    _cc_bad("timestamp-text", "timestamp", "'yesterday'", "not a date", timestamp="yesterday"),
    _cc_bad("negative-emissions", "emissions", "'-0.11'", "cannot be negative", emissions="-0.11"),
    _cc_bad("pue-below-one", "pue", "'0.5'", "at least 1", pue="0.5"),
    _cc_bad("gpu-energy-above-total", "gpu_energy", "larger than energy_consumed", gpu_energy="5"),
    Case("codecarbon-no-duration-column", _read(_cc(LAYOUTS["3.x"].replace("duration,", ""))), "column",
         ("'duration'", "export it again")),
    Case("codecarbon-energy-column-renamed", _read(_cc(LAYOUTS["2.8"].replace("energy_consumed", "energy_kwh")),
                                                   format="codecarbon"), "column", ("'energy_consumed'",)),
    Case("codecarbon-1x-without-hardware", _read(_cc(LAYOUTS["1.x"])), "hardware", ("'missing'", "--hardware")),
    Case("codecarbon-header-only", _read(LAYOUTS["3.x"] + "\n"), "measurements", ("only a header",)),
    Case("codecarbon-gzip", _read(__import__("gzip").compress(_cc().encode())), "measurements",
         ("not UTF-8", "gzip")),
    Case("codecarbon-ragged-row", _read(_cc() + ",".join(ROW.values()) + ",x,y\n"), "fields", ("the header has",)),
    Case("codecarbon-n-nodes-fraction", _read(_cc(LAYOUTS["3.x"] + ",n_nodes", n_nodes="1.5")), "n_nodes",
         ("'1.5'", "whole number of nodes")),
    Case("codecarbon-n-nodes-zero", _read(_cc(LAYOUTS["3.x"] + ",n_nodes", n_nodes="0")), "n_nodes",
         ("'0'", "at least 1")),
    *[Case(f"codecarbon-layout-{v}-reads-the-file's-values",
           _read(_cc(LAYOUTS[v]), facts={"hardware": "RTX 3060", "n_devices": 1} if v == "1.x" else None),
           check=_one(lambda r, v=v: close(r.energy_mwh, (GPU_KWH if v != "1.x" else 0.599) / 1000, 1e-9)
                      and close(r.device_hours, 7200.5 / 3600, 1e-9) and close(r.co2_t, 0.11e-3, 1e-9)))
      for v in LAYOUTS],
    Case("codecarbon-crlf-bom-quoted", _read(
        "\ufeff" + _cc(LAYOUTS["2.8"], eol="\r\n").replace(",Germany,", ',"Germany",')),
         check=_one(lambda r: close(r.energy_mwh, GPU_KWH / 1000, 1e-9) and r.country == "DEU")),
    Case("codecarbon-tabs", _read(_cc(LAYOUTS["2.8"], sep="\t")), check=_one(lambda r: r.hardware == "RTX-3060")),
    Case("codecarbon-columns-reordered", _read(_cc(",".join(reversed(LAYOUTS["3.x"].split(","))))),
         check=_one(lambda r: close(r.energy_mwh, GPU_KWH / 1000, 1e-9))),
    Case("codecarbon-extra-columns", _read(_cc(LAYOUTS["3.x"] + ",my_tag,notes")),
         check=_one(lambda r: close(r.device_hours, 7200.5 / 3600, 1e-9))),
    Case("codecarbon-blank-lines", _read(_cc(rows=[ROW, {**ROW, "run_id": "x2"}], eol="\n\n")),
         check=lambda rows: len(rows) == 2),
    Case("codecarbon-gpu-count-zero-uses-the-model-count", _read(_cc(gpu_count="0", gpu_model="2 x RTX 3060")),
         check=_one(lambda r: r.n_devices == 2 and close(r.device_hours, 2 * 7200.5 / 3600, 1e-9))),
    Case("codecarbon-unknown-country-code-is-a-note", _read(_cc(country_iso_code="XXX")),
         check=_one(lambda r: r.country == "" and "country_iso_code 'XXX' not recognised" in r.decision_note)),
    Case("codecarbon-two-nodes-double-the-reading", _read(_cc(LAYOUTS["3.x"] + ",n_nodes", n_nodes="2")),
         check=_one(lambda r: close(r.energy_mwh, 2 * GPU_KWH / 1000, 1e-9) and r.n_devices == 2)),
]


# ------------------------------------------------------------------------------ model cards
def _card(block: str) -> str:
    return f"---\nlanguage: en\n{block}\n---\n\n# a model\n"


def _card_case(label: str, block: str, field: str | None, *says: str, check=None) -> Case:
    return Case(f"card-{label}", _read(_card(block), "m/README.md"), field, says, check=check)


CARD_CASES = [
    _card_case("bad-yaml", "co2_eq_emissions: {emissions: 12", "co2_eq_emissions", "cannot be parsed", "fix the YAML"),
    _card_case("a-list", "co2_eq_emissions: [1, 2]", "co2_eq_emissions", "[1, 2]", "number of grams"),
    _card_case("no-emissions-key", "co2_eq_emissions:\n  source: codecarbon", "co2_eq_emissions.emissions", "None",
               "number of grams"),
    _card_case("with-unit", "co2_eq_emissions:\n  emissions: 1.2 kg", "co2_eq_emissions.emissions", "'1.2 kg'",
               "number of grams"),
    _card_case("boolean", "co2_eq_emissions: true", "co2_eq_emissions", "True", "number of grams"),
    _card_case("negative", "co2_eq_emissions: -5", "co2_eq_emissions", "-5", "cannot be negative"),
    _card_case("nan", "co2_eq_emissions: .nan", "co2_eq_emissions", "nan", "number of grams"),
    _card_case("inf", "co2_eq_emissions:\n  emissions: .inf", "co2_eq_emissions.emissions", "inf", "number of grams"),
    _card_case("field-missing", "license: mit", "co2_eq_emissions", "'missing'", "add e.g."),
    _card_case("grams-number", "co2_eq_emissions: 7540.5", None,
               check=_one(lambda r: close(r.co2_t, 7540.5e-6, 1e-12))),
    _card_case("grams-thousands", "co2_eq_emissions:\n  emissions: '1,200'", None,
               check=_one(lambda r: close(r.co2_t, 1.2e-3, 1e-12))),
    _card_case("codecarbon-source-is-measured", "co2_eq_emissions:\n  emissions: 100\n  source: CodeCarbon", None,
               check=_one(lambda r: r.energy_basis == "measured" and close(r.co2_t, 1e-4, 1e-12))),
    _card_case("unknown-hardware-is-a-note", "co2_eq_emissions:\n  emissions: 100\n  hardware_used: 3 abacuses",
               None, check=_one(lambda r: r.hardware == "" and "not recognised" in r.decision_note)),
    Case("card-not-a-mapping", _read("---\n- a\n- b\n---\n", "README.md"), "co2_eq_emissions",
         ("'list'", "not a mapping")),
    Case("card-front-matter-unclosed", _read("---\nco2_eq_emissions: 5\n# no end\n", "README.md"), "co2_eq_emissions",
         ("---",)),
]


# ------------------------------------------------------------------------------ user CSVs
UHEAD = "run_id,hardware,n_devices,device_hours,year,energy_mwh"


def _user(label: str, text: str, field: str | None, *says: str, check=None, **kw) -> Case:
    return Case(f"user-csv-{label}", _read(text, "runs.csv", **kw), field, says, check=check)


USER_CASES = [
    _user("no-label", "run_id,hardware,device_hours,year\na,H100,100,2024\n", "column", "'energy_mwh'",
          "add energy_mwh"),
    _user("two-energy-labels", "hardware,device_hours,energy_mwh,energy_kwh\nH100,100,0.05,50\n", "column",
          "'energy_kwh'", "keep one"),
    _user("negative-energy", f"{UHEAD}\na,H100,8,100,2024,-0.05\n", "energy_mwh", "'-0.05'", "cannot be negative"),
    _user("zero-energy", f"{UHEAD}\na,H100,8,100,2024,0\n", "energy_mwh", "'0'", "greater than 0"),
    _user("energy-with-unit", f"{UHEAD}\na,H100,8,100,2024,12 MWh\n", "energy_mwh", "'12 MWh'", "number in MWh"),
    _user("negative-co2", "hardware,device_hours,year,co2_t\nH100,100,2024,-1\n", "co2_t", "'-1'",
          "cannot be negative"),
    _user("empty-labels", f"{UHEAD},co2_t\na,H100,8,100,2024,,\n", "energy_mwh, co2_t", "has no label"),
    _user("pue-included-maybe", f"{UHEAD},pue_included\na,H100,8,100,2024,0.05,maybe\n", "pue_included", "'maybe'",
          "True or False"),
    _user("scope-unknown", f"{UHEAD},scope\na,H100,8,100,2024,0.05,continued\n", "scope", "'continued'",
          "pretraining (default) or finetune"),
    _user("bad-hardware", f"{UHEAD}\na,A10O,8,100,2024,0.05\n", "hardware", "'A10O'", "did you mean"),
    _user("estimate-table-read-back", "run_id,energy_mwh_median,co2_t_median\na,1,2\n", "column",
          "'energy_mwh_median'", "not a measurement"),
    _user("unknown-format", f"{UHEAD}\na,H100,8,100,2024,0.05\n", "format", "'xml'", "codecarbon", format="xml"),
    _user("fact-unknown", f"{UHEAD}\na,H100,8,100,2024,0.05\n", "facts", "'n_device'", "did you mean 'n_devices'",
          facts={"n_device": 8}),
    _user("fact-bad-value", f"{UHEAD}\na,H100,8,100,2024,0.05\n", "n_devices", "-1", "greater than zero",
          facts={"n_devices": -1}),
    _user("watts-impossible", f"{UHEAD}\na,H100,1,1,2024,5\n", "energy_mwh", "W per device", "check the units"),
    _user("kwh-label-is-converted", "hardware,device_hours,year,energy_kwh,co2_kg\nH100,1000,2024,500,250\n", None,
          check=_one(lambda r: close(r.energy_mwh, 0.5, 1e-12) and close(r.co2_t, 0.25, 1e-12))),
    _user("fact-overrides-the-year", f"{UHEAD}\na,H100,8,100,2023,0.05\n", None, facts={"year": 2025},
          check=_one(lambda r: r.year == 2025)),
    _user("semicolons-decimal-commas", "hardware;device_hours;year;energy_mwh\nH100;100;2024;0,05\n", None,
          check=_one(lambda r: close(r.energy_mwh, 0.05, 1e-12))),
    _user("binary", bytes(range(256)), "measurements", "not UTF-8"),
    _user("empty", "", "measurements", "the file is empty"),
]

# ------------------------------------------------------------------------------ budget, forecast, report, update
_B = {**PLAIN, "country": "US"}
BUDGET_CASES = [
    *[Case(f"budget-{v!r}", lambda _p, v=v: budget.plan(_B, budget_t=v, n_draws=100), "budget_t", (repr(v), fix))
      for v, fix in ((-1, "positive"), (0, "positive"), ("abc", "number of tonnes"), (float("nan"), "positive"),
                     (float("inf"), "positive"), (None, "number of tonnes"))],
    *[Case(f"max_risk-{v!r}", lambda _p, v=v: budget.plan(_B, budget_t=1, max_risk=v, n_draws=100), "max_risk",
           (repr(v), fix)) for v, fix in ((0, "strictly between"), (1, "0.05 for 5%"), (5, "0.05 for 5%"),
                                          ("x", "probability"), (-0.1, "strictly between"))],
    *[Case(f"n_trials-{v!r}", lambda _p, v=v: budget.sweep(_B, n_trials=v, n_draws=100), "n_trials", (repr(v), fix))
      for v, fix in ((0, "at least 1"), (1.5, "whole number"), ("abc", "whole number"), (float("inf"), "whole number"),
                     (2_000_000, "at most 1,000,000"), (-3, "at least 1"))],
    Case("alternatives-typo-column", lambda _p: budget.plan(_B, 1, alternatives=[{"regoin": "x"}], n_draws=100),
         "alternatives", ("'regoin'", "did you mean 'region'")),
    Case("alternatives-bad-region", lambda _p: budget.plan(_B, 1, alternatives=[{"region": "gcp:mars1"}], n_draws=100),
         "region", ("'gcp:mars1'",)),
    Case("carbon_at_risk-q-out-of-range", lambda _p: estimate(PLAIN).carbon_at_risk(1.5), "q", ("1.5",)),
    Case("carbon_at_risk-q-text", lambda _p: estimate(PLAIN).carbon_at_risk("high"), "q", ("'high'",)),
    Case("expected_shortfall-text", lambda _p: estimate(PLAIN).expected_shortfall("ten"), "budget_t", ("'ten'",)),
    Case("expected_shortfall-exact", lambda _p: estimate(EXACT).expected_shortfall(0.1),
         check=lambda s: close(s.iloc[0], 0.16936 - 0.1, 0.05)),
    Case("cli-budget-text", lambda _p: cli("budget", "--budget-t", "ten", "--hardware", "A100"),
         "--budget-t", ("'ten'", "number of tonnes")),
    Case("cli-budget-risk-percent", lambda _p: cli("budget", "--budget-t", "1", "--max-risk", "5",
                                                           "--hardware", "A100"),
         "--max-risk", ("'5'", "0.05 for 5%")),
    Case("cli-budget-trials-zero", lambda _p: cli("budget", "--budget-t", "1", "--trials", "0", "--hardware", "A100"),
         "--trials", ("'0'", "at least 1")),
]
_F = {"energy_so_far_mwh": 0.1}
FORECAST_CASES = [
    *[Case(f"forecast-fraction-{v!r}", lambda _p, v=v: forecast(EXACT, fraction_done=v, **_F), "fraction_done",
           (repr(v), fix)) for v, fix in ((None, "e.g. 0.3"), (0, "(0, 1]"), (-0.1, "(0, 1]"), (50, "percentage"),
                                          (1.5, "percentage"), ("abc", "(0, 1]"), (float("nan"), "(0, 1]"))],
    *[Case(f"forecast-energy-{v!r}", lambda _p, v=v: forecast(EXACT, fraction_done=0.5, energy_so_far_mwh=v),
           "energy_so_far_mwh", (repr(v), "MWh")) for v in (-1, 0, "x", float("nan"), float("inf"))],
    Case("forecast-nothing-so-far", lambda _p: forecast(EXACT, fraction_done=0.5), "energy_so_far_mwh",
         ("None", "--hours-so-far")),
    Case("forecast-negative-budget", lambda _p: forecast(EXACT, fraction_done=0.5, budget_t=-1, **_F), "budget_t",
         ("-1", ">= 0")),
    Case("forecast-negative-sigma", lambda _p: forecast(EXACT, fraction_done=0.5, progress_sigma=-1, **_F),
         "progress_sigma", ("-1",)),
    Case("forecast-min-ess-zero", lambda _p: forecast(EXACT, fraction_done=0.5, min_ess=0, **_F), "min_ess", ("0",)),
    Case("forecast-two-runs", lambda _p: forecast([EXACT, EXACT], fraction_done=0.5, **_F), "run", ("2 runs",)),
    Case("forecast-done-is-what-was-used", lambda _p: forecast(EXACT, fraction_done=1.0, energy_so_far_mwh=EXACT_MWH),
         check=lambda fc: close(fc.energy_mwh["median"], EXACT_MWH)),
    Case("cli-forecast-fraction-zero", lambda _p: cli("forecast", "--hardware", "A100", "--device-hours", "9",
                                                      "--energy-so-far-mwh", "1", "--fraction-done", "0"),
         "fraction_done", ("0", "(0, 1]")),
]
REPORT_CASES = [
    Case("report-format-unknown", lambda _p: report(EXACT, format="pdf", n_draws=100), "format", ("'pdf'", "markdown")),
    Case("report-card-of-two-runs", lambda _p: report([EXACT, EXACT], format="hf-card", n_draws=100), "format",
         ("'hf-card'", "one run")),
    Case("report-bad-input", lambda _p: report({**EXACT, "pue": 0.5}, n_draws=100), "pue", ("0.5",)),
    Case("report-card-grams", lambda _p: report(EXACT, format="hf-card", n_draws=100),
         check=lambda text: "emissions: 170000\n" in text),  # 0.16936 t is 169,360 g; 2 significant figures
    Case("cli-report-format-unknown", lambda _p: cli("report", *("--hardware", "A100"), "--format", "pdf"), "--format",
         ("'pdf'", "invalid choice")),
    Case("update-cluster-path", lambda _p: check_cluster("../x"), "cluster", ("'../x'", "letters, digits")),
    Case("update-cluster-space", lambda _p: check_cluster("my lab"), "cluster", ("'my lab'",)),
    Case("update-out-not-nc", lambda p: update_from_measurements("x.csv", out=p / "x.txt"), "out", ("x.txt", ".nc")),
    Case("update-out-is-the-shipped-posterior", lambda _p: update_from_measurements(
        "x.csv", out=default_posterior_path()), "out", ("never modified",)),
    Case("cli-update-draws-zero", lambda _p: cli("update", "--measurements", "x.csv", "--draws", "0"), "--draws",
         ("0", "positive integer")),
    Case("cli-update-target-accept", lambda _p: cli("update", "--measurements", "x.csv", "--target-accept", "1.5"),
         "--target-accept", ("1.5", "[0.5, 1)")),
    Case("cli-update-missing-file", lambda p: cli("update", "--measurements", str(p / "none.csv"), "--dry-run"),
         "measurements", ("none.csv", "file not found")),
]

CASES = CODECARBON_CASES + CARD_CASES + USER_CASES + BUDGET_CASES + FORECAST_CASES + REPORT_CASES


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_readers_and_decisions_case(case, tmp_path):
    run_case(case, tmp_path)
