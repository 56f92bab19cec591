"""The PyMC model: its graph (built, not sampled) and the contract of a real small fit.

The graph tests only build the model (no compilation). The fit tests use the session's
``tiny_fit`` (150 draws x 2 chains, compiled once for the whole suite): they check what a fit
reports and that saving and loading loses nothing, not the quality of the posterior (the
shipped posterior's convergence is gated in ``test_posterior.py``, recovery of known
parameters in ``test_recovery.py``).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from carbon_bayes import reference, schema
from carbon_bayes.dataset import fitted_rows, load_training_runs
from carbon_bayes.errors import ConvergenceError
from carbon_bayes.fitting import GATE, CarbonModel, convergence_report, format_report
from carbon_bayes.posterior import (
    PREDICTOR_VARIABLES,
    dataset_from_tree,
    dataset_sha256,
    load_posterior,
    priors_sha256,
)
from carbon_bayes.priorspec import load_prior_spec

REPORT_KEYS = {"r_hat_max", "r_hat_worst", "ess_bulk_min", "ess_bulk_worst", "divergences", "passed"}
LEVEL_DIMS = ("generation", "family", "architecture", "era", "provider")


def expected_levels() -> dict[str, list[str]]:
    """Every level the package knows, from the reference tables and the input contract."""
    acc = reference.accelerators()
    return {
        "generation": sorted(acc["generation"].unique()),
        "family": sorted(acc["family"].unique()),
        "architecture": list(schema.CATEGORIES["architecture"]),
        "era": list(load_prior_spec().structure["era_labels"]),
        "provider": list(schema.CATEGORIES["provider"]),
    }


def used_labels(rows) -> int:
    """Fitted rows that carry a usable figure: energy, or a location-based CO2 figure > 0."""
    energy = rows["energy_mwh"].notna()
    co2 = rows["co2_t"].notna() & (rows["co2_t"] > 0) & (rows["accounting"] != "market_based")
    return int((energy | co2).sum())


@pytest.fixture(scope="module")
def built(dataset):
    cm = CarbonModel(sampler_config={"progressbar": False})
    return cm, cm.build(dataset)


# ------------------------------------------------------------------------------ the graph

def test_the_graph_has_every_variable_the_predictor_reads_with_its_dims(built):
    _, m = built
    missing = [v for v in PREDICTOR_VARIABLES if v not in m.named_vars]
    assert not missing, f"the model lacks predictor variables {missing}"
    for name, dims in PREDICTOR_VARIABLES.items():
        assert tuple(m.named_vars_to_dims.get(name, ())) == dims, name


def test_the_coords_include_every_level_even_unobserved_ones(built, dataset):
    cm, m = built
    want = expected_levels()
    for dim in LEVEL_DIMS:
        assert list(m.coords[dim]) == want[dim], dim
    # at least one hardware generation is known to the package but used by no fitted run: it is still a level
    fitted_hw = set(fitted_rows(dataset)["hardware"])
    acc = reference.accelerators()
    used = set(acc.loc[sorted(fitted_hw), "generation"])
    assert set(want["generation"]) - used, "expected unobserved generations (new-group draws)"


def test_the_runs_and_labels_of_the_graph_are_the_fitted_rows(built, dataset):
    _, m = built
    rows = fitted_rows(dataset)
    assert sorted(m.coords["run"]) == sorted(set(rows["run_group"]))
    assert len(m.coords["label"]) == used_labels(rows)
    # every data container (switched per fold by cross-validation) is laid out along a coord
    assert m.data_vars
    for d in m.data_vars:
        dims = m.named_vars_to_dims.get(d.name)
        assert dims and all(x in m.coords for x in dims), d.name
        assert d.get_value().shape == tuple(len(m.coords[x]) for x in dims)


def test_a_graph_of_two_runs_still_knows_every_level(dataset):
    keep = list(dict.fromkeys(fitted_rows(dataset)["run_group"]))[:2]
    small = load_training_runs(dataset[dataset["run_group"].isin(keep)])
    m = CarbonModel().build(small)
    assert sorted(m.coords["run"]) == sorted(keep)
    want = expected_levels()
    for dim in LEVEL_DIMS:
        assert list(m.coords[dim]) == want[dim], dim
    for name in PREDICTOR_VARIABLES:
        assert name in m.named_vars


def test_operator_effects_are_centred_only_where_enough_figures_inform_them(built):
    from carbon_bayes.effects import CENTRED_MIN_FIGURES as CENTRED_PROVIDER_MIN_FIGURES

    cm, m = built
    fd = cm.fit_data
    # count the informing figures per operator from the frames directly
    prov = np.asarray(m.coords["provider"])
    lat = fd.labels[fd.labels["ci_mode"] == "latent"]
    runs = list(lat["run_idx"]) + list(fd.ci_evidence["run_idx"])
    counts = pd.Series(prov[fd.feats.provider_idx[runs]]).value_counts()
    want = sorted(counts[counts >= CENTRED_PROVIDER_MIN_FIGURES].index)
    assert want, "the shipped data have an operator with enough intensity figures (Meta)"
    assert sorted(m.coords["informed_provider"]) == want
    assert sorted(list(m.coords["informed_provider"]) + list(m.coords["other_provider"])) == sorted(prov)
    free = {v.name for v in m.free_RVs}
    assert {"intensity_provider_total", "intensity_provider_z"} <= free and "intensity_provider" not in free
    assert list(fd.informed_providers(1)) == sorted(np.flatnonzero(np.isin(prov, counts.index)))


def test_a_fixed_group_scale_is_a_constant_the_predictor_can_read(built, dataset, tmp_path):
    cm, m = built
    value = cm.priors.value("intensity.provider_sigma")
    assert "intensity_provider_sigma" not in {v.name for v in m.free_RVs}
    assert float(m["intensity_provider_sigma"].eval()) == value
    # any learnable hyperparameter can be fixed by a prior file, and the graph still has every predictor variable
    from carbon_bayes.resources import priors_path

    text = priors_path("model_priors.toml").read_text()
    head = "[utilisation.era_sigma]\n"
    start = text.index(head) + len(head)
    end = text.index("units", start)
    path = tmp_path / "fixed.toml"
    path.write_text(text[:start] + 'dist = "Fixed"\nvalue = 0.15\n' + text[end:])
    m2 = CarbonModel(priors=path).build(dataset)
    assert "u_era_sigma" not in {v.name for v in m2.free_RVs}
    assert float(m2["u_era_sigma"].eval()) == 0.15
    assert all(name in m2.named_vars for name in PREDICTOR_VARIABLES)


def test_the_pue_spread_enters_a_folded_figure_only_on_the_measured_basis(dataset):
    """A CO2 figure stating neither PUE nor intensity observes their product.

    On the nominal basis it is the operator's accounting factor (its spread is the operator's,
    learned); on the measured basis it is physical, so the PUE prior's spread adds. Widening the
    PUE prior 5x must change the likelihood of the measured figure only.
    """
    import dataclasses

    import pymc as pm

    from carbon_bayes.fitdata import build_fit_data
    from carbon_bayes.model import build_model

    row = dataset[dataset["run_id"] == "meta-llama-2-7b"]
    assert row["source_pue"].isna().all() and row["source_carbon_intensity"].isna().all()
    both = pd.concat([row, row.assign(run_id="as-measured", run_group="as-measured", energy_basis="measured",
                                       power_scope="system")])
    cm = CarbonModel()
    fd = build_fit_data(load_training_runs(both), cm.levels, cm.priors.structure,
                        cm.priors.value("intensity.unknown_location_sigma"))
    assert list(fd.labels["pue_mode"]) == ["folded", "folded"]
    loglik, point = {}, None
    for scale in (1.0, 5.0):
        feats = dataclasses.replace(fd.feats, pue_log_sd=fd.feats.pue_log_sd * scale)
        m = build_model(dataclasses.replace(fd, feats=feats), cm.priors, cm.levels)
        fn = m.compile_fn(m.replace_rvs_by_values([m["label_loglik"]])[0], inputs=m.value_vars,
                          on_unused_input="ignore")
        point = point or m.initial_point(random_seed=0)  # one point for both graphs
        for k, name in enumerate(fd.labels["row_id"]):
            with m:
                pm.set_data({"label_weight": np.eye(2)[k]})
            loglik[scale, name] = float(fn(point))
    assert loglik[1.0, "meta-llama-2-7b"] == pytest.approx(loglik[5.0, "meta-llama-2-7b"], abs=1e-9)
    assert abs(loglik[1.0, "as-measured"] - loglik[5.0, "as-measured"]) > 0.01


def test_sampler_settings_are_checked():
    from carbon_bayes.errors import InputError

    with pytest.raises(InputError, match="sampler_config"):
        CarbonModel(sampler_config={"draw": 100})
    with pytest.raises(InputError, match="sampler"):
        CarbonModel(sampler_config={"sampler": "metropolis"}).fit(load_training_runs())


# ------------------------------------------------------------------------------ the convergence gate

def _tree(chains: np.ndarray, diverging: int = 0) -> xr.DataTree:
    """Make a posterior of one scalar ``x`` with the given (chain, draw) values."""
    c, d = chains.shape
    div = np.zeros((c, d), dtype=bool)
    div.flat[:diverging] = True
    tree = xr.DataTree()
    tree["posterior"] = xr.DataTree(xr.Dataset({"x": (("chain", "draw"), chains)}))
    tree["sample_stats"] = xr.DataTree(xr.Dataset({"diverging": (("chain", "draw"), div)}))
    return tree


def test_the_gate_passes_well_mixed_chains_and_fails_each_criterion():
    rng = np.random.default_rng(1)
    good = rng.normal(size=(4, 1000))
    rep = convergence_report(_tree(good), ["x"])
    assert REPORT_KEYS <= set(rep) and rep["passed"], rep
    assert rep["r_hat_max"] <= GATE["r_hat_max"] and rep["ess_bulk_min"] >= GATE["ess_bulk_min"]
    stuck = good + np.array([0.0, 0.0, 0.0, 1.0])[:, None]  # one chain elsewhere: r_hat
    assert not convergence_report(_tree(stuck), ["x"])["passed"]
    sticky = np.cumsum(rng.normal(size=(4, 1000)), axis=1) * 0.01 + good * 0.001  # random walk: low ESS
    rep = convergence_report(_tree(sticky), ["x"])
    assert rep["ess_bulk_min"] < GATE["ess_bulk_min"] and not rep["passed"]
    rep = convergence_report(_tree(good, diverging=1), ["x"])  # a single divergence
    assert rep["divergences"] == 1 and not rep["passed"]
    rep = convergence_report(_tree(good[:1]), ["x"])  # one chain cannot show convergence
    assert not rep["passed"]
    assert "FAILED" in format_report(rep) and "PASSED" in format_report(convergence_report(_tree(good), ["x"]))


# ------------------------------------------------------------------------------ the tiny fit

def test_the_fit_reports_the_convergence_gate(tiny_fit):
    m = tiny_fit["model"]
    rep = m.convergence
    assert REPORT_KEYS <= set(rep)
    free = {v.name for v in m.model.free_RVs}
    assert rep["r_hat_worst"] in free and rep["ess_bulk_worst"] in free
    assert isinstance(rep["divergences"], int) and rep["divergences"] >= 0
    assert {f"gate_{k}": v for k, v in GATE.items()}.items() <= rep.items()
    consistent = (rep["r_hat_max"] <= GATE["r_hat_max"] and rep["ess_bulk_min"] >= GATE["ess_bulk_min"]
                  and rep["divergences"] <= GATE["divergences_max"])
    assert rep["passed"] is consistent
    # 2 chains x 150 draws cannot reach a bulk ESS of 400 on every parameter
    assert rep["ess_bulk_min"] < GATE["ess_bulk_min"] and rep["passed"] is False
    json.dumps(rep)  # the report is stored as JSON


def test_a_failing_gate_is_an_error_unless_allowed(tiny_fit, dataset, monkeypatch, caplog):
    """``fit`` raises ConvergenceError when the gate fails (unless allowed), and logs the gate.

    The gate goes to logger "carbon_bayes" (fit prints nothing itself). To avoid a second
    compilation the sampler is replaced by the tiny fit's (unconverged) draws.
    """
    import logging

    import carbon_bayes.fitting as fitting_module

    monkeypatch.setattr(fitting_module, "sample", lambda *args, **kwargs: tiny_fit["model"].idata)
    m = CarbonModel(sampler_config={"progressbar": False})
    with caplog.at_level(logging.INFO, logger="carbon_bayes"), pytest.raises(ConvergenceError,
                                                                             match="allow_unconverged"):
        m.fit(dataset)
    assert "convergence gate FAILED" in caplog.text
    tree = m.fit(dataset, allow_unconverged=True)
    assert tree is tiny_fit["model"].idata and m.convergence["passed"] is False


def test_save_and_load_round_trip_the_draws(tiny_fit):
    m = tiny_fit["model"]
    post = load_posterior(tiny_fit["path"])
    ref = m.idata["posterior"].to_dataset()
    n = ref.sizes["chain"] * ref.sizes["draw"]
    assert post.n_draws == n == 2 * 150
    for name, dims in PREDICTOR_VARIABLES.items():
        want = ref[name].values.reshape((n,) + ref[name].shape[2:])
        np.testing.assert_allclose(post.draws[name], want, rtol=1e-6, atol=1e-7, err_msg=name)
        assert post.draws[name].shape == (n, *(len(post.levels[d]) for d in dims))
    assert post.levels == {k: list(v) for k, v in m.levels.as_dict().items()}
    mem = m.posterior()  # the in-memory posterior estimate() can use without a file
    for name in PREDICTOR_VARIABLES:
        np.testing.assert_allclose(mem.draws[name], post.draws[name], rtol=1e-6, atol=1e-7)


def test_save_and_load_round_trip_the_provenance(tiny_fit, dataset):
    m = tiny_fit["model"]
    post = load_posterior(tiny_fit["path"])
    assert post.convergence == json.loads(json.dumps(m.convergence))
    assert post.sampler_config["draws"] == 150 and post.sampler_config["chains"] == 2
    assert post.sampler_config["sampler_used"] in ("nutpie", "pymc")
    assert post.model_config["levels"] == post.levels
    assert post.attrs["data_sha256"] == dataset_sha256(dataset)
    assert post.attrs["priors_sha256"] == priors_sha256()
    from carbon_bayes import __version__

    assert post.attrs["carbon_bayes_version"] == __version__
    # the file is self-contained: its fit data reproduce the dataset and its hash
    back = load_training_runs(dataset_from_tree(post.tree))
    assert dataset_sha256(back) == post.attrs["data_sha256"]
    assert list(back["run_id"]) == list(dataset["run_id"])


@pytest.fixture
def without_nutpie(monkeypatch):
    """Make ``import nutpie`` fail, as where nutpie could not be installed."""
    import builtins

    real_import = builtins.__import__

    def no_nutpie(name, *args, **kwargs):
        if name == "nutpie":
            raise ImportError("No module named 'nutpie'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_nutpie)


def test_the_pymc_sampler_is_used_when_asked_or_when_nutpie_is_missing(without_nutpie):
    """``sampler="pymc"`` needs no nutpie, and ``auto`` falls back to PyMC without it.

    Asking for nutpie without it is an error that names the field and says how to install it.
    """
    from carbon_bayes.errors import InputError
    from carbon_bayes.fitting import resolve_sampler

    assert resolve_sampler("pymc") == "pymc"
    assert resolve_sampler("auto") == "pymc"
    with pytest.raises(InputError) as e:
        resolve_sampler("nutpie")
    assert e.value.field == "sampler" and "pip install nutpie" in str(e.value)
    with pytest.raises(InputError):
        CarbonModel(sampler_config={"sampler": "nutpie"}).fit(None)


def test_cross_validation_runs_with_the_pymc_sampler(dataset, without_nutpie):
    """Validate uses the same sampling path as fit: with sampler=pymc it needs no nutpie.

    A tiny run on three folds of one tier, no baselines.
    """
    from carbon_bayes.validate import cross_validate

    res = cross_validate(dataset, folds=3, tiers=("T1",), baselines=False, ml=False, progress=False,
                         sampler_config={"sampler": "pymc", "draws": 30, "tune": 30, "chains": 2})
    assert res.settings["sampler"]["sampler"] == "pymc"
    assert set(res.predictions["method"]) == {"carbon_bayes"} and len(res.predictions) > 10
