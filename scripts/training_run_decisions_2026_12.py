"""Hand decisions for the figures added in December 2026.

Those are the rows of ``published_training_runs_added_2026-12.csv`` and of the project's own
``data/collected_training_runs.csv`` (figures read in their sources while building this release).
Imported by ``scripts/build_training_runs.py``; one entry per row of those tables, with the same
keys as the decisions there, and each non-default decision's reason in ``decision_note``. Also
the normalised operator of every organisation (the unit of leave-one-organisation-out
validation) and which figures do not say whether a PUE is inside them.
"""

from __future__ import annotations

#: Organisation as published -> normalised operator (who trained, or who made the figure).
OPERATOR = {
    "Meta": "meta", "Google": "google", "Google DeepMind": "google", "DeepMind": "google",
    "AI2": "ai2", "AI2 / Microsoft et al. (Dodge et al. 2022 experiments)": "ai2",
    "BigScience": "bigscience", "BigCode (Hugging Face, ServiceNow)": "bigcode", "IBM": "ibm",
    "Hugging Face": "huggingface", "Stability AI": "stability", "CompVis / Stability AI / Runway": "stability",
    "Pernias, Rampas (warp-ai)": "warp-ai", "Pernias, Rampas, Aubreville": "warp-ai",
    "Gabriele Sarti": "gabriele-sarti", "OpenAI": "openai", "NVIDIA": "nvidia", "Aleph Alpha": "aleph-alpha",
    "Swiss AI Initiative": "swiss-ai", "dalle-mini (Craiyon)": "craiyon",
    "Malte Højmark-Bertelsen": "malte-hojmark-bertelsen",
    "Google / AI2 (estimated by Strubell et al.)": "strubell-et-al",
    "Nicholas Kluge Corrêa et al. (TeenyTinyLlama / Mula, Brazilian-Portuguese LMs)": "kluge-correa",
    "ClimateBERT team (FAU Erlangen-Nuremberg / ETH Zurich / University of Zurich)": "climatebert", "Cohere": "cohere",
    "Pleias": "pleias", "damgomz (individual researcher)": "damgomz",
    "CATIE (Centre Aquitain des Technologies de l'Information et Électroniques)": "catie",
    "Imageomics Institute (Ohio State University)": "imageomics", "Owkin": "owkin",
    "Antoine Simoulin, Benoit Crabbé (GPT-fr)": "simoulin-crabbe", "SzegedAI (University of Szeged AI Lab)": "szegedai",
    "David Bellamy (Drbellamy)": "drbellamy", "lgrobol (Hugging Face user)": "lgrobol",
    "mfidabel (Mateo Fidabel)": "mfidabel",
    "L. Campillos (NLPMedTerm project, UAM)": "campillos-uam",
}

_META = dict(country="USA", provider="meta", energy_basis="tdp", pue_included=True, hardware="H100-SXM5")
#: The BLOOMZ fine-tunes (Luccioni et al.'s table gives their energy, not their hardware, hours or tokens).
BLOOMZ_NOTE = ("Fine-tune with no hardware, hours or tokens: scored at tier T3 only, as a fine-tune (scope finetune: "
               "its compute is drawn as a fraction of a pretraining's), and not fitted.")
_CALC = ("Model-card 'Environmental Impact' block in the ML CO2 Impact calculator's format (hardware, hours, "
         "cloud region, emitted CO2): hours x a nominal power x regional intensity; the card states neither the "
         "watts nor whether a PUE is inside, so both are latent conventions (pue_stated False).")
_HF = dict(energy_basis="tdp", pue_included=False, pue_stated=False, in_fit=False,
           decision_note="Hugging Face card figure: no hours, tokens or FLOPs, method not stated (most card "
           "figures come from the ML CO2 Impact calculator). Scored at tier T3 only; not fitted.")
_CODECARBON = dict(hardware="A100-SXM4-40GB", energy_basis="measured", power_scope="system", pue_included=False,
                   country="DEU", decision_note="CodeCarbon measurement of one machine (GPU, CPU and RAM energy; "
                   "PUE 1.0 in its log): system scope, no PUE.")
_LLAMA4 = ("active_parameters: 17B active per token, as the Llama 4 card names the models (17B active x 16 / x 128 "
           "experts)")

_CLIMATEBERT = dict(energy_basis="tdp", pue_included=False, pue_stated=False, country="DEU",
                    in_fit=False)
_COHERE = dict(energy_basis="tdp", pue_included=False, pue_stated=False, provider="google", in_fit=False,
               validate=False,
               decision_note="ML CO2 Impact Tool figure that the page calls an approximate upper bound, with no TPU "
               "type or count, hours, tokens or region: not an estimate of the run itself, so neither fitted nor "
               "scored.")
#: Decisions for the rows of data/collected_training_runs.csv added after the first two.
_COLLECTED_2026_12: dict[str, dict] = {
    "climatebert-distilroberta-base-climate-f-2021": dict(
        _CLIMATEBERT, run_group="climatebert-f-2021",
        decision_note="Nominal: 2.63 kg = 8 h x 0.7 kW (the card's power of GPU and CPU, one machine) x 0.47 kg/kWh; "
        "no PUE in the arithmetic and none stated (pue_stated False). Device type and count not given, so not "
        "fitted; scored at tier T3 only. Continued pretraining of DistilRoBERTa: the figure covers that run."),
    "climatebert-distilroberta-base-climate-f-2021-all-experiments": dict(
        _CLIMATEBERT, run_group="climatebert-f-2021-experiments", scope="aggregate", validate=False,
        decision_note="All experiments including the hyperparameter search (288 h x 0.7 kW x 0.47 = 94.75 kg): a sum "
        "over many runs with no device type, so neither fitted nor scored."),
    "cohere-embed-english-light-v2.0": dict(_COHERE, run_group="cohere-embed-english-light-v2.0"),
    "cohere-base-light": dict(_COHERE, run_group="cohere-base-light"),
    "cohere-embed-english-v2.0": dict(_COHERE, run_group="cohere-embed-english-v2.0"),
    "pleias-3b-preview": dict(
        run_group="pleias-3b-preview", energy_basis="tdp", pue_included=False, pue_stated=False, country="FRA",
        provider="hpc", in_fit=False,
        decision_note="The card does not say how the 16 t were obtained, and names 'h100s' without the variant "
        "(SXM5 700 W or PCIe 350 W), so the hardware is left empty and the row is not fitted; scored on what it "
        "states (192 devices, about 20 days, 3B parameters, 1.09T tokens). The basis is entered as nominal without "
        "PUE, the commonest card convention, with pue_stated False."),
    "damgomz-bertrand-bs64-lr5-mlm": dict(
        run_group="bertrand-bs64-lr5-mlm", energy_basis="measured", power_scope="system", pue_included=False,
        country="CHE", in_fit=False, validate=False,
        decision_note="CodeCarbon measurement (CPU and RAM energy, no GPU) of MLM training from the albert-base-v2 "
        "checkpoint: system scope, no PUE. CPU only: no accelerator of priors/accelerators.csv describes it, so the "
        "input contract cannot express the run; neither fitted nor scored."),
    "qamembert": dict(
        run_group="qamembert", scope="finetune", hardware="A100-PCIE-40GB", energy_basis="tdp", pue_included=False,
        pue_stated=False, country="FRA", provider="on_premise", in_fit=False, validate=False,
        decision_note=_CALC + " Fine-tune with no hours or tokens (the card's 'Hours used' is blank): the input "
        "contract cannot describe its compute, so neither fitted nor scored. 'A100 PCIe 40/80GB' is the calculator's "
        "250 W entry, mapped to A100-PCIE-40GB."),
    "imageomics-bioclip": dict(
        run_group="bioclip", scope="finetune", hardware="A100-SXM4-80GB", energy_basis="tdp", pue_included=False,
        pue_stated=False, country="USA", provider="hpc",
        decision_note=_CALC + " Trained from OpenAI's CLIP ViT-B/16 checkpoint (the card says fine-tuned), so scope "
        "finetune. A100-80GB variant not stated (SXM4, 400 W; 768 h x 0.4 kW x 0.432 kg/kWh = 132.7 kg, the "
        "calculator's private-infrastructure intensity)."),
    "owkin-phikon-ibot-vit-b16": dict(
        run_group="phikon-vit-b16", hardware="V100-SXM2", energy_basis="tdp", pue_included=False, pue_stated=False,
        country="FRA", provider="hpc",
        decision_note="Secondary card reproducing the paper's figure; method not stated, but 14.59 kg = 1,216 GPU-h "
        "x 0.3 kW x 0.04 kg/kWh: nominal 300 W (the V100 SXM2 TDP; the PCIe card is 250 W) without PUE, which the card "
        "does not state (pue_stated False)."),
    "gpt-fr-cased-base": dict(
        run_group="gpt-fr-cased-base", hardware="V100-SXM2", energy_basis="tdp", pue_included=False, pue_stated=False,
        country="FRA", provider="hpc",
        decision_note=_CALC + " The 140 hours are wall-clock: 580.61 kg = 32 GPUs x 140 h x 0.3 kW x 0.432 kg/kWh (the "
        "calculator's private-infrastructure intensity), so device_hours is 32 x 140. V100 at the stated 300 W TDP: "
        "SXM2."),
    "szegedai-bert-medium-mlsm": dict(
        run_group="bert-medium-mlsm", hardware="RTX-A6000", energy_basis="tdp", pue_included=False, pue_stated=False,
        decision_note=_CALC + " Device count and location not stated; the template's 'Hours used' is the calculator's "
        "device-hours input."),
    "drbellamy-labrador": dict(
        run_group="labrador", hardware="A100-PCIE-40GB", energy_basis="tdp", pue_included=False, pue_stated=False,
        provider="on_premise",
        decision_note=_CALC + " The figure sits under the calculator template, whose line naming the calculator a "
        "later commit removed; private infrastructure, region not stated."),
    "lgrobol-m2m100-418m-br-fr-all-runs": dict(
        run_group="m2m100-418m-br-fr-runs", scope="aggregate", energy_basis="tdp", pue_included=False,
        pue_stated=False, country="FRA", in_fit=False, validate=False,
        decision_note="Sum over 3 released fine-tunes and 8 development runs (about 300 g each, ML CO2 Impact "
        "calculator), with no hardware or hours: neither fitted nor scored."),
    "mfidabel-controlnet-segment-anything": dict(
        run_group="controlnet-segment-anything", scope="finetune", hardware="TPUV3", energy_basis="tdp",
        pue_included=False, pue_stated=False, source_power_w=283, source_carbon_intensity=0.57,
        region="gcp:us-central1", country="USA", provider="google", in_fit=False, validate=False,
        decision_note="Calculator figure for one TPUv3 chip x 8 h (283 W x 8 h x 0.57), entered because TPUv4 was not "
        "in the calculator: the run itself used TPU v4 of an unstated count, so the figure does not describe its "
        "compute; neither fitted nor scored. ControlNet training on a frozen Stable Diffusion 1.5: scope finetune."),
    "lcampillos-roberta-es-clinical-trials-ner": dict(
        run_group="roberta-es-clinical-trials-ner", scope="finetune", hardware="RTX-3090", energy_basis="tdp",
        pue_included=False, pue_stated=False, country="ESP", in_fit=False, validate=False,
        decision_note=_CALC + " The label is 0.01 kg rounded to two decimals (anything from 0.005 to 0.015 kg, a "
        "factor of 3 for a 4-minute fine-tune): too coarse to fit or score."),
}

DECISIONS: dict[str, dict] = {
    "meta-llama-3.2-vision-11b": dict(_META, run_group="llama-3.2-vision-11b", source_power_w=700,
                                      decision_note="Hours are the card's sum of pretraining, annealing, SFT and "
                                      "RLHF stages: the figure covers them all."),
    "meta-llama-3.2-vision-90b": dict(_META, run_group="llama-3.2-vision-90b", source_power_w=700,
                                      decision_note="Hours are the card's sum of pretraining, annealing, SFT and "
                                      "RLHF stages: the figure covers them all."),
    "meta-llama-4-scout": dict(_META, run_group="llama-4-scout", source_power_w=700, active_parameters=17e9,
                               feature_sources=_LLAMA4),
    "meta-llama-4-maverick": dict(_META, run_group="llama-4-maverick", source_power_w=700, active_parameters=17e9,
                                  feature_sources=_LLAMA4),
    "google-meena": dict(run_group="google-meena", hardware="TPUV3", energy_basis="measured", power_scope="system",
                         pue_included=True, country="USA", provider="google"),
    "deepmind-gopher-280b-exclpue": dict(
        run_group="gopher-280b", hardware="TPUV3", energy_basis="tdp", pue_included=False, provider="google",
        decision_note="The BLOOM authors' estimate (italic in their Table 4): chip-hours x an average power they do "
        "not state in the table, without PUE (the table gives PUE in its own column; 352 t = 1,066 MWh x 0.33). "
        "Location not stated."),
    "deepmind-gopher-280b-inclpue": dict(
        run_group="gopher-280b", hardware="TPUV3", energy_basis="tdp", pue_included=False, provider="google",
        derived_from="deepmind-gopher-280b-exclpue", in_fit=False, validate=False,
        decision_note="Same 1,066 MWh as the excl.-PUE row (380 t = 1,066 x 1.08 x 0.33): a restatement."),
    "bigscience-bloom-1b1": dict(energy_basis="tdp", pue_included=False, country="FRA", provider="hpc",
                                 run_group="bloom-1b1", in_fit=False,
                                 decision_note="Luccioni et al.'s BLOOM training energies (the 7B1 figure equals "
                                 "the bloom-7b1 row's): dynamic energy without PUE; hours and hardware not given, "
                                 "so scored at tier T3 only and not fitted."),
    "bigscience-bloomz-1b1-ft": dict(energy_basis="tdp", pue_included=False, country="FRA", provider="hpc",
                                     run_group="bloomz-1b1-ft", scope="finetune", in_fit=False,
                                     decision_note=BLOOMZ_NOTE),
    "allenai-olmoe-0924": dict(run_group="olmoe-0924", hardware="H100-SXM5", energy_basis="measured",
                               power_scope="gpu", pue_included=True, country="USA", active_parameters=1e9,
                               feature_sources="active_parameters: '1B active' as the source names the model",
                               decision_note="Measured GPU power (Morrison et al. 2025), with the stated PUE 1.2 "
                               "applied as in the other rows of that paper; hours not given."),
    "allenai-olmo-3-7b": dict(run_group="olmo-3-7b", hardware="H100-SXM5", energy_basis="measured",
                              power_scope="gpu", pue_included=False,
                              decision_note="GPU energy only (measured average 621 W per GPU); H100 SXM, the only "
                              "H100 whose power reaches 621 W. Location not stated."),
    "allenai-olmo-3-32b": dict(run_group="olmo-3-32b", hardware="H100-SXM5", energy_basis="measured",
                               power_scope="gpu", pue_included=False,
                               decision_note="GPU energy only (measured average 649 W per GPU); H100 SXM, the only "
                               "H100 whose power reaches 649 W. Location not stated."),
    "bigcode-starcoderbase-15.5b": dict(
        run_group="starcoderbase-15.5b", hardware="A100-SXM4-80GB", energy_basis="assumed", pue_included=False,
        pue_stated=False, source_power_w=280,
        decision_note="89,671.68 kWh = 320,256 GPU-hours x 280 W (the paper's assumed average): the paper does not "
        "say whether a PUE applies (the arithmetic has none), so the convention is latent. Location not stated."),
    "ibm-granite-3.0-8b": dict(run_group="granite-3.0-8b", hardware="H100-SXM5", energy_basis="measured",
                               pue_included=True, power_scope="system", in_fit=False, validate=False,
                               decision_note="The report does not say how the 757 MWh were obtained (757 MWh / "
                               "832,102 GPU-hours = 910 W per GPU, above the H100 TDP): the basis is unknown, "
                               "which the model cannot yet express, so the row is neither fitted nor scored."),
    "google-lamda-137b": dict(
        run_group="lamda-137b", hardware="TPUV3", energy_basis="assumed", pue_included=True, source_power_w=289,
        source_pue=1.10, provider="google",
        decision_note="Chip-days x the power measured for Meena (289 W) x PUE 1.10 (451 MWh = 1,024 x 57.7 d x 24 h x "
        "289 W x 1.10): an assumed power, stated. Location not stated."),
    "google-glam-64b64e-600b": dict(run_group="glam-64b64e-600b", hardware="TPUV4", energy_basis="measured",
                                    power_scope="system", pue_included=True, provider="google",
                                    active_parameters=9.66e10,
                                    feature_sources="active_parameters: 96.6B activated parameters (GLaM paper)",
                                    decision_note="Google's measured system energy (as Patterson et al.); hours not "
                                    "given. Location not stated."),
    "google-glam-64b64e-280b": dict(run_group="glam-64b64e-280b", hardware="TPUV4", energy_basis="measured",
                                    power_scope="system", pue_included=True, provider="google",
                                    active_parameters=9.66e10,
                                    feature_sources="active_parameters: 96.6B activated parameters (GLaM paper)",
                                    decision_note="The 280B-token run (574 h on 1,024 TPU-v4): a run of its own. "
                                    "Location not stated."),
    "meta-sam-vit-h": dict(
        run_group="sam-vit-h", hardware="A100-SXM4-40GB", energy_basis="tdp", pue_included=False, pue_stated=False,
        provider="meta",
        decision_note="6,963 kWh = 17,387.52 A100-hours x 400 W: nominal, but the card states neither the watts nor "
        "a PUE, so both are latent. A100 variant not stated (every SXM4 A100 is 400 W). Location not stated."),
    "stabilityai-stable-diffusion-v2": dict(run_group="stable-diffusion-v2", hardware="A100-PCIE-40GB",
                                            energy_basis="tdp", pue_included=False, pue_stated=False,
                                            region="aws:us-east-1", country="USA", provider="aws", decision_note=_CALC),
    "wuerstchen-v2-prior": dict(run_group="wuerstchen-v2", hardware="A100-PCIE-40GB", energy_basis="tdp",
                                pue_included=False, pue_stated=False, region="aws:us-east-1", country="USA",
                                provider="aws", decision_note=_CALC),
    "hf-idefics-80b": dict(run_group="idefics-80b", hardware="A100-SXM4-80GB", energy_basis="tdp",
                           pue_included=False, pue_stated=False, region="aws:us-west-2", country="USA",
                           provider="aws", decision_note=_CALC + " A100 variant not stated (SXM4, 400 W)."),
    "hf-idefics-80b-instruct-ft": dict(run_group="idefics-80b-instruct-ft", scope="finetune",
                                       hardware="A100-SXM4-80GB", energy_basis="tdp", pue_included=False,
                                       pue_stated=False, region="aws:us-west-2", country="USA", provider="aws",
                                       decision_note=_CALC + " A100 variant not stated (SXM4, 400 W)."),
    "hf-idefics-preliminary-experiments": dict(run_group="idefics-experiments", scope="project_total",
                                               energy_basis="tdp", pue_included=False, pue_stated=False,
                                               country="FRA", in_fit=False, validate=False,
                                               decision_note="Project-level experiments with no hardware or hours."),
    "dodge-vit-large": dict(run_group="dodge-vit-large", hardware="V100-SXM2", energy_basis="measured",
                            power_scope="gpu", pue_included=False, country="USA", provider="azure"),
    "dodge-vit-huge": dict(run_group="dodge-vit-huge", hardware="V100-SXM2", energy_basis="measured",
                           power_scope="gpu", pue_included=False, country="USA", provider="azure"),
    # --- data/collected_training_runs.csv: figures this project read in their sources ---
    "kluge-teenytinyllama-160m": dict(_CODECARBON, run_group="teenytinyllama-160m"),
    "kluge-teenytinyllama-460m": dict(_CODECARBON, run_group="teenytinyllama-460m"),
    "distilgpt2": dict(_HF, run_group="distilgpt2", hardware="V100-SXM2", country="USA"),
    "it5-base": dict(_HF, run_group="it5-base", hardware="TPUV3", region="gcp:europe-west4", country="NLD",
                     provider="google"),
    **_COLLECTED_2026_12,
}

#: Rows of the first table whose source does not say whether a PUE is inside its nominal figure.
PUE_NOT_STATED = ("compvis-stable-diffusion-v1", "wuerstchen-v1", "meta-opt-175b-opt-paper",
                  "alephalpha-luminous-base-13b", "dalle-mini", "dalle-mega", "aelaectra-danish-electra-small-cased",
                  "it5-small", "it5-large")
