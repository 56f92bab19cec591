"""Tests of the shipped reference tables and their lookups (carbon_bayes.reference)."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbon_bayes import reference as ref
from carbon_bayes.errors import InputError
from carbon_bayes.reference._common import _norm_hw
from carbon_bayes.resources import priors_path

SHARED_RAW = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "raw"
OWID_RAW = SHARED_RAW / "twsaf1-sys__math_331_cryptocurrency_project__carbon-intensity-electricity.csv"
EPOCH_RAW = SHARED_RAW / "epoch-ai__notable_ai_models__2025-04.csv"


# --------------------------------------------------------------------------- accelerators
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("A100-80GB", "A100-SXM4-80GB"),
        ("NVIDIA A100 SXM4 80GB", "A100-SXM4-80GB"),
        ("A100 SXM4 80GB", "A100-SXM4-80GB"),
        ("A100", "A100-SXM4-40GB"),
        ("A100-40GB", "A100-SXM4-40GB"),
        ("A100-PCIe-40GB", "A100-PCIE-40GB"),
        ("A100 PCIe", "A100-PCIE-40GB"),
        ("TPU v3", "TPUV3"),
        ("TPUv3", "TPUV3"),
        ("tpu-v3", "TPUV3"),
        ("Google TPU v3", "TPUV3"),
        ("v3-8", "TPUV3"),
        ("TPUv3 (v3-8 VM slice)", "TPUV3"),
        ("TPU v4-512", "TPUV4"),
        ("v5litepod-16", "TPUV5E"),
        ("H100", "H100-SXM5"),
        ("H100-80GB", "H100-SXM5"),
        ("H100 SXM5 80GB", "H100-SXM5"),
        ("V100", "V100-SXM2"),
        ("V100-16GB", "V100-SXM2"),
        ("V100-32GB", "V100-SXM2"),
        ("Tesla V100 DGXS 32 GB", "V100-SXM2"),
        ("P100", "P100-PCIE-16GB"),
        ("GH200 (Grace-Hopper)", "GH200"),
        ("K80", "K80"),
        ("MI250X", "MI250X"),
    ],
)
def test_resolve_hardware_aliases(name, expected):
    assert ref.resolve_hardware(name) == expected


EPOCH_SPELLINGS = {
    "Google TPU v3": "TPUV3", "NVIDIA V100": "V100-SXM2", "NVIDIA A100": "A100-SXM4-40GB",
    "Google TPU v4": "TPUV4", "NVIDIA H100 SXM5 80GB": "H100-SXM5",
    "NVIDIA A100 SXM4 40 GB": "A100-SXM4-40GB", "NVIDIA A100 SXM4 80 GB": "A100-SXM4-80GB",
    "NVIDIA Tesla V100 DGXS 32 GB": "V100-SXM2", "NVIDIA GeForce GTX 1080 Ti": "GTX-1080TI",
    "NVIDIA P100": "P100-PCIE-16GB", "NVIDIA GeForce GTX TITAN X": "TITAN-X-MAXWELL",
    "NVIDIA GeForce GTX 580": "GTX-580", "NVIDIA Tesla K80": "K80", "NVIDIA Tesla V100 DGXS 16 GB": "V100-SXM2",
    "NVIDIA GeForce RTX 3090": "RTX-3090", "Google TPU v2": "TPUV2", "NVIDIA M40": "M40",
    "Google TPU v5e": "TPUV5E", "NVIDIA GeForce RTX 2080 Ti 11GB": "RTX-2080TI", "NVIDIA TITAN Xp": "TITAN-XP",
    "NVIDIA Tesla K40t": "K40", "NVIDIA Tesla K40s": "K40", "NVIDIA H800 SXM5": "H800-SXM5",
    "Google TPU v5p": "TPUV5P", "Amazon Trainium1": "TRAINIUM1", "AMD Radeon Instinct MI250X": "MI250X",
    "NVIDIA A800": "A800-SXM4-80GB", "NVIDIA A10 PCIe": "A10", "Huawei Ascend 910": "ASCEND-910",
    "NVIDIA A100 PCIe": "A100-PCIE-40GB", "NVIDIA RTX A6000": "RTX-A6000",
    "NVIDIA Quadro RTX 8000": "QUADRO-RTX-8000", "NVIDIA Quadro RTX 6000": "QUADRO-RTX-6000",
    "NVIDIA Tesla V100 PCIe 32 GB": "V100-PCIE", "NVIDIA Tesla V100S PCIe 32 GB": "V100S-PCIE",
    "NVIDIA P40": "P40",
}


@pytest.mark.parametrize(("name", "expected"), sorted(EPOCH_SPELLINGS.items()))
def test_epoch_spellings_resolve(name, expected):
    assert ref.resolve_hardware(name) == expected


@pytest.mark.skipif(not EPOCH_RAW.is_file(), reason="shared Epoch AI export not available")
def test_every_epoch_chip_in_the_table_resolves():
    hw = pd.read_csv(EPOCH_RAW)["Training hardware"].dropna()
    names = {p.strip() for cell in hw for p in cell.split(",")}
    not_in_table = {  # chips deliberately absent from accelerators.csv (see priors/README.md)
        "Google TPU v1", "NVIDIA GTX Titan Black", "NVIDIA GeForce GTX 780", "NVIDIA GeForce GTX 980",
        "NVIDIA GeForce GTX TITAN", "NVIDIA Quadro GP100", "NVIDIA Quadro K6000", "NVIDIA Quadro P600",
        "NVIDIA Quadro RTX 4000", "NVIDIA Quadro RTX 5000", "NVIDIA GeForce GTX 285",
        "NVIDIA GeForce GTX 280", "Intel Core 2 Quad Q9450",
    }
    for name in sorted(names - not_in_table):
        ref.resolve_hardware(name)  # raises if unknown


def test_aliases_are_unique_across_rows():
    table = ref.accelerators()
    owner: dict[str, str] = {}
    for hid, row in table.iterrows():
        for alias in [hid] + str(row["aliases"]).split(";"):
            key = _norm_hw(alias)
            assert owner.setdefault(key, hid) == hid, f"{alias!r} on {owner[key]} and {hid}"


def test_every_row_is_complete():
    table = ref.accelerators()
    assert table.index.is_unique and len(table) >= 55
    assert (table["tdp_w"] > 0).all()
    assert table["source"].fillna("").str.strip().ne("").all()
    assert set(table["tdp_basis"]) <= {"published", "estimated"}
    est = table["tdp_basis"] == "estimated"
    assert (table.loc[est, "tdp_log_sd"] > 0).all() and (table.loc[~est, "tdp_log_sd"] == 0).all()
    assert set(table["kind"]) <= {"gpu", "tpu", "asic"}
    assert set(table["segment"]) <= {"datacenter", "workstation", "consumer"}
    for hid, row in table.iterrows():
        peak = row[f"peak_{row['default_precision']}_tflops"]
        assert math.isfinite(peak) and peak > 0, hid
        assert ref.peak_flops(hid) == pytest.approx(peak * 1e12)


def test_upstream_corrections_hold():
    t = ref.accelerators()
    assert t.loc["V100-PCIE", "tdp_w"] == 250
    assert t.loc["V100-SXM2", "tdp_w"] == 300
    assert t.loc["H100-SXM5", "peak_bf16_tflops"] == pytest.approx(989.4)
    assert t.loc["H100-SXM5", "peak_tf32_tflops"] == pytest.approx(494.7)
    assert t.loc["H100-NVL", "peak_bf16_tflops"] == pytest.approx(1671 / 2)
    assert t.loc["TPUV3", "tdp_w"] == 450
    assert t.loc["A100-PCIE-80GB", "tdp_w"] == 300
    # K80: one GK210 per device, TDP and FLOP/s on the same unit (half a 300 W / 8.73 TF board)
    assert t.loc["K80", "tdp_w"] == 150
    assert t.loc["K80", "peak_fp32_tflops"] == pytest.approx(8.73 / 2, rel=0.01)
    assert t.loc["TPUV3", "memory_gb"] == 32  # per chip, not per 4-chip board


def test_peak_flops_units_and_precision_errors():
    assert ref.peak_flops("H100") == pytest.approx(989.4e12)
    assert ref.peak_flops("A100", "fp32") == pytest.approx(19.5e12)
    assert ref.peak_flops("A100", "bfloat16") == pytest.approx(312e12)
    with pytest.raises(InputError) as err:
        ref.peak_flops("K80", "bf16")
    assert err.value.field == "precision"
    with pytest.raises(InputError) as err:
        ref.peak_flops("A100", "fp4")
    assert err.value.field == "precision"


def test_unknown_hardware_suggests_names():
    with pytest.raises(InputError) as err:
        ref.resolve_hardware("A100 80")
    assert err.value.field == "hardware"
    assert "carbon-bayes data --hardware" in err.value.fix
    assert "did you mean" in err.value.fix and "A100-SXM4-80GB" in err.value.fix
    with pytest.raises(InputError):
        ref.resolve_hardware("RTX 6000")  # ambiguous on purpose


# --------------------------------------------------------------------------- countries
@pytest.mark.parametrize(
    ("name", "iso3"),
    [("US", "USA"), ("USA", "USA"), ("United States", "USA"), ("united states of america", "USA"),
     ("FR", "FRA"), ("France", "FRA"), ("UK", "GBR"), ("GB", "GBR"), ("Korea", "KOR"),
     ("Côte d'Ivoire", "CIV"), ("NA", "NAM")],
)
def test_resolve_country(name, iso3):
    assert ref.resolve_country(name) == iso3


def test_unknown_country():
    with pytest.raises(InputError) as err:
        ref.resolve_country("Frnace")
    assert err.value.field == "country"
    assert "FRA" in err.value.fix


def test_countries_table():
    c = pd.read_csv(priors_path("countries.csv"), keep_default_na=False)
    assert c["iso3"].is_unique and c["iso2"].is_unique
    assert set(c["continent"]) == set(ref.CONTINENTS)
    assert ref.continent_of("FR") == "EUROPE" and ref.continent_of("Brazil") == "SOUTH_AMERICA"
    assert ref.country_name(ref.resolve_country("Deutschland")) == "Germany"
    assert ref.country_name("XYZ") == "XYZ"  # not a code of the table: shown as given


# --------------------------------------------------------------------------- cloud regions
def test_resolve_region():
    r = ref.resolve_region("aws:us-east-1")
    assert (r.provider, r.region, r.country_iso3) == ("aws", "us-east-1", "USA")
    assert r.ccf_carbon_intensity == pytest.approx(0.415755)
    assert ref.resolve_region("gcp:us-central1").country_iso3 == "USA"
    assert ref.resolve_region("azure:westeurope").country_iso3 == "NLD"
    assert ref.resolve_region("azure:West Europe").region == "westeurope"
    assert ref.resolve_region("westeurope").provider == "azure"
    assert ref.resolve_region("aws:US East (N. Virginia)").region == "us-east-1"
    assert ref.resolve_region("gcp:us-central1-a").region == "us-central1"
    assert ref.provider_of_region("gcp:europe-west4") == "gcp"


def test_unknown_or_ambiguous_region():
    with pytest.raises(InputError) as err:
        ref.resolve_region("aws:us-eats-1")
    assert err.value.field == "region" and "aws:us-east-1" in err.value.fix
    with pytest.raises(InputError):
        ref.resolve_region("gcp:mars-central1")
    with pytest.raises(InputError):
        ref.resolve_region("ibm:us-south")
    with pytest.raises(InputError):
        ref.resolve_region("us-east1")  # aws:us-east-1 or gcp:us-east1


def test_azure_malformed_rows_fixed():
    assert ref.resolve_region("azure:finlandcentral").ccf_carbon_intensity == pytest.approx(0.077)
    assert ref.resolve_region("azure:germanywestcentral").ccf_carbon_intensity == pytest.approx(0.402)


def test_region_intensity():
    v, ex = ref.region_intensity(ref.resolve_region("gcp:us-central1"), 2022)
    assert v == pytest.approx(0.460) and not ex
    v, ex = ref.region_intensity("gcp:us-central1", 2030)
    assert ex and v == pytest.approx(ref.region_intensity("gcp:us-central1", 2024)[0])
    reg = ref.resolve_region("aws:us-east-1")
    v, ex = ref.region_intensity(reg, reg.ccf_year)
    assert v == pytest.approx(reg.ccf_carbon_intensity) and not ex
    v, _ = ref.region_intensity(reg, 2023)
    usa = ref.grid_intensity("USA", 2023)[0] / ref.grid_intensity("USA", reg.ccf_year)[0]
    assert v == pytest.approx(reg.ccf_carbon_intensity * usa)


# --------------------------------------------------------------------------- grid intensity
@pytest.mark.skipif(not OWID_RAW.is_file(), reason="shared OWID file not available")
def test_grid_intensity_matches_raw_owid():
    raw = pd.read_csv(OWID_RAW)
    raw.columns = ["entity", "code", "year", "g"]
    for code, year in [("FRA", 2022), ("USA", 2019), ("DEU", 2023), ("IND", 2015)]:
        g = raw[(raw["code"] == code) & (raw["year"] == year)]["g"].iloc[0]
        v, ex = ref.grid_intensity(code, year)
        assert v == pytest.approx(g / 1000, abs=1e-6) and not ex
    world = raw[(raw["entity"] == "World") & (raw["year"] == 2024)]["g"].iloc[0]
    assert ref.grid_intensity("WORLD", 2024)[0] == pytest.approx(world / 1000, abs=1e-6)


def test_grid_intensity_values_and_extrapolation():
    v, ex = ref.grid_intensity("FRA", 2022)
    assert v == pytest.approx(0.079, abs=0.0005) and not ex
    v2030, ex = ref.grid_intensity("France", 2030)
    assert ex and v2030 == pytest.approx(ref.grid_intensity("FRA", 2024)[0])
    assert ref.grid_intensity("FR", 1990)[1]
    _, ex = ref.grid_intensity("EU27", 2024)  # EU-27 series ends in 2023
    assert ex
    for agg in ref.AGGREGATES:
        v, _ = ref.grid_intensity(agg, 2020)
        assert 0 < v < 1.5
    with pytest.raises(InputError) as err:
        ref.grid_intensity("XYZ", 2020)
    assert err.value.field == "country"


def test_grid_intensity_many_matches_scalar_and_is_fast():
    codes = np.array(["USA", "FRA", "DEU", "CHN", "WORLD", "FR", "EUROPE"] * 15000)
    years = np.tile([2019, 2022, 2030, 2005, 2024, 2021, 1999], 15000)
    ref.grid_intensity_many(codes[:7], years[:7])  # warm the caches
    elapsed = math.inf
    for _ in range(3):  # best of three, to be robust to a busy machine
        start = time.perf_counter()
        values, flags = ref.grid_intensity_many(codes, years)
        elapsed = min(elapsed, time.perf_counter() - start)
    assert values.shape == flags.shape == (105000,)
    for c, y, v, f in zip(codes[:7], years[:7], values[:7], flags[:7], strict=True):
        assert (v, f) == pytest.approx(ref.grid_intensity(c, y))
    assert elapsed < 0.1


# --------------------------------------------------------------------------- PUE
def test_pue_prior():
    c, sd = ref.pue_prior(None, 2022)
    assert (c, sd) == ref.pue_prior("unknown", 2022)
    g, gsd = ref.pue_prior("google", 2023)
    assert 1.05 < g < 1.15 and sd > gsd > 0
    assert ref.pue_prior("gcp", 2023) == (g, gsd)
    assert g < c < ref.pue_prior("on_premise", 2022)[0]
    assert ref.pue_prior("aws", 1990) == ref.pue_prior("aws", 2012)
    assert ref.pue_prior("aws", 2100) == ref.pue_prior("aws", 2026)
    with pytest.raises(InputError) as err:
        ref.pue_prior("ibm", 2022)
    assert err.value.field == "provider"


def test_pue_table_is_complete():
    t = pd.read_csv(priors_path("pue_by_provider.csv"))
    assert set(t["provider"]) == {"google", "aws", "azure", "meta", "oracle", "hpc", "colo", "on_premise", "unknown"}
    assert (t.groupby("provider")["year"].apply(lambda s: sorted(s) == list(range(2012, 2027)))).all()
    assert (t["pue_centre"] > 1).all() and (t["pue_log_sd"] > 0).all()
    assert t["rationale"].str.len().gt(0).all()


# --------------------------------------------------------------------------- hardware mix and compute
@pytest.mark.parametrize("year", [2012, 2018, 2023, 2025, 2031])
def test_hardware_mix_is_a_distribution(year):
    ids, probs = ref.hardware_mix(year)
    assert len(ids) == len(probs) > 0
    assert probs.sum() == pytest.approx(1.0) and (probs > 0).all()
    known = set(ref.accelerators().index)
    assert set(ids) <= known


def test_hardware_mix_tracks_the_era():
    ids, probs = ref.hardware_mix(2024)
    assert ids[0] in {"H100-SXM5", "A100-SXM4-40GB", "A100-SXM4-80GB"}
    ids, _ = ref.hardware_mix(2013, smoothing_years=0)
    assert "H100-SXM5" not in ids


def test_compute_prior():
    mean, sd = ref.compute_prior("language", 2023, log10_params=10.0)
    assert math.isfinite(mean) and sd > 0
    bigger, _ = ref.compute_prior("language", 2023, log10_params=11.0)
    assert bigger > mean
    for args in [("vision", 2020), (None, 2024), ("not-a-task", 2019)]:
        m, s = ref.compute_prior(*args)
        assert math.isfinite(m) and s > 0
    m_tok, s_tok = ref.compute_prior("language", 2023, log10_tokens=12.0)
    assert math.isfinite(m_tok) and s_tok > 0
    coef = ref.compute_prior_coefficients("language", 2023, has_params=True, has_tokens=True)
    assert coef["predictors"] == "params+year" and coef["coef_log10_tokens"] == 0.0
    mean_p, sd_p = ref.params_prior("language", 2024)
    assert 8 < mean_p < 12 and sd_p > 0


def test_compute_prior_table():
    t = pd.read_csv(priors_path("compute_prior.csv"))
    alls = t[t["task"] == "all"]
    assert {("params+year", "log10_flops"), ("tokens+year", "log10_flops"), ("year", "log10_flops"),
            ("year", "log10_params")} <= set(zip(alls["predictors"], alls["target"], strict=True))
    assert (t["n"] >= 15).all() and (t["sd_resid"] > 0).all()


def test_mfu_evidence_columns():
    t = pd.read_csv(priors_path("mfu_power_evidence.csv"), keep_default_na=False, na_values=[""])
    assert set(t["quantity"]) <= {"mfu", "power_fraction_system", "power_fraction_gpu", "other"}
    assert t["value"].notna().all() and t["source"].str.len().gt(0).all()
    known = set(ref.accelerators().index)
    assert set(t["hardware_id"].dropna()) <= known
    mfu = t[t["quantity"] == "mfu"]["value"]
    assert ((mfu > 0) & (mfu < 1)).all()


# ------------------------------------------------------------- parts read from real CodeCarbon logs
REAL_LOG_GPUS = {  # gpu_model strings of real emissions.csv files (CodeCarbon 1.x-3.x) -> the row they are
    "NVIDIA GeForce RTX 3060": "RTX-3060", "NVIDIA GeForce RTX 3060 Ti": "RTX-3060TI",
    "NVIDIA GeForce RTX 4080 Laptop GPU": "RTX-4080-LAPTOP", "NVIDIA GeForce MX450": "MX450",
    "NVIDIA H20": "H20", "NVIDIA GeForce RTX 2070": "RTX-2070", "NVIDIA GeForce RTX 4080": "RTX-4080",
    "AMD Radeon RX 7900 XTX": "RX-7900-XTX", "NVIDIA GeForce RTX 5090": "RTX-5090",
}


@pytest.mark.parametrize(("name", "expected"), sorted(REAL_LOG_GPUS.items()))
def test_gpus_of_real_logs_resolve(name, expected):
    assert ref.resolve_hardware(name) == expected


def test_h20_is_its_own_400_w_part_not_the_h200():
    t = ref.accelerators()
    assert ref.resolve_hardware("H20") == "H20" != ref.resolve_hardware("H200")
    assert t.loc["H20", "tdp_w"] == 400 and t.loc["H200-SXM", "tdp_w"] == 700
    assert t.loc["H20", "peak_bf16_tflops"] < t.loc["H200-SXM", "peak_bf16_tflops"] / 5


def test_laptop_and_desktop_parts_are_distinct_rows():
    t = ref.accelerators()
    assert ref.resolve_hardware("RTX 4080 Laptop GPU") != ref.resolve_hardware("RTX 4080")
    assert t.loc["RTX-4080-LAPTOP", "tdp_w"] < t.loc["RTX-4080", "tdp_w"] / 2
    # the renamed "RTX 4080 12GB" is the RTX 4070 Ti, not the 16 GB RTX 4080
    assert ref.resolve_hardware("RTX 4080 12GB") == "RTX-4070TI"


def test_a_suggestion_always_shows_its_class_and_power():
    with pytest.raises(InputError) as info:
        ref.resolve_hardware("H30")
    msg = str(info.value)
    assert "H20 (datacenter gpu, 400 W)" in msg and "H200-SXM (datacenter gpu, 700 W)" in msg


def test_a_suggestion_of_another_class_is_said_to_be_one():
    with pytest.raises(InputError) as info:
        ref.resolve_hardware("NVIDIA GeForce MX550")  # a laptop part not in the table
    msg = str(info.value)
    assert "MX450 (laptop gpu, 20 W)" in msg
    assert "reads as a laptop part" in msg and "datacenter" in msg.split("Careful:")[1]
    assert "leave the hardware empty" in msg


@pytest.mark.parametrize(("hardware", "tdp_w"), [("RX 7900 XTX", 355), ("RX 6800 XT", 300), ("RX 9070 XT", 304)])
def test_a_family_no_fitted_run_uses_still_estimates(hardware, tdp_w):
    """Radeon cards (rdna2, rdna3, rdna4) are levels the shipped posterior never saw: new-group draws, finite energy."""
    import carbon_bayes as cb

    run = {"hardware": hardware, "n_devices": 1, "device_hours": 100, "year": 2024, "parameters": 1e8,
           "training_tokens": 1e9, "country": "DE"}
    row = cb.estimate(run, seed=1).to_frame().iloc[0]
    assert np.isfinite(row["energy_mwh_median"]) and 0 < row["energy_mwh_median"] < 100 * tdp_w * 3 / 1e6


def test_radeon_generations_are_their_own_levels():
    t = ref.accelerators()
    radeon = t[t["family"] == "amd-radeon"]
    assert set(radeon["generation"]) == {"rdna2", "rdna3", "rdna4"}
    assert t.loc["RX-6800-XT", "generation"] == "rdna2" and t.loc["RX-9070-XT", "generation"] == "rdna4"


# ------------------------------------------------------ CodeCarbon-style names of the later consumer rows
CODECARBON_STYLE_GPUS = {  # spelled as the real gpu_model strings of REAL_LOG_GPUS are -> the row
    "NVIDIA GeForce RTX 3060 Laptop GPU": "RTX-3060-LAPTOP", "NVIDIA GeForce RTX 3050 Laptop GPU": "RTX-3050-LAPTOP",
    "NVIDIA GeForce RTX 4060 Laptop GPU": "RTX-4060-LAPTOP", "NVIDIA GeForce RTX 5090 Laptop GPU": "RTX-5090-LAPTOP",
    "NVIDIA GeForce RTX 5070 Ti": "RTX-5070TI", "NVIDIA GeForce RTX 5080": "RTX-5080",
    "NVIDIA GeForce RTX 3090 Ti": "RTX-3090TI",
    "NVIDIA GeForce RTX 3050": "RTX-3050", "AMD Radeon RX 6800 XT": "RX-6800-XT", "AMD Radeon RX 6800": "RX-6800",
    "AMD Radeon RX 9070 XT": "RX-9070-XT", "AMD Radeon RX 9070": "RX-9070", "AMD Radeon RX 7800 XT": "RX-7800-XT",
    "AMD Radeon RX 6800M": "RX-6800M", "AMD Radeon RX 7600M XT": "RX-7600M-XT",
}


@pytest.mark.parametrize(("name", "expected"), sorted(CODECARBON_STYLE_GPUS.items()))
def test_codecarbon_style_names_of_new_parts_resolve(name, expected):
    assert ref.resolve_hardware(name) == expected


_TGP_RANGE = re.compile(r"published TGP range (\d+)-(\d+) W")
LAPTOPS_WITHOUT_RANGE = {"RTX-4090-LAPTOP", "RX-6800M"}  # no range read: single-figure estimates (priors/README.md)


def _laptop_rows() -> pd.DataFrame:
    t = ref.accelerators()
    return t[t["display_name"].str.lower().str.contains("laptop")]


def test_every_laptop_row_records_its_tgp_range_or_is_a_known_exception():
    rows = _laptop_rows()
    assert (rows["segment"] == "consumer").all() and (rows["tdp_basis"] == "estimated").all()
    missing = {hid for hid, notes in rows["notes"].items() if not _TGP_RANGE.search(notes)}
    assert missing == LAPTOPS_WITHOUT_RANGE
    assert len(rows) - len(missing) >= 13


@pytest.mark.parametrize("hid", sorted(set(_laptop_rows().index) - LAPTOPS_WITHOUT_RANGE))
def test_a_laptop_rows_90pct_range_covers_its_tgp_range(hid):
    """tdp_w = geometric mid of the range (5 W steps), log-sd = max(0.25, ln(hi/lo)/3.29): the 90% range spans it."""
    row = ref.accelerators().loc[hid]
    lo, hi = (float(x) for x in _TGP_RANGE.search(row["notes"]).groups())
    assert row["tdp_w"] == 5 * round(math.sqrt(lo * hi) / 5)
    assert row["tdp_log_sd"] == pytest.approx(round(max(0.25, math.log(hi / lo) / (2 * 1.645)), 2))
    z = 1.6448536269514722
    low90, high90 = row["tdp_w"] * math.exp(-z * row["tdp_log_sd"]), row["tdp_w"] * math.exp(z * row["tdp_log_sd"])
    # rounding tdp_w to 5 W and the sd to 0.01 moves the ends by a few per cent: allow 5%
    assert low90 <= lo * 1.05 and high90 >= hi / 1.05, (hid, lo, hi, low90, high90)


@pytest.mark.parametrize("name", ["NVIDIA GeForce RTX 5060 Laptop GPU", "NVIDIA GeForce RTX 5070 Ti Laptop GPU",
                                  "NVIDIA GeForce RTX 2060 Laptop GPU", "AMD Radeon RX 7600M", "AMD Radeon RX 6850M XT",
                                  "NVIDIA GeForce MX550"])
def test_an_unknown_laptop_part_is_never_silently_offered_a_desktop_or_datacenter_part(name):
    with pytest.raises(InputError) as info:
        ref.resolve_hardware(name)
    msg = str(info.value)
    classes = re.findall(r"'[A-Z0-9-]+ \((\w+) gpu, \d+ W\)'", msg)
    assert classes, msg
    if set(classes) != {"laptop"}:
        assert "reads as a laptop part" in msg.split("Careful:")[1], msg
        assert "leave the hardware empty" in msg


def test_tables_read_without_pandas_equal_the_pandas_reading_of_the_same_files():
    """The csv-module loaders (a one-run estimate imports no pandas) give what pandas' reading gives."""
    from carbon_bayes.reference import grid

    acc = pd.read_csv(priors_path("accelerators.csv"), keep_default_na=False, na_values=[""],
                      dtype={"hardware_id": str, "aliases": str}).set_index("hardware_id")
    for col in ("tdp_w", "tdp_log_sd", "memory_gb") + tuple(f"peak_{p}_tflops" for p in ref.PRECISIONS):
        acc[col] = acc[col].astype(float)
    pd.testing.assert_frame_equal(ref.accelerators(), acc)

    long = pd.read_csv(priors_path("grid_intensity_country.csv"), keep_default_na=False, na_values=[""])
    wide = long.pivot_table(index="code", columns="year", values="carbon_intensity", aggfunc="first")
    wide = wide.reindex(columns=np.arange(int(wide.columns.min()), int(wide.columns.max()) + 1))
    filled = wide.interpolate(axis=1, limit_area="inside").ffill(axis=1).bfill(axis=1)
    rows, years, values, _ = grid._grid_matrix()
    assert list(rows) == list(wide.index) and list(years) == list(wide.columns)
    assert np.array_equal(values, filled.to_numpy(dtype=float))  # bit for bit: np.interp is pandas' own

    usage = pd.read_csv(priors_path("hardware_usage_by_year.csv"))
    for year in (2012, 2016, 2020, 2023, 2025):
        sel = usage[(usage["year"] >= year - 1) & (usage["year"] <= year + 1)]
        totals = sel.groupby("hardware_id")["n_models"].sum()
        totals = totals[totals > 0].sort_values(ascending=False, kind="stable")
        ids, probs = ref.hardware_mix(year)
        assert list(ids) == list(totals.index), year
        assert np.array_equal(probs, totals.to_numpy() / totals.to_numpy().sum()), year

    regions = pd.read_csv(priors_path("cloud_regions.csv"), keep_default_na=False, na_values=[""])
    counts = regions["country_iso3"].dropna().value_counts()
    counts = counts[[c in rows for c in counts.index]].sort_index()
    codes, weights = ref.location_weights()
    assert list(codes) == list(counts.index) and np.array_equal(weights, counts.to_numpy() / counts.sum())
