"""The registry of the model's variables: every hyperparameter and group effect, declared once.

The prior file (:mod:`carbon_bayes.priorspec`), the PyMC graph (:mod:`carbon_bayes.model`), the
posterior check (:mod:`carbon_bayes.posterior`), the numpy predictor
(:mod:`carbon_bayes.predict`) and the forest plot (:mod:`carbon_bayes.plots`) all read these
tables, so a variable is named in one place. Adding a group effect to the utilisation, power,
compute or intensity block is one :class:`Effect` entry here (plus its scale's prior in
``priors/model_priors.toml``): the graph creates it, the predictor draws it (with a new-group
draw for a level the fit never saw) and the plot shows it (docs/model.md, "Adding an effect").

No PyMC import here.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The prior file's keys that are not the scale or mean of a group effect, by section (the effects'
#: keys are added from :data:`EFFECTS`; :func:`prior_keys`).
BASE_PRIOR_KEYS: dict[str, tuple[str, ...]] = {
    "utilisation": ("intercept", "run_sigma"),
    "power": ("intercept", "run_sigma", "gpu_share"),
    "intensity": ("offset", "sigma", "provider_spread", "sigma_floor", "unknown_location_sigma"),
    "noise": ("measured_sigma", "nominal_sigma", "hours_sigma", "nu"),
    "cluster": ("utilisation_sigma", "power_sigma"),
    "compute": ("offset", "slope", "sigma", "sigma_slope", "nu", "finetune_offset", "finetune_sigma"),
    "conventions": ("pue_in_nominal", "nominal_w_offset", "nominal_w_sigma"),
}

#: Learnable hyperparameters that are not an effect's scale or mean (prior key -> variable in the
#: graph and the posterior). A prior file may fix one of these (``dist = "Fixed"``): it then enters
#: the graph, and the posterior the predictor reads, as a named constant. Hyperparameters listed
#: nowhere here are always fixed (``noise.nu``, ``noise.measured_sigma``, ...) and the predictor reads
#: them from the posterior's ``model_config``.
BASE_HYPERPARAMETERS: dict[str, str] = {
    "utilisation.intercept": "u_intercept",
    "utilisation.run_sigma": "u_run_sigma",
    "power.intercept": "rho_intercept",
    "power.run_sigma": "rho_run_sigma",
    "power.gpu_share": "gpu_share",
    "intensity.offset": "intensity_offset",
    "intensity.sigma": "intensity_sigma",
    "intensity.provider_spread": "intensity_provider_spread",
    "compute.offset": "compute_offset",
    "compute.slope": "compute_slope",
    "compute.sigma": "compute_sigma",
    "compute.sigma_slope": "compute_sigma_slope",
    "compute.finetune_offset": "compute_finetune_offset",
    "noise.nominal_sigma": "nominal_sigma",
    "conventions.pue_in_nominal": "pue_in_nominal",
    "conventions.nominal_w_offset": "nominal_w_offset",
    "conventions.nominal_w_sigma": "nominal_w_sigma",
}

#: Fixed hyperparameters the predictor reads from a posterior's ``model_config``.
FIXED_FOR_PREDICTOR = ("noise.nu", "noise.measured_sigma", "intensity.unknown_location_sigma",
                       "intensity.sigma_floor", "compute.nu", "compute.finetune_sigma")

#: Levels a group effect can be indexed by (the coords of the posterior).
DIMS = ("generation", "family", "architecture", "era", "provider", "task", "operator")

#: Dims whose levels come from the fitted data, not the package (the organisations of the published
#: runs). A run with no level in such a dim has no effect there (a user's own runs, which have their
#: cluster effect instead); a level the posterior does not know gets a new-group draw.
DATA_DIMS = ("operator",)


@dataclass(frozen=True)
class Effect:
    """One group effect of a block's linear predictor.

    Attributes
    ----------
    name
        Variable in the graph and the posterior (dims ``(dim,)``).
    block
        The linear predictor it enters: ``utilisation`` (logit MFU), ``power`` (log power
        fraction), ``compute`` (log10 FLOP) or ``intensity`` (log kg/kWh).
    dim
        The level it is indexed by, one of :data:`DIMS`.
    sigma
        Prior key of its scale (``section.key`` of the prior file); its variable is ``<name>_sigma``.
    mean
        Prior key of its mean (a per-level slope has one), variable ``<name>_mu``; None for a
        zero-mean effect.
    multiplier
        None for an additive effect; ``scale`` (standardised log size) or ``power_scale`` (the
        size term of the power fraction, flat above the knee) for a per-level slope.
    panel
        Forest-plot panel (:func:`carbon_bayes.plots.plot_effects`); None: not plotted.
    centred_when_informed
        Sample ``centre + effect`` directly for levels with at least
        :data:`CENTRED_MIN_FIGURES` informing figures (the intensity operator effect: its figures
        pin that sum, and non-centred it is a curved ridge); others stay non-centred.
    centre
        Prior key of the block offset the centred levels are sampled around.

    How the predictor draws a level the posterior does not know (or that no fitted run used):
    a new-group draw, ``mean + sigma * z`` with ``z ~ Normal(0, 1)``, for every effect.
    """

    name: str
    block: str
    dim: str
    sigma: str
    mean: str | None = None
    multiplier: str | None = None
    panel: str | None = None
    centred_when_informed: bool = False
    centre: str | None = None

    @property
    def sigma_var(self) -> str:
        """Variable of its scale: ``<name>_sigma``."""
        return f"{self.name}_sigma"

    @property
    def mean_var(self) -> str | None:
        """Variable of its mean: ``<name>_mu`` (None for a zero-mean effect)."""
        return f"{self.name}_mu" if self.mean else None


_U = "utilisation (logit MFU)"
_R = "power fraction (log)"

#: Every group effect, in the order of the linear predictors of docs/model.md.
EFFECTS: tuple[Effect, ...] = (
    Effect("u_generation", "utilisation", "generation", "utilisation.generation_sigma", panel=_U),
    Effect("u_architecture", "utilisation", "architecture", "utilisation.architecture_sigma", panel=_U),
    Effect("u_era", "utilisation", "era", "utilisation.era_sigma", panel=_U),
    Effect("u_slope", "utilisation", "generation", "utilisation.slope_sigma", mean="utilisation.slope_mu",
           multiplier="scale"),
    Effect("u_operator", "utilisation", "operator", "utilisation.operator_sigma", panel=_U),
    Effect("rho_family", "power", "family", "power.family_sigma", panel=_R),
    Effect("rho_generation", "power", "generation", "power.generation_sigma", panel=_R),
    Effect("rho_architecture", "power", "architecture", "power.architecture_sigma", panel=_R),
    Effect("rho_era", "power", "era", "power.era_sigma", panel=_R),
    Effect("rho_slope", "power", "family", "power.slope_sigma", mean="power.slope_mu", multiplier="power_scale"),
    Effect("rho_operator", "power", "operator", "power.operator_sigma", panel=_R),
    Effect("compute_task", "compute", "task", "compute.task_sigma"),
    Effect("intensity_provider", "intensity", "provider", "intensity.provider_sigma", centred_when_informed=True,
           centre="intensity.offset"),
)

#: Intercept of each block that has one (the compute and intensity blocks centre on reference priors).
INTERCEPTS = {"utilisation": "u_intercept", "power": "rho_intercept"}

#: An effect with ``centred_when_informed`` is centred for levels with at least this many
#: informing figures; with fewer, centred is a funnel.
CENTRED_MIN_FIGURES = 5

#: Per-level quantities derived from hyperparameters (not group effects): the figure-to-figure
#: spread of each operator's intensities (log scale), ``blocks.intensity_spread``.
DERIVED: dict[str, tuple[str, ...]] = {"intensity_spread": ("provider",)}

#: Effects of a user's own cluster (``carbon-bayes update``): one on each efficiency block, with
#: fixed scales; present only in updated posteriors.
CLUSTER_EFFECTS = {"utilisation": ("u_cluster", "cluster.utilisation_sigma"),
                   "power": ("rho_cluster", "cluster.power_sigma")}

#: Posterior variable names of older files (format 1, before the intensity names were made
#: unambiguous) -> today's names; :func:`carbon_bayes.posterior.posterior_from_tree` renames them.
LEGACY_NAMES = {"ci_offset": "intensity_offset", "ci_sigma": "intensity_sigma", "ci_provider": "intensity_provider",
                "ci_provider_sigma": "intensity_provider_sigma", "ci_sigma_spread": "intensity_provider_spread",
                "ci_sigma_provider": "intensity_spread", "ci_provider_total": "intensity_provider_total"}


def hyperparameters() -> dict[str, str]:
    """Every learnable hyperparameter, prior key -> variable.

    The base ones, and each effect's scale and mean.
    """
    out = dict(BASE_HYPERPARAMETERS)
    for e in EFFECTS:
        out[e.sigma] = e.sigma_var
        if e.mean and e.mean_var is not None:  # mean_var is set exactly when mean is
            out[e.mean] = e.mean_var
    return out


def prior_keys() -> dict[str, tuple[str, ...]]:
    """Every key the prior file must have, by section: the base keys and each effect's."""
    out = {section: list(keys) for section, keys in BASE_PRIOR_KEYS.items()}
    for key in hyperparameters():
        section, name = key.split(".", 1)
        if name not in out.setdefault(section, []):
            out[section].append(name)
    return {section: tuple(keys) for section, keys in out.items()}


def of_block(block: str) -> tuple[Effect, ...]:
    """Return the effects entering ``block``'s linear predictor."""
    return tuple(e for e in EFFECTS if e.block == block)


def predictor_variables() -> dict[str, tuple[str, ...]]:
    """Posterior variables the predictor needs, with their dims after (chain, draw)."""
    out: dict[str, tuple[str, ...]] = {name: () for name in hyperparameters().values()}
    out.update({e.name: (e.dim,) for e in EFFECTS})
    out.update(DERIVED)
    return out


def check_registry() -> None:
    """Fail loudly on an inconsistent registry (run by the tests and at import of the graph)."""
    keys = {f"{section}.{k}" for section, ks in prior_keys().items() for k in ks}
    stray = (set(BASE_HYPERPARAMETERS) | set(FIXED_FOR_PREDICTOR)) - keys
    if stray:
        raise ValueError(f"registry names prior keys the prior file does not have: {sorted(stray)}")
    names = list(hyperparameters().values()) + [e.name for e in EFFECTS] + list(DERIVED)
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"variables declared twice: {sorted(dup)}")
    for e in EFFECTS:
        if e.dim not in DIMS or "." not in e.sigma or (e.mean and "." not in e.mean):
            raise ValueError(f"effect {e.name}: unknown dim, or a prior key that is not section.key")
        if e.block not in ("utilisation", "power", "compute", "intensity"):
            raise ValueError(f"effect {e.name}: unknown block {e.block!r}")
        if e.centre and e.centre not in BASE_HYPERPARAMETERS:
            raise ValueError(f"effect {e.name}: unknown centre {e.centre!r}")
        if e.multiplier not in (None, "scale", "power_scale"):
            raise ValueError(f"effect {e.name}: unknown multiplier {e.multiplier!r}")
