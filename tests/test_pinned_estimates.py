"""Pinned outputs of ``estimate()``: speed work on the predictor must not change a single number.

``tests/data/pinned_estimates.csv`` holds the inputs and the outputs (``to_frame(mcse=True)``) of
one T1, one T2 and one T3 run, each estimated alone, and of a 50-run mixed batch estimated in one
call, as computed before the predictor was made faster. The file says how it was produced; it is
rewritten only on purpose (``python tests/test_pinned_estimates.py --write``), when the model or
the posterior change the numbers.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import carbon_bayes as cb
from carbon_bayes import schema

FIXTURE = Path(__file__).parent / "data" / "pinned_estimates.csv"
#: The columns of the fixture that are inputs (the rest are the estimate's outputs).
INPUTS = [c for c in schema.COLUMN_NAMES if c != "model_name"]
NUMBERS = ["energy_mwh_mean", "energy_mwh_median", "energy_mwh_lower", "energy_mwh_upper", "co2_t_mean",
           "co2_t_median", "co2_t_lower", "co2_t_upper", "energy_mwh_median_mcse", "co2_t_median_mcse"]

#: One run per tier (as in benchmarks/bench_speed.py).
T1 = {"run_id": "t1", "year": 2023, "task": "language", "architecture": "dense_transformer", "parameters": 7e9,
      "hardware": "A100-80GB", "device_hours": 184_320, "country": "US"}
T2 = {"run_id": "t2", "year": 2023, "task": "language", "architecture": "dense_transformer", "parameters": 7e9,
      "training_tokens": 2e12, "hardware": "A100-80GB", "country": "US"}
T3 = {"run_id": "t3", "year": 2023, "task": "language", "architecture": "dense_transformer", "parameters": 7e9}
#: Rows the benchmark mix lacks: other energy bases, given PUE / intensity / watts, a precision, a GPU-only
#: reading, mixture-of-experts, an unknown location with known hardware, no year, a metadata-only fine-tune.
EXTRA = [
    {"run_id": "nominal", "year": 2022, "task": "language", "parameters": 1.76e11, "training_tokens": 3e11,
     "hardware": "A100-40GB", "provider": "azure", "energy_basis": "nominal"},
    {"run_id": "tdp", "year": 2021, "task": "vision", "architecture": "cnn", "parameters": 6e8,
     "hardware": "V100", "device_hours": 40_000, "energy_basis": "tdp", "pue": 1.2, "country": "FR"},
    {"run_id": "given", "year": 2024, "parameters": 8e9, "training_tokens": 1.5e13, "hardware": "H100",
     "precision": "fp8", "power_per_device_w": 900, "carbon_intensity": 0.2, "region": "gcp:europe-west4"},
    {"run_id": "gpu-only", "year": 2023, "task": "speech", "parameters": 1.5e9, "device_hours": 20_000,
     "hardware": "A100-80GB", "power_scope": "gpu", "provider": "meta", "country": "US"},
    {"run_id": "moe", "year": 2024, "architecture": "moe_transformer", "parameters": 4.7e10,
     "active_parameters": 1.3e10, "training_tokens": 8e12, "hardware": "H100", "region": "aws:us-east-1"},
    {"run_id": "no-year", "task": "image_generation", "architecture": "diffusion_unet", "parameters": 9e8,
     "hardware": "TPU v4", "n_devices": 256, "training_days": 10},
    {"run_id": "finetune", "year": 2024, "task": "language", "parameters": 8e9, "scope": "finetune", "country": "DE"},
]


def _calls(inputs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {str(c): g[INPUTS] for c, g in inputs.groupby("call", sort=False)}


def _estimate(runs: pd.DataFrame) -> pd.DataFrame:
    return cb.estimate(runs.reset_index(drop=True)).to_frame(mcse=True)


def read_fixture() -> pd.DataFrame:
    """Read the fixture, comment lines skipped, floats back exactly as written (pandas 3 parses %.17g round-trip)."""
    lines = FIXTURE.read_text().splitlines()
    skip = sum(1 for line in lines if line.startswith("#"))
    return pd.read_csv(FIXTURE, skiprows=skip, keep_default_na=False,
                       na_values=[""], dtype={"warnings": str, "tier": str})


@pytest.fixture(scope="module")
def pinned() -> pd.DataFrame:
    return read_fixture()


def test_the_fixture_has_the_three_tiers_and_a_fifty_run_batch(pinned):
    sizes = pinned.groupby("call", sort=False).size().to_dict()
    assert sizes == {"T1": 1, "T2": 1, "T3": 1, "batch": 50}
    assert set(pinned.loc[pinned["call"] == "batch", "tier"]) == {"T1", "T2", "T3"}


@pytest.mark.parametrize("call", ["T1", "T2", "T3", "batch"])
def test_estimates_equal_the_pinned_numbers(pinned, call):
    want = pinned[pinned["call"] == call].reset_index(drop=True)
    got = _estimate(want[INPUTS])
    assert list(got["run_id"]) == list(want["run_id"])
    assert list(got["tier"]) == list(want["tier"])
    assert list(got["n_draws"]) == list(want["n_draws"])
    assert list(got["warnings"].fillna("")) == list(want["warnings"].fillna(""))
    np.testing.assert_allclose(got[NUMBERS].to_numpy(dtype=float), want[NUMBERS].to_numpy(dtype=float),
                               rtol=1e-12, atol=0)


def write_fixture(commit: str) -> None:
    """Compute the outputs from the inputs as read back from CSV, and write inputs + outputs."""
    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from bench_speed import make_runs

    mix = pd.concat([make_runs(50 - len(EXTRA), seed=11), pd.DataFrame(EXTRA)], ignore_index=True)
    frames = [pd.DataFrame([T1]).assign(call="T1"), pd.DataFrame([T2]).assign(call="T2"),
              pd.DataFrame([T3]).assign(call="T3"), mix.assign(call="batch")]
    inputs = pd.concat(frames, ignore_index=True).reindex(columns=["call", *INPUTS])
    FIXTURE.parent.mkdir(exist_ok=True)
    tmp = FIXTURE.with_suffix(".inputs.tmp")
    inputs.to_csv(tmp, index=False, float_format="%.17g")
    back = pd.read_csv(tmp)
    tmp.unlink()
    outputs = pd.concat([_estimate(runs) for runs in _calls(back).values()], ignore_index=True)
    table = pd.concat([back, outputs.drop(columns=["run_id"])], axis=1)
    header = (f"# Pinned estimate() outputs (tests/test_pinned_estimates.py), computed on main at {commit}\n"
              "# (the model with the fine-tune compute shift), with the shipped posterior and the default seed, by\n"
              "# `python tests/test_pinned_estimates.py --write <commit>`: the T1/T2/T3 runs alone, the 50-run\n"
              f"# batch (benchmarks/bench_speed.py make_runs({50 - len(EXTRA)}, seed=11) + {len(EXTRA)} hand-made "
              "rows) in one call.\n")
    FIXTURE.write_text(header + table.to_csv(index=False, float_format="%.17g"))


if __name__ == "__main__":
    if sys.argv[1:2] != ["--write"] or len(sys.argv) != 3:
        raise SystemExit("usage: python tests/test_pinned_estimates.py --write <commit>")
    write_fixture(sys.argv[2])
