"""Exports of one run's estimate in the formats reporting schemes ask for.

- ``boamps``: a Boavizta BoAmps report (AI energy reporting JSON schema, format version 1.1;
  the schema ships in ``carbon_bayes/schemas/boamps_1_1/`` with its CC BY 4.0 licence);
- ``eu-ai-act`` / ``eu-ai-act-json``: the energy section of the EU AI Act documentation of a
  general-purpose AI model (training energy in MWh, measured or estimated, the method, the
  training compute and time), as markdown or JSON;
- ``hf-co2``: a Hugging Face model card's front matter with the ``co2_eq_emissions`` block (the
  same block as ``report --format hf-card``) and a card-text paragraph with the credible interval.

All are built from :func:`carbon_bayes.report.report_data`; ``docs/exports.md`` explains each
mapping.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

from carbon_bayes.constants import ALL_FORMATS, CI_LEVEL, EXPORT_FORMATS
from carbon_bayes.errors import InputError
from carbon_bayes.report import _NAMES, FORMATS, _hf_card, _level, format_name, report, report_data, sig2

#: The media type of each format's text (``hf-card`` is a YAML block; ``hf-co2`` markdown with YAML front matter).
MEDIA_TYPES = {"markdown": "text/markdown", "latex": "application/x-tex", "bibtex": "application/x-bibtex",
               "hf-card": "application/yaml", "json": "application/json", "boamps": "application/json",
               "eu-ai-act": "text/markdown", "eu-ai-act-json": "application/json", "hf-co2": "text/markdown"}
BOAMPS_VERSION = "1.1"
BOAMPS_SCHEMA_DIR = Path(__file__).resolve().parent / "schemas" / "boamps_1_1"
BOAMPS_SCHEMA_URI = "https://raw.githubusercontent.com/Boavizta/BoAmps/main/model/report_schema.json"
# BoAmps' ``quality``: high = +/-10 %, medium = +/-25 %, low = +/-50 % percentage error (its schema text).
_QUALITY_BANDS = ((0.10, "high"), (0.25, "medium"))


def _one_run(data: dict, fmt: str) -> dict:
    if len(data["runs"]) != 1:
        raise InputError("format", fmt, f"a {fmt} export describes one training run; give one run (got "
                         f"{len(data['runs'])}), or use --format json for several")
    return data["runs"][0]


def relative_half_width(stats: dict) -> float:
    """Return the interval's larger distance from the median, as a fraction of the median (inf for a zero median)."""
    med = stats["median"]
    if not med > 0:
        return math.inf
    return max(stats["upper"] - med, med - stats["lower"]) / med


def boamps_quality(stats: dict) -> str:
    """BoAmps ``quality`` of an estimate: the best band whose +/- error holds the whole credible interval."""
    w = relative_half_width(stats)
    for limit, name in _QUALITY_BANDS:
        if w <= limit:
            return name
    return "low"  # the schema's widest band (+/-50 %); wider intervals are still "low", the interval is in the text


def _component(inp: dict) -> dict:
    from carbon_bayes.reference import accelerators

    comp: dict = {"componentType": "gpu", "nbComponent": int(inp["n_devices"]), "share": 1}
    hw = inp.get("hardware")
    if hw:
        table = accelerators()
        if hw in table.index:
            row = table.loc[hw]
            comp.update(componentName=f"{int(inp['n_devices'])} x {row['display_name']}",
                        componentType=str(row["kind"]), manufacturer=str(row["vendor"]).lower(),
                        family=str(row["family"]), series=str(hw))
            mem = row["memory_gb"]
            if mem == mem and float(mem).is_integer():  # BoAmps 1.1 wants an integer (NaN: not known)
                comp["memorySize"] = int(mem)
        else:
            comp["componentName"] = f"{int(inp['n_devices'])} x {hw}"
    return comp


def _boamps_task(rec: dict, data: dict) -> dict:
    inp = rec["inputs"]
    fine = inp.get("scope") == "finetune" or "fine" in str(data["training_type"]).lower()
    algo: dict = {"trainingType": "transferLearning" if fine else "unsupervisedLearning"}
    if inp.get("architecture"):
        algo["algorithmType"] = str(inp["architecture"])
    if inp.get("model_name"):
        algo["algorithmName"] = str(inp["model_name"])
    if inp.get("parameters"):
        algo["parametersNumber"] = float(inp["parameters"]) / 1e9  # BoAmps counts billions
    dataset: dict = {"dataUsage": "input", "dataType": "token"}
    if inp.get("training_tokens"):
        dataset["dataQuantity"] = float(inp["training_tokens"])
    e = rec["energy_mwh"]
    level = _level(data["ci"])
    return {"taskStage": "finetuning" if fine else "training", "taskFamily": str(inp.get("task") or "other"),
            "algorithms": [algo], "dataset": [dataset],
            "taskDescription": (f"Training energy estimated by carbon_bayes {data['carbon_bayes_version']} (not "
                                f"measured): posterior median {sig2(e['median'] * 1000)} kWh, {level} "
                                f"credible interval {sig2(e['lower'] * 1000)}-{sig2(e['upper'] * 1000)} kWh. "
                                + rec["paragraph"])}


def boamps(data: dict, *, now: datetime | None = None) -> dict:
    """Build a BoAmps 1.1 report (a dict) of the one run of ``data`` (:func:`~carbon_bayes.report.report_data`)."""
    rec = _one_run(data, "boamps")
    inp = rec["inputs"]
    if not inp.get("n_devices"):
        raise InputError("n_devices", None, "a BoAmps report lists the infrastructure's components with their "
                         "number; give the number of devices (--n-devices)")
    when = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S")
    measure: dict = {"measurementMethod": f"carbon_bayes {data['carbon_bayes_version']} estimate (posterior median)",
                     "version": str(data["carbon_bayes_version"]),
                     "powerConsumption": rec["energy_mwh"]["median"] * 1000.0}
    if inp.get("training_days"):
        measure["measurementDuration"] = float(inp["training_days"]) * 86400.0
    infra: dict = {"infraType": "publicCloud" if inp.get("region") else "other", "components": [_component(inp)]}
    if inp.get("provider"):
        infra["cloudProvider"] = str(inp["provider"])
    out: dict = {
        "header": {"licensing": "Creative Commons 4.0", "formatVersion": BOAMPS_VERSION,
                   "formatVersionSpecificationUri": BOAMPS_SCHEMA_URI, "reportDatetime": when,
                   "reportStatus": "draft"},
        "task": _boamps_task(rec, data), "measures": [measure], "infrastructure": infra,
        "quality": boamps_quality(rec["energy_mwh"]),
    }
    if inp.get("country"):
        env: dict = {"country": str(inp["country"])}
        if inp.get("region"):
            env["location"] = str(inp["region"])
        if inp.get("carbon_intensity"):
            env["powerSourceCarbonIntensity"] = float(inp["carbon_intensity"]) * 1000.0  # kg/kWh -> g/kWh
        out["environment"] = env
    return out


def _time_text(inp: dict) -> str:
    parts = []
    if inp.get("training_days"):
        parts.append(f"{sig2(float(inp['training_days']))} days")
    if inp.get("device_hours"):
        parts.append(f"{sig2(float(inp['device_hours']))} device-hours")
    return ", ".join(parts) or "not reported"


def eu_ai_act(data: dict) -> dict:
    """Build the energy section of the EU AI Act general-purpose model documentation (a dict) of one run."""
    rec = _one_run(data, "eu-ai-act")
    inp = rec["inputs"]
    e = rec["energy_mwh"]
    level = _level(data["ci"])
    m = data["model"]
    basis = inp.get("energy_basis", "measured")
    method = (f"Estimated, not measured. The training energy is the posterior median of carbon_bayes "
              f"{data['carbon_bayes_version']}, a Bayesian model of compute, accelerator-hours, power per device "
              f"and data-centre PUE fitted to {m['n_labels']} published figures of {m['n_runs']} training runs; "
              f"the {level} equal-tailed credible interval is {sig2(e['lower'])}-{sig2(e['upper'])} MWh. "
              + ("Energy basis: nominal (device-hours x TDP x PUE). " if basis == "tdp" else
                 "Energy basis: physical (energy drawn, power per device learned from measured runs). ")
              + "Inputs not reported were drawn from the model's priors: "
              + (", ".join(_NAMES.get(k, k) for k in rec["drawn_from_priors"]) or "none") + ".")
    flops = inp.get("training_flops")
    drawn = rec["drawn_from_priors"]

    def status(given: bool, key: str) -> str:
        return "reported" if given else "not reported" + (" (drawn from the model's priors)" if key in drawn else "")

    return {
        "training_energy_mwh": e["median"], "training_energy_interval_mwh": [e["lower"], e["upper"]],
        "interval_level": data["ci"], "energy_status": "estimated", "method": method,
        "training_compute_flop": float(flops) if flops else None,
        "training_compute_status": status(bool(flops), "training_flops"),
        "training_time_days": float(inp["training_days"]) if inp.get("training_days") else None,
        "training_device_hours": float(inp["device_hours"]) if inp.get("device_hours") else None,
        "training_time_status": status(bool(inp.get("training_days") or inp.get("device_hours")), "device_hours"),
        "carbon_bayes_version": data["carbon_bayes_version"],
    }


def eu_ai_act_markdown(sec: dict) -> str:
    """Render :func:`eu_ai_act` as a markdown section."""
    level = _level(sec["interval_level"])
    lo, hi = sec["training_energy_interval_mwh"]
    flops = sec["training_compute_flop"]
    time = _time_text({"training_days": sec["training_time_days"], "device_hours": sec["training_device_hours"]})
    return "\n".join([
        "## Energy consumption of training", "",
        "| item | value |", "| --- | --- |",
        f"| Training energy | {sig2(sec['training_energy_mwh'])} MWh ({level} credible interval {sig2(lo)}-{sig2(hi)}"
        " MWh) |",
        f"| Measured or estimated | {sec['energy_status']} |",
        f"| Training compute | {f'{flops:.3g} FLOP' if flops else sec['training_compute_status']} |",
        f"| Training time | {time} |", "",
        "**Method.** " + sec["method"], ""])


def hf_co2(data: dict) -> str:
    """Model-card front matter with the ``co2_eq_emissions`` block, then a card-text paragraph with the interval."""
    rec = _one_run(data, "hf-co2")
    comment, *yaml = _hf_card(data).rstrip("\n").splitlines()  # "# carbon_bayes ...: paste ...", then the block
    return "\n".join(["---", *yaml, "---", "", "## Environmental impact", "", rec["paragraph"], "",
                      "<!-- co2_eq_emissions written by " + comment.lstrip("# ").split(":")[0] + " -->", ""])


def export(runs, format: str, ci_level: float = CI_LEVEL, posterior=None, *, seed: int | None = None,
           n_draws: int | None = None, training_type: str | None = None) -> str:
    """Export one run's estimate as ``boamps``, ``eu-ai-act``, ``eu-ai-act-json`` or ``hf-co2`` text.

    Parameters
    ----------
    runs
        One run (dict, or a one-row DataFrame), input contract.
    format
        One of :data:`EXPORT_FORMATS`.
    ci_level, posterior, seed, n_draws, training_type
        As in :func:`carbon_bayes.report.report`.

    Returns
    -------
    str
        The export text (JSON for ``boamps`` and ``eu-ai-act-json``).

    Raises
    ------
    InputError
        Unknown format, several runs, or a field the format needs is missing.
    """
    fmt = str(format).lower().replace("_", "-")
    if fmt not in EXPORT_FORMATS:
        raise InputError("format", format, f"use one of {', '.join(EXPORT_FORMATS)}")
    data = report_data(runs, ci_level=ci_level, posterior=posterior, seed=seed, n_draws=n_draws,
                       training_type=training_type)
    if fmt == "boamps":
        return json.dumps(boamps(data), indent=2) + "\n"
    if fmt == "hf-co2":
        return hf_co2(data)
    sec = eu_ai_act(data)
    return json.dumps(sec, indent=2) + "\n" if fmt == "eu-ai-act-json" else eu_ai_act_markdown(sec)


def write(runs, format: str, ci_level: float = CI_LEVEL, posterior=None, *, seed: int | None = None,
          n_draws: int | None = None, training_type: str | None = None) -> str:
    """Write a report or an export, in any of :data:`ALL_FORMATS` (what ``carbon-bayes report`` calls).

    An export format goes to :func:`export`, any other to :func:`carbon_bayes.report.report`; the
    arguments are theirs. An unknown format raises :class:`InputError` listing every format.
    """
    opts = {"ci_level": ci_level, "posterior": posterior, "seed": seed, "n_draws": n_draws,
            "training_type": training_type}
    fmt = format_name(format)
    if fmt in EXPORT_FORMATS:
        return export(runs, format=fmt, **opts)
    if fmt in FORMATS:
        return report(runs, format=fmt, **opts)
    raise InputError("format", format, f"use one of {', '.join(ALL_FORMATS)}")
