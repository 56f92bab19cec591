"""Shared fixtures: a fixed seed, one small real fit per session, slow-test opt-in, headless plots."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

SEED = sum(map(ord, "carbon_bayes"))
#: Sampler settings of the session fit: small, so the suite stays fast; its convergence is
#: not gated (the shipped posterior is, in tests/test_posterior.py).
TINY_SAMPLER = {"draws": 150, "tune": 200, "chains": 2, "seed": SEED, "progressbar": False}


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def rng():
    return np.random.default_rng(SEED)


@pytest.fixture(scope="session")
def dataset():
    from carbon_bayes.dataset import load_training_runs

    return load_training_runs()


@pytest.fixture(scope="session")
def tiny_fit(tmp_path_factory, dataset):
    """One small real fit of the shipped dataset, saved once; tests get the path (read-only use)."""
    from carbon_bayes.fitting import CarbonModel

    m = CarbonModel(sampler_config=TINY_SAMPLER)
    m.fit(dataset, allow_unconverged=True)  # unconverged by design; it warns of nothing (warnings are errors)
    path = tmp_path_factory.mktemp("fit") / "tiny_posterior.nc"
    m.save(path)
    return {"model": m, "path": path}


@pytest.fixture(scope="session")
def shipped_posterior():
    from carbon_bayes.posterior import load_posterior

    return load_posterior()
