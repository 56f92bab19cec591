"""Unit tests of the cross-validation helpers in ``carbon_bayes.validate``.

Fast: folds, the tier masks of MODEL.md ("Information tiers"), the scoring rules and the
metric table, on the shipped dataset and on hand-made numbers. Cross-validation itself
(fits per fold) only runs in the one ``slow`` test at the end.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from carbon_bayes import schema
from carbon_bayes.validate import (
    QGRID,
    assign_folds,
    crps_from_quantiles,
    metrics,
    score_draws,
    scored_labels,
    tier_inputs,
)

HOURS = ("device_hours", "n_devices", "training_days")
COMPUTE = ("training_tokens", "training_flops")
LOCATION = ("region", "country")


@pytest.fixture(scope="module")
def labels(dataset):
    return scored_labels(dataset)


def _known(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Which rows give ``column`` (absent column: none)."""
    if column not in frame:
        return np.zeros(len(frame), dtype=bool)
    s = frame[column]
    return (s.notna() & (s.astype(str).str.strip() != "")).to_numpy()


# ------------------------------------------------------------------------------ folds

def test_assign_folds_puts_every_group_in_one_fold_and_balances_them(labels):
    groups = labels["run_group"]
    folds = assign_folds(groups, 5, seed=3)
    assert set(folds) == set(groups)
    assert set(folds.values()) == set(range(5))
    sizes = np.bincount(list(folds.values()))
    assert sizes.max() - sizes.min() <= 1
    # every row of a group is held out together (one fold per group, whatever the row order)
    per_row = labels.assign(fold=labels["run_group"].map(folds))
    assert (per_row.groupby("run_group")["fold"].nunique() == 1).all()
    several = labels["run_group"].value_counts()
    assert (several > 1).any(), "the dataset has groups with several published figures"


def test_assign_folds_is_deterministic_and_depends_on_the_seed(labels):
    groups = list(labels["run_group"])
    a = assign_folds(groups, 4, seed=7)
    assert assign_folds(list(reversed(groups)), 4, seed=7) == a  # input order does not matter
    assert assign_folds(groups, 4, seed=7) == a
    assert assign_folds(groups, 4, seed=8) != a


def test_assign_folds_leave_one_run_out_and_more_folds_than_groups():
    groups = ["a", "b", "b", "c", "d"]
    loo = assign_folds(groups, None)
    assert sorted(loo.values()) == [0, 1, 2, 3]
    assert assign_folds(groups, 10).keys() == loo.keys()
    assert len(set(assign_folds(groups, 10).values())) == 4


# ------------------------------------------------------------------------------ tiers

@pytest.mark.parametrize("tier", ["T1", "T2", "T3"])
def test_tier_inputs_mask_what_model_md_says(labels, tier):
    inp = tier_inputs(labels, tier)
    assert list(inp["run_id"]) == list(labels["run_id"])
    has = {c: _known(inp, c) for c in (*HOURS, *COMPUTE, *LOCATION, "hardware", "carbon_intensity", "parameters",
                                       "year", "architecture")}
    # facts every tier keeps
    np.testing.assert_array_equal(has["parameters"], _known(labels, "parameters"))
    assert has["year"].all()
    np.testing.assert_array_equal(has["architecture"], _known(labels, "architecture"))
    if tier == "T1":
        hours_given = _known(labels, "device_hours") | (_known(labels, "n_devices") & _known(labels, "training_days"))
        np.testing.assert_array_equal(has["device_hours"], hours_given)
        ok = labels["device_hours"].notna()
        np.testing.assert_allclose(inp.loc[ok, "device_hours"], labels.loc[ok, "device_hours"])
        derived = ~ok & hours_given
        assert derived.any(), "some rows give hours only as n_devices x training_days"
        np.testing.assert_allclose(inp.loc[derived, "device_hours"],
                                   labels.loc[derived, "n_devices"] * labels.loc[derived, "training_days"] * 24)
        assert not (has["n_devices"] | has["training_days"]).any()
        assert not (has["training_tokens"] | has["training_flops"]).any(), "T1 has hours, not tokens"
        np.testing.assert_array_equal(has["hardware"], _known(labels, "hardware"))
        np.testing.assert_array_equal(has["carbon_intensity"], _known(labels, "source_carbon_intensity"))
    elif tier == "T2":
        assert not any(has[c].any() for c in HOURS), "T2 has no hours, days or device counts"
        np.testing.assert_array_equal(has["training_tokens"], _known(labels, "training_tokens"))
        np.testing.assert_array_equal(has["training_flops"], _known(labels, "training_flops"))
        assert has["training_tokens"].any()
        np.testing.assert_array_equal(has["hardware"], _known(labels, "hardware"))
        np.testing.assert_array_equal(has["country"], _known(labels, "country"))
        assert not has["carbon_intensity"].any(), "a stated intensity is a T1 fact"
    else:
        for c in (*HOURS, *COMPUTE, *LOCATION, "hardware", "carbon_intensity"):
            assert not has[c].any(), f"T3 must not give {c}"


@pytest.mark.parametrize("tier", ["T1", "T2", "T3"])
def test_tier_inputs_give_only_the_conventions_a_source_states(labels, tier):
    inp = tier_inputs(labels, tier)
    nominal = labels["energy_basis"].isin(["tdp", "assumed"]).to_numpy()
    stated = labels["pue_stated"].to_numpy(dtype=bool)
    assert nominal.any() and (~nominal).any() and (nominal & ~stated).any()
    basis = inp["energy_basis"].to_numpy()
    np.testing.assert_array_equal(basis == "measured", ~nominal)
    # a nominal figure whose source does not say whether a PUE is inside is on the latent-convention basis
    assert (basis[nominal & ~stated] == "nominal").all()
    assert set(basis[nominal]) <= {"tdp", "nominal"}
    gpu = (labels["power_scope"] == "gpu").to_numpy()
    assert gpu.any()
    np.testing.assert_array_equal(inp["power_scope"].to_numpy() == "gpu", gpu)
    excluded = ~labels["pue_included"].to_numpy(dtype=bool)
    assert (excluded & stated).any() and (excluded & ~stated).any()
    assert (inp.loc[excluded & stated, "pue"] == 1.0).all(), "a figure stated to have no PUE is predicted with pue=1"
    assert inp.loc[~stated, "pue"].isna().all(), "a convention the source does not state is never handed over"
    if tier != "T1":  # a source's stated PUE is a T1 fact
        assert inp.loc[~excluded, "pue"].isna().all()
    stated_w = nominal & labels["source_power_w"].notna().to_numpy()
    if tier == "T3":
        assert inp["power_per_device_w"].isna().all()
    else:
        np.testing.assert_allclose(inp.loc[stated_w, "power_per_device_w"], labels.loc[stated_w, "source_power_w"])
    assert inp.loc[~nominal, "power_per_device_w"].isna().all()


def test_printed_precision_is_part_of_the_predictive():
    from carbon_bayes.validate import as_printed, printed_unit

    np.testing.assert_allclose(printed_unit(np.array([17.0, 0.005, 89.67168, 1300000.0])), [1, 0.001, 1e-5, 1e5])
    draws = np.array([[16.6, 17.4, 17.6], [0.0051, 0.00449, 0.0061]])
    np.testing.assert_allclose(as_printed(draws, np.array([17.0, 0.005])), [[17, 17, 18], [0.005, 0.004, 0.006]])
    # a draw under half a printed unit stays as drawn: "17" is never printed as "0"
    low = as_printed(np.array([[0.3, 16.6, 0.6]]), np.array([17.0]))
    np.testing.assert_allclose(low, [[0.3, 17.0, 1.0]])
    assert (low > 0).all()


def test_leave_one_organisation_out_holds_out_every_figure_of_the_organisation(dataset):
    from carbon_bayes.validate import fold_map

    labels = scored_labels(dataset)
    folds = fold_map(labels, dataset, "organisation", None, 0)
    op_of = dataset.groupby("run_group")["operator"].first()
    assert len(set(folds.values())) == labels["operator"].nunique()
    for op, groups in op_of.groupby(op_of):
        if op in set(labels["operator"]):
            assert len({folds[g] for g in groups.index}) == 1, f"{op}'s run groups are split across folds"
    # a fitted-only run group (Code Llama, scored nowhere) leaves with its organisation
    assert folds["codellama-all"] == folds["llama-2-7b"]
    assert len({folds[g] for g in ("llama-2-7b", "gpt-3-175b", "bloom-176b")}) == 3


@pytest.mark.parametrize("tier", ["T1", "T2", "T3"])
def test_tier_inputs_are_accepted_by_the_input_contract_and_fall_in_their_tier(labels, tier):
    runs = schema.normalise_runs(tier_inputs(labels, tier))
    assert len(runs) == len(labels)
    got = runs["tier"].to_numpy()
    hours = _known(labels, "device_hours") | (_known(labels, "n_devices") & _known(labels, "training_days"))
    n_eff = labels["active_parameters"].fillna(labels["parameters"])
    compute = _known(labels, "training_flops") | (n_eff.notna() & labels["training_tokens"].notna()).to_numpy()
    if tier == "T1":  # hours known -> T1; otherwise nothing about compute is left -> T3
        np.testing.assert_array_equal(got, np.where(hours, "T1", "T3"))
        assert hours.mean() > 0.5
    elif tier == "T2":
        np.testing.assert_array_equal(got, np.where(compute, "T2", "T3"))
        assert compute.any()
    else:
        assert set(got) == {"T3"}


# ------------------------------------------------------------------------------ scores

def test_crps_of_a_point_forecast_is_the_absolute_error():
    x = np.array([0.0, 1.5, -2.0, 3.0])
    y = np.array([0.5, 1.5, 1.0, -1.0])
    q = np.repeat(x[:, None], len(QGRID), axis=1)
    np.testing.assert_allclose(crps_from_quantiles(q, y), np.abs(x - y), atol=1e-12)


def test_crps_is_non_negative_and_rewards_sharp_correct_forecasts():
    rng = np.random.default_rng(0)
    q = np.sort(rng.normal(size=(200, len(QGRID))), axis=1)
    y = rng.normal(size=200)
    assert (crps_from_quantiles(q, y) >= 0).all()
    grid = np.array([NormalDist().inv_cdf(t) for t in QGRID])
    y = np.zeros(3)
    sharp = crps_from_quantiles(np.tile(0.1 * grid, (3, 1)), y)
    wide = crps_from_quantiles(np.tile(3.0 * grid, (3, 1)), y)
    off = crps_from_quantiles(np.tile(0.1 * grid + 2.0, (3, 1)), y)
    assert (sharp < wide).all() and (sharp < off).all()


def test_score_draws_flags_coverage_at_each_level():
    # draws 1..1000 for every row: the 50% interval is about [250, 750], the 90% one [50, 950]
    draws = np.tile(np.arange(1.0, 1001.0), (4, 1))
    y = np.array([500.0, 100.0, 20.0, 990.0])
    s = score_draws(draws, y)
    np.testing.assert_array_equal(s["cover50"], [True, False, False, False])
    np.testing.assert_array_equal(s["cover90"], [True, True, False, False])
    np.testing.assert_array_equal(s["cover95"], [True, True, False, False])
    assert (s["lower50"] < s["lower90"]).sum() == 0 and (s["upper50"] < s["upper90"]).all()
    np.testing.assert_allclose(s["lower90"], np.quantile(np.arange(1.0, 1001.0), 0.05))
    # the median is taken on the log scale (geometric), between the two middle draws
    assert 500 <= s["median"][0] <= 501
    # a label in the bulk scores better than one in the tail
    assert s["crps"][0] < s["crps"][2] and s["log_score"][0] > s["log_score"][2]


def test_metrics_on_a_hand_made_frame():
    pred = pd.DataFrame({
        "tier": ["T1"] * 4 + ["T2"] * 2,
        "method": ["m"] * 4 + ["m", "m"],
        "value": [100.0, 100.0, 50.0, 10.0, 10.0, 10.0],
        "median": [110.0, 80.0, 50.0, np.nan, 20.0, 10.0],
        "lower90": [50.0, 40.0, 25.0, np.nan, 5.0, 1.0],
        "upper90": [200.0, 400.0, 100.0, np.nan, 40.0, 100.0],
        **{f"cover{x}": [True, False, True, False, True, True] for x in (50, 80, 95)},
        "cover90": [True, True, True, False, False, True],
        "crps": [0.1, 0.2, 0.3, np.nan, 1.0, 0.0],
        "log_score": [-1.0, -2.0, -3.0, np.nan, -1.0, -1.0],
    })
    m = metrics(pred).set_index("tier")
    t1, t2 = m.loc["T1"], m.loc["T2"]
    assert t1["n"] == 4 and t1["answered"] == 3  # a row without a median is counted, not scored
    assert t1["median_ape"] == pytest.approx(10.0)  # APEs 10, 20, 0
    assert t1["mean_ape"] == pytest.approx(10.0)
    assert t1["cover90"] == pytest.approx(100.0)
    assert t1["cover50"] == pytest.approx(200 / 3)
    assert t1["width90"] == pytest.approx(4.0)  # widths 4, 10, 4
    assert t1["crps"] == pytest.approx(0.2)
    assert t2["median_ape"] == pytest.approx(50.0)  # APEs 100, 0
    assert t2["cover90"] == pytest.approx(50.0)
    assert t2["width90"] == pytest.approx(54.0)  # widths 8, 100


@pytest.mark.slow
def test_a_two_fold_cross_validation_at_tier_t1_has_the_expected_shape(dataset):
    from carbon_bayes.validate import FORMULAS, cross_validate

    res = cross_validate(dataset, folds=2, tiers=("T1",), ml=False, progress=False, jobs=2,
                         sampler_config={"draws": 200, "tune": 200, "chains": 2})
    labels = scored_labels(dataset)
    pred = res.predictions
    assert set(pred["method"]) == {"carbon_bayes", *FORMULAS}
    assert set(pred["tier"]) == {"T1"}
    assert len(pred) == len(labels) * (1 + len(FORMULAS))
    ours = pred[pred["method"] == "carbon_bayes"]
    assert sorted(ours["run_id"]) == sorted(labels["run_id"])
    assert ours["median"].notna().all() and (ours["median"] > 0).all()
    assert (ours["lower90"] <= ours["lower50"]).all() and (ours["upper50"] <= ours["upper90"]).all()
    assert set(res.folds.values()) == {0, 1} and set(res.folds) == set(labels["run_group"])
    assert len(res.convergence) == 2
    # each label was predicted by the fit of the fold that held its run out
    assert (ours["fold"].to_numpy() == ours["run_group"].map(res.folds).to_numpy()).all()
    table = res.metrics()
    assert len(table) == 1 + len(FORMULAS)
    assert table["answered"].max() == len(labels)
    # sampled two folds at a time or one: the same result (each fold has its own seed)
    one = cross_validate(dataset, folds=2, tiers=("T1",), ml=False, progress=False, jobs=1,
                         sampler_config={"draws": 200, "tune": 200, "chains": 2})
    pd.testing.assert_frame_equal(one.predictions, res.predictions)
    assert one.convergence == res.convergence
    assert (res.settings["jobs"], one.settings["jobs"]) == (2, 1)


def test_folds_run_one_per_chains_cores_and_a_bad_jobs_value_is_refused(dataset, monkeypatch):
    import os

    from carbon_bayes.errors import InputError
    from carbon_bayes.validate import cross_validate, default_jobs

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert (default_jobs(4), default_jobs(2), default_jobs(32)) == (4, 8, 1)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert default_jobs(4) == 1
    with pytest.raises(InputError, match="jobs"):
        cross_validate(dataset, folds=2, jobs=0)


def test_scores_leave_out_the_nan_padding_of_runs_with_fewer_draws(rng):
    """Score a NaN-padded run (fewer draws than its batch's most) on its own draws only."""
    from carbon_bayes.validate import score_draws

    d = np.exp(rng.normal(0, 0.5, size=(1, 400)))
    padded = np.concatenate([d, np.full((1, 600), np.nan)], axis=1)
    y = np.array([1.2])
    a, b = score_draws(d, y), score_draws(padded, y)
    for k in a:
        np.testing.assert_allclose(np.asarray(a[k], dtype=float), np.asarray(b[k], dtype=float), err_msg=k)
