"""The posterior file format and the shipped posterior.

Round trip, atomic writes, clear errors, no pickle, and the shipped posterior (fresh and converged).

Broken files are made from the session's ``tiny_fit`` file by changing one thing at a time,
so each test names the one defect it checks.
"""

from __future__ import annotations

import json
import os
import pickle
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

import carbon_bayes
from carbon_bayes.dataset import load_training_runs
from carbon_bayes.errors import PosteriorFileError
from carbon_bayes.posterior import (
    FORMAT_VERSION,
    PREDICTOR_VARIABLES,
    atomic_write,
    dataset_sha256,
    load_posterior,
    priors_sha256,
    save_posterior,
)
from carbon_bayes.resources import default_posterior_path

PACKAGE = Path(carbon_bayes.__file__).parent
REBUILD = "python scripts/build_default_posterior.py"


def _open(path) -> xr.DataTree:
    with xr.open_datatree(path, engine="h5netcdf") as t:
        return t.load()


@pytest.fixture(scope="module")
def base(tiny_fit) -> xr.DataTree:
    """Open the tiny fit's file as a DataTree (read once; variants change a deep copy)."""
    return _open(tiny_fit["path"])


def _variant(base: xr.DataTree, dst, mutate) -> Path:
    """Write ``mutate(copy of base)`` to ``dst``: a posterior file with one thing changed."""
    mutate(base.copy(deep=True)).to_netcdf(dst, engine="h5netcdf")
    return Path(dst)


def _with_posterior(tree: xr.DataTree, fn) -> xr.DataTree:
    tree["posterior"] = xr.DataTree(fn(tree["posterior"].to_dataset()))
    return tree


def _without_group(tree: xr.DataTree, group: str) -> xr.DataTree:
    out = xr.DataTree()
    for name, child in tree.children.items():
        if name != group:
            out[name] = xr.DataTree(child.to_dataset())
    out.attrs = dict(tree.attrs)
    return out


def _set_attr(tree: xr.DataTree, **attrs) -> xr.DataTree:
    tree.attrs = {**tree.attrs, **attrs}
    return tree


def _expect_error(path, *phrases):
    with pytest.raises(PosteriorFileError) as info:
        load_posterior(path)
    msg = str(info.value)
    assert str(path) in msg, f"the message should name the file: {msg}"
    for p in phrases:
        assert re.search(p, msg, re.IGNORECASE), f"{p!r} not in {msg!r}"
    return msg


# ------------------------------------------------------------------------------ round trip

def test_a_loaded_file_saves_and_loads_again_unchanged(tiny_fit, base, tmp_path):
    first = load_posterior(tiny_fit["path"])
    tree = base.copy(deep=True)
    again = save_posterior(tree, tmp_path / "again.nc", fit_rows=first.fit_data(), model_config=first.model_config,
                           sampler_config=first.sampler_config, convergence=first.convergence,
                           data_sha256=first.attrs["data_sha256"], priors_sha256=first.attrs["priors_sha256"])
    second = load_posterior(again)
    for name in PREDICTOR_VARIABLES:
        np.testing.assert_array_equal(second.draws[name], first.draws[name], err_msg=name)
    assert second.model_config == first.model_config
    assert second.convergence == first.convergence
    assert second.levels == first.levels
    for k in ("data_sha256", "priors_sha256", "format", "format_version"):
        assert second.attrs[k] == first.attrs[k]
    assert dataset_sha256(second.fit_data()) == dataset_sha256(first.fit_data())


def test_draws_are_stored_as_float32_and_thinning_keeps_every_other_draw(tiny_fit, tmp_path):
    m = tiny_fit["model"]
    with h5py.File(tiny_fit["path"], "r") as h:
        assert h["posterior"]["u_intercept"].dtype == np.float32
    thinned = load_posterior(m.save(tmp_path / "thin.nc", thin=2))
    full = load_posterior(tiny_fit["path"])
    assert thinned.n_draws == full.n_draws // 2
    per_chain = full.draws["rho_intercept"].reshape(2, -1)[:, ::2].reshape(-1)
    np.testing.assert_array_equal(thinned.draws["rho_intercept"], per_chain)


# ------------------------------------------------------------------------------ atomic writes

def test_saving_leaves_only_the_file(tiny_fit, tmp_path):
    out = tiny_fit["model"].save(tmp_path / "sub" / "post.nc")
    assert sorted(p.name for p in out.parent.iterdir()) == ["post.nc"]
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    load_posterior(out)


@pytest.mark.parametrize("exc", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_failed_write_leaves_neither_a_temp_file_nor_a_half_written_file(tmp_path, exc):
    target = tmp_path / "post.nc"

    def half_then_fail(tmp):
        Path(tmp).write_bytes(b"\x89HDF\r\n\x1a\n" + b"x" * 1000)
        raise exc

    with pytest.raises(type(exc)):
        atomic_write(target, half_then_fail)
    assert list(tmp_path.iterdir()) == []
    target.write_bytes(b"previous content")
    with pytest.raises(type(exc)):
        atomic_write(target, half_then_fail)
    assert target.read_bytes() == b"previous content"
    assert [p.name for p in tmp_path.iterdir()] == ["post.nc"]


def test_a_save_that_fails_inside_the_netcdf_writer_keeps_the_previous_file(tiny_fit, tmp_path):
    target = tmp_path / "post.nc"
    target.write_bytes(Path(tiny_fit["path"]).read_bytes())
    before = target.read_bytes()
    m = tiny_fit["model"]
    bad = m.idata.copy()
    post = bad["posterior"].to_dataset()
    unwritable = np.empty((post.sizes["chain"], post.sizes["draw"]), dtype=object)
    unwritable[...] = {"not": "a number"}
    bad["posterior"] = xr.DataTree(post.assign(unwritable=(("chain", "draw"), unwritable)))
    with pytest.raises(Exception):  # noqa: B017 - whatever the writer raises
        save_posterior(bad, target, **m.provenance())
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["post.nc"]
    load_posterior(target)


# ------------------------------------------------------------------------------ clear errors

def test_a_missing_file(tmp_path):
    msg = _expect_error(tmp_path / "nope.nc", "not found", "carbon-bayes fit")
    assert "nope.nc" in msg


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_a_truncated_file(tiny_fit, tmp_path, fraction):
    data = Path(tiny_fit["path"]).read_bytes()
    bad = tmp_path / "truncated.nc"
    bad.write_bytes(data[: int(len(data) * fraction)])
    _expect_error(bad, "not a readable netCDF posterior")


def test_a_corrupt_header_and_a_file_that_is_not_netcdf(tiny_fit, tmp_path):
    data = bytearray(Path(tiny_fit["path"]).read_bytes())
    data[:8] = b"\x00" * 8  # the HDF5 signature
    bad = tmp_path / "corrupt.nc"
    bad.write_bytes(bytes(data))
    _expect_error(bad, "not a readable netCDF posterior", "carbon-bayes fit")
    text = tmp_path / "runs.nc"
    text.write_text("run_id,energy_mwh\nx,1\n")
    _expect_error(text, "not a readable netCDF posterior")
    noise = tmp_path / "noise.nc"
    noise.write_bytes(np.random.default_rng(0).bytes(50_000))
    _expect_error(noise, "not a readable netCDF posterior")


def test_a_netcdf_file_that_is_not_a_posterior(tmp_path):
    other = tmp_path / "other.nc"
    xr.Dataset({"t": ("x", np.arange(3.0))}, attrs={"title": "temperatures"}).to_netcdf(other, engine="h5netcdf")
    _expect_error(other, "not a carbon_bayes posterior", "carbon-bayes fit")


def test_a_posterior_of_another_format(base, tmp_path):
    bad = _variant(base, tmp_path / "fmt.nc", lambda t: _set_attr(t, format="arviz-inference-data"))
    _expect_error(bad, "not a carbon_bayes posterior")


def test_a_file_from_a_newer_format(base, tmp_path):
    bad = _variant(base, tmp_path / "newer.nc",
                   lambda t: _set_attr(t, format_version=FORMAT_VERSION + 1))
    _expect_error(bad, "newer", "upgrade carbon_bayes")


@pytest.mark.parametrize("name", ["rho_intercept", "u_generation"])
def test_a_posterior_lacking_a_variable_the_predictor_needs(base, tmp_path, name):
    bad = _variant(base, tmp_path / "missing.nc",
                   lambda t: _with_posterior(t, lambda ds: ds.drop_vars(name)))
    _expect_error(bad, re.escape(repr(name)))


def test_a_variable_with_other_levels_than_the_file_declares(base, tmp_path):
    def relabel(ds):
        gen = [f"x-{g}" for g in ds["generation"].values.astype(str)]
        return ds.assign_coords(generation=gen)

    bad = _variant(base, tmp_path / "levels.nc", lambda t: _with_posterior(t, relabel))
    _expect_error(bad, "levels", "generation")


def test_non_finite_draws(base, tmp_path):
    def poison(ds):
        v = ds["u_intercept"].values.copy()
        v[0, 0] = np.nan
        return ds.assign(u_intercept=(ds["u_intercept"].dims, v))

    bad = _variant(base, tmp_path / "nan.nc", lambda t: _with_posterior(t, poison))
    _expect_error(bad, "u_intercept", "non-finite")


@pytest.mark.parametrize("group", ["posterior", "fit_data"])
def test_a_missing_group(base, tmp_path, group):
    bad = _variant(base, tmp_path / "group.nc", lambda t: _without_group(t, group))
    _expect_error(bad, re.escape(repr(group)))


def test_corrupt_or_outdated_configuration(base, tmp_path):
    bad = _variant(base, tmp_path / "json.nc", lambda t: _set_attr(t, model_config="{levels: oops"))
    _expect_error(bad, "corrupt configuration")

    def drop_fixed(t):
        cfg = json.loads(t.attrs["model_config"])
        cfg["fixed"] = {}
        return _set_attr(t, model_config=json.dumps(cfg))

    old = _variant(base, tmp_path / "old.nc", drop_fixed)
    _expect_error(old, "older model version", "refit")
    for attr in ("data_sha256", "convergence"):
        tree = base.copy(deep=True)
        tree.attrs = {k: v for k, v in tree.attrs.items() if k != attr}
        tree.to_netcdf(tmp_path / f"no_{attr}.nc", engine="h5netcdf")
        _expect_error(tmp_path / f"no_{attr}.nc", attr)


def test_estimate_reports_a_bad_model_file_as_a_posterior_file_error(tmp_path):
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"not a posterior")
    with pytest.raises(PosteriorFileError, match="not a readable netCDF"):
        carbon_bayes.estimate({"hardware": "A100", "device_hours": 1000, "year": 2023}, posterior=bad)
    assert issubclass(PosteriorFileError, ValueError)


# ------------------------------------------------------------------------------ no pickle

PICKLE_USE = [
    r"^\s*(import|from)\s+(c?pickle|_pickle|dill|cloudpickle|joblib|shelve|marshal)\b",
    r"\b(c?pickle|dill|cloudpickle|joblib|shelve|marshal)\.\w+\s*\(",
    r"allow_pickle\s*=\s*True",
    r"\.(read|to)_pickle\s*\(",
    r"\btorch\.load\s*\(",
]


def test_the_package_never_uses_pickle():
    hits = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if any(re.search(p, line) for p in PICKLE_USE):
                hits.append(f"{path.relative_to(PACKAGE.parent)}:{i}: {line.strip()}")
    assert not hits, "pickle-like loading in the package:\n" + "\n".join(hits)
    scripts = PACKAGE.parent / "scripts"
    if scripts.is_dir():
        for path in scripts.glob("*.py"):
            assert not re.search(r"allow_pickle\s*=\s*True|\bpickle\.load", path.read_text()), path


def test_loading_and_estimating_unpickle_nothing(tiny_fit, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("pickle was used")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    post = load_posterior(tiny_fit["path"])
    est = carbon_bayes.estimate({"hardware": "A100", "device_hours": 5000, "year": 2022, "parameters": 1e9,
                                 "architecture": "dense_transformer"}, posterior=post, n_draws=100)
    assert len(est.to_frame()) == 1


@pytest.mark.parametrize("which", ["tiny", "shipped"])
def test_posterior_files_hold_only_numbers_and_strings(tiny_fit, which):
    path = tiny_fit["path"] if which == "tiny" else default_posterior_path()
    if not Path(path).is_file():
        pytest.fail(f"the shipped posterior {path} is missing; rebuild it with `{REBUILD}`")
    bad = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            ok = obj.dtype.kind in "fiub" or h5py.check_string_dtype(obj.dtype) is not None
            if not ok:
                bad.append(f"{name}: {obj.dtype}")
        for k, v in obj.attrs.items():
            if k in ("DIMENSION_LIST", "REFERENCE_LIST"):  # HDF5 dimension-scale object references
                continue
            if isinstance(v, np.void) or (isinstance(v, np.ndarray) and v.dtype.kind in "VO"
                                          and not all(isinstance(x, (str, bytes)) for x in v.flat)):
                bad.append(f"{name}@{k}: {type(v)}")

    with h5py.File(path, "r") as h:
        h.visititems(visit)
        visit("/", h)
    assert not bad, f"opaque (possibly pickled) content in {path}: {bad}"


# ------------------------------------------------------------------------------ the shipped posterior

@pytest.fixture(scope="module")
def shipped_attrs():
    path = default_posterior_path()
    if not path.is_file():
        pytest.fail(f"the shipped posterior {path} is missing; rebuild it with `{REBUILD}`")
    with xr.open_datatree(path, engine="h5netcdf") as t:
        return dict(t.attrs)


def test_the_shipped_posterior_is_built_from_the_current_data(shipped_attrs):
    want = dataset_sha256(load_training_runs())
    assert shipped_attrs.get("data_sha256") == want, (
        "the shipped posterior is stale: data/training_runs.csv changed since it was fitted "
        f"(file {shipped_attrs.get('data_sha256', '?')[:12]}, data {want[:12]}); rebuild it with `{REBUILD}`")


def test_the_shipped_posterior_is_built_from_the_current_priors(shipped_attrs):
    want = priors_sha256()
    assert shipped_attrs.get("priors_sha256") == want, (
        "the shipped posterior is stale: priors/ changed since it was fitted "
        f"(file {shipped_attrs.get('priors_sha256', '?')[:12]}, priors {want[:12]}); rebuild it with `{REBUILD}`")


def test_the_shipped_posterior_loads(shipped_attrs):
    try:
        post = load_posterior()
    except PosteriorFileError as e:
        pytest.fail(f"{e}; rebuild it with `{REBUILD}`")
    assert post.n_draws >= 1000


def test_the_shipped_posterior_passed_the_convergence_gate(shipped_attrs):
    from carbon_bayes.fitting import GATE

    rep = json.loads(shipped_attrs["convergence"])
    assert rep.get("passed") is True, f"the shipped posterior failed the convergence gate: {rep}; rebuild it with " \
                                      f"`{REBUILD}` after fixing the model or sampler settings"
    assert rep["r_hat_max"] <= GATE["r_hat_max"]
    assert rep["ess_bulk_min"] >= GATE["ess_bulk_min"]
    assert rep["divergences"] == 0
    # the gate it passed is today's gate
    assert {k: rep[f"gate_{k}"] for k in GATE} == GATE
    sampler = json.loads(shipped_attrs["sampler_config"])
    assert sampler["chains"] >= 4, "r_hat from fewer than 4 chains is a weak check"


def test_the_shipped_draws_themselves_are_converged(shipped_attrs):
    """Recompute r_hat and bulk ESS from the stored (thinned) draws of what the predictor reads."""
    import arviz as az

    with xr.open_datatree(default_posterior_path(), engine="h5netcdf") as t:
        ds = t["posterior"].to_dataset()
        missing = [v for v in PREDICTOR_VARIABLES if v not in ds]
        assert not missing, f"the shipped posterior lacks {missing}; rebuild it with `{REBUILD}`"
        post = ds[list(PREDICTOR_VARIABLES)].load()
        div = int(t["sample_stats"]["diverging"].values.sum()) if "sample_stats" in t else None
    # A variable the configuration fixes (e.g. ci_provider_sigma) holds one value in every draw:
    # r_hat and ESS are undefined for it (0/0), so it is checked for being constant instead.
    flat = {k: post[k].values.reshape(post.sizes["chain"] * post.sizes["draw"], -1) for k in PREDICTOR_VARIABLES}
    fixed = [k for k, v in flat.items() if np.all(np.ptp(v, axis=0) == 0)]
    sampled = [k for k in PREDICTOR_VARIABLES if k not in fixed]
    partly = {k: int((np.ptp(flat[k], axis=0) == 0).sum()) for k in sampled if np.any(np.ptp(flat[k], axis=0) == 0)}
    assert not partly, f"elements constant across all draws (not sampled, not fixed): {partly}"
    rhat = az.rhat(post[sampled])
    ess = az.ess(post[sampled], method="bulk")
    worst_r = {k: float(np.max(rhat[k].values)) for k in sampled}
    worst_e = {k: float(np.min(ess[k].values)) for k in sampled}
    assert max(worst_r.values()) <= 1.01, {k: v for k, v in worst_r.items() if v > 1.01}
    assert min(worst_e.values()) >= 400, {k: v for k, v in worst_e.items() if v < 400}
    assert div == 0


def test_files_with_the_old_intensity_names_load_under_the_new_ones(shipped_posterior):
    """Load a posterior written with the old intensity names (ci_offset, ...) under today's names."""
    from carbon_bayes import effects
    from carbon_bayes.posterior import posterior_from_tree

    tree = shipped_posterior.tree.copy()
    post = tree["posterior"].to_dataset()
    old = {new: old for old, new in effects.LEGACY_NAMES.items() if new in post}
    assert "intensity_spread" in old
    tree["posterior"] = xr.DataTree(post.rename(old))
    loaded = posterior_from_tree(tree)
    for new in old:
        if new in shipped_posterior.draws:
            np.testing.assert_array_equal(loaded.draws[new], shipped_posterior.draws[new])
