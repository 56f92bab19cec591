"""The hierarchical PyMC model: the graph of the physical chain with every unknown a random variable.

The graph is :mod:`carbon_bayes.formula` (physics) and :mod:`carbon_bayes.blocks` (statistics),
with the variables of :mod:`carbon_bayes.effects`; the numpy predictor calls the same blocks.
In short (maths in ``docs/model.md``)::

    logit(u_r)   ~ Normal(a_u + u_gen[g] + u_arch[a] + u_era[e] + u_slope[g] * scale_r, s_u)   (centred if pinned)
    log(rho_r)   ~ Normal(a_r + r_fam[f] + r_gen[g] + r_arch[a] + r_era[e] + r_slope[f] * pscale_r, s_r)
    H_r          = FLOPs_r / (peak_r * u_r * 3600)          when device-hours are not reported
    E_label      = H_r * power * PUE / 1e6                   power = TDP * rho (measured) or the source's W
    CO2_label    = E_label * intensity                       stated, or latent (log-t) around the grid average
    log(label)   ~ StudentT(nu, log(E or CO2), sqrt(s_basis^2 + s_rounding^2))

Group effects are non-centred (``z * sigma``) with half-normal scales and exist for every
level the package knows, so unobserved levels carry new-group draws; the exception is the
intensity effect of an operator with many figures, which is centred (docs/model.md §2.4).
Likelihood terms are ``pm.Potential`` sums weighted by ``pm.Data`` vectors, so cross-validation
switches a run's data off without recompiling. Fitting (sampling, the convergence gate,
saving) is :mod:`carbon_bayes.fitting`.

Importing this module imports PyMC; ``import carbon_bayes`` does not.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from carbon_bayes import blocks, design, effects, formula, reference
from carbon_bayes.fitdata import FitData
from carbon_bayes.priorspec import ModelPriors, PriorSpec

LN10 = float(np.log(10))
LOG_2PI = float(np.log(2 * np.pi))
effects.check_registry()


def _rv(name: str, spec: PriorSpec, **kw):
    p = spec.params
    if spec.dist == "Normal":
        return pm.Normal(name, mu=p["mu"], sigma=p["sigma"], **kw)
    if spec.dist == "HalfNormal":
        return pm.HalfNormal(name, sigma=p["sigma"], **kw)
    if spec.dist == "LogNormal":
        return pm.LogNormal(name, mu=p["mu"], sigma=p["sigma"], **kw)
    if spec.dist == "Beta":
        return pm.Beta(name, alpha=p["alpha"], beta=p["beta"], **kw)
    raise ValueError(f"{spec.name}: {spec.dist} is not a random variable")


def _normal_logp(x, mu, sigma):
    return -0.5 * ((x - mu) / sigma) ** 2 - pt.log(sigma) - 0.5 * LOG_2PI


def _student_t_logp(x, nu, mu, sigma):
    return pm.logp(pm.StudentT.dist(nu=nu, mu=mu, sigma=sigma), x)


def _scatter(n: int, idx: np.ndarray, values, fill=0.0):
    """Return a length-n vector equal to ``fill`` except ``values`` at ``idx``."""
    base = pt.as_tensor(np.full(n, fill, dtype=float))
    return pt.set_subtensor(base[idx], values) if len(idx) else base


def _u_pinned(fd: FitData) -> np.ndarray:
    """Return the runs whose utilisation reported hours and compute pin down (centred; the others non-centred)."""
    return fd.compute_observed & ~np.isnan(fd.feats.log_hours)


def coords_of(fd: FitData, levels: design.Levels) -> dict[str, list]:
    """Return the model's coords: group levels, runs (all, and those of each latent), labels, evidence, clusters."""
    lab = fd.labels
    runs = fd.runs["run_group"]
    return {
        **levels.as_dict(),
        "run": list(runs),
        "u_run": list(runs[fd.needs_u]),
        "u_run_pinned": list(runs[fd.needs_u & _u_pinned(fd)]),
        "u_run_free": list(runs[fd.needs_u & ~_u_pinned(fd)]),
        "compute_run": list(runs[fd.needs_u & ~fd.compute_observed & np.isnan(fd.feats.log_hours)]),
        "rho_run": list(runs[fd.needs_rho]),
        "pue_run": list(runs[fd.needs_pue]),
        "params_run": list(runs[fd.params_missing]),
        "label": [f"{r}:{k}" for r, k in zip(lab["row_id"], lab["kind"], strict=True)],
        "evidence": list(fd.ci_evidence["row_id"]),
        "cluster": fd.clusters,
    }


def run_index(f: design.RunFeatures) -> dict[str, np.ndarray]:
    """Level index of each run for every dim a group effect can have."""
    return {"generation": f.gen_idx, "family": f.fam_idx, "architecture": f.arch_idx, "era": f.era_idx,
            "provider": f.provider_idx, "task": f.task_idx, "operator": f.operator_idx}


def _hyperparameters(priors: ModelPriors) -> dict:
    """Learned hyperparameters as random variables; those the prior file fixes as named constants."""
    hp = {}
    for key, name in effects.hyperparameters().items():
        spec = priors.specs[key]
        hp[key] = (pm.Deterministic(name, pt.as_tensor(float(spec.params["value"]))) if spec.fixed
                   else _rv(name, spec))
    return hp


def _group_effects(m: pm.Model, fd: FitData, hp: dict) -> dict:
    """Every registered group effect, non-centred (``mean + sigma z``).

    The exception: the levels of a ``centred_when_informed`` effect that enough figures inform
    (``mean + effect`` sampled directly).
    """
    out = {}
    for e in effects.EFFECTS:
        sigma, n_levels = hp[e.sigma], len(m.coords[e.dim])
        mean = hp[e.mean] if e.mean else 0.0
        if not e.centred_when_informed:
            out[e.name] = pm.Deterministic(e.name, mean + sigma * pm.Normal(f"{e.name}_z", 0, 1, dims=e.dim),
                                           dims=e.dim)
            continue
        if e.dim != "provider":
            raise ValueError(f"{e.name}: centring by informing figures is defined for operators only")
        informed = fd.informed_providers(effects.CENTRED_MIN_FIGURES)
        rest = np.setdiff1d(np.arange(n_levels), informed)
        centre = hp[e.centre] if e.centre else 0.0
        value = pt.zeros(n_levels)
        if len(informed):
            m.add_coord(f"informed_{e.dim}", [m.coords[e.dim][i] for i in informed])
            total = pm.Normal(f"{e.name}_total", mu=centre, sigma=sigma, dims=f"informed_{e.dim}")
            value = pt.set_subtensor(value[informed], total - centre)
        if len(rest):
            m.add_coord(f"other_{e.dim}", [m.coords[e.dim][i] for i in rest])
            value = pt.set_subtensor(value[rest], pm.Normal(f"{e.name}_z", 0, 1, dims=f"other_{e.dim}") * sigma)
        out[e.name] = pm.Deterministic(e.name, mean + value, dims=e.dim)
    return out


def _cluster_effects(fd: FitData, priors: ModelPriors) -> dict:
    """Per-run offsets of a user's own cluster on each efficiency block (0 for published runs)."""
    if not fd.clusters:
        return {block: 0.0 for block in effects.CLUSTER_EFFECTS}
    c_idx = fd.cluster_idx
    out = {}
    for block, (name, key) in effects.CLUSTER_EFFECTS.items():
        eff = pm.Deterministic(name, priors.value(key) * pm.Normal(f"{name}_z", 0, 1, dims="cluster"), dims="cluster")
        out[block] = pt.where(c_idx >= 0, eff[np.maximum(c_idx, 0)], 0.0)
    return out


def _size_and_compute(fd: FitData, priors: ModelPriors, hp: dict, effect_at, run_w, nodes: dict):
    """log10 parameters (observed or latent), the compute regression and its likelihood, log FLOP.

    Also the multipliers of per-level slopes (``scale``, ``power_scale``).
    """
    f = fd.feats
    st = priors.structure
    pm_idx = np.flatnonzero(fd.params_missing)
    log10p = pt.as_tensor(np.nan_to_num(f.log10_params))
    if len(pm_idx):
        lp_latent = pm.Normal("log10_params", mu=fd.params_prior[pm_idx, 0], sigma=fd.params_prior[pm_idx, 1],
                              dims="params_run")
        log10p = pt.set_subtensor(log10p[pm_idx], lp_latent)
    sc = design.scale(log10p, st)
    mult = {"scale": sc, "power_scale": design.power_scale(sc, st)}
    mu_c = blocks.compute_log10_mean(fd.epoch_coef.T, log10p, f.year, hp["compute.slope"], hp["compute.offset"],
                                     blocks.effects_sum("compute", effect_at, mult),
                                     blocks.finetune_shift(hp["compute.finetune_offset"], f.finetune))
    c_sigma = blocks.compute_log10_sd(hp["compute.sigma"], hp["compute.sigma_slope"], sc,
                                      priors.value("compute.finetune_sigma") * f.finetune)
    c_nu = priors.value("compute.nu")
    obs_c = np.flatnonzero(fd.compute_observed)
    if len(obs_c):
        pm.Potential("compute_loglik", (run_w[obs_c] * _student_t_logp(f.log_flops[obs_c] / LN10, c_nu,
                                                                       mu_c[obs_c], c_sigma[obs_c])).sum())
    # Compute is latent only where neither compute nor hours are reported; where hours are, log C ~
    # t(mu_c, sigma_c) is integrated out of the hours observation (no ridge between a latent compute
    # and a latent utilisation): the t convolved with the small hours noise is taken as a t with the
    # summed variance.
    h_known = ~np.isnan(f.log_hours)
    lat_c = np.flatnonzero(fd.needs_u & ~fd.compute_observed & ~h_known)
    marg_c = fd.needs_u & ~fd.compute_observed & h_known
    log_c = pt.where(marg_c, mu_c * LN10, pt.as_tensor(np.nan_to_num(f.log_flops)))
    if len(lat_c):
        log10c = pm.StudentT("log10_flops", nu=c_nu, mu=mu_c[lat_c], sigma=c_sigma[lat_c], dims="compute_run")
        log_c = pt.set_subtensor(log_c[lat_c], log10c * LN10)
    nodes.update(run_log10_params=log10p, run_scale=sc, compute_log10_mean=mu_c, compute_log10_sd=c_sigma,
                 run_log_flops=log_c)
    return (sc, mu_c, c_sigma, log_c, marg_c), mult


def _hours(fd: FitData, priors: ModelPriors, hp: dict, effect_at, mult, cluster, run_w, size, nodes: dict):
    """Utilisation per run (partly non-centred) and device-hours, with the hours likelihood."""
    f = fd.feats
    _, mu_c, c_sigma, log_c, marg_c = size
    u_idx = np.flatnonzero(fd.needs_u)
    lin_u = blocks.logit_utilisation_mean(hp["utilisation.intercept"], effect_at, mult, cluster["utilisation"])
    # Centred where hours and compute pin u down, non-centred where only the spread informs it (a
    # single parameterisation leaves a funnel on u_run_sigma: r_hat 1.012, ESS 481 centred).
    pinned = _u_pinned(fd)[u_idx]
    s_u = hp["utilisation.run_sigma"]
    u_c = pm.Normal("logit_u_pinned", mu=lin_u[u_idx[pinned]], sigma=s_u, dims="u_run_pinned")
    u_z = pm.Normal("logit_u_z", 0.0, 1.0, dims="u_run_free")
    logit_u = pt.zeros(len(u_idx))
    logit_u = pt.set_subtensor(logit_u[np.flatnonzero(pinned)], u_c)
    logit_u = pt.set_subtensor(logit_u[np.flatnonzero(~pinned)], lin_u[u_idx[~pinned]] + s_u * u_z)
    logit_u = pm.Deterministic("logit_u", logit_u, dims="u_run")
    log_h_model = pt.log(formula.device_hours(pt.exp(log_c[u_idx]), f.peak_flops[u_idx], blocks.utilisation(logit_u)))
    h_known = ~np.isnan(f.log_hours)
    obs = np.flatnonzero(h_known[u_idx])
    if len(obs):
        r_obs = u_idx[obs]
        var_h = priors.value("noise.hours_sigma") ** 2 + fd.hours_round_sd[r_obs] ** 2
        sd_t = pt.sqrt(var_h + (c_sigma[r_obs] * LN10) ** 2)
        logp_h = pt.where(marg_c[r_obs],
                          _student_t_logp(f.log_hours[r_obs], priors.value("compute.nu"), log_h_model[obs], sd_t),
                          _normal_logp(f.log_hours[r_obs], log_h_model[obs], np.sqrt(var_h)))
        pm.Potential("hours_loglik", (run_w[r_obs] * logp_h).sum())
    lat = np.flatnonzero(~h_known[u_idx])
    log_h = pt.as_tensor(np.nan_to_num(f.log_hours))
    if len(lat):
        log_h = pt.set_subtensor(log_h[u_idx[lat]], log_h_model[lat])
    nodes.update(logit_utilisation_mean=lin_u, run_log_hours=log_h)
    return log_h


def _power_and_pue(fd: FitData, hp: dict, effect_at, mult, cluster, nodes: dict):
    """Per-run log power fraction (non-centred: per-run data are often weak) and PUE.

    The PUE is latent where a label includes an unstated one.
    """
    f = fd.feats
    n = fd.n_runs
    rho_idx = np.flatnonzero(fd.needs_rho)
    lin_r = blocks.log_power_fraction_mean(hp["power.intercept"], effect_at, mult, cluster["power"])
    log_rho = pm.Deterministic("log_rho", lin_r[rho_idx] + hp["power.run_sigma"]
                               * pm.Normal("log_rho_z", 0, 1, dims="rho_run"), dims="rho_run")
    pue_idx = np.flatnonzero(fd.needs_pue)
    pue_run = pt.ones(n)
    if len(pue_idx):
        lpm1 = pm.Normal("log_pue_minus_1", mu=blocks.pue_log_excess_centre(f.pue_centre[pue_idx]),
                         sigma=f.pue_log_sd[pue_idx], dims="pue_run")
        pue_run = _scatter(n, pue_idx, blocks.pue(lpm1), 1.0)
    nodes.update(log_power_fraction_mean=lin_r, run_log_power_fraction=_scatter(n, rho_idx, log_rho), run_pue=pue_run)
    return _scatter(n, rho_idx, log_rho), pue_run


def _unknown_locations(fd: FitData, ri: np.ndarray, ci_latent: np.ndarray):
    """Labels with a latent intensity and no stated place, the mixture's log weights and their log grids.

    Their location is a mixture over the countries that host cloud regions
    (:func:`carbon_bayes.reference.location_mixture`); other labels have their one location.
    """
    f = fd.feats
    idx = np.flatnonzero(ci_latent & f.location_unknown[ri])
    log_w, grid = reference.location_mixture(f.year[ri[idx]])
    return idx, log_w, grid


def _labels(fd: FitData, priors: ModelPriors, hp: dict, effect_at, mult, spread, log_h, log_rho, pue_run, label_w,
            nodes: dict) -> None:
    """Add the likelihood of every published figure, on its own basis.

    Intensity: stated by the source, or latent around the grid average of the run's location (+ the
    operator's effect); with no stated place, a mixture over the grids of the countries that host
    training. A latent intensity appears in one label only, so it is integrated out:
    log(label) ~ t_nu(log E + mu_k, sqrt(sd_k^2 + sigma_label^2)), approximately, per location
    component. Folded (neither PUE nor intensity stated): the product is the latent. In a measured
    figure it is the run's physical PUE x intensity, so the PUE prior's spread adds to the operator's;
    in a nominal figure it is the operator's accounting factor, whose spread is the operator's own
    (docs/model.md §2.4). Conventions a nominal figure does not state are latents (§2.5): unstated
    watts are the TDP times a learned log-normal factor (integrated out), and whether a PUE is inside
    is a two-component mixture with the learned probability ``pue_in_nominal``. The predictor draws
    all of these the same way.
    """
    f, lab = fd.feats, fd.labels
    ri = lab["run_idx"].to_numpy()
    measured = lab["measured"].to_numpy()
    share = pt.where(lab["gpu"].to_numpy(), hp["power.gpu_share"], 1.0)
    w_latent = lab["w_latent"].to_numpy()
    nominal_w = np.exp(lab["log_nominal_w"].to_numpy()) * pt.exp(pt.where(w_latent, hp["conventions.nominal_w_offset"],
                                                                          0.0))
    power = pt.where(measured, blocks.system_power_w(f.tdp_w[ri], log_rho[ri], share), nominal_w)
    mode = lab["pue_mode"].to_numpy()
    ci_latent = lab["ci_mode"].to_numpy() == "latent"
    mix = mode == "mixture"
    pue = pt.where((mode == "latent") | (mix & ~ci_latent), pue_run[ri],
                   pt.as_tensor(np.where(mode == "given", lab["pue_value"].to_numpy(), 1.0)))
    hours = pt.exp(log_h[ri])
    energy = formula.energy_mwh(hours, power, pue)
    energy_bare = formula.energy_mwh(hours, power, 1.0)
    prov = f.provider_idx[ri]
    mu_base = blocks.intensity_log_mean(0.0, hp["intensity.offset"],
                                        blocks.effects_sum("intensity", effect_at, mult)[ri])
    pue_log_sd = design.pue_log_sd_approx(f.pue_centre[ri], f.pue_log_sd[ri])
    unknown, log_w, grid = _unknown_locations(fd, ri, ci_latent)
    centre = np.where(f.location_unknown[ri], 0.0, f.log_ci_centre[ri])
    if len(unknown):  # the nodes report the first country of the mixture (the predictor's first component)
        centre[unknown] = grid[:, 0]
    ci_given = np.where(lab["ci_mode"] == "given", lab["ci_value"].to_numpy(), 1.0)
    is_co2 = lab["kind"].to_numpy() == "co2"
    sd_label = pt.sqrt(blocks.label_log_sd(pt.where(measured, priors.value("noise.measured_sigma"),
                                                    hp["noise.nominal_sigma"]), lab["round_sd"].to_numpy()) ** 2
                       + pt.where(w_latent, hp["conventions.nominal_w_sigma"] ** 2, 0.0))
    nu = priors.value("noise.nu")
    y = lab["log_value"].to_numpy()

    def logp(e, fold: np.ndarray):
        """Log density of every label given its energy ``e`` (PUE x intensity folded where ``fold``)."""
        known = _student_t_logp(y, nu, pt.log(pt.where(is_co2, formula.co2_t(e, ci_given), e)), sd_label)
        mu_k = mu_base + np.where(fold, np.log(f.pue_centre[ri]), 0.0)
        var_k = spread[prov] ** 2 + f.ci_extra_sd[ri] ** 2 + np.where(fold & measured, pue_log_sd, 0.0) ** 2
        sd_k = pt.sqrt(var_k + sd_label ** 2)
        latent = _student_t_logp(y, nu, pt.log(e) + mu_k + centre, sd_k)
        if len(unknown):
            comp = _student_t_logp(y[unknown, None], nu, (pt.log(e) + mu_k)[unknown][:, None] + grid,
                                   sd_k[unknown][:, None])
            latent = pt.set_subtensor(latent[unknown], pt.logsumexp(log_w + comp, axis=1))
        return pt.where(ci_latent, latent, known)

    with_pue = mix & ci_latent  # the PUE-inside component of a mixture label with a latent intensity is folded
    lp = logp(pt.where(with_pue, energy_bare, energy), (mode == "folded") | with_pue)
    if mix.any():
        pi = hp["conventions.pue_in_nominal"]
        lp = pt.where(mix, pt.logaddexp(pt.log(pi) + lp, pt.log1p(-pi) + logp(energy_bare, np.zeros_like(mix))), lp)
    pm.Potential("label_loglik", (label_w * lp).sum())
    nodes.update(label_energy_mwh=pt.where(with_pue, energy_bare, energy), label_power_w=power,
                 label_intensity_log_mean=mu_base + centre + np.where((mode == "folded") | with_pue,
                                                                             np.log(f.pue_centre[ri]), 0.0))


def build_model(fd: FitData, priors: ModelPriors, levels: design.Levels, nodes: dict | None = None) -> pm.Model:
    """Build the PyMC model of ``fd`` under ``priors`` (see the module docstring and docs/model.md).

    ``nodes``, if given, is filled with the graph's intermediate tensors by name (``run_*`` and the
    linear predictors per run, ``label_*`` per published figure), so that tests can compare them with
    the predictor.
    """
    f = fd.feats
    if (f.gen_idx < 0).any() or (f.fam_idx < 0).any() or (f.arch_idx < 0).any():
        raise ValueError("every fitted run needs known hardware and architecture")
    if (f.task_idx < 0).any():
        raise ValueError("every fitted run needs its task")
    nodes = {} if nodes is None else nodes
    with pm.Model(coords=coords_of(fd, levels)) as m:
        label_w = pm.Data("label_weight", np.ones(len(fd.labels)), dims="label")
        run_w = pm.Data("run_weight", np.ones(fd.n_runs), dims="run")
        ci_w = pm.Data("evidence_weight", np.ones(len(fd.ci_evidence)), dims="evidence")
        hp = _hyperparameters(priors)
        eff = _group_effects(m, fd, hp)
        index = run_index(f)

        def effect_at(e: effects.Effect):
            idx = index[e.dim]
            if e.dim in effects.DATA_DIMS:  # a run with no such level (a user's own run) has no effect
                return pt.where(idx >= 0, eff[e.name][np.maximum(idx, 0)], 0.0) if len(m.coords[e.dim]) else 0.0
            return eff[e.name][idx]

        spread = pm.Deterministic("intensity_spread", blocks.intensity_spread(
            priors.value("intensity.sigma_floor"), hp["intensity.sigma"], hp["intensity.provider_spread"],
            pm.Normal("intensity_spread_z", 0, 1, dims="provider")), dims="provider")
        cluster = _cluster_effects(fd, priors)
        size, mult = _size_and_compute(fd, priors, hp, effect_at, run_w, nodes)
        log_h = _hours(fd, priors, hp, effect_at, mult, cluster, run_w, size, nodes)
        log_rho, pue_run = _power_and_pue(fd, hp, effect_at, mult, cluster, nodes)
        _labels(fd, priors, hp, effect_at, mult, spread, log_h, log_rho, pue_run, label_w, nodes)
        ev = fd.ci_evidence
        if len(ev):
            ev_prov = f.provider_idx[ev["run_idx"].to_numpy()]
            pm.Potential("evidence_loglik", (ci_w * _student_t_logp(
                ev["log_ci"].to_numpy(), priors.value("noise.nu"),
                blocks.intensity_log_mean(ev["log_centre"].to_numpy(), hp["intensity.offset"],
                                          blocks.effects_sum("intensity", effect_at, mult)[ev["run_idx"].to_numpy()]),
                spread[ev_prov])).sum())
    return m
