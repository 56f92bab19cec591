"""The physical chain (carbon_bayes.formula) against values worked out by hand.

Also the LLaMA paper's Table 15 reproduced from its stated assumptions using the committed dataset rows.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from carbon_bayes import formula
from carbon_bayes.resources import data_path

# ----------------------------------------------------------------------------- hand-checked values


def test_worked_example_1000_a100_hours():
    # 1,000 h x 400 W = 400,000 Wh = 400 kWh; x PUE 1.1 = 440 kWh = 0.44 MWh;
    # x 0.385 kg/kWh = 169.4 kg = 0.1694 t.
    e = formula.energy_mwh(1000.0, 400.0, 1.1)
    assert e == pytest.approx(0.44, rel=1e-12)
    assert formula.co2_t(e, 0.385) == pytest.approx(0.1694, rel=1e-12)


def test_chain_matches_worked_example_and_applies_power_fraction():
    e, c = formula.chain(device_hours_=1000.0, tdp_w=400.0, power_fraction=1.0, pue=1.1, carbon_intensity=0.385)
    assert (e, c) == (pytest.approx(0.44), pytest.approx(0.1694))
    # rho = 0.5 halves the power: 1,000 h x 200 W x 1.1 = 220 kWh = 0.22 MWh; x 0.385 = 0.0847 t.
    e, c = formula.chain(device_hours_=1000.0, tdp_w=400.0, power_fraction=0.5, pue=1.1, carbon_intensity=0.385)
    assert (e, c) == (pytest.approx(0.22), pytest.approx(0.0847))


def test_power_w_is_tdp_times_fraction():
    # 700 W x 0.6 = 420 W
    assert formula.power_w(700.0, 0.6) == pytest.approx(420.0)


def test_device_hours_from_flops():
    # 312e12 FLOP/s x 0.5 = 1.56e14 FLOP/s achieved; x 3600 s/h = 5.616e17 FLOP per device-hour;
    # 1e21 / 5.616e17 = 1780.6267806... device-hours.
    h = formula.device_hours(1e21, 312e12, 0.5)
    assert h == pytest.approx(1780.6267806, rel=1e-9)
    assert round(h, 1) == 1780.6


def test_training_flops_is_six_n_d():
    # 7e9 parameters x 2e12 tokens x 6 = 8.4e22 FLOP (the Llama 2 7B figure Epoch AI lists).
    assert formula.training_flops(7e9, 2e12) == pytest.approx(8.4e22, rel=1e-12)
    # 1 parameter, 1 token -> 6 FLOP (forward 2 + backward 4)
    assert formula.training_flops(1.0, 1.0) == 6.0


def test_works_elementwise_on_numpy_arrays():
    h = np.array([1000.0, 2000.0, 0.0])
    e = formula.energy_mwh(h, np.array([400.0, 700.0, 300.0]), np.array([1.1, 1.2, 1.5]))
    # 1000 x 400 x 1.1 = 0.44 MWh; 2000 x 700 x 1.2 = 1.68 MWh; 0 h -> 0
    np.testing.assert_allclose(e, [0.44, 1.68, 0.0], rtol=1e-12)
    np.testing.assert_allclose(formula.co2_t(e, np.array([0.5, 0.1, 0.3])), [0.22, 0.168, 0.0], rtol=1e-12)


def test_zero_intensity_gives_exactly_zero_co2():
    assert formula.co2_t(formula.energy_mwh(1e6, 500.0, 1.2), 0.0) == 0.0


# ----------------------------------------------------------------------------- pytensor == numpy


def test_same_numbers_on_pytensor_tensors():
    pytensor = pytest.importorskip("pytensor")
    pt = pytest.importorskip("pytensor.tensor")

    flops, peak, util, tdp, rho, pue, ci = (pt.dvector(n) for n in ("flops", "peak", "util", "tdp", "rho", "pue", "ci"))
    n_param, n_tok = pt.dvector("n"), pt.dvector("d")
    hours = formula.device_hours(flops, peak, util)
    e, c = formula.chain(device_hours_=hours, tdp_w=tdp, power_fraction=rho, pue=pue, carbon_intensity=ci)
    six_nd = formula.training_flops(n_param, n_tok)
    fn = pytensor.function([flops, peak, util, tdp, rho, pue, ci, n_param, n_tok], [hours, e, c, six_nd],
                           mode="FAST_COMPILE")

    rng = np.random.default_rng(0)
    args = [10 ** rng.uniform(18, 25, 5), 10 ** rng.uniform(13, 15.5, 5), rng.uniform(0.1, 0.7, 5),
            rng.uniform(150, 1000, 5), rng.uniform(0.3, 1.4, 5), rng.uniform(1.0, 1.6, 5), rng.uniform(0, 0.9, 5),
            10 ** rng.uniform(6, 12, 5), 10 ** rng.uniform(9, 13, 5)]
    got = fn(*args)
    f_, pk, u, w, r, p, k, n_, d_ = args
    h_np = formula.device_hours(f_, pk, u)
    e_np, c_np = formula.chain(device_hours_=h_np, tdp_w=w, power_fraction=r, pue=p, carbon_intensity=k)
    for a, b in zip(got, (h_np, e_np, c_np, formula.training_flops(n_, d_)), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    # and the pytensor graph reproduces the hand-checked example
    e1, c1 = fn(*[np.array([v]) for v in (1e21, 312e12, 0.5, 400.0, 1.0, 1.1, 0.385, 1.0, 1.0)])[1:3]
    # 1780.6268 h x 400 W x 1.1 = 783.476 kWh = 0.783476 MWh; x 0.385 = 0.301638 t
    assert e1[0] == pytest.approx(0.7834758, rel=1e-6)
    assert c1[0] == pytest.approx(0.3016382, rel=1e-6)


# ----------------------------------------------------------------------------- monotonicity


@pytest.mark.parametrize("which", ["hours", "watts", "pue", "intensity"])
def test_monotone_in_every_input(which):
    base = dict(hours=1000.0, watts=400.0, pue=1.1, intensity=0.385)
    grid = {"hours": [0.0, 1.0, 10.0, 1e3, 1e6, 1e9], "watts": [0.0, 50.0, 300.0, 700.0, 1200.0],
            "pue": [1.0, 1.05, 1.1, 1.5, 2.0, 3.0], "intensity": [0.0, 0.01, 0.2, 0.385, 1.0, 1.5]}[which]
    energies, co2s = [], []
    for v in grid:
        kw = dict(base, **{which: v})
        e = formula.energy_mwh(kw["hours"], kw["watts"], kw["pue"])
        energies.append(e)
        co2s.append(formula.co2_t(e, kw["intensity"]))
    assert all(b >= a for a, b in itertools.pairwise(co2s))
    assert co2s[-1] > co2s[0]  # strictly larger over the range
    if which != "intensity":
        assert all(b >= a for a, b in itertools.pairwise(energies))
    else:
        assert len(set(energies)) == 1  # intensity does not change energy


def test_more_utilisation_or_peak_means_fewer_hours():
    hours = [formula.device_hours(1e22, 312e12, u) for u in (0.1, 0.3, 0.5, 0.9)]
    assert all(b < a for a, b in itertools.pairwise(hours))
    assert formula.device_hours(1e22, 989e12, 0.4) < formula.device_hours(1e22, 312e12, 0.4)


# ----------------------------------------------------------------------------- LLaMA Table 15

# Touvron et al. 2023 (arXiv:2302.13971), Table 15: "we use 400W for A100-80GB ... PUE of 1.1 ...
# national US average carbon intensity factor of 0.385 kg CO2e per KWh".
LLAMA_WATTS, LLAMA_PUE, LLAMA_CI = 400.0, 1.1, 0.385
#: run_id -> (GPU-hours, MWh, tCO2e) as printed in Table 15.
TABLE_15 = {
    "meta-llama-1-7b": (82_432, 36, 14),
    "meta-llama-1-13b": (135_168, 59, 23),
    "meta-llama-1-33b": (530_432, 233, 90),
    "meta-llama-1-65b": (1_022_362, 449, 173),
    "meta-opt-175b-llama-recompute": (809_472, 356, 137),
    "bigscience-bloom-176b-llama-recompute": (1_082_880, 475, 183),
}
# Tolerance. The table prints whole MWh and whole tCO2e, so a printed value carries up to one unit
# of the last digit: the paper does not always round to nearest (65B: 1,022,362 h x 440 W =
# 449.84 MWh is printed 449, i.e. truncated), so |formula - printed| < 1 unit is "reproduced to the
# rounding the paper prints". One row is off by more than that in the paper itself: BLOOM,
# 1,082,880 h x 400 W x 1.1 = 476.47 MWh, printed 475 (475 MWh would need 1,079,545 h). Its printed
# 183 t agrees with both 476.47 x 0.385 = 183.4 and 475 x 0.385 = 182.9, so the discrepancy is in
# the paper's MWh cell; the test pins it (1.47 MWh, 0.3%) rather than widening every row's tolerance.
KNOWN_PAPER_DISCREPANCY_MWH = {"bigscience-bloom-176b-llama-recompute": 1.47}


@pytest.fixture(scope="module")
def committed_rows() -> pd.DataFrame:
    df = pd.read_csv(data_path("training_runs.csv"))
    return df.set_index("run_id")


@pytest.mark.parametrize("run_id", list(TABLE_15))
def test_llama_table15_reproduced_from_its_assumptions(run_id, committed_rows):
    hours, mwh_printed, co2_printed = TABLE_15[run_id]
    row = committed_rows.loc[run_id]
    # The committed data carries the paper's figures and constants.
    assert row["device_hours"] == hours
    assert row["energy_mwh"] == mwh_printed
    assert row["co2_t"] == co2_printed
    assert (row["source_power_w"], row["source_pue"], row["source_carbon_intensity"]) == (
        LLAMA_WATTS, LLAMA_PUE, LLAMA_CI)
    assert row["energy_basis"] == "tdp" and bool(row["pue_included"])

    energy = formula.energy_mwh(row["device_hours"], LLAMA_WATTS, LLAMA_PUE)
    co2 = formula.co2_t(energy, LLAMA_CI)
    expected_gap = KNOWN_PAPER_DISCREPANCY_MWH.get(run_id)
    if expected_gap is None:
        assert abs(energy - row["energy_mwh"]) < 1.0, f"{energy:.2f} MWh vs printed {row['energy_mwh']}"
    else:
        assert energy - row["energy_mwh"] == pytest.approx(expected_gap, abs=0.01)
    # CO2 is within half a printed unit for every row (ordinary rounding).
    assert abs(co2 - row["co2_t"]) <= 0.5, f"{co2:.2f} t vs printed {row['co2_t']}"


def test_llama_table15_hand_values():
    # Independent of the CSV: 82,432 h x 0.4 kW x 1.1 = 36,270.08 kWh = 36.27 MWh -> "36";
    # 36.27008 MWh x 0.385 = 13.964 t -> "14".
    e = formula.energy_mwh(82_432, LLAMA_WATTS, LLAMA_PUE)
    assert e == pytest.approx(36.27008, rel=1e-9)
    assert formula.co2_t(e, LLAMA_CI) == pytest.approx(13.9640, rel=1e-4)
