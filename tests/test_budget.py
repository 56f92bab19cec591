"""Budgets on predictive draws.

P(exceed), carbon-at-risk, expected shortfall, plan() with common random numbers, and sweep()
arithmetic. Uses the shipped posterior through estimate(); no MCMC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import carbon_bayes as cb
from carbon_bayes import budget
from carbon_bayes.errors import InputError

RUN = {"parameters": 7e9, "training_tokens": 2e12, "hardware": "H100", "year": 2024, "region": "gcp:us-east1"}
SMALL = {"parameters": 1.3e9, "training_tokens": 2.6e10, "hardware": "A100-80GB", "year": 2024,
         "region": "aws:us-east-1"}


@pytest.fixture(scope="module")
def est():
    return cb.estimate([RUN, {**SMALL, "run_id": "small"}])


@pytest.fixture(scope="module")
def co2(est):
    return est.draws["co2_t"].values  # (run, draw); NaN pads a run with fewer draws than the other


# ----------------------------------------------------------------------------- functions of draws
def test_prob_exceeds_is_monotone_non_increasing_in_the_budget(est, co2):
    d = co2[0][~np.isnan(co2[0])]
    budgets = np.quantile(d, np.linspace(0.001, 0.999, 60))
    p = np.array([budget.prob_exceeds(d, b) for b in budgets])
    assert np.all(np.diff(p) <= 0)
    assert p[0] > 0.95 and p[-1] < 0.05
    # the Estimate method agrees draw for draw, and the extremes are exact
    for b in budgets[::10]:
        assert est.prob_exceeds(co2_t=b).iloc[0] == budget.prob_exceeds(d, b)
    assert budget.prob_exceeds(d, d.max() * 1.01) == 0.0
    assert budget.prob_exceeds(d, d.min() * 0.99) == 1.0


def test_prob_exceeds_counts_draws_strictly_above():
    assert budget.prob_exceeds([1.0, 2.0, 3.0, 4.0], 2.0) == 0.5
    assert budget.prob_exceeds(np.array([[1.0, 5.0], [5.0, 6.0]]), 4.0).tolist() == [0.5, 1.0]


def test_carbon_at_risk_is_the_q_quantile_of_the_draws(est, co2):
    for q in (0.5, 0.9, 0.95, 0.99):
        car = est.carbon_at_risk(q)
        for i, run in enumerate(co2):
            d = run[~np.isnan(run)]
            assert car.iloc[i] == pytest.approx(np.quantile(d, q), rel=1e-6)
            # about a fraction 1 - q of the draws lie above it
            assert abs((d > car.iloc[i]).mean() - (1 - q)) <= 2 / len(d)
        assert list(car.index) == list(est.to_frame()["run_id"])
    e = est.draws["energy_mwh"].values[0]
    assert est.carbon_at_risk(0.95, quantity="energy_mwh").iloc[0] == pytest.approx(np.quantile(e[~np.isnan(e)], 0.95),
                                                                                    rel=1e-6)


def test_expected_shortfall_by_hand_and_its_bounds(est, co2):
    # (0 + 0 + 0.5 + 1.5) / 4
    assert budget.expected_shortfall([1.0, 2.0, 3.0, 4.0], 2.5) == pytest.approx(0.5)
    d = co2[0][~np.isnan(co2[0])]
    es = est.expected_shortfall(float(np.median(d)))
    assert (es >= 0).all()
    # above every draw: zero shortfall
    assert (est.expected_shortfall(float(np.nanmax(co2)) * 1.01) == 0).all()
    # Jensen: E[(X - b)+] >= E[X] - b, and it shrinks as the budget grows
    b = float(np.quantile(d, 0.2))
    assert es.iloc[0] <= est.expected_shortfall(b).iloc[0]
    assert est.expected_shortfall(b).iloc[0] >= d.mean() - b


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "abc", None])
def test_bad_budget_names_the_field(bad):
    with pytest.raises(InputError) as e:
        budget.prob_exceeds([1.0, 2.0], bad)
    assert e.value.field == "budget_t"


@pytest.mark.parametrize("bad", [0, 1, 2, -0.1, "x"])
def test_bad_max_risk_names_the_field(bad):
    with pytest.raises(InputError) as e:
        budget.plan(RUN, budget_t=10, max_risk=bad, alternatives=[{"region": "gcp:europe-north1"}])
    assert e.value.field == "max_risk"


# ----------------------------------------------------------------------------- plan
@pytest.fixture(scope="module")
def regions():
    return budget.plan(RUN, budget_t=20, alternatives={"region": ["gcp:europe-north1", "aws:us-east-1"]})


def test_plan_lower_intensity_region_is_better(regions):
    ref = regions[regions["is_reference"]].iloc[0]
    north = regions[regions["region"] == "gcp:europe-north1"].iloc[0]
    assert north["co2_t_mean"] < ref["co2_t_mean"]
    assert north["prob_better"] > 0.5
    assert north["prob_exceeds"] < ref["prob_exceeds"]


def test_plan_table_contract(regions):
    assert (regions["alternative"] == "reference").sum() == 1
    assert regions["is_reference"].sum() == 1
    assert regions.loc[regions["is_reference"], "prob_better"].iloc[0] == 0.0
    assert list(regions["rank"]) == list(range(1, len(regions) + 1))
    # ranked by P(exceed), ties by expected CO2
    key = list(zip(regions["prob_exceeds"], regions["co2_t_mean"], strict=True))
    assert key == sorted(key)
    assert (regions["meets_risk"] == (regions["prob_exceeds"] <= 0.05)).all()
    assert (regions["co2_t_lower"] <= regions["co2_t_median"]).all()
    assert (regions["co2_t_median"] <= regions["co2_t_upper"]).all()
    assert (regions["expected_shortfall_t"] >= 0).all()
    assert regions.attrs["budget_t"] == 20 and regions.attrs["max_risk"] == 0.05
    assert set(regions["region"]) == {"gcp:us-east1", "gcp:europe-north1", "aws:us-east-1"}


def test_common_random_numbers_make_a_lower_given_intensity_always_better():
    run = {**RUN, "carbon_intensity": 0.4}
    df = budget.plan(run, budget_t=20, alternatives=[{"carbon_intensity": 0.2}])
    ref = df[df["is_reference"]].iloc[0]
    alt = df[~df["is_reference"]].iloc[0]
    assert alt["prob_better"] == 1.0
    # every paired draw is halved, so every quantile is exactly halved
    for c in ("co2_t_median", "co2_t_lower", "co2_t_upper", "co2_t_mean"):
        assert alt[c] == pytest.approx(0.5 * ref[c], rel=1e-5)
    assert alt["energy_mwh_median"] == pytest.approx(ref["energy_mwh_median"], rel=1e-6)


def test_plan_without_common_random_numbers_would_be_noisy():
    """Sanity check of the test above: independent draws of the same two runs overlap."""
    e = cb.estimate([{**RUN, "carbon_intensity": 0.4, "run_id": "a"}, {**RUN, "carbon_intensity": 0.2, "run_id": "b"}])
    d = e.draws["co2_t"].values
    both = ~np.isnan(d).any(axis=0)  # the draws both runs have (NaN pads the one with fewer)
    assert 0.5 < (d[1, both] < d[0, both]).mean() < 1.0


def test_alternatives_as_list_grid_or_frame_agree():
    alts = [{"region": "gcp:europe-north1"}, {"region": "aws:us-east-1"}]
    a = budget.plan(RUN, 20, alternatives=alts, seed=3)
    b = budget.plan(RUN, 20, alternatives={"region": ["gcp:europe-north1", "aws:us-east-1"]}, seed=3)
    c = budget.plan(RUN, 20, alternatives=pd.DataFrame(alts), seed=3)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)


def test_grid_is_a_cartesian_product_and_drops_the_reference():
    df = budget.plan(RUN, 50, alternatives={"region": ["gcp:us-east1", "gcp:europe-north1"],
                                            "hardware": ["H100", "A100-80GB"]})
    # 4 combinations, one of which is the reference itself
    assert len(df) == 4
    assert df["alternative"].str.contains("hardware=A100-SXM4-80GB").sum() == 2


def test_override_rules_keep_alternatives_consistent():
    run = {**RUN, "region": None, "country": "US", "device_hours": 3e5, "carbon_intensity": 0.38}
    df = budget.plan(run, 50, alternatives=[{"region": "gcp:europe-north1"}, {"hardware": "A100-80GB"}])
    reg = df[df["alternative"] == "region=gcp:europe-north1"].iloc[0]
    assert "carbon_intensity" in reg["notes"]
    hw = df[df["alternative"] == "hardware=A100-SXM4-80GB"].iloc[0]
    assert "re-derived" in hw["notes"]
    row, notes = budget.apply_overrides({"region": "aws:us-east-1", "country": "USA", "provider": "aws",
                                         "carbon_intensity": None}, {"country": "FR"})
    assert row["region"] is None and row["country"] == "FR" and row["provider"] == "aws"


@pytest.mark.parametrize("alts, fix", [
    ([], "at least one"), ({}, "grid is empty"), (None, "at least one"),
    ([{"regoin": "gcp:europe-north1"}], "did you mean 'region'"),
    ({"region": []}, "at least one value"),
    ({"pue": list(np.linspace(1.05, 1.6, 30)), "region": ["gcp:us-east1"] * 20}, "at most 500"),
    ([{"region": None}], "overrides nothing"),
])
def test_bad_alternatives_raise_input_errors(alts, fix):
    with pytest.raises(InputError) as e:
        budget.plan(RUN, 20, alternatives=alts)
    assert e.value.field.startswith("alternatives")
    assert fix in str(e.value)


def test_alternatives_equal_to_the_reference_are_an_error():
    with pytest.raises(InputError, match="equals the reference"):
        budget.plan(RUN, 20, alternatives=[{"region": "gcp:us-east1"}, {"hardware": "H100-SXM5"}])


def test_bad_override_value_names_its_column():
    with pytest.raises(InputError) as e:
        budget.plan(RUN, 20, alternatives=[{"pue": 0.5}])
    assert e.value.field == "pue"


def test_plan_needs_exactly_one_run():
    with pytest.raises(InputError, match="one run"):
        budget.plan([RUN, SMALL], 20, alternatives=[{"region": "gcp:europe-north1"}])


# ----------------------------------------------------------------------------- sweep
@pytest.mark.parametrize("same_site", [True, False])
def test_sweep_of_identical_runs_sums_per_draw(same_site):
    n = 6
    single = cb.estimate(SMALL)
    b = float(single.to_frame()["co2_t_median"].iloc[0])  # p(one trial > b) is about 1/2
    p1 = float(single.prob_exceeds(co2_t=b).iloc[0])
    res = budget.sweep(SMALL, n_trials=n, budget_t=n * b, same_site=same_site)
    per_run = res.run_draws["co2_t"].values
    assert per_run.shape == (n, single.draws.sizes["draw"])
    np.testing.assert_allclose(per_run.sum(axis=0), res.draws["co2_t"].values, rtol=1e-12)
    total = per_run.sum(axis=0)
    assert res.prob_exceeds() == pytest.approx((total > n * b).mean())
    # neither "some trial exceeds its share" nor N times the single risk
    assert abs(res.prob_exceeds() - (1 - (1 - p1) ** n)) > 0.2
    assert res.prob_exceeds() < min(1.0, n * p1)
    frame = res.to_frame()
    assert frame["n_runs"].iloc[0] == n
    assert frame["prob_exceeds"].iloc[0] == res.prob_exceeds()
    assert frame["co2_t_median"].iloc[0] == pytest.approx(np.median(total))


def test_sweep_of_one_equals_the_single_run_risk():
    for seed in (None, 11):
        est = cb.estimate(SMALL, seed=seed)
        b = float(est.to_frame()["co2_t_upper"].iloc[0]) * 0.8
        res = budget.sweep(SMALL, n_trials=1, budget_t=b, seed=seed)
        assert res.prob_exceeds() == est.prob_exceeds(co2_t=b).iloc[0]
        np.testing.assert_array_equal(res.draws["co2_t"].values, est.draws["co2_t"].values[0])


def test_sweep_of_a_list_of_runs_is_their_per_draw_sum(est):
    res = budget.sweep([RUN, {**SMALL, "run_id": "small"}], budget_t=100, same_site=False)
    # each run's draws are its estimate's (its first draws: the run with fewer draws in the estimate
    # gets the pair's count here), and the total is their per-draw sum
    per_run = res.run_draws["co2_t"].values
    np.testing.assert_allclose(res.draws["co2_t"].values, per_run.sum(axis=0), rtol=1e-6)
    for i, run in enumerate(est.draws["co2_t"].values):
        n = int((~np.isnan(run)).sum())
        if n == per_run.shape[1]:
            np.testing.assert_array_equal(per_run[i], run)
    assert list(res.run_draws["run"].values) == ["run-0", "small"]


def test_same_site_trials_share_intensity_and_pue():
    # energy and CO2e of a run differ only by its carbon intensity (and the shared label noise), so
    # CO2e / energy is the draw's intensity: equal across trials at one site, different otherwise.
    shared = budget.sweep(SMALL, n_trials=4, same_site=True)
    ci = shared.run_draws["co2_t"].values / shared.run_draws["energy_mwh"].values
    np.testing.assert_allclose(ci, np.broadcast_to(ci[:1], ci.shape), rtol=1e-5)
    indep = budget.sweep(SMALL, n_trials=4, same_site=False)
    ci2 = indep.run_draws["co2_t"].values / indep.run_draws["energy_mwh"].values
    assert not np.allclose(ci2, np.broadcast_to(ci2[:1], ci2.shape), rtol=1e-3)
    # sharing the site keeps the total's interval wider than independent draws would
    w = lambda r: np.subtract(*np.quantile(r.draws["co2_t"].values, [0.95, 0.05]))  # noqa: E731
    assert w(shared) > w(indep)


def test_sweep_input_errors():
    with pytest.raises(InputError) as e:
        budget.sweep(SMALL, n_trials=0)
    assert e.value.field == "n_trials"
    with pytest.raises(InputError) as e:
        budget.sweep(SMALL, n_trials=2.5)
    assert e.value.field == "n_trials"
    with pytest.raises(InputError) as e:
        budget.sweep(SMALL, n_trials=3, budget_t=-5)
    assert e.value.field == "budget_t"
    with pytest.raises(InputError):
        budget.sweep(SMALL, n_trials=3).prob_exceeds()
