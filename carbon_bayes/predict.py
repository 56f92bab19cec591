"""Prediction without MCMC: push posterior draws through the physical chain with numpy.

For each run and each posterior draw the predictor draws the run's own utilisation and
power fraction around the learned group effects (new-group draws for levels the fit never
saw), samples every input the user did not give from its prior (hardware from what runs of
that year used, size and compute from Epoch AI regressions, PUE by provider and year,
carbon intensity around the grid average of the region, country or world), evaluates
:mod:`carbon_bayes.formula`, and adds the label noise of the requested energy basis.
Importing this module does not import PyMC or PyTensor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from carbon_bayes import design, formula, reference
from carbon_bayes.constants import CHUNK_SIZE, N_DRAWS, SEED
from carbon_bayes.posterior import Posterior, load_posterior

_CACHE: dict[tuple, "Predictor"] = {}
#: Student-t draws (label noise, compute residual) are truncated at +-T_CLIP scale units: the
#: exponential of an untruncated t has no mean, and P(|t_4| > 5) is 0.7%.
T_CLIP = 5.0


def get_predictor(model=None, n_draws: int | None = None) -> "Predictor":
    """A (cached) predictor for a posterior path, a loaded :class:`Posterior`, or the default."""
    n_draws = n_draws or N_DRAWS
    if isinstance(model, Predictor):
        return model
    if isinstance(model, Posterior):
        return Predictor(model, n_draws)
    from pathlib import Path

    from carbon_bayes.resources import default_posterior_path

    path = Path(model) if model is not None else default_posterior_path()
    key = (str(path.resolve()), path.stat().st_mtime_ns if path.exists() else 0, n_draws)
    if key not in _CACHE:
        _CACHE.clear() if len(_CACHE) > 8 else None
        _CACHE[key] = Predictor(load_posterior(path), n_draws)
    return _CACHE[key]


@dataclass
class Simulation:
    """Draws (n_draws x n_runs) of the chain's nodes for a batch of runs."""

    energy_mwh: np.ndarray
    co2_t: np.ndarray
    device_hours: np.ndarray
    power_w: np.ndarray
    pue: np.ndarray
    carbon_intensity: np.ndarray
    training_flops: np.ndarray
    hardware_idx: np.ndarray
    notes: list[list[str]]


class Predictor:
    """Posterior draws as numpy arrays, ready to simulate runs.

    Parameters
    ----------
    posterior
        A loaded :class:`~carbon_bayes.posterior.Posterior`.
    n_draws
        Posterior draws used (evenly thinned); default :data:`~carbon_bayes.constants.N_DRAWS`.
    """

    def __init__(self, posterior: Posterior, n_draws: int = N_DRAWS):
        total = posterior.n_draws
        n = min(n_draws, total)
        idx = np.unique(np.linspace(0, total - 1, n).round().astype(int))
        self.posterior = posterior
        self.p = {k: v[idx].astype(np.float32) for k, v in posterior.draws.items()}
        self.S = len(idx)
        cfg = posterior.model_config
        self.structure = cfg["structure"]
        self.fixed = cfg["fixed"]
        self.observed = cfg.get("observed", {})
        post_levels = posterior.levels
        self.levels = design.model_levels(self.structure)
        # Map the package's current levels onto the posterior's (unseen ones -> new-group draws).
        self._level_map = {d: np.array([post_levels[d].index(v) if v in post_levels[d] else -1
                                        for v in getattr(self.levels, d)])
                           for d in ("generation", "family", "architecture", "era", "provider", "task")}
        acc = reference.accelerators()
        self.hw_ids = np.array(acc.index, dtype=object)
        self.hw_pos = {h: i for i, h in enumerate(self.hw_ids)}
        self.tdp = acc["tdp_w"].to_numpy(dtype=np.float32)
        self.tdp_sd = acc["tdp_log_sd"].fillna(0).to_numpy(dtype=np.float32)
        self.peak = np.array([reference.peak_flops(h) for h in self.hw_ids], dtype=np.float64)
        g = {v: i for i, v in enumerate(self.levels.generation)}
        f = {v: i for i, v in enumerate(self.levels.family)}
        self.hw_gen = np.array([g[v] for v in acc["generation"]])
        self.hw_fam = np.array([f[v] for v in acc["family"]])
        self.unknown_sd = float(self.fixed["intensity.unknown_location_sigma"])
        #: Posteriors updated with a user's measurements describe runs on that user's cluster.
        self.cluster = cfg.get("default_cluster")
        self.u_cluster = self.p.get("u_cluster", np.zeros(self.S, dtype=np.float32))[:, None]
        self.rho_cluster = self.p.get("rho_cluster", np.zeros(self.S, dtype=np.float32))[:, None]

    # ------------------------------------------------------------------ helpers
    def _effect(self, name: str, dim: str, idx: np.ndarray, sigma_name: str, rng, shape, zshape=None) -> np.ndarray:
        """Group effect per (draw, run): posterior draw for fitted levels, new-group draw otherwise."""
        table = self.p[name]  # (S, L_post)
        post_idx = np.where(idx >= 0, self._level_map[dim][np.maximum(idx, 0)], -1)
        safe = np.maximum(post_idx, 0)
        if safe.ndim == 1:
            out = table[:, safe]
        else:
            out = np.take_along_axis(table, safe, axis=1)
        new = post_idx < 0
        if np.any(new):
            z = rng.standard_normal(zshape or shape, dtype=np.float32)
            out = np.where(new, self.p[sigma_name][:, None] * z, out)
        return np.broadcast_to(out, shape)

    def _sample_hardware(self, f: design.RunFeatures, rng, shape, notes, shared: bool = False) -> np.ndarray:
        S, N = shape
        hw = np.empty((S, N), dtype=np.int64)
        known = f.hardware != ""
        hw[:, known] = [self.hw_pos[h] for h in f.hardware[known]]
        unknown = np.flatnonzero(~known)
        if len(unknown):
            years = f.year[unknown].astype(int)
            for y in np.unique(years):
                cols = unknown[years == y]
                ids, probs = reference.hardware_mix(int(y))
                pos = np.array([self.hw_pos[i] for i in ids])
                u = rng.random((S, 1) if shared else (S, len(cols)))
                hw[:, cols] = pos[np.minimum(np.searchsorted(np.cumsum(probs), u), len(pos) - 1)]
                for c in cols:
                    notes[c].append(f"hardware not given: drawn from what runs of {int(y)} used")
        return hw

    # ------------------------------------------------------------------ main
    def simulate(self, runs: pd.DataFrame, rng: np.random.Generator, *, shared_noise: bool = False,
                 label_noise: bool = True) -> Simulation:
        """Draw the chain for schema-normalised ``runs`` (see :func:`carbon_bayes.schema.normalise_runs`).

        With ``shared_noise`` every run uses the same random numbers for each node (common
        random numbers), so differences between runs come from their inputs only.
        """
        f = design.run_features(runs, self.levels, self.structure, self.unknown_sd)
        notes = [list(n) for n in f.notes]
        S, N = self.S, f.n
        shape = (S, N)
        zshape = (S, 1) if shared_noise else shape

        def z():
            return np.broadcast_to(rng.standard_normal(zshape, dtype=np.float32), shape)

        hw = self._sample_hardware(f, rng, shape, notes, shared=shared_noise)
        tdp = self.tdp[hw]
        tdp_sd = self.tdp_sd[hw]
        if np.any(tdp_sd > 0):
            tdp = tdp * np.exp(tdp_sd * z())
        gen = self.hw_gen[hw]
        fam = self.hw_fam[hw]
        peak = np.where(f.hw_known & (f.precision != ""), np.nan_to_num(f.peak_flops), self.peak[hw])
        p = self.p

        # Size: given, or drawn from the size prior of the task and year.
        log10p = np.broadcast_to(f.log10_params.astype(np.float32), shape).copy()
        miss = np.isnan(f.log10_params)
        if miss.any():
            cols = np.flatnonzero(miss)
            mu_sd = np.array([reference.params_prior(f.task[c] or None, int(f.year[c])) for c in cols],
                             dtype=np.float32)
            log10p[:, cols] = mu_sd[:, 0] + mu_sd[:, 1] * z()[:, cols]
        sc = design.scale(log10p, self.structure)
        self._extrapolation_notes(f, notes)

        era = np.broadcast_to(f.era_idx, shape)
        arch = np.broadcast_to(f.arch_idx, shape)
        logit_u = (p["u_intercept"][:, None] + self._effect("u_generation", "generation", gen, "u_generation_sigma",
                                                            rng, shape, zshape)
                   + self._effect("u_architecture", "architecture", arch, "u_architecture_sigma", rng, shape, zshape)
                   + self._effect("u_era", "era", era, "u_era_sigma", rng, shape, zshape)
                   + self._slope(gen, rng, shape, zshape) * sc + self.u_cluster + p["u_run_sigma"][:, None] * z())
        u = 1.0 / (1.0 + np.exp(-logit_u))

        # Compute and device-hours: compute given, 6 N D, or drawn from the learned compute regression.
        log_c = np.broadcast_to(f.log_flops, shape).astype(np.float64)
        c_miss = np.isnan(f.log_flops) & np.isnan(f.log_hours)
        if c_miss.any():
            log_c = log_c.copy()
            cols = np.flatnonzero(c_miss)
            ep = design.epoch_compute_coefficients(f.task[cols], f.year[cols])
            c_nu = float(self.fixed["compute.nu"])
            chi = np.broadcast_to(rng.standard_gamma(c_nu / 2, zshape, dtype=np.float32), shape)[:, cols]
            t = np.clip(z()[:, cols] * np.sqrt(c_nu / (2 * chi)), -T_CLIP, T_CLIP)  # Student-t residual
            task_eff = self._effect("compute_task", "task", np.broadcast_to(f.task_idx, shape), "compute_task_sigma",
                                    rng, shape, zshape)[:, cols]
            log10c = (ep[:, 0] + (ep[:, 1] + p["compute_slope"][:, None]) * (log10p[:, cols] - 9.0)
                      + ep[:, 2] * (f.year[cols] - 2020.0) + p["compute_offset"][:, None] + task_eff
                      + p["compute_sigma"][:, None] * np.exp(p["compute_sigma_slope"][:, None] * sc[:, cols]) * t)
            log_c[:, cols] = log10c * math.log(10)
            for c in cols:
                notes[c].append("compute not given: drawn from the compute regression on size, task and year")
        flops = np.exp(log_c)
        hours = np.where(np.isnan(f.log_hours), formula.device_hours(flops, peak, u),
                         np.exp(np.nan_to_num(f.log_hours)))

        # Power per device.
        lin_r = (p["rho_intercept"][:, None]
                 + self._effect("rho_family", "family", fam, "rho_family_sigma", rng, shape, zshape)
                 + self._effect("rho_architecture", "architecture", arch, "rho_architecture_sigma", rng, shape, zshape)
                 + self._effect("rho_era", "era", era, "rho_era_sigma", rng, shape, zshape)
                 + self._family_slope(fam, rng, shape, zshape) * design.power_scale(sc, self.structure)
                 + self.rho_cluster
                 + p["rho_run_sigma"][:, None] * z())
        share = np.where(f.power_scope == "gpu", p["gpu_share"][:, None], np.float32(1.0))
        measured = f.energy_basis == "measured"
        rho = np.where(measured, np.exp(lin_r) * share, np.float32(1.0))
        power = formula.power_w(tdp, rho)
        power = np.where(np.isnan(f.power_w_given), power, f.power_w_given)

        # PUE.
        pue_draw = 1.0 + np.exp(np.log(f.pue_centre - 1.0).astype(np.float32) + f.pue_log_sd.astype(np.float32) * z())
        pue = np.where(np.isnan(f.pue_given), pue_draw, f.pue_given)

        energy = formula.energy_mwh(hours, power, pue)

        # Carbon intensity.
        prov_idx = np.broadcast_to(f.provider_idx, shape)
        ci_sd = np.sqrt(p["ci_sigma"][:, None] ** 2 + f.ci_extra_sd.astype(np.float32) ** 2)
        prov = self._effect("ci_provider", "provider", prov_idx, "ci_provider_sigma", rng, shape, zshape)
        ci_draw = np.exp(f.log_ci_centre.astype(np.float32) + p["ci_offset"][:, None] + prov + ci_sd * z())
        ci = np.where(np.isnan(f.ci_given), ci_draw, f.ci_given)
        co2 = formula.co2_t(energy, ci)

        if label_noise:
            nu = float(self.fixed["noise.nu"])
            sigma = np.where(measured, np.float32(self.fixed["noise.measured_sigma"]), p["nominal_sigma"][:, None])
            chi = np.broadcast_to(rng.standard_gamma(nu / 2, zshape, dtype=np.float32), shape)
            eps = np.exp(sigma * np.clip(z() * np.sqrt(nu / (2 * chi)), -T_CLIP, T_CLIP))
            energy = energy * eps
            co2 = co2 * eps
        return Simulation(energy_mwh=np.asarray(energy), co2_t=np.asarray(co2), device_hours=np.asarray(hours),
                          power_w=np.asarray(power), pue=np.asarray(pue), carbon_intensity=np.asarray(ci),
                          training_flops=flops, hardware_idx=hw, notes=notes)

    def _family_slope(self, fam, rng, shape, zshape=None):
        """Size slope of the power fraction per hardware family (new-group draw if unfitted)."""
        post_idx = self._level_map["family"][fam]
        out = np.take_along_axis(self.p["rho_slope"], np.maximum(post_idx, 0), axis=1)
        new = post_idx < 0
        if np.any(new):
            z = rng.standard_normal(zshape or shape, dtype=np.float32)
            out = np.where(new, self.p["rho_slope_mu"][:, None] + self.p["rho_slope_sigma"][:, None] * z, out)
        return out

    def _slope(self, gen, rng, shape, zshape=None):
        table = self.p["u_slope"]
        post_idx = self._level_map["generation"][gen]
        out = np.take_along_axis(table, np.maximum(post_idx, 0), axis=1)
        new = post_idx < 0
        if np.any(new):
            z = rng.standard_normal(zshape or shape, dtype=np.float32)
            out = np.where(new, self.p["u_slope_mu"][:, None] + self.p["u_slope_sigma"][:, None] * z, out)
        return out

    def _extrapolation_notes(self, f: design.RunFeatures, notes) -> None:
        obs = self.observed
        if not obs:
            return
        lo, hi = obs.get("log10_params_range", (-np.inf, np.inf))
        y0, y1 = obs.get("year_range", (-np.inf, np.inf))
        seen_gen = set(obs.get("generation", []))
        for i in range(f.n):
            lp = f.log10_params[i]
            if not np.isnan(lp) and (lp < lo - 0.5 or lp > hi + 0.5):
                notes[i].append(f"extrapolation: {10 ** lp:.3g} parameters is outside the fitted range "
                                f"({10 ** lo:.2g}-{10 ** hi:.2g})")
            if f.year[i] > y1 + 1 or f.year[i] < y0 - 1:
                notes[i].append(f"extrapolation: year {int(f.year[i])} is outside the fitted years ({y0}-{y1})")
            if f.hardware[i] and f.gen_idx[i] >= 0 and self.levels.generation[f.gen_idx[i]] not in seen_gen:
                notes[i].append(f"extrapolation: no fitted run used a {self.levels.generation[f.gen_idx[i]]} "
                                "accelerator; its utilisation effect is a new-group draw")
