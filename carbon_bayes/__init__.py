"""carbon_bayes: Bayesian estimates, with credible intervals, of the energy and CO2e of training AI models.

Quick start::

    import carbon_bayes as cb
    est = cb.estimate({"parameters": 7e9, "training_tokens": 2e12, "hardware": "A100-80GB",
                       "device_hours": 184320, "country": "US", "year": 2023})
    print(est.to_frame())

``import carbon_bayes`` and ``estimate()`` do not import PyMC; fitting (``CarbonModel``) does.
The names below (:data:`__all__`) are functions, classes, exceptions and constants; the modules
(``carbon_bayes.report``, ``carbon_bayes.forecast``, ``carbon_bayes.formula``, ...) are imported
as submodules, e.g. ``from carbon_bayes.report import report``.
"""

from __future__ import annotations

from importlib import import_module

from carbon_bayes._version import __version__
from carbon_bayes.constants import CI_LEVEL, INTERVAL_KIND
from carbon_bayes.errors import (
    CarbonBayesError,
    CarbonBayesWarning,
    ConvergenceError,
    DataError,
    InputError,
    PosteriorFileError,
)

# Public names resolved on first use (from the module named), so that importing the package stays light.
_LAZY = {
    # estimates
    "estimate": "carbon_bayes.estimator",
    "Estimate": "carbon_bayes.estimator",
    "normalise_runs": "carbon_bayes.schema",
    "estimate_chunks": "carbon_bayes.chunked",
    "iter_estimates": "carbon_bayes.chunked",
    # budgets and what to find out next
    "plan": "carbon_bayes.budget",
    "sweep": "carbon_bayes.budget",
    "SweepResult": "carbon_bayes.budget",
    "prob_exceeds": "carbon_bayes.risk",
    "carbon_at_risk": "carbon_bayes.risk",
    "expected_shortfall": "carbon_bayes.risk",
    "value_of_information": "carbon_bayes.voi",
    # data, posteriors, fitting, updating and validation
    "load_training_runs": "carbon_bayes.dataset",
    "load_posterior": "carbon_bayes.posterior",
    "CarbonModel": "carbon_bayes.fitting",
    "read_measurements": "carbon_bayes.measurements",
    "update_from_measurements": "carbon_bayes.measurements",
    "cross_validate": "carbon_bayes.validate",
}

__all__ = [
    "__version__", "CI_LEVEL", "INTERVAL_KIND",
    "CarbonBayesError", "CarbonBayesWarning", "ConvergenceError", "DataError", "InputError", "PosteriorFileError",
    *_LAZY,
]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name == "CI_KIND":  # renamed INTERVAL_KIND: "CI" also abbreviates carbon intensity
        from carbon_bayes._compat import deprecated_module_attribute

        return deprecated_module_attribute("carbon_bayes", "CI_KIND", "INTERVAL_KIND", INTERVAL_KIND)
    import pkgutil

    if name in {m.name for m in pkgutil.iter_modules(__path__)}:
        raise AttributeError(f"module 'carbon_bayes' has no attribute {name!r}; it is a submodule: "
                             f"import carbon_bayes.{name} (or from carbon_bayes.{name} import ...)")
    raise AttributeError(f"module 'carbon_bayes' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
