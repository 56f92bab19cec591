"""The deterministic formulas people use today, on the same inputs and the same physics.

Each returns one number per run (no interval) and NaN where its formula cannot answer:

- :func:`ml_co2_impact`: device-hours x TDP x regional grid intensity, no PUE
  (Lacoste et al. 2019, the ML CO2 Impact calculator).
- :func:`green_algorithms`: device-hours x TDP x the provider's default PUE x intensity
  (Lannelongue et al. 2021; the tool's default PUE table).
- :func:`flops_formula`: device-hours = FLOPs / (dense peak x a fixed utilisation of 0.4)
  when hours are not given, then as Green Algorithms (the LLMCarbon-style FLOPs route,
  Faiz et al. 2024).

All three use :mod:`carbon_bayes.formula`, the same hardware table and the same grid
intensities as the Bayesian model; only the model's learned terms are replaced by fixed values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from carbon_bayes import design, formula, schema
from carbon_bayes.priorspec import load_prior_spec

#: Green Algorithms default PUE by provider (green-algorithms-tool data/latest/defaults_PUE.csv,
#: CC BY 4.0: Unknown 1.56 from the Uptime 2024 survey; gcp/azure 1.12, aws 1.2 from a 2023
#: nutanix.dev post). Providers the tool lists no default for use "unknown".
GREEN_ALGORITHMS_PUE = {"google": 1.12, "aws": 1.2, "azure": 1.12, "oracle": 1.2, "unknown": 1.56}
#: Fixed utilisation of the FLOPs formula: the middle of published large-run MFUs
#: (priors/mfu_power_evidence.csv: GPT-3 0.20 ... BLOOM 0.48, Megatron 0.42-0.56).
FIXED_UTILISATION = 0.4
BASELINES = ("ml_co2_impact", "green_algorithms", "flops_formula")


def _features(runs):
    df = runs if ("tier" in getattr(runs, "columns", [])) else schema.normalise_runs(runs)
    priors = load_prior_spec()
    levels = design.model_levels(priors.structure)
    f = design.run_features(df, levels, priors.structure, 0.0)
    ci = np.where(np.isnan(f.ci_given), np.exp(f.log_ci_centre), f.ci_given)
    return df, f, ci


def _frame(df, energy, ci, name):
    return pd.DataFrame({"run_id": df["run_id"].to_numpy(), "energy_mwh": energy,
                         "co2_t": formula.co2_t(energy, ci), "baseline": name})


def ml_co2_impact(runs) -> pd.DataFrame:
    """ML CO2 Impact: hours x TDP x grid intensity (no PUE); NaN without hours or hardware."""
    df, f, ci = _features(runs)
    power = np.where(np.isnan(f.power_w_given), f.tdp_w, f.power_w_given)
    energy = formula.energy_mwh(np.exp(f.log_hours), power, 1.0)
    return _frame(df, energy, ci, "ml_co2_impact")


def _ga_pue(df, f) -> np.ndarray:
    prov = df["provider"].to_numpy(dtype=object)
    default = np.array([GREEN_ALGORITHMS_PUE.get(p or "unknown", GREEN_ALGORITHMS_PUE["unknown"]) for p in prov])
    return np.where(np.isnan(f.pue_given), default, f.pue_given)


def green_algorithms(runs) -> pd.DataFrame:
    """Green Algorithms: hours x TDP x provider default PUE x grid intensity."""
    df, f, ci = _features(runs)
    power = np.where(np.isnan(f.power_w_given), f.tdp_w, f.power_w_given)
    energy = formula.energy_mwh(np.exp(f.log_hours), power, _ga_pue(df, f))
    return _frame(df, energy, ci, "green_algorithms")


def flops_formula(runs, utilisation: float = FIXED_UTILISATION) -> pd.DataFrame:
    """FLOPs route with a fixed utilisation (hours given are used as they are)."""
    df, f, ci = _features(runs)
    hours = np.where(np.isnan(f.log_hours), formula.device_hours(np.exp(f.log_flops), f.peak_flops, utilisation),
                     np.exp(f.log_hours))
    power = np.where(np.isnan(f.power_w_given), f.tdp_w, f.power_w_given)
    energy = formula.energy_mwh(hours, power, _ga_pue(df, f))
    return _frame(df, energy, ci, "flops_formula")


def all_baselines(runs) -> pd.DataFrame:
    """Stack the three baselines (column ``baseline`` names each)."""
    df = schema.normalise_runs(runs)
    return pd.concat([ml_co2_impact(df), green_algorithms(df), flops_formula(df)], ignore_index=True)
