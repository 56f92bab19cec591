"""Citations of a report: the BibTeX of ``data/references.bib`` and the sources behind each figure.

Every training-run figure in the data names its source; :data:`SOURCE_KEYS` maps that text to
BibTeX keys, so a report cites the papers and model cards whose figures the posterior learned
from, and the sources of the priors (:data:`PRIOR_KEYS`).
"""

from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd

from carbon_bayes._version import __version__

SELF_KEY = "carbon_bayes"
#: Sources of the priors (priors/README.md), cited by every report.
PRIOR_KEYS = ("owid2025carbonintensity", "epoch2025notable", "google2024regioncarboninfo", "ccf2023coefficients",
              "lannelongue2021green", "lacoste2019quantifying")
#: ``source`` text of data/training_runs.csv -> BibTeX keys (first match of each pattern).
SOURCE_KEYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"'LLaMA'|2302\.13971", ("touvron2023llama",)),
    (r"Llama 2 model card", ("touvron2023llama2", "meta2023llama2card")),
    (r"Code Llama model card", ("meta2023codellamacard", "roziere2023codellama")),
    (r"Meta Llama 3 model card", ("meta2024llama3card", "grattafiori2024llama3")),
    (r"Meta Llama 3\.1 model card", ("meta2024llama31card", "grattafiori2024llama3")),
    (r"Meta Llama 3\.2 model card", ("meta2024llama32card",)),
    (r"Meta Llama 3\.2-Vision model card", ("meta2024llama32visioncard",)),
    (r"Meta Llama 4 model card", ("meta2025llama4card",)),
    (r"2305\.06161", ("li2023starcoder",)),
    (r"2201\.08239", ("thoppilan2022lamda",)),
    (r"2112\.06905", ("du2022glam",)),
    (r"2304\.02643", ("kirillov2023sam",)),
    (r"Stability-AI/stablediffusion", ("stability2022sd2card", "lacoste2019quantifying")),
    (r"HuggingFaceM4/idefics-80b", ("huggingfacem42023ideficscard",)),
    (r"minipost-olmo3-training-cost", ("bradbury2025olmo3",)),
    (r"Granite 3\.0 technical report", ("ibm2024granite3",)),
    (r"TeenyTinyLlama model card", ("correa2024teenytinyllama",)),
    (r"climatebert/distilroberta-base-climate-f", ("climatebert2021distilrobertacard",)),
    (r"Cohere docs page 'Environmental Impact'", ("cohere2022environmental", "lacoste2019quantifying")),
    (r"PleIAs/Pleias-3b-Preview", ("pleias2024pleias3bcard",)),
    (r"damgomz/BERTrand", ("damgomz2024bertrandcard",)),
    (r"CATIE-AQ/QAmembert", ("catie2023qamembertcard", "lacoste2019quantifying")),
    (r"Imageomics/bioclip", ("stevens2023bioclip", "lacoste2019quantifying")),
    (r"owkin_pancancer", ("owkin2023phikoncard",)),
    (r"asi/gpt-fr-cased-base", ("simoulin2021gptfr", "lacoste2019quantifying")),
    (r"SzegedAI/bert-medium-mlsm", ("szegedai2023bertmediummlsmcard", "lacoste2019quantifying")),
    (r"Drbellamy/labrador", ("bellamy2023labradorcard", "lacoste2019quantifying")),
    (r"lgrobol/m2m100_418M_br_fr", ("grobol2023m2m100brfrcard", "lacoste2019quantifying")),
    (r"mfidabel/controlnet-segment-anything", ("fidabel2023controlnetsamcard", "lacoste2019quantifying")),
    (r"lcampillos/roberta-es-clinical-trials-ner", ("campillos2022robertaesctnercard", "lacoste2019quantifying")),
    (r"Meta Llama 3\.3 model card", ("meta2024llama33card",)),
    (r"Patterson et al\. 2021|2104\.10350", ("patterson2021carbon",)),
    (r"2211\.02001", ("luccioni2022bloom",)),
    (r"2311\.16863|Power Hungry Processing", ("luccioni2024power",)),
    (r"2402\.00838", ("groeneveld2024olmo",)),
    (r"2501\.00656", ("olmo2025olmo2",)),
    (r"Morrison et al\. 2025|2503\.05804", ("morrison2025holistic",)),
    (r"Strubell et al\. 2019|1906\.02243", ("strubell2019energy",)),
    (r"Dodge et al\. 2022", ("dodge2022measuring",)),
    (r"Karras et al\. 2020", ("karras2020stylegan2",)),
    (r"'OPT'|2205\.01068", ("zhang2022opt",)),
    (r"'Gemma 2'", ("gemma2024gemma2",)),
    (r"'Gemma' technical report", ("gemma2024gemma",)),
    (r"Apertus|2509\.14233", ("hernandezcano2025apertus",)),
    (r"dinov2", ("meta2023dinov2card", "oquab2023dinov2")),
    (r"CompVis/stable-diffusion", ("compvis2022sdcard", "lacoste2019quantifying")),
    (r"W\u00fcrstchen", ("pernias2023wuerstchen",)),
    (r"Hugging Face model card co2_eq_emissions", ("huggingface_co2",)),
    (r"Stanford AI Index 2024", ("maslej2024aiindex",)),
    (r"Epoch AI notable_ai_models", ("epoch2025notable",)),
)

def parse_bibtex(text: str) -> dict[str, str]:
    """Entries of a BibTeX text: key -> the whole entry (``@type{key, ...}``), in file order.

    Raises
    ------
    ValueError
        On unbalanced braces or a duplicate key.
    """
    out: dict[str, str] = {}
    head = re.compile(r"@(\w+)\s*\{\s*([^,\s]+)\s*,")
    i = 0
    while m := head.search(text, i):
        depth, j = 0, text.index("{", m.start())
        while j < len(text):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if depth != 0:
            raise ValueError(f"unbalanced braces in BibTeX entry {m.group(2)!r}")
        key = m.group(2)
        if key in out:
            raise ValueError(f"duplicate BibTeX key {key!r}")
        out[key] = text[m.start():j + 1]
        i = j + 1
    return out


@lru_cache(maxsize=1)
def references() -> dict[str, str]:
    """Read the entries of the shipped ``data/references.bib`` (key -> entry)."""
    from carbon_bayes.resources import data_path

    return parse_bibtex(data_path("references.bib").read_text(encoding="utf-8"))


def source_keys(source: str) -> list[str]:
    """BibTeX keys of one ``source`` text of the training-run dataset (empty when none matches)."""
    keys: list[str] = []
    for pattern, ks in SOURCE_KEYS:
        if re.search(pattern, str(source)):
            keys.extend(k for k in ks if k not in keys)
    return keys


def label_keys(fit_data: pd.DataFrame) -> tuple[list[str], list[str]]:
    """BibTeX keys of the sources of the labels a posterior was fitted on.

    Parameters
    ----------
    fit_data
        The posterior's ``fit_data`` (rows with ``source`` and ``in_fit``).

    Returns
    -------
    tuple of (list of str, list of str)
        The keys (first-seen order, no duplicates) and the sources that matched no key.
    """
    rows = fit_data
    if "in_fit" in rows:
        flag = rows["in_fit"]
        flag = flag if flag.dtype == bool else flag.astype(str).str.lower().isin(("true", "1"))
        rows = rows[flag]
    keys: list[str] = []
    unmatched: list[str] = []
    for src in rows["source"].astype(str).unique():
        ks = source_keys(src)
        if not ks:
            unmatched.append(src)
        keys.extend(k for k in ks if k not in keys)
    return keys, unmatched


def bibtex(keys) -> str:
    """BibTeX entries of ``keys`` from ``data/references.bib``; the carbon_bayes entry gets the version."""
    refs = references()
    out = []
    for k in keys:
        entry = refs[k]
        if k == SELF_KEY and "version" not in entry:
            entry = entry.rstrip()[:-1].rstrip() + f",\n  version = {{{__version__}}}\n}}"
        out.append(entry)
    return "\n\n".join(out) + "\n"
