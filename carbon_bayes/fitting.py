"""Fitting the model: sampling (nutpie or PyMC's NUTS), the convergence gate, :class:`CarbonModel`.

Every fit goes through :func:`sample`: ``carbon-bayes fit``, ``update`` and each fold of
``validate``. It uses nutpie (a dependency; ``sampler="auto"``) and PyMC's NUTS where nutpie
could not be installed or when asked (``sampler="pymc"``); asking for nutpie when it is missing
is an error that says how to install it. Cross-validation compiles once and samples each fold with other ``pm.Data``
weights (:func:`compile_model`, then ``sample(..., data=...)``).

Importing this module imports PyMC; ``import carbon_bayes`` does not.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pymc as pm

from carbon_bayes import design
from carbon_bayes.constants import DEFAULT_SAMPLER_CONFIG
from carbon_bayes.errors import InputError
from carbon_bayes.model import build_model
from carbon_bayes.priorspec import ModelPriors
from carbon_bayes.workers import worker_context

log = logging.getLogger("carbon_bayes")

#: The convergence gate every fit must pass (unless explicitly allowed not to).
GATE = {"r_hat_max": 1.01, "ess_bulk_min": 400, "divergences_max": 0}


def free_variable_names(model: pm.Model) -> list[str]:
    """Return the names of the model's free random variables."""
    return [v.name for v in model.free_RVs]


def convergence_report(tree, var_names: list[str]) -> dict:
    """Max r_hat, min bulk ESS (over every element of ``var_names``) and the divergence count."""
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
    """Format a convergence report as one line: passed or failed, and each figure against its gate."""
    ok = "PASSED" if report["passed"] else "FAILED"
    return (f"convergence gate {ok}: max r_hat {report['r_hat_max']:.4f} ({report['r_hat_worst']}; gate <= "
            f"{GATE['r_hat_max']}), min bulk ESS {report['ess_bulk_min']:.0f} ({report['ess_bulk_worst']}; gate >= "
            f"{GATE['ess_bulk_min']}), divergences {report['divergences']} (gate {GATE['divergences_max']})")


def resolve_sampler(name: str) -> str:
    """Return the sampler a configuration asks for: ``nutpie`` or ``pymc`` (``auto``: nutpie when installed).

    Raises
    ------
    InputError
        For an unknown name, or ``nutpie`` when it is not installed.
    """
    if name not in ("auto", "nutpie", "pymc"):
        raise InputError("sampler", name, "use auto, nutpie or pymc")
    if name == "pymc":
        return "pymc"
    try:
        import nutpie  # noqa: F401
    except ImportError:
        if name == "nutpie":
            raise InputError("sampler", name, "nutpie, a dependency of carbon_bayes, is not installed here; "
                             "`pip install nutpie`, or use --sampler pymc") from None
        return "pymc"
    return "nutpie"


def compile_model(model: pm.Model, cfg: dict) -> Any:
    """Compile once for repeated sampling with other data (nutpie); None for PyMC's NUTS."""
    if resolve_sampler(cfg["sampler"]) != "nutpie":
        return None
    import nutpie

    return nutpie.compile_pymc_model(model, freeze_model=False)


def sample(model: pm.Model, cfg: dict, *, data: dict | None = None, compiled: Any = None):
    """Run NUTS (nutpie when available, else PyMC) and return the DataTree.

    Parameters
    ----------
    model
        The PyMC model (:func:`carbon_bayes.model.build_model`).
    cfg
        Sampler settings (:data:`~carbon_bayes.constants.DEFAULT_SAMPLER_CONFIG` keys).
    data
        New values of the model's ``pm.Data`` (e.g. a fold's likelihood weights). With PyMC's NUTS
        they are set on ``model`` itself, so folds sampled with PyMC must run one at a time.
    compiled
        A :func:`compile_model` result to reuse (nutpie).
    """
    sampler = resolve_sampler(cfg["sampler"])
    cores = min(cfg["chains"], os.cpu_count() or 1)
    if sampler == "nutpie":
        import nutpie

        compiled = compiled or nutpie.compile_pymc_model(model, freeze_model=False)
        if data:
            compiled = compiled.with_data(**data)
        return nutpie.sample(compiled, draws=cfg["draws"], tune=cfg["tune"], chains=cfg["chains"], cores=cores,
                             seed=cfg["seed"], target_accept=cfg["target_accept"], progress_bar=cfg["progressbar"],
                             save_warmup=False)
    with model:
        if data:
            pm.set_data(data)
        return pm.sample(draws=cfg["draws"], tune=cfg["tune"], chains=cfg["chains"], nuts_sampler="pymc",
                         cores=cores, random_seed=cfg["seed"], target_accept=cfg["target_accept"],
                         progressbar=cfg["progressbar"], compute_convergence_checks=False,
                         mp_ctx=worker_context())  # chain processes end with this one, even if it is killed


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
            "task": sorted({self.levels.task[i] for i in f.task_idx if i >= 0}),
            "provider": sorted({self.levels.provider[i] for i in f.provider_idx if i >= 0}),
            "operator": sorted({self.levels.operator[i] for i in f.operator_idx if i >= 0}),
            "log10_params_range": [float(lp.min()), float(lp.max())],
            "year_range": [int(f.year.min()), int(f.year.max())],
            "n_runs": int(self.fit_data.n_runs), "n_labels": int(self.fit_data.n_labels),
        }

    def model_config(self) -> dict:
        """Return the model configuration a posterior file records (structure, levels, priors, ...)."""
        return {
            "structure": self.priors.structure, "levels": self.levels.as_dict(), "observed": self.observed(),
            "fixed": {k: s.params["value"] for k, s in self.priors.specs.items() if s.fixed},
            "priors": {k: {"dist": s.dist, **s.params, "units": s.units} for k, s in self.priors.specs.items()},
            "prior_file_sha256": self.priors.sha256,
            "default_cluster": self.cluster,
        }

    def build(self, dataset: pd.DataFrame) -> pm.Model:
        """Build (without sampling) the PyMC model of ``dataset`` (rows with ``in_fit``)."""
        from carbon_bayes.fitdata import build_fit_data, fit_levels

        self.levels = fit_levels(dataset, self.priors.structure)
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
        resolve_sampler(cfg["sampler"])  # a missing sampler fails before the model is built
        self.sampler_config = cfg
        model = self.build(dataset)
        self.idata = sample(model, cfg)
        self.convergence = convergence_report(self.idata, free_variable_names(model))
        log.info(format_report(self.convergence))
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
                    sampler_config={**self.sampler_config,
                                    "sampler_used": resolve_sampler(self.sampler_config["sampler"])},
                    convergence=self.convergence, data_sha256=dataset_sha256(self.dataset),
                    priors_sha256=priors_sha256(prior_file=self.priors.path), thin=thin)

    def posterior(self):
        """Return the fitted posterior as a :class:`~carbon_bayes.posterior.Posterior` (in memory, for estimate())."""
        from carbon_bayes.posterior import build_posterior_tree, posterior_from_tree

        return posterior_from_tree(build_posterior_tree(self.idata, **self.provenance()))

    def save(self, path, thin: int = 1) -> Path:
        """Write the posterior, fit data, configuration and hashes to one netCDF file (atomically)."""
        from carbon_bayes.posterior import save_posterior

        return save_posterior(self.idata, path, **self.provenance(thin))
