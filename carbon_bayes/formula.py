"""The physical chain from compute to CO2e, written once.

These functions are the single source of truth for the physics. They use only ``*``,
``/`` and ``+`` so that they work unchanged on numpy arrays (the predictor, the
baselines) and on PyTensor tensors (the PyMC model). Units are in the names:

- ``training_flops``: total floating-point operations (FLOP)
- ``peak_flops``: dense peak of one device at the training precision (FLOP/s)
- ``utilisation``: achieved fraction of that peak (model FLOPs utilisation, 0-1)
- ``device_hours``: accelerator-hours (n_devices x wall-clock hours)
- ``tdp_w`` / ``power_w``: watts per device; ``power_fraction`` = average system power per
  device / TDP (host share included; about 0.3-1.4)
- ``pue``: facility power usage effectiveness (>= 1)
- ``energy_mwh``: megawatt-hours
- ``carbon_intensity``: kg CO2e per kWh (numerically t CO2e per MWh)
- ``co2_t``: tonnes CO2e

Types: the first argument of each function sets the kind of the result (a number, a numpy
float array, or a PyTensor tensor); the other arguments are of the same kind or numbers, and
broadcast as numpy and PyTensor broadcast.

Worked example (1,000 A100-hours at 400 W, PUE 1.1, 0.385 kg/kWh)::

    >>> round(co2_t(energy_mwh(1000, 400, 1.1), 0.385) * 1000, 1)  # kg
    169.4
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from pytensor.tensor.variable import TensorVariable

#: What the chain computes on: a number, a numpy float array (the predictor, the baselines) or a
#: PyTensor tensor (the PyMC model).
Q = TypeVar("Q", float, "npt.NDArray[np.floating]", "TensorVariable")

SECONDS_PER_HOUR = 3600.0
W_PER_MW = 1e6
FLOPS_PER_PARAM_TOKEN = 6.0  # forward + backward pass of a dense transformer (Kaplan et al. 2020)


def training_flops(parameters: Q, training_tokens: Q | float) -> Q:
    """Training compute of a transformer, ``6 N D`` (FLOP).

    For mixture-of-experts models pass the *active* parameters per token.
    """
    return FLOPS_PER_PARAM_TOKEN * parameters * training_tokens


def device_hours(training_flops: Q, peak_flops: Q | float, utilisation: Q | float) -> Q:
    """Accelerator-hours needed for ``training_flops`` at ``utilisation`` of ``peak_flops``."""
    return training_flops / (peak_flops * utilisation * SECONDS_PER_HOUR)


def power_w(tdp_w: Q, power_fraction: Q | float) -> Q:
    """Average system power per device (W) = TDP x power fraction."""
    return tdp_w * power_fraction


def energy_mwh(device_hours: Q, power_w: Q | float, pue: Q | float) -> Q:
    """Facility energy (MWh) = device-hours x W per device x PUE / 1e6."""
    return device_hours * power_w * pue / W_PER_MW


def co2_t(energy_mwh: Q, carbon_intensity: Q | float) -> Q:
    """Emissions (t CO2e) = energy (MWh) x carbon intensity (kg/kWh = t/MWh)."""
    return energy_mwh * carbon_intensity


def chain(*, device_hours_: Q, tdp_w: Q, power_fraction: Q | float, pue: Q | float,
          carbon_intensity: Q | float) -> tuple[Q, Q]:
    """Energy (MWh) and CO2e (t) of a run with known device-hours; returns a tuple.

    ``device_hours_`` and ``tdp_w`` are of the same kind (numbers, arrays or tensors).
    """
    e = energy_mwh(device_hours_, power_w(tdp_w, power_fraction), pue)
    return e, co2_t(e, carbon_intensity)
