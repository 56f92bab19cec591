"""Properties of bad input (hypothesis, derandomised so the suite is deterministic).

Any dict of contract fields with arbitrary JSON-like values is estimated (finite, ordered intervals)
or refused with an InputError, never another exception; numbers written with thousands separators
parse to their value; spreadsheet formulas are made inert and numbers pass unchanged; the CSV
dialects of one table read the same values.
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import carbon_bayes as cb
from carbon_bayes.csvio import read_csv_strict
from carbon_bayes.errors import CarbonBayesWarning, InputError
from carbon_bayes.safeio import escape_formulas
from carbon_bayes.schema import COLUMN_NAMES, normalise_runs

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
#: Values a field may plausibly get, so that many examples are valid runs and reach the estimate.
PLAUSIBLE = {"year": [2019, 2024, "2023"], "parameters": [7e9, "1.3B", 1e8], "training_tokens": [2e12, "300B"],
             "hardware": ["A100", "H100", "V100", "TPU v4"], "n_devices": [8, 64, "512"],
             "device_hours": [1e3, 5e4, "184,320"], "training_days": [3, 21], "country": ["US", "FR", "DEU"],
             "region": ["gcp:us-central1", "aws:eu-west-1"], "pue": [1.1, 1.5], "carbon_intensity": [0.0, 0.4],
             "task": ["language", "vision"], "architecture": ["dense_transformer", "moe"],
             "energy_basis": ["measured", "tdp", "nominal"], "power_per_device_w": [300, 700]}
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-10 ** 20, 10 ** 20) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=2), max_leaves=4)
FIELD_VALUE = st.sampled_from(sorted(PLAUSIBLE)).flatmap(lambda k: st.tuples(st.just(k), st.sampled_from(PLAUSIBLE[k])))
ANY_FIELD = st.tuples(st.sampled_from(COLUMN_NAMES), JSONISH)


@SETTINGS
@given(st.lists(FIELD_VALUE | FIELD_VALUE | ANY_FIELD, max_size=7))
def test_any_run_is_estimated_or_refused_with_an_input_error(pairs):
    run = dict(pairs)
    try:
        with __import__("warnings").catch_warnings():
            __import__("warnings").simplefilter("ignore", CarbonBayesWarning)  # notes about ignored columns
            out = cb.estimate(run, n_draws=100).to_frame()
    except InputError as e:
        assert e.field and str(e).startswith(f"{e.field}=")
        event("refused")
        return
    event("estimated")
    for q in ("energy_mwh", "co2_t"):
        lo, med, hi = (out[f"{q}_{s}"].to_numpy() for s in ("lower", "median", "upper"))
        assert np.all(np.isfinite([lo, med, hi])) and np.all(lo >= 0), out
        assert np.all(lo <= med) and np.all(med <= hi), out
    assert np.all(out["energy_mwh_median"] > 0), out


@SETTINGS
@given(st.floats(min_value=1.0, max_value=9e9, allow_nan=False).map(lambda x: round(x, 2)))
def test_a_number_with_thousands_separators_parses_to_its_value(x):
    texts = [f"{x:,.2f}", f"{x:.2f}", f"{x:_.2f}", f" {x:,.2f} "]
    got = normalise_runs({"device_hours": texts, "hardware": "A100"})["device_hours"].to_numpy()
    assert np.all(got == round(x, 2)), (texts, got)


FORMULA = ("=", "+", "-", "@", "\t", "\r")


@SETTINGS
@given(st.lists(st.text(max_size=10) | st.sampled_from(["=1+1", "+3", "-2.5", "@SUM(A1)", "-x", "\t=1", "1e5"]),
                min_size=1, max_size=8),
       st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=8))
def test_formulas_are_made_inert_and_numbers_pass_unchanged(texts, numbers):
    n = min(len(texts), len(numbers))
    frame = pd.DataFrame({"text": texts[:n], "number": numbers[:n]})
    out = escape_formulas(frame)
    for before, after in zip(frame["text"], out["text"], strict=True):
        if after.startswith(FORMULA):  # only a number written as text may start so: it runs as nothing
            assert after == before and math.isfinite(float(after)), after
        else:
            assert after in (before, f"'{before}"), (before, after)
    assert out["number"].tolist() == frame["number"].tolist()
    buf = io.StringIO()
    out.to_csv(buf, index=False)
    back = pd.read_csv(io.StringIO(buf.getvalue()), keep_default_na=False)
    assert np.array_equal(back["number"].to_numpy(dtype=float), frame["number"].to_numpy(dtype=float))


ROWS = st.lists(st.tuples(st.sampled_from(["A100", "H100", "V100"]),
                          st.floats(min_value=10, max_value=1e6, allow_nan=False).map(lambda x: round(x, 3)),
                          st.floats(min_value=1.0, max_value=2.0, allow_nan=False).map(lambda x: round(x, 2)),
                          st.integers(2015, 2025)), min_size=1, max_size=6)


def _render(rows, delimiter: str, decimal: str) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(["hardware", "device_hours", "pue", "year"])
    for hw, hours, pue, year in rows:
        w.writerow([hw, repr(hours).replace(".", decimal), repr(pue).replace(".", decimal), year])
    return buf.getvalue()


@SETTINGS
@given(ROWS)
def test_every_dialect_of_one_table_reads_the_same_values(tmp_path_factory, rows):
    d = tmp_path_factory.mktemp("dialects")
    frames = []
    for k, (delimiter, decimal) in enumerate(((",", "."), (";", ","), (";", "."), ("\t", "."), ("\t", ","))):
        p = d / f"runs{k}.csv"
        p.write_text(_render(rows, delimiter, decimal), encoding="utf-8")
        frames.append(normalise_runs(read_csv_strict(p).replace({"": None}))[["hardware", "device_hours", "pue",
                                                                           "year"]])
    for f in frames[1:]:
        pd.testing.assert_frame_equal(f, frames[0])
    assert frames[0]["device_hours"].tolist() == [r[1] for r in rows]
