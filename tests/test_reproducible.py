"""A run's numbers depend on its inputs, the posterior and the seed alone (counter-based streams).

The Monte Carlo error of a quoted median is also small or reported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import carbon_bayes as cb
from carbon_bayes import budget, streams
from carbon_bayes.constants import MCSE_TARGET, N_DRAWS_BY_TIER
from carbon_bayes.errors import InputError

LLAMA = {"model_name": "Llama 2 7B", "parameters": 7e9, "training_tokens": 2e12, "hardware": "A100-80GB",
         "device_hours": 184320, "year": 2023, "provider": "meta", "country": "US"}
OTHERS = [
    {"parameters": 70e9, "training_tokens": 1e12, "hardware": "H100", "year": 2024, "region": "aws:us-east-1"},
    {"parameters": 1e9, "year": 2024, "task": "vision"},
    {"parameters": 3e8, "hardware": "V100", "device_hours": 5000, "country": "FR", "year": 2020},
]
COLS = ["energy_mwh_mean", "energy_mwh_median", "energy_mwh_lower", "energy_mwh_upper", "co2_t_mean",
        "co2_t_median", "co2_t_lower", "co2_t_upper"]


def _row(frame: pd.DataFrame, run_id: str) -> np.ndarray:
    return frame.set_index("run_id").loc[run_id, COLS].to_numpy(dtype=float)


@pytest.fixture(scope="module")
def alone():
    return cb.estimate({**LLAMA, "run_id": "llama"}).to_frame()


def test_a_run_gives_the_same_numbers_alone_in_any_batch_position_and_chunk(alone):
    want = _row(alone, "llama")
    batch = [*OTHERS, {**LLAMA, "run_id": "llama"}]
    for runs in (batch, batch[::-1], [OTHERS[1], {**LLAMA, "run_id": "llama"}]):
        for chunk_size in (None, 1, 3):
            got = _row(cb.estimate(runs, chunk_size=chunk_size).to_frame(), "llama")
            np.testing.assert_array_equal(got, want)


def test_the_run_id_and_name_do_not_change_the_numbers(alone):
    other = cb.estimate({**LLAMA, "run_id": "renamed", "model_name": "x"}).to_frame()
    np.testing.assert_array_equal(_row(other, "renamed"), _row(alone, "llama"))


def test_identical_rows_give_identical_numbers():
    frame = cb.estimate([{**OTHERS[0], "run_id": "a"}, {**OTHERS[0], "run_id": "b"}]).to_frame()
    np.testing.assert_array_equal(_row(frame, "a"), _row(frame, "b"))


def test_another_seed_gives_other_numbers_within_the_monte_carlo_error(alone):
    other = cb.estimate({**LLAMA, "run_id": "llama"}, seed=1).to_frame(mcse=True)
    a, b = _row(alone, "llama"), _row(other, "llama")
    assert not np.array_equal(a, b)
    # the medians differ by noise only: within 4 combined standard errors of 1% each (T1's target)
    assert abs(b[1] / a[1] - 1) < 4 * np.sqrt(2) * MCSE_TARGET["T1"]


def test_a_sweep_sums_independent_replicates_of_identical_runs(shipped_posterior):
    """Trials of one run are replicates: the first is the run's own estimate, the others have noise of their own.

    They share each posterior draw (the parameters are one), so the noise is checked on a one-draw
    posterior, with the architecture and the organisation given: then no run-specification draw is left
    to share (an unstated architecture, or organisation, would be one new-group draw for all trials, as
    replicates of one organisation's run share its effect), and the trials' log draws
    are uncorrelated (a correlation of 10,000 draws has sd 0.01; identical noise would give 1).
    """
    import dataclasses

    res = budget.sweep({**OTHERS[2], "run_id": "r"}, n_trials=3, same_site=False)
    d = res.run_draws["co2_t"].values
    est = cb.estimate({**OTHERS[2], "run_id": "r"})
    np.testing.assert_array_equal(d[0], est.draws["co2_t"].values[0])
    one = dataclasses.replace(shipped_posterior, draws={k: v[[0]] for k, v in shipped_posterior.draws.items()})
    run = {**OTHERS[2], "architecture": "cnn", "operator": "meta", "run_id": "r"}
    d1 = budget.sweep(run, n_trials=3, same_site=False, posterior=one, n_draws=10_000).run_draws["co2_t"].values
    corr = np.corrcoef(np.log(d1))[np.triu_indices(3, 1)]
    assert np.all(np.abs(corr) < 0.05), corr


def test_streams_do_not_depend_on_which_runs_are_asked_for():
    keys = np.array([5, 6, 7], dtype=np.uint64)
    s = streams.Streams(keys, 50, seed=3)
    all_cols = s.normal("node", np.arange(3))
    np.testing.assert_array_equal(s.normal("node", np.array([2])), all_cols[:, [2]])
    np.testing.assert_array_equal(streams.Streams(keys[[2]], 50, 3).normal("node", [0]), all_cols[:, [2]])
    # more draws extend, and do not change, the first ones
    np.testing.assert_array_equal(streams.Streams(keys, 80, 3).normal("node", np.arange(3))[:50], all_cols)
    assert not np.allclose(s.normal("other node", np.arange(3)), all_cols)


def test_stream_draws_have_the_distributions_they_claim():
    """Moments of 200,000 draws: the sd of a sample mean is 1/sqrt(n) = 0.0022, of a variance 0.0032."""
    from scipy import stats

    s = streams.Streams(np.arange(4, dtype=np.uint64), 50_000, seed=11)
    z = s.normal("z", np.arange(4)).ravel().astype(float)
    assert abs(z.mean()) < 0.01 and abs(z.var() - 1) < 0.015
    u = s.uniform("u", np.arange(4)).ravel()
    assert 0 < u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.003
    for nu in (4.0, 5.0):
        c = s.chi2(f"c{nu}", nu, np.arange(4)).ravel().astype(float)
        assert abs(c.mean() / nu - 1) < 0.01, (nu, c.mean())
        # Kolmogorov-Smirnov distance well under the 1% critical value 1.63/sqrt(n) = 0.0036 (exact for
        # even nu; the Wilson-Hilferty cube for odd nu is within 0.003)
        assert stats.kstest(c, "chi2", args=(nu,)).statistic < 0.0045
    t = s.student_t("t", 4.0, np.arange(4)).ravel().astype(float)
    assert np.abs(t).max() <= streams.T_CLIP
    assert stats.kstest(t[np.abs(t) < 4], lambda x: (stats.t.cdf(x, 4) - stats.t.cdf(-4, 4))
                        / (1 - 2 * stats.t.cdf(-4, 4))).statistic < 0.004


def test_medians_meet_their_tiers_monte_carlo_targets_or_say_so():
    runs = [{**LLAMA, "run_id": "t1"}, {**OTHERS[0], "run_id": "t2"}, {**OTHERS[1], "run_id": "t3"}]
    f = cb.estimate(runs).to_frame(mcse=True).set_index("run_id")
    assert list(f["tier"]) == ["T1", "T2", "T3"]
    for run_id, row in f.iterrows():
        worst = max(row["energy_mwh_median_mcse"], row["co2_t_median_mcse"])
        assert row["n_draws"] >= N_DRAWS_BY_TIER[row["tier"]]
        # these runs reach their targets (the adaptive draws are deterministic for fixed inputs and seed)
        assert worst <= MCSE_TARGET[row["tier"]] and "Monte Carlo error" not in row["warnings"], (run_id, worst)
    assert f.loc["t1", "n_draws"] > N_DRAWS_BY_TIER["T1"]  # the README's run needs more than its tier's start
    # the reported error is what repeated seeds show: the medians of 6 seeds scatter by about it
    meds = [cb.estimate(runs[2], seed=s).to_frame()["energy_mwh_median"].iloc[0] for s in range(6)]
    spread = np.std(np.log(meds), ddof=1)
    assert spread < 3 * f.loc["t3", "energy_mwh_median_mcse"], (spread, f.loc["t3", "energy_mwh_median_mcse"])


def test_fixed_draws_that_miss_the_target_are_reported():
    f = cb.estimate(OTHERS[1], n_draws=100).to_frame(mcse=True)
    assert f["n_draws"].iloc[0] == 100
    assert "Monte Carlo error of the median" in f["warnings"].iloc[0]


@pytest.mark.parametrize("bad", [0, 1, -5, 2.5, "many", True])
def test_bad_draw_counts_name_the_field(bad):
    with pytest.raises(InputError) as e:
        cb.estimate(LLAMA, n_draws=bad)
    assert e.value.field == "n_draws"


@pytest.mark.parametrize("bad", [0, -3, 1.5])
def test_bad_chunk_sizes_name_the_field(bad):
    with pytest.raises(InputError) as e:
        cb.estimate(LLAMA, chunk_size=bad)
    assert e.value.field == "chunk_size"


def test_large_batches_do_not_keep_draws_unless_asked():
    from carbon_bayes.estimator import KEEP_DRAWS_LIMIT

    runs = pd.DataFrame([LLAMA] * (KEEP_DRAWS_LIMIT // N_DRAWS_BY_TIER["T1"] + 1))
    est = cb.estimate(runs)
    with pytest.raises(RuntimeError, match="keep_draws"):
        est.draws  # noqa: B018
    kept = cb.estimate(runs.head(3)).draws
    assert kept["co2_t"].attrs["units"] == "t CO2e" and kept["energy_mwh"].attrs["units"] == "MWh"
    sweep = budget.sweep(runs.head(2))
    assert sweep.draws["co2_t"].attrs["units"] == "t CO2e" and sweep.run_draws["energy_mwh"].attrs["units"] == "MWh"


def test_the_trials_of_a_sweep_share_what_the_inputs_leave_unknown():
    """Keep the uncertainty of an unknown size in the total of a sweep's trials.

    Trials of one search are one model: the total of 20 trials keeps about as many decades of width
    as one trial, instead of averaging it away as 20 independent sizes would (about 1/sqrt(20)).
    """
    run = {"run_id": "r", "year": 2024, "task": "language", "architecture": "dense_transformer",
           "hardware": "A100-80GB", "country": "US"}
    one = budget.sweep(run, n_trials=1, n_draws=2000).draws["co2_t"].values
    total = budget.sweep(run, n_trials=20, n_draws=2000).draws["co2_t"].values

    def decades(d):
        return np.subtract(*np.log10(np.quantile(d, [0.95, 0.05])))

    assert decades(total) > 0.7 * decades(one), (decades(total), decades(one))


def test_explicit_draws_below_the_default_are_honoured_by_sums_and_plans():
    assert budget.sweep(OTHERS[2], n_trials=3, n_draws=200).draws.sizes["draw"] == 200
    assert budget.plan(OTHERS[2], budget_t=1.0, alternatives={"country": ["FR", "SE"]}, n_draws=200).attrs[
        "n_draws"] == 200


def test_more_draws_than_the_posterior_has_use_each_posterior_draw_equally(shipped_posterior):
    import dataclasses

    from carbon_bayes.predict import Predictor

    total = shipped_posterior.n_draws
    # label each posterior draw by its index (a sampler can repeat a value, so values do not identify draws)
    labelled = dataclasses.replace(shipped_posterior, draws={**shipped_posterior.draws,
                                                             "u_intercept": np.arange(total, dtype=float)})
    idx = Predictor(labelled).draws(total + total // 3)["u_intercept"]
    counts = pd.Series(idx.astype(int)).value_counts()
    assert len(counts) == total and counts.max() - counts.min() <= 1


@pytest.mark.parametrize("bad", [-1, 2 ** 64, 1.5, "x", True])
def test_bad_seeds_name_the_field(bad):
    with pytest.raises(InputError) as e:
        cb.estimate(LLAMA, seed=bad)
    assert e.value.field == "seed"


def test_features_of_some_rows_are_those_rows_features():
    """Features computed once and taken for a pass's rows equal the features of those rows alone."""
    from dataclasses import fields

    from carbon_bayes import schema
    from carbon_bayes.predict import get_predictor

    pred = get_predictor(None)
    runs = [*OTHERS, {**LLAMA, "run_id": "llama", "operator": "Meta"}, {"parameters": 1e6, "year": 2031}]
    everything = pred.features(schema.normalise_columns(runs))
    rows = np.array([4, 1, 3])
    taken = everything.take(rows)
    alone = pred.features(schema.normalise_columns([runs[i] for i in rows]))
    assert taken.n == alone.n == 3
    for f in fields(alone):
        a, b = getattr(taken, f.name), getattr(alone, f.name)
        if isinstance(b, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=f.name)
        else:
            assert a == b, f.name
    assert taken.notes[0]  # the extrapolated year's note came along with its row
