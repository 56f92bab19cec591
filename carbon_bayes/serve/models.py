"""Request models of the service, generated from the input contract (:mod:`carbon_bayes.contract`).

Every column of :data:`~carbon_bayes.contract.COLUMNS` becomes an optional field of
:class:`Run` with its unit, description, bounds and allowed values in the OpenAPI schema; no
column list is written here. The fields are typed loosely (a number may be given as ``7e9`` or
``"7B"``, as on the command line): the checks themselves are
:func:`carbon_bayes.schema.normalise_runs`, so a bad value gets the CLI's message.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from carbon_bayes.constants import ALL_FORMATS, CI_LEVEL, EXPORT_FORMATS, N_DRAWS_MAX
from carbon_bayes.contract import CATEGORIES, COLUMNS, Column


def _extra(c: Column) -> dict[str, Any]:
    """Return the contract's facts about one column as OpenAPI extension keywords."""
    extra: dict[str, Any] = {"x-unit": c.unit, "x-kind": c.kind}
    if c.lower is not None:
        extra["x-minimum"] = c.lower
    if c.upper is not None:
        extra["x-maximum"] = c.upper
    if c.positive:
        extra["x-exclusiveMinimum"] = 0
    if c.name in CATEGORIES:
        extra["x-allowed"] = list(CATEGORIES[c.name])
    return extra


def _field(c: Column) -> tuple[Any, Any]:
    kind: Any = (float | str | None) if c.kind == "number" else (str | None)
    return kind, Field(None, description=f"{c.description} ({c.unit})", json_schema_extra=_extra(c))


#: One training run: every input column of the contract, all optional.
Run = create_model(  # type: ignore[call-overload]
    "Run", __config__=ConfigDict(extra="forbid"), __doc__="One training run (input contract; every field optional).",
    **{c.name: _field(c) for c in COLUMNS},
)


class _Options(BaseModel):
    """Prediction options shared by every endpoint that predicts."""

    model_config = ConfigDict(extra="forbid")
    ci_level: float = Field(CI_LEVEL, description="credible-interval level, a fraction in (0, 1)")
    n_draws: int | None = Field(None, description=f"predictive draws per run (default by tier; at most "
                                                  f"{N_DRAWS_MAX:,})")
    seed: int | None = Field(None, description="random seed (default fixed: same input, same numbers)")


class EstimateRequest(_Options):
    """One run; the answer has its quantiles for a plot."""

    run: Run  # type: ignore[valid-type]
    distribution: bool = Field(True, description="also return quantiles of energy and CO2e (for a plot)")


class BatchRequest(_Options):
    """Several runs, one output row each."""

    runs: list[Run] = Field(..., min_length=1)  # type: ignore[valid-type]


class BudgetRequest(_Options):
    """One run against a carbon budget, with alternatives to rank."""

    run: Run  # type: ignore[valid-type]
    budget_t: float = Field(..., description="carbon budget, t CO2e (> 0)")
    max_risk: float = Field(0.05, description="acceptable P(exceed), in (0, 1)")
    alternatives: list[dict[str, float | str | None]] | None = Field(
        None, description="overrides to compare, e.g. [{\"region\": \"gcp:europe-north1\"}]")
    suggest: bool = Field(False, description="add the service's suggestions: the lowest-carbon cloud regions and "
                                             "the newest common accelerators")


class ReportRequest(_Options):
    """Runs to report in one of the package's formats (those of ``carbon-bayes report --format``)."""

    runs: list[Run] = Field(..., min_length=1)  # type: ignore[valid-type]
    format: Literal[ALL_FORMATS] = Field(  # type: ignore[valid-type]
        "markdown", description=f"any format of carbon-bayes report: {', '.join(ALL_FORMATS)} (the exports, "
                                f"{', '.join(EXPORT_FORMATS)}, describe one run)")
    training_type: str | None = Field(None, max_length=200, description="model card training_type (default: "
                                      "fine-tuning when every run's scope is finetune, else pre-training)")
    raw: bool = Field(False, description="answer with the document itself, its media type as Content-Type, "
                                         "instead of the JSON envelope (format, media_type, text, notes)")


class VoiRequest(_Options):
    """One run whose unknown inputs are ranked by how much knowing them narrows the interval."""

    run: Run  # type: ignore[valid-type]
    quantity: Literal["co2_t", "energy_mwh"] = "co2_t"
