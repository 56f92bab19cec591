"""Reference tables shipped in ``priors/``.

Accelerators, countries, grid and cloud-region carbon intensity, PUE priors, hardware use by
year and compute priors.

Every loader reads its file once (``functools.lru_cache``) through
:func:`carbon_bayes.resources.priors_path`; nothing here reads the reference-data folder the
tables are derived from, or the network.
Lookups accept the spellings people and datasets use and raise
:class:`~carbon_bayes.errors.InputError` naming the field, the value and a fix (with
"did you mean" suggestions) when a name is unknown.

One module per table: :mod:`.hardware` (accelerators, hardware by year), :mod:`.grid`
(countries, grid intensity), :mod:`.regions` (cloud regions), :mod:`.pue`, :mod:`.compute`;
:mod:`._common` holds the name normalisation they share.

Units: TDP in W, peaks in FLOP/s (the CSV stores TFLOP/s), carbon intensity in kg CO2e/kWh,
PUE dimensionless.
"""

from .compute import compute_prior, compute_prior_coefficients, params_prior
from .grid import (
    AGGREGATES,
    CONTINENTS,
    continent_of,
    country_name,
    grid_intensity,
    grid_intensity_many,
    resolve_country,
)
from .hardware import PRECISIONS, accelerator_rows, accelerators, hardware_mix, peak_flops, resolve_hardware
from .pue import pue_prior
from .regions import (
    PROVIDERS,
    CloudRegion,
    location_mixture,
    location_weights,
    provider_of_region,
    region_intensity,
    resolve_region,
)

__all__ = [
    "AGGREGATES",
    "CONTINENTS",
    "PRECISIONS",
    "PROVIDERS",
    "CloudRegion",
    "accelerator_rows",
    "accelerators",
    "compute_prior",
    "compute_prior_coefficients",
    "continent_of",
    "country_name",
    "grid_intensity",
    "grid_intensity_many",
    "hardware_mix",
    "location_mixture",
    "location_weights",
    "params_prior",
    "peak_flops",
    "provider_of_region",
    "pue_prior",
    "region_intensity",
    "resolve_country",
    "resolve_hardware",
    "resolve_region",
]
