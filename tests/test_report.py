"""Reports: the paragraph's numbers, the model-card block, BibTeX, LaTeX and JSON."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml

import carbon_bayes as cb
from carbon_bayes import report as rp
from carbon_bayes.errors import InputError
from carbon_bayes.resources import data_path

RUN = {"parameters": 7e9, "training_tokens": 2e12, "hardware": "H100", "n_devices": 256, "year": 2024,
       "region": "gcp:us-east1"}
TINY = {"parameters": 1.2e8, "training_tokens": 2e10, "hardware": "A100", "country": "FR", "year": 2023,
        "carbon_intensity": 0.05, "pue": 1.2}
NUM = r"([0-9][0-9,]*(?:\.[0-9]+)?)"


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def _two_sig(x: float) -> float:
    return float(f"{x:.2g}")


def _bib_keys_and_balance(text: str) -> list[str]:
    """Keys of a BibTeX text, checking that every entry's braces balance (independent of report.py)."""
    keys = []
    for chunk in re.split(r"\n(?=@)", text.strip()):
        chunk = "\n".join(line for line in chunk.splitlines() if not line.lstrip().startswith("%")).strip()
        if not chunk.startswith("@"):
            continue
        m = re.match(r"@(\w+)\{([^,\s]+),", chunk)
        assert m, chunk[:80]
        depth = 0
        for ch in chunk:
            depth += ch == "{"
            depth -= ch == "}"
            assert depth >= 0, m.group(2)
        assert depth == 0, f"unbalanced braces in {m.group(2)}"
        keys.append(m.group(2))
    return keys


@pytest.fixture(scope="module")
def bib_keys():
    keys = _bib_keys_and_balance(data_path("references.bib").read_text(encoding="utf-8"))
    assert len(keys) == len(set(keys)), "duplicate BibTeX keys"
    return set(keys)


def test_references_bib_parses_with_unique_keys(bib_keys):
    assert {"carbon_bayes", "touvron2023llama", "touvron2023llama2", "grattafiori2024llama3", "patterson2021carbon",
            "luccioni2022bloom", "luccioni2024power", "groeneveld2024olmo", "olmo2025olmo2", "morrison2025holistic",
            "strubell2019energy", "dodge2022measuring", "karras2020stylegan2", "zhang2022opt", "gemma2024gemma",
            "hernandezcano2025apertus", "lacoste2019quantifying", "lannelongue2021green", "faiz2024llmcarbon",
            "owid2025carbonintensity", "epoch2025notable", "google2024regioncarboninfo",
            "ccf2023coefficients"} <= bib_keys
    assert set(rp.references()) == bib_keys


def test_arxiv_ids_in_the_bib_match_the_dataset_sources():
    text = data_path("references.bib").read_text(encoding="utf-8")
    sources = " ".join(pd.read_csv(data_path("training_runs.csv"))["source"].astype(str))
    for arxiv in re.findall(r"arXiv:(\d{4}\.\d{5})", sources):
        assert arxiv in text, f"arXiv:{arxiv} cited by the dataset has no BibTeX entry"


def test_every_dataset_source_maps_to_existing_keys(bib_keys):
    sources = pd.read_csv(data_path("training_runs.csv"))["source"].astype(str).unique()
    for s in sources:
        keys = rp.source_keys(s)
        assert keys, f"no BibTeX key for source {s[:80]!r}"
        assert set(keys) <= bib_keys
    assert set(rp.PRIOR_KEYS) <= bib_keys


@pytest.fixture(scope="module")
def data():
    return rp.report_data(RUN)


def test_paragraph_numbers_match_the_estimate_rounded(data):
    f = cb.estimate(RUN).to_frame().iloc[0]
    text = data["runs"][0]["paragraph"]
    m = re.search(rf"emitted an estimated {NUM} tCO2e \(90% credible interval {NUM}-{NUM}\) and used {NUM} MWh "
                  rf"\(90% credible interval {NUM}-{NUM}\)", text)
    assert m, text
    got = [_num(x) for x in m.groups()]
    want = [_two_sig(f[c]) for c in ("co2_t_median", "co2_t_lower", "co2_t_upper", "energy_mwh_median",
                                     "energy_mwh_lower", "energy_mwh_upper")]
    assert got == want
    assert text.startswith("Training emitted an estimated")


def test_small_runs_are_reported_in_kg_and_kwh():
    rec = rp.report_data(TINY)["runs"][0]
    f = cb.estimate(TINY).to_frame().iloc[0]
    assert f["co2_t_median"] < 1
    m = re.search(rf"estimated {NUM} kgCO2e .* used {NUM} kWh", rec["paragraph"])
    assert m, rec["paragraph"]
    assert _num(m.group(1)) == _two_sig(f["co2_t_median"] * 1000)
    assert _num(m.group(2)) == _two_sig(f["energy_mwh_median"] * 1000)


@pytest.mark.parametrize("x, text", [(3.600286, "3.6"), (97.56, "98"), (227.6, "230"), (0.01234, "0.012"),
                                     (12345.0, "12,000"), (9.96, "10"), (3.0, "3.0"), (0.0, "0"), (1.0, "1.0")])
def test_two_significant_figures(x, text):
    assert rp.sig2(x) == text


def test_assumptions_say_what_was_given_and_what_was_drawn(data):
    rec = data["runs"][0]
    assert rec["given"]["hardware"] == "H100-SXM5"
    assert rec["given"]["region"] == "gcp:us-east1"
    assert "country" not in rec["given"]  # implied by the region
    assert {"pue", "carbon_intensity", "device_hours", "power_per_device_w"} <= set(rec["drawn_from_priors"])
    assert "hardware" not in rec["drawn_from_priors"]
    given = rp.report_data({**RUN, "pue": 1.1, "carbon_intensity": 0.2})["runs"][0]
    assert "pue" not in given["drawn_from_priors"] and "carbon_intensity" not in given["drawn_from_priors"]
    assert given["given"]["pue"] == 1.1
    # the nominal basis draws PUE x intensity as one factor when neither is given (docs/model.md §2.4)
    nominal = rp.report_data({**RUN, "energy_basis": "tdp"})["runs"][0]["drawn_from_priors"]["carbon_intensity"]
    assert "one accounting factor" in nominal
    assert "one accounting factor" not in rec["drawn_from_priors"]["carbon_intensity"]


def test_provenance_matches_the_posterior_file(data):
    post = cb.load_posterior()
    m = data["model"]
    assert m["carbon_bayes_version"] == cb.__version__
    assert m["data_sha256"] == post.attrs["data_sha256"][:12] and len(m["data_sha256"]) == 12
    assert m["priors_sha256"] == post.attrs["priors_sha256"][:12]
    assert m["posterior_created_utc"] == post.attrs["created_utc"]
    assert data["citations"]["unmatched_sources"] == []


def test_hf_card_block_parses_and_is_in_grams():
    text = rp.report(RUN, format="hf-card")
    card = yaml.safe_load(text)["co2_eq_emissions"]
    med = cb.estimate(RUN).to_frame()["co2_t_median"].iloc[0]
    assert card["emissions"] == _two_sig(med * 1e6)
    assert card["emissions"] == pytest.approx(med * 1e6, rel=0.05)
    assert card["training_type"] == "pre-training"
    assert card["hardware_used"] == "256 x H100-SXM5"
    assert "United States" in card["geographical_location"] and "gcp:us-east1" in card["geographical_location"]
    assert card["source"].startswith(f"carbon_bayes {cb.__version__} estimate, not a measurement: posterior "
                                     "median (90% CI")
    tiny = yaml.safe_load(rp.report(TINY, format="hf-card", training_type="fine-tuning"))["co2_eq_emissions"]
    assert tiny["training_type"] == "fine-tuning" and tiny["hardware_used"] == "A100-SXM4-40GB"
    assert tiny["geographical_location"] == "France"
    with pytest.raises(InputError, match="one run"):
        rp.report([RUN, {**TINY, "run_id": "b"}], format="hf-card")


def test_hf_card_keeps_two_significant_figures_of_a_few_grams():
    # a two-minute run on one RTX 3080 Ti emits a few grams: 2.3 g must not be written as 2
    run = {"hardware": "RTX-3080TI", "device_hours": 0.0354, "country": "ES", "year": 2025}
    card = yaml.safe_load(rp.report(run, format="hf-card"))["co2_eq_emissions"]
    med_g = cb.estimate(run).to_frame()["co2_t_median"].iloc[0] * 1e6
    assert 1 < med_g < 10  # the case this test is about
    assert card["emissions"] == pytest.approx(float(f"{med_g:.2g}"), rel=1e-12)


def test_markdown_cites_only_existing_keys(bib_keys):
    text = rp.report(RUN, format="markdown")
    cited = set(re.findall(r"@([A-Za-z0-9_]+)", text.split("### References")[0]))
    assert cited and cited <= bib_keys
    assert "carbon_bayes" in cited
    block = text.split("```bibtex")[1].split("```")[0]
    listed = _bib_keys_and_balance(block)
    assert cited <= set(listed) and len(listed) == len(set(listed))
    assert "### Assumptions" in text and "SHA-256" in text


def test_latex_has_a_tabular_and_existing_cite_keys(bib_keys):
    text = rp.report([RUN, {**TINY, "run_id": "tiny_run"}], format="latex")
    assert r"\begin{tabular}" in text and r"\end{tabular}" in text and r"\toprule" in text
    keys = {k for group in re.findall(r"\\cite\{([^}]*)\}", text) for k in group.split(",")}
    assert keys and keys <= bib_keys
    assert r"tiny\_run" in text  # escaped
    f = cb.estimate([RUN, {**TINY, "run_id": "tiny_run"}]).to_frame().iloc[0]
    row = f"{rp.sig2(f['co2_t_median'])} & {rp.sig2(f['co2_t_lower'])}--{rp.sig2(f['co2_t_upper'])}"
    assert row in text
    assert text.count("{") == text.count("}")


def test_bibtex_format_is_every_cited_entry(bib_keys):
    text = rp.report(RUN, format="bibtex")
    keys = _bib_keys_and_balance(text)
    assert len(keys) == len(set(keys)) and set(keys) <= bib_keys
    assert keys[0] == "carbon_bayes" and f"version = {{{cb.__version__}}}" in text
    assert set(rp.PRIOR_KEYS) <= set(keys)


def test_json_is_complete_and_machine_readable(bib_keys):
    d = json.loads(rp.report(RUN, format="json"))
    f = cb.estimate(RUN).to_frame().iloc[0]
    run = d["runs"][0]
    for q in ("co2_t", "energy_mwh"):
        for s in ("mean", "median", "lower", "upper"):
            assert run[q][s] == pytest.approx(f[f"{q}_{s}"])
    assert d["ci"] == 0.9 and d["ci_kind"] == "eti"
    assert set(d["citations"]["all_keys"]) <= bib_keys
    assert yaml.safe_load(d["hf_card"])["co2_eq_emissions"]["emissions"] > 0
    assert "@software{carbon_bayes" in d["bibtex"]


def test_other_interval_levels_and_bad_format():
    d = rp.report_data(RUN, ci_level=0.5)
    assert "50% credible interval" in d["runs"][0]["paragraph"]
    with pytest.warns(DeprecationWarning, match="report_data\\(\\) keyword 'ci' is deprecated"):
        assert rp.report_data(RUN, ci=0.5) == d
    with pytest.raises(InputError) as e:
        rp.report(RUN, format="docx")
    assert e.value.field == "format"


def test_reports_are_reproducible():
    assert rp.report(RUN, format="markdown", seed=4) == rp.report(RUN, format="markdown", seed=4)
    assert np.isfinite(rp.report_data(RUN)["runs"][0]["co2_t"]["median"])
