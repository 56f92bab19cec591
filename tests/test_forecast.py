"""Mid-training forecasts (carbon_bayes.forecast and ``carbon-bayes forecast``) on the shipped posterior."""

from __future__ import annotations

import json
from itertools import pairwise

import numpy as np
import pytest

from carbon_bayes.cli import main
from carbon_bayes.errors import InputError
from carbon_bayes.forecast import MIN_ESS, forecast, progress_sd, weighted_quantile

RUN = {"run_id": "llm", "hardware": "H100", "device_hours": 2e5, "parameters": 8e9, "country": "US", "year": 2024,
       "architecture": "dense_transformer", "task": "language"}


@pytest.fixture(scope="module")
def prior():
    """Return the run's predictive total before any measurement (median energy, MWh)."""
    fc = forecast(RUN, hours_so_far=2e5, fraction_done=1.0)  # the planned hours, no energy observed
    return fc.prior_energy_mwh


def test_progress_noise_shrinks_to_zero_at_the_end():
    s = [progress_sd(f) for f in (0.05, 0.3, 0.6, 0.9, 1.0)]
    assert all(a > b for a, b in pairwise(s))
    assert progress_sd(0.5, 0.3) == pytest.approx(0.15)
    assert progress_sd(1.0) == pytest.approx(1e-3)


def test_weighted_quantile_matches_numpy_for_equal_weights():
    x = np.random.default_rng(1).lognormal(size=1001)
    np.testing.assert_allclose(weighted_quantile(x, np.ones_like(x), [0.05, 0.5, 0.95]),
                               np.quantile(x, [0.05, 0.5, 0.95], method="hazen"))


def test_near_the_end_the_total_is_energy_so_far_over_fraction(prior):
    e_f = 0.99 * prior["median"] * 1.3
    fc = forecast(RUN, energy_so_far_mwh=e_f, fraction_done=0.99)
    assert fc.energy_mwh["median"] == pytest.approx(e_f / 0.99, rel=0.01)
    assert fc.energy_mwh["upper"] / fc.energy_mwh["lower"] < 1.03
    assert fc.energy_mwh["lower"] >= e_f
    done = forecast(RUN, energy_so_far_mwh=e_f, fraction_done=1.0)
    assert done.energy_mwh["median"] == pytest.approx(e_f, rel=0.005)


def test_more_progress_narrows_the_interval(prior):
    widths = []
    for f in (0.1, 0.3, 0.6, 0.9):
        fc = forecast(RUN, energy_so_far_mwh=f * prior["median"], fraction_done=f)
        widths.append(fc.energy_mwh["upper"] / fc.energy_mwh["lower"])
    assert all(a > b for a, b in pairwise(widths)), widths
    assert widths[0] < prior["upper"] / prior["lower"]  # even 10% done is information


def test_consistent_measurement_uses_importance_weights_with_enough_ess(prior):
    fc = forecast(RUN, energy_so_far_mwh=0.3 * prior["median"], fraction_done=0.3, budget_t=50)
    assert fc.method == "importance" and fc.ess >= MIN_ESS
    assert fc.energy_mwh["median"] == pytest.approx(prior["median"], rel=0.1)
    row = fc.to_frame().iloc[0]
    assert row["method"] == "importance" and row["ess"] == pytest.approx(fc.ess)
    assert row["p_exceed"] == pytest.approx(fc.p_exceed)


def test_measurement_far_above_the_prior_moves_the_forecast_up(prior):
    fc = forecast(RUN, energy_so_far_mwh=0.3 * 10 * prior["median"], fraction_done=0.3)
    assert fc.energy_mwh["median"] > 3 * prior["median"]
    assert fc.energy_mwh["lower"] > prior["upper"]
    assert fc.method == "analytic" and fc.ess < MIN_ESS  # reported, not hidden
    assert any("analytic log-normal update" in n for n in fc.notes)
    assert any("check the inputs" in n for n in fc.notes)  # a conflict this large is flagged
    # the further above, the higher the forecast
    higher = forecast(RUN, energy_so_far_mwh=0.3 * 20 * prior["median"], fraction_done=0.3)
    assert higher.energy_mwh["median"] > fc.energy_mwh["median"]


def test_analytic_update_agrees_with_importance_sampling_where_both_work(prior):
    kw = dict(energy_so_far_mwh=0.4 * 1.2 * prior["median"], fraction_done=0.4)
    imp = forecast(RUN, min_ess=1, **kw)
    ana = forecast(RUN, min_ess=1e9, **kw)
    assert (imp.method, ana.method) == ("importance", "analytic")
    for s in ("median", "lower", "upper"):
        assert ana.energy_mwh[s] == pytest.approx(imp.energy_mwh[s], rel=0.06), s


def test_p_exceed_is_monotone_in_the_budget(prior):
    fc = forecast(RUN, energy_so_far_mwh=0.5 * prior["median"], fraction_done=0.5, budget_t=40)
    # up to just past the largest weighted draw, where P(exceed) must be exactly 0 (the tails are
    # heavy, so a multiple of the 90% upper bound would not do; the resampled `.draws` can miss a
    # draw whose weight is below 1/n, so the weighted draws themselves are used)
    budgets = np.linspace(0, 1.01 * fc._co2.max(), 40)
    p = [fc.prob_exceeds(b) for b in budgets]
    assert all(a >= b for a, b in pairwise(p))
    assert p[0] == pytest.approx(1.0) and p[-1] == pytest.approx(0.0, abs=1e-6)
    assert fc.prob_exceeds(40) == pytest.approx(fc.p_exceed)
    assert fc.prob_exceeds(fc.co2_t["median"]) == pytest.approx(0.5, abs=0.02)


def test_stop_rule_sentence(prior):
    high = forecast(RUN, energy_so_far_mwh=0.3 * prior["median"], fraction_done=0.3, budget_t=1.0)
    assert high.p_exceed > 0.99
    assert high.stop_rule.startswith("at the current rate the run will exceed the budget of 1 t CO2e with "
                                     "probability 1.00: projected total")
    assert "stop or re-plan now" in high.stop_rule and "70% of the steps left" in high.stop_rule
    low = forecast(RUN, energy_so_far_mwh=0.3 * prior["median"], fraction_done=0.3, budget_t=1e4)
    assert low.p_exceed < 0.01 and "on track" in low.stop_rule
    assert forecast(RUN, energy_so_far_mwh=1, fraction_done=0.3).stop_rule is None


def test_hours_so_far_project_the_device_hours():
    fc = forecast(RUN, hours_so_far=3e4, fraction_done=0.2)
    assert fc.method == "projection" and fc.ess is None
    assert fc.projected_device_hours == pytest.approx(1.5e5)
    assert any("replaced by the projection" in n for n in fc.notes)
    planned = forecast(RUN, hours_so_far=4e4, fraction_done=0.2)  # on plan: 2e5 device-hours
    assert fc.energy_mwh["median"] / planned.energy_mwh["median"] == pytest.approx(0.75, rel=0.05)


def test_known_intensity_makes_co2_exact():
    fc = forecast({**RUN, "carbon_intensity": 0.25}, energy_so_far_mwh=20, fraction_done=0.25)
    d = fc.draws
    np.testing.assert_allclose(d["co2_t"], d["energy_mwh"] * 0.25, rtol=1e-5)
    assert fc.co2_t["median"] == pytest.approx(0.25 * fc.energy_mwh["median"], rel=1e-5)


def test_forecast_is_reproducible_with_a_seed():
    a = forecast(RUN, energy_so_far_mwh=30, fraction_done=0.3, budget_t=40, seed=3)
    b = forecast(RUN, energy_so_far_mwh=30, fraction_done=0.3, budget_t=40, seed=3)
    assert a.co2_t == b.co2_t and a.p_exceed == b.p_exceed


@pytest.mark.parametrize("kw, field", [
    (dict(energy_so_far_mwh=1, fraction_done=0), "fraction_done"),
    (dict(energy_so_far_mwh=1, fraction_done=30), "fraction_done"),
    (dict(energy_so_far_mwh=1), "fraction_done"),
    (dict(fraction_done=0.3), "energy_so_far_mwh"),
    (dict(energy_so_far_mwh=-1, fraction_done=0.3), "energy_so_far_mwh"),
    (dict(hours_so_far="many", fraction_done=0.3), "hours_so_far"),
    (dict(energy_so_far_mwh=1, fraction_done=0.3, budget_t=-5), "budget_t"),
    (dict(energy_so_far_mwh=1, fraction_done=0.3, ci_level=90), "ci_level"),
])
def test_bad_arguments_name_the_field(kw, field):
    with pytest.raises(InputError) as e:
        forecast(RUN, **kw)
    assert e.value.field == field


def test_one_run_at_a_time():
    with pytest.raises(InputError, match="one run at a time"):
        forecast([RUN, {**RUN, "run_id": "other"}], energy_so_far_mwh=1, fraction_done=0.5)


# ----------------------------------------------------------------------------- CLI

FLAGS = ["forecast", "--hardware", "H100", "--device-hours", "2e5", "--parameters", "8e9", "--country", "US",
         "--year", "2024"]


def test_cli_table_prints_the_stop_rule(capsys):
    code = main([*FLAGS, "--energy-so-far-mwh", "55", "--fraction-done", "0.3", "--budget-t", "60"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "p_exceed" in out and "co2_t_median" in out
    assert "at the current rate the run will exceed the budget of 60 t CO2e with probability" in out


def test_cli_json_is_parseable(capsys):
    code = main([*FLAGS, "--energy-so-far-mwh", "55", "--fraction-done", "0.3", "--budget-t", "60", "--format",
                 "json"])
    out, _ = capsys.readouterr()
    assert code == 0
    d = json.loads(out)
    assert d["method"] in ("importance", "analytic") and 0 <= d["p_exceed"] <= 1
    assert d["co2_t_lower"] < d["co2_t_median"] < d["co2_t_upper"]
    assert d["stop_rule"].startswith("at the current rate")


def test_cli_input_file(capsys, tmp_path):
    p = tmp_path / "run.csv"
    p.write_text("run_id,hardware,device_hours,country,year\nmine,A100,50000,FR,2023\n")
    code = main(["forecast", "--input", str(p), "--hours-so-far", "10000", "--fraction-done", "0.25", "--format",
                 "csv"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.splitlines()[1].startswith("mine,0.25")


@pytest.mark.parametrize("argv, field", [
    (["--energy-so-far-mwh", "5", "--fraction-done", "1.5"], "fraction_done"),
    (["--fraction-done", "0.5"], "energy_so_far_mwh"),
    (["--energy-so-far-mwh", "5", "--fraction-done", "0.5", "--hardware", "H1000"], "hardware"),
])
def test_cli_errors_are_one_line_with_exit_2(capsys, argv, field):
    given = {a for a in argv if a.startswith("--")}
    base = [x for k, v in zip(FLAGS[1::2], FLAGS[2::2], strict=True) if k not in given for x in (k, v)]
    code = main([FLAGS[0], *base, *argv])  # a flag of argv replaces the one of FLAGS (given twice is refused)
    out, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"error: {field}=")
