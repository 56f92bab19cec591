"""A fine-tune (``scope = finetune``): its compute is a learned fraction of a pretraining's.

The input is read and checked like every category; where compute is drawn (no hours, FLOPs or
tokens) the predictor shifts the compute regression by the posterior's fine-tune offset and widens
its residual; where compute is known the scope changes nothing.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from carbon_bayes import schema
from carbon_bayes.errors import InputError
from carbon_bayes.streams import Streams

META = {"year": 2024, "task": "language", "architecture": "dense_transformer", "parameters": 7e9}


class ZeroNoise(Streams):
    """Every standard draw at the centre of its distribution (zeros), every uniform at 0."""

    def __init__(self, n: int):
        super().__init__(np.arange(n, dtype=np.uint64), 1, 0)

    def normal(self, node, cols, spec=False):
        return np.zeros((1, len(np.asarray(cols))), dtype=np.float32)

    def student_t(self, node, nu, cols, spec=False):
        return np.zeros((1, len(np.asarray(cols))), dtype=np.float32)

    def uniform(self, node, cols, spec=False):
        return np.zeros((1, len(np.asarray(cols))))


@pytest.mark.parametrize(("given", "read"), [
    (None, "pretraining"), ("pretraining", "pretraining"), ("final_pretraining", "pretraining"),
    ("Fine-tune", "finetune"), ("finetune", "finetune"), ("QLoRA", "finetune"), ("instruction tuning", "finetune"),
])
def test_scope_is_read_with_its_default_and_spellings(given, read):
    run = dict(META) | ({} if given is None else {"scope": given})
    assert schema.normalise_runs(run)["scope"].iloc[0] == read


def test_an_unknown_scope_names_the_field_the_value_and_the_choices():
    with pytest.raises(InputError) as e:
        schema.normalise_runs(dict(META, scope="continued"))
    assert e.value.field == "scope" and e.value.value == "continued"
    assert "pretraining" in e.value.fix and "finetune" in e.value.fix


def test_the_cli_refuses_an_unknown_scope_without_a_traceback():
    r = subprocess.run([sys.executable, "-m", "carbon_bayes", "estimate", "--year", "2024", "--task", "language",
                        "--parameters", "7e9", "--scope", "continued"], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "scope" in r.stderr and "continued" in r.stderr and "finetune" in r.stderr
    assert "Traceback" not in r.stderr


def _one_draw(posterior, i: int = 0):
    return dataclasses.replace(posterior, draws={k: np.asarray(v)[i:i + 1] for k, v in posterior.draws.items()})


def test_a_fine_tunes_drawn_compute_is_shifted_by_the_learned_offset(shipped_posterior):
    """At one posterior draw with every random number at its centre, only the shift differs."""
    from carbon_bayes.predict import Predictor

    post = _one_draw(shipped_posterior, 7)
    pred = Predictor(post)
    runs = schema.normalise_runs(pd.DataFrame([dict(META, scope="pretraining"), dict(META, scope="finetune")]))
    sim = pred.simulate(runs, ZeroNoise(2), label_noise=False)
    offset = float(post.draws["compute_finetune_offset"][0])
    assert offset < -0.5  # a fine-tune spends a fraction of a pretraining (prior N(-2.5, 1) dex)
    ratio = np.log10(sim.training_flops[0, 1] / sim.training_flops[0, 0])
    np.testing.assert_allclose(ratio, offset, atol=1e-5)  # float32 FLOP: 7 digits
    # the chain downstream of compute is the same: energy and CO2 move by the same factor
    np.testing.assert_allclose(np.log10(sim.energy_mwh[0, 1] / sim.energy_mwh[0, 0]), offset, atol=1e-5)
    np.testing.assert_allclose(np.log10(sim.co2_t[0, 1] / sim.co2_t[0, 0]), offset, atol=1e-5)


@pytest.mark.parametrize("known", [{"device_hours": 5000.0, "hardware": "H100-SXM5"},
                                   {"training_tokens": 1e9, "hardware": "H100-SXM5"},
                                   {"training_flops": 4e19}])
def test_scope_changes_nothing_when_compute_is_known(known, shipped_posterior):
    """With the same random numbers (one key for both runs), every draw is the same."""
    from carbon_bayes.predict import Predictor

    runs = schema.normalise_runs(pd.DataFrame([dict(META, scope=s, **known) for s in ("pretraining", "finetune")]))
    sim = Predictor(shipped_posterior).simulate(runs, Streams(np.array([11, 11], dtype=np.uint64), 2000, 3))
    for node in ("training_flops", "device_hours", "energy_mwh", "co2_t"):
        np.testing.assert_array_equal(getattr(sim, node)[:, 0], getattr(sim, node)[:, 1], err_msg=node)
    # and the comparison can fail: without compute, the same keys give different draws
    bare = schema.normalise_runs(pd.DataFrame([dict(META, scope=s) for s in ("pretraining", "finetune")]))
    sim = Predictor(shipped_posterior).simulate(bare, Streams(np.array([11, 11], dtype=np.uint64), 2000, 3))
    assert not np.allclose(sim.energy_mwh[:, 0], sim.energy_mwh[:, 1])


def test_a_metadata_only_fine_tune_is_estimated_far_below_a_pretraining(shipped_posterior):
    """The medians differ by about the offset; the fine-tune's interval is wider (its residual is)."""
    import carbon_bayes as cb

    pre, ft = (cb.estimate(dict(META, scope=s), seed=5).summary.iloc[0] for s in ("pretraining", "finetune"))
    lo, hi = np.quantile(shipped_posterior.draws["compute_finetune_offset"], [0.05, 0.95])
    # Medians of log energy add (the shift is independent of the rest of the chain): the ratio of the
    # medians lies in the offset's 90% posterior range, widened by 0.3 dex for the skew that the
    # widened residual adds and the median's Monte Carlo error (under 1% by the draw policy).
    ratio = np.log10(ft["energy_mwh_median"] / pre["energy_mwh_median"])
    assert lo - 0.3 < ratio < hi + 0.3, (ratio, lo, hi)
    assert ratio < -0.5
    width = {k: np.log10(r["energy_mwh_upper"] / r["energy_mwh_lower"]) for k, r in (("pre", pre), ("ft", ft))}
    assert width["ft"] > width["pre"]
    assert "fine-tune" in ft["warnings"]
