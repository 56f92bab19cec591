"""The bad-input catalogue, part 1: every contract field and the Python API's options.

Each case is a clean error naming the field, the value and the fix, or the input handled with the
value checked against a hand-written expectation (tests/input_catalogue.py runs them). Part 2 (the
command line, --input files, posterior files) is tests/test_input_catalogue_files.py, part 3 (readers,
budget, forecast, report, update) tests/test_input_catalogue_readers.py; docs/bad_input.md states
the total, checked here.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from input_catalogue import EXACT, PLAIN, Case, estimate, exact_ok, frame, ids, run_case, write

from carbon_bayes.errors import PosteriorFileError
from carbon_bayes.schema import normalise_runs

# ------------------------------------------------------------------------------ numeric fields
NUMERIC = ("year", "parameters", "active_parameters", "training_tokens", "training_flops", "n_devices",
           "device_hours", "training_days", "power_per_device_w", "pue", "carbon_intensity")
#: What each field's error says when the value is too small (negative; zero where zero is not allowed).
TOO_SMALL = {"year": "2010 or later", "pue": "at least 1.0", "carbon_intensity": "cannot be negative"}
#: ... and when it is absurdly large (1e300).
TOO_LARGE = {"year": "give a year up to", "parameters": "at most 1e+14", "active_parameters": "at most 1e+14",
             "training_tokens": "at most 1e+15", "training_flops": "more than 1e29 FLOP",
             "n_devices": "at most 1e+07", "device_hours": "at most 1e+10", "training_days": "less than 2,000",
             "power_per_device_w": "5 kW", "pue": "not a datacentre value", "carbon_intensity": "g/kWh"}
#: A number written with its unit, as people type it.
WITH_UNIT = {"year": "FY2024", "parameters": "7 billion", "active_parameters": "37B active",
             "training_tokens": "2T tokens", "training_flops": "1e23 FLOP", "n_devices": "8 GPUs",
             "device_hours": "1e3 h", "training_days": "21 days", "power_per_device_w": "400 W", "pue": "1.1x",
             "carbon_intensity": "0.4 kg/kWh"}
#: A good value of each field for the plain A100 run (for the spellings that must parse to it).
GOOD = {"year": 2024, "parameters": 7e9, "active_parameters": 7e9, "training_tokens": 2e12,
        "training_flops": 8e20, "n_devices": 8, "device_hours": 1000, "training_days": 5,
        "power_per_device_w": 400, "pue": 1.2, "carbon_intensity": 0.4}


def _with(col: str, value) -> dict:
    run = {**PLAIN, col: value}
    if col == "training_days":  # days count with n_devices: 8 devices x 5 days x 24 = 960 h, near the 1,000 h
        run["n_devices"] = 8
    return run


def _bad(col: str, value, label: str, *says: str) -> Case:
    return Case(f"{col}-{label}", lambda _p, v=value: estimate(_with(col, v)), col, says)


def _parsed(col: str, value, label: str, expected: float) -> Case:
    def check(est, col=col, expected=expected):
        got = est.inputs[col].iloc[0]
        assert got == pytest.approx(expected, rel=1e-6), got

    return Case(f"{col}-{label}-parses", lambda _p, v=value: estimate(_with(col, v)), check=check)


def _numeric_cases() -> list[Case]:
    out = []
    for col in NUMERIC:
        small = TOO_SMALL.get(col, "must be greater than zero")
        out += [
            _bad(col, -5, "negative", "-5", small),
            _bad(col, float("inf"), "inf", "inf", "finite"),
            _bad(col, "-inf", "minus-inf-text", "-inf", "finite"),
            _bad(col, 1e300, "huge", "1e+300", TOO_LARGE[col]),
            _bad(col, True, "boolean", "True", "give a number"),
            _bad(col, "lots", "text", "'lots'", "give a number in"),
            _bad(col, WITH_UNIT[col], "with-unit", repr(WITH_UNIT[col]), "give a number in"),
            _bad(col, [[1, 2]], "list-in-cell", "[1, 2]", "one number per cell"),
            _bad(col, 10 ** 400, "int-beyond-float", "give a finite number"),
            _parsed(col, f" {GOOD[col]} ", "padded-text", GOOD[col]),
            _parsed(col, np.float32(GOOD[col]) if col != "carbon_intensity" else Decimal("0.4"),
                    "numpy-or-decimal", GOOD[col]),
        ]
        if col != "carbon_intensity":
            out.append(_bad(col, 0, "zero", "0", small))
    return out


def _ci_zero_is_zero_co2(out) -> bool:  # a zero-carbon contract: no CO2e whatever the energy
    r = out.iloc[0]
    assert r["energy_mwh_median"] > 0 and r["co2_t_median"] == 0 and r["co2_t_upper"] == 0
    return True


SPELLINGS = [  # (field, text, value): numbers as people write them
    ("device_hours", "1,000", 1000.0), ("device_hours", "1_000", 1000.0), ("device_hours", "1e3", 1000.0),
    ("device_hours", "1k", 1000.0), ("device_hours", "184,320", 184320.0), ("parameters", "7B", 7e9),
    ("parameters", "7 b", 7e9), ("parameters", "1.3M", 1.3e6), ("parameters", "7,000,000,000", 7e9),
    ("training_tokens", "2T", 2e12), ("training_tokens", "300G", 3e11), ("n_devices", "+8", 8.0),
    ("power_per_device_w", "0.4k", 400.0), ("year", "2024.0", 2024.0), ("device_hours", Fraction(1000), 1000.0),
    ("device_hours", np.int64(1000), 1000.0), ("device_hours", b"1000", 1000.0),
]
UNKNOWN = [  # NaN, None and empty text are "unknown": the run is estimated without them
    ("pue", float("nan")), ("pue", None), ("pue", ""), ("pue", "  "), ("pue", "NaN"), ("pue", "none"),
    ("device_hours", pd.NA),
]

NUMERIC_CASES = _numeric_cases() + [
    Case("carbon_intensity-zero-means-zero-co2", lambda _p: frame({**EXACT, "carbon_intensity": 0}),
         check=_ci_zero_is_zero_co2),
    Case("decimal-comma-in-a-number", lambda _p: estimate({**PLAIN, "pue": "1,1"}), "pue", ("'1,1'", "1.1")),
    Case("space-as-thousands-separator", lambda _p: estimate({**PLAIN, "device_hours": "1 000"}), "device_hours",
         ("'1 000'", "give a number")),
    Case("hex-number", lambda _p: estimate({**PLAIN, "device_hours": "0x10"}), "device_hours", ("0x10",)),
    Case("exponent-overflow-text", lambda _p: estimate({**PLAIN, "device_hours": "1e400"}), "device_hours",
         ("1e400", "finite")),
    Case("complex-number", lambda _p: estimate({**PLAIN, "device_hours": 1 + 2j}), "device_hours", ("(1+2j)",)),
    Case("negative-zero", lambda _p: estimate({**PLAIN, "device_hours": -0.0}), "device_hours",
         ("-0.0", "greater than zero")),
    Case("fractional-year", lambda _p: estimate({**PLAIN, "year": 2024.25}), "year", ("2024.25", "whole year")),
    Case("date-as-year", lambda _p: estimate({**PLAIN, "year": pd.Timestamp("2024-01-01").date()}), "year",
         ("2024", "give a number")),
    Case("set-in-cell", lambda _p: estimate({**PLAIN, "device_hours": {1000, 2000}}), "device_hours",
         ("one number per cell",)),
    *[Case(f"{c}-{t!r}-parses-as-{v:g}", lambda _p, c=c, t=t: estimate(_with(c, t)),
           check=lambda e, c=c, v=v: e.inputs[c].iloc[0] == v) for c, t, v in SPELLINGS],
    *[Case(f"{c}-{v!r}-is-unknown", lambda _p, c=c, v=v: estimate({**PLAIN, c: v}),
           check=lambda e, c=c: np.isnan(e.inputs[c].iloc[0]) and e.summary["energy_mwh_median"].iloc[0] > 0)
      for c, v in UNKNOWN],
    Case("exact-run-from-thousands-text", lambda _p: frame({**EXACT, "device_hours": "1,000"}), check=exact_ok),
    Case("exact-run-from-kilo-watts", lambda _p: frame({**EXACT, "power_per_device_w": "0.4k"}), check=exact_ok),
    Case("exact-run-all-text", lambda _p: frame({k: str(v) for k, v in EXACT.items()}), check=exact_ok),
]

# ------------------------------------------------------------------------------ categories and names
CATEGORY_TYPOS = [  # (field, typo, a word of the suggestion or the allowed list)
    ("task", "langauge", "'language'"), ("task", "visoin", "'vision'"), ("task", "robotics", "language, vision"),
    ("architecture", "transfomer", "dense_transformer"), ("architecture", "mamba", "rnn"),
    ("architecture", "moe-transfromer", "'moe_transformer'"), ("accounting", "carbon_neutral", "market_based"),
    ("accounting", "locaton_based", "'location_based'"), ("energy_basis", "estimated", "measured, tdp, nominal"),
    ("energy_basis", "mesured", "'measured'"), ("precision", "fp4", "fp8"), ("precision", "int8", "bf16"),
    ("provider", "ibm", "on_premise"), ("provider", "gogle", "'google'"), ("power_scope", "node", "system, gpu"),
    ("power_scope", "gpus", "'gpu'"),
]
CATEGORY_ALIASES = [  # (field, spelling, canonical)
    ("task", "NLP", "language"), ("task", "Image Generation", "image_generation"), ("task", "audio", "speech"),
    ("architecture", "MoE", "moe_transformer"), ("architecture", "Dense-Transformer", "dense_transformer"),
    ("architecture", "lstm", "rnn"), ("precision", "bfloat16", "bf16"), ("precision", "half", "fp16"),
    ("provider", "GCP", "google"), ("provider", "Amazon", "aws"), ("energy_basis", "assumed", "tdp"),
    ("energy_basis", "Physical", "measured"), ("power_scope", "GPU", "gpu"),
    ("accounting", "location", "location_based"),
]
PLACES = [  # (field, value, canonical field value, country)
    ("country", "france", "FRA", "FRA"), ("country", "de", "DEU", "DEU"), ("country", "United States", "USA", "USA"),
    ("country", "UK", "GBR", "GBR"), ("region", "gcp:us-central1", "gcp:us-central1", "USA"),
    ("region", "azure:westeurope", "azure:westeurope", "NLD"), ("region", "AWS:US-EAST-1", "aws:us-east-1", "USA"),
]
HARDWARE = [("a100", "A100-SXM4-40GB"), ("H100 80GB", "H100-SXM5"), ("nvidia a100-sxm4-80gb", "A100-SXM4-80GB"),
            ("TPU v4", "TPUV4"), ("tpuv4", "TPUV4")]


def _norm(run):
    return normalise_runs(run).iloc[0]


CATEGORY_CASES = [
    *[Case(f"{f}-typo-{v}", lambda _p, f=f, v=v: estimate({**PLAIN, f: v}), f, (repr(v), says))
      for f, v, says in CATEGORY_TYPOS],
    *[Case(f"{f}-boolean", lambda _p, f=f: estimate({**PLAIN, f: True}), f, ("'True'", "use one of"))
      for f in ("task", "architecture", "energy_basis", "provider")],
    *[Case(f"{f}-number", lambda _p, f=f: estimate({**PLAIN, f: 3}), f, ("'3'", "use one of"))
      for f in ("task", "accounting", "precision", "power_scope")],
    *[Case(f"{f}-alias-{v}", lambda _p, f=f, v=v: _norm({**PLAIN, f: v, "carbon_intensity": 0.1}),
           check=lambda r, f=f, c=c: r[f] == c) for f, v, c in CATEGORY_ALIASES],
    *[Case(f"{f}-{v}", lambda _p, f=f, v=v: _norm({**PLAIN, f: v}),
           check=lambda r, f=f, c=c, iso=iso: (r[f], r["country"]) == (c, iso)) for f, v, c, iso in PLACES],
    *[Case(f"hardware-{v}", lambda _p, v=v: _norm({**PLAIN, "hardware": v}), check=lambda r, c=c: r.hardware == c)
      for v, c in HARDWARE],
    Case("hardware-typo", lambda _p: estimate({**PLAIN, "hardware": "H10O"}), "hardware", ("'H10O'", "did you mean")),
    Case("hardware-number", lambda _p: estimate({**PLAIN, "hardware": 100}), "hardware",
         ("'100'", "carbon-bayes data")),
    Case("hardware-cpu", lambda _p: estimate({**PLAIN, "hardware": "Xeon 8480"}), "hardware", ("'Xeon 8480'",)),
    Case("country-narnia", lambda _p: estimate({**PLAIN, "country": "Narnia"}), "country", ("'Narnia'", "ISO 3166")),
    Case("country-number", lambda _p: estimate({**PLAIN, "country": 0}), "country", ("'0'", "ISO 3166")),
    Case("country-a-continent", lambda _p: estimate({**PLAIN, "country": "Europe"}), "country", ("'Europe'",)),
    Case("region-unknown-zone", lambda _p: estimate({**PLAIN, "region": "gcp:mars-north1"}), "region",
         ("'gcp:mars-north1'",)),
    Case("region-without-provider", lambda _p: estimate({**PLAIN, "region": "us-east-1"}), "region", ("'us-east-1'",)),
    Case("region-unknown-cloud", lambda _p: estimate({**PLAIN, "region": "ovh:gra"}), "region", ("'ovh:gra'",)),
]

# ------------------------------------------------------------------------------ column names
TYPO_COLUMNS = [("paramters", "parameters"), ("training_token", "training_tokens"), ("n_device", "n_devices"),
                ("hardwares", "hardware"), ("Device-Hours", "device_hours"), ("carbon_intesity", "carbon_intensity"),
                ("trainingdays", "training_days"), ("regoin", "region"), ("contry", "country"),
                ("energybasis", "energy_basis"), ("power_per_device", "power_per_device_w"), ("YEAR", "year")]
COLUMN_CASES = [
    *[Case(f"column-{bad}", lambda _p, b=bad: estimate({**PLAIN, b: 1}), "column",
           (repr(bad), f"did you mean {good!r}"))
      for bad, good in TYPO_COLUMNS],
    Case("column-unrelated-is-ignored-with-a-warning", lambda _p: estimate({**PLAIN, "notes": "x"}),
         warns="ignoring columns that are not part of the input contract: notes",
         check=lambda e: e.inputs["device_hours"].iloc[0] == 1000),
    Case("column-integer-name", lambda _p: estimate({**PLAIN, 5: 1}), warns="not part of the input contract: 5",
         check=lambda e: len(e.summary) == 1),
    Case("column-alias-and-canonical", lambda _p: estimate({**PLAIN, "model_id": "a", "run_id": "b"}), "column",
         ("'model_id'", "keep one")),
    Case("column-alias-is-read", lambda _p: estimate({**PLAIN, "pue_used_by_source": 1.3}),
         warns="read pue_used_by_source as pue", check=lambda e: e.inputs["pue"].iloc[0] == 1.3),
    Case("column-padded-name", lambda _p: estimate({**PLAIN, " pue ": 1.3}), check=lambda e: e.inputs["pue"][0] == 1.3),
]

# ------------------------------------------------------------------------------ contradictions
CONTRADICTIONS = [
    ("hours-far-above-devices-x-days", {"device_hours": 1e5, "n_devices": 8, "training_days": 10}, "device_hours",
     ("100000", "8 x 10 x 24 = 1,920")),
    ("hours-far-below-devices-x-days", {"device_hours": 10, "n_devices": 8, "training_days": 10}, "device_hours",
     ("10", "1,920")),
    ("region-in-another-country", {"region": "gcp:europe-west4", "country": "US"}, "country", ("'US'", "NLD")),
    ("region-of-another-cloud", {"region": "azure:westeurope", "provider": "aws"}, "provider", ("'aws'", "azure")),
    ("active-above-total", {"parameters": 1e9, "active_parameters": 2e9}, "active_parameters",
     ("2000000000", "subset")),
    ("year-far-future", {"year": 2999}, "year", ("2999", "give a year up to")),
    ("year-far-past", {"year": 1950}, "year", ("1950", "2010 or later")),
    ("year-two-digits", {"year": 24}, "year", ("24", "2010 or later")),
    ("market-based-without-intensity", {"accounting": "market_based"}, "accounting",
     ("market_based", "carbon_intensity")),
    ("watts-far-above-tdp", {"power_per_device_w": 2000}, "power_per_device_w", ("2000", "TDP")),
    ("watts-in-kilowatts", {"power_per_device_w": 0.4}, "power_per_device_w", ("0.4", "TDP")),
    ("precision-the-chip-lacks", {"precision": "fp8"}, "precision", ("'fp8'", "fp16")),
    ("compute-beyond-the-chips", {"training_flops": 1e25}, "device_hours", ("more compute than the devices",)),
    ("hours-for-a-far-larger-compute", {"training_flops": 1e13}, "device_hours", ("hours for a far larger compute",)),
]


def _lengths_differ(_p):
    return estimate({"device_hours": [1000, 2000], "hardware": ["A100"], "year": 2024})


CONTRADICTION_CASES = [
    *[Case(f"contradiction-{name}", lambda _p, r=r: estimate({**PLAIN, **r}), f, s)
      for name, r, f, s in CONTRADICTIONS],
    Case("duplicate-run-ids", lambda _p: estimate([{**PLAIN, "run_id": "a"}, {**PLAIN, "run_id": "a"}]), "run_id",
         ("'a'", "unique")),
    Case("columns-of-different-lengths", _lengths_differ, "runs", ("hardware 1", "device_hours 2", "same length")),
    Case("hours-mildly-off-devices-x-days-is-a-note", lambda _p: frame({**PLAIN, "n_devices": 8, "training_days": 4}),
         check=lambda f: "device_hours is 1.30x n_devices x training_days x 24" in f.warnings[0]),
    Case("days-and-devices-give-hours", lambda _p: _norm({"n_devices": 8, "training_days": 10}),
         check=lambda r: r.device_hours == 1920),
    Case("moe-without-active-is-a-note", lambda _p: frame({**PLAIN, "architecture": "moe", "parameters": 1e9}),
         check=lambda f: "mixture-of-experts without active_parameters" in f.warnings[0]),
]

# ------------------------------------------------------------------------------ containers and options
CONTAINER_CASES = [
    Case("runs-an-int", lambda _p: estimate(5), "runs", ("'int'", "DataFrame")),
    Case("runs-a-string", lambda _p: estimate("A100"), "runs", ("'str'", "DataFrame")),
    Case("runs-none", lambda _p: estimate(None), "runs", ("'NoneType'",)),
    Case("runs-a-list-of-numbers", lambda _p: estimate([1, 2]), "runs", ("'list'",)),
    Case("runs-a-set", lambda _p: estimate({"A100"}), "runs", ("'set'",)),
    Case("runs-bytes", lambda _p: estimate(b"A100"), "runs", ("'bytes'",)),
    Case("runs-empty-list", lambda _p: estimate([]), "runs", ("'empty'", "at least one run")),
    Case("runs-empty-dict-is-a-run-with-nothing-known", lambda _p: frame({}),
         check=lambda f: f.tier[0] == "T3" and 0 < f.co2_t_lower[0] <= f.co2_t_median[0] <= f.co2_t_upper[0]),
    Case("runs-ragged-nested-list", lambda _p: estimate({**PLAIN, "device_hours": [[1], [1, 2]]}), "device_hours",
         ("one number per cell",)),
    Case("runs-a-dict-value-beside-lists", lambda _p: estimate({"device_hours": [1000], "hardware": {"a": "A100"}}),
         "runs", ("a dict of columns", "one value per run")),
    Case("runs-a-series", lambda _p: estimate(pd.Series(PLAIN)), check=lambda e: e.inputs.device_hours[0] == 1000),
    Case("runs-a-tuple-of-dicts", lambda _p: estimate((PLAIN, {**PLAIN, "device_hours": 2000})),
         check=lambda e: e.inputs.device_hours.tolist() == [1000, 2000]),
    Case("runs-a-dict-of-columns", lambda _p: estimate(
        {"device_hours": [1000, 2000], "hardware": "A100", "year": 2024}),
         check=lambda e: e.inputs.device_hours.tolist() == [1000, 2000]),
]
OPTION_CASES = [
    *[Case(f"ci_level-{v!r}", lambda _p, v=v: estimate(PLAIN, ci_level=v), "ci_level", (repr(v) if not
           isinstance(v, float) else f"{v}", fix)) for v, fix in
      ((0, "strictly between 0 and 1"), (1, "strictly between 0 and 1"), (-0.1, "strictly between"),
       (90, "0.9 for 90%"), (1.5, "e.g. 0.9 for 90%"), (float("nan"), "strictly between"),
       (float("inf"), "strictly between"), ("ninety", "fraction between 0 and 1"), (None, "fraction"),
       ([0.9], "fraction"))],
    Case("ci_level-text-number", lambda _p: estimate(EXACT, ci_level="0.5"), check=lambda e: e.ci_level == 0.5),
    *[Case(f"n_draws-{v!r}", lambda _p, v=v: estimate(PLAIN, n_draws=v), "n_draws", (repr(v), ">= 100"))
      for v in (0, 99, -1, 1.5, "100", True, 1e3)],
    *[Case(f"seed-{v!r}", lambda _p, v=v: estimate(PLAIN, seed=v), "seed", (repr(v), "whole number >= 0"))
      for v in (-1, 1.5, "1", True, 2 ** 63)],
    *[Case(f"chunk_size-{v!r}", lambda _p, v=v: estimate(PLAIN, chunk_size=v), "chunk_size", (repr(v), ">= 1"))
      for v in (0, -3, 1.5, True)],
    Case("posterior-a-number", lambda _p: estimate(PLAIN, posterior=5), "posterior", ("5", "path")),
    Case("posterior-missing-file", lambda p: estimate(PLAIN, posterior=p / "nope.nc"), "nope.nc",
         ("not found", "check the path"), error=PosteriorFileError),
    Case("posterior-a-directory", lambda p: estimate(PLAIN, posterior=p), "is a directory",
         ("check the path",), error=PosteriorFileError),
    Case("posterior-a-text-file", lambda p: estimate(PLAIN, posterior=write(p, "p.nc", "hello")), "p.nc",
         ("not a readable netCDF posterior", "re-create it"), error=PosteriorFileError),
    Case("posterior-an-empty-file", lambda p: estimate(PLAIN, posterior=write(p, "e.nc", b"")), "e.nc",
         ("not a readable netCDF posterior",), error=PosteriorFileError),
    Case("quantile-out-of-range", lambda _p: estimate(PLAIN).quantile(1.5), "q", ("1.5", "between 0 and 1")),
    Case("quantity-unknown", lambda _p: estimate(PLAIN).quantile(0.5, "co2_kg"), "quantity", ("'co2_kg'", "co2_t")),
    Case("prob_exceeds-neither", lambda _p: estimate(PLAIN).prob_exceeds(), "prob_exceeds", ("exactly one",)),
    Case("prob_exceeds-negative", lambda _p: estimate(PLAIN).prob_exceeds(co2_t=-1), "co2_t", ("-1", ">= 0")),
    Case("prob_exceeds-text", lambda _p: estimate(PLAIN).prob_exceeds(co2_t="lots"), "co2_t", ("'lots'", ">= 0")),
    Case("prob_exceeds-exact", lambda _p: estimate(EXACT).prob_exceeds(co2_t=0.1),
         check=lambda s: s.iloc[0] == 1.0),  # every draw is near 0.169 t, so all exceed 0.1 t
]

CASES = NUMERIC_CASES + CATEGORY_CASES + COLUMN_CASES + CONTRADICTION_CASES + CONTAINER_CASES + OPTION_CASES


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_contract_and_api_case(case, tmp_path):
    run_case(case, tmp_path)


def test_the_docs_state_the_size_of_the_catalogue():
    from test_input_catalogue_files import CASES as FILE_CASES
    from test_input_catalogue_readers import CASES as READER_CASES

    total = len(CASES) + len(FILE_CASES) + len(READER_CASES)
    doc = (Path(__file__).parents[1] / "docs" / "bad_input.md").read_text()
    stated = re.search(r"\*\*(\d[\d,]*) cases\*\*", doc)
    assert stated and int(stated.group(1).replace(",", "")) == total, (stated and stated.group(0), total)
    assert total >= 250
