"""Build ``data/training_runs.csv`` from the shared published-training-runs table.

Every kept row keeps its provenance (source, source_quote, confidence). The hand decisions
a fit needs (which node of the physical chain a label observes, whether PUE is inside it,
whether the row re-derives another one, whether it is used in the default fit and in
validation) are written here once, per row, with a reason, and land as columns of the
output. Run from the repository root::

    python scripts/build_training_runs.py --shared ../shared

The output is deterministic; ``tests/test_dataset.py`` checks the committed file against it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from training_run_decisions_2026_12 import BLOOMZ_NOTE, OPERATOR, PUE_NOT_STATED  # noqa: E402
from training_run_decisions_2026_12 import DECISIONS as DECISIONS_2026_12  # noqa: E402

#: The shared tables, in order: the first build, then the December 2026 additions.
SOURCE_TABLES = ("published_training_runs.csv", "published_training_runs_added_2026-12.csv")
#: Figures this project read in their sources itself (same columns), kept in the repository.
COLLECTED = Path(__file__).resolve().parents[1] / "data" / "collected_training_runs.csv"

LB_PER_KG = 1 / 0.45359237
# Strubell et al. 2019 (arXiv:1906.02243), Sec. 2: p_t = 1.58 t (p_c + p_r + g p_g) / 1000 and
# CO2e = 0.954 p_t (lbs per kWh, EPA US average).
STRUBELL_PUE = 1.58
STRUBELL_CI = round(0.954 * 0.45359237, 4)  # kg/kWh

TASK_MAP = {"language": "language", "vision": "vision", "diffusion": "image_generation",
            "speech": "speech", "multimodal": "multimodal", "recsys": "other", "other": "other"}

OUT_COLUMNS = [
    "run_id", "run_group", "model_name", "organization", "operator", "year", "task", "architecture",
    "parameters", "active_parameters", "training_tokens", "training_flops",
    "hardware", "hardware_as_published", "n_devices", "device_hours", "training_days",
    "country", "region", "provider", "location_or_region",
    "scope", "energy_mwh", "co2_t", "energy_basis", "power_scope", "pue_included", "pue_stated",
    "source_power_w", "source_pue", "source_carbon_intensity", "source_ci_country", "accounting",
    "derived_from", "in_fit", "validate", "decision_note",
    "feature_sources", "source", "source_quote", "confidence",
]

# Defaults of a row unless its decision says otherwise.
DEFAULT = dict(scope="final_pretraining", in_fit=True, validate=True, derived_from="",
               power_scope="", pue_included=True, pue_stated=True, source_ci_country="", region="", provider="",
               feature_sources="")

META = dict(country="USA", provider="meta", energy_basis="tdp", pue_included=True)
PATTERSON = dict(energy_basis="measured", power_scope="system", pue_included=True, provider="google")
DODGE = dict(energy_basis="measured", power_scope="gpu", pue_included=False, country="USA",
             provider="azure")
HF_CARD = dict(energy_basis="tdp", pue_included=False, in_fit=False,
               decision_note="Hugging Face card figure: no hours, tokens or FLOPs, method not "
               "stated (most card figures come from the ML CO2 Impact calculator: hours x TDP x "
               "regional intensity, no PUE). Scored at tier T3 only; not fitted.")
STRUBELL = dict(energy_basis="measured", power_scope="system", pue_included=True,
                source_pue=STRUBELL_PUE, source_carbon_intensity=STRUBELL_CI,
                source_ci_country="USA", country="USA")
BLOOM_T5 = dict(energy_basis="tdp", pue_included=False, country="FRA", provider="hpc",
                hardware="", in_fit=False,
                decision_note="Luccioni et al. 2022 Table 5 'dynamic' energy = device-hours x "
                "400 W TDP, no PUE; hours and hardware not given for this model, so it is "
                "scored at tier T3 only and not fitted.")

# Parameter counts added to rows that lacked them (features, not labels), with their source.
VASWANI = "parameters: Vaswani et al. 2017 'Attention Is All You Need' Table 3 (base 65M, big 213M)"
DEIT = "parameters: Touvron et al. 2021 'Training data-efficient image transformers' Table 1 (Ti 5M, S 22M, B 86M)"
TV = "parameters: torchvision model docs, {name}_Weights.IMAGENET1K_V1 num_params (pytorch.org/vision/stable/models)"
OLMO2_YEAR = ("year: the OLMo 2 models were trained in 2024 (OLMo 2 paper row, arXiv:2501.00656); "
              "2025 is the year Morrison et al. published")
BERT = "parameters: Devlin et al. 2019 'BERT' Sec. 3 (BERT-base total parameters 110M)"

D: dict[str, dict] = {
    # --- Meta model cards: CO2 = GPU-hours x TDP ("adjusted for PUE") x intensity ---
    "meta-llama-2-7b": dict(META, run_group="llama-2-7b", hardware="A100-SXM4-80GB", source_power_w=400),
    "meta-llama-2-13b": dict(META, run_group="llama-2-13b", hardware="A100-SXM4-80GB", source_power_w=400),
    "meta-llama-2-70b": dict(META, run_group="llama-2-70b", hardware="A100-SXM4-80GB", source_power_w=400),
    "meta-llama-3-8b": dict(META, run_group="llama-3-8b", hardware="H100-SXM5", source_power_w=700),
    "meta-llama-3-70b": dict(META, run_group="llama-3-70b", hardware="H100-SXM5", source_power_w=700),
    "meta-llama-3.1-8b": dict(META, run_group="llama-3.1-8b", hardware="H100-SXM5", source_power_w=700),
    "meta-llama-3.1-70b": dict(META, run_group="llama-3.1-70b", hardware="H100-SXM5", source_power_w=700),
    "meta-llama-3.1-405b": dict(META, run_group="llama-3.1-405b", hardware="H100-SXM5", source_power_w=700),
    "meta-llama-3.2-1b": dict(META, run_group="llama-3.2-1b", hardware="H100-SXM5", source_power_w=700,
                              decision_note="Distilled with logits of larger models; tokens 'up to 9T' (upper bound)."),
    "meta-llama-3.2-3b": dict(META, run_group="llama-3.2-3b", hardware="H100-SXM5", source_power_w=700,
                              decision_note="Distilled with logits of larger models; tokens 'up to 9T' (upper bound)."),
    "meta-llama-3.2-1b-qlora": dict(META, run_group="llama-3.2-1b-qlora", hardware="H100-SXM5",
                                    source_power_w=700, scope="finetune"),
    "meta-llama-3.2-3b-qlora": dict(META, run_group="llama-3.2-3b-qlora", hardware="H100-SXM5",
                                    source_power_w=700, scope="finetune"),
    "meta-llama-3.3-70b-v2024-12": dict(META, run_group="llama-3.1-70b", hardware="H100-SXM5", source_power_w=700,
                                        derived_from="meta-llama-3.1-70b", in_fit=False, validate=False,
                                        decision_note="Same pretraining, hours and figure as the Llama 3.1 70B card: a "
                                                      "repeat, not new evidence."),
    "meta-llama-3.3-70b-v2025-02": dict(META, run_group="llama-3.1-70b", hardware="H100-SXM5", source_power_w=700,
                                        in_fit=False, validate=False,
                                        decision_note="Revised card: 12.9 t for the same 7.0M H100-hours is "
                                                      "inconsistent with 700 W x 7.0M h (probably post-training only). "
                                                      "Kept for the record, left out of fit and validation."),
    "meta-codellama-9-models-2023": dict(META, run_group="codellama-all", hardware="A100-SXM4-80GB", scope="aggregate",
                                         in_fit=False, validate=False,
                                         decision_note="Aggregate of 9 models; a subset of the 12-model total, so not "
                                                       "independent of it."),
    "meta-codellama-12-models-2024": dict(META, run_group="codellama-all", hardware="A100-SXM4-80GB", scope="aggregate",
                                          validate=False,
                                          decision_note="Aggregate of 12 models on one hardware type: a sum of "
                                                        "device-hours, so hours x TDP x PUE x intensity still holds; "
                                                        "fitted (it informs the intensity behind published figures), "
                                                        "not scored (not one run)."),
    # --- LLaMA paper Table 15: energy = hours x 400 W x PUE 1.1; CO2 = energy x 0.385 ---
    **{f"meta-llama-1-{s}": dict(energy_basis="tdp", pue_included=True, source_pue=1.1, source_carbon_intensity=0.385,
                                 source_ci_country="USA", country="USA", provider="meta", run_group=f"llama-1-{s}",
                                 hardware="A100-SXM4-80GB", source_power_w=400)
       for s in ("7b", "13b", "33b", "65b")},
    "meta-opt-175b-llama-recompute": dict(energy_basis="tdp", pue_included=True, source_pue=1.1,
                                          source_carbon_intensity=0.385, source_ci_country="USA", run_group="opt-175b",
                                          hardware="A100-SXM4-80GB", source_power_w=400, provider="meta",
                                          decision_note="Hours are the LLaMA authors' assumption (992 GPUs x 34 "
                                                        "days)."),
    "bigscience-bloom-176b-llama-recompute": dict(energy_basis="tdp", pue_included=True, source_pue=1.1,
                                                  source_carbon_intensity=0.385, source_ci_country="USA",
                                                  run_group="bloom-176b", country="FRA", provider="hpc",
                                                  hardware="A100-SXM4-80GB", source_power_w=400,
                                                  decision_note="LLaMA authors' recompute with their own constants (US "
                                                                "intensity, PUE 1.1); those are constants of this "
                                                                "label, not of the run."),
    # --- Patterson et al. 2021 Table 4: measured system power per chip x chip-hours x PUE ---
    "google-evolved-transformer-nas": dict(PATTERSON, run_group="google-et-nas", hardware="TPUV2", source_power_w=208,
                                           source_pue=1.1, source_carbon_intensity=0.431,
                                           decision_note="Location of the search not stated: its intensity is not used "
                                           "to learn the intensity-behind-published-figures distribution."),
    "google-t5-11b": dict(PATTERSON, run_group="google-t5-11b", hardware="TPUV3", source_power_w=310, source_pue=1.12,
                          source_carbon_intensity=0.545, source_ci_country="TWN", country="TWN"),
    "google-gshard-600b-net": dict(PATTERSON, run_group="google-gshard-600b", hardware="TPUV3", source_power_w=288,
                                   source_pue=1.09, source_carbon_intensity=0.177, country="USA",
                                   derived_from="google-gshard-600b-gross", in_fit=False, validate=False,
                                   decision_note="Net (market-based) twin of the gross row: same energy."),
    "google-gshard-600b-gross": dict(PATTERSON, run_group="google-gshard-600b", hardware="TPUV3", source_power_w=288,
                                     source_pue=1.09, source_carbon_intensity=0.201, source_ci_country="USA",
                                     country="USA",
                                     decision_note="MoE: FLOPs from Epoch AI count activated parameters."),
    "google-switch-transformer-net": dict(PATTERSON, run_group="google-switch-1.5t", hardware="TPUV3",
                                          source_power_w=245,
                                          source_pue=1.1, source_carbon_intensity=0.330, country="USA",
                                          derived_from="google-switch-transformer-gross", in_fit=False, validate=False,
                                          decision_note="Net (market-based) twin of the gross row: same energy."),
    "google-switch-transformer-gross": dict(PATTERSON, run_group="google-switch-1.5t", hardware="TPUV3",
                                            source_power_w=245,
                                            source_pue=1.1, source_carbon_intensity=0.403, source_ci_country="USA",
                                            country="USA"),
    "openai-gpt-3-175b-patterson": dict(PATTERSON, run_group="gpt-3-175b", hardware="V100-SXM2", source_power_w=330,
                                        source_pue=1.1, source_carbon_intensity=0.429, source_ci_country="USA",
                                        country="USA", provider="azure",
                                        decision_note="10,000 GPUs is NVIDIA's suggestion (an assumption), so hours "
                                                      "carry that."),
    "google-covid-explorer": dict(PATTERSON, run_group="google-covid-explorer", hardware="TPUV3", country="USA",
                                  accounting="market_based",
                                  decision_note="Energy fitted (PUE inside, value not stated). The CO2 figure is net "
                                  "(market-based) and is not used."),
    "openai-gpt-3-175b-bloomtable-exclpue": dict(run_group="gpt-3-175b", hardware="V100-SXM2", energy_basis="measured",
                                                 power_scope="system", country="USA", provider="azure",
                                                 source_carbon_intensity=0.429, source_ci_country="USA",
                                                 derived_from="openai-gpt-3-175b-patterson", in_fit=False,
                                                 validate=False,
                                                 decision_note="Re-states Patterson's 1,287 MWh."),
    "meta-opt-175b-bloomtable-exclpue": dict(run_group="opt-175b", hardware="A100-SXM4-80GB", energy_basis="tdp",
                                             pue_included=False, source_power_w=400,
                                             derived_from="meta-opt-175b-llama-recompute", in_fit=False, validate=False,
                                             decision_note="324 MWh = 809,472 h x 400 W: the LLaMA recompute without "
                                                           "PUE."),
    "meta-opt-175b-bloomtable-inclpue": dict(run_group="opt-175b", hardware="A100-SXM4-80GB", energy_basis="tdp",
                                             pue_included=False, source_power_w=400,
                                             derived_from="meta-opt-175b-llama-recompute", in_fit=False, validate=False,
                                             decision_note="Same 324 MWh as the excl.-PUE row."),
    "bigscience-bloom-176b-bloomtable-inclpue": dict(run_group="bloom-176b", hardware="A100-SXM4-80GB",
                                                     energy_basis="tdp", pue_included=False, source_power_w=400,
                                                     country="FRA", provider="hpc", source_pue=1.2,
                                                     source_carbon_intensity=0.057, source_ci_country="FRA",
                                                     derived_from="bigscience-bloom-176b-dynamic", in_fit=False,
                                                     validate=False, decision_note="433 MWh re-states the "
                                                     "dynamic-energy row; 30 t = 433 x 1.2 x 0.057."),
    "bigscience-bloom-176b-dynamic": dict(run_group="bloom-176b", hardware="A100-SXM4-80GB", energy_basis="tdp",
                                          pue_included=False, source_power_w=400, country="FRA", provider="hpc",
                                          source_carbon_intensity=0.057, source_ci_country="FRA",
                                          decision_note="433,196 kWh = 1,082,990 h x 0.4 kW exactly: nominal, no PUE; "
                                          "24.7 t = energy x 0.057."),
    "bigscience-bloom-176b-lifecycle": dict(run_group="bloom-176b", hardware="A100-SXM4-80GB", energy_basis="tdp",
                                            country="FRA", provider="hpc", source_carbon_intensity=0.057,
                                            in_fit=False, validate=False,
                                            decision_note="Life-cycle figure (embodied + idle + dynamic): not "
                                                          "operational emissions of training, which is what the model "
                                                          "predicts."),
    "bigscience-104b-experiments": dict(run_group="bigscience-project", scope="project_total", energy_basis="tdp",
                                        pue_included=False, country="FRA", provider="hpc",
                                        source_carbon_intensity=0.057,
                                        in_fit=False, validate=False,
                                        decision_note="Project-level experiments on mixed V100/A100 hardware."),
    "bigscience-13b-experiments": dict(run_group="bigscience-project", scope="project_total", energy_basis="tdp",
                                       pue_included=False, country="FRA", provider="hpc", source_carbon_intensity=0.057,
                                       in_fit=False, validate=False,
                                       decision_note="Project-level experiments on mixed V100/A100 hardware."),
    "bigscience-1b-experiments": dict(run_group="bigscience-project", scope="project_total", energy_basis="tdp",
                                      pue_included=False, country="FRA", provider="hpc", source_carbon_intensity=0.057,
                                      in_fit=False, validate=False,
                                      decision_note="Project-level experiments on mixed V100/A100 hardware."),
    "bigscience-project-total": dict(run_group="bigscience-project", scope="project_total", energy_basis="tdp",
                                     pue_included=False, country="FRA", provider="hpc", source_carbon_intensity=0.057,
                                     in_fit=False, validate=False,
                                     decision_note="Whole BigScience project (3.46M GPU-hours, V100 + A100)."),
    "bigscience-bloom-7b1": dict(BLOOM_T5, run_group="bloom-7b1", source_carbon_intensity=0.057,
                                 source_ci_country="FRA"),
    "bigscience-bloom-3b": dict(BLOOM_T5, run_group="bloom-3b"),
    "bigscience-bloom-560m": dict(BLOOM_T5, run_group="bloom-560m"),
    **{f"bigscience-bloomz-{s}-ft": dict(run_group=f"bloomz-{s}-ft", scope="finetune", energy_basis="tdp",
                                         pue_included=False, country="FRA", provider="hpc", in_fit=False,
                                         decision_note=BLOOMZ_NOTE)
       for s in ("7b1", "3b", "560m")},
    "meta-opt-175b-opt-paper": dict(run_group="opt-175b", hardware="A100-SXM4-80GB", energy_basis="tdp",
                                    provider="meta",
                                    decision_note="Method not stated; 75 t / 324 MWh = 0.23 kg/kWh matches the BLOOM "
                                    "authors' reading, i.e. nominal energy; treated as a nominal (tdp) CO2 figure."),
    "google-gemma-1-2b-7b": dict(run_group="gemma-1", scope="aggregate", hardware="TPUV5E", energy_basis="tdp",
                                 provider="google", in_fit=False, validate=False,
                                 decision_note="Sum over two models, hours not given; method (hourly measured energy x "
                                 "hourly intensity) not reproducible from the inputs."),
    "google-gemma-2-2b-9b-27b": dict(run_group="gemma-2", scope="aggregate", hardware="", energy_basis="tdp",
                                     provider="google", in_fit=False, validate=False,
                                     decision_note="Sum over three models on three TPU generations; hours not given."),
    "allenai-olmo-1-7b-a100": dict(run_group="olmo-1-7b", hardware="A100-SXM4-40GB", energy_basis="measured",
                                   power_scope="gpu", pue_included=False, source_pue=1.1, country="USA",
                                   decision_note="GPU-only energy measured on one node and extrapolated; the stated "
                                                 "PUE is not inside the figure. Tokens are a lower bound."),
    "allenai-olmo-2-7b-olmo2paper": dict(run_group="olmo-2-7b", hardware="H100-SXM5", energy_basis="measured",
                                         power_scope="gpu", pue_included=False, source_pue=1.2, country="USA",
                                         decision_note="GPU-only energy; the stated PUE is not inside the figure."),
    "allenai-olmo-2-13b-olmo2paper": dict(run_group="olmo-2-13b", hardware="H100-SXM5", energy_basis="measured",
                                          power_scope="gpu", pue_included=False, source_pue=1.12, country="USA",
                                          decision_note="GPU-only energy; conflicts with Morrison et al.'s 230 MWh; "
                                                        "both kept as noisy measurements of one run."),
    "allenai-olmo-2-13b-morrison": dict(run_group="olmo-2-13b", hardware="H100-SXM5", energy_basis="measured",
                                        power_scope="gpu", pue_included=True, source_pue=1.12, country="USA",
                                        year=2024, feature_sources=OLMO2_YEAR,
                                        decision_note="Morrison et al. figures include PUE. The CO2 figure is not "
                                        "reproducible from the stated energy, PUE and intensity (230 x 0.352 = 81 t, "
                                        "not 101 t); the energy label is used, the CO2 label is not."),
    "allenai-olmo-2-7b-morrison": dict(run_group="olmo-2-7b", hardware="H100-SXM5", energy_basis="measured",
                                       power_scope="gpu", pue_included=True, source_pue=1.2, country="USA",
                                       year=2024, feature_sources=OLMO2_YEAR,
                                       derived_from="allenai-olmo-2-7b-olmo2paper", in_fit=False, validate=False,
                                       decision_note="157 MWh = 131 MWh x 1.2: re-derives the OLMo 2 paper figure."),
    "allenai-olmo-1b-3t-morrison": dict(run_group="olmo-1b-3t", hardware="H100-SXM5", energy_basis="measured",
                                        power_scope="gpu", pue_included=True, source_pue=1.2,
                                        source_carbon_intensity=0.332, source_ci_country="USA", country="USA",
                                        year=2024,
                                        feature_sources="year: OLMo 1B was trained and released in 2024 (Groeneveld "
                                                        "et al. 2024, arXiv:2402.00838); 2025 is the year Morrison et "
                                                        "al. published",
                                        decision_note="10 t = 30 MWh x 0.332: CO2 re-derives the energy."),
    "allenai-olmo-7b-lumi": dict(run_group="olmo-7b-lumi", hardware="MI250X", energy_basis="measured",
                                 power_scope="gpu",
                                 pue_included=True, source_carbon_intensity=0.0, country="FIN", provider="hpc",
                                 in_fit=False, validate=False,
                                 decision_note="Zero CO2 on hydropower: the stated intensity is 0, so the figure "
                                               "carries no information about energy (0 = E x 0 for every E). Not a "
                                               "log-scale observation; estimate() returns exactly 0 t for "
                                               "carbon_intensity = 0 (tested)."),
    "alephalpha-luminous-base-13b": dict(run_group="luminous-base-13b", energy_basis="tdp", pue_included=True,
                                         in_fit=False,
                                         decision_note="No hardware, hours or tokens; secondary source; scored at tier "
                                                       "T3 only."),
    "swissai-apertus-70b-estimate": dict(run_group="apertus-70b", hardware="GH200", energy_basis="assumed",
                                         source_power_w=560, country="CHE", provider="hpc", in_fit=False,
                                         validate=False,
                                         decision_note="Developer's prospective estimate for a re-run with an assumed "
                                                       "560 W per module; not a figure of a completed run."),
    "meta-dinov2-all": dict(META, run_group="dinov2-all", hardware="A100-SXM4-40GB", scope="aggregate", validate=False,
                            decision_note="Aggregate (ViT-g training + 3 distillations) on one hardware type; the "
                            "parameters/FLOPs describe ViT-g only, so the fit ignores them for this row. Label method "
                            "(TDP x hours x PUE x intensity) as in Meta's other cards."),
    "compvis-stable-diffusion-v1": dict(run_group="stable-diffusion-v1", hardware="A100-PCIE-40GB", energy_basis="tdp",
                                        pue_included=False, region="aws:us-east-1", country="USA", provider="aws",
                                        decision_note="ML CO2 Impact calculator: hours x TDP x regional intensity, no "
                                                      "PUE."),
    "wuerstchen-v1": dict(run_group="wuerstchen-v1", hardware="A100-PCIE-80GB", energy_basis="tdp", pue_included=False,
                          region="aws:us-east-1", country="USA", provider="aws",
                          decision_note="ML CO2 Impact calculator: hours x TDP x regional intensity, no PUE."),
    "nvidia-stylegan2-ffhq": dict(run_group="stylegan2-ffhq", hardware="V100-SXM2", energy_basis="measured",
                                  power_scope="system", pue_included=False, in_fit=False,
                                  decision_note="Device count not in the cited text, so hours are unknown; scored at "
                                  "tier T3 only."),
    "nvidia-stylegan2-project": dict(run_group="stylegan2-project", scope="project_total", hardware="V100-SXM2",
                                     energy_basis="measured", power_scope="system", pue_included=False,
                                     in_fit=False, validate=False,
                                     decision_note="Whole project including exploration (~51 GPU-years)."),
    "strubell-transformer-base": dict(STRUBELL, run_group="strubell-transformer-base", hardware="P100-PCIE-16GB",
                                      source_power_w=round(1415.78 / 8, 2), parameters=65e6, feature_sources=VASWANI,
                                      decision_note="Strubell: measured total draw (GPUs+CPU+DRAM) 1,415.78 W / 8 "
                                                    "GPUs, x hours x PUE 1.58 x 0.954 lb/kWh; the CO2 observes "
                                                    "measured energy x those constants."),
    "strubell-transformer-big": dict(STRUBELL, run_group="strubell-transformer-big", hardware="P100-PCIE-16GB",
                                     source_power_w=round(1515.43 / 8, 2), parameters=213e6, feature_sources=VASWANI,
                                     decision_note="Strubell: 1,515.43 W / 8 GPUs; see transformer-base."),
    "strubell-elmo": dict(STRUBELL, run_group="strubell-elmo", hardware="P100-PCIE-16GB",
                          source_power_w=round(517.66 / 3, 2), decision_note="Strubell: 517.66 W / 3 GPUs."),
    "strubell-bert-base": dict(STRUBELL, run_group="strubell-bert-base", hardware="V100-SXM2",
                               source_power_w=round(12041.51 / 64, 2), parameters=110e6, feature_sources=BERT,
                               decision_note="Strubell: 12,041.51 W / 64 GPUs."),
    "strubell-nas-evolved-transformer": dict(STRUBELL, run_group="strubell-nas-estimate", hardware="P100-PCIE-16GB",
                                             source_power_w=round(1515.43 / 8, 2), in_fit=False, validate=False,
                                             decision_note="Hypothetical extrapolation (274,120 h), 18.7x too high per "
                                             "Patterson et al. 2021; the measured search is the google-et-nas row."),
    "dodge-bert-finetune": dict(DODGE, run_group="dodge-bert-finetune", hardware="V100-SXM2", scope="finetune"),
    "dodge-bert-pretrain": dict(DODGE, run_group="dodge-bert-pretrain", hardware="V100-SXM2",
                                decision_note="Partial run (36 h)."),
    "dodge-6b-transformer": dict(DODGE, run_group="dodge-6b-transformer", hardware="A100-SXM4-40GB",
                                 decision_note="Partial run (8 days)."),
    "dodge-densenet-121": dict(DODGE, run_group="dodge-densenet-121", hardware="P40", parameters=7978856,
                               feature_sources=TV.format(name="DenseNet121")),
    "dodge-densenet-169": dict(DODGE, run_group="dodge-densenet-169", hardware="P40", parameters=14149480,
                               feature_sources=TV.format(name="DenseNet169")),
    "dodge-densenet-201": dict(DODGE, run_group="dodge-densenet-201", hardware="P40", parameters=20013928,
                               feature_sources=TV.format(name="DenseNet201")),
    "dodge-vit-tiny": dict(DODGE, run_group="dodge-vit-tiny", hardware="V100-SXM2", parameters=5e6,
                           feature_sources=DEIT),
    "dodge-vit-small": dict(DODGE, run_group="dodge-vit-small", hardware="V100-SXM2", parameters=22e6,
                            feature_sources=DEIT),
    "dodge-vit-base": dict(DODGE, run_group="dodge-vit-base", hardware="V100-SXM2", parameters=86e6,
                           feature_sources=DEIT),
    "dalle-mini": dict(HF_CARD, run_group="dalle-mini", hardware="TPUV3", region="gcp:us-east1", country="USA",
                       provider="google"),
    "dalle-mega": dict(HF_CARD, run_group="dalle-mega", hardware="TPUV3", region="gcp:us-east1", country="USA",
                       provider="google"),
    "aelaectra-danish-electra-small-cased": dict(HF_CARD, run_group="aelaectra-small", hardware="V100-SXM2",
                                                 country="DNK"),
    "it5-small": dict(HF_CARD, run_group="it5-small", hardware="TPUV3", region="gcp:europe-west4", country="NLD",
                      provider="google"),
    "it5-large": dict(HF_CARD, run_group="it5-large", hardware="TPUV3", region="gcp:europe-west4", country="NLD",
                      provider="google"),
}


def build(shared: Path) -> pd.DataFrame:
    tables = [shared / "ground_truth" / name for name in SOURCE_TABLES] + [COLLECTED]
    src = pd.concat([pd.read_csv(path) for path in tables], ignore_index=True)
    decisions = {**D, **DECISIONS_2026_12}
    for rid in PUE_NOT_STATED:
        decisions[rid] = {**decisions[rid], "pue_stated": False}
    missing = set(src["model_id"]) - set(decisions)
    extra = set(decisions) - set(src["model_id"])
    if missing or extra:
        raise SystemExit(f"decisions out of sync with the source table: missing {missing}, unknown {extra}")
    rows = []
    for rec in src.to_dict("records"):
        d = {**DEFAULT, **decisions[rec["model_id"]]}
        out = {
            "run_id": rec["model_id"], "run_group": d["run_group"], "model_name": rec["model_name"],
            "organization": rec["organization"], "operator": OPERATOR[rec["organization"]],
            "year": int(d.get("year", rec["year"])),
            "task": TASK_MAP[rec["task_family"]], "architecture": rec["architecture"],
            "parameters": d.get("parameters", rec["parameters"]),
            "active_parameters": d.get("active_parameters", np.nan),
            "training_tokens": rec["training_tokens"], "training_flops": rec["training_flops"],
            "hardware": d.get("hardware", ""), "hardware_as_published": rec["hardware"],
            "n_devices": rec["n_devices"], "device_hours": rec["device_hours"],
            "training_days": rec["training_days"],
            "country": d.get("country", ""), "region": d["region"], "provider": d["provider"],
            "location_or_region": rec["location_or_region"], "scope": d["scope"],
            "energy_mwh": rec["reported_energy_mwh"], "co2_t": rec["reported_co2_t"],
            "energy_basis": d["energy_basis"], "power_scope": d["power_scope"],
            "pue_included": bool(d["pue_included"]), "pue_stated": bool(d["pue_stated"]),
            "source_power_w": d.get("source_power_w", rec["reported_power_per_device_w"]),
            "source_pue": d.get("source_pue", rec["pue_used_by_source"]),
            "source_carbon_intensity": d.get("source_carbon_intensity",
                                             rec["carbon_intensity_kg_per_kwh_used_by_source"]),
            "source_ci_country": d["source_ci_country"],
            "accounting": d.get("accounting", rec["accounting"]),
            "derived_from": d["derived_from"], "in_fit": bool(d["in_fit"]), "validate": bool(d["validate"]),
            "decision_note": d.get("decision_note", ""), "feature_sources": d["feature_sources"],
            "source": rec["source"], "source_quote": rec["source_quote"], "confidence": rec["confidence"],
        }
        rows.append(out)
    df = pd.DataFrame(rows, columns=OUT_COLUMNS)
    # MoE rows give total parameters; the active count is in the name (Patterson Table 4).
    moe_active = {"google-gshard-600b-net": 0.0025, "google-gshard-600b-gross": 0.0025,
                  "google-switch-transformer-net": 0.001, "google-switch-transformer-gross": 0.001}
    for rid, frac in moe_active.items():
        m = df["run_id"] == rid
        df.loc[m, "active_parameters"] = df.loc[m, "parameters"] * frac
        df.loc[m, "feature_sources"] = ("active_parameters: parameters x fraction activated per token "
                                        f"({frac:.2%}) stated in Patterson et al. 2021 Table 4 / the source column")
    return df


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shared", type=Path, default=Path("../shared"))
    p.add_argument("--out", type=Path, default=Path("data/training_runs.csv"))
    a = p.parse_args(argv)
    df = build(a.shared)
    tmp = a.out.with_suffix(".csv.tmp")
    df.to_csv(tmp, index=False, float_format="%.10g", lineterminator="\n")
    tmp.replace(a.out)
    print(f"wrote {a.out}: {len(df)} rows, {df['in_fit'].sum()} in the default fit, "
          f"{df['validate'].sum()} scored in validation, {df['run_group'].nunique()} run groups")


if __name__ == "__main__":
    main()
