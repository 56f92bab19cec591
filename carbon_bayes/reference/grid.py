"""Countries and grid carbon intensity by country (or aggregate) and year, from Our World in Data.

Files ``priors/countries.csv`` and ``priors/grid_intensity_country.csv``. Carbon intensity in kg CO2e/kWh.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..errors import DataError, InputError
from ._common import _as_year, _did_you_mean, _norm, _read_csv, _split_list

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
def _country_table() -> pd.DataFrame:
    table = _read_csv("countries.csv", dtype=str).set_index("iso3")
    if not table.index.is_unique:
        raise DataError(f"countries.csv: duplicate iso3 {table.index[table.index.duplicated()].tolist()}")
    return table


@functools.lru_cache(maxsize=1)
def _country_index() -> dict[str, str]:
    index: dict[str, str] = {}
    table = _country_table()
    for iso3, name, aliases, iso2 in zip(table.index, table["name"], table["aliases"], table["iso2"], strict=True):
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
    names = _country_table()["name"]
    fix = ("use an ISO 3166 alpha-2/alpha-3 code or a country name (see `carbon-bayes data --countries`)"
           + _did_you_mean(key, index, label=lambda c: f"{c} ({names[c]})"))
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
    return str(_country_table().loc[code, "continent"])


def country_name(iso3: str) -> str:
    """English name of an ISO 3166 alpha-3 code from :func:`resolve_country` (the code itself if unknown)."""
    table = _country_table()
    return str(table.loc[iso3, "name"]) if iso3 in table.index else str(iso3)


@functools.lru_cache(maxsize=1)
def _grid_matrix() -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]:
    """Dense code x year matrices (values, extrapolated flags) built once."""
    long = _read_csv("grid_intensity_country.csv", dtype={"code": str})
    wide = long.pivot_table(index="code", columns="year", values="carbon_intensity", aggfunc="first")
    years = np.arange(int(wide.columns.min()), int(wide.columns.max()) + 1)
    wide = wide.reindex(columns=years)
    observed = wide.notna().to_numpy()
    filled = wide.interpolate(axis=1, limit_area="inside").ffill(axis=1).bfill(axis=1)
    values = filled.to_numpy(dtype=float)
    # extrapolated = outside the code's first..last observed year (inside gaps are interpolated)
    first = observed.argmax(axis=1)
    last = observed.shape[1] - 1 - observed[:, ::-1].argmax(axis=1)
    cols = np.arange(len(years))
    extrap = (cols[None, :] < first[:, None]) | (cols[None, :] > last[:, None])
    rows = {code: i for i, code in enumerate(wide.index)}
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
        labels, uniques = pd.factorize(pd.Series(flat_codes, dtype=object), use_na_sentinel=False)
        row_of_unique = np.fromiter((_grid_row(c) for c in uniques), dtype=np.int64, count=len(uniques))
        rows = row_of_unique[labels]
    y = np.rint(flat_years).astype(np.int64)
    cols = np.clip(y - year_axis[0], 0, len(year_axis) - 1)
    outside = (y < year_axis[0]) | (y > year_axis[-1])
    out_values = values[rows, cols].reshape(shape)
    out_flags = (extrap[rows, cols] | outside).reshape(shape)
    return out_values, out_flags
