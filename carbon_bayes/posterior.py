"""Save and load fitted posteriors: one netCDF file (xarray DataTree via h5netcdf), no pickle.

A posterior file holds the ``posterior`` and ``sample_stats`` groups, a ``fit_data`` group
(the dataset rows the fit used, so the file is self-contained), and root attributes: the
package version, the model and sampler configuration as JSON, the convergence report, and
SHA-256 hashes of the dataset and of the prior files. :func:`load_posterior` checks all of
them and returns a :class:`Posterior` of plain numpy arrays for the predictor. Importing
this module does not import PyMC.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # xarray and pandas are imported where they are used: the predictor reads with h5py alone
    import pandas as pd
    import xarray as xr

from carbon_bayes import effects, posterior_checks
from carbon_bayes._version import __version__
from carbon_bayes.errors import PosteriorFileError
from carbon_bayes.resources import default_posterior_path, priors_path
from carbon_bayes.safeio import atomic_write  # noqa: F401  (re-exported: posterior.atomic_write)

FORMAT = "carbon_bayes-posterior"
FORMAT_VERSION = 1
REQUIRED_ATTRS = ("format", "format_version", "carbon_bayes_version", "created_utc", "model_config",
                  "sampler_config", "convergence", "data_sha256", "priors_sha256")
#: Posterior variables the predictor needs, with their dims after (chain, draw) (from the registry).
PREDICTOR_VARIABLES: dict[str, tuple[str, ...]] = effects.predictor_variables()
#: Fixed hyperparameters the predictor reads from model_config.
REQUIRED_FIXED = effects.FIXED_FOR_PREDICTOR
#: Files in priors/ whose content the model depends on (hashed into every posterior).
PRIOR_FILES = ("model_priors.toml", "accelerators.csv", "countries.csv", "grid_intensity_country.csv",
               "cloud_regions.csv", "gcp_region_intensity.csv", "pue_by_provider.csv",
               "hardware_usage_by_year.csv", "compute_prior.csv")


def sha256_file(path: str | Path) -> str:
    """Return the SHA-256 hex digest of the file at ``path``."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def priors_sha256(directory: str | Path | None = None, prior_file: str | Path | None = None) -> str:
    """One hash over the prior specification and the reference tables the model reads."""
    directory = Path(directory) if directory is not None else priors_path()
    h = hashlib.sha256()
    for name in PRIOR_FILES:
        path = Path(prior_file) if (name == "model_priors.toml" and prior_file is not None) else directory / name
        h.update(name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def dataset_sha256(df: pd.DataFrame) -> str:
    """Hash of a dataset's content (independent of how the CSV was formatted)."""
    canon = df.to_csv(index=False, float_format="%.10g", lineterminator="\n")
    return hashlib.sha256(canon.encode()).hexdigest()


def _frame_to_dataset(df: pd.DataFrame) -> xr.Dataset:
    import xarray as xr

    data = {}
    for c in df.columns:
        s = df[c]
        if s.dtype.kind in "fiub":
            data[c] = ("row", s.to_numpy())
        else:
            data[c] = ("row", s.astype(str).replace({"nan": ""}).to_numpy(dtype=str))
    return xr.Dataset(data, coords={"row": np.arange(len(df))})


def dataset_from_tree(tree: xr.DataTree) -> pd.DataFrame:
    """Read the ``fit_data`` group of a posterior file as a DataFrame."""
    import pandas as pd

    ds = tree["fit_data"].to_dataset()
    return pd.DataFrame({c: ds[c].values for c in ds.data_vars})


def build_posterior_tree(tree: xr.DataTree, *, fit_rows: pd.DataFrame, model_config: dict, sampler_config: dict,
                         convergence: dict, data_sha256: str, priors_sha256: str, thin: int = 1) -> xr.DataTree:
    """Build the DataTree a posterior file holds.

    It has the posterior (without raw ``*_z`` draws), sample stats, fit data and provenance
    attributes.
    """
    import pandas as pd
    import xarray as xr

    post = tree["posterior"].to_dataset()
    post = post[[v for v in post.data_vars if not str(v).endswith("_z")]].isel(draw=slice(None, None, thin))
    out = xr.DataTree()
    out["posterior"] = xr.DataTree(post)
    if "sample_stats" in tree:
        stats = tree["sample_stats"].to_dataset()
        keep = [v for v in ("diverging", "energy", "tree_depth", "step_size", "n_steps", "lp") if v in stats]
        out["sample_stats"] = xr.DataTree(stats[keep].isel(draw=slice(None, None, thin)))
    out["fit_data"] = xr.DataTree(_frame_to_dataset(fit_rows))
    out.attrs = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "carbon_bayes_version": __version__,
        "created_utc": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
        "model_config": json.dumps(model_config, sort_keys=True),
        "sampler_config": json.dumps(sampler_config, sort_keys=True),
        "convergence": json.dumps(convergence, sort_keys=True),
        "data_sha256": data_sha256, "priors_sha256": priors_sha256,
        "content_sha256": content_sha256(post),
    }
    return out


#: The variables the content hash covers: those the predictor reads (with a user cluster's effects).
HASHED = (*effects.predictor_variables(), "u_cluster", "rho_cluster")


def content_sha256(post: xr.Dataset) -> str:
    """Hash of the draws the predictor reads, as stored (float32), in name order (see :mod:`.posterior_checks`)."""
    return posterior_checks.content_sha256(HASHED, lambda n: post[n].values if n in post else None)


def save_posterior(tree: xr.DataTree, path: str | Path, **provenance: Any) -> Path:
    """Write a fitted posterior and its provenance to one netCDF file, atomically.

    ``provenance`` is the keywords of :func:`build_posterior_tree`; draws are stored as float32.
    """
    out = build_posterior_tree(tree, **provenance)
    encoding = {"/posterior": {v: {"zlib": True, "complevel": 4, "dtype": "float32"}
                               for v in out["posterior"].to_dataset().data_vars}}
    return atomic_write(path, lambda tmp: out.to_netcdf(tmp, engine="h5netcdf", encoding=encoding))


@dataclass
class Posterior:
    """A loaded posterior, as the predictor needs it (numpy arrays of shape (draws, ...))."""

    draws: dict[str, np.ndarray]
    levels: dict[str, list[str]]
    model_config: dict
    sampler_config: dict
    convergence: dict
    attrs: dict
    path: str
    _tree: xr.DataTree | None = field(default=None, repr=False)

    @property
    def tree(self) -> xr.DataTree:
        """The whole file as an xarray DataTree (read on first use: the predictor does not need it)."""
        if self._tree is None:
            tree = _read_tree(Path(self.path))
            _check_fit_data(tree, self.attrs, self.path)  # the fit data are read (and checked) only when used
            self._tree = tree
        return self._tree

    @property
    def n_draws(self) -> int:
        """Number of draws (all chains together)."""
        return len(self.draws["u_intercept"])

    def fit_data(self) -> pd.DataFrame:
        """Return the dataset rows the fit used (the file's ``fit_data`` group)."""
        return dataset_from_tree(self.tree)


def load_posterior(path: str | Path | None = None) -> Posterior:
    """Open and check a posterior file (default: the one shipped with the package).

    Raises
    ------
    PosteriorFileError
        If the file is missing, not a carbon_bayes posterior, truncated, or lacks what the
        predictor needs; the message says which and how to fix it.
    """
    path = Path(path) if path is not None else default_posterior_path()
    if not path.is_file():
        what = ("is a directory" if path.is_dir() else "is not a regular file" if path.exists() else "not found")
        hint = ("the shipped posterior is missing; rebuild it with `python scripts/build_default_posterior.py`"
                if path == default_posterior_path()
                else "check the path: give a posterior file (.nc), or fit one with `carbon-bayes fit --out FILE`")
        raise PosteriorFileError(f"posterior file {str(path)!r} {what}: {hint}")
    from carbon_bayes import posterior_h5

    names = {*PREDICTOR_VARIABLES, *effects.LEGACY_NAMES, "u_cluster", "rho_cluster"}
    fast = posterior_h5.read_predictor_parts(path, names)  # only the predictor's variables, without xarray
    if fast is not None:
        return _checked(*fast, str(path), None)
    return posterior_from_tree(_read_tree(path), str(path))


def _read_tree(path: Path) -> xr.DataTree:
    """Read a whole posterior file as a DataTree."""
    import xarray as xr

    try:
        with xr.open_datatree(path, engine="h5netcdf") as t:
            return t.load()
    except Exception as e:  # h5py/netCDF raise many types for corrupt files
        raise PosteriorFileError(f"{path}: not a readable netCDF posterior ({type(e).__name__}: {e}); "
                                 "re-create it with `carbon-bayes fit`") from None


def posterior_from_tree(tree: xr.DataTree, path: str = "<memory>") -> Posterior:
    """Check a posterior DataTree (as written by :func:`save_posterior` or built in memory) and wrap it."""
    from carbon_bayes.posterior_h5 import Variable

    groups = {g for g in ("posterior", "fit_data") if g in tree}
    post = tree["posterior"].to_dataset() if "posterior" in groups else None

    def variable(name: str) -> Variable | None:
        if post is None or name not in post:
            return None
        da = post[name]
        return Variable(tuple(str(d) for d in da.dims), da.values,
                        {str(d): list(da[d].values.astype(str)) for d in da.dims[2:]})

    return _checked(dict(tree.attrs), groups, variable, path, tree)


def _checked(attrs: dict, groups: set[str], variable: Callable, path: str, tree: xr.DataTree | None) -> Posterior:
    """Check a posterior's attributes and the predictor's variables (``variable(name)``) and wrap them."""
    missing = [a for a in REQUIRED_ATTRS if a not in attrs]
    if missing or attrs.get("format") != FORMAT:
        raise PosteriorFileError(f"{path}: not a carbon_bayes posterior (missing attributes {missing}); "
                                 "fit one with `carbon-bayes fit`")
    posterior_checks.check_versions(attrs, path, FORMAT_VERSION)
    try:
        config = {k: json.loads(attrs[k]) for k in ("model_config", "sampler_config", "convergence")}
    except json.JSONDecodeError as e:
        raise PosteriorFileError(f"{path}: corrupt configuration attributes ({e})") from None
    missing_fixed = [k for k in REQUIRED_FIXED if k not in config["model_config"].get("fixed", {})]
    if missing_fixed:
        fix = ("rebuild it with `python scripts/build_default_posterior.py`" if Path(path) == default_posterior_path()
               else "refit it with `carbon-bayes fit`, or use the shipped posterior")
        raise PosteriorFileError(f"{path}: fitted by an older model version (no {missing_fixed}); {fix}")
    for group in ("posterior", "fit_data"):
        if group not in groups:
            raise PosteriorFileError(f"{path}: missing the {group!r} group; re-create the file with `carbon-bayes fit`")
    levels = config["model_config"]["levels"]
    draws = {name: _checked_draws(name, dims, variable, levels, path)
             for name, dims in effects.predictor_variables().items()}
    cluster = config["model_config"].get("default_cluster")
    if cluster:
        for name in ("u_cluster", "rho_cluster"):
            var = _renamed(variable, name)
            clusters = var.coords.get("cluster", []) if var is not None else []
            if cluster not in clusters:
                raise PosteriorFileError(f"{path}: model_config names cluster {cluster!r} but {name} lacks it")
            at = np.take(np.asarray(var.values), clusters.index(cluster), axis=var.dims.index("cluster"))
            draws[name] = at.reshape(-1).astype(float)
    posterior_checks.check_count(len(draws["u_intercept"]), path)
    posterior_checks.check_content(attrs, HASHED, lambda n: _values(variable, n), path)
    if tree is not None:
        _check_fit_data(tree, attrs, path)
    return Posterior(draws=draws, levels=levels, model_config=config["model_config"],
                     sampler_config=config["sampler_config"], convergence=config["convergence"], attrs=attrs,
                     path=str(path), _tree=tree)


def _values(variable: Callable, name: str) -> np.ndarray | None:
    var = _renamed(variable, name)
    return None if var is None else np.asarray(var.values)


def _check_fit_data(tree: xr.DataTree, attrs: dict, path: str) -> None:
    """Refuse a file whose stored fit data do not match its ``data_sha256``."""
    if "fit_data" in tree and dataset_sha256(dataset_from_tree(tree)) != attrs["data_sha256"]:
        raise PosteriorFileError(f"{path}: the fit data stored in the file do not match its data_sha256 "
                                 f"({str(attrs['data_sha256'])[:12]}): the file was modified or damaged; re-create it")


def _renamed(variable: Callable, name: str) -> Any:
    """``variable(name)``, or the variable under its name before the intensity variables were renamed."""
    var = variable(name)
    if var is None:
        old = [o for o, n in effects.LEGACY_NAMES.items() if n == name]
        var = variable(old[0]) if old else None
    return var


def _checked_draws(name: str, dims: tuple[str, ...], variable: Callable, levels: dict, path: str) -> np.ndarray:
    """Check one predictor variable's dims, levels and values; return its draws as (draws, ...)."""
    var = _renamed(variable, name)
    if var is None:
        raise PosteriorFileError(f"{path}: posterior lacks {name!r}; it was not fitted by this model version")
    if var.dims != ("chain", "draw", *dims):
        raise PosteriorFileError(f"{path}: {name} has dims {var.dims}, expected {('chain', 'draw', *dims)}")
    for d in dims:
        if var.coords[d] != list(levels[d]):
            raise PosteriorFileError(f"{path}: {name} levels of {d!r} do not match the file's model_config")
    values = np.asarray(var.values)
    arr = values.reshape((-1,) + values.shape[2:])
    posterior_checks.check_values(name, arr, path)
    return arr.astype(float)
