"""The ``co2_eq_emissions`` metadata of a Hugging Face model card -> a dataset row."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from carbon_bayes import reference
from carbon_bayes.errors import InputError
from carbon_bayes.measurements._common import _provider_of, _resolve_device, split_device_count

#: A ``source`` naming carbon_bayes: a block ``report --format hf-card`` wrote (an estimate).
_OWN_OUTPUT_RE = re.compile(r"carbon[_ -]?bayes", re.IGNORECASE)


# ------------------------------------------------------------------------ Hugging Face model cards
def front_matter(text: str, path: Path | str = "<text>") -> list[str]:
    """Lines of the YAML front matter (between the first two ``---`` lines) of a model card."""
    lines = text.splitlines()
    start = next((k for k, ln in enumerate(lines) if ln.strip()), None)
    if start is None or lines[start].strip() != "---":
        raise InputError("co2_eq_emissions", "missing", f"{path} has no YAML front matter (a block between '---' "
                         "lines at the top of the README.md), so no co2_eq_emissions metadata; add it (see "
                         "https://huggingface.co/docs/hub/model-cards-co2) or give your runs as a CSV")
    for k in range(start + 1, len(lines)):
        if lines[k].strip() in ("---", "..."):
            return lines[start + 1:k]
    raise InputError("co2_eq_emissions", "missing", f"{path}: the front matter opened by '---' is never closed; add "
                     "a '---' line after the metadata")


def parse_co2_metadata(lines: list[str], path: Path | str = "<text>"):
    """Return the ``co2_eq_emissions`` value of front-matter lines: a number, a dict, or None if absent.

    The front matter is parsed with a real YAML parser (PyYAML's ``safe_load``, the loader the
    Hugging Face Hub's card metadata uses), so every YAML form a card can take reads: block and
    flow mappings, quoted and plain scalars, comments, ``>``/``|`` block scalars, anchors.
    """
    import yaml

    try:
        meta = yaml.safe_load("\n".join(lines))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at front-matter line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or type(e).__name__
        raise InputError("co2_eq_emissions", "front matter", f"{path}: the YAML front matter cannot be parsed{where} "
                         f"({problem}); fix the YAML between the '---' lines") from None
    if meta is None:
        return None
    if not isinstance(meta, dict):
        raise InputError("co2_eq_emissions", type(meta).__name__, f"{path}: the front matter is not a mapping of "
                         "'key: value' lines; fix the YAML between the '---' lines")
    return meta.get("co2_eq_emissions")


def _location(text: str) -> tuple[str, str, str]:
    """(region, country, provider) of a card's free-text ``geographical_location`` ('' when unknown)."""
    if not text:
        return "", "", ""
    try:
        reg = reference.resolve_region(text)
        return f"{reg.provider}:{reg.region}", reg.country_iso3, _provider_of(reg)
    except InputError:
        pass
    for cand in [p.strip() for p in reversed(text.split(","))] + [text]:
        try:
            return "", reference.resolve_country(cand), ""
        except InputError:
            continue
    return "", "", ""


def _model_card_rows(text: str, path: Path, facts: dict) -> list[dict]:
    lines = front_matter(text, path)
    meta = parse_co2_metadata(lines, path)
    if meta is None:
        raise InputError("co2_eq_emissions", "missing", f"{path}: the model card's metadata has no co2_eq_emissions "
                         "field; add e.g. 'co2_eq_emissions: {emissions: 1200, source: codecarbon, hardware_used: "
                         "8 x A100}' (grams), or give the CodeCarbon emissions.csv itself")
    block = [ln.strip() for ln in lines if ln.strip()]
    if isinstance(meta, dict):
        grams = meta.get("emissions")
        field_name = "co2_eq_emissions.emissions"
    else:
        grams, meta, field_name = meta, {}, "co2_eq_emissions"
    if isinstance(grams, str):
        try:
            grams = float(grams.replace(",", ""))
        except ValueError:
            pass
    if grams is None or isinstance(grams, bool) or not isinstance(grams, (int, float)) or not np.isfinite(grams):
        raise InputError(field_name, grams, f"{path}: must be a number of grams of CO2e (e.g. 1200 for 1.2 kg)")
    if grams < 0:
        raise InputError(field_name, grams, f"{path}: emissions cannot be negative; give grams of CO2e")
    notes = []
    source = str(meta.get("source") or "")
    if _OWN_OUTPUT_RE.search(source):
        raise InputError("co2_eq_emissions.source", source, f"{path}: this block was written by carbon_bayes "
                         "(report --format hf-card): it is an estimate, and reading it back as a measurement would fit "
                         "the model to itself; give the measurement the card reports (a CodeCarbon emissions.csv, or "
                         "a card whose co2_eq_emissions was measured)")
    measured = re.search(r"code\s*_?carbon", source, re.IGNORECASE) is not None
    hw_text = str(meta.get("hardware_used") or "")
    n_dev, hw = np.nan, ""
    if hw_text:
        count, name = split_device_count(hw_text)
        try:
            hw = _resolve_device(name)
            n_dev = float(count) if count else np.nan
        except InputError:
            notes.append(f"hardware_used {hw_text!r} not recognised: give hardware=... (--hardware)")
    loc = str(meta.get("geographical_location") or "")
    region, country, provider = _location(loc)
    if loc and not (region or country):
        notes.append(f"geographical_location {loc!r} not recognised: give country=... or region=...")
    ttype = str(meta.get("training_type") or "").lower()
    scope = "finetune" if "fine" in ttype else "final_pretraining"
    name = path.parent.name if path.name.lower() == "readme.md" and path.parent.name else path.stem
    label = f"{path.parent.name}/{path.name}" if path.parent.name else path.name
    quote = [ln for ln in block if ln.startswith(("co2_eq_emissions", "emissions", "source", "training_type",
                                                  "geographical_location", "hardware_used"))]
    method = ("measured with CodeCarbon" if measured else
              "method not stated or calculator-based: read as nominal (hours x TDP) accounting")
    return [{
        "run_id": f"model-card-{re.sub(r'[^A-Za-z0-9._-]+', '-', name).strip('-') or 'card'}",
        "model_name": name, "year": np.nan, "hardware": hw, "hardware_as_published": hw_text, "n_devices": n_dev,
        "country": country, "region": region, "provider": provider, "location_or_region": loc, "scope": scope,
        "energy_mwh": np.nan, "co2_t": grams / 1e6,
        "energy_basis": "measured" if measured else "tdp", "power_scope": "system" if measured else "",
        "pue_included": False, "accounting": "location_based",
        "decision_note": "; ".join([f"model card co2_eq_emissions, {method}"] + notes),
        "source": f"user measurement: Hugging Face model card {label} co2_eq_emissions"
                  + (f" (source: {source})" if source else ""),
        "source_quote": " | ".join(quote) or f"co2_eq_emissions: {grams}",
    }]


