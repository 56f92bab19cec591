"""The input contract, declared once: every column a user may give about a training run.

Each :class:`Column` has its name, unit, kind (number, category, text), bounds and a
description; :data:`CATEGORIES` lists the allowed values of the categorical columns and
:data:`CATEGORY_ALIASES` / :data:`COLUMN_ALIASES` the spellings read as them. The CLI, the
Python API and the readers all check input against these through
:func:`carbon_bayes.schema.normalise_runs`.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

MAX_YEAR = _dt.date.today().year + 5


@dataclass(frozen=True)
class Column:
    """One column of the input contract."""

    name: str
    kind: str  # "text", "number", "category"
    unit: str
    description: str
    lower: float | None = None  # numbers: smallest accepted value (inclusive)
    upper: float | None = None  # numbers: largest accepted value (inclusive)
    positive: bool = False  # numbers: must be > 0
    too_small_fix: str = ""  # numbers: fix shown when value < lower
    too_large_fix: str = ""  # numbers: fix shown when value > upper


_B = "give the plain count (e.g. 7e9 for a 7B model, not 7)"
COLUMNS: tuple[Column, ...] = (
    Column("run_id", "text", "-", "any string, passed through to the output"),
    Column("model_name", "text", "-", "free text"),
    Column("year", "number", "year", "training year", 2010, MAX_YEAR,
           too_small_fix="give the training year, 2010 or later", too_large_fix=f"give a year up to {MAX_YEAR}"),
    Column("task", "category", "-", "language, vision, image_generation, speech, multimodal, other"),
    Column("architecture", "category", "-", "dense_transformer, moe_transformer, cnn, diffusion_unet, rnn, other"),
    Column("parameters", "number", "count", "total parameters", 1e5, 1e14, True,
           too_small_fix=f"this looks like billions or millions; {_B}"),
    Column("active_parameters", "number", "count", "parameters active per token (mixture-of-experts)", 1e5, 1e14, True,
           too_small_fix=f"this looks like billions or millions; {_B}"),
    Column("training_tokens", "number", "count", "training tokens", 1e5, 1e15, True,
           too_small_fix="this looks like billions or trillions; give the plain count (e.g. 2e12 for 2T tokens)"),
    Column("training_flops", "number", "FLOP", "total training compute", 1e12, 1e29, True,
           too_small_fix="this looks like it is in PFLOP, EFLOP or ZFLOP; give total FLOP (e.g. 8.4e22)",
           too_large_fix="no training run has used more than 1e29 FLOP; check the unit"),
    Column("hardware", "text", "-", "accelerator name; common spellings resolve"),
    Column("n_devices", "number", "count", "number of accelerators", 1, 1e7, True,
           too_small_fix="give the number of accelerators, at least 1"),
    Column("device_hours", "number", "accelerator-hours", "n_devices x wall-clock hours", 1e-4, 1e10, True,
           too_small_fix="is under 0.36 accelerator-seconds, too short to be a training run; give n_devices x "
                         "wall-clock hours (e.g. 184320 for 1,024 GPUs x 180 h)"),
    Column("training_days", "number", "days", "wall-clock days", 1e-5, 2000, True,
           too_small_fix="is under one second; give wall-clock days of training (e.g. 21 or 0.5)",
           too_large_fix="give wall-clock days of training (less than 2,000)"),
    Column("power_per_device_w", "number", "W", "measured average power per device", None, 5000, True,
           too_large_fix="give watts per device (no accelerator draws more than 5 kW)"),
    Column("pue", "number", "-", "facility power usage effectiveness", 1.0, 3.0,
           too_small_fix="PUE is total facility power / IT power, so it is at least 1.0 (e.g. 1.1)",
           too_large_fix="PUE above 3 is not a datacentre value; give e.g. 1.1-1.6"),
    Column("carbon_intensity", "number", "kg CO2e/kWh", "grid or contract carbon intensity", 0.0, 1.5,
           too_small_fix="carbon intensity cannot be negative; give kg CO2e per kWh (e.g. 0.385)",
           too_large_fix="this looks like g/kWh; give kg CO2e per kWh (divide by 1000)"),
    Column("region", "text", "-", 'cloud region, e.g. "aws:us-east-1", "gcp:us-central1", "azure:westeurope"'),
    Column("country", "text", "-", 'ISO 3166 code or name, e.g. "US", "USA", "FR"'),
    Column("accounting", "category", "-", "location_based (default) or market_based"),
    Column("energy_basis", "category", "-", "measured (default); tdp (device-hours x TDP, or your "
           "power_per_device_w, x PUE; also 'assumed'); or nominal (a published nominal figure that does not say "
           "which watts or whether a PUE is in it: both are drawn from what published figures did, unless you give "
           "power_per_device_w or pue)"),
    # Extensions beyond the core input contract, all optional:
    Column("precision", "category", "-", "training precision: fp32, tf32, bf16, fp16, fp8 (default: the chip's usual)"),
    Column("provider", "category", "-", "data-centre operator, for the PUE prior: google, aws, azure, meta, oracle, "
           "hpc, colo, on_premise, unknown (implied by region)"),
    Column("operator", "text", "-", "organisation that trained the model, as the published runs name it (e.g. "
           "meta, google, ai2, bigscience; `carbon-bayes data --operators`): its learned utilisation and power "
           "effects are used; another name, or none, is a new organisation, drawn from the spread between "
           "organisations"),
    Column("power_scope", "category", "-", "system (default: devices + host share) or gpu (accelerators only)"),
    Column("scope", "category", "-", "pretraining (default: a model trained from scratch) or finetune (further "
           "training of a pretrained model: fine-tuning, instruction tuning, adapters); without hours or compute, a "
           "fine-tune's compute is drawn as a fraction of a pretraining's"),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
_BY_NAME = {c.name: c for c in COLUMNS}


def largest_value(column: str) -> float:
    """Return the contract's largest accepted value of ``column`` (its ``upper``)."""
    upper = _BY_NAME[column].upper
    if upper is None:
        raise RuntimeError(f"the input contract gives no upper bound for {column!r}")
    return float(upper)

CATEGORIES: dict[str, tuple[str, ...]] = {
    "task": ("language", "vision", "image_generation", "speech", "multimodal", "other"),
    "architecture": ("dense_transformer", "moe_transformer", "cnn", "diffusion_unet", "rnn", "other"),
    "accounting": ("location_based", "market_based"),
    "energy_basis": ("measured", "tdp", "nominal"),
    "precision": ("fp32", "tf32", "bf16", "fp16", "fp8"),
    "provider": ("google", "aws", "azure", "meta", "oracle", "hpc", "colo", "on_premise", "unknown"),
    "power_scope": ("system", "gpu"),
    "scope": ("pretraining", "finetune"),
}
CATEGORY_ALIASES: dict[str, dict[str, str]] = {
    "task": {"nlp": "language", "text": "language", "llm": "language", "diffusion": "image_generation",
             "recsys": "other", "recommendation": "other",
             "image generation": "image_generation", "audio": "speech", "cv": "vision"},
    "architecture": {"transformer": "dense_transformer", "dense": "dense_transformer", "moe": "moe_transformer",
                     "mixture_of_experts": "moe_transformer", "unet": "diffusion_unet", "diffusion": "diffusion_unet",
                     "lstm": "rnn", "convnet": "cnn"},
    "accounting": {"location": "location_based", "market": "market_based", "unknown": "location_based"},
    # "assumed": a figure computed from a stated assumed power per device (data/README.md), like tdp
    "energy_basis": {"assumed": "tdp", "physical": "measured"},
    "precision": {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16", "half": "fp16"},
    "provider": {"gcp": "google", "google_cloud": "google", "microsoft": "azure", "amazon": "aws"},
    "power_scope": {},
    # The published-runs table says final_pretraining; its aggregate and project_total rows are sums of
    # trainings from scratch, which the compute regression describes as pretraining.
    "scope": {"final_pretraining": "pretraining", "pretrain": "pretraining", "pre_training": "pretraining",
              "from_scratch": "pretraining", "aggregate": "pretraining", "project_total": "pretraining",
              "fine_tune": "finetune", "fine_tuning": "finetune", "finetuning": "finetune", "sft": "finetune",
              "instruction_tuning": "finetune", "lora": "finetune", "qlora": "finetune", "adapter": "finetune"},
}

#: Columns of the published-runs table (``published_training_runs.csv``, the source of
#: ``data/training_runs.csv``) read as the input contract's, so that such a file can be estimated
#: as it is (with a warning saying so). What a source *used* (PUE, intensity, power) is what its
#: figure counts, so it is the input that predicts that figure.
COLUMN_ALIASES = {
    "model_id": "run_id",
    "task_family": "task",
    "reported_power_per_device_w": "power_per_device_w",
    "pue_used_by_source": "pue",
    "carbon_intensity_kg_per_kwh_used_by_source": "carbon_intensity",
}

#: Columns of ``data/training_runs.csv`` and of the published-runs table (labels, provenance)
#: that estimate() ignores silently.
PASSTHROUGH = frozenset({
    "reported_energy_mwh", "reported_co2_t",
    "run_group", "organization", "hardware_as_published", "location_or_region", "energy_mwh", "co2_t",
    "pue_included", "source_power_w", "source_pue", "source_carbon_intensity",
    "source_ci_country", "derived_from", "in_fit", "validate", "decision_note", "feature_sources", "source",
    "source_quote", "confidence", "tier", "warnings", "cluster", "pue_stated",
})

_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}
_SUFFIX_RE = re.compile(r"^\s*([-+]?\d*\.?\d+(?:e[-+]?\d+)?)\s*([kmbgt])\s*$", re.IGNORECASE)

#: device_hours more than this factor away from n_devices x training_days x 24 is a contradiction
#: (an error); published figures round days and device counts, and some runs did not use every
#: device all the time, so a smaller mismatch is only a warning (device_hours is used).
HOURS_CONTRADICTION = 2.0
HOURS_WARNING = 1.25
#: training_flops and 6 N D further apart than this factor give a warning.
FLOPS_TOLERANCE = 3.0


#: Columns whose cells are text (never numbers): a decimal comma is left as it is in them when a
#: semicolon-separated file's numbers are read (``3,5`` stays a model name, not 3.5).
TEXT_COLUMNS = frozenset(
    {c.name for c in COLUMNS if c.kind != "number"}
    | {alias for alias, target in COLUMN_ALIASES.items() if _BY_NAME[target].kind != "number"}
    | {"organization", "run_group", "hardware_as_published", "location_or_region", "source",
       "source_quote", "decision_note", "feature_sources", "derived_from", "confidence", "tier", "warnings",
       "cluster", "pue_included", "pue_stated"})
