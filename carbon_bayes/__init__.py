"""carbon_bayes: Bayesian estimates, with credible intervals, of the energy and CO2e of training AI models.

Quick start::

    import carbon_bayes as cb
    est = cb.estimate({"parameters": 7e9, "training_tokens": 2e12, "hardware": "A100-80GB",
                       "device_hours": 184320, "country": "US", "year": 2023})
    print(est.to_frame())

``import carbon_bayes`` and ``estimate()`` do not import PyMC; fitting (``CarbonModel``) does.
"""

from __future__ import annotations

from importlib import import_module

from carbon_bayes._version import __version__
from carbon_bayes.constants import CI_KIND, CI_LEVEL
from carbon_bayes.errors import (
    CarbonBayesError,
    CarbonBayesWarning,
    ConvergenceError,
    DataError,
    InputError,
    PosteriorFileError,
)

# Public names resolved on first use, so that importing the package stays light.
_LAZY = {
    "estimate": "carbon_bayes.estimator",
    "Estimate": "carbon_bayes.estimator",
    "normalise_runs": "carbon_bayes.schema",
    "load_training_runs": "carbon_bayes.dataset",
    "load_posterior": "carbon_bayes.posterior",
    "CarbonModel": "carbon_bayes.fitting",
    "baselines": "carbon_bayes.baselines",
    "budget": "carbon_bayes.budget",
    "read_measurements": "carbon_bayes.measurements",
    "cross_validate": "carbon_bayes.validate",
    "formula": "carbon_bayes.formula",
    "reference": "carbon_bayes.reference",
}

__all__ = [
    "__version__", "CI_LEVEL", "CI_KIND", "CarbonBayesError", "CarbonBayesWarning", "ConvergenceError",
    "DataError", "InputError", "PosteriorFileError", *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        module = import_module(_LAZY[name])
        value = getattr(module, name) if hasattr(module, name) else module
        globals()[name] = value
        return value
    raise AttributeError(f"module 'carbon_bayes' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
