"""Plots return matplotlib Figures, headless, without touching pyplot's global state."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import carbon_bayes as cb  # noqa: E402
from carbon_bayes import budget, plots  # noqa: E402
from carbon_bayes.errors import InputError  # noqa: E402

RUN = {"parameters": 7e9, "training_tokens": 2e12, "hardware": "H100", "year": 2024, "region": "gcp:us-east1"}


@pytest.fixture(scope="module")
def est():
    return cb.estimate([RUN, {**RUN, "region": "gcp:europe-north1", "run_id": "north"}])


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_predictive_plot_prints_p_exceed(est, tmp_path):
    before = plt.get_fignums()
    b = float(est.to_frame()["co2_t_median"].iloc[0])
    fig = plots.plot_predictive(est, budget_t=b)
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == before  # not registered with pyplot
    p = float(est.prob_exceeds(co2_t=b).iloc[0])
    assert f"P(exceed) = {p:.1%}" in _texts(fig)
    # the budget line is drawn at the budget
    xs = [ln.get_xdata()[0] for ln in fig.axes[0].lines]
    assert any(np.isclose(x, b) for x in xs)
    out = tmp_path / "p.png"
    fig.savefig(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_predictive_plot_by_run_id_on_given_axes(est):
    fig0, ax = plt.subplots()
    try:
        fig = plots.plot_predictive(est, run="north", quantity="energy_mwh", ax=ax)
        assert fig is fig0
        assert "north" in ax.get_title()
        assert ax.get_xlabel() == "energy (MWh)"
    finally:
        plt.close(fig0)
    with pytest.raises(InputError):
        plots.plot_predictive(est, run="nope")
    with pytest.raises(InputError):
        plots.plot_predictive(est, quantity="kwh")


def test_predictive_plot_of_a_sweep_total():
    res = budget.sweep(RUN, n_trials=3, budget_t=100)
    fig = plots.plot_predictive(res, budget_t=100)
    assert "total of 3 runs" in fig.axes[0].get_title()


def test_alternatives_plot_has_one_row_per_alternative():
    df = budget.plan(RUN, budget_t=20, alternatives={"region": ["gcp:europe-north1", "aws:us-east-1"]})
    fig = plots.plot_alternatives(df)
    assert isinstance(fig, Figure)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == len(df)
    assert any(lbl.startswith("reference") for lbl in labels)
    assert any("budget 20" in t for t in _texts(fig))
    with pytest.raises(InputError):
        plots.plot_alternatives(df.drop(columns="co2_t_median"))


def test_effects_forest_plot_marks_unobserved_levels():
    post = cb.load_posterior()
    tab = plots.effects_table(post)
    observed = post.model_config["observed"]
    for var, (_, dim) in plots.plotted_effects().items():
        sub = tab[tab["variable"] == var]
        assert list(sub["level"]) == list(post.levels[dim])
        assert set(sub.loc[sub["observed"], "level"]) == set(observed[dim])
    assert (tab["lower"] <= tab["median"]).all() and (tab["median"] <= tab["upper"]).all()
    faded = plots.plot_effects(post)
    omitted = plots.plot_effects(post, unobserved="omit")
    assert isinstance(faded, Figure) and isinstance(omitted, Figure)
    n_faded = sum(len(ax.get_yticklabels()) for ax in faded.axes)
    n_omit = sum(len(ax.get_yticklabels()) for ax in omitted.axes)
    assert n_faded == len(tab) and n_omit == int(tab["observed"].sum()) < n_faded
    with pytest.raises(InputError):
        plots.plot_effects(post, unobserved="hide")
