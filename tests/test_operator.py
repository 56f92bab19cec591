"""Organisation effects: runs of one organisation share a utilisation and a power effect.

A run that names an organisation of the published runs uses that organisation's learned effects;
one that names another organisation, or none, draws a new organisation's effects, so its interval
carries the spread between organisations (docs/model.md, section 2.5).
"""

from __future__ import annotations

import numpy as np
import pytest

import carbon_bayes as cb
from carbon_bayes.cli import main

#: Compute and hardware known, no hours (tier T2): the utilisation is drawn, so its organisation
#: effect matters.
T2 = {"year": 2023, "task": "language", "architecture": "dense_transformer", "parameters": 7e9,
      "training_tokens": 2e12, "hardware": "A100-80GB", "country": "US"}


def _log_width(est) -> float:
    row = est.to_frame().iloc[0]
    return float(np.log(row["energy_mwh_upper"] / row["energy_mwh_lower"]))


def test_the_shipped_posterior_knows_the_organisations_of_its_runs(shipped_posterior, dataset):
    fitted = set(dataset.loc[dataset["in_fit"], "operator"].str.lower())
    assert set(shipped_posterior.levels["operator"]) == fitted
    assert shipped_posterior.draws["u_operator"].shape[1] == len(fitted)


def test_a_new_organisation_gets_a_wider_interval_than_a_known_one(shipped_posterior):
    """The new-group draw adds the between-organisation variance to the utilisation.

    With the posterior's between-organisation scale (median about 0.5 on the logit scale, against a
    run-to-run scale of about 0.4), the 90% interval of a new organisation's run is wider in log
    terms than that of a run of a known organisation; 1.1x leaves room for Monte Carlo noise at
    20,000 draws (the log width's MCSE is under 1%).
    """
    sigma = float(np.median(shipped_posterior.draws["u_operator_sigma"]))
    assert sigma > 0.2  # the data teach a real spread between organisations
    known = cb.estimate({**T2, "operator": "meta"}, n_draws=20_000, seed=1)
    new = cb.estimate(T2, n_draws=20_000, seed=1)
    assert _log_width(new) > 1.1 * _log_width(known)


def test_an_organisation_is_matched_without_regard_to_case_and_spaces():
    a = cb.estimate({**T2, "operator": "meta"}, n_draws=2_000, seed=3).to_frame().iloc[0]
    b = cb.estimate({**T2, "operator": "  Meta "}, n_draws=2_000, seed=3).to_frame().iloc[0]
    assert a["energy_mwh_median"] == pytest.approx(b["energy_mwh_median"], rel=1e-12)


def test_an_unknown_organisation_is_said_to_be_drawn_as_a_new_one():
    est = cb.estimate({**T2, "operator": "some new lab"}, n_draws=2_000, seed=3)
    warnings = est.to_frame().iloc[0]["warnings"]
    assert "'some new lab' is not among the organisations" in warnings
    known = cb.estimate({**T2, "operator": "meta"}, n_draws=2_000, seed=3).to_frame().iloc[0]["warnings"]
    assert "not among the organisations" not in known


def test_data_lists_the_organisations(capsys):
    assert main(["data", "--operators", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("operator,organization,figures,runs")
    assert "\nmeta,Meta," in out and "--operator" in out
