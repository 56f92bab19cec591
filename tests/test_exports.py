"""Reporting-scheme exports: BoAmps 1.1 (validated against its published schema), EU AI Act, HF co2_eq_emissions."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource

from carbon_bayes.cli import main
from carbon_bayes.errors import InputError
from carbon_bayes.exports import BOAMPS_SCHEMA_DIR, boamps, boamps_quality, eu_ai_act, export, relative_half_width
from carbon_bayes.report import report, report_data

RUN = {"run_id": "r7b", "parameters": 7e9, "training_tokens": 2e12, "hardware": "H100", "n_devices": 256,
       "training_days": 20, "region": "gcp:europe-north1", "year": 2024}
SEED = 11
_BASE = "https://raw.githubusercontent.com/Boavizta/BoAmps/main/model/"


def _validator():
    schemas = {name: json.loads((BOAMPS_SCHEMA_DIR / f"{name}_schema.json").read_text(encoding="utf-8"))
               for name in ("report", "algorithm", "dataset", "hardware", "measure")}
    registry = Registry().with_resources(
        [(f"{_BASE}{name}_schema.json", Resource.from_contents(s)) for name, s in schemas.items()])
    cls = jsonschema.validators.validator_for(schemas["report"])
    cls.check_schema(schemas["report"])
    return cls(schemas["report"], registry=registry)


@pytest.fixture(scope="module")
def data():
    return report_data(RUN, seed=SEED)


def test_boamps_report_validates_against_the_published_schema(data):
    doc = boamps(data, now=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    _validator().validate(doc)
    rec = data["runs"][0]
    (measure,) = doc["measures"]
    assert measure["powerConsumption"] == pytest.approx(rec["energy_mwh"]["median"] * 1000)  # kWh
    assert "estimate" in measure["measurementMethod"]
    assert measure["measurementDuration"] == 20 * 86400
    (comp,) = doc["infrastructure"]["components"]
    assert comp["nbComponent"] == 256 and comp["componentType"] == "gpu" and "H100" in comp["componentName"]
    assert doc["header"]["reportDatetime"] == "2025-01-02 03:04:05"
    assert doc["task"]["taskStage"] == "training" and doc["task"]["algorithms"][0]["parametersNumber"] == 7.0
    assert doc["quality"] == boamps_quality(rec["energy_mwh"])
    assert doc["environment"]["country"] == "FIN"


def test_the_schema_check_is_real(data):
    """The validator refuses what the schema forbids, so the validation above could fail."""
    v = _validator()
    doc = boamps(data)
    for broken in ({k: x for k, x in doc.items() if k != "measures"},
                   {**doc, "quality": "excellent"},
                   {**doc, "measures": [{"measurementMethod": "x"}]},
                   {**doc, "infrastructure": {"infraType": "other", "components": [{"componentType": "gpu",
                                                                                     "nbComponent": 2.5}]}}):
        with pytest.raises(jsonschema.ValidationError):
            v.validate(broken)


@pytest.mark.parametrize(("lower", "upper", "quality"), [
    (95, 108, "high"), (90, 110, "high"), (80, 110, "medium"), (100, 125, "medium"), (60, 120, "low"),
    (20, 400, "low")])
def test_quality_is_the_band_that_holds_the_whole_interval(lower, upper, quality):
    stats = {"median": 100.0, "lower": float(lower), "upper": float(upper)}
    assert boamps_quality(stats) == quality
    assert relative_half_width(stats) == pytest.approx(max(upper - 100, 100 - lower) / 100)


def test_boamps_needs_the_device_count_and_one_run():
    with pytest.raises(InputError, match="n_devices"):
        export({k: v for k, v in RUN.items() if k != "n_devices"}, "boamps", seed=SEED)
    with pytest.raises(InputError, match="one training run"):
        export([RUN, {**RUN, "run_id": "b"}], "boamps", seed=SEED)
    with pytest.raises(InputError, match="format"):
        export(RUN, "boampz")


def test_fine_tune_is_a_finetuning_stage():
    doc = json.loads(export(RUN, "boamps", seed=SEED, training_type="fine-tuning"))
    assert doc["task"]["taskStage"] == "finetuning"
    assert doc["task"]["algorithms"][0]["trainingType"] == "transferLearning"


def test_eu_ai_act_section(data):
    sec = eu_ai_act(data)
    e = data["runs"][0]["energy_mwh"]
    assert sec["training_energy_mwh"] == e["median"]
    assert sec["training_energy_interval_mwh"] == [e["lower"], e["upper"]]
    assert sec["energy_status"] == "estimated" and "Estimated, not measured" in sec["method"]
    assert sec["training_time_days"] == 20 and sec["training_compute_flop"] is None
    assert sec["training_compute_status"] == "not reported"  # hours follow from devices x days: compute not needed
    bare = eu_ai_act(report_data({k: v for k, v in RUN.items() if k != "training_days"}, seed=SEED))
    assert bare["training_time_status"] == "not reported (drawn from the model's priors)"
    assert bare["training_compute_status"] == "not reported"  # 6 x parameters x tokens, not drawn
    assert "device-hours" in bare["method"] and "PUE" in bare["method"]
    md = export({**RUN, "training_flops": 8.4e22}, "eu-ai-act", seed=SEED)
    assert "| Training compute | 8.4e+22 FLOP |" in md
    assert "90% credible interval" in md and "| Measured or estimated | estimated |" in md
    js = json.loads(export(RUN, "eu-ai-act-json", seed=SEED, ci_level=0.8))
    assert js["interval_level"] == 0.8 and js["training_energy_interval_mwh"][0] < js["training_energy_mwh"]


def test_hf_co2_front_matter_matches_the_hf_card_block_and_states_the_interval():
    text = export(RUN, "hf-co2", seed=SEED)
    assert text.startswith("---\n")
    front = yaml.safe_load(text.split("---\n")[1])
    card = yaml.safe_load(report(RUN, format="hf-card", seed=SEED))
    assert front == card  # one block, written once
    assert isinstance(front["co2_eq_emissions"]["emissions"], (int, float))
    body = text.split("---\n", 2)[2]
    assert "## Environmental impact" in body and "90% credible interval" in body


def test_cli_report_writes_each_export(capsys, tmp_path):
    flags = ["--parameters", "7e9", "--training-tokens", "2e12", "--hardware", "H100", "--n-devices", "256",
             "--year", "2024", "--seed", str(SEED)]
    out = tmp_path / "boamps.json"
    assert main(["report", *flags, "--format", "boamps", "--output", str(out)]) == 0
    _validator().validate(json.loads(out.read_text(encoding="utf-8")))
    assert main(["report", *flags, "--format", "eu-ai-act"]) == 0
    assert "## Energy consumption of training" in capsys.readouterr().out
    assert main(["report", *flags, "--format", "hf-co2"]) == 0
    assert "co2_eq_emissions:" in capsys.readouterr().out


def test_write_takes_every_format_of_the_cli_and_names_them_all_when_one_is_unknown():
    from carbon_bayes.cli import build_parser
    from carbon_bayes.exports import ALL_FORMATS, EXPORT_FORMATS, MEDIA_TYPES, write
    from carbon_bayes.report import FORMATS

    assert ALL_FORMATS == FORMATS + EXPORT_FORMATS and set(MEDIA_TYPES) == set(ALL_FORMATS)
    report_parser = build_parser()._subparsers._group_actions[0].choices["report"]
    assert next(a for a in report_parser._actions if a.dest == "format").choices == ALL_FORMATS
    assert write(RUN, "eu-ai-act-json", seed=SEED) == export(RUN, "eu-ai-act-json", seed=SEED)
    assert write(RUN, "md", seed=SEED) == report(RUN, "markdown", seed=SEED)
    with pytest.raises(InputError) as err:
        write(RUN, "pdf")
    assert err.value.field == "format" and err.value.value == "pdf" and all(f in err.value.fix for f in ALL_FORMATS)
    with pytest.raises(InputError, match="one run"):  # a format's own refusal is not turned into "unknown format"
        write([RUN, dict(RUN, run_id="other")], "hf-card")


def test_a_fine_tune_scope_makes_a_finetuning_stage_and_card_without_a_training_type():
    data = report_data({**RUN, "scope": "finetune"}, seed=SEED)
    assert data["training_type"] == "fine-tuning"
    doc = boamps(data, now=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert doc["task"]["taskStage"] == "finetuning"
    assert doc["task"]["algorithms"][0]["trainingType"] == "transferLearning"
    _validator().validate(doc)
    # a pretraining keeps the default, and an explicit training_type is kept as given
    assert report_data(RUN, seed=SEED)["training_type"] == "pre-training"
    assert report_data({**RUN, "scope": "finetune"}, seed=SEED, training_type="SFT")["training_type"] == "SFT"
