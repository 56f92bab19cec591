"""Countries and grid carbon intensity by country (or aggregate) and year, from Our World in Data.

Files ``priors/countries.csv`` and ``priors/grid_intensity_country.csv``. Carbon intensity in kg CO2e/kWh.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import numpy as np

from ..errors import DataError, InputError
from ._common import _as_year, _did_you_mean, _norm, _number, _read_records, _split_list, _year

CONTINENTS = ("AFRICA", "ASIA", "EUROPE", "NORTH_AMERICA", "SOUTH_AMERICA", "OCEANIA")

AGGREGATES = ("WORLD", "EU27") + CONTINENTS

_AGGREGATE_ALIASES = {
    "WORLD": ("World", "Global", "OWID_WRL", "WRL", "Earth", "Worldwide"),
    "EU27": ("EU", "EU-27", "EU 27", "European Union", "European Union (27)"),
    "AFRICA": ("Africa",),
    "ASIA": ("Asia",),
    "EUROPE": ("Europe",),
    "NORTH_AMERICA": ("North America",),
    "SOUTH_AMERICA": ("South America", "Latin America"),
    "OCEANIA": ("Oceania",),
}


@functools.lru_cache(maxsize=1)
def _country_table() -> dict[str, dict[str, str | None]]:
    """``priors/countries.csv`` as ``{iso3: {column: text}}`` (cached: do not modify)."""
    table: dict[str, dict[str, str | None]] = {}
    for rec in _read_records("countries.csv"):
        iso3 = str(rec["iso3"])
        if iso3 in table:
            raise DataError(f"countries.csv: duplicate iso3 {[iso3]}")
        table[iso3] = rec
    return table


@functools.lru_cache(maxsize=1)
def _country_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for iso3, row in _country_table().items():
        name, aliases, iso2 = row["name"], row["aliases"], row["iso2"]
        names = [str(iso3), name] + _split_list(aliases)
        if isinstance(iso2, str):
            names.append(iso2)
        for name in names:
            key = _norm(name)
            if key and index.get(key, iso3) != iso3:
                raise DataError(f"countries.csv: {name!r} names both {index[key]} and {iso3}")
            index[key] = str(iso3)
    return index


def resolve_country(name: str) -> str:
    """ISO 3166 alpha-3 code of a country.

    Parameters
    ----------
    name
        ISO2 (``"US"``), ISO3 (``"USA"``), name (``"United States"``) or a common alias
        (``"UK"``, ``"Korea"``); case, accents and punctuation are ignored.

    Returns
    -------
    str
        ISO3 code (Kosovo uses the user-assigned ``XKX``).

    Raises
    ------
    InputError
        ``field="country"`` when unknown, with suggestions.
    """
    if not isinstance(name, str) or not name.strip():
        raise InputError("country", name, "give an ISO code such as 'US', 'USA' or 'FR', or a country name")
    index = _country_index()
    key = _norm(name)
    if key in index:
        return index[key]
    table = _country_table()
    fix = ("use an ISO 3166 alpha-2/alpha-3 code or a country name (see `carbon-bayes data --countries`)"
           + _did_you_mean(key, index, label=lambda c: f"{c} ({table[c]['name']})"))
    raise InputError("country", name, fix)


def continent_of(iso3: str) -> str:
    """Continent of a country.

    Parameters
    ----------
    iso3
        ISO3 code or anything :func:`resolve_country` accepts.

    Returns
    -------
    str
        One of AFRICA, ASIA, EUROPE, NORTH_AMERICA, SOUTH_AMERICA, OCEANIA.
    """
    code = resolve_country(iso3)
    return str(_country_table()[code]["continent"])


def country_name(iso3: str) -> str:
    """English name of an ISO 3166 alpha-3 code from :func:`resolve_country` (the code itself if unknown)."""
    table = _country_table()
    return str(table[iso3]["name"]) if iso3 in table else str(iso3)


@functools.lru_cache(maxsize=1)
def _grid_matrix() -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]:
    """Dense code x year matrices (values, extrapolated flags) built once."""
    series: dict[str, dict[int, float]] = {}
    for r in _read_records("grid_intensity_country.csv"):
        v = _number(r["carbon_intensity"], "grid_intensity_country.csv", "carbon_intensity")
        if not np.isnan(v):  # the first value of a code and year counts
            series.setdefault(str(r["code"]), {}).setdefault(_year(r["year"], "grid_intensity_country.csv"), v)
    codes = sorted(series)
    years = np.arange(min(min(s) for s in series.values()), max(max(s) for s in series.values()) + 1)
    observed = np.zeros((len(codes), len(years)), dtype=bool)
    values = np.empty((len(codes), len(years)))
    cols = np.arange(len(years), dtype=float)
    for i, code in enumerate(codes):
        at = np.array(sorted(series[code])) - years[0]
        observed[i, at] = True
        # linear inside the observed years, the first / last value outside (as pandas' interpolate, ffill, bfill)
        values[i] = np.interp(cols, at.astype(float), np.array([series[code][y] for y in sorted(series[code])]))
    # extrapolated = outside the code's first..last observed year (inside gaps are interpolated)
    first = observed.argmax(axis=1)
    last = observed.shape[1] - 1 - observed[:, ::-1].argmax(axis=1)
    cols = np.arange(len(years))
    extrap = (cols[None, :] < first[:, None]) | (cols[None, :] > last[:, None])
    rows = {code: i for i, code in enumerate(codes)}
    return rows, years, values, extrap


@functools.lru_cache(maxsize=1)
def _aggregate_index() -> dict[str, str]:
    index = {}
    for code, aliases in _AGGREGATE_ALIASES.items():
        for a in (code,) + aliases:
            index[_norm(a)] = code
    return index


@functools.lru_cache(maxsize=4096)
def _grid_row(code: str) -> int:
    rows = _grid_matrix()[0]
    key = _norm(code)
    agg = _aggregate_index().get(key)
    target = agg if agg is not None else resolve_country(code)
    if target not in rows:
        raise InputError("country", code, f"no carbon-intensity series for {target}; give a neighbouring "
                         "country, a continent (e.g. 'EUROPE') or 'WORLD'")
    return rows[target]


def grid_intensity(code: str, year: int) -> tuple[float, bool]:
    """Average carbon intensity of a country's (or aggregate's) electricity in a year.

    Parameters
    ----------
    code
        ISO3 / ISO2 / country name, or an aggregate: WORLD, EU27, AFRICA, ASIA, EUROPE,
        NORTH_AMERICA, SOUTH_AMERICA, OCEANIA.
    year
        Calendar year. Years outside the series use the nearest available year; gaps inside
        are linearly interpolated.

    Returns
    -------
    tuple of (float, bool)
        kg CO2e per kWh (Our World in Data, from Ember and the Energy Institute), and
        ``extrapolated`` = True when ``year`` lies outside the code's data.

    Raises
    ------
    InputError
        ``field="country"`` for an unknown code.
    """
    _, years, values, extrap = _grid_matrix()
    row = _grid_row(code)
    y = _as_year(year)
    j = int(np.clip(y - years[0], 0, len(years) - 1))
    outside = y < years[0] or y > years[-1]
    return float(values[row, j]), bool(extrap[row, j] or outside)


def grid_intensity_many(codes: Iterable[str], years: Iterable[float]) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`grid_intensity`.

    Parameters
    ----------
    codes
        Array-like of country / aggregate codes (anything :func:`grid_intensity` accepts).
    years
        Array-like of years, broadcastable against ``codes``.

    Returns
    -------
    tuple of (numpy.ndarray, numpy.ndarray)
        kg CO2e/kWh (float) and extrapolated flags (bool), shaped like the broadcast inputs.
    """
    _, year_axis, values, extrap = _grid_matrix()
    codes_arr = np.asarray(codes, dtype=object)
    years_arr = np.asarray(years, dtype=float)
    codes_arr, years_arr = np.broadcast_arrays(codes_arr, years_arr)
    shape = codes_arr.shape
    flat_codes = codes_arr.ravel()
    flat_years = years_arr.ravel()
    if not np.all(np.isfinite(flat_years)):
        bad = flat_years[~np.isfinite(flat_years)][0]
        raise InputError("year", bad, "give every year as a finite number")
    if len(flat_codes) <= 64:  # a few runs: a loop is faster than factorising
        rows = np.fromiter((_grid_row(c) for c in flat_codes), dtype=np.int64, count=len(flat_codes))
    else:
        import pandas as pd

        labels, uniques = pd.factorize(pd.Series(flat_codes, dtype=object), use_na_sentinel=False)
        row_of_unique = np.fromiter((_grid_row(c) for c in uniques), dtype=np.int64, count=len(uniques))
        rows = row_of_unique[labels]
    y = np.rint(flat_years).astype(np.int64)
    cols = np.clip(y - year_axis[0], 0, len(year_axis) - 1)
    outside = (y < year_axis[0]) | (y > year_axis[-1])
    out_values = values[rows, cols].reshape(shape)
    out_flags = (extrap[rows, cols] | outside).reshape(shape)
    return out_values, out_flags
