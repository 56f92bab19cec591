"""The hierarchical PyMC model and :class:`CarbonModel` (fit, convergence gate, save).

The graph is the physical chain of :mod:`carbon_bayes.formula` with every unknown a random
variable (maths in ``docs/model.md``)::

    logit(u_r)   ~ Normal(a_u + u_gen[g] + u_arch[a] + u_era[e] + b_u[g] * scale_r, s_u)   (centred)
    log(rho_r)   ~ Normal(a_r + r_fam[f] + r_gen[g] + r_arch[a] + r_era[e] + b_r * scale_r, s_r)   (non-centred)
    H_r          = FLOPs_r / (peak_r * u_r * 3600)          when device-hours are not reported
    E_label      = H_r * power * PUE / 1e6                   power = TDP * rho (measured) or the source's W
    CO2_label    = E_label * intensity                       stated, or latent (log-t) around the grid average
    log(label)   ~ StudentT(nu, log(E or CO2), sqrt(s_basis^2 + s_rounding^2))

Group effects are non-centred (``z * sigma``) with half-normal scales and exist for every
level the package knows, so unobserved levels carry new-group draws; the exception is the
intensity effect of an operator with many figures, which is centred (docs/model.md §2.4). Likelihood terms are
``pm.Potential`` sums weighted by ``pm.Data`` vectors, so cross-validation switches a run's
data off without recompiling.

Importing this module imports PyMC; ``import carbon_bayes`` does not.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from carbon_bayes import design, formula
from carbon_bayes.constants import DEFAULT_SAMPLER_CONFIG
from carbon_bayes.fitdata import FitData
from carbon_bayes.priorspec import VARIABLES, ModelPriors, PriorSpec

LOG_2PI = float(np.log(2 * np.pi))

#: An operator's intensity effect is centred when at least this many figures inform it (they pin
#: offset + effect, and non-centred that is a curved ridge); with fewer, centred is a funnel.
CENTRED_PROVIDER_MIN_FIGURES = 5


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
    """A length-n vector equal to ``fill`` except ``values`` at ``idx``."""
    base = pt.as_tensor(np.full(n, fill, dtype=float))
    return pt.set_subtensor(base[idx], values) if len(idx) else base


def coords_of(fd: FitData, levels: design.Levels) -> dict[str, list]:
    lab = fd.labels
    runs = fd.runs["run_group"]
    return {
        **levels.as_dict(),
        "run": list(runs),
        "u_run": list(runs[fd.needs_u]),
        "compute_run": list(runs[fd.needs_u & ~fd.compute_observed & np.isnan(fd.feats.log_hours)]),
        "rho_run": list(runs[fd.needs_rho]),
        "pue_run": list(runs[fd.needs_pue]),
        "params_run": list(runs[fd.params_missing]),
        "label": [f"{r}:{k}" for r, k in zip(lab["row_id"], lab["kind"])],
        "evidence": list(fd.ci_evidence["row_id"]),
        "cluster": fd.clusters,
    }


def build_model(fd: FitData, priors: ModelPriors, levels: design.Levels) -> pm.Model:
    """The PyMC model of ``fd`` under ``priors`` (see the module docstring and docs/model.md)."""
    f = fd.feats
    st = priors.structure
    if (f.gen_idx < 0).any() or (f.fam_idx < 0).any() or (f.arch_idx < 0).any():
        raise ValueError("every fitted run needs known hardware and architecture")
    lab = fd.labels
    n = fd.n_runs
    ln10 = float(np.log(10))
    nu = priors.value("noise.nu")
    meas_sigma = priors.value("noise.measured_sigma")
    hours_sigma = priors.value("noise.hours_sigma")
    V = VARIABLES

    with pm.Model(coords=coords_of(fd, levels)) as m:
        label_w = pm.Data("label_weight", np.ones(len(lab)), dims="label")
        run_w = pm.Data("run_weight", np.ones(n), dims="run")
        ci_w = pm.Data("evidence_weight", np.ones(len(fd.ci_evidence)), dims="evidence")

        # --- hyperparameters and non-centred group effects
        hp = {key: _rv(V[key], spec) for key, spec in priors.specs.items() if not spec.fixed}
        # A prior file may fix a hyperparameter that is usually learned (intensity.provider_sigma is):
        # it enters the graph, and the posterior the predictor reads, as a named constant.
        hp.update({key: pm.Deterministic(V[key], pt.as_tensor(float(spec.params["value"])))
                   for key, spec in priors.specs.items() if spec.fixed and key in V})

        def effect(name, dim, sigma):
            return pm.Deterministic(name, pm.Normal(f"{name}_z", 0, 1, dims=dim) * sigma, dims=dim)

        u_gen = effect("u_generation", "generation", hp["utilisation.generation_sigma"])
        u_arch = effect("u_architecture", "architecture", hp["utilisation.architecture_sigma"])
        u_era = effect("u_era", "era", hp["utilisation.era_sigma"])
        u_slope = pm.Deterministic("u_slope", hp["utilisation.slope_mu"] + hp["utilisation.slope_sigma"]
                                   * pm.Normal("u_slope_z", 0, 1, dims="generation"), dims="generation")
        r_fam = effect("rho_family", "family", hp["power.family_sigma"])
        r_gen = effect("rho_generation", "generation", hp["power.generation_sigma"])
        r_arch = effect("rho_architecture", "architecture", hp["power.architecture_sigma"])
        r_era = effect("rho_era", "era", hp["power.era_sigma"])
        r_slope = pm.Deterministic("rho_slope", hp["power.slope_mu"] + hp["power.slope_sigma"]
                                   * pm.Normal("rho_slope_z", 0, 1, dims="family"), dims="family")
        # Operators with enough intensity figures get offset + effect sampled directly (the data pin that
        # sum; non-centred it is a curved ridge in offset and z); the others are non-centred.
        inf = fd.informed_providers(CENTRED_PROVIDER_MIN_FIGURES)
        ci_tau, ci_off = hp["intensity.provider_sigma"], hp["intensity.offset"]
        ci_prov = pt.zeros(len(levels.provider))
        if len(inf):
            m.add_coord("informed_provider", [levels.provider[i] for i in inf])
            tot = pm.Normal("ci_provider_total", mu=ci_off, sigma=ci_tau, dims="informed_provider")
            ci_prov = pt.set_subtensor(ci_prov[inf], tot - ci_off)
        rest = np.setdiff1d(np.arange(len(levels.provider)), inf)
        if len(rest):
            m.add_coord("other_provider", [levels.provider[i] for i in rest])
            ci_prov = pt.set_subtensor(ci_prov[rest], pm.Normal("ci_provider_z", 0, 1, dims="other_provider") * ci_tau)
        ci_prov = pm.Deterministic("ci_provider", ci_prov, dims="provider")
        c_task = effect("compute_task", "task", hp["compute.task_sigma"])
        ci_sd_p = pm.Deterministic("ci_sigma_provider", pt.sqrt(priors.value("intensity.sigma_floor") ** 2 + (
            hp["intensity.sigma"] * pt.exp(hp["intensity.provider_spread"]
                                           * pm.Normal("ci_sigma_provider_z", 0, 1, dims="provider"))) ** 2),
            dims="provider")

        # --- a user's own cluster (update with their measurements): one effect on each of u and rho
        c_idx = fd.cluster_idx
        if fd.clusters:
            u_cl = pm.Deterministic("u_cluster", priors.value("cluster.utilisation_sigma")
                                    * pm.Normal("u_cluster_z", 0, 1, dims="cluster"), dims="cluster")
            r_cl = pm.Deterministic("rho_cluster", priors.value("cluster.power_sigma")
                                    * pm.Normal("rho_cluster_z", 0, 1, dims="cluster"), dims="cluster")
            u_cl_run = pt.where(c_idx >= 0, u_cl[np.maximum(c_idx, 0)], 0.0)
            r_cl_run = pt.where(c_idx >= 0, r_cl[np.maximum(c_idx, 0)], 0.0)
        else:
            u_cl_run = r_cl_run = 0.0

        # --- size: observed, or drawn from the size prior of the run's task and year
        pm_idx = np.flatnonzero(fd.params_missing)
        log10p = pt.as_tensor(np.nan_to_num(f.log10_params))
        if len(pm_idx):
            lp_latent = pm.Normal("log10_params", mu=fd.params_prior[pm_idx, 0], sigma=fd.params_prior[pm_idx, 1],
                                  dims="params_run")
            log10p = pt.set_subtensor(log10p[pm_idx], lp_latent)
        sc = design.scale(log10p, st)

        # --- compute: observed, or latent around the (Epoch-informed, learned) regression on size and year
        u_idx = np.flatnonzero(fd.needs_u)
        ep = fd.epoch_coef
        if (f.task_idx < 0).any():
            raise ValueError("every fitted run needs its task")
        mu_c = (ep[:, 0] + (ep[:, 1] + hp["compute.slope"]) * (log10p - 9.0) + ep[:, 2] * (f.year - 2020.0)
                + hp["compute.offset"] + c_task[f.task_idx])
        c_sigma = hp["compute.sigma"] * pt.exp(hp["compute.sigma_slope"] * sc)
        c_nu = priors.value("compute.nu")
        obs_c = np.flatnonzero(fd.compute_observed)
        if len(obs_c):
            pm.Potential("compute_loglik", (run_w[obs_c] * _student_t_logp(f.log_flops[obs_c] / ln10, c_nu,
                                                                           mu_c[obs_c], c_sigma[obs_c])).sum())
        h_known = ~np.isnan(f.log_hours)
        # Compute is latent only where neither compute nor hours are reported; where hours are,
        # log C ~ t(mu_c, sigma_c) is integrated out of the hours observation (no ridge between a
        # latent compute and a latent utilisation); the t convolved with the small hours noise is
        # taken as a t with the summed variance.
        lat_c = np.flatnonzero(fd.needs_u & ~fd.compute_observed & ~h_known)
        log_c = pt.as_tensor(np.nan_to_num(f.log_flops))
        marg_c = fd.needs_u & ~fd.compute_observed & h_known
        log_c = pt.where(marg_c, mu_c * ln10, log_c)
        if len(lat_c):
            log10c = pm.StudentT("log10_flops", nu=c_nu, mu=mu_c[lat_c], sigma=c_sigma[lat_c], dims="compute_run")
            log_c = pt.set_subtensor(log_c[lat_c], log10c * ln10)

        # --- utilisation and device-hours
        lin_u = (hp["utilisation.intercept"] + u_gen[f.gen_idx] + u_arch[f.arch_idx] + u_era[f.era_idx]
                 + u_slope[f.gen_idx] * sc + u_cl_run)
        logit_u = pm.Normal("logit_u", mu=lin_u[u_idx], sigma=hp["utilisation.run_sigma"], dims="u_run")
        log_h_model = pt.log(formula.device_hours(pt.exp(log_c[u_idx]), f.peak_flops[u_idx],
                                                  pm.math.sigmoid(logit_u)))
        obs = np.flatnonzero(h_known[u_idx])
        if len(obs):
            r_obs = u_idx[obs]
            var_h = hours_sigma ** 2 + fd.hours_round_sd[r_obs] ** 2
            marg = marg_c[r_obs]
            sd_t = pt.sqrt(var_h + (c_sigma[r_obs] * ln10) ** 2)
            logp_h = pt.where(marg, _student_t_logp(f.log_hours[r_obs], c_nu, log_h_model[obs], sd_t),
                              _normal_logp(f.log_hours[r_obs], log_h_model[obs], np.sqrt(var_h)))
            pm.Potential("hours_loglik", (run_w[r_obs] * logp_h).sum())
        lat = np.flatnonzero(~h_known[u_idx])
        log_h = pt.as_tensor(np.nan_to_num(f.log_hours))
        if len(lat):
            log_h = pt.set_subtensor(log_h[u_idx[lat]], log_h_model[lat])

        # --- power fraction (non-centred: per-run data are often weak)
        rho_idx = np.flatnonzero(fd.needs_rho)
        lin_r = (hp["power.intercept"] + r_fam[f.fam_idx] + r_gen[f.gen_idx] + r_arch[f.arch_idx]
                 + r_era[f.era_idx] + r_slope[f.fam_idx] * design.power_scale(sc, st) + r_cl_run)
        log_rho = pm.Deterministic("log_rho", lin_r[rho_idx] + hp["power.run_sigma"]
                                   * pm.Normal("log_rho_z", 0, 1, dims="rho_run"), dims="rho_run")
        log_rho_full = _scatter(n, rho_idx, log_rho)

        # --- PUE where a label includes an unstated PUE
        pue_idx = np.flatnonzero(fd.needs_pue)
        if len(pue_idx):
            lpm1 = pm.Normal("log_pue_minus_1", mu=np.log(f.pue_centre[pue_idx] - 1), sigma=f.pue_log_sd[pue_idx],
                             dims="pue_run")
            pue_run = _scatter(n, pue_idx, 1.0 + pt.exp(lpm1), 1.0)
        else:
            pue_run = pt.ones(n)

        # --- labels: energy on the label's own basis
        ri = lab["run_idx"].to_numpy()
        measured = lab["measured"].to_numpy()
        gpu = lab["gpu"].to_numpy()
        share = pt.where(gpu, hp["power.gpu_share"], 1.0)
        power = pt.where(measured, f.tdp_w[ri] * pt.exp(log_rho_full[ri]) * share, np.exp(lab["log_nominal_w"]))
        mode = lab["pue_mode"].to_numpy()
        pue = pt.where(mode == "latent", pue_run[ri],
                       pt.as_tensor(np.where(mode == "given", lab["pue_value"].to_numpy(), 1.0)))
        energy = formula.energy_mwh(pt.exp(log_h[ri]), power, pue)

        # Intensity: stated by the source, or latent around the grid average of the run's location
        # (+ the operator's effect). A latent intensity appears in one label only, so it is integrated
        # out analytically: log(label) ~ t_4(log E + mu_k, sqrt(sd_k^2 + sigma_label^2)), approximately.
        # Folded (neither PUE nor intensity stated): the product is the latent. In a measured figure it
        # is the run's physical PUE x intensity, so the PUE prior's spread adds to the operator's; in a
        # nominal figure it is the operator's accounting factor, whose spread is the operator's own
        # (Meta's cards apply one factor; docs/model.md §2.4). The predictor draws it the same way.
        ci_lat = lab["ci_mode"].to_numpy() == "latent"
        folded = mode == "folded"
        offset = hp["intensity.offset"]
        pue_log_sd = design.pue_log_sd_approx(f.pue_centre[ri], f.pue_log_sd[ri])
        mu_k = (f.log_ci_centre[ri] + np.where(folded, np.log(f.pue_centre[ri]), 0.0) + offset
                + ci_prov[f.provider_idx[ri]])
        var_k = (ci_sd_p[f.provider_idx[ri]] ** 2 + f.ci_extra_sd[ri] ** 2
                 + np.where(folded & measured, pue_log_sd, 0.0) ** 2)
        is_co2 = lab["kind"].to_numpy() == "co2"
        ci_given = np.where(lab["ci_mode"] == "given", lab["ci_value"].to_numpy(), 1.0)
        pred = pt.where(is_co2, formula.co2_t(energy, ci_given), energy)
        var_label = pt.where(measured, meas_sigma ** 2, hp["noise.nominal_sigma"] ** 2) + lab["round_sd"].to_numpy() ** 2
        y = lab["log_value"].to_numpy()
        logp_known = _student_t_logp(y, nu, pt.log(pred), pt.sqrt(var_label))
        logp_latent = _student_t_logp(y, nu, pt.log(energy) + mu_k, pt.sqrt(var_k + var_label))
        pm.Potential("label_loglik", (label_w * pt.where(ci_lat, logp_latent, logp_known)).sum())

        ev = fd.ci_evidence
        if len(ev):
            ev_prov = f.provider_idx[ev["run_idx"].to_numpy()]
            pm.Potential("evidence_loglik", (ci_w * _student_t_logp(
                ev["log_ci"].to_numpy(), nu, ev["log_centre"].to_numpy() + offset + ci_prov[ev_prov],
                ci_sd_p[ev_prov])).sum())
    return m


# ---------------------------------------------------------------------------------- fitting

#: The convergence gate every fit must pass (unless explicitly allowed not to).
GATE = {"r_hat_max": 1.01, "ess_bulk_min": 400, "divergences_max": 0}



def free_variable_names(model: pm.Model) -> list[str]:
    return [v.name for v in model.free_RVs]


def convergence_report(tree, var_names: list[str]) -> dict:
    """max r_hat, min bulk ESS (over every element of ``var_names``) and the divergence count."""
    import arviz as az

    post = tree["posterior"].to_dataset()[var_names]
    ess = az.ess(post, method="bulk")
    if post.sizes["chain"] < 2:  # r_hat needs several chains: a single chain cannot pass the gate
        r = {k: float("inf") for k in var_names}
    else:
        rhat = az.rhat(post)
        r = {k: float(np.nanmax(rhat[k].values)) for k in var_names}
    e = {k: float(np.nanmin(ess[k].values)) for k in var_names}
    worst_r = max(r, key=r.get)
    worst_e = min(e, key=e.get)
    div = int(tree["sample_stats"]["diverging"].values.sum()) if "sample_stats" in tree else -1
    report = {"r_hat_max": r[worst_r], "r_hat_worst": worst_r, "ess_bulk_min": e[worst_e], "ess_bulk_worst": worst_e,
              "divergences": div, **{f"gate_{k}": v for k, v in GATE.items()}}
    report["passed"] = bool(report["r_hat_max"] <= GATE["r_hat_max"] and report["ess_bulk_min"] >= GATE["ess_bulk_min"]
                            and 0 <= div <= GATE["divergences_max"])
    return report


def format_report(report: dict) -> str:
    ok = "PASSED" if report["passed"] else "FAILED"
    return (f"convergence gate {ok}: max r_hat {report['r_hat_max']:.4f} ({report['r_hat_worst']}; gate <= "
            f"{GATE['r_hat_max']}), min bulk ESS {report['ess_bulk_min']:.0f} ({report['ess_bulk_worst']}; gate >= "
            f"{GATE['ess_bulk_min']}), divergences {report['divergences']} (gate {GATE['divergences_max']})")


def resolve_sampler(name: str) -> str:
    if name not in ("auto", "nutpie", "pymc"):
        from carbon_bayes.errors import InputError

        raise InputError("sampler", name, "use auto, nutpie or pymc")
    if name == "pymc":
        return "pymc"
    try:
        import nutpie  # noqa: F401
    except ImportError:
        if name == "nutpie":
            from carbon_bayes.errors import InputError

            raise InputError("sampler", name, "nutpie is not installed; `pip install carbon_bayes[fast]` "
                             "or use --sampler pymc") from None
        return "pymc"
    return "nutpie"


def sample(model: pm.Model, cfg: dict, compiled=None):
    """Run NUTS (nutpie when available, else PyMC) and return the DataTree."""
    sampler = resolve_sampler(cfg["sampler"])
    if sampler == "nutpie":
        import nutpie

        compiled = compiled or nutpie.compile_pymc_model(model, freeze_model=False)
        return nutpie.sample(compiled, draws=cfg["draws"], tune=cfg["tune"], chains=cfg["chains"],
                             cores=min(cfg["chains"], os.cpu_count() or 1), seed=cfg["seed"],
                             target_accept=cfg["target_accept"], progress_bar=cfg["progressbar"], save_warmup=False)
    with model:
        return pm.sample(draws=cfg["draws"], tune=cfg["tune"], chains=cfg["chains"], nuts_sampler="pymc",
                         cores=min(cfg["chains"], os.cpu_count() or 1), random_seed=cfg["seed"],
                         target_accept=cfg["target_accept"], progressbar=cfg["progressbar"],
                         compute_convergence_checks=False)


class CarbonModel:
    """Fit the hierarchical model to published runs and save the posterior.

    Parameters
    ----------
    priors
        Path of a prior specification (default: the shipped ``priors/model_priors.toml``).
    sampler_config
        Overrides of :data:`DEFAULT_SAMPLER_CONFIG` (sampler, draws, tune, chains,
        target_accept, seed, progressbar).

    Examples
    --------
    >>> m = CarbonModel(sampler_config={"draws": 500})   # doctest: +SKIP
    >>> m.fit()                                           # the shipped data/training_runs.csv
    >>> m.save("my_posterior.nc")
    """

    def __init__(self, priors=None, sampler_config: dict | None = None):
        from carbon_bayes.priorspec import load_prior_spec

        self.priors = priors if isinstance(priors, ModelPriors) else load_prior_spec(priors)
        unknown = set(sampler_config or {}) - set(DEFAULT_SAMPLER_CONFIG)
        if unknown:
            from carbon_bayes.errors import InputError

            raise InputError("sampler_config", sorted(unknown), f"use keys among {sorted(DEFAULT_SAMPLER_CONFIG)}")
        self.sampler_config = {**DEFAULT_SAMPLER_CONFIG, **(sampler_config or {})}
        self.levels = design.model_levels(self.priors.structure)
        self.idata = None
        self.fit_data = None
        self.dataset = None
        self.convergence = None
        self.model = None
        self.cluster = None

    def observed(self) -> dict:
        """Levels and ranges the fitted runs cover (the predictor warns outside them)."""
        f = self.fit_data.feats
        lp = f.log10_params[~np.isnan(f.log10_params)]
        return {
            "generation": sorted({self.levels.generation[i] for i in f.gen_idx}),
            "family": sorted({self.levels.family[i] for i in f.fam_idx}),
            "architecture": sorted({self.levels.architecture[i] for i in f.arch_idx}),
            "era": sorted({self.levels.era[i] for i in f.era_idx}),
            "log10_params_range": [float(lp.min()), float(lp.max())],
            "year_range": [int(f.year.min()), int(f.year.max())],
            "n_runs": int(self.fit_data.n_runs), "n_labels": int(self.fit_data.n_labels),
        }

    def model_config(self) -> dict:
        return {
            "structure": self.priors.structure, "levels": self.levels.as_dict(), "observed": self.observed(),
            "fixed": {k: s.params["value"] for k, s in self.priors.specs.items() if s.fixed},
            "priors": {k: {"dist": s.dist, **s.params, "units": s.units} for k, s in self.priors.specs.items()},
            "prior_file_sha256": self.priors.sha256,
            "default_cluster": self.cluster,
        }

    def build(self, dataset: pd.DataFrame) -> pm.Model:
        """Build (without sampling) the PyMC model of ``dataset`` (rows with ``in_fit``)."""
        from carbon_bayes.fitdata import build_fit_data

        self.dataset = dataset
        self.fit_data = build_fit_data(dataset, self.levels, self.priors.structure,
                                       self.priors.value("intensity.unknown_location_sigma"))
        self.model = build_model(self.fit_data, self.priors, self.levels)
        return self.model

    def fit(self, data=None, *, allow_unconverged: bool = False, **sampler_overrides):
        """Fit to ``data`` (a path or DataFrame in the ``data/training_runs.csv`` format).

        Returns the DataTree; reports the convergence gate and raises
        :class:`~carbon_bayes.errors.ConvergenceError` if it fails, unless
        ``allow_unconverged`` is True.
        """
        from carbon_bayes.dataset import load_training_runs
        from carbon_bayes.errors import ConvergenceError

        dataset = data if isinstance(data, pd.DataFrame) else load_training_runs(data)
        cfg = {**self.sampler_config, **{k: v for k, v in sampler_overrides.items() if v is not None}}
        self.sampler_config = cfg
        model = self.build(dataset)
        self.idata = sample(model, cfg)
        self.convergence = convergence_report(self.idata, free_variable_names(model))
        print(format_report(self.convergence), file=sys.stderr)
        if not self.convergence["passed"] and not allow_unconverged:
            raise ConvergenceError(format_report(self.convergence) + "; sample longer (--draws/--tune), or pass "
                                   "allow_unconverged=True (--allow-unconverged) to keep it anyway")
        return self.idata

    def update(self, measurements: pd.DataFrame, *, base=None, cluster: str = "user",
               allow_unconverged: bool = False, **sampler_overrides):
        """Refit with a user's own measured runs added, as their own cluster.

        Parameters
        ----------
        measurements
            Rows in the ``data/training_runs.csv`` format (see
            :mod:`carbon_bayes.measurements` for readers of CodeCarbon files, model cards and
            CSVs); ``source`` says where each figure came from.
        base
            Posterior file whose fit data the update extends (default: the shipped posterior).
            The base file is never modified.
        cluster
            Name of the user's cluster: its runs share one utilisation and one power effect,
            learned from the measurements, and every estimate from the updated posterior
            describes a run on that cluster.
        """
        from carbon_bayes.dataset import load_training_runs, with_defaults
        from carbon_bayes.errors import InputError
        from carbon_bayes.posterior import dataset_from_tree, load_posterior

        if not cluster or not str(cluster).strip():
            raise InputError("cluster", cluster, "give a name for your cluster, e.g. 'my-lab'")
        base_rows = load_training_runs(dataset_from_tree(load_posterior(base).tree))
        user = with_defaults(measurements)
        user["cluster"] = cluster
        user["in_fit"] = True
        clash = set(user["run_id"]) & set(base_rows["run_id"])
        if clash:
            raise InputError("run_id", sorted(clash)[0], "already used by the base posterior's data; rename your runs")
        combined = load_training_runs(pd.concat([base_rows, load_training_runs(user)], ignore_index=True))
        self.cluster = cluster
        return self.fit(combined, allow_unconverged=allow_unconverged, **sampler_overrides)

    def provenance(self, thin: int = 1) -> dict:
        """Everything a posterior file records besides the draws."""
        from carbon_bayes.posterior import dataset_sha256, priors_sha256

        if self.idata is None:
            raise RuntimeError("nothing to save: call fit() first")
        return dict(fit_rows=self.dataset, model_config=self.model_config(),
                    sampler_config={**self.sampler_config, "sampler_used": resolve_sampler(self.sampler_config["sampler"])},
                    convergence=self.convergence, data_sha256=dataset_sha256(self.dataset),
                    priors_sha256=priors_sha256(prior_file=self.priors.path), thin=thin)

    def posterior(self):
        """The fitted posterior as a :class:`~carbon_bayes.posterior.Posterior` (in memory, for estimate())."""
        from carbon_bayes.posterior import build_posterior_tree, posterior_from_tree

        return posterior_from_tree(build_posterior_tree(self.idata, **self.provenance()))

    def save(self, path, thin: int = 1) -> Path:
        """Write the posterior, fit data, configuration and hashes to one netCDF file (atomically)."""
        from carbon_bayes.posterior import save_posterior

        return save_posterior(self.idata, path, **self.provenance(thin))
