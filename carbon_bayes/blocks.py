"""The statistical blocks of the model, written once for the PyMC graph and the numpy predictor.

:mod:`carbon_bayes.formula` is the physics; these functions are the statistics around it: the
linear predictors of utilisation, power fraction, compute and carbon intensity, and the
transforms and spreads the graph and the predictor share. Like ``formula`` they use only
arithmetic and numpy ufuncs (``np.exp``, ``np.log``, ``np.sqrt``), which work unchanged on
numpy arrays and on PyTensor tensors; selection (``where``, indexing) is left to the caller.

A block's group effects come from :data:`carbon_bayes.effects.EFFECTS`: the caller passes
``effect(e)``, which returns effect ``e`` at each run's level (the graph indexes its tensors,
the predictor looks up posterior draws or makes new-group draws), and the multipliers of
per-level slopes (``scale``, ``power_scale``).

No PyMC import here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from carbon_bayes import effects, formula

#: What the blocks compute on: a number, a numpy array (the predictor) or a PyTensor tensor (the
#: graph). ``Any``, not a constrained TypeVar: ``np.exp`` of a tensor is typed as an array.
Value = Any
EffectAt = Callable[[effects.Effect], Value]


def effects_sum(block: str, effect: EffectAt, multipliers: Mapping[str, Value]) -> Value:
    """Sum of ``block``'s group effects at each run's levels (slopes times their multiplier)."""
    total: Value = 0.0
    for e in effects.of_block(block):
        value = effect(e)
        total = total + (value * multipliers[e.multiplier] if e.multiplier else value)
    return total


def logit_utilisation_mean(intercept: Value, effect: EffectAt, multipliers: Mapping[str, Value],
                           cluster: Value = 0.0) -> Value:
    """Mean of logit(MFU): ``a_u + u_generation + u_architecture + u_era + u_slope * scale (+ cluster)``."""
    return intercept + effects_sum("utilisation", effect, multipliers) + cluster


def log_power_fraction_mean(intercept: Value, effect: EffectAt, multipliers: Mapping[str, Value],
                            cluster: Value = 0.0) -> Value:
    """Mean of log(power fraction).

    ``a_r + rho_family + rho_generation + rho_architecture + rho_era + rho_slope * power_scale
    (+ cluster)``.
    """
    return intercept + effects_sum("power", effect, multipliers) + cluster


def utilisation(logit_u: Value) -> Value:
    """MFU from its logit (the logistic function)."""
    return 1.0 / (1.0 + np.exp(-logit_u))


def compute_log10_mean(coef: Value, log10_params: Value, year: Value, slope: Value, offset: Value,
                       effect_sum: Value, finetune_shift: Value) -> Value:
    """Mean of log10 FLOP: the Epoch AI regression of the run's task, with the learned terms.

    ``coef`` is (intercept, slope on log10 N - 9, year coefficient), each per run; the learned
    slope shift, offset and task effect are added, and ``finetune_shift`` (the learned fine-tune
    offset for a fine-tune, 0 for a pretraining; :func:`finetune_shift`).
    """
    return (coef[0] + (coef[1] + slope) * (log10_params - 9.0) + coef[2] * (year - 2020.0) + offset
            + effect_sum + finetune_shift)


def finetune_shift(finetune_offset: Value, finetune: Value) -> Value:
    """Shift of log10 FLOP for a fine-tune: its compute as a fraction of a pretraining of that size."""
    return finetune_offset * finetune


def compute_log10_sd(sigma: Value, sigma_slope: Value, scale_: Value, finetune_sd: Value) -> Value:
    """Scale of the log10-FLOP residual (Student-t), growing or shrinking with size.

    ``finetune_sd`` (0 for a pretraining) adds, in quadrature, the spread of fine-tunes' compute
    fractions around their mean.
    """
    return np.sqrt((sigma * np.exp(sigma_slope * scale_)) ** 2 + finetune_sd ** 2)


def pue_log_excess_centre(pue_centre: Value) -> Value:
    """Centre of log(PUE - 1) for a prior centred on ``pue_centre``."""
    return np.log(pue_centre - 1.0)


def pue(log_excess: Value) -> Value:
    """PUE from log(PUE - 1) (so every draw is >= 1)."""
    return 1.0 + np.exp(log_excess)


def system_power_w(tdp_w: Value, log_power_fraction: Value, share: Value = 1.0) -> Value:
    """Average power per device (W) at a power fraction of TDP, times the GPU share of a GPU-only reading."""
    return formula.power_w(tdp_w, np.exp(log_power_fraction) * share)


def intensity_spread(floor: Value, sigma: Value, provider_spread: Value, z: Value) -> Value:
    """Compute an operator's figure-to-figure spread of log intensity.

    ``sqrt(floor^2 + (sigma exp(spread z))^2)``.
    """
    return np.sqrt(floor ** 2 + (sigma * np.exp(provider_spread * z)) ** 2)


def intensity_log_mean(log_grid_centre: Value, offset: Value, effect_sum: Value) -> Value:
    """Mean log carbon intensity (kg/kWh) behind a figure: grid centre + offset + the operator's effect."""
    return log_grid_centre + offset + effect_sum


def label_log_sd(noise_sigma: Value, round_sd: Value) -> Value:
    """Scale of a published figure's log-scale noise: the basis's noise and the printed rounding."""
    return np.sqrt(noise_sigma ** 2 + round_sd ** 2)


def student_t(normal: Value, chi2: Value, nu: float) -> Value:
    """Combine a standard normal and a chi-square(nu) draw into a Student-t draw with ``nu`` degrees of freedom."""
    return normal * np.sqrt(nu / chi2)
