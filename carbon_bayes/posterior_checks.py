"""Checks of a saved posterior: versions, draw counts, value bounds and the content hash.

Used by :mod:`carbon_bayes.posterior` on both of its read paths (h5py for the predictor's
variables, xarray for the whole file), so a damaged or edited file is refused the same way
whichever reads it. No xarray or pandas import here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable

import numpy as np

from carbon_bayes._version import __version__
from carbon_bayes.errors import PosteriorFileError

#: A posterior with fewer draws (all chains together) gives no usable interval.
MIN_DRAWS = 20
#: No posterior variable of the model other than a scale lives beyond this magnitude (logit, log and
#: standardised scales); a scale of a level no figure informs can (its prior is heavy-tailed).
MAX_ABS_DRAW = 50.0


def content_sha256(names: Iterable[str], value: Callable[[str], np.ndarray | None]) -> str:
    """Hash of the draws of the variables ``names`` (those ``value`` has), as float32, in name order.

    The hashed variables are those the predictor reads: every number an estimate depends on.
    """
    h = hashlib.sha256()
    for name in sorted(names):
        values = value(name)
        if values is None:
            continue
        h.update(name.encode())
        h.update(np.ascontiguousarray(values, dtype="<f4").tobytes())
    return h.hexdigest()


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", str(text).split("+")[0].split("rc")[0].split("dev")[0])[:3])


def check_versions(attrs: dict, path: str, format_version: int) -> None:
    """Refuse a file format or a package version newer than this one (and a non-numeric format version)."""
    try:
        version = int(str(attrs["format_version"]).strip())
    except ValueError:
        raise PosteriorFileError(f"{path}: format_version {attrs['format_version']!r} is not a number: the file "
                                 "is corrupt or not written by carbon_bayes; re-create it with `carbon-bayes fit`"
                                 ) from None
    if version > format_version:
        raise PosteriorFileError(f"{path}: written by a newer carbon_bayes (file format "
                                 f"{attrs['format_version']} > {format_version}); upgrade carbon_bayes")
    wrote = str(attrs.get("carbon_bayes_version", ""))
    if _version_tuple(wrote) > _version_tuple(__version__):
        raise PosteriorFileError(f"{path}: written by carbon_bayes {wrote}, newer than the installed {__version__}; "
                                 "its model may differ from this one: upgrade carbon_bayes (pip install -U "
                                 "carbon_bayes)")


def check_values(name: str, arr: np.ndarray, path: str) -> None:
    """Refuse non-finite draws, and draws beyond any value the model can take."""
    if not np.all(np.isfinite(arr)):
        raise PosteriorFileError(f"{path}: {name} has non-finite draws")
    if not arr.size:
        return  # no draws: refused with the count after every variable is read
    if name.endswith("_sigma") or name.endswith("_spread"):
        # a scale: never negative; a level no figure informs carries its heavy-tailed prior, so no upper bound
        if float(arr.min()) < 0:
            raise PosteriorFileError(f"{path}: {name} has a negative draw ({float(arr.min()):.3g}) of a scale: the "
                                     "file is damaged or edited; re-create it")
        return
    worst = float(np.abs(arr).max())
    if worst > MAX_ABS_DRAW:
        raise PosteriorFileError(f"{path}: {name} has draws up to {worst:.3g}, beyond anything this model fits "
                                 f"(|x| <= {MAX_ABS_DRAW:g} on its log/logit scales): the file is damaged or edited; "
                                 "re-create it")


def check_count(n: int, path: str) -> None:
    """Refuse a posterior with too few draws for an interval."""
    if n < MIN_DRAWS:
        raise PosteriorFileError(f"{path}: {n} posterior draws; at least {MIN_DRAWS} are needed for an interval: "
                                 "refit with more draws (`carbon-bayes fit --draws 1000`)")


def check_content(attrs: dict, names: Iterable[str], value: Callable[[str], np.ndarray | None], path: str) -> None:
    """Refuse draws that do not match the file's stored content hash (files without one are not checked)."""
    stored = attrs.get("content_sha256")
    if stored is not None and stored != content_sha256(names, value):
        raise PosteriorFileError(f"{path}: the posterior draws do not match the file's content hash (stored "
                                 f"{str(stored)[:12]}): the file was modified or damaged; re-create it with "
                                 "`carbon-bayes fit` (or `update`)")
