#!/usr/bin/env python
"""Regenerate the derived reference tables in ``priors/`` from the shared reference data.

Usage (from the repository root)::

    python scripts/build_reference.py --shared ../shared

Reads ``<shared>/reference/raw/*`` and ``<shared>/reference/curated/*`` and (re)writes:

    countries.csv, grid_intensity_country.csv, cloud_regions.csv, gcp_region_intensity.csv,
    pue_reference.csv, pue_by_provider.csv, mfu_power_evidence.csv,
    hardware_usage_by_year.csv, compute_prior.csv

The hand-maintained ``accelerators.csv`` is read (to resolve hardware names) but never
written. Output is deterministic: same inputs, byte-identical files. Hardware strings of the
Epoch AI export that match no accelerator are reported on stderr and left out.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from carbon_bayes.reference._common import _norm  # noqa: E402  (private helpers shared with the loaders)
from carbon_bayes.reference.hardware import _build_hardware_index, _lookup_hardware  # noqa: E402

OWID_FILE = "twsaf1-sys__math_331_cryptocurrency_project__carbon-intensity-electricity.csv"
OWID_SOURCE = ("Our World in Data based on Ember (2025) and Energy Institute - Statistical Review of "
               "World Energy (2025); CC BY 4.0")
EPOCH_FILE = "epoch-ai__notable_ai_models__2025-04.csv"
EPOCH_SOURCE = "Epoch AI, Data on Notable AI Models (export of 2025-04); CC BY 4.0"
GCP_SOURCE = "GoogleCloudPlatform/region-carbon-info data/yearly/{year}.csv; Apache-2.0"
CCF_SOURCE = "cloud-carbon-footprint/ccf-coefficients data/grid-emissions-factors-{p}.csv; Apache-2.0"
GA_SOURCE = "GreenAlgorithms/green-algorithms-tool data/latest/cloudProviders_datacenters.csv; CC BY 4.0"
YEARS = range(2000, 2025)

# --------------------------------------------------------------------------- hand data: countries
ISO2_MISSING = {  # ISO 3166-1 alpha-2 for countries absent from carbontracker's file
    "BOL": "BO", "BRN": "BN", "CIV": "CI", "COD": "CD", "CPV": "CV", "FLK": "FK", "IRN": "IR",
    "KOR": "KR", "LAO": "LA", "MDA": "MD", "XKX": "XK", "PRK": "KP", "PSE": "PS", "REU": "RE",
    "RUS": "RU", "SHN": "SH", "SYR": "SY", "TLS": "TL", "TUR": "TR", "TWN": "TW", "TZA": "TZ",
    "VEN": "VE", "VGB": "VG", "VIR": "VI", "VNM": "VN",
}
CONTINENT_CODES = {
    "AFRICA": "AGO BDI BEN BFA BWA CAF CIV CMR COD COG COM CPV DJI DZA EGY ERI ESH ETH GAB GHA GIN "
              "GMB GNB GNQ KEN LBR LBY LSO MAR MDG MLI MOZ MRT MUS MWI NAM NER NGA REU RWA SDN SEN "
              "SHN SLE SOM SSD STP SWZ SYC TCD TGO TUN TZA UGA ZAF ZMB ZWE",
    "ASIA": "AFG ARE ARM AZE BGD BHR BRN BTN CHN GEO HKG IDN IND IRN IRQ ISR JOR JPN KAZ KGZ KHM KOR "
            "KWT LAO LBN LKA MAC MDV MMR MNG MYS NPL OMN PAK PHL PRK PSE QAT SAU SGP SYR THA TJK TKM "
            "TLS TUR TWN UZB VNM YEM",
    "EUROPE": "ALB AUT BEL BGR BIH BLR CHE CYP CZE DEU DNK ESP EST FIN FRA FRO GBR GIB GRC HRV HUN "
              "IRL ISL ITA LTU LUX LVA MDA MKD MLT MNE NLD NOR POL PRT ROU RUS SRB SVK SVN SWE UKR XKX",
    "NORTH_AMERICA": "ABW ATG BHS BLZ BMU BRB CAN CRI CUB CYM DMA DOM GLP GRD GRL GTM HND HTI JAM KNA "
                     "LCA MEX MSR MTQ NIC PAN PRI SLV SPM TCA TTO USA VCT VGB VIR",
    "SOUTH_AMERICA": "ARG BOL BRA CHL COL ECU FLK GUF GUY PER PRY SUR URY VEN",
    "OCEANIA": "ASM AUS COK FJI GUM KIR NCL NRU NZL PNG PYF SLB TON VUT WSM",
}
COUNTRY_ALIASES = {
    "USA": "US;USA;United States of America;America;U.S.;U.S.A.;United States",
    "GBR": "UK;GB;Great Britain;England;Britain;Scotland;Wales;Northern Ireland;"
           "United Kingdom of Great Britain and Northern Ireland",
    "KOR": "Korea;Republic of Korea;KR;Korea, Republic of;Korea (South);ROK",
    "PRK": "DPRK;Korea, Democratic People's Republic of",
    "RUS": "Russian Federation",
    "IRN": "Iran, Islamic Republic of;Islamic Republic of Iran",
    "TWN": "Taiwan, Province of China;Republic of China;Chinese Taipei",
    "CHN": "PRC;People's Republic of China;Mainland China",
    "HKG": "Hong Kong SAR;Hong Kong, China",
    "MAC": "Macau;Macao SAR",
    "VNM": "Viet Nam",
    "LAO": "Lao PDR;Lao People's Democratic Republic",
    "SYR": "Syrian Arab Republic",
    "TZA": "United Republic of Tanzania",
    "VEN": "Venezuela, Bolivarian Republic of",
    "BOL": "Bolivia, Plurinational State of",
    "MDA": "Republic of Moldova",
    "CZE": "Czech Republic",
    "MKD": "Macedonia;Republic of North Macedonia",
    "SWZ": "Swaziland",
    "CIV": "Ivory Coast;Côte d'Ivoire",
    "COD": "DR Congo;DRC;Congo-Kinshasa;Democratic Republic of the Congo",
    "COG": "Republic of the Congo;Congo-Brazzaville",
    "CPV": "Cabo Verde",
    "TLS": "Timor-Leste",
    "PSE": "State of Palestine;Palestinian Territories",
    "TUR": "Türkiye;Turkiye",
    "NLD": "Holland;The Netherlands",
    "ARE": "UAE;Emirates",
    "SAU": "KSA",
    "DEU": "Deutschland",
    "BRN": "Brunei Darussalam",
    "MMR": "Burma",
    "BHS": "The Bahamas",
    "GMB": "The Gambia",
    "VGB": "BVI",
    "VIR": "USVI;US Virgin Islands",
    "REU": "Réunion",
    "KNA": "St Kitts and Nevis",
    "LCA": "St Lucia",
    "VCT": "St Vincent and the Grenadines",
    "SHN": "St Helena",
    "SPM": "St Pierre and Miquelon",
    "FLK": "Falklands",
    "XKX": "OWID_KOS",
    "STP": "São Tomé and Príncipe",
}
OWID_AGGREGATES = {
    "World": "WORLD", "Africa": "AFRICA", "Asia": "ASIA", "Europe": "EUROPE",
    "North America": "NORTH_AMERICA", "South America": "SOUTH_AMERICA", "Oceania": "OCEANIA",
    "European Union (27)": "EU27",
}

# --------------------------------------------------------------------------- hand data: regions
AWS_REGIONS = {  # API name -> (display name, location, subnational); display names from AWS docs
    "us-east-1": ("US East (N. Virginia)", "Northern Virginia", "US-VA"),
    "us-east-2": ("US East (Ohio)", "Ohio", "US-OH"),
    "us-west-1": ("US West (N. California)", "Northern California", "US-CA"),
    "us-west-2": ("US West (Oregon)", "Oregon", "US-OR"),
    "us-gov-east-1": ("AWS GovCloud (US-East)", "Ohio", "US-OH"),
    "us-gov-west-1": ("AWS GovCloud (US-West)", "Oregon", "US-OR"),
    "af-south-1": ("Africa (Cape Town)", "Cape Town", ""),
    "ap-east-1": ("Asia Pacific (Hong Kong)", "Hong Kong", ""),
    "ap-south-1": ("Asia Pacific (Mumbai)", "Mumbai", ""),
    "ap-northeast-3": ("Asia Pacific (Osaka)", "Osaka", ""),
    "ap-northeast-2": ("Asia Pacific (Seoul)", "Seoul", ""),
    "ap-southeast-1": ("Asia Pacific (Singapore)", "Singapore", ""),
    "ap-southeast-2": ("Asia Pacific (Sydney)", "Sydney", "AU-NSW"),
    "ap-northeast-1": ("Asia Pacific (Tokyo)", "Tokyo", ""),
    "ca-central-1": ("Canada (Central)", "Montreal", "CA-QC"),
    "cn-north-1": ("China (Beijing)", "Beijing", ""),
    "cn-northwest-1": ("China (Ningxia)", "Ningxia", ""),
    "eu-central-1": ("Europe (Frankfurt)", "Frankfurt", ""),
    "eu-west-1": ("Europe (Ireland)", "Dublin", ""),
    "eu-west-2": ("Europe (London)", "London", ""),
    "eu-south-1": ("Europe (Milan)", "Milan", ""),
    "eu-west-3": ("Europe (Paris)", "Paris", ""),
    "eu-north-1": ("Europe (Stockholm)", "Stockholm", ""),
    "me-south-1": ("Middle East (Bahrain)", "Bahrain", ""),
    "sa-east-1": ("South America (Sao Paulo)", "Sao Paulo", ""),
}
AWS_EXTRA_ALIASES = {"us-east-1": ["US-east"],
                     "sa-east-1": ["South America (São Paulo)"]}
AZURE_LOCATION_COUNTRY = {  # CCF 'Location' -> (ISO3, subnational)
    "Iowa": ("USA", "US-IA"), "Virginia": ("USA", "US-VA"), "Georgia": ("USA", "US-GA"),
    "Illinois": ("USA", "US-IL"), "Texas": ("USA", "US-TX"), "Wyoming": ("USA", "US-WY"),
    "California": ("USA", "US-CA"), "Washington": ("USA", "US-WA"), "Arizona": ("USA", "US-AZ"),
    "Hong Kong": ("HKG", ""), "Singapore": ("SGP", ""), "Ireland": ("IRL", ""),
    "Netherlands": ("NLD", ""), "Pune": ("IND", ""), "Chennai": ("IND", ""), "Mumbai": ("IND", ""),
    "London": ("GBR", ""), "Cardiff": ("GBR", ""), "Paris": ("FRA", ""), "Helsinki": ("FIN", ""),
    "Frankfurt": ("DEU", ""), "Brussels": ("BEL", ""), "Gavle": ("SWE", ""),
}
AZURE_MALFORMED = {"000077": 0.000077, "000402": 0.000402}  # Finland Central, Germany West Central
GCP_COUNTRY = {  # region -> (ISO3, subnational); location names from Google's files
    "africa-south1": ("ZAF", ""), "asia-east1": ("TWN", ""), "asia-east2": ("HKG", ""),
    "asia-northeast1": ("JPN", ""), "asia-northeast2": ("JPN", ""), "asia-northeast3": ("KOR", ""),
    "asia-south1": ("IND", ""), "asia-south2": ("IND", ""), "asia-southeast1": ("SGP", ""),
    "asia-southeast2": ("IDN", ""), "australia-southeast1": ("AUS", "AU-NSW"),
    "australia-southeast2": ("AUS", "AU-VIC"), "europe-central2": ("POL", ""),
    "europe-north1": ("FIN", ""), "europe-north2": ("SWE", ""), "europe-southwest1": ("ESP", ""),
    "europe-west1": ("BEL", ""), "europe-west10": ("DEU", ""), "europe-west12": ("ITA", ""),
    "europe-west2": ("GBR", ""), "europe-west3": ("DEU", ""), "europe-west4": ("NLD", ""),
    "europe-west6": ("CHE", ""), "europe-west8": ("ITA", ""), "europe-west9": ("FRA", ""),
    "me-central1": ("QAT", ""), "me-central2": ("SAU", ""), "me-west1": ("ISR", ""),
    "northamerica-northeast1": ("CAN", "CA-QC"), "northamerica-northeast2": ("CAN", "CA-ON"),
    "northamerica-south1": ("MEX", ""), "southamerica-east1": ("BRA", ""),
    "southamerica-west1": ("CHL", ""), "us-central1": ("USA", "US-IA"), "us-central2": ("USA", "US-OK"),
    "us-east1": ("USA", "US-SC"), "us-east2": ("USA", "US-GA"), "us-east4": ("USA", "US-VA"),
    "us-east5": ("USA", "US-OH"), "us-south1": ("USA", "US-TX"), "us-west1": ("USA", "US-OR"),
    "us-west2": ("USA", "US-CA"), "us-west3": ("USA", "US-UT"), "us-west4": ("USA", "US-NV"),
}

# --------------------------------------------------------------------------- hand data: evidence
# (model_or_benchmark prefix, quantity, value, value_low, value_high, value_definition), row order
MFU_EVIDENCE = [
    ("GPT-3 175B", "mfu", 0.197, None, None, "achieved / dense fp16 peak (24.6 / 125)"),
    ("GPT-3 175B", "mfu", 0.213, None, None, "MFU as tabulated in PaLM Table 3"),
    ("T5-11B", "mfu", 0.37, None, None, "achieved / dense bf16 peak (45.6 / 123)"),
    ("GShard-600B", "mfu", 0.39, None, None, "achieved / dense bf16 peak (48 / 123)"),
    ("Switch Transformer", "mfu", 0.28, None, None, "achieved / dense bf16 peak (34.4 / 123); MoE"),
    ("XLM", "mfu", 0.212, None, None, "achieved / dense fp16 peak (26.5 / 125)"),
    ("Gopher", "mfu", 0.325, None, None, "MFU (PaLM Table 3)"),
    ("Megatron-Turing", "mfu", 0.302, None, None, "MFU (PaLM Table 3)"),
    ("PaLM 540B", "mfu", 0.462, None, None, "MFU (HFU 0.578 not used)"),
    ("Megatron-LM 1T", "mfu", 0.52, None, None, "achieved / dense peak (163 / 312), benchmark"),
    ("Megatron-LM selective", "mfu", 0.537, 0.415, 0.563, "median of 4 model sizes (range low-high)"),
    ("OPT-175B", "mfu", 0.47, None, None, "achieved / dense peak (147 / 312)"),
    ("BLOOM-176B", "mfu", 0.48, None, None, "achieved / dense peak (~150 / 312)"),
    ("Llama 3.1 405B", "mfu", 0.405, 0.38, 0.43, "achieved / dense bf16 peak (380-430 / 989)"),
    ("Llama 4", "mfu", 0.197, None, None, "achieved / dense FP8 peak (390 / 1979); weak source"),
    ("MosaicML", "mfu", 0.53, 0.42, 0.64, "median MFU of benchmark runs (range low-high)"),
    ("MosaicML", "mfu", 0.46, 0.36, 0.56, "midpoint of the MFU range"),
    ("MosaicML", "mfu", 0.40, 0.26, 0.46, "median MFU of benchmark runs (range low-high)"),
    ("MosaicML", "mfu", 0.22, 0.14, 0.30, "midpoint of MFU vs FP8 peak"),
    ("Max achievable matmul", "other", 0.79, 0.51, 0.97,
     "max achievable matmul / spec peak, median over 6 chips (an upper bound on MFU)"),
    ("T5 training power", "power_fraction_system", 0.69, None, None, "avg system power per chip / 450 W TDP"),
    ("GShard training power", "power_fraction_system", 0.64, None, None, "avg system power per chip / 450 W TDP"),
    ("Switch training power", "power_fraction_system", 0.54, None, None, "avg system power per chip / 450 W TDP"),
    ("GPT-3 training power", "power_fraction_system", 1.10, None, None, "avg system power per GPU / 300 W TDP"),
    ("XLM training power", "power_fraction_system", 1.14, None, None, "avg system power per GPU / 300 W TDP"),
    ("8x H100 HGX node", "other", 1.5, None, None,
     "max observed node power per GPU / GPU TDP (8.4 kW / 8 / 0.7 kW); a maximum, not an average"),
    ("8x H100 node power model", "power_fraction_system", 1.39, None, None,
     "typical node power per GPU / GPU TDP (0.76 x 10.2 kW / 8 / 0.7 kW)"),
    ("BLOOM-176B energy accounting", "other", 1.0, None, None, "assumed GPU power / TDP (an assumption)"),
    ("Llama 3 405B energy accounting", "other", 1.0, None, None, "assumed GPU power / TDP (an assumption)"),
    ("DGX B200 default power", "other", 0.70, None, None, "default GPU power cap / max TGP"),
    ("DGX system max power", "other", 1.82, 1.79, 2.03,
     "DGX system max power per GPU / GPU TDP (A100 2.03, H100 1.82, B200 1.79)"),
]

# --------------------------------------------------------------------------- hand data: PUE
PUE_PROVIDER_OF_OPERATOR = {
    "Google": "google", "AWS": "aws", "Microsoft": "azure", "Meta": "meta", "Oracle": "oracle",
    "Equinix": "colo", "Uptime Institute": "industry", "Jean Zay (IDRIS; BLOOM)": "hpc",
    "Patterson et al. 2021 model rows": "mixed",
}
PUE_BASE_SD = {"google": 0.20, "aws": 0.20, "azure": 0.25, "meta": 0.25, "oracle": 0.35,
               "colo": 0.30, "hpc": 0.40, "on_premise": 0.30}
PUE_PROVIDERS = ("google", "aws", "azure", "meta", "oracle", "hpc", "colo", "on_premise", "unknown")
PUE_YEARS = range(2012, 2027)
UNKNOWN_PUE_SD = 0.6


# =========================================================================== helpers
def write_csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, lineterminator="\n")
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ({len(df)} rows)")


def rnd(x, digits=6):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else round(float(x), digits)


def read_owid(raw: Path) -> pd.DataFrame:
    d = pd.read_csv(raw / OWID_FILE, keep_default_na=False, na_values=[""])
    d.columns = ["entity", "code", "year", "g_per_kwh"]
    return d


# =========================================================================== countries + grid
def build_countries(raw: Path) -> pd.DataFrame:
    owid = read_owid(raw)
    ents = owid[owid["code"].notna() & (owid["code"] != "OWID_WRL")].groupby("code")["entity"].first()
    ct = pd.read_csv(raw / "lfwa__carbontracker__carbon-intensities.csv", keep_default_na=False, dtype=str)
    iso2_of = dict(zip(ct["Code"], ct["alpha-2"], strict=True))
    continent_of = {c: cont for cont, codes in CONTINENT_CODES.items() for c in codes.split()}
    rows = []
    for owid_code, name in ents.items():
        iso3 = "XKX" if owid_code == "OWID_KOS" else owid_code
        iso2 = iso2_of.get(owid_code) or ISO2_MISSING.get(iso3)
        if not iso2:
            raise SystemExit(f"no ISO2 for {iso3} ({name})")
        if iso3 not in continent_of:
            raise SystemExit(f"no continent for {iso3} ({name})")
        rows.append({"iso3": iso3, "iso2": iso2, "name": name, "aliases": COUNTRY_ALIASES.get(iso3, ""),
                     "continent": continent_of[iso3]})
    df = pd.DataFrame(rows).sort_values("iso3").reset_index(drop=True)
    extra = set(continent_of) - set(df["iso3"])
    if extra:
        raise SystemExit(f"continent table has codes not in OWID: {sorted(extra)}")
    # every spelling must name exactly one country
    seen: dict[str, str] = {}
    for _, r in df.iterrows():
        for s in [r["iso3"], r["iso2"], r["name"]] + [a for a in r["aliases"].split(";") if a]:
            k = _norm(s)
            if seen.get(k, r["iso3"]) != r["iso3"]:
                raise SystemExit(f"country spelling {s!r} names {seen[k]} and {r['iso3']}")
            seen[k] = r["iso3"]
    return df


def build_grid(raw: Path) -> pd.DataFrame:
    owid = read_owid(raw)
    owid = owid[owid["year"].isin(YEARS)]
    rows = []
    for _, r in owid.iterrows():
        if isinstance(r["code"], str):
            code = {"OWID_WRL": "WORLD", "OWID_KOS": "XKX"}.get(r["code"], r["code"])
        elif r["entity"] in OWID_AGGREGATES:
            code = OWID_AGGREGATES[r["entity"]]
        else:
            continue  # other aggregates: Ember regions, income groups
        rows.append({"code": code, "year": int(r["year"]),
                     "carbon_intensity": round(float(r["g_per_kwh"]) / 1000.0, 8), "source": OWID_SOURCE})
    df = pd.DataFrame(rows).sort_values(["code", "year"]).reset_index(drop=True)
    missing = set(OWID_AGGREGATES.values()) - set(df["code"])
    if missing:
        print(f"WARNING: aggregates missing in OWID: {sorted(missing)}", file=sys.stderr)
    return df


# =========================================================================== GCP + cloud regions
def build_gcp(raw: Path) -> pd.DataFrame:
    rows = []
    for f in sorted(raw.glob("GoogleCloudPlatform__region-carbon-info__*.csv")):
        year = int(re.search(r"(\d{4})\.csv$", f.name).group(1))
        d = pd.read_csv(f, keep_default_na=False, na_values=[""])
        ci_col = [c for c in d.columns if "carbon intensity" in c.lower()][0]
        basis = "lifecycle" if "lifecycle" in ci_col.lower() else "operational"
        for _, r in d.iterrows():
            cfe = r["Google CFE"]
            rows.append({"region": r["Google Cloud Region"].strip(), "year": year,
                         "carbon_intensity": round(float(r[ci_col]) / 1000.0, 8),
                         "google_cfe": None if pd.isna(cfe) else float(cfe), "basis": basis,
                         "source": GCP_SOURCE.format(year=year)})
    return pd.DataFrame(rows).sort_values(["region", "year"]).reset_index(drop=True)


def read_ccf(raw: Path, provider: str) -> list[list[str]]:
    path = raw / f"cloud-carbon-footprint__ccf-coefficients__grid-emissions-factors-{provider}.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(fh) if r]
    return rows[1:]


def parse_ccf_value(text: str) -> float:
    text = text.strip()
    if text in AZURE_MALFORMED:
        return AZURE_MALFORMED[text]
    return float(text)


def build_regions(raw: Path, countries: pd.DataFrame, gcp: pd.DataFrame) -> pd.DataFrame:
    iso3_of_name = {}
    for _, c in countries.iterrows():
        for s in [c["iso3"], c["iso2"], c["name"]] + [a for a in c["aliases"].split(";") if a]:
            iso3_of_name[_norm(s)] = c["iso3"]
    iso3_of_iso2 = dict(zip(countries["iso2"], countries["iso3"], strict=True))
    rows = []
    # ---- AWS (CCF)
    aws_values = set()
    for region, country, nerc, value, source in (r[:5] for r in read_ccf(raw, "aws")):
        display, location, sub = AWS_REGIONS[region]
        kg = parse_ccf_value(value) * 1000.0
        aws_values.add(round(kg, 6))
        aliases = [display] + AWS_EXTRA_ALIASES.get(region, [])
        src = CCF_SOURCE.format(p="aws") + f" (factor from {source}" + (f", eGRID NERC {nerc})" if nerc else ")")
        rows.append({"provider": "aws", "region": region, "aliases": ";".join(aliases), "location": location,
                     "country_iso3": iso3_of_name[_norm(country)], "subnational": sub,
                     "ccf_carbon_intensity": round(kg, 6), "ccf_year": 2019, "source": src})
    # ---- Azure (CCF, then Green Algorithms extras)
    ga = pd.read_csv(raw / "GreenAlgorithms__green-algorithms-tool__cloudProviders_datacenters.csv",
                     skiprows=1, keep_default_na=False, dtype=str)
    ga_azure = {}
    for _, g in ga[ga["provider"] == "azure"].iterrows():
        clean = re.sub(r"\s*\(.*?\)\s*", "", g["Name"]).replace("Northeastt", "Northeast").strip()
        ga_azure[clean] = g
    azure_seen = set()
    for r in read_ccf(raw, "azure"):
        display, location, nerc, value, source = r[:5]
        api = display.lower().replace(" ", "")
        iso3, sub = AZURE_LOCATION_COUNTRY[location]
        if display in ga_azure and not sub:
            code = ga_azure[display]["location"]
            sub = code if "-" in code and not code.startswith("CN-HK") else ""
        kg = round(parse_ccf_value(value) * 1000.0, 6)
        # EPA eGRID factors and values shared with the 2021 AWS file: data year ~2019; the other
        # (EEA / carbonfootprint.com) values were updated later (file changed 2023): ~2021.
        year = 2019 if (source.strip() == "EPA" or kg in aws_values) else 2021
        aliases = [display]
        if display in ga_azure and ga_azure[display]["Name"] != display:
            aliases.append(ga_azure[display]["Name"].strip())
        note = " [malformed upstream value fixed]" if value.strip() in AZURE_MALFORMED else ""
        src = (CCF_SOURCE.format(p="azure") + f" (factor from {source}"
               + (f", eGRID NERC {nerc})" if nerc else ")") + note)
        rows.append({"provider": "azure", "region": api, "aliases": ";".join(aliases), "location": location,
                     "country_iso3": iso3, "subnational": sub, "ccf_carbon_intensity": kg, "ccf_year": year,
                     "source": src})
        azure_seen.add(display)
    for clean, g in sorted(ga_azure.items()):
        if clean in azure_seen:
            continue
        code = g["location"].strip()
        if code.startswith("CN-HK"):
            iso3, sub = "HKG", ""
        elif code == "":
            iso3, sub = ("QAT", "") if "Qatar" in clean else (None, "")
        else:
            iso3 = iso3_of_iso2[code.split("-")[0]]
            sub = code if "-" in code else ""
        if iso3 is None:
            raise SystemExit(f"no country for Azure region {clean}")
        aliases = [clean] + ([g["Name"].strip()] if g["Name"].strip() != clean else [])
        location = (g["Extra_details"] or g["location_freeForm"]).strip()
        rows.append({"provider": "azure", "region": clean.lower().replace(" ", ""), "aliases": ";".join(aliases),
                     "location": location, "country_iso3": iso3, "subnational": sub,
                     "ccf_carbon_intensity": None, "ccf_year": None, "source": GA_SOURCE + " (no CCF factor)"})
    # ---- GCP (Google files 2019-2024 + CCF GCP list)
    latest_loc = {}
    for f in sorted(raw.glob("GoogleCloudPlatform__region-carbon-info__*.csv")):
        for _, r in pd.read_csv(f, keep_default_na=False).iterrows():
            latest_loc[r["Google Cloud Region"].strip()] = r["Location"].strip()
    ccf_gcp = {r[0].strip(): r[1].strip() for r in read_ccf(raw, "gcp")}
    for region in sorted(set(latest_loc) | set(ccf_gcp)):
        iso3, sub = GCP_COUNTRY[region]
        years = gcp.loc[gcp["region"] == region, "year"]
        span = f"{years.min()}" if len(years) and years.min() == years.max() else f"{years.min()}-{years.max()}"
        src = (f"GoogleCloudPlatform/region-carbon-info data/yearly ({span}); Apache-2.0"
               if len(years) else CCF_SOURCE.format(p="gcp"))
        rows.append({"provider": "gcp", "region": region, "aliases": "",
                     "location": latest_loc.get(region, ccf_gcp.get(region, "")),
                     "country_iso3": iso3, "subnational": sub, "ccf_carbon_intensity": None, "ccf_year": None,
                     "source": src})
    df = pd.DataFrame(rows)
    df["ccf_year"] = df["ccf_year"].astype("Int64")
    df = df.sort_values(["provider", "region"]).reset_index(drop=True)
    if df.duplicated(["provider", "region"]).any():
        raise SystemExit("duplicate cloud regions")
    unknown = set(df["country_iso3"]) - set(countries["iso3"])
    if unknown:
        raise SystemExit(f"regions in unknown countries: {unknown}")
    return df


# =========================================================================== PUE
def _range(text: str) -> tuple[float, float]:
    nums = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", str(text))]
    return min(nums), max(nums)


def build_pue_reference(curated: Path) -> pd.DataFrame:
    d = pd.read_csv(curated / "pue_reference.csv", dtype=str, keep_default_na=False)
    rows = []
    for _, r in d.iterrows():
        lo, hi = _range(r["pue"])
        y0, y1 = _range(r["year"])
        provider = PUE_PROVIDER_OF_OPERATOR.get(r["operator"])
        if r["operator"] == "IDC estimate":
            provider = "on_premise" if "on-prem" in r["scope"] else "cloud_industry"
        rows.append({"operator": r["operator"], "provider": provider, "scope": r["scope"],
                     "year_from": int(y0), "year_to": int(y1), "pue": round((lo + hi) / 2, 4),
                     "pue_low": lo, "pue_high": hi, "pue_text": r["pue"], "kind": r["kind"],
                     "source": r["source"], "verification": r["verification"]})
    return pd.DataFrame(rows)


def _pue_points(ref: pd.DataFrame, provider: str) -> dict[int, float]:
    """Collect the published (year -> PUE) points for a provider's fleet series."""
    sel = {
        "google": ref["provider"] == "google",
        "aws": ref["provider"] == "aws",
        "azure": (ref["provider"] == "azure") & ref["scope"].str.contains("fleet"),
        "meta": ref["provider"] == "meta",
        "colo": ref["provider"] == "colo",
        "hpc": ref["provider"] == "hpc",
        "on_premise": ref["provider"] == "industry",
    }.get(provider)
    if sel is None:
        return {}
    pts: dict[int, list[float]] = defaultdict(list)
    for _, r in ref[sel].iterrows():
        for y in range(int(r["year_from"]), int(r["year_to"]) + 1):
            pts[y].append(math.log(float(r["pue"]) - 1.0))
    return {y: 1.0 + math.exp(float(np.mean(v))) for y, v in sorted(pts.items())}


def build_pue_by_provider(ref: pd.DataFrame, raw: Path) -> pd.DataFrame:
    ga = pd.read_csv(raw / "GreenAlgorithms__green-algorithms-tool__defaults_PUE.csv", skiprows=1)
    ga_pue = {str(k).lower(): float(v) for k, v in zip(ga["provider"], ga["PUE"], strict=True)}
    notes = {
        "google": "Google fleet trailing-twelve-month PUE (2008 1.19; GCP campuses 1.09-1.12 in 2019-20; 2021 1.10; "
                  "2023 1.10; 2024 1.09)",
        "aws": "AWS global PUE first disclosed for 2023 (1.15), 2024 (1.15), 2025 (1.14); earlier years not published",
        "azure": "Microsoft fleet 1.18 (2023-24); the 2022 design PUE of new data centres (1.12) is a lower bound",
        "meta": "Meta 2021 buildings 1.09, fleet 2023 1.08",
        "colo": "Equinix global colocation 2022 1.46, 2023 1.42 (secondary source)",
        "hpc": "Jean Zay (IDRIS, BLOOM) 1.2 in 2022 (recalled); public HPC centres typically 1.1-1.4",
        "on_premise": "Uptime Institute industry-average survey PUE (2007 ~2.5, 2011 1.8, 2019 1.67, 2020 1.58-1.59, "
                      "2021 1.57, 2022 1.55, 2023 1.58, 2024 1.56); IDC estimates on-premises enterprise at 1.63 "
                      "(2024)",
    }
    src_of = {
        "google": "pue_reference.csv (Google rows)", "aws": "pue_reference.csv (AWS rows)",
        "azure": "pue_reference.csv (Microsoft rows)", "meta": "pue_reference.csv (Meta rows)",
        "colo": "pue_reference.csv (Equinix rows)", "hpc": "pue_reference.csv (Jean Zay row)",
        "on_premise": "pue_reference.csv (Uptime Institute and IDC rows)",
        "oracle": "pue_reference.csv (Oracle row); green-algorithms-tool defaults_PUE.csv (Oracle 1.2)",
    }
    rows = []
    centres: dict[str, dict[int, float]] = defaultdict(dict)
    for provider in PUE_PROVIDERS[:-1]:
        base = PUE_BASE_SD[provider]
        if provider == "oracle":
            for y in PUE_YEARS:
                centres[provider][y] = 1.20
                rows.append({"provider": provider, "year": y, "pue_centre": 1.20,
                             "pue_log_sd": round(base + (0 if y == 2024 else min(0.03 * abs(y - 2024), 0.3)), 3),
                             "source": src_of[provider],
                             "rationale": "Oracle states OCI PUE 'as low as' 1.15 (2024), a best case, not a fleet "
                                          "average; centred on the green-algorithms default "
                                          f"{ga_pue.get('oracle', 1.2)} "
                                          + ("" if y == 2024
                                             else f"(no published value for {y}; carried from 2024, wider sd)")})
            continue
        pts = _pue_points(ref, provider)
        years = np.array(sorted(pts))
        for y in PUE_YEARS:
            if y in pts:
                c, sd, how = pts[y], base, f"published value for {y}"
            elif years.min() < y < years.max():
                lo, hi = years[years < y].max(), years[years > y].min()
                w = (y - lo) / (hi - lo)
                c = 1.0 + math.exp((1 - w) * math.log(pts[lo] - 1) + w * math.log(pts[hi] - 1))
                sd = base + 0.05
                how = (f"no published value for {y}: interpolated on log(PUE-1) between {lo} ({pts[lo]:.3f}) "
                       f"and {hi} ({pts[hi]:.3f})")
            else:
                near = int(years[np.argmin(np.abs(years - y))])
                c = pts[near]
                sd = base + min(0.03 * abs(y - near), 0.3)
                how = f"no published value for {y}: carried from the nearest published year {near}, sd widened"
            centres[provider][y] = c
            extra = ""
            if provider == "aws":
                extra = f"; green-algorithms default {ga_pue.get('aws')} (nutanix 2023 blog)"
            elif provider == "google":
                extra = f"; green-algorithms default {ga_pue.get('gcp')}"
            elif provider == "azure":
                extra = f"; green-algorithms default {ga_pue.get('azure')}"
            rows.append({"provider": provider, "year": y, "pue_centre": round(c, 4), "pue_log_sd": round(sd, 3),
                         "source": src_of[provider],
                         "rationale": f"{notes[provider]}{extra}. {how[0].upper() + how[1:]}."})
    for y in PUE_YEARS:
        hyper = [centres[p][y] for p in ("google", "aws", "azure", "meta")]
        h = 1.0 + math.exp(float(np.mean([math.log(v - 1) for v in hyper])))
        u = centres["on_premise"][y]
        c = 1.0 + math.exp(0.5 * (math.log(h - 1) + math.log(u - 1)))
        rows.append({"provider": "unknown", "year": y, "pue_centre": round(c, 4), "pue_log_sd": UNKNOWN_PUE_SD,
                     "source": "derived from this table's google/aws/azure/meta and on_premise rows; "
                               f"green-algorithms-tool defaults_PUE.csv (Unknown {ga_pue.get('unknown')})",
                     "rationale": "Operator not known. Most published training runs ran on hyperscale or public HPC "
                                  f"clusters, some on enterprise/university clusters, so the centre is the geometric "
                                  f"mean of PUE-1 between the hyperscaler average ({h:.3f}) and the industry average "
                                  f"({u:.3f}); sd {UNKNOWN_PUE_SD} on log(PUE-1) puts the 90% interval at about "
                                  f"{1 + (c - 1) * math.exp(-1.645 * UNKNOWN_PUE_SD):.2f}-"
                                  f"{1 + (c - 1) * math.exp(1.645 * UNKNOWN_PUE_SD):.2f}, covering both."})
    df = pd.DataFrame(rows)
    order = {p: i for i, p in enumerate(PUE_PROVIDERS)}
    return df.sort_values(["provider", "year"],
                          key=lambda s: s.map(order) if s.name == "provider" else s).reset_index(drop=True)


# =========================================================================== MFU / power evidence
def build_mfu(curated: Path, hw_index: dict[str, str]) -> pd.DataFrame:
    d = pd.read_csv(curated / "mfu_power_reference.csv", dtype=str, keep_default_na=False)
    if len(d) != len(MFU_EVIDENCE):
        raise SystemExit(f"mfu_power_reference.csv has {len(d)} rows; MFU_EVIDENCE describes {len(MFU_EVIDENCE)}")
    out = []
    for (_, r), (prefix, qty, val, lo, hi, definition) in zip(d.iterrows(), MFU_EVIDENCE, strict=True):
        if not r["model_or_benchmark"].startswith(prefix):
            raise SystemExit(f"row {r['model_or_benchmark']!r} does not match evidence spec {prefix!r}")
        hw = r["hardware"]
        hid = "" if "/" in hw else (_lookup_hardware(re.sub(r"\(.*?\)", "", hw).strip(), hw_index) or "")
        if "/" not in hw and not hid:
            raise SystemExit(f"cannot resolve evidence hardware {hw!r}")
        row = dict(r)
        row.update({"hardware_id": hid, "quantity": qty, "value": val, "value_low": lo, "value_high": hi,
                    "value_definition": definition})
        out.append(row)
    cols = list(d.columns[:3]) + ["hardware_id"] + list(d.columns[3:]) + ["quantity", "value", "value_low",
                                                                           "value_high", "value_definition"]
    return pd.DataFrame(out)[cols]


# =========================================================================== Epoch-derived tables
def read_epoch(raw: Path) -> pd.DataFrame:
    d = pd.read_csv(raw / EPOCH_FILE)
    d["year"] = pd.to_datetime(d["Publication date"], errors="coerce").dt.year
    return d


def build_usage(epoch: pd.DataFrame, hw_index: dict[str, str]) -> tuple[pd.DataFrame, dict[str, int]]:
    counts: dict[tuple[int, str], float] = defaultdict(float)
    unresolved: dict[str, int] = defaultdict(int)
    sel = epoch[(epoch["year"] >= 2012) & (epoch["year"] <= 2025) & epoch["Training hardware"].notna()]
    for _, r in sel.iterrows():
        parts = [p.strip() for p in str(r["Training hardware"]).split(",") if p.strip()]
        for p in parts:
            hid = _lookup_hardware(p, hw_index)
            if hid is None:
                unresolved[p] += 1
            else:
                counts[(int(r["year"]), hid)] += 1.0 / len(parts)
    df = pd.DataFrame([{"year": y, "hardware_id": h, "n_models": round(n, 4), "source": EPOCH_SOURCE}
                       for (y, h), n in counts.items()])
    df = df.sort_values(["year", "n_models", "hardware_id"], ascending=[True, False, True]).reset_index(drop=True)
    return df, dict(unresolved)


def task_of(domain: object) -> str:
    """Map Epoch AI's Domain (comma-separated) to the package's task."""
    parts = {p.strip().lower() for p in str(domain).split(",")} if isinstance(domain, str) else set()
    if "multimodal" in parts or {"language", "vision"} <= parts:
        return "multimodal"
    if "image generation" in parts:
        return "image_generation"
    if "language" in parts:
        return "language"
    if parts & {"speech", "audio"}:
        return "speech"
    if parts & {"vision", "video"}:
        return "vision"
    return "other"


def ols(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    dof = len(y) - X.shape[1]
    return beta, float(np.sqrt(resid @ resid / dof))


def build_compute_prior(epoch: pd.DataFrame) -> pd.DataFrame:
    d = epoch[(epoch["year"] >= 2012) & (epoch["Confidence"] != "Speculative")].copy()
    d["task"] = d["Domain"].map(task_of)
    pos = lambda s: np.log10(s.where(s > 0))  # noqa: E731
    d["lf"] = pos(d["Training compute (FLOP)"])
    d["lp"] = pos(d["Parameters"])
    d["lt"] = pos(d["Training dataset size (datapoints)"])
    d["yr"] = d["year"] - 2020
    specs = [("log10_flops", "params+year", ["lp", "yr"]), ("log10_flops", "tokens+year", ["lt", "yr"]),
             ("log10_flops", "year", ["yr"]), ("log10_params", "year", ["yr"])]
    rows = []
    for target, name, xs in specs:
        ycol = "lf" if target == "log10_flops" else "lp"
        sub = d.dropna(subset=[ycol] + xs)
        for task in ("all",) + tuple(sorted(set(d["task"]))):
            s = sub if task == "all" else sub[sub["task"] == task]
            if task != "all" and len(s) < 15:
                continue
            centre = {"lp": 9.0, "lt": 11.0, "yr": 0.0}
            X = np.column_stack([np.ones(len(s))] + [s[c].to_numpy() - centre[c] for c in xs])
            beta, sd = ols(X, s[ycol].to_numpy())
            coef = dict(zip(xs, beta[1:], strict=True))
            rows.append({"task": task, "predictors": name, "target": target, "intercept": rnd(beta[0]),
                         "coef_log10_params": rnd(coef.get("lp")), "coef_log10_tokens": rnd(coef.get("lt")),
                         "coef_year": rnd(coef.get("yr")), "sd_resid": rnd(sd), "n": len(s),
                         "year_min": int(s["year"].min()), "year_max": int(s["year"].max()), "source": EPOCH_SOURCE})
    return pd.DataFrame(rows)


# =========================================================================== main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared", help="path of the shared/ folder")
    parser.add_argument("--out", type=Path, default=ROOT / "priors", help="output folder (default priors/)")
    args = parser.parse_args(argv)
    raw = args.shared / "reference" / "raw"
    curated = args.shared / "reference" / "curated"
    out = args.out
    if not raw.is_dir():
        parser.error(f"{raw} not found; pass --shared")

    # accelerators.csv is curated by hand (not rebuilt here): read it from priors/ whatever --out is
    acc = pd.read_csv(ROOT / "priors" / "accelerators.csv", keep_default_na=False,
                      na_values=[""]).set_index("hardware_id")
    hw_index = _build_hardware_index(acc)

    countries = build_countries(raw)
    write_csv(countries, out / "countries.csv")
    write_csv(build_grid(raw), out / "grid_intensity_country.csv")
    gcp = build_gcp(raw)
    write_csv(gcp, out / "gcp_region_intensity.csv")
    write_csv(build_regions(raw, countries, gcp), out / "cloud_regions.csv")
    pue_ref = build_pue_reference(curated)
    write_csv(pue_ref, out / "pue_reference.csv")
    write_csv(build_pue_by_provider(pue_ref, raw), out / "pue_by_provider.csv")
    write_csv(build_mfu(curated, hw_index), out / "mfu_power_evidence.csv")
    epoch = read_epoch(raw)
    usage, unresolved = build_usage(epoch, hw_index)
    write_csv(usage, out / "hardware_usage_by_year.csv")
    if unresolved:
        print("Epoch hardware strings not in accelerators.csv (left out of hardware_usage_by_year.csv):",
              file=sys.stderr)
        for name, n in sorted(unresolved.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {n:3d}  {name}", file=sys.stderr)
    write_csv(build_compute_prior(epoch), out / "compute_prior.csv")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
