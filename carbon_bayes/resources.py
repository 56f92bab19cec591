"""Locate the files that ship with the package (``priors/``, ``data/``, the default posterior).

In a wheel, ``priors/`` and ``data/`` are copied to ``carbon_bayes/_resources/``; in a
source checkout they sit beside the package. Both are read through ``importlib.resources``
so that ``pip install .`` followed by a run from any directory works.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

_PKG = "carbon_bayes"


def _root(kind: str) -> Path:
    shipped = resources.files(_PKG) / "_resources" / kind
    if shipped.is_dir():
        return Path(str(shipped))
    checkout = Path(__file__).resolve().parent.parent / kind
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"carbon_bayes cannot find its {kind}/ directory (looked in {shipped} and {checkout}); "
        "reinstall the package with `pip install .`"
    )


def priors_path(name: str = "") -> Path:
    """Path of a file in ``priors/`` (or the directory itself)."""
    return _root("priors") / name if name else _root("priors")


def data_path(name: str = "") -> Path:
    """Path of a file in ``data/`` (or the directory itself)."""
    return _root("data") / name if name else _root("data")


@functools.lru_cache(maxsize=1)
def default_posterior_path() -> Path:
    """Path of the shipped default posterior (netCDF; cached: the package does not move while it runs)."""
    return Path(str(resources.files(_PKG) / "default_posterior.nc"))
