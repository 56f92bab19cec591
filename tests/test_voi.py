"""Value of information: pre-posterior narrowing of the interval when an unknown input becomes known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import carbon_bayes as cb
from carbon_bayes.errors import InputError
from carbon_bayes.voi import MAX_VOI_RUNS, unknown_inputs, value_of_information, voi_columns

T2 = {"parameters": 7e9, "training_tokens": 2e12, "year": 2024}


def _width(est, quantity="co2_t"):
    f = est.to_frame()
    return (f[f"{quantity}_upper"] / f[f"{quantity}_lower"]).to_numpy()


@pytest.fixture(scope="module")
def t2():
    return value_of_information(T2)


def test_lists_exactly_the_inputs_not_given(t2):
    assert set(t2["input"]) == {"hardware", "device_hours", "carbon_intensity", "pue"}
    given = value_of_information({**T2, "hardware": "H100", "pue": 1.1})
    assert set(given["input"]) == {"device_hours", "carbon_intensity"}
    assert "hardware" not in set(given["input"]) and "pue" not in set(given["input"])


def test_tokens_or_compute_offered_only_when_compute_is_unknown():
    no_tokens = cb.normalise_runs({"parameters": 7e9, "year": 2024}).iloc[0]
    assert "training_tokens" in unknown_inputs(no_tokens)
    no_params = cb.normalise_runs({"year": 2024}).iloc[0]
    assert "training_flops" in unknown_inputs(no_params) and "training_tokens" not in unknown_inputs(no_params)
    hours = cb.normalise_runs({"parameters": 7e9, "device_hours": 1e5, "year": 2024}).iloc[0]
    assert not {"training_tokens", "training_flops", "device_hours"} & set(unknown_inputs(hours))


def test_everything_given_means_nothing_to_learn():
    full = {**T2, "hardware": "H100", "device_hours": 2e5, "carbon_intensity": 0.3, "pue": 1.1}
    df = value_of_information(full)
    assert df.empty and list(df.columns)[:5] == ["input", "label", "width_now", "width_known", "narrowing"]


def test_table_is_sorted_and_consistent_with_the_estimate(t2):
    assert list(t2["narrowing"]) == sorted(t2["narrowing"], reverse=True)
    # the current width is the estimate's own upper/lower, up to Monte-Carlo noise (other random numbers;
    # the 5%/95% quantiles of 1,000 draws of a distribution this wide move by several percent each)
    assert t2["width_now"].iloc[0] == pytest.approx(_width(cb.estimate(T2))[0], rel=0.25)
    assert (t2["width_now"] == t2["width_now"].iloc[0]).all()
    np.testing.assert_allclose(t2["narrowing"], t2["width_now"] / t2["width_known"])
    top = t2.iloc[0]
    assert f"narrows {top['narrowing']:.1f}x" in top["sentence"]
    assert top["label"] in top["sentence"]


def test_giving_the_top_input_narrows_the_interval(t2):
    top = t2["input"].iloc[0]
    assert t2["narrowing"].iloc[0] > 1.2
    est = cb.estimate(T2)
    sim = est.simulation
    if top == "hardware":
        ids, counts = np.unique(sim.hardware_idx[:, 0], return_counts=True)
        from carbon_bayes.predict import get_predictor

        value = str(get_predictor().hw_ids[ids[np.argmax(counts)]])
    else:
        value = float(np.median(getattr(sim, top)[:, 0]))
    known = cb.estimate({**T2, top: value})
    assert _width(known)[0] < _width(est)[0] / 1.2


def test_reproducible_with_a_seed():
    a = value_of_information(T2, seed=5, k=8)
    b = value_of_information(T2, seed=5, k=8)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs["k"] == 8


def test_common_random_numbers_leave_an_irrelevant_input_at_exactly_one():
    # energy does not depend on the carbon intensity; with paired draws its narrowing is exactly 1
    df = value_of_information({**T2, "hardware": "H100"}, quantity="energy_mwh", k=10)
    ci_row = df[df["input"] == "carbon_intensity"]
    assert ci_row["narrowing"].iloc[0] == pytest.approx(1.0, rel=1e-9)
    assert "barely" in ci_row["sentence"].iloc[0]
    # while for CO2e it matters
    co2 = value_of_information({**T2, "hardware": "H100"}, k=10)
    assert co2.loc[co2["input"] == "carbon_intensity", "narrowing"].iloc[0] > 1.05


def test_voi_columns_match_the_single_run_analysis(t2):
    cols = voi_columns([T2, {**T2, "hardware": "H100", "device_hours": 2e5, "carbon_intensity": 0.3, "pue": 1.1}])
    assert list(cols.columns) == ["run_id", "voi_top_input", "voi_narrowing"]
    assert cols["voi_top_input"].iloc[0] == t2["input"].iloc[0]
    assert cols["voi_narrowing"].iloc[0] == pytest.approx(t2["narrowing"].iloc[0])
    assert cols["voi_top_input"].iloc[1] == "" and np.isnan(cols["voi_narrowing"].iloc[1])


def test_limits_and_errors():
    with pytest.raises(InputError) as e:
        voi_columns([{**T2, "run_id": f"r{i}"} for i in range(MAX_VOI_RUNS + 1)])
    assert e.value.field == "voi"
    with pytest.raises(InputError):
        value_of_information([T2, T2 | {"run_id": "x"}])
    with pytest.raises(InputError) as e:
        value_of_information(T2, k=1)
    assert e.value.field == "k"
    with pytest.raises(InputError) as e:
        value_of_information(T2, quantity="kwh")
    assert e.value.field == "quantity"
