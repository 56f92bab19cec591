r"""Reports a paper or a model card can print: the estimate, its assumptions, its provenance, its sources.

:func:`report` renders one estimate as

- ``markdown``: a paragraph ("Training emitted an estimated X tCO2e (90% credible interval
  a-b) and used Y MWh (...)"), a table, the assumptions (which inputs were given, which were
  drawn from which prior), the model version and posterior hashes, and the BibTeX of every
  source;
- ``latex``: a booktabs table (median and interval of energy and CO2e) and the paragraph
  with ``\cite`` keys;
- ``bibtex``: the entries cited (from ``data/references.bib``);
- ``hf-card``: the Hugging Face model-card ``co2_eq_emissions`` YAML block (emissions in
  grams, as that schema wants);
- ``json``: all of it, machine-readable.

Numbers in prose are rounded to 2 significant figures: the intervals are wide, and more
digits would claim a precision the estimate does not have.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd

from carbon_bayes._compat import renamed_kwargs
from carbon_bayes._version import __version__
from carbon_bayes.citations import (  # noqa: F401  (part of this module's API: report.bibtex, report.PRIOR_KEYS, ...)
    PRIOR_KEYS,
    SELF_KEY,
    SOURCE_KEYS,
    bibtex,
    label_keys,
    parse_bibtex,
    references,
    source_keys,
)
from carbon_bayes.constants import CI_LEVEL, INTERVAL_KIND, REPORT_FORMATS
from carbon_bayes.errors import InputError
from carbon_bayes.textable import percent

FORMATS = REPORT_FORMATS
_DEFAULTS = {"accounting": "location_based", "energy_basis": "measured", "power_scope": "system",
             "scope": "pretraining"}
_NAMES = {
    "hardware": "hardware", "n_devices": "number of devices", "device_hours": "device-hours",
    "training_days": "training days", "parameters": "parameters", "active_parameters": "active parameters",
    "training_tokens": "training tokens", "training_flops": "training compute (FLOP)",
    "power_per_device_w": "power per device (W)", "pue": "PUE", "carbon_intensity": "carbon intensity (kg CO2e/kWh)",
    "region": "cloud region", "country": "country", "year": "year", "architecture": "architecture", "task": "task",
    "precision": "precision", "provider": "provider", "accounting": "accounting", "energy_basis": "energy basis",
    "power_scope": "power scope", "scope": "scope",
}


# --------------------------------------------------------------------------- formatting
def sig2(x: float) -> str:
    """``x`` rounded to 2 significant figures, written without an exponent (``12,000``, ``3.6``, ``0.012``)."""
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    v = float(f"{x:.2g}")
    decimals = max(0, 1 - int(math.floor(math.log10(abs(v)))))
    return f"{v:,.{decimals}f}"


def _num(v) -> str:
    """Format an input value for prose: 7e9, 184,320, 1.1, H100-SXM5."""
    if isinstance(v, (float, int, np.floating, np.integer)):
        v = float(v)
        if v.is_integer() and abs(v) < 1e6:
            return f"{int(v):,}" if abs(v) >= 1e4 else str(int(v))
        if abs(v) >= 1e6:
            m, e = f"{v:.3g}".split("e") if "e" in f"{v:.3g}" else (f"{v:.3g}", "0")
            return f"{m}e{int(e)}"
        return f"{v:.3g}"
    return str(v)


def _level(ci_level: float) -> str:
    return percent(ci_level)


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and v == "")


def _latex_escape(text: str) -> str:
    repl = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
    return "".join(repl.get(c, c) for c in str(text))


def _yaml_str(text: str) -> str:
    """Quote ``text`` as a YAML double-quoted scalar (a JSON string is one: every control character escaped)."""
    return json.dumps(str(text), ensure_ascii=False)


# --------------------------------------------------------------------------- content
def _assumptions(inputs: pd.DataFrame, pred) -> list[dict]:
    """Per run: what was given, what was drawn from which prior."""
    from carbon_bayes import design

    f = design.run_features(inputs, pred.levels, pred.structure, pred.unknown_sd)
    out = []
    for i in range(len(inputs)):
        r = inputs.iloc[i]
        given: dict[str, object] = {}
        for c in _NAMES:
            v = r[c]
            if _missing(v) or (c in _DEFAULTS and v == _DEFAULTS[c]):
                continue
            if c in ("country", "provider") and not _missing(r["region"]):
                continue  # implied by the region
            given[c] = v.item() if hasattr(v, "item") else v
        year = int(f.year[i])
        drawn: dict[str, str] = {}
        if _missing(r["year"]):
            drawn["year"] = f"assumed {year}"
        if _missing(r["hardware"]):
            drawn["hardware"] = f"drawn from the accelerators used by notable models of {year} (Epoch AI)"
        no_params = _missing(r["parameters"]) and _missing(r["active_parameters"])
        if no_params:
            drawn["parameters"] = f"drawn from the Epoch AI size regression for {r['task'] or 'all tasks'} in {year}"
        if _missing(r["device_hours"]):
            if _missing(r["training_flops"]):
                if no_params or _missing(r["training_tokens"]):
                    drawn["training_flops"] = ("drawn from the Epoch AI compute regression on "
                                               + ("size and " if not no_params else "")
                                               + ("tokens and " if not _missing(r["training_tokens"]) else "")
                                               + "year")
            drawn["device_hours"] = ("compute / (dense peak x model FLOPs utilisation), the utilisation learned from "
                                     "published runs by hardware generation, architecture and era")
        if _missing(r["power_per_device_w"]):
            drawn["power_per_device_w"] = ("the TDP (energy basis tdp)" if r["energy_basis"] == "tdp" else
                                           "TDP x a learned power fraction (system power per device / TDP) by "
                                           "hardware family, architecture and era")
        if _missing(r["pue"]):
            c, s = f.pue_centre[i], f.pue_log_sd[i]
            drawn["pue"] = (f"prior for a {r['provider'] or 'unknown'} data centre in {year}: centre {c:.2f}, "
                            f"log(PUE - 1) sd {s:.2f}")
        if _missing(r["carbon_intensity"]):
            centre = float(np.exp(f.log_ci_centre[i]))
            if not _missing(r["region"]):
                src = "Google region-carbon-info" if str(r["region"]).startswith("gcp:") else \
                    "Cloud Carbon Footprint, scaled by the OWID country trend"
                where = f"the grid of {r['region']} in {year} ({centre:.3g} kg/kWh, {src})"
            elif not _missing(r["country"]):
                where = f"the OWID grid average of {r['country']} in {year} ({centre:.3g} kg/kWh)"
            else:
                where = (f"the OWID world average in {year} ({centre:.3g} kg/kWh), widened for an unknown location "
                         f"(log sd {pred.unknown_sd:g})")
            drawn["carbon_intensity"] = (f"around {where}, with the learned offset and spread of the intensities "
                                         "behind published figures")
            if r["energy_basis"] == "tdp" and _missing(r["pue"]):
                drawn["carbon_intensity"] += ("; with PUE also unknown, PUE x intensity is drawn as one accounting "
                                              "factor with the operator's spread")
        out.append({"given": given, "drawn_from_priors": drawn})
    return out


def _provenance(pred, n_draws: int) -> dict:
    post = pred.posterior
    a = post.attrs
    obs = post.model_config.get("observed", {})
    return {
        "carbon_bayes_version": __version__,
        "posterior_file": str(post.path).rsplit("/", 1)[-1],
        "posterior_carbon_bayes_version": str(a.get("carbon_bayes_version", "")),
        "posterior_created_utc": str(a.get("created_utc", "")),
        "data_sha256": str(a.get("data_sha256", ""))[:12],
        "priors_sha256": str(a.get("priors_sha256", ""))[:12],
        "n_labels": obs.get("n_labels"),
        "n_runs": obs.get("n_runs"),
        "n_draws": n_draws,
        "convergence_passed": post.convergence.get("passed"),
    }


@renamed_kwargs(ci="ci_level", model="posterior")
def report_data(runs, ci_level: float = CI_LEVEL, posterior=None, *, seed: int | None = None,
                n_draws: int | None = None, training_type: str | None = None) -> dict:
    """Everything a report prints, as plain Python (what ``format="json"`` serialises).

    Parameters
    ----------
    runs, ci_level, posterior, seed, n_draws
        As in :func:`carbon_bayes.estimate` (``ci=`` and ``model=`` are deprecated aliases).
    training_type
        For the model card (default: ``"fine-tuning"`` when every run's ``scope`` is ``finetune``,
        else ``"pre-training"``).

    Returns
    -------
    dict
        ``carbon_bayes_version``, ``ci`` (the interval level), ``ci_kind``, ``runs`` (per run: ``run_id``,
        ``model_name``, ``energy_mwh`` and ``co2_t`` mean/median/lower/upper, ``tier``,
        ``warnings``, ``given``, ``drawn_from_priors``, ``paragraph``), ``model``
        (provenance: versions, posterior creation date, data and priors SHA-256 prefixes),
        ``citations`` (``label_keys``, ``prior_keys``, ``all_keys``, ``unmatched_sources``)
        and ``training_type``.
    """
    from carbon_bayes.estimator import estimate
    from carbon_bayes.predict import get_predictor

    pred = get_predictor(posterior)
    est = estimate(runs, ci_level=ci_level, posterior=pred, seed=seed, n_draws=n_draws, keep_draws=False)
    frame = est.to_frame()
    lk, unmatched = label_keys(pred.posterior.fit_data())
    assumptions = _assumptions(est.inputs, pred)
    if training_type is None:
        fine = len(est.inputs) and bool((est.inputs["scope"] == "finetune").all())
        training_type = "fine-tuning" if fine else "pre-training"
    data = {
        "carbon_bayes_version": __version__, "ci": est.ci_level, "ci_kind": INTERVAL_KIND,
        "training_type": training_type,
        "model": _provenance(pred, int(est.summary["n_draws"].max()) if len(est.summary) else 0),
        "citations": {"self": SELF_KEY, "label_keys": lk, "prior_keys": list(PRIOR_KEYS),
                      "all_keys": [SELF_KEY] + lk + [k for k in PRIOR_KEYS if k not in lk],
                      "unmatched_sources": unmatched},
        "runs": [],
    }
    for i, row in frame.iterrows():
        inp = est.inputs.iloc[i]
        rec = {"run_id": row["run_id"], "model_name": inp["model_name"] or None, "tier": row["tier"],
               "warnings": row["warnings"]}
        for q in ("energy_mwh", "co2_t"):
            rec[q] = {s: float(row[f"{q}_{s}"]) for s in ("mean", "median", "lower", "upper")}
        rec.update(assumptions[i])
        rec["inputs"] = {k: (v.item() if hasattr(v, "item") else v) for k, v in inp.items()
                         if k not in ("tier", "warnings") and not _missing(v)}
        data["runs"].append(rec)
    many = len(data["runs"]) > 1
    for rec in data["runs"]:
        rec["paragraph"] = paragraph(rec, data, cite=None, name=many)
    return data


def _amount(stats: dict, big: str, small: str) -> tuple[str, str, str, str]:
    """(median, lower, upper, unit) as 2-significant-figure text, switching to the small unit below 1."""
    f = 1.0 if stats["median"] >= 1 else 1000.0
    unit = big if f == 1.0 else small
    return sig2(stats["median"] * f), sig2(stats["lower"] * f), sig2(stats["upper"] * f), unit


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


_SHORT = {"power_per_device_w": "power per device", "carbon_intensity": "carbon intensity",
          "training_flops": "training compute", "parameters": "parameter count"}
_UNITS = {"power_per_device_w": " W", "carbon_intensity": " kg CO2e/kWh", "training_flops": " FLOP"}


def paragraph(rec: dict, data: dict, cite=None, name: bool = False, dash: str = "-") -> str:
    """Write the printable paragraph of one run of :func:`report_data`.

    Parameters
    ----------
    rec
        One element of ``report_data(...)["runs"]``.
    data
        The whole :func:`report_data` result (model, citations).
    cite
        Maps a list of BibTeX keys to citation text (``None``: no citations in the text).
    name
        Name the run ("Training Llama-7B emitted ...") when a report covers several runs.
    dash
        Range separator of intervals (``--`` for LaTeX).

    Returns
    -------
    str
    """
    c = (lambda keys: "") if cite is None else (lambda keys: " " + cite(keys))
    level = _level(data["ci"])
    cm, cl, cu, cunit = _amount(rec["co2_t"], "tCO2e", "kgCO2e")
    em, el, eu, eunit = _amount(rec["energy_mwh"], "MWh", "kWh")
    who = f" {rec['model_name'] or rec['run_id']}" if name else ""
    m = data["model"]
    basis = rec["inputs"].get("energy_basis", "measured")
    text = (f"Training{who} emitted an estimated {cm} {cunit} ({level} credible interval {cl}{dash}{cu}) and used "
            f"{em} {eunit} ({level} credible interval {el}{dash}{eu})"
            + (" on the nominal basis (device-hours x TDP x PUE)" if basis == "tdp" else "") + ". ")
    text += (f"These are the median and equal-tailed interval of the posterior predictive distribution of "
             f"carbon_bayes {data['carbon_bayes_version']}{c([SELF_KEY])}, a Bayesian model of the chain compute, "
             f"accelerator-hours, power, PUE and carbon intensity whose utilisation and power terms were learned "
             f"from {m['n_labels']} published figures of {m['n_runs']} training runs"
             f"{c(data['citations']['label_keys'])}. ")
    given = [f"{_SHORT.get(k, _NAMES[k])} ({_num(v)}{_UNITS.get(k, '')})" for k, v in rec["given"].items()]
    drawn = [_SHORT.get(k, _NAMES[k]) for k in rec["drawn_from_priors"] if k != "year"]
    if given:
        text += f"Reported inputs: {_join(given)}"
        text += "; " if drawn else ". "
    if drawn:
        verb = "was" if len(drawn) == 1 else "were"
        text += (("t" if given else "T") + f"he {_join(drawn)} {verb} not reported and {verb} drawn from the "
                 f"model's learned efficiency terms and priors{c(list(data['citations']['prior_keys']))}.")
    return text.strip()


# --------------------------------------------------------------------------- renderers
def _md_cell(text: str) -> str:
    """Text for a markdown table cell: a ``|`` or a line break would end the cell or the row."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _markdown(data: dict) -> str:
    level = _level(data["ci"])
    cite = lambda keys: "[" + "; ".join(f"@{k}" for k in keys) + "]"  # noqa: E731 (pandoc citations)
    many = len(data["runs"]) > 1
    out = ["## Training energy and emissions", ""]
    for rec in data["runs"]:
        out += [paragraph(rec, data, cite=cite, name=many), ""]
    out += [f"| run | energy (MWh), median | {level} CI | CO2e (t), median | {level} CI | tier |",
            "| --- | ---: | ---: | ---: | ---: | --- |"]
    for rec in data["runs"]:
        e, co = rec["energy_mwh"], rec["co2_t"]
        out.append(f"| {_md_cell(rec['run_id'])} | {sig2(e['median'])} | {sig2(e['lower'])}-{sig2(e['upper'])} | "
                   f"{sig2(co['median'])} | {sig2(co['lower'])}-{sig2(co['upper'])} | {rec['tier']} |")
    out += ["", "### Assumptions", ""]
    for rec in data["runs"]:
        if many:
            out += [f"**{rec['run_id']}** (tier {rec['tier']})", ""]
        given = ", ".join(f"{_NAMES[k]} = {_num(v)}" for k, v in rec["given"].items()) or "nothing"
        out.append(f"- Given: {given}.")
        basis = rec["inputs"].get("energy_basis", "measured")
        out.append(f"- Energy basis: {basis}" + (" (energy actually drawn; power per device learned from measured "
                                                  "runs)" if basis == "measured" else
                                                  " (device-hours x TDP x PUE, as most model cards report)") + ".")
        if rec["drawn_from_priors"]:
            out.append("- Drawn from priors:")
            out += [f"  - {_NAMES[k]}: {v}" for k, v in rec["drawn_from_priors"].items()]
        if rec["warnings"]:
            out.append(f"- Notes: {rec['warnings']}")
        out.append("")
    m = data["model"]
    out += ["### Model and data", "",
            f"- carbon_bayes {m['carbon_bayes_version']}; posterior `{m['posterior_file']}` created "
            f"{m['posterior_created_utc'][:10]} by carbon_bayes {m['posterior_carbon_bayes_version']}.",
            f"- Posterior data SHA-256 `{m['data_sha256']}`, priors SHA-256 `{m['priors_sha256']}` (first 12 hex "
            "digits).",
            f"- Fitted on {m['n_labels']} published figures of {m['n_runs']} training runs; {m['n_draws']:,} "
            f"posterior draws; {level} equal-tailed credible intervals.", ""]
    if data["citations"]["unmatched_sources"]:
        out += ["- Label sources without a BibTeX entry: " + "; ".join(data["citations"]["unmatched_sources"]), ""]
    out += ["### References", "", "```bibtex", bibtex(data["citations"]["all_keys"]).rstrip(), "```", ""]
    return "\n".join(out)


def _latex(data: dict) -> str:
    level = _level(data["ci"]).replace("%", r"\%")
    many = len(data["runs"]) > 1
    out = [f"% carbon_bayes {__version__} report; the table needs \\usepackage{{booktabs}}",
           r"\begin{table}[ht]", r"  \centering",
           rf"  \caption{{Estimated training energy and emissions: posterior median and {level} credible interval "
           rf"(carbon\_bayes {__version__}~\cite{{{SELF_KEY}}}).}}",
           r"  \label{tab:carbon-bayes}", r"  \begin{tabular}{lrrrr}", r"    \toprule",
           rf"    Run & Energy (MWh) & {level} CI & CO$_2$e (t) & {level} CI \\", r"    \midrule"]
    for rec in data["runs"]:
        e, co = rec["energy_mwh"], rec["co2_t"]
        out.append(f"    {_latex_escape(rec['run_id'])} & {sig2(e['median'])} & {sig2(e['lower'])}--{sig2(e['upper'])}"
                   f" & {sig2(co['median'])} & {sig2(co['lower'])}--{sig2(co['upper'])} \\\\")
    out += [r"    \bottomrule", r"  \end{tabular}", r"\end{table}", ""]
    for rec in data["runs"]:
        # Citation keys travel as control-character tokens through the escaping, then become \cite.
        p = paragraph(rec, data, cite=lambda keys: "\x00" + ",".join(keys) + "\x01", name=many, dash="--")
        p = _latex_escape(p).replace("tCO2e", r"t\,CO$_2$e").replace("kgCO2e", r"kg\,CO$_2$e")
        p = re.sub(r" ?\x00([^\x01]*)\x01", lambda m: "~\\cite{" + m.group(1).replace("\\_", "_") + "}", p)
        out += [p, ""]
    return "\n".join(out)


def _hf_card(data: dict) -> str:
    from carbon_bayes import reference

    if len(data["runs"]) != 1:
        raise InputError("format", "hf-card", f"a model card describes one model; give one run (got "
                         f"{len(data['runs'])}), or use --format json")
    rec = data["runs"][0]
    inp = rec["inputs"]
    grams = float(f"{rec['co2_t']['median'] * 1e6:.2g}")
    emissions = np.format_float_positional(grams, trim="-")  # 2.3 g stays 2.3 (int() would say 2)
    lo, hi = sig2(rec["co2_t"]["lower"] * 1e6), sig2(rec["co2_t"]["upper"] * 1e6)
    level = _level(data["ci"])
    source = (f"carbon_bayes {data['carbon_bayes_version']} estimate, not a measurement: posterior median "
              f"({level} CI {lo}-{hi} g; "
              "2 significant figures)")
    country = inp.get("country")
    name = ""
    if country:
        name = reference.country_name(country)
    if inp.get("region"):
        location = f"{inp['region']} ({name})" if name else str(inp["region"])
    else:
        location = name or "unknown"
    hw = inp.get("hardware")
    if hw:
        nd = inp.get("n_devices")
        hardware = f"{int(nd)} x {hw}" if nd else str(hw)
    else:
        hardware = "unknown"
    lines = [f"# carbon_bayes {data['carbon_bayes_version']}: paste into the model card's YAML front matter",
             "co2_eq_emissions:",
             f"  emissions: {emissions}",
             f"  source: {_yaml_str(source)}",
             f"  training_type: {_yaml_str(data['training_type'])}",
             f"  geographical_location: {_yaml_str(location)}",
             f"  hardware_used: {_yaml_str(hardware)}", ""]
    return "\n".join(lines)


def format_name(format) -> str:
    """Return a format's canonical name: lower case, ``-`` for ``_``, ``md`` and ``hf`` spelled out."""
    fmt = str(format).lower().replace("_", "-")
    return {"md": "markdown", "hf": "hf-card", "hfcard": "hf-card", "model-card": "hf-card"}.get(fmt, fmt)


@renamed_kwargs(ci="ci_level", model="posterior")
def report(runs, format: str = "markdown", ci_level: float = CI_LEVEL, posterior=None, *, seed: int | None = None,
           n_draws: int | None = None, training_type: str | None = None) -> str:
    """Report the estimated energy and CO2e of one or more runs, ready to print.

    Parameters
    ----------
    runs
        One run (dict) or several (list of dicts, DataFrame), input contract.
    format
        ``markdown`` (default), ``latex``, ``bibtex``, ``hf-card`` (one run) or ``json``.
    ci_level
        Credible-interval level (default 0.9). ``ci=`` is a deprecated alias.
    posterior
        Posterior path, :class:`~carbon_bayes.posterior.Posterior` or predictor (default: the
        shipped posterior). ``model=`` is a deprecated alias.
    seed, n_draws
        As in :func:`carbon_bayes.estimate` (the same seed gives the same numbers).
    training_type
        The model card's ``training_type`` (default: ``"fine-tuning"`` when every run's ``scope`` is
        ``finetune``, else ``"pre-training"``).

    Returns
    -------
    str
        The report text.

    Raises
    ------
    InputError
        Unknown format, bad runs, or ``hf-card`` for several runs.

    Examples
    --------
    >>> from carbon_bayes.report import report
    >>> print(report({"parameters": 7e9, "training_tokens": 2e12, "hardware": "H100", "year": 2024,
    ...               "region": "gcp:europe-north1"}))  # doctest: +SKIP
    """
    fmt = format_name(format)
    if fmt not in FORMATS:
        raise InputError("format", format, f"use one of {', '.join(FORMATS)}")
    data = report_data(runs, ci_level=ci_level, posterior=posterior, seed=seed, n_draws=n_draws,
                       training_type=training_type)
    if fmt == "markdown":
        return _markdown(data)
    if fmt == "latex":
        return _latex(data)
    if fmt == "bibtex":
        return bibtex(data["citations"]["all_keys"])
    if fmt == "hf-card":
        return _hf_card(data)
    data["bibtex"] = bibtex(data["citations"]["all_keys"])
    if len(data["runs"]) == 1:
        data["hf_card"] = _hf_card(data)
    return json.dumps(data, indent=2, default=_json_default) + "\n"


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    return str(o)
