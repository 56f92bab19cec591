"""Prediction without MCMC: push posterior draws through the physical chain with numpy.

For each run and each posterior draw the predictor draws the run's own utilisation and
power fraction around the learned group effects (new-group draws for levels the fit never
saw), samples every input the user did not give from its prior (hardware from what runs of
that year used, size and compute from Epoch AI regressions, PUE by provider and year,
carbon intensity around the grid average of the region, country or world), evaluates
:mod:`carbon_bayes.formula` and the shared statistical blocks of :mod:`carbon_bayes.blocks`
(the same functions the PyMC graph calls), and adds the label noise of the requested energy
basis. Every random number comes from :class:`~carbon_bayes.streams.Streams`, keyed by run.
Importing this module does not import PyMC or PyTensor.
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from carbon_bayes import blocks, design, effects, formula, reference
from carbon_bayes.contract import largest_value
from carbon_bayes.posterior import Posterior, load_posterior
from carbon_bayes.streams import Streams

if TYPE_CHECKING:
    from pathlib import Path

_CACHE: dict[tuple, Predictor] = {}


#: Drawn carbon intensities are capped at the input contract's largest value (kg CO2e/kWh, the
#: dirtiest grids): a heavy-tailed draw on a poorly known operator must not reach 1,000 kg/kWh.
CI_MAX = largest_value("carbon_intensity")


@functools.lru_cache(maxsize=64)
def _resolved(path: str, cwd: str) -> str:
    """Return ``path`` resolved from ``cwd`` (cached: every estimate looks its posterior up)."""
    from pathlib import Path

    return str((Path(cwd) / path).resolve())


def get_predictor(posterior: str | Path | Posterior | Predictor | None = None) -> Predictor:
    """Return a (cached) predictor for a posterior path, a loaded :class:`Posterior`, or the default."""
    if isinstance(posterior, Predictor):
        return posterior
    if isinstance(posterior, Posterior):
        return Predictor(posterior)
    from pathlib import Path

    from carbon_bayes.resources import default_posterior_path

    given: object = posterior  # callers pass anything: refuse what is not a path
    if given is not None and not isinstance(given, (str, os.PathLike)):
        from carbon_bayes.errors import InputError

        raise InputError("posterior", posterior, "give the path of a posterior file (.nc), a loaded Posterior, "
                         "or leave it unset for the shipped posterior")
    if isinstance(given, str) and not given.strip():
        from carbon_bayes.errors import InputError

        raise InputError("posterior", posterior, "give the path of a posterior file (.nc), or leave it unset for the "
                         "shipped posterior")
    path = Path(posterior) if posterior is not None else default_posterior_path()
    key = (_resolved(str(path), os.getcwd()), path.stat().st_mtime_ns if path.exists() else 0)
    if key not in _CACHE:
        if len(_CACHE) > 8:
            _CACHE.clear()
        _CACHE[key] = Predictor(load_posterior(path))
    return _CACHE[key]


class _Multipliers(dict):
    """The multipliers of per-level slopes (``scale``, ``power_scale``) of some runs, computed on first use."""

    def __init__(self, sc: np.ndarray, cols: np.ndarray, structure: dict):
        super().__init__()
        self._sc, self._cols, self._structure = sc, cols, structure

    def __missing__(self, key: str) -> np.ndarray:
        if key == "scale":
            value = self._sc[:, self._cols]
        elif key == "power_scale":
            value = design.power_scale(self["scale"], self._structure)
        else:
            raise KeyError(key)
        self[key] = value
        return value


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
    """

    def __init__(self, posterior: Posterior):
        self.posterior = posterior
        self._all = {k: v.astype(np.float32) for k, v in posterior.draws.items()}
        self._by_draws: dict[int, dict[str, np.ndarray]] = {}
        self._lock = threading.Lock()
        cfg = posterior.model_config
        self.structure = cfg["structure"]
        self.fixed = cfg["fixed"]
        self.observed = cfg.get("observed", {})
        post_levels = posterior.levels
        self.levels = design.model_levels(self.structure, post_levels.get("operator", ()))
        # Map the package's current levels onto the posterior's (unseen ones -> new-group draws).
        self._level_map = {d: np.array([post_levels[d].index(v) if v in post_levels[d] else -1
                                        for v in getattr(self.levels, d)])
                           for d in effects.DIMS}
        hw = design.hardware_table(self.levels)
        self.hw_ids, self.hw_pos = hw.ids, hw.pos
        #: Posterior level of each accelerator's generation and family (-1: a level the fit lacks).
        self._hw_post = {"generation": self._level_map["generation"][hw.gen_idx],
                         "family": self._level_map["family"][hw.fam_idx]}
        self.tdp = hw.tdp_w.astype(np.float32)
        self.tdp_sd = hw.tdp_log_sd.astype(np.float32)
        self.peak = hw.peak_flops.astype(np.float32)
        self.hw_gen = hw.gen_idx
        self.hw_fam = hw.fam_idx
        self.unknown_sd = float(self.fixed["intensity.unknown_location_sigma"])
        #: Posteriors updated with a user's measurements describe runs on that user's cluster.
        self.cluster = cfg.get("default_cluster")

    @property
    def n_posterior_draws(self) -> int:
        """Number of draws in the posterior."""
        return self.posterior.n_draws

    def draws(self, n_draws: int) -> dict[str, np.ndarray]:
        """Posterior draws for ``n_draws`` predictive draws.

        Evenly thinned when there are more posterior draws; when there are fewer, each posterior
        draw is used equally often (to within one), each time with fresh noise. The last few counts
        are cached (thread-safe: batches of one estimate run in threads).
        """
        with self._lock:
            hit = self._by_draws.pop(n_draws, None)
            if hit is None:
                total = self.n_posterior_draws
                idx = (np.linspace(0, total - 1, n_draws).round().astype(int) if n_draws <= total
                       else (np.arange(n_draws) * total) // n_draws)
                hit = {k: v[idx] for k, v in self._all.items()}
            self._by_draws[n_draws] = hit  # most recently used last
            while len(self._by_draws) > 4:
                self._by_draws.pop(next(iter(self._by_draws)))
            return hit

    # ------------------------------------------------------------------ helpers
    def _lookup(self, p: dict[str, np.ndarray], name: str, dim: str,
                idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior draws of a per-level table at level indices ``idx``, and the unknown levels.

        ``idx`` indexes the package's levels, (k,) or (S, k); the mask marks levels the posterior
        does not know (index -1: a level the fit's levels lack).
        """
        post_idx = np.where(idx >= 0, self._level_map[dim][np.maximum(idx, 0)], -1)
        safe = np.maximum(post_idx, 0)
        table = p[name]
        out = table[:, safe] if safe.ndim == 1 else np.take_along_axis(table, safe, axis=1)
        return out, post_idx < 0

    def _effect_at(self, p: dict[str, np.ndarray], noise: Streams, cols: np.ndarray, f: design.RunFeatures,
                   hw: np.ndarray) -> blocks.EffectAt:
        """``effect(e)`` for :mod:`carbon_bayes.blocks`: effect ``e`` per (draw, run) at the runs' levels.

        A new-group draw (mean + sigma z) where the posterior does not know the level.
        """
        levels: dict[str, np.ndarray] = {}

        def at(e: effects.Effect) -> np.ndarray:
            if e.dim not in levels:
                levels[e.dim] = self._posterior_levels(e.dim, f, hw, cols)
            post_idx = levels[e.dim]
            safe = np.maximum(post_idx, 0)
            table = p[e.name]
            out = table[:, safe] if safe.ndim == 1 else np.take_along_axis(table, safe, axis=1)
            new = post_idx == -1
            if np.any(new):
                mean = p[e.mean_var][:, None] if e.mean_var else 0.0
                out = np.where(new, mean + p[e.sigma_var][:, None] * noise.normal(e.name, cols, spec=True), out)
            if e.dim in effects.DATA_DIMS:
                out = np.where(post_idx == -2, 0.0, out)
            return out
        return at

    def _posterior_levels(self, dim: str, f: design.RunFeatures, hw: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Posterior level index of runs ``cols`` in ``dim`` (-1 where the posterior lacks the level).

        (S, k) for a hardware dim when a run's hardware is drawn, else (k,) (the same for every draw).
        -2: no effect, for a run with no organisation on a posterior updated with a user's own
        cluster (the cluster effect describes that user's runs, as in the graph).
        """
        if dim in self._hw_post:
            known = f.hw_known[cols]
            return self._hw_post[dim][hw[0, cols] if known.all() else hw[:, cols]]
        if dim == "operator":
            none = (f.operator[cols] == "") & bool(self.cluster)
            return np.where(none, -2, f.operator_idx[cols])
        idx = {"architecture": f.arch_idx, "era": f.era_idx, "provider": f.provider_idx, "task": f.task_idx}[dim][cols]
        return np.where(idx >= 0, self._level_map[dim][np.maximum(idx, 0)], -1)

    def _mult(self, sc: np.ndarray, cols: np.ndarray) -> dict[str, np.ndarray]:
        """Multipliers of per-level slopes for runs ``cols``, the same for every block (as in the graph).

        Each is computed when a block first asks for it (the compute and intensity blocks have no slopes).
        """
        return _Multipliers(sc, cols, self.structure)

    def _sample_hardware(self, f: design.RunFeatures, noise: Streams, notes: list[list[str]]) -> np.ndarray:
        hw = np.empty((noise.S, f.n), dtype=np.int64)
        known = f.hardware != ""
        hw[:, known] = [self.hw_pos[h] for h in f.hardware[known]]
        unknown = np.flatnonzero(~known)
        if len(unknown):
            years = f.year[unknown].astype(int)
            for y in np.unique(years):
                cols = unknown[years == y]
                ids, probs = reference.hardware_mix(int(y))
                pos = np.array([self.hw_pos[i] for i in ids])
                u = noise.uniform("hardware", cols, spec=True)
                hw[:, cols] = pos[np.minimum(np.searchsorted(np.cumsum(probs), u), len(pos) - 1)]
                for c in cols:
                    notes[c].append(f"hardware not given: drawn from what runs of {int(y)} used")
        return hw

    # ------------------------------------------------------------------ the chain
    def features(self, runs: design.Runs) -> design.RunFeatures:
        """Features of schema-normalised ``runs`` at this posterior's levels (what :meth:`simulate` draws from)."""
        return design.run_features(runs, self.levels, self.structure, self.unknown_sd)

    def simulate(self, runs: design.Runs, noise: Streams, *, label_noise: bool = True,
                 features: design.RunFeatures | None = None) -> Simulation:
        """Draw the chain for schema-normalised ``runs`` (see :func:`carbon_bayes.schema.normalise_runs`).

        ``noise`` (a :class:`~carbon_bayes.streams.Streams` with one key per run) gives every random
        number, so a run's draws depend on its key, the seed and the draw index alone. Each node is
        drawn only for the runs that need it (a run with reported hours draws no utilisation, a
        nominal-basis run no power fraction, a given PUE or intensity no draw). ``features``, when
        given, are :meth:`features` of ``runs``, computed once for several passes over them.
        """
        f = self.features(runs) if features is None else features
        if noise.n != f.n:
            raise ValueError(f"noise has keys for {noise.n} runs, the batch has {f.n}")
        notes = [list(n) for n in f.notes]
        p = self.draws(noise.S)
        hw = self._sample_hardware(f, noise, notes)
        tdp = self.tdp[hw]
        sd_cols = np.flatnonzero(np.any(self.tdp_sd[hw] > 0, axis=0))
        if len(sd_cols):
            tdp[:, sd_cols] *= np.exp(self.tdp_sd[hw[:, sd_cols]] * noise.normal("tdp", sd_cols, spec=True))
        log10p = self._size(f, noise, notes)
        sc = design.scale(log10p, self.structure)
        self._extrapolation_notes(f, notes)
        hours, flops = self._hours(f, p, noise, hw, log10p, sc, notes)
        power = self._power(f, p, noise, hw, tdp, sc)
        pue, pue_drawn = self._pue(f, p, noise)
        energy = formula.energy_mwh(hours, power, pue)
        ci = self._intensity(f, p, noise, hw, sc, pue, pue_drawn)
        co2 = formula.co2_t(energy, ci)
        if label_noise:
            cols = np.arange(f.n)
            sigma = np.where(f.energy_basis == "measured", np.float32(self.fixed["noise.measured_sigma"]),
                             p["nominal_sigma"][:, None])
            eps = np.exp(sigma * noise.student_t("label_noise", float(self.fixed["noise.nu"]), cols))
            energy = energy * eps
            co2 = co2 * eps
        return Simulation(energy_mwh=energy, co2_t=co2, device_hours=hours, power_w=power, pue=pue,
                          carbon_intensity=ci, training_flops=flops, hardware_idx=hw, notes=notes)

    def _pue(self, f: design.RunFeatures, p: dict[str, np.ndarray], noise: Streams) -> tuple[np.ndarray, np.ndarray]:
        """PUE per (draw, run): given, or drawn from the provider's prior, and where it was drawn.

        A ``nominal`` figure that does not give its PUE includes one with the learned probability
        ``pue_in_nominal`` (the convention is a latent, as in the graph), else none (PUE 1).
        """
        pue = np.broadcast_to(f.pue_given.astype(np.float32), (noise.S, f.n)).copy()
        drawn = np.zeros((noise.S, f.n), dtype=bool)
        pc = np.flatnonzero(np.isnan(f.pue_given))
        if len(pc):
            pue[:, pc] = blocks.pue(blocks.pue_log_excess_centre(f.pue_centre[pc]).astype(np.float32)
                                    + f.pue_log_sd[pc].astype(np.float32) * noise.normal("pue", pc))
            drawn[:, pc] = True
            mix = pc[f.nominal[pc]]
            if len(mix):
                drawn[:, mix] = noise.uniform("pue_convention", mix, spec=True) < p["pue_in_nominal"][:, None]
                pue[:, mix] = np.where(drawn[:, mix], pue[:, mix], np.float32(1.0))
        return pue, drawn

    def _size(self, f: design.RunFeatures, noise: Streams, notes: list[list[str]]) -> np.ndarray:
        """log10 parameters: given, or drawn from the size prior of the task and year.

        Drawn values are clipped to the contract's range.
        """
        log10p = np.broadcast_to(f.log10_params.astype(np.float32), (noise.S, f.n)).copy()
        miss = np.flatnonzero(np.isnan(f.log10_params))
        for (task, year), idx in design.groups(t=f.task[miss], y=f.year[miss]).items():
            mu, sd = reference.params_prior(task or None, int(year))
            cols = miss[idx]
            log10p[:, cols] = np.clip(mu + sd * noise.normal("log10_params", cols, spec=True), 5.0, 14.0)
        return log10p

    def _hours(self, f: design.RunFeatures, p: dict[str, np.ndarray], noise: Streams, hw: np.ndarray,
               log10p: np.ndarray, sc: np.ndarray, notes: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Device-hours: reported, or compute / (peak x utilisation), compute given, 6ND, or drawn."""
        S, f32 = noise.S, np.float32
        hours = np.empty((S, f.n), dtype=f32)  # float32 throughout: 7 significant digits, half the memory
        known_h = ~np.isnan(f.log_hours)
        hours[:, known_h] = np.exp(f.log_hours[known_h])
        flops = np.broadcast_to(np.exp(f.log_flops).astype(f32), (S, f.n)).copy()
        uc = np.flatnonzero(~known_h)
        if not len(uc):
            return hours, flops
        lin_u = blocks.logit_utilisation_mean(p["u_intercept"][:, None],
                                              self._effect_at(p, noise, uc, f, hw),
                                              self._mult(sc, uc), self._cluster(p, "u_cluster"))
        u = blocks.utilisation(lin_u + p["u_run_sigma"][:, None] * noise.normal("logit_u_run", uc))
        cmiss = np.flatnonzero(np.isnan(f.log_flops[uc]))
        if len(cmiss):
            cols = uc[cmiss]
            ep = design.epoch_compute_coefficients(f.task[cols], f.year[cols])
            task_sum = blocks.effects_sum("compute", self._effect_at(p, noise, cols, f, hw),
                                          self._mult(sc, cols))
            ft = f.finetune[cols]
            mu_c = blocks.compute_log10_mean(ep.T, log10p[:, cols], f.year[cols], p["compute_slope"][:, None],
                                             p["compute_offset"][:, None], task_sum,
                                             blocks.finetune_shift(p["compute_finetune_offset"][:, None], ft))
            sd_c = blocks.compute_log10_sd(p["compute_sigma"][:, None], p["compute_sigma_slope"][:, None], sc[:, cols],
                                           float(self.fixed["compute.finetune_sigma"]) * ft)
            t = noise.student_t("compute_residual", float(self.fixed["compute.nu"]), cols, spec=True)
            flops[:, cols] = f32(10.0) ** np.clip(mu_c + sd_c * t, 12.0, 29.0)  # the contract's range of FLOP
            for c in cols:
                notes[c].append("compute not given: drawn from the compute regression on size, task and year"
                                + (", as a fine-tune's fraction of a pretraining" if f.finetune[c] else ""))
        peak = np.where(f.hw_known[uc] & (f.precision[uc] != ""), np.nan_to_num(f.peak_flops[uc]).astype(f32),
                        self.peak[hw[:, uc]])
        hours[:, uc] = formula.device_hours(flops[:, uc], peak, u)
        return hours, flops

    def _cluster(self, p: dict[str, np.ndarray], name: str) -> np.ndarray | np.float32:
        return p[name][:, None] if name in p else np.float32(0.0)

    def _power(self, f: design.RunFeatures, p: dict[str, np.ndarray], noise: Streams, hw: np.ndarray,
               tdp: np.ndarray, sc: np.ndarray) -> np.ndarray:
        """Power per device: TDP x power fraction (measured basis), TDP (tdp), latent watts (nominal), or as given."""
        power = tdp.copy()
        given_w = ~np.isnan(f.power_w_given)
        rc = np.flatnonzero((f.energy_basis == "measured") & ~given_w)
        if len(rc):
            lin_r = blocks.log_power_fraction_mean(p["rho_intercept"][:, None],
                                                   self._effect_at(p, noise, rc, f, hw),
                                                   self._mult(sc, rc), self._cluster(p, "rho_cluster"))
            share = np.where(f.power_scope[rc] == "gpu", p["gpu_share"][:, None], np.float32(1.0))
            power[:, rc] = blocks.system_power_w(tdp[:, rc], lin_r + p["rho_run_sigma"][:, None]
                                                 * noise.normal("log_rho_run", rc), share)
        nc = np.flatnonzero(f.nominal & ~given_w)
        if len(nc):  # which watts an unstated nominal figure used: a learned spread around the TDP
            power[:, nc] = tdp[:, nc] * np.exp(p["nominal_w_offset"][:, None] + p["nominal_w_sigma"][:, None]
                                               * noise.normal("nominal_watts", nc, spec=True))
        power[:, given_w] = f.power_w_given[given_w]
        return power

    def _intensity(self, f: design.RunFeatures, p: dict[str, np.ndarray], noise: Streams, hw: np.ndarray,
                   sc: np.ndarray, pue: np.ndarray, pue_drawn: np.ndarray) -> np.ndarray:
        """Carbon intensity: given, or around the grid average of the location + the operator's effect.

        The operator's figure-to-figure spread is heavy-tailed (Student-t, as in the model's
        likelihood); the extra spread of an unknown location is the spread across countries. A
        nominal figure with neither PUE nor intensity applies the operator's accounting factor (PUE x
        intensity, drawn as one, as in the likelihood): the intensity is that factor over the run's
        PUE draw, so the figure does not carry the PUE spread twice.
        """
        ci = np.broadcast_to(f.ci_given.astype(np.float32), (noise.S, f.n)).copy()
        cc = np.flatnonzero(np.isnan(f.ci_given))
        if not len(cc):
            return ci
        prov = f.provider_idx[cc]
        spread, new = self._lookup(p, "intensity_spread", "provider", prov)
        if np.any(new):
            drawn = blocks.intensity_spread(float(self.fixed["intensity.sigma_floor"]), p["intensity_sigma"][:, None],
                                            p["intensity_provider_spread"][:, None],
                                            noise.normal("intensity_spread", cc, spec=True))
            spread = np.where(new, drawn, spread)
        effect_sum = blocks.effects_sum("intensity", self._effect_at(p, noise, cc, f, hw),
                                        self._mult(sc, cc))
        log_ci = (blocks.intensity_log_mean(self._grid_centre(f, noise, cc), p["intensity_offset"][:, None],
                                            effect_sum)
                  + spread * noise.student_t("intensity_deviation", float(self.fixed["noise.nu"]), cc))
        # the extra spread of an unknown location; none (sd 0) for a known one, so no draw for it
        extra = np.flatnonzero(f.ci_extra_sd[cc] != 0)
        if len(extra):
            log_ci[:, extra] += f.ci_extra_sd[cc[extra]].astype(np.float32) * noise.normal("intensity_location",
                                                                                          cc[extra])
        fold = np.flatnonzero((f.energy_basis[cc] != "measured") & np.isnan(f.pue_given[cc]))
        if len(fold):
            cols = cc[fold]
            log_ci[:, fold] += np.where(pue_drawn[:, cols], np.log(f.pue_centre[cols]).astype(np.float32)
                                        - np.log(pue[:, cols]), np.float32(0.0))
        ci[:, cc] = np.minimum(np.exp(log_ci), CI_MAX)
        return ci

    def _grid_centre(self, f: design.RunFeatures, noise: Streams, cc: np.ndarray) -> np.ndarray:
        """Log grid intensity per (draw, run) of runs ``cc``: the location's, or a draw of the location mixture.

        A run with no stated place ran in one of the countries that host cloud regions, drawn with
        their weights (:func:`carbon_bayes.reference.location_mixture`), as in the graph.
        """
        centre = np.broadcast_to(f.log_ci_centre[cc].astype(np.float32), (noise.S, len(cc))).copy()
        unknown = np.flatnonzero(f.location_unknown[cc])
        if len(unknown):
            cols = cc[unknown]
            log_w, log_grid = reference.location_mixture(f.year[cols])
            u = noise.uniform("location", cols, spec=True)
            k = np.minimum(np.searchsorted(np.cumsum(np.exp(log_w)), u), len(log_w) - 1)
            centre[:, unknown] = np.take_along_axis(log_grid.T.astype(np.float32), k, axis=0)
        return centre

    def _extrapolation_notes(self, f: design.RunFeatures, notes: list[list[str]]) -> None:
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
        for i in np.flatnonzero((f.operator != "") & (f.operator_idx < 0) & (draws_u | draws_rho)):
            notes[i].append(f"operator {f.operator[i]!r} is not among the organisations of the published runs: "
                            "its utilisation and power effects are drawn as a new organisation's")
