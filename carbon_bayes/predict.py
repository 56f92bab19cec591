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

from dataclasses import dataclass

import numpy as np
import pandas as pd

from carbon_bayes import design, formula, reference, schema
from carbon_bayes.constants import N_DRAWS
from carbon_bayes.posterior import Posterior, load_posterior

_CACHE: dict[tuple, "Predictor"] = {}
#: Student-t draws (label noise, compute residual, intensity deviation) are truncated at +-T_CLIP
#: scale units: the exponential of an untruncated t has no mean, and P(|t_4| > 5) is 0.7%.
T_CLIP = 5.0
#: Drawn carbon intensities are capped at the input contract's largest value (kg CO2e/kWh, the
#: dirtiest grids): a heavy-tailed draw on a poorly known operator must not reach 1,000 kg/kWh.
CI_MAX = next(c.upper for c in schema.COLUMNS if c.name == "carbon_intensity")


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
        hw = design.hardware_table(self.levels)
        self.hw_ids, self.hw_pos = hw.ids, hw.pos
        self.tdp = hw.tdp_w.astype(np.float32)
        self.tdp_sd = hw.tdp_log_sd.astype(np.float32)
        self.peak = hw.peak_flops.astype(np.float32)
        self.hw_gen = hw.gen_idx
        self.hw_fam = hw.fam_idx
        self.unknown_sd = float(self.fixed["intensity.unknown_location_sigma"])
        #: Posteriors updated with a user's measurements describe runs on that user's cluster.
        self.cluster = cfg.get("default_cluster")
        self.u_cluster = self.p.get("u_cluster", np.zeros(self.S, dtype=np.float32))[:, None]
        self.rho_cluster = self.p.get("rho_cluster", np.zeros(self.S, dtype=np.float32))[:, None]

    # ------------------------------------------------------------------ helpers
    def _lookup(self, name: str, dim: str, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior draws of a per-level table at level indices ``idx`` (the package's levels;
        (k,) or (S, k)), and a mask of levels the posterior does not know (-1 or unfitted)."""
        post_idx = np.where(idx >= 0, self._level_map[dim][np.maximum(idx, 0)], -1)
        safe = np.maximum(post_idx, 0)
        table = self.p[name]
        out = table[:, safe] if safe.ndim == 1 else np.take_along_axis(table, safe, axis=1)
        return out, post_idx < 0

    def _effect(self, name, dim, idx, sigma_name, z, mean_name=None):
        """Group effect per (draw, run); a new-group draw (mean + sigma z) for unknown levels."""
        out, new = self._lookup(name, dim, idx)
        if np.any(new):
            mean = self.p[mean_name][:, None] if mean_name else 0.0
            out = np.where(new, mean + self.p[sigma_name][:, None] * z(), out)
        return out

    def _sample_hardware(self, f: design.RunFeatures, rng, S: int, notes, shared: bool) -> np.ndarray:
        hw = np.empty((S, f.n), dtype=np.int64)
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

    def _student_t(self, nu: float, normal: np.ndarray, rng, shape) -> np.ndarray:
        chi = rng.standard_gamma(nu / 2, shape, dtype=np.float32)
        return np.clip(normal * np.sqrt(nu / (2 * chi)), -T_CLIP, T_CLIP)

    # ------------------------------------------------------------------ main
    def simulate(self, runs: pd.DataFrame, rng: np.random.Generator, *, shared_noise: bool = False,
                 label_noise: bool = True) -> Simulation:
        """Draw the chain for schema-normalised ``runs`` (see :func:`carbon_bayes.schema.normalise_runs`).

        Each node is drawn only for the runs that need it (a run with reported hours draws no
        utilisation, a nominal-basis run no power fraction, a given PUE or intensity no draw).
        With ``shared_noise`` every run uses the same random numbers for each node (common
        random numbers), so differences between runs come from their inputs only.
        """
        f = design.run_features(runs, self.levels, self.structure, self.unknown_sd)
        notes = [list(n) for n in f.notes]
        S, N = self.S, f.n
        p = self.p
        f32 = np.float32

        def normals(k: int):
            """A factory of (S, k) standard normals (shared across runs if asked)."""
            def draw():
                if shared_noise:
                    return np.broadcast_to(rng.standard_normal((S, 1), dtype=f32), (S, k))
                return rng.standard_normal((S, k), dtype=f32)
            return draw

        hw = self._sample_hardware(f, rng, S, notes, shared_noise)
        tdp = self.tdp[hw]
        sd_cols = np.flatnonzero(np.any(self.tdp_sd[hw] > 0, axis=0))
        if len(sd_cols):
            tdp[:, sd_cols] *= np.exp(self.tdp_sd[hw[:, sd_cols]] * normals(len(sd_cols))())

        # Size: given, or drawn from the size prior of the task and year (clipped to the contract's range).
        log10p = np.broadcast_to(f.log10_params.astype(f32), (S, N)).copy()
        miss = np.flatnonzero(np.isnan(f.log10_params))
        if len(miss):
            for (task, year), idx in design.groups(t=f.task[miss], y=f.year[miss]).items():
                mu, sd = reference.params_prior(task or None, int(year))
                cols = miss[idx]
                log10p[:, cols] = np.clip(mu + sd * normals(len(cols))(), 5.0, 14.0)
        sc = design.scale(log10p, self.structure)
        self._extrapolation_notes(f, notes)

        # Device-hours: reported, or compute / (peak x utilisation) with compute given, 6ND, or drawn.
        hours = np.empty((S, N), dtype=f32)  # float32 throughout: 7 significant digits, half the memory
        known_h = ~np.isnan(f.log_hours)
        hours[:, known_h] = np.exp(f.log_hours[known_h])
        uc = np.flatnonzero(~known_h)
        flops = np.broadcast_to(np.exp(f.log_flops).astype(f32), (S, N)).copy()
        if len(uc):
            k = len(uc)
            zk = normals(k)
            gen = self.hw_gen[hw[:, uc]]
            logit_u = (p["u_intercept"][:, None]
                       + self._effect("u_generation", "generation", gen, "u_generation_sigma", zk)
                       + self._effect("u_architecture", "architecture", f.arch_idx[uc], "u_architecture_sigma", zk)
                       + self._effect("u_era", "era", f.era_idx[uc], "u_era_sigma", zk)
                       + self._effect("u_slope", "generation", gen, "u_slope_sigma", zk, "u_slope_mu") * sc[:, uc]
                       + self.u_cluster + p["u_run_sigma"][:, None] * zk())
            u = 1.0 / (1.0 + np.exp(-logit_u))
            cmiss = np.flatnonzero(np.isnan(f.log_flops[uc]))
            if len(cmiss):
                cols = uc[cmiss]
                zc = normals(len(cols))
                ep = design.epoch_compute_coefficients(f.task[cols], f.year[cols])
                task_eff = self._effect("compute_task", "task", f.task_idx[cols], "compute_task_sigma", zc)
                scale_c = p["compute_sigma"][:, None] * np.exp(p["compute_sigma_slope"][:, None] * sc[:, cols])
                t = self._student_t(float(self.fixed["compute.nu"]), zc(), rng, zc().shape)
                log10c = (ep[:, 0] + (ep[:, 1] + p["compute_slope"][:, None]) * (log10p[:, cols] - 9.0)
                          + ep[:, 2] * (f.year[cols] - 2020.0) + p["compute_offset"][:, None] + task_eff
                          + scale_c * t)
                flops[:, cols] = f32(10.0) ** np.clip(log10c, 12.0, 29.0)  # the input contract's range of FLOP
                for c in cols:
                    notes[c].append("compute not given: drawn from the compute regression on size, task and year")
            peak = np.where(f.hw_known[uc] & (f.precision[uc] != ""), np.nan_to_num(f.peak_flops[uc]).astype(f32),
                            self.peak[hw[:, uc]])
            hours[:, uc] = formula.device_hours(flops[:, uc], peak, u)

        # Power per device: TDP x power fraction (measured basis), TDP (nominal), or as given.
        power = tdp.copy()
        given_w = ~np.isnan(f.power_w_given)
        rc = np.flatnonzero((f.energy_basis == "measured") & ~given_w)
        if len(rc):
            zr = normals(len(rc))
            fam = self.hw_fam[hw[:, rc]]
            lin_r = (p["rho_intercept"][:, None]
                     + self._effect("rho_family", "family", fam, "rho_family_sigma", zr)
                     + self._effect("rho_generation", "generation", self.hw_gen[hw[:, rc]], "rho_generation_sigma", zr)
                     + self._effect("rho_architecture", "architecture", f.arch_idx[rc], "rho_architecture_sigma", zr)
                     + self._effect("rho_era", "era", f.era_idx[rc], "rho_era_sigma", zr)
                     + self._effect("rho_slope", "family", fam, "rho_slope_sigma", zr, "rho_slope_mu")
                     * design.power_scale(sc[:, rc], self.structure)
                     + self.rho_cluster + p["rho_run_sigma"][:, None] * zr())
            share = np.where(f.power_scope[rc] == "gpu", p["gpu_share"][:, None], f32(1.0))
            power[:, rc] = formula.power_w(tdp[:, rc], np.exp(lin_r) * share)
        power[:, given_w] = f.power_w_given[given_w]

        # PUE: given, or drawn by operator and year.
        pue = np.broadcast_to(f.pue_given.astype(f32), (S, N)).copy()
        pc = np.flatnonzero(np.isnan(f.pue_given))
        if len(pc):
            pue[:, pc] = 1.0 + np.exp(np.log(f.pue_centre[pc] - 1.0).astype(f32) + f.pue_log_sd[pc].astype(f32)
                                      * normals(len(pc))())

        energy = formula.energy_mwh(hours, power, pue)

        # Carbon intensity: given, or around the grid average of the location + the operator's effect.
        ci = np.broadcast_to(f.ci_given.astype(f32), (S, N)).copy()
        cc = np.flatnonzero(np.isnan(f.ci_given))
        if len(cc):
            zi = normals(len(cc))
            prov = f.provider_idx[cc]
            sd_p, new = self._lookup("ci_sigma_provider", "provider", prov)
            if np.any(new):
                floor = float(self.fixed["intensity.sigma_floor"])
                drawn = np.sqrt(floor ** 2 + (p["ci_sigma"][:, None] * np.exp(p["ci_sigma_spread"][:, None] * zi())) ** 2)
                sd_p = np.where(new, drawn, sd_p)
            # The operator's figure-to-figure spread is heavy-tailed (Student-t, as in the model's
            # likelihood); the extra spread of an unknown location is the spread across countries.
            t_ci = self._student_t(float(self.fixed["noise.nu"]), zi(), rng,
                                   (S, 1) if shared_noise else (S, len(cc)))
            log_ci = (f.log_ci_centre[cc].astype(f32) + p["ci_offset"][:, None]
                      + self._effect("ci_provider", "provider", prov, "ci_provider_sigma", zi)
                      + sd_p * t_ci + f.ci_extra_sd[cc].astype(f32) * zi())
            # A nominal figure with neither PUE nor intensity applies the operator's accounting factor
            # (PUE x intensity, drawn as one, as in the model's likelihood): the intensity is that
            # factor over the run's PUE draw, so the figure does not carry the PUE spread twice.
            fold = np.flatnonzero((f.energy_basis[cc] == "tdp") & np.isnan(f.pue_given[cc]))
            if len(fold):
                log_ci[:, fold] += np.log(f.pue_centre[cc[fold]]).astype(f32) - np.log(pue[:, cc[fold]])
            ci[:, cc] = np.minimum(np.exp(log_ci), CI_MAX)
        co2 = formula.co2_t(energy, ci)

        if label_noise:
            zn = normals(N)
            sigma = np.where(f.energy_basis == "measured", f32(self.fixed["noise.measured_sigma"]),
                             p["nominal_sigma"][:, None])
            eps = np.exp(sigma * self._student_t(float(self.fixed["noise.nu"]), zn(), rng, (S, 1) if shared_noise
                                                 else (S, N)))
            energy = energy * eps
            co2 = co2 * eps
        return Simulation(energy_mwh=energy, co2_t=co2, device_hours=hours, power_w=power, pue=pue,
                          carbon_intensity=ci, training_flops=flops, hardware_idx=hw, notes=notes)

    def _extrapolation_notes(self, f: design.RunFeatures, notes) -> None:
        """Warn where a run is outside what the fit saw (size, year, hardware it draws effects for)."""
        obs = self.observed
        if not obs:
            return
        lo, hi = obs.get("log10_params_range", (-np.inf, np.inf))
        y0, y1 = obs.get("year_range", (-np.inf, np.inf))
        lp = f.log10_params
        for i in np.flatnonzero(~np.isnan(lp) & ((lp < lo - 0.5) | (lp > hi + 0.5))):
            notes[i].append(f"extrapolation: {10 ** lp[i]:.3g} parameters is outside the fitted range "
                            f"({10 ** lo:.2g}-{10 ** hi:.2g})")
        for i in np.flatnonzero((f.year > y1 + 1) | (f.year < y0 - 1)):
            notes[i].append(f"extrapolation: year {int(f.year[i])} is outside the fitted years ({y0}-{y1})")
        seen_gen, seen_fam = set(obs.get("generation", [])), set(obs.get("family", []))
        draws_u = np.isnan(f.log_hours)
        draws_rho = (f.energy_basis == "measured") & np.isnan(f.power_w_given)
        for i in np.flatnonzero(f.hw_known & (draws_u | draws_rho)):
            gen, fam = self.levels.generation[f.gen_idx[i]], self.levels.family[f.fam_idx[i]]
            if draws_u[i] and gen not in seen_gen:
                notes[i].append(f"extrapolation: no fitted run used a {gen} accelerator; its utilisation effect "
                                "is a new-group draw")
            if draws_rho[i] and fam not in seen_fam:
                notes[i].append(f"extrapolation: no fitted run used {fam} hardware; its power-fraction effect is "
                                "a new-group draw")
