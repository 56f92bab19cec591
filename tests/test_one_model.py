"""The PyMC graph and the numpy predictor are one generative model.

Both call the blocks of :mod:`carbon_bayes.blocks` with the variables of
:mod:`carbon_bayes.effects`. Here the graph is evaluated at one point of its parameter space and the
predictor is run on the same runs with that point as its only posterior draw and with its standard
normal (and Student-t) draws fixed to the graph's values of the per-run latents (utilisation, power
fraction, PUE, size, compute). Every published figure's predicted value must then agree to float32
precision: energy on the figure's own basis, CO2 with a stated intensity, and the centre of a latent
intensity; for runs with hours known (T1), with compute but no hours (T2) and with neither (T3-like:
latent compute and size).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from carbon_bayes import effects, schema
from carbon_bayes.streams import Streams

#: The predictor works in float32 (7 significant digits); a chain of a dozen float32 operations
#: keeps a relative error under about 1e-5.
RTOL = 2e-5


class FixedNoise(Streams):
    """Streams whose draws for some nodes are given (one draw: arrays of shape (1, n_runs)).

    Other nodes draw zeros, i.e. the centre of their distribution.
    """

    def __init__(self, n: int, fixed: dict[str, np.ndarray]):
        super().__init__(np.arange(n, dtype=np.uint64), 1, 0)
        self.fixed = fixed

    def _value(self, node, cols):
        cols = np.asarray(cols)
        return (self.fixed[node][:, cols] if node in self.fixed else np.zeros((1, len(cols)))).astype(np.float32)

    def normal(self, node, cols, spec=False):
        return self._value(node, cols)

    def student_t(self, node, nu, cols, spec=False):
        return self._value(node, cols)

    def uniform(self, node, cols, spec=False):
        """Return zeros: the first component of every discrete draw.

        That is a PUE inside an unstated nominal figure and the first country of the location
        mixture: the components the graph's nodes report.
        """
        return np.zeros((1, len(np.asarray(cols))))


@pytest.fixture(scope="module")
def graph_at_a_point(dataset):
    """Build the graph of the shipped data, its intermediate nodes and every variable at one point."""
    import pytensor

    from carbon_bayes.fitdata import build_fit_data, fit_levels
    from carbon_bayes.model import build_model
    from carbon_bayes.priorspec import load_prior_spec

    priors = load_prior_spec()
    levels = fit_levels(dataset, priors.structure)
    # The shipped runs all state hours or compute: add copies of three measured runs that state
    # neither (latent compute), one of them without its size either (latent size) and one a fine-tune
    # (the compute regression's fine-tune shift and widened residual), for T3.
    src = dataset[dataset["in_fit"] & dataset["energy_mwh"].notna() & (dataset["energy_basis"] == "measured")
                  & dataset["parameters"].notna()].drop_duplicates("run_group").head(3).copy()
    src[["device_hours", "n_devices", "training_days", "training_flops", "training_tokens"]] = np.nan
    src.iloc[0, src.columns.get_loc("parameters")] = np.nan
    src.iloc[0, src.columns.get_loc("active_parameters")] = np.nan
    src.iloc[1, src.columns.get_loc("scope")] = "finetune"
    src["run_id"] = [f"t3-copy-{i}" for i in range(len(src))]
    src["run_group"] = src["run_id"]
    data = pd.concat([dataset, src], ignore_index=True)
    fd = build_fit_data(data, levels, priors.structure, priors.value("intensity.unknown_location_sigma"))
    nodes: dict = {}
    m = build_model(fd, priors, levels, nodes)
    rng = np.random.default_rng(20261201)
    point = {k: v + 0.3 * rng.standard_normal(np.shape(v)) for k, v in m.initial_point().items()}
    names = [n for n in (*effects.predictor_variables(), "logit_u", "log_rho_z", "log10_params", "log10_flops",
                         "log_pue_minus_1") if n in m.named_vars]
    node_names = sorted(nodes)
    outs = m.replace_rvs_by_values([m[n] for n in names] + [nodes[k] for k in node_names])
    fn = pytensor.function(m.value_vars, outs, on_unused_input="ignore")
    vals = fn(*[point[v.name] for v in m.value_vars])
    assert not set(names) & set(node_names)
    return fd, priors, dict(zip(names + node_names, (np.asarray(v) for v in vals), strict=True))


def _graph_levels(priors, fd) -> dict[str, list[str]]:
    """Return the levels the graph was built with (the current ones and the fit's organisations)."""
    from carbon_bayes import design

    return design.model_levels(priors.structure, fd.feats.operator).as_dict()


def _label_inputs(fd) -> pd.DataFrame:
    """One predictor row per published figure: its run's facts and the figure's own conventions."""
    lab = fd.labels
    rows = fd.runs.iloc[lab["run_idx"].to_numpy()].reset_index(drop=True)
    inp = rows[list(schema.COLUMN_NAMES)].copy()
    measured = lab["measured"].to_numpy()
    mode = lab["pue_mode"].to_numpy()
    w_latent = lab["w_latent"].to_numpy()
    # unstated conventions (watts, whether a PUE is inside) are latents of the nominal basis
    inp["energy_basis"] = np.where(measured, "measured", np.where(w_latent | (mode == "mixture"), "nominal", "tdp"))
    inp["power_scope"] = np.where(lab["gpu"].to_numpy(), "gpu", "system")
    inp["power_per_device_w"] = np.where(measured | w_latent, np.nan, np.exp(lab["log_nominal_w"].to_numpy()))
    inp["pue"] = np.select([mode == "none", mode == "given"], [1.0, lab["pue_value"].to_numpy()], np.nan)
    inp["carbon_intensity"] = np.where(lab["ci_mode"] == "given", lab["ci_value"], np.nan)
    inp["run_id"] = lab["row_id"].to_numpy()
    return schema.normalise_runs(inp.replace("", np.nan))


def _fixed_draws(fd, vals) -> dict[str, np.ndarray]:
    """Compute the predictor's standard draws that reproduce the graph's per-run latents, per figure."""
    f, lab = fd.feats, fd.labels
    ri = lab["run_idx"].to_numpy()
    n_runs = fd.n_runs

    def per_run(idx_mask, values):
        out = np.zeros(n_runs)
        out[np.flatnonzero(idx_mask)] = values
        return out[ri][None, :]

    lin_u = vals["logit_utilisation_mean"]
    u_idx = np.flatnonzero(fd.needs_u)
    z_u = (vals["logit_u"] - lin_u[u_idx]) / vals["u_run_sigma"]
    fixed = {"logit_u_run": per_run(fd.needs_u, z_u), "log_rho_run": per_run(fd.needs_rho, vals["log_rho_z"])}
    if "log_pue_minus_1" in vals:
        c, sd = f.pue_centre[fd.needs_pue], f.pue_log_sd[fd.needs_pue]
        fixed["pue"] = per_run(fd.needs_pue, (vals["log_pue_minus_1"] - np.log(c - 1)) / sd)
    if "log10_params" in vals:
        mu, sd = fd.params_prior[fd.params_missing].T
        fixed["log10_params"] = per_run(fd.params_missing, (vals["log10_params"] - mu) / sd)
    lat_c = fd.needs_u & ~fd.compute_observed & np.isnan(f.log_hours)
    if "log10_flops" in vals:
        mu_c, sd_c = vals["compute_log10_mean"][lat_c], vals["compute_log10_sd"][lat_c]
        fixed["compute_residual"] = per_run(lat_c, (vals["log10_flops"] - mu_c) / sd_c)
    # a measured figure with neither PUE nor intensity: its latent is centred on the PUE prior's centre
    folded_measured = ((lab["pue_mode"] == "folded") & lab["measured"]).to_numpy()
    if "pue" in fixed:
        fixed["pue"][0, folded_measured] = 0.0
    return fixed


def test_graph_and_predictor_agree_on_every_figure_at_every_tier(graph_at_a_point, shipped_posterior):
    from carbon_bayes.predict import Predictor

    fd, priors, vals = graph_at_a_point
    draws = {k: vals[k][None].astype(float) for k in effects.predictor_variables()}
    post = dataclasses.replace(shipped_posterior, draws=draws, levels=_graph_levels(priors, fd))
    pred = Predictor(post)
    inputs = _label_inputs(fd)
    sim = pred.simulate(inputs, FixedNoise(len(inputs), _fixed_draws(fd, vals)), label_noise=False)

    lab = fd.labels
    kind, ci_mode = lab["kind"].to_numpy(), lab["ci_mode"].to_numpy()
    graph_energy = vals["label_energy_mwh"]
    stated = np.nan_to_num(lab["ci_value"].to_numpy())
    with np.errstate(divide="ignore"):  # a figure with a stated zero intensity (hydropower) has log CO2 -inf
        got = np.where(kind == "energy", np.log(sim.energy_mwh[0]), np.log(sim.co2_t[0]))
        want = np.where(kind == "energy", np.log(graph_energy),
                        np.where(ci_mode == "given", np.log(graph_energy * stated),
                                 np.log(graph_energy) + vals["label_intensity_log_mean"]))
    ok = np.isfinite(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=0, atol=RTOL * 10)  # log scale: relative error

    # every tier is covered: figures of runs with hours, with compute only, and with neither
    f = fd.feats
    ri = lab["run_idx"].to_numpy()
    hours = ~np.isnan(f.log_hours[ri])
    compute_only = ~hours & fd.compute_observed[ri]
    neither = ~hours & ~fd.compute_observed[ri] & fd.needs_u[ri]
    assert hours.sum() > 10 and compute_only.sum() >= 1 and neither.sum() >= 1, (hours.sum(), compute_only.sum(),
                                                                                 neither.sum())
    for kind_ in ("energy", "co2"):
        assert (ok & (kind == kind_)).sum() > 5
    assert (ok & (ci_mode == "latent")).sum() > 5
    # and the latent conventions: a PUE that may or may not be inside, unstated watts, an unknown location
    assert (ok & (lab["pue_mode"] == "mixture").to_numpy()).sum() >= 2
    assert (ok & lab["w_latent"].to_numpy()).sum() >= 2
    assert (ok & f.location_unknown[ri] & (ci_mode == "latent")).sum() >= 1
    # and a fine-tune whose compute is drawn (shifted by the fine-tune offset, its residual widened)
    assert (ok & neither & (f.finetune[ri] == 1)).sum() >= 1


def test_the_agreement_test_fails_when_the_predictor_drifts(graph_at_a_point, shipped_posterior):
    """The comparison above is sensitive: shifting one group effect by 1% of a log unit breaks it."""
    from carbon_bayes.predict import Predictor

    fd, priors, vals = graph_at_a_point
    draws = {k: vals[k][None].astype(float) for k in effects.predictor_variables()}
    draws["rho_intercept"] = draws["rho_intercept"] + 0.01
    pred = Predictor(dataclasses.replace(shipped_posterior, draws=draws, levels=_graph_levels(priors, fd)))
    inputs = _label_inputs(fd)
    sim = pred.simulate(inputs, FixedNoise(len(inputs), _fixed_draws(fd, vals)), label_noise=False)
    measured_energy = (fd.labels["kind"] == "energy").to_numpy() & fd.labels["measured"].to_numpy()
    diff = np.log(sim.energy_mwh[0][measured_energy]) - np.log(vals["label_energy_mwh"][measured_energy])
    assert np.allclose(diff, 0.01, atol=1e-4)


def test_a_new_effect_is_one_registry_entry(monkeypatch, dataset, shipped_posterior, tmp_path):
    """A new effect is one Effect entry in the registry plus its scale's prior in the prior file.

    Adding them (here a task effect on utilisation) gives the graph its variables, makes the prior
    file and the posterior check require them, makes the predictor apply it and puts it in the
    forest plot, with no other change.
    """
    from carbon_bayes import plots
    from carbon_bayes.errors import DataError
    from carbon_bayes.fitting import CarbonModel
    from carbon_bayes.predict import Predictor
    from carbon_bayes.priorspec import load_prior_spec
    from carbon_bayes.resources import priors_path

    new = effects.Effect("u_task", "utilisation", "task", "utilisation.task_sigma", panel="utilisation (logit MFU)")
    monkeypatch.setattr(effects, "EFFECTS", (*effects.EFFECTS, new))
    with pytest.raises(DataError, match="utilisation.task_sigma"):
        load_prior_spec()  # the shipped prior file lacks the new scale
    prior = tmp_path / "priors.toml"
    prior.write_text(priors_path("model_priors.toml").read_text() + '\n[utilisation.task_sigma]\ndist = "HalfNormal"\n'
                     'sigma = 0.3\nunits = "logit"\nevidence = "test"\nrationale = "test"\n')
    m = CarbonModel(priors=prior).build(dataset)
    assert m.named_vars_to_dims["u_task"] == ("task",)
    assert {"u_task_z", "u_task_sigma"} <= {v.name for v in m.free_RVs}
    assert effects.predictor_variables()["u_task"] == ("task",) and "u_task_sigma" in effects.predictor_variables()
    assert plots.plotted_effects()["u_task"] == ("utilisation (logit MFU)", "task")

    draws = {k: v[[0]].copy() for k, v in shipped_posterior.draws.items()}
    tasks = shipped_posterior.levels["task"]
    runs = schema.normalise_runs([{"run_id": t, "task": t, "parameters": 1e9, "training_tokens": 2e10,
                                   "hardware": "A100-80GB", "year": 2023} for t in ("language", "vision")])
    hours = {}
    for shift in (0.0, 0.5):
        u_task = np.zeros((1, len(tasks)))
        u_task[0, tasks.index("language")] = shift
        post = dataclasses.replace(shipped_posterior, draws={**draws, "u_task": u_task, "u_task_sigma": np.ones(1)})
        hours[shift] = Predictor(post).simulate(runs, FixedNoise(2, {}), label_noise=False).device_hours[0]
    assert hours[0.5][0] < hours[0.0][0]  # a higher utilisation: fewer hours for the same compute
    assert hours[0.5][1] == hours[0.0][1]  # another task: unchanged
