"""The input contract (carbon_bayes.schema.normalise_runs).

Every kind of bad input names its column, the value and a fix; good inputs in every accepted
shape normalise the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carbon_bayes.errors import CarbonBayesWarning, InputError
from carbon_bayes.resources import data_path
from carbon_bayes.schema import COLUMN_NAMES, PASSTHROUGH, normalise_runs

# (id, runs, field, value text that must appear in the message, distinctive word of the fix)
BAD_INPUTS = [
    ("negative-parameters", {"parameters": -7e9}, "parameters", "-7000000000", "greater than zero"),
    ("zero-device-hours", {"device_hours": 0}, "device_hours", "0", "greater than zero"),
    ("negative-n-devices", {"n_devices": -8}, "n_devices", "-8", "greater than zero"),
    ("parameters-in-billions", {"parameters": 7}, "parameters", "7", "7e9"),
    ("active-parameters-in-billions", {"active_parameters": 37}, "active_parameters", "37", "plain count"),
    ("tokens-in-trillions", {"training_tokens": 2}, "training_tokens", "2", "2e12"),
    ("flops-in-zettaflop", {"training_flops": 8.4}, "training_flops", "8.4", "total FLOP"),
    ("flops-absurdly-large", {"training_flops": 1e31}, "training_flops", "1e+31", "check the unit"),
    ("pue-below-one", {"pue": 0.9}, "pue", "0.9", "at least 1.0"),
    ("pue-above-three", {"pue": 3.5}, "pue", "3.5", "datacentre"),
    ("intensity-in-g-per-kwh", {"carbon_intensity": 385}, "carbon_intensity", "385", "g/kWh"),
    ("negative-intensity", {"carbon_intensity": -0.1}, "carbon_intensity", "-0.1", "negative"),
    ("unknown-hardware", {"hardware": "A10O"}, "hardware", "A10O", "did you mean"),
    ("unknown-region", {"region": "aws:us-east-9"}, "region", "aws:us-east-9", "aws:us-east-1"),
    ("unknown-cloud-provider", {"region": "ibm:us-south"}, "region", "ibm:us-south", "provider"),
    ("unknown-country", {"country": "Atlantis"}, "country", "Atlantis", "ISO 3166"),
    ("region-country-contradiction", {"region": "aws:us-east-1", "country": "FR"}, "country", "FR",
     "agree"),
    ("region-provider-contradiction", {"region": "aws:us-east-1", "provider": "google"}, "provider", "google",
     "agree"),
    ("contradictory-hours", {"device_hours": 1e6, "n_devices": 8, "training_days": 10}, "device_hours",
     "1000000", "1,920"),
    ("unknown-architecture", {"architecture": "transfomer"}, "architecture", "transfomer", "dense_transformer"),
    ("unknown-task", {"task": "langauge"}, "task", "langauge", "Did you mean 'language'"),
    ("unknown-energy-basis", {"energy_basis": "nominall"}, "energy_basis", "nominall", "measured"),
    ("text-in-number-column", {"parameters": "lots"}, "parameters", "lots", "give a number"),
    ("boolean-in-number-column", {"device_hours": True}, "device_hours", "True", "give a number"),
    ("infinite-number", {"training_tokens": float("inf")}, "training_tokens", "inf", "finite"),
    ("duplicate-run-id", [{"run_id": "a"}, {"run_id": "a"}], "run_id", "a", "unique"),
    ("active-above-total", {"parameters": 7e9, "active_parameters": 8e9}, "active_parameters", "8000000000",
     "subset"),
    ("market-based-without-intensity", {"accounting": "market_based"}, "accounting", "market_based",
     "carbon_intensity"),
    ("misspelled-column", {"device_hour": 10}, "column", "device_hour", "did you mean 'device_hours'"),
    ("year-1990", {"year": 1990}, "year", "1990", "2010 or later"),
    ("year-far-future", {"year": 2100}, "year", "2100", "give a year up to"),
    ("fractional-year", {"year": 2023.5}, "year", "2023.5", "whole year"),
    ("training-days-too-many", {"training_days": 5000}, "training_days", "5000", "wall-clock days"),
    ("power-far-above-tdp", {"hardware": "A100-80GB", "power_per_device_w": 4000}, "power_per_device_w", "4000",
     "TDP"),
    ("power-far-below-tdp", {"hardware": "H100", "power_per_device_w": 10}, "power_per_device_w", "10", "TDP"),
    ("container-int", 5, "runs", "int", "DataFrame"),
    ("container-string", "A100", "runs", "str", "DataFrame"),
    ("empty-list", [], "runs", "empty", "at least one run"),
    ("empty-dataframe", pd.DataFrame(), "runs", "empty", "at least one run"),
    ("precision-chip-lacks", {"hardware": "V100", "precision": "fp8"}, "precision", "fp8", "fp16"),
    ("unknown-precision", {"precision": "fp4"}, "precision", "fp4", "bf16"),
]


@pytest.mark.parametrize(("runs", "field", "value", "fix_word"),
                         [pytest.param(*case[1:], id=case[0]) for case in BAD_INPUTS])
def test_bad_input_names_field_value_and_fix(runs, field, value, fix_word):
    with pytest.raises(InputError) as info:
        normalise_runs(runs)
    err = info.value
    assert err.field == field
    msg = str(err)
    # the message opens with field=value (the value as given, or as parsed for numbers) ...
    assert msg.startswith(f"{field}={err.value!r}"), msg
    assert value in str(err.value), (value, err.value)
    assert fix_word.lower() in msg.lower(), msg
    assert fix_word.lower() in err.fix.lower()
    assert isinstance(err, ValueError)  # callers catching ValueError keep working


def test_bad_input_table_is_broad():
    assert len(BAD_INPUTS) >= 20
    assert len({c[0] for c in BAD_INPUTS}) == len(BAD_INPUTS)


def test_error_names_the_row_of_the_bad_value():
    runs = [{"run_id": "ok", "parameters": 7e9}, {"run_id": "bad-one", "parameters": 7}]
    with pytest.raises(InputError) as info:
        normalise_runs(runs)
    assert "bad-one" in str(info.value.row)
    assert "(row 3, run_id" in str(info.value)  # header = row 1, the first run row 2


def test_unknown_hardware_suggests_the_right_chip():
    with pytest.raises(InputError) as info:
        normalise_runs({"hardware": "H10O"})
    assert "H100" in info.value.fix


def test_unknown_country_names_the_column_in_a_batch():
    with pytest.raises(InputError) as info:
        normalise_runs(pd.DataFrame({"country": ["US", "FR", "Atlantis"]}))
    assert info.value.field == "country"
    assert str(info.value.row) == "4"  # third run: row 4, the header being row 1


# ----------------------------------------------------------------------------- good inputs

ONE_RUN = {"run_id": "r1", "parameters": 7e9, "training_tokens": 2e12, "hardware": "A100-80GB",
           "device_hours": 184320, "country": "US", "year": 2023}


def test_dict_list_and_dataframe_give_the_same_result():
    a = normalise_runs(ONE_RUN)
    b = normalise_runs([ONE_RUN])
    c = normalise_runs(pd.DataFrame([ONE_RUN]))
    d = normalise_runs({k: [v] for k, v in ONE_RUN.items()})  # dict of columns
    for other in (b, c, d):
        pd.testing.assert_frame_equal(a, other)
    assert list(a.columns) == [*COLUMN_NAMES, "tier", "warnings"]
    assert len(a) == 1
    r = a.iloc[0]
    assert (r["hardware"], r["country"], r["tier"], r["device_hours"]) == ("A100-SXM4-80GB", "USA", "T1", 184320.0)


def test_input_is_not_modified():
    df = pd.DataFrame([{"hardware": "A100-80GB", "n_devices": 8, "training_days": 2}])
    before = df.copy()
    normalise_runs(df)
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize(("column", "text", "expected"), [
    ("parameters", "7B", 7e9),
    ("parameters", "1.3M", 1.3e6),
    ("parameters", "175b", 175e9),
    ("training_tokens", "2T", 2e12),
    ("training_tokens", "1.4t", 1.4e12),
    ("device_hours", "184,320", 184_320.0),
    ("device_hours", "1_720_320", 1_720_320.0),
    ("device_hours", " 82432 ", 82_432.0),
    ("n_devices", "2k", 2000.0),
    ("training_flops", "8.4e22", 8.4e22),
])
def test_number_strings_parse(column, text, expected):
    out = normalise_runs({column: text})
    assert out[column].iloc[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("spelling", "canonical"), [
    ("A100-80GB", "A100-SXM4-80GB"),
    ("NVIDIA A100 SXM4 80GB", "A100-SXM4-80GB"),
    ("a100 80gb", "A100-SXM4-80GB"),
    ("A100", "A100-SXM4-40GB"),
    ("TPU v3", "TPUV3"),
    ("TPUv3", "TPUV3"),
    ("v3-8", "TPUV3"),
    ("H100", "H100-SXM5"),
    ("Tesla V100", "V100-SXM2"),
])
def test_hardware_aliases_resolve(spelling, canonical):
    assert normalise_runs({"hardware": spelling})["hardware"].iloc[0] == canonical


@pytest.mark.parametrize("spelling", ["US", "USA", "United States", "us", " usa "])
def test_country_spellings_resolve_to_iso3(spelling):
    assert normalise_runs({"country": spelling})["country"].iloc[0] == "USA"


def test_country_fr_is_fra():
    assert normalise_runs({"country": "France"})["country"].iloc[0] == "FRA"


@pytest.mark.parametrize(("region", "canon", "country", "provider"), [
    ("aws:us-east-1", "aws:us-east-1", "USA", "aws"),
    ("gcp:us-central1", "gcp:us-central1", "USA", "google"),
    ("gcp:europe-west4", "gcp:europe-west4", "NLD", "google"),
    ("azure:westeurope", "azure:westeurope", "NLD", "azure"),
])
def test_region_sets_country_and_provider(region, canon, country, provider):
    r = normalise_runs({"region": region}).iloc[0]
    assert (r["region"], r["country"], r["provider"]) == (canon, country, provider)


def test_region_and_matching_country_are_accepted():
    r = normalise_runs({"region": "aws:us-east-1", "country": "United States"}).iloc[0]
    assert r["country"] == "USA"


def test_device_hours_filled_from_devices_and_days():
    # 64 devices x 10 days x 24 h = 15,360 device-hours
    r = normalise_runs({"n_devices": 64, "training_days": 10}).iloc[0]
    assert r["device_hours"] == 15_360.0
    assert r["tier"] == "T1"


def test_given_device_hours_consistent_with_days_are_kept():
    # 2048 x 21 days x 24 = 1,032,192; the LLaMA-65B 1,022,362 h is within rounding of the days
    r = normalise_runs({"device_hours": 1_022_362, "n_devices": 2048, "training_days": 21}).iloc[0]
    assert r["device_hours"] == 1_022_362.0


def test_days_without_devices_is_noted_not_used():
    r = normalise_runs({"training_days": 10}).iloc[0]
    assert np.isnan(r["device_hours"])
    assert "n_devices" in r["warnings"]
    assert r["tier"] == "T3"


@pytest.mark.parametrize(("run", "tier"), [
    ({"device_hours": 1000, "hardware": "H100"}, "T1"),
    ({"n_devices": 8, "training_days": 1}, "T1"),
    ({"device_hours": 1e5, "parameters": 7e9, "training_tokens": 2e12}, "T1"),
    ({"training_flops": 1e23, "hardware": "H100"}, "T2"),
    ({"parameters": 7e9, "training_tokens": 2e12}, "T2"),
    ({"active_parameters": 3.7e10, "training_tokens": 1e12}, "T2"),
    ({"parameters": 7e9, "year": 2024, "architecture": "dense_transformer"}, "T3"),
    ({"training_tokens": 2e12}, "T3"),
    ({"year": 2024}, "T3"),
])
def test_tiers(run, tier):
    assert normalise_runs(run)["tier"].iloc[0] == tier


def test_defaults_and_category_aliases():
    r = normalise_runs({"architecture": "Transformer", "task": "NLP", "accounting": "market",
                        "carbon_intensity": 0.05, "energy_basis": "Nominal", "precision": "bfloat16"}).iloc[0]
    assert (r["architecture"], r["task"], r["accounting"], r["energy_basis"], r["precision"]) == (
        "dense_transformer", "language", "market_based", "nominal", "bf16")
    # the dataset's third basis, a figure from a stated assumed power per device, is tdp arithmetic
    assert normalise_runs({"year": 2024, "energy_basis": "assumed"})["energy_basis"].iloc[0] == "tdp"
    d = normalise_runs({"year": 2024}).iloc[0]
    assert (d["accounting"], d["energy_basis"], d["power_scope"]) == ("location_based", "measured", "system")
    assert d["run_id"] == "run-0"


def test_moe_without_active_parameters_warns_in_output():
    r = normalise_runs({"architecture": "moe", "parameters": 1e12}).iloc[0]
    assert "active_parameters" in r["warnings"]


def test_unknown_extra_column_warns_and_is_ignored():
    with pytest.warns(CarbonBayesWarning, match="my_notes"):
        out = normalise_runs({"parameters": 7e9, "my_notes": "hello"})
    assert "my_notes" not in out.columns
    assert out["parameters"].iloc[0] == 7e9


def test_published_table_columns_are_read_as_the_contract_ones():
    row = {"model_id": "m1", "task_family": "recsys", "parameters": 1e9, "hardware": "A100-SXM4-40GB",
           "device_hours": 1000, "reported_power_per_device_w": 300, "pue_used_by_source": 1.1,
           "carbon_intensity_kg_per_kwh_used_by_source": 0.2, "location_or_region": "Somewhere (USA)",
           "reported_energy_mwh": 0.33, "year": 2022}
    with pytest.warns(CarbonBayesWarning) as caught:
        r = normalise_runs(row).iloc[0]
    message = " ".join(str(w.message) for w in caught)
    assert "pue_used_by_source as pue" in message and "location_or_region is free text" in message
    assert (r["run_id"], r["task"], r["power_per_device_w"], r["pue"], r["carbon_intensity"]) == (
        "m1", "other", 300, 1.1, 0.2)
    with pytest.warns(CarbonBayesWarning) as caught:  # the renames only: a country is given
        out = normalise_runs({**row, "country": "US"})
    assert "reported_energy_mwh" not in out.columns and "free text" not in str(caught[0].message)


def test_alias_and_contract_column_together_is_an_error():
    with pytest.raises(InputError) as e:
        normalise_runs({"pue": 1.1, "pue_used_by_source": 1.2, "year": 2023})
    assert "pue_used_by_source" in str(e.value) and "keep one" in str(e.value)


def test_dataset_columns_pass_through():
    """Every column of data/training_runs.csv is a contract column or a known passthrough."""
    df = pd.read_csv(data_path("training_runs.csv"))
    extra = set(df.columns) - set(COLUMN_NAMES)
    assert extra <= PASSTHROUGH, extra - PASSTHROUGH
    # The rows a user could pass as they are (values the contract rejects on purpose: a
    # hypothetical 11,422-day run, and market-based rows whose intensity sits in
    # source_carbon_intensity, not carbon_intensity). Basis "assumed" is read as tdp.
    ok = ~(df["training_days"] > 2000) & (df["accounting"] != "market_based")
    sub = df[ok]
    assert len(sub) >= 70
    out = normalise_runs(sub)  # no error, and no CarbonBayesWarning (an error in tests)
    assert len(out) == len(sub)
    assert list(out["run_id"]) == list(sub["run_id"])
    assert "energy_mwh" not in out.columns
    fitted = sub["in_fit"].to_numpy() & sub["device_hours"].notna().to_numpy()
    np.testing.assert_array_equal(out["device_hours"].to_numpy()[fitted], sub["device_hours"].to_numpy()[fitted])


def test_a_moderate_hours_mismatch_is_a_warning_and_a_large_one_an_error():
    # 2048 GPUs x 21 days x 24 h = 1,032,192 device-hours; published totals often round days.
    ok = normalise_runs({"device_hours": 1.3e6, "n_devices": 2048, "training_days": 21})
    assert ok["device_hours"].iloc[0] == 1.3e6
    assert "1.26x n_devices x training_days" in ok["warnings"].iloc[0]
    close = normalise_runs({"device_hours": 1.1e6, "n_devices": 2048, "training_days": 21})
    assert close["warnings"].iloc[0] == ""
    with pytest.raises(InputError) as e:
        normalise_runs({"device_hours": 2.5e6, "n_devices": 2048, "training_days": 21})
    assert e.value.field == "device_hours" and "contradicts" in str(e.value)
