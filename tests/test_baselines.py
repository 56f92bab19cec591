"""The deterministic baselines (ML CO2 Impact, Green Algorithms, a fixed-utilisation FLOPs formula).

Checked on runs whose answers are worked out by hand from the input numbers and the hardware table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carbon_bayes import baselines, reference

ACC = reference.accelerators()
TDP_A100 = float(ACC.loc["A100-SXM4-80GB", "tdp_w"])  # 400 W
PEAK_A100 = float(ACC.loc["A100-SXM4-80GB", "peak_bf16_tflops"]) * 1e12  # default precision bf16: 312e12
TDP_H100 = float(ACC.loc["H100-SXM5", "tdp_w"])  # 700 W


def test_table_values_used_below():
    # The hand computations below assume these published values.
    assert (TDP_A100, PEAK_A100, TDP_H100) == (400.0, 312e12, 700.0)
    assert ACC.loc["A100-SXM4-80GB", "default_precision"] == "bf16"


HOURS_RUN = {"run_id": "hours", "hardware": "A100-80GB", "device_hours": 1000, "carbon_intensity": 0.5,
             "region": "aws:us-east-1", "year": 2023}


def _one(frame: pd.DataFrame, run_id: str) -> pd.Series:
    return frame.set_index("run_id").loc[run_id]


def test_ml_co2_impact_is_hours_times_tdp_times_intensity_without_pue():
    out = baselines.ml_co2_impact(HOURS_RUN)
    r = _one(out, "hours")
    # 1,000 h x 400 W = 400 kWh = 0.4 MWh (no PUE); x 0.5 kg/kWh = 200 kg = 0.2 t
    assert r["energy_mwh"] == pytest.approx(0.4, rel=1e-12)
    assert r["co2_t"] == pytest.approx(0.2, rel=1e-12)
    assert r["baseline"] == "ml_co2_impact"
    # a given pue does not enter the ML CO2 Impact formula
    r2 = _one(baselines.ml_co2_impact(dict(HOURS_RUN, pue=1.5)), "hours")
    assert r2["energy_mwh"] == pytest.approx(0.4, rel=1e-12)


def test_green_algorithms_uses_provider_default_pue():
    r = _one(baselines.green_algorithms(HOURS_RUN), "hours")
    # aws default PUE 1.2: 0.4 MWh x 1.2 = 0.48 MWh; x 0.5 = 0.24 t
    assert r["energy_mwh"] == pytest.approx(0.48, rel=1e-12)
    assert r["co2_t"] == pytest.approx(0.24, rel=1e-12)


@pytest.mark.parametrize(("extra", "pue"), [
    ({"provider": "google"}, 1.12),
    ({"provider": "azure"}, 1.12),
    ({"region": "gcp:us-central1"}, 1.12),
    ({}, 1.56),  # provider unknown
    ({"provider": "meta"}, 1.56),  # no Green Algorithms default for meta: "unknown"
])
def test_green_algorithms_pue_by_provider(extra, pue):
    run = {"run_id": "x", "hardware": "H100", "device_hours": 2000, "carbon_intensity": 0.1, "year": 2024, **extra}
    r = _one(baselines.green_algorithms(run), "x")
    # 2,000 h x 700 W = 1.4 MWh, x PUE
    assert r["energy_mwh"] == pytest.approx(1.4 * pue, rel=1e-12)
    assert r["co2_t"] == pytest.approx(1.4 * pue * 0.1, rel=1e-12)


def test_green_algorithms_given_pue_beats_default():
    r = _one(baselines.green_algorithms(dict(HOURS_RUN, pue=1.3)), "hours")
    # 0.4 MWh x 1.3 = 0.52 MWh; x 0.5 = 0.26 t
    assert r["energy_mwh"] == pytest.approx(0.52, rel=1e-12)
    assert r["co2_t"] == pytest.approx(0.26, rel=1e-12)


def test_flops_formula_uses_fixed_utilisation_when_hours_missing():
    run = {"run_id": "flops", "hardware": "A100-80GB", "training_flops": 1e21, "carbon_intensity": 0.5,
           "region": "aws:us-east-1", "year": 2023}
    r = _one(baselines.flops_formula(run), "flops")
    # 312e12 FLOP/s x 0.4 x 3600 s = 4.4928e17 FLOP per device-hour; 1e21 / 4.4928e17 = 2225.7835 h;
    # x 400 W = 890.313 kWh; x aws PUE 1.2 = 1068.376 kWh = 1.068376 MWh; x 0.5 = 0.534188 t
    assert r["energy_mwh"] == pytest.approx(1.068376, rel=1e-6)
    assert r["co2_t"] == pytest.approx(0.534188, rel=1e-6)
    assert baselines.FIXED_UTILISATION == 0.4


def test_flops_formula_from_six_n_d():
    run = {"run_id": "nd", "hardware": "A100-80GB", "parameters": 1e9, "training_tokens": 2e10,
           "carbon_intensity": 0.2, "pue": 1.1, "year": 2023}
    r = _one(baselines.flops_formula(run), "nd")
    # 6 x 1e9 x 2e10 = 1.2e20 FLOP; / 4.4928e17 = 267.094 h; x 400 W x 1.1 = 117.521 kWh = 0.117521 MWh
    assert r["energy_mwh"] == pytest.approx(0.1175214, rel=1e-6)
    assert r["co2_t"] == pytest.approx(0.1175214 * 0.2, rel=1e-6)


def test_flops_formula_uses_given_hours_when_present():
    run = dict(HOURS_RUN, training_flops=1e21)
    r = _one(baselines.flops_formula(run), "hours")
    # the 1,000 given hours, not the 2,225.8 the FLOPs would give: 0.4 MWh x 1.2 = 0.48 MWh
    assert r["energy_mwh"] == pytest.approx(0.48, rel=1e-12)


def test_flops_formula_custom_utilisation():
    run = {"run_id": "u", "hardware": "A100-80GB", "training_flops": 1e21, "carbon_intensity": 0.5,
           "pue": 1.0, "year": 2023}
    r = _one(baselines.flops_formula(run, utilisation=0.5), "u")
    # 1e21 / (312e12 x 0.5 x 3600) = 1780.627 h x 400 W = 712.251 kWh
    assert r["energy_mwh"] == pytest.approx(0.7122507, rel=1e-6)


def test_measured_power_replaces_tdp():
    run = dict(HOURS_RUN, power_per_device_w=300)
    # 1,000 h x 300 W = 0.3 MWh
    assert _one(baselines.ml_co2_impact(run), "hours")["energy_mwh"] == pytest.approx(0.3, rel=1e-12)
    assert _one(baselines.green_algorithms(run), "hours")["energy_mwh"] == pytest.approx(0.36, rel=1e-12)


def test_nan_where_a_formula_cannot_answer():
    runs = [
        {"run_id": "no-hours", "hardware": "A100-80GB", "training_flops": 1e21, "carbon_intensity": 0.5},
        {"run_id": "no-hardware", "device_hours": 1000, "carbon_intensity": 0.5},
        {"run_id": "nothing", "parameters": 7e9, "year": 2024},
    ]
    ml = baselines.ml_co2_impact(runs).set_index("run_id")
    ga = baselines.green_algorithms(runs).set_index("run_id")
    ff = baselines.flops_formula(runs).set_index("run_id")
    for frame in (ml, ga, ff):
        assert list(frame.index) == ["no-hours", "no-hardware", "nothing"]
        assert np.isnan(frame.loc["no-hardware", "energy_mwh"]) and np.isnan(frame.loc["no-hardware", "co2_t"])
        assert np.isnan(frame.loc["nothing", "energy_mwh"])
    assert np.isnan(ml.loc["no-hours", "energy_mwh"]) and np.isnan(ml.loc["no-hours", "co2_t"])
    assert np.isnan(ga.loc["no-hours", "energy_mwh"])
    # the FLOPs route answers where hours are missing
    assert np.isfinite(ff.loc["no-hours", "energy_mwh"])


# ----------------------------------------------------------------------------- grid intensity


def _intensity(frame, run_id):
    r = _one(frame, run_id)
    return r["co2_t"] / r["energy_mwh"]


@pytest.mark.parametrize("fn", [baselines.ml_co2_impact, baselines.green_algorithms, baselines.flops_formula])
def test_all_use_the_models_grid_intensity(fn):
    runs = [
        {"run_id": "given", "hardware": "H100", "device_hours": 1000, "carbon_intensity": 0.05,
         "region": "gcp:us-central1", "country": "US", "year": 2023},
        {"run_id": "region", "hardware": "H100", "device_hours": 1000, "region": "gcp:us-central1", "year": 2023},
        {"run_id": "country", "hardware": "H100", "device_hours": 1000, "country": "FR", "year": 2023},
        {"run_id": "nowhere", "hardware": "H100", "device_hours": 1000, "year": 2023},
    ]
    out = fn(runs)
    # carbon_intensity given beats region and country
    assert _intensity(out, "given") == pytest.approx(0.05, rel=1e-12)
    # otherwise the reference tables the Bayesian model centres its prior on
    assert _intensity(out, "region") == pytest.approx(reference.region_intensity("gcp:us-central1", 2023)[0], rel=1e-9)
    assert _intensity(out, "country") == pytest.approx(reference.grid_intensity("FRA", 2023)[0], rel=1e-9)
    assert _intensity(out, "nowhere") == pytest.approx(reference.grid_intensity("WORLD", 2023)[0], rel=1e-9)
    # and they differ, so the test can tell them apart
    assert len({round(_intensity(out, r), 6) for r in ("given", "region", "country", "nowhere")}) == 4


def test_all_baselines_stacks_the_three():
    out = baselines.all_baselines([HOURS_RUN, dict(HOURS_RUN, run_id="second", device_hours=2000)])
    assert list(out.columns) == ["run_id", "energy_mwh", "co2_t", "baseline"]
    assert len(out) == 6
    assert list(out["baseline"].unique()) == list(baselines.BASELINES)
    second = out[out["run_id"] == "second"].set_index("baseline")["energy_mwh"]
    # 2,000 h x 400 W = 0.8 MWh; Green Algorithms and FLOPs formula x aws 1.2 = 0.96
    assert second.to_dict() == pytest.approx({"ml_co2_impact": 0.8, "green_algorithms": 0.96, "flops_formula": 0.96})
