"""Cloud regions (``priors/cloud_regions.csv``): name resolution and carbon intensity.

The carbon intensity of a region in a year is Google's own value for GCP and the grid of its
country otherwise, in kg CO2e/kWh.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

import numpy as np

from ..errors import DataError, InputError
from ._common import _as_year, _did_you_mean, _norm, _number, _quote_list, _read_records, _split_list, _year
from .grid import grid_intensity

PROVIDERS = ("aws", "gcp", "azure")

_CLOUD_PROVIDER_ALIASES = {
    "aws": "aws", "amazon": "aws", "ec2": "aws", "amazonwebservices": "aws",
    "gcp": "gcp", "google": "gcp", "googlecloud": "gcp", "gce": "gcp", "googlecloudplatform": "gcp",
    "azure": "azure", "microsoft": "azure", "microsoftazure": "azure", "msft": "azure",
}


@dataclass(frozen=True)
class CloudRegion:
    """A cloud region.

    Attributes
    ----------
    provider
        ``aws``, ``gcp`` or ``azure``.
    region
        API name (``us-east-1``, ``us-central1``, ``westeurope``).
    country_iso3
        Country of the data centre.
    location
        Human-readable location.
    ccf_carbon_intensity
        Cloud Carbon Footprint grid factor in kg CO2e/kWh (AWS/Azure), None when absent.
    ccf_year
        Approximate data year of that factor, None when absent.
    """

    provider: str
    region: str
    country_iso3: str
    location: str
    ccf_carbon_intensity: float | None = None
    ccf_year: int | None = None

    def __str__(self) -> str:
        return f"{self.provider}:{self.region}"


@functools.lru_cache(maxsize=1)
def _region_table() -> tuple[dict, ...]:
    """Rows of ``priors/cloud_regions.csv``: text (None when empty), the CCF factor and its year as floats."""
    rows = []
    for rec in _read_records("cloud_regions.csv"):
        row = dict(rec)
        for col in ("ccf_carbon_intensity", "ccf_year"):
            row[col] = _number(rec[col], "cloud_regions.csv", col)
        rows.append(row)
    return tuple(rows)


@functools.lru_cache(maxsize=1)
def _region_index() -> dict[str, dict[str, int]]:
    """Index the regions: provider -> normalised spelling -> row position."""
    out: dict[str, dict[str, int]] = {p: {} for p in PROVIDERS}
    for i, row in enumerate(_region_table()):
        idx = out[row["provider"]]
        for name in [row["region"]] + _split_list(row["aliases"]):
            key = _norm(name)
            if key and idx.get(key, i) != i:
                raise DataError(f"cloud_regions.csv: {name!r} names two {row['provider']} regions")
            idx[key] = int(i)
    return out


def _region_from_row(i: int) -> CloudRegion:
    row = _region_table()[i]
    ccf = row["ccf_carbon_intensity"]
    ccf_ok = isinstance(ccf, (int, float)) and math.isfinite(float(ccf))
    return CloudRegion(
        provider=row["provider"], region=row["region"], country_iso3=row["country_iso3"],
        location=row["location"] if isinstance(row["location"], str) else "",
        ccf_carbon_intensity=float(ccf) if ccf_ok else None,
        ccf_year=int(row["ccf_year"]) if ccf_ok and math.isfinite(float(row["ccf_year"])) else None,
    )


def _find_region(provider: str, name: str) -> int | None:
    idx = _region_index()[provider]
    key = _norm(name)
    if key in idx:
        return idx[key]
    zone_stripped = None
    if provider == "gcp":
        zone_stripped = re.sub(r"-[a-z]$", "", name.strip().lower())
    elif provider == "aws":
        zone_stripped = re.sub(r"(\d)[a-z]$", r"\1", name.strip().lower())
    if zone_stripped and _norm(zone_stripped) in idx:
        return idx[_norm(zone_stripped)]
    return None


def resolve_region(name: str) -> CloudRegion:
    """Look up a cloud region.

    Parameters
    ----------
    name
        ``"aws:us-east-1"``, ``"gcp:us-central1"``, ``"azure:westeurope"``; display names and
        aliases (``"azure:West Europe"``, ``"aws:US East (N. Virginia)"``); zones
        (``"gcp:us-central1-a"``, ``"aws:us-east-1a"``); or no provider prefix when the name
        is unique across providers.

    Returns
    -------
    CloudRegion

    Raises
    ------
    InputError
        ``field="region"`` when unknown or ambiguous, with suggestions within the provider.
    """
    if isinstance(name, CloudRegion):
        return name
    if not isinstance(name, str) or not name.strip():
        raise InputError("region", name, "give a region such as 'aws:us-east-1' or 'gcp:us-central1'")
    text = name.strip()
    provider = None
    if ":" in text:
        prefix, rest = text.split(":", 1)
        provider = _CLOUD_PROVIDER_ALIASES.get(_norm(prefix))
        if provider is None:
            raise InputError("region", name, f"the provider before ':' must be one of {', '.join(PROVIDERS)}")
        text = rest.strip()
    providers = [provider] if provider else list(PROVIDERS)
    hits = [(p, i) for p in providers if (i := _find_region(p, text)) is not None]
    if len(hits) == 1:
        return _region_from_row(hits[0][1])
    if len(hits) > 1:
        options = [f"{p}:{_region_table()[i]['region']}" for p, i in hits]
        raise InputError("region", name, f"ambiguous; prefix the provider: {_quote_list(options)}")
    key = _norm(text)
    suggestions = ""
    for p in providers:
        idx = _region_index()[p]
        names = {k: f"{p}:{_region_table()[i]['region']}" for k, i in idx.items()}
        suggestions = _did_you_mean(key, names)
        if suggestions:
            break
    fix = ("use '<provider>:<region>' with provider aws, gcp or azure and a region from "
           "`carbon-bayes data --regions`" + suggestions)
    raise InputError("region", name, fix)


def provider_of_region(region: str | CloudRegion) -> str:
    """Cloud provider (``aws``, ``gcp``, ``azure``) of a region name or :class:`CloudRegion`."""
    return resolve_region(region).provider


@functools.lru_cache(maxsize=1)
def _gcp_intensity() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    by_region: dict[str, list[tuple[int, float]]] = {}
    for r in _read_records("gcp_region_intensity.csv"):
        by_region.setdefault(str(r["region"]), []).append(
            (_year(r["year"], "gcp_region_intensity.csv"),
             _number(r["carbon_intensity"], "gcp_region_intensity.csv", "carbon_intensity")))
    out = {}
    for region in sorted(by_region):
        rows = sorted(by_region[region], key=lambda row: row[0])
        out[region] = (np.array([r[0] for r in rows], dtype=int), np.array([r[1] for r in rows], dtype=float))
    return out


def region_intensity(region: str | CloudRegion, year: int) -> tuple[float, bool]:
    """Carbon intensity behind a cloud region in a year.

    GCP: Google's published grid intensity for the region and year (lifecycle basis for
    2019-2020, operational from 2021), the nearest published year otherwise
    (``extrapolated=True``). AWS/Azure: the Cloud Carbon Footprint factor (eGRID subregion in
    the US, EEA / carbonfootprint.com elsewhere, data year ``ccf_year``) scaled by the
    country's grid trend, ``ccf * country(year) / country(ccf_year)``; this keeps the
    sub-national level (e.g. Virginia vs the US average) and follows national
    decarbonisation. Regions without a CCF factor use the country average.

    Parameters
    ----------
    region
        :class:`CloudRegion` or a name accepted by :func:`resolve_region`.
    year
        Calendar year.

    Returns
    -------
    tuple of (float, bool)
        kg CO2e per kWh and ``extrapolated`` (the year lies outside the data used).
    """
    reg = resolve_region(region)
    y = _as_year(year)
    if reg.provider == "gcp":
        series = _gcp_intensity().get(reg.region)
        if series is not None:
            yrs, vals = series
            if y in yrs:
                return float(vals[np.searchsorted(yrs, y)]), False
            j = int(np.argmin(np.abs(yrs - y) - 1e-3 * (yrs > y)))  # ties -> later year
            return float(vals[j]), True
        return grid_intensity(reg.country_iso3, y)
    country_now, extrap = grid_intensity(reg.country_iso3, y)
    if reg.ccf_carbon_intensity is None or reg.ccf_year is None:
        return country_now, extrap
    country_then, _ = grid_intensity(reg.country_iso3, reg.ccf_year)
    if country_then <= 0:
        return reg.ccf_carbon_intensity, extrap
    return reg.ccf_carbon_intensity * country_now / country_then, extrap


@functools.lru_cache(maxsize=1)
def location_weights() -> tuple[tuple[str, ...], np.ndarray]:
    """Where a training run with no stated place may have run: countries and their weights.

    The weight of a country is its share of the cloud regions of AWS, Google Cloud and Azure in
    ``priors/cloud_regions.csv`` (published data-centre siting). Countries without a grid
    series are left out. Used for a CO2 figure whose location is unknown: its intensity is drawn
    from the mixture of these countries' grids (:func:`location_mixture`), not from a log-normal
    around the world mean.
    """
    from .grid import _grid_matrix

    rows = _grid_matrix()[0]
    counts: dict[str, int] = {}
    for row in _region_table():
        if row["country_iso3"] is not None and row["country_iso3"] in rows:
            counts[row["country_iso3"]] = counts.get(row["country_iso3"], 0) + 1
    codes = tuple(sorted(counts))
    n = np.array([counts[c] for c in codes], dtype=float)
    return codes, n / float(n.sum())


@functools.lru_cache(maxsize=64)
def _location_log_grid(year: float) -> np.ndarray:
    """Log grid intensity (K,) of each country of the location mixture in ``year`` (read once per year)."""
    from .grid import grid_intensity_many

    codes, _ = location_weights()
    values, _ = grid_intensity_many(codes, np.full(len(codes), year))
    return np.log(np.maximum(values, 1e-3))


def location_mixture(years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log weights (K,) and log grid intensities (n, K) of the location mixture for runs of ``years``."""
    _, weights = location_weights()
    years = np.asarray(years, dtype=float)
    unique, inverse = np.unique(years, return_inverse=True)
    table = np.stack([_location_log_grid(float(y)) for y in unique]) if len(unique) else np.empty((0, len(weights)))
    return np.log(weights), table[inverse.reshape(-1)]
