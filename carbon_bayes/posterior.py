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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from carbon_bayes import effects
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


#: A posterior with fewer draws (all chains together) gives no usable interval.
MIN_DRAWS = 20
#: No posterior variable of the model lives beyond this magnitude (logit, log and standardised scales).
MAX_ABS_DRAW = 50.0


def content_sha256(post: xr.Dataset) -> str:
    """Hash of the posterior draws as stored (float32), variable by variable in name order."""
    h = hashlib.sha256()
    for name in sorted(map(str, post.data_vars)):
        h.update(name.encode())
        h.update(np.ascontiguousarray(post[name].values, dtype="<f4").tobytes())
    return h.hexdigest()


def _frame_to_dataset(df: pd.DataFrame) -> xr.Dataset:
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
    ds = tree["fit_data"].to_dataset()
    return pd.DataFrame({c: ds[c].values for c in ds.data_vars})


def build_posterior_tree(tree: xr.DataTree, *, fit_rows: pd.DataFrame, model_config: dict, sampler_config: dict,
                         convergence: dict, data_sha256: str, priors_sha256: str, thin: int = 1) -> xr.DataTree:
    """Build the DataTree a posterior file holds.

    It has the posterior (without raw ``*_z`` draws), sample stats, fit data and provenance
    attributes.
    """
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
        "data_sha256": data_sha256, "priors_sha256": priors_sha256, "content_sha256": content_sha256(post),
    }
    return out


def save_posterior(tree: xr.DataTree, path: str | Path, **provenance: Any) -> Path:
    """Write a fitted posterior and its provenance to one netCDF file, atomically.

    ``provenance`` is the keywords of :func:`build_posterior_tree`; draws are stored as float32.
    """
    out = build_posterior_tree(tree, **provenance)
    encoding = {"/posterior": {v: {"zlib": True, "complevel": 4, "dtype": "float32"}
                               for v in out["posterior"].to_dataset().data_vars}}
    return atomic_write(path, lambda tmp: out.to_netcdf(tmp, engine="h5netcdf", encoding=encoding))


def _version_tuple(text: str) -> tuple[int, ...]:
    import re

    return tuple(int(x) for x in re.findall(r"\d+", str(text).split("+")[0].split("rc")[0].split("dev")[0])[:3])


def _check_versions(attrs: dict, path: str) -> None:
    """Refuse a file format or a package version newer than this one (and a non-numeric format version)."""
    try:
        version = int(str(attrs["format_version"]).strip())
    except ValueError:
        raise PosteriorFileError(f"{path}: format_version {attrs['format_version']!r} is not a number: the file "
                                 "is corrupt or not written by carbon_bayes; re-create it with `carbon-bayes fit`"
                                 ) from None
    if version > FORMAT_VERSION:
        raise PosteriorFileError(f"{path}: written by a newer carbon_bayes (file format "
                                 f"{attrs['format_version']} > {FORMAT_VERSION}); upgrade carbon_bayes")
    wrote = str(attrs.get("carbon_bayes_version", ""))
    if _version_tuple(wrote) > _version_tuple(__version__):
        raise PosteriorFileError(f"{path}: written by carbon_bayes {wrote}, newer than the installed {__version__}; "
                                 "its model may differ from this one: upgrade carbon_bayes (pip install -U "
                                 "carbon_bayes)")


def _check_integrity(tree: xr.DataTree, post: xr.Dataset, attrs: dict, path: str) -> None:
    """Verify the stored content and data hashes and that there are enough draws."""
    stored = attrs.get("content_sha256")
    if stored is not None and stored != content_sha256(post):
        raise PosteriorFileError(f"{path}: the posterior draws do not match the file's content hash (stored "
                                 f"{str(stored)[:12]}): the file was modified or damaged; re-create it with "
                                 "`carbon-bayes fit` (or `update`)")
    if "fit_data" in tree and dataset_sha256(dataset_from_tree(tree)) != attrs["data_sha256"]:
        raise PosteriorFileError(f"{path}: the fit data stored in the file do not match its data_sha256 "
                                 f"({str(attrs['data_sha256'])[:12]}): the file was modified or damaged; re-create it")
    n = int(np.prod([post.sizes.get("chain", 0), post.sizes.get("draw", 0)]))
    if n < MIN_DRAWS:
        raise PosteriorFileError(f"{path}: {n} posterior draws; at least {MIN_DRAWS} are needed for an interval: "
                                 "refit with more draws (`carbon-bayes fit --draws 1000`)")


def _checked_draws(name: str, arr: np.ndarray, path: str) -> np.ndarray:
    """Draws of one variable as float, refused when non-finite or beyond any value the model can take."""
    if not np.all(np.isfinite(arr)):
        raise PosteriorFileError(f"{path}: {name} has non-finite draws")
    if not arr.size:
        return arr.astype(float)  # no draws: refused with the count after every variable is read
    worst = float(np.abs(arr).max())
    if worst > MAX_ABS_DRAW or ((name.endswith("_sigma") or name.endswith("_spread")) and float(arr.min()) < 0):
        raise PosteriorFileError(f"{path}: {name} has draws up to {worst:.3g} (or a negative scale), beyond anything "
                                 f"this model fits (|x| <= {MAX_ABS_DRAW:g} on its log/logit scales): the file is "
                                 "damaged or edited; re-create it")
    return arr.astype(float)


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
    tree: xr.DataTree

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
        hint = ("the shipped posterior is missing; rebuild it with `python scripts/build_default_posterior.py`"
                if path == default_posterior_path()
                else "check the path, or fit one with `carbon-bayes fit --out FILE`")
        raise PosteriorFileError(f"posterior file {str(path)!r} not found: {hint}")
    try:
        with xr.open_datatree(path, engine="h5netcdf") as t:
            tree = t.load()
    except Exception as e:  # h5py/netCDF raise many types for corrupt files
        raise PosteriorFileError(f"{path}: not a readable netCDF posterior ({type(e).__name__}: {e}); "
                                 "re-create it with `carbon-bayes fit`") from None
    return posterior_from_tree(tree, str(path))


def posterior_from_tree(tree: xr.DataTree, path: str = "<memory>") -> Posterior:
    """Check a posterior DataTree (as written by :func:`save_posterior` or built in memory) and wrap it."""
    attrs = dict(tree.attrs)
    missing = [a for a in REQUIRED_ATTRS if a not in attrs]
    if missing or attrs.get("format") != FORMAT:
        raise PosteriorFileError(f"{path}: not a carbon_bayes posterior (missing attributes {missing}); "
                                 "fit one with `carbon-bayes fit`")
    _check_versions(attrs, path)
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
        if group not in tree:
            raise PosteriorFileError(f"{path}: missing the {group!r} group; re-create the file with `carbon-bayes fit`")
    post = tree["posterior"].to_dataset()
    legacy = {old: new for old, new in effects.LEGACY_NAMES.items() if old in post and new not in post}
    if legacy:  # files written before the intensity variables were renamed
        post = post.rename(legacy)
    levels = config["model_config"]["levels"]
    draws = {}
    for name, dims in effects.predictor_variables().items():
        if name not in post:
            raise PosteriorFileError(f"{path}: posterior lacks {name!r}; it was not fitted by this model version")
        da = post[name]
        if tuple(da.dims) != ("chain", "draw", *dims):
            raise PosteriorFileError(f"{path}: {name} has dims {da.dims}, expected {('chain', 'draw', *dims)}")
        for d in dims:
            if list(da[d].values.astype(str)) != list(levels[d]):
                raise PosteriorFileError(f"{path}: {name} levels of {d!r} do not match the file's model_config")
        draws[name] = _checked_draws(name, da.values.reshape((-1,) + da.shape[2:]), path)
    _check_integrity(tree, tree["posterior"].to_dataset(), attrs, path)
    cluster = config["model_config"].get("default_cluster")
    if cluster:
        for name in ("u_cluster", "rho_cluster"):
            if name not in post or cluster not in list(post[name]["cluster"].values.astype(str)):
                raise PosteriorFileError(f"{path}: model_config names cluster {cluster!r} but {name} lacks it")
            draws[name] = post[name].sel(cluster=cluster).values.reshape(-1).astype(float)
    return Posterior(draws=draws, levels=levels, model_config=config["model_config"],
                     sampler_config=config["sampler_config"], convergence=config["convergence"], attrs=attrs,
                     path=str(path), tree=tree)
