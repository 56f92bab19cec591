"""A minimal-numpy version of the predictor's chain: the ceiling ``estimate()`` is measured against.

It does the arithmetic of :meth:`carbon_bayes.predict.Predictor.simulate` for the runs of the
speed benchmark's mix (measured basis; PUE, intensity and watts drawn, not given; the chip's
default precision), reading the same posterior arrays (``Predictor.draws``), with the same draw
counts per run, in the same chunks and threads, and summarises them as ``estimate()`` does
(mean, equal-tailed interval, median and its Monte Carlo error from one partial sort). What it
leaves out is what makes the package's numbers reproducible and safe: its random numbers come
from a numpy ``Generator`` in batch order instead of counter-based streams keyed by each run's
inputs; no notes or warnings; no input checks beyond the package's own normalisation and
features (which it calls, as every estimate must). Its numbers are draws of the same model, not
the package's numbers.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from carbon_bayes import design, reference, schema
from carbon_bayes.constants import CHUNK_ELEMENTS, CI_LEVEL
from carbon_bayes.predict import CI_MAX, Predictor

F32 = np.float32


class _Chunk:
    """One chunk's features, posterior draws and random numbers."""

    def __init__(self, pred: Predictor, f: design.RunFeatures, S: int, seed: int):
        self.pred, self.f, self.S, self.k = pred, f, S, f.n
        self.p = pred.draws(S)
        self.rng = np.random.default_rng(seed)

    def z(self, cols: np.ndarray) -> np.ndarray:
        return self.rng.standard_normal((self.S, len(cols)), dtype=F32)

    def t(self, nu: float, cols: np.ndarray) -> np.ndarray:
        chi2 = self.rng.standard_gamma(nu / 2, (self.S, len(cols)), dtype=F32) * F32(2.0)
        return np.clip(self.z(cols) * np.sqrt(F32(nu) / chi2), -5.0, 5.0)

    def col(self, name: str) -> np.ndarray:
        return self.p[name][:, None]

    def effect(self, name: str, post_idx: np.ndarray, cols: np.ndarray, mean: str | None = None) -> np.ndarray:
        """Posterior draws of a group effect at the runs' levels; a new-group draw where the fit lacks one."""
        safe = np.maximum(post_idx, 0)
        out = self.p[name][:, safe] if safe.ndim == 1 else np.take_along_axis(self.p[name], safe, axis=1)
        new = post_idx < 0
        if new.any():
            out = np.where(new, (self.col(mean) if mean else F32(0.0)) + self.col(f"{name}_sigma") * self.z(cols), out)
        return out

    def level(self, dim: str, cols: np.ndarray, hw: np.ndarray) -> np.ndarray:
        if dim in ("generation", "family"):
            return self.pred._hw_post[dim][hw[:, cols]]
        idx = {"architecture": self.f.arch_idx, "era": self.f.era_idx, "provider": self.f.provider_idx,
               "task": self.f.task_idx}[dim][cols]
        return np.where(idx >= 0, self.pred._level_map[dim][np.maximum(idx, 0)], -1)


def _hardware(c: _Chunk) -> np.ndarray:
    f, hw = c.f, np.empty((c.S, c.k), dtype=np.int64)
    known = f.hardware != ""
    hw[:, known] = [c.pred.hw_pos[h] for h in f.hardware[known]]
    unknown = np.flatnonzero(~known)
    for y in np.unique(f.year[unknown]):
        cols = unknown[f.year[unknown] == y]
        ids, probs = reference.hardware_mix(int(y))
        pos = np.array([c.pred.hw_pos[i] for i in ids])
        hw[:, cols] = pos[np.minimum(np.searchsorted(np.cumsum(probs), c.rng.random((c.S, len(cols)))), len(pos) - 1)]
    return hw


def _size(c: _Chunk) -> np.ndarray:
    f = c.f
    log10p = np.broadcast_to(f.log10_params.astype(F32), (c.S, c.k)).copy()
    miss = np.flatnonzero(np.isnan(f.log10_params))
    for (task, year), idx in design.groups(t=f.task[miss], y=f.year[miss]).items():
        mu, sd = reference.params_prior(task or None, int(year))
        log10p[:, miss[idx]] = np.clip(mu + sd * c.z(idx), 5.0, 14.0)
    return log10p


def _hours(c: _Chunk, hw: np.ndarray, log10p: np.ndarray, sc: np.ndarray) -> np.ndarray:
    f = c.f
    hours = np.empty((c.S, c.k), dtype=F32)
    known = ~np.isnan(f.log_hours)
    hours[:, known] = np.exp(f.log_hours[known])
    uc = np.flatnonzero(~known)
    if not len(uc):
        return hours
    gen = c.level("generation", uc, hw)
    lin = (c.col("u_intercept") + c.effect("u_generation", gen, uc) + c.effect("u_architecture",
           c.level("architecture", uc, hw), uc) + c.effect("u_era", c.level("era", uc, hw), uc)
           + c.effect("u_slope", gen, uc, "u_slope_mu") * sc[:, uc])
    u = 1.0 / (1.0 + np.exp(-(lin + c.col("u_run_sigma") * c.z(uc))))
    flops = np.broadcast_to(np.exp(f.log_flops[uc]).astype(F32), (c.S, len(uc))).copy()
    miss = np.flatnonzero(np.isnan(f.log_flops[uc]))
    if len(miss):
        cols = uc[miss]
        ep = design.epoch_compute_coefficients(f.task[cols], f.year[cols]).T
        mu = (ep[0] + (ep[1] + c.col("compute_slope")) * (log10p[:, cols] - 9.0) + ep[2] * (f.year[cols] - 2020.0)
              + c.col("compute_offset") + c.effect("compute_task", c.level("task", cols, hw), cols))
        sd = c.col("compute_sigma") * np.exp(c.col("compute_sigma_slope") * sc[:, cols])
        flops[:, miss] = F32(10.0) ** np.clip(mu + sd * c.t(float(c.pred.fixed["compute.nu"]), cols), 12.0, 29.0)
    hours[:, uc] = flops / (c.pred.peak[hw[:, uc]] * u * 3600.0)
    return hours


def _power(c: _Chunk, hw: np.ndarray, tdp: np.ndarray, sc: np.ndarray) -> np.ndarray:
    cols = np.arange(c.k)
    fam, gen = c.level("family", cols, hw), c.level("generation", cols, hw)
    lin = (c.col("rho_intercept") + c.effect("rho_family", fam, cols) + c.effect("rho_generation", gen, cols)
           + c.effect("rho_architecture", c.level("architecture", cols, hw), cols)
           + c.effect("rho_era", c.level("era", cols, hw), cols)
           + c.effect("rho_slope", fam, cols, "rho_slope_mu") * design.power_scale(sc, c.pred.structure))
    return tdp * np.exp(lin + c.col("rho_run_sigma") * c.z(cols))


def _intensity(c: _Chunk, hw: np.ndarray) -> np.ndarray:
    f, cols = c.f, np.arange(c.k)
    prov = c.level("provider", cols, hw)
    spread = c.p["intensity_spread"][:, np.maximum(prov, 0)]
    new = prov < 0
    if new.any():  # an operator the fit lacks: its spread drawn from the spread of spreads
        floor = float(c.pred.fixed["intensity.sigma_floor"])
        drawn = np.sqrt(floor ** 2 + (c.col("intensity_sigma") * np.exp(c.col("intensity_provider_spread")
                                                                        * c.z(cols))) ** 2)
        spread = np.where(new, drawn, spread)
    centre = np.broadcast_to(f.log_ci_centre.astype(F32), (c.S, c.k)).copy()
    unknown = np.flatnonzero(f.location_unknown)
    if len(unknown):
        log_w, log_grid = reference.location_mixture(f.year[unknown])
        k = np.minimum(np.searchsorted(np.cumsum(np.exp(log_w)), c.rng.random((c.S, len(unknown)))), len(log_w) - 1)
        centre[:, unknown] = np.take_along_axis(log_grid.T.astype(F32), k, axis=0)
    log_ci = (centre + c.col("intensity_offset") + c.effect("intensity_provider", prov, cols)
              + spread * c.t(float(c.pred.fixed["noise.nu"]), cols))
    extra = np.flatnonzero(f.ci_extra_sd != 0)
    log_ci[:, extra] += f.ci_extra_sd[extra].astype(F32) * c.z(extra)
    return np.minimum(np.exp(log_ci), CI_MAX)


def simulate(pred: Predictor, f: design.RunFeatures, S: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Energy (MWh) and CO2e (t) draws (S x runs) of measured-basis runs with drawn PUE and intensity."""
    c = _Chunk(pred, f, S, seed)
    hw = _hardware(c)
    tdp = pred.tdp[hw]
    sd_cols = np.flatnonzero(np.any(pred.tdp_sd[hw] > 0, axis=0))
    tdp[:, sd_cols] *= np.exp(pred.tdp_sd[hw[:, sd_cols]] * c.z(sd_cols))
    log10p = _size(c)
    sc = design.scale(log10p, pred.structure)
    hours = _hours(c, hw, log10p, sc)
    cols = np.arange(c.k)
    pue = 1.0 + np.exp(np.log(f.pue_centre - 1.0).astype(F32) + f.pue_log_sd.astype(F32) * c.z(cols))
    energy = hours * _power(c, hw, tdp, sc) * pue / 1e6
    eps = np.exp(F32(pred.fixed["noise.measured_sigma"]) * c.t(float(pred.fixed["noise.nu"]), cols))
    return energy * eps, energy * _intensity(c, hw) * eps


def summarise(draws: np.ndarray, ci_level: float = CI_LEVEL) -> dict[str, np.ndarray]:
    """Mean, equal-tailed interval, median and its Monte Carlo error, from one partial sort per run."""
    x = np.ascontiguousarray(draws.T)
    n = x.shape[1]
    d = 0.5 / np.sqrt(n)
    h = (n - 1) * np.array([(1 - ci_level) / 2, 0.5, (1 + ci_level) / 2, 0.5 - d, 0.5 + d])
    lo = np.floor(h).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    part = np.partition(x, np.unique(np.concatenate([lo, hi])), axis=1)
    q = (part[:, lo] + (h - lo) * (part[:, hi] - part[:, lo])).T
    return {"mean": x.mean(axis=1, dtype=np.float64), "lower": q[0], "median": q[1], "upper": q[2],
            "mcse": (q[4] - q[3]) / (2 * q[1])}


def check_mix(inputs: dict[str, np.ndarray]) -> None:
    """Refuse runs outside what this minimal chain covers (it is the benchmark mix's chain, not the package's)."""
    given = [c for c in ("pue", "carbon_intensity", "power_per_device_w") if not np.isnan(inputs[c]).all()]
    if given or (inputs["energy_basis"] != "measured").any() or (inputs["precision"] != "").any() or (
            inputs["power_scope"] != "system").any():
        raise ValueError(f"the minimal chain covers measured-basis runs with drawn PUE, intensity and watts "
                         f"(given: {given})")


def estimate(pred: Predictor, runs, passes: list[np.ndarray], seed: int = 0) -> dict[str, np.ndarray]:
    """Normalise ``runs``, then simulate and summarise each pass (draws per run, 0 = not in that pass).

    ``passes`` are the package's: its first draws by tier, then the more draws its unsteady runs got.
    Chunks of about :data:`CHUNK_ELEMENTS` values run in threads, as the package's do.
    """
    inputs = schema.normalise_columns(runs)
    check_mix(inputs)
    jobs = []
    for per_run in passes:
        for s in np.unique(per_run[per_run > 0]):
            rows = np.flatnonzero(per_run == s)
            size = max(64, CHUNK_ELEMENTS // int(s))
            jobs += [(rows[k:k + size], int(s)) for k in range(0, len(rows), size)]
    out = {"energy_mwh_median": np.full(len(inputs["tier"]), np.nan), "co2_t_median": np.full(len(inputs["tier"]),
                                                                                              np.nan)}

    def run(job: int) -> None:
        rows, s = jobs[job]
        f = design.run_features({c: v[rows] for c, v in inputs.items()}, pred.levels, pred.structure, pred.unknown_sd)
        energy, co2 = simulate(pred, f, s, seed + job)
        out["energy_mwh_median"][rows] = summarise(energy)["median"]
        out["co2_t_median"][rows] = summarise(co2)["median"]

    with ThreadPoolExecutor(min(len(jobs), os.cpu_count() or 1, 4) or 1) as pool:
        list(pool.map(run, range(len(jobs))))
    return out
