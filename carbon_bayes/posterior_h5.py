"""Read the predictor's variables of a posterior file with h5py alone (no xarray, no pandas).

A posterior file is netCDF4 (HDF5) as xarray writes it; the predictor needs a few dozen small
arrays of the ``posterior`` group and the root attributes. Reading those directly takes a few
milliseconds, where opening the whole DataTree with xarray takes a good part of a second.
:func:`read_predictor_parts` returns None for a file it cannot read this way (packed or scaled
variables, a layout it does not know); :func:`carbon_bayes.posterior.load_posterior` then reads it
with xarray, and checks either the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Encodings xarray would decode and this reader does not: such a file is read with xarray.
_DECODED_ATTRS = ("scale_factor", "add_offset", "units", "calendar", "dtype")


@dataclass
class Variable:
    """One posterior variable: its dims, its values and the labels of its dims after (chain, draw)."""

    dims: tuple[str, ...]
    values: np.ndarray
    coords: dict[str, list[str]]


def _attr(value: object) -> object:
    """Return an HDF5 attribute as xarray gives it: str for text, a scalar for a one-element array."""
    if isinstance(value, bytes | np.bytes_):
        return value.decode()
    if isinstance(value, np.ndarray) and value.size == 1:
        return value.reshape(-1)[0]
    return value


def _labels(values: np.ndarray) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values.tolist()]


def read_predictor_parts(path: Path, names: Iterable[str]) -> tuple[dict, set[str], Callable[[str], Variable | None]] \
        | None:
    """Return (root attributes, groups, ``variable(name)``) of a posterior file, or None to read it with xarray.

    Only the variables ``names`` of the ``posterior`` group are read (``variable`` gives None for
    any other); nothing is kept open.
    """
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a dependency
        return None
    try:
        with h5py.File(path, "r") as f:
            attrs = {k: _attr(v) for k, v in f.attrs.items() if not k.startswith("_")}
            groups = {g for g in ("posterior", "fit_data") if isinstance(f.get(g), h5py.Group)}
            variables = _read_group(f["posterior"], set(names)) if "posterior" in groups else {}
    except (OSError, KeyError, ValueError, TypeError):  # not HDF5, or a layout this reader does not know
        return None
    if variables is None:
        return None
    return attrs, groups, variables.get


def _read_group(group, names: set[str]) -> dict[str, Variable] | None:
    """Return the variables ``names`` of ``group`` (dims, labels), or None if one needs xarray's decoding."""
    import h5py

    out: dict[str, Variable] = {}
    coords: dict[str, list[str]] = {}
    members = list(group.keys())
    # netCDF-4 numbers the dimensions: a dimension scale has _Netcdf4Dimid, a variable lists its dims'
    # numbers in _Netcdf4Coordinates (reading these is much faster than resolving h5py's dimension scales).
    dim_names = {int(group[m].attrs["_Netcdf4Dimid"]): m for m in members
                 if group[m].attrs.get("CLASS") == b"DIMENSION_SCALE" and "_Netcdf4Dimid" in group[m].attrs}
    for name in sorted(names & set(members)):
        ds = group[name]
        if not isinstance(ds, h5py.Dataset) or "DIMENSION_LIST" not in ds.attrs:
            continue
        attrs = dict(ds.attrs)
        ids = [int(i) for i in np.atleast_1d(attrs.get("_Netcdf4Coordinates", []))]
        if any(a in attrs for a in _DECODED_ATTRS) or len(ids) != ds.ndim or not set(ids) <= set(dim_names):
            return None
        dims = tuple(dim_names[i] for i in ids)
        values = ds[()]
        fill = attrs.get("_FillValue")
        if fill is not None and values.dtype.kind == "f" and not np.all(np.isnan(fill)):
            values = np.where(values == np.asarray(fill).reshape(-1)[0], np.nan, values)
        for d in dims[2:]:
            if d not in coords:
                coords[d] = _labels(group[d][()])
        out[name] = Variable(dims, values, {d: coords[d] for d in dims[2:]})
    return out
