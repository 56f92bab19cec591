"""Readers of a user's measurements: CodeCarbon emissions.csv, Hugging Face model cards, user CSVs.

Format detection, the conversion to dataset rows (units, hardware, location, provenance), the
errors on malformed files (naming file, row, column and fix, with the file left unchanged),
model-card YAML parsing (checked against PyYAML), and the per-user data directory.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbon_bayes.errors import InputError
from carbon_bayes.measurements import (
    check_cluster,
    check_fittable,
    default_output_path,
    detect_format,
    front_matter,
    parse_co2_metadata,
    read_measurements,
    split_device_count,
    user_data_dir,
)

DATA = Path(__file__).parent / "data"
CC = DATA / "codecarbon_emissions.csv"
CARD = DATA / "model_card" / "README.md"
CARD_NUMBER = DATA / "model_card_number" / "README.md"
USER = DATA / "user_runs.csv"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _raises_unchanged(path: Path, match: str, **kw) -> InputError:
    """read_measurements(path) raises an InputError matching ``match`` and leaves the file as it was."""
    before, mtime = _sha(path), path.stat().st_mtime_ns
    listing = sorted(p.name for p in path.parent.iterdir())
    with pytest.raises(InputError, match=match) as info:
        read_measurements(path, **kw)
    assert _sha(path) == before and path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in path.parent.iterdir()) == listing  # no temporary or backup files
    return info.value


# ----------------------------------------------------------------------------- format detection


@pytest.mark.parametrize("path, fmt", [
    (CC, "codecarbon"), (DATA / "codecarbon_v1.csv", "codecarbon"),
    (DATA / "codecarbon_missing_energy.csv", "codecarbon"),
    (CARD, "model-card"), (CARD_NUMBER, "model-card"), (USER, "csv"),
])
def test_format_is_recognised_from_the_content(path, fmt):
    assert detect_format(path) == fmt


def test_format_detection_does_not_depend_on_the_file_name(tmp_path):
    shutil.copy(CC, tmp_path / "runs.txt")
    shutil.copy(CARD, tmp_path / "card.txt")
    assert detect_format(tmp_path / "runs.txt") == "codecarbon"
    assert detect_format(tmp_path / "card.txt") == "model-card"


def test_unrecognisable_file_names_its_columns_and_the_override(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("foo,bar\n1,2\n")
    e = _raises_unchanged(p, "cannot tell what this file is")
    assert "foo, bar" in str(e) and "--format" in str(e)


def test_format_override_and_unknown_format(tmp_path):
    assert read_measurements(USER, format="csv").attrs["format"] == "csv"
    with pytest.raises(InputError, match="use one of codecarbon, model-card, csv"):
        read_measurements(USER, format="excel")
    # forcing the wrong reader gives that reader's clear error, not a crash
    with pytest.raises(InputError, match="no 'duration' column"):
        read_measurements(USER, format="codecarbon")


# ----------------------------------------------------------------------------- CodeCarbon


def test_codecarbon_rows_have_the_right_units_hardware_location_and_provenance():
    raw = pd.read_csv(CC)
    rows = read_measurements(CC)
    assert rows.attrs["format"] == "codecarbon" and len(rows) == len(raw) == 4
    np.testing.assert_allclose(rows["device_hours"], raw["gpu_count"] * raw["duration"] / 3600)
    # the GPUs' own reading is fitted (scope gpu), not energy_consumed with CodeCarbon's RAM estimate in it
    np.testing.assert_allclose(rows["energy_mwh"], raw["gpu_energy"] / 1000)
    assert (rows["power_scope"] == "gpu").all()
    assert rows["decision_note"].str.contains("fitted scope: gpu, gpu_energy").all()
    np.testing.assert_allclose(rows["co2_t"], raw["emissions"] / 1000)
    np.testing.assert_allclose(rows["source_carbon_intensity"], raw["emissions"] / raw["energy_consumed"])
    r = rows.iloc[0]
    assert (r.hardware, r.n_devices, r.country, r.region, r.provider, r.year) == (
        "H100-SXM5", 8, "USA", "gcp:us-central1", "google", 2024)
    assert (r.energy_basis, r.power_scope, bool(r.pue_included)) == ("measured", "gpu", False)
    assert r.hardware_as_published == "8 x NVIDIA H100 80GB HBM3"
    assert r.source == "user measurement: CodeCarbon 2.3.4 codecarbon_emissions.csv row 2"
    assert f"energy_consumed={raw['energy_consumed'].astype(str)[0]}" in r.source_quote
    assert "emissions=" in r.source_quote
    assert r.run_id == "codecarbon-3f1c2a9e"
    assert rows["run_id"].is_unique
    check_fittable(rows)  # valid dataset rows, ready for CarbonModel.update


def test_codecarbon_pue_above_one_means_pue_is_inside_the_energy(tmp_path):
    df = pd.read_csv(CC, dtype=str, keep_default_na=False)
    df.loc[0, "pue"] = "1.2"
    p = tmp_path / "emissions.csv"
    df.to_csv(p, index=False)
    rows = read_measurements(p)
    assert bool(rows.loc[0, "pue_included"]) and rows.loc[0, "source_pue"] == pytest.approx(1.2)
    assert not bool(rows.loc[1, "pue_included"]) and np.isnan(rows.loc[1, "source_pue"])


def test_codecarbon_cumulative_snapshots_of_one_run_keep_the_longest(tmp_path):
    df = pd.read_csv(CC, dtype=str, keep_default_na=False)
    snap = df.iloc[[0]].copy()
    snap["duration"] = "1800.0"
    snap["energy_consumed"] = "1.26"
    p = tmp_path / "emissions.csv"
    pd.concat([snap, df]).to_csv(p, index=False)
    rows = read_measurements(p)
    assert len(rows) == 4
    first = rows[rows["run_id"] == "codecarbon-3f1c2a9e"].iloc[0]
    assert first["energy_mwh"] == pytest.approx(float(df.loc[0, "gpu_energy"]) / 1000)
    assert "rows [2] left out" in first["decision_note"]


def test_codecarbon_v1_needs_the_hardware_and_takes_it_as_facts():
    e = _raises_unchanged(DATA / "codecarbon_v1.csv", "no gpu_model/gpu_count columns")
    assert "--hardware" in e.fix and "--n-devices" in e.fix
    rows = read_measurements(DATA / "codecarbon_v1.csv", facts={"hardware": "V100", "n_devices": 4})
    r = rows.iloc[0]
    assert (r.hardware, r.n_devices, r.year, r.country) == ("V100-SXM2", 4, 2022, "USA")
    assert r.device_hours == pytest.approx(4 * 1653.8408570289612 / 3600)
    assert "version not recorded" in r.source
    check_fittable(rows)


def test_missing_energy_column_errors_clearly_and_leaves_the_file():
    e = _raises_unchanged(DATA / "codecarbon_missing_energy.csv", "energy_consumed")
    msg = str(e)
    assert "codecarbon_missing_energy.csv" in msg and "no 'energy_consumed' column" in msg and "kWh" in msg


def test_non_numeric_duration_names_file_row_column_and_fix():
    e = _raises_unchanged(DATA / "codecarbon_bad_duration.csv", "duration")
    assert e.field == "duration" and e.value == "2h30m"
    assert "row 3 of" in str(e) and "codecarbon_bad_duration.csv" in str(e)
    assert "must be a number in seconds" in e.fix


def test_unknown_gpu_model_names_it_the_row_and_suggests():
    e = _raises_unchanged(DATA / "codecarbon_unknown_gpu.csv", "gpu_model")
    assert e.value == "8 x NVIDIA H1000 Turbo"
    assert "row 3 of" in str(e)
    assert "did you mean" in e.fix and "H100-SXM5" in e.fix and "--hardware" in e.fix


@pytest.mark.parametrize("col, value, match", [
    ("duration", "-3600", "duration cannot be negative"),
    ("duration", "0", "must be greater than 0"),
    ("energy_consumed", "abc", "must be a number in kWh"),
    ("energy_consumed", "", "is empty"),
    ("emissions", "-1", "emissions cannot be negative"),
    ("pue", "0.8", "PUE must be at least 1"),
    ("timestamp", "yesterday", "not a date"),
])
def test_malformed_codecarbon_cells(tmp_path, col, value, match):
    df = pd.read_csv(CC, dtype=str, keep_default_na=False)
    df.loc[2, col] = value
    p = tmp_path / "emissions.csv"
    df.to_csv(p, index=False)
    e = _raises_unchanged(p, match)
    assert e.field == col and "row 4 of" in str(e)


def test_cpu_only_codecarbon_row_is_an_error_with_the_fix(tmp_path):
    df = pd.read_csv(CC, dtype=str, keep_default_na=False)
    df.loc[1, ["gpu_count", "gpu_model"]] = ["0", ""]
    p = tmp_path / "emissions.csv"
    df.to_csv(p, index=False)
    e = _raises_unchanged(p, "no GPU was recorded")
    assert "row 3 of" in str(e) and "--hardware" in e.fix


def test_empty_and_header_only_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    _raises_unchanged(empty, "the file is empty")
    header = tmp_path / "header.csv"
    header.write_text(CC.read_text().splitlines()[0] + "\n")
    _raises_unchanged(header, "only a header, no rows")


def test_missing_file():
    with pytest.raises(InputError, match="file not found"):
        read_measurements(DATA / "nope.csv")


# ----------------------------------------------------------------------------- model cards


def test_model_card_mapping_form():
    rows = read_measurements(CARD)
    assert rows.attrs["format"] == "model-card" and len(rows) == 1
    r = rows.iloc[0]
    assert r.co2_t == pytest.approx(7540.5 / 1e6)
    assert np.isnan(r.energy_mwh)
    assert (r.energy_basis, r.power_scope) == ("measured", "system")  # source: CodeCarbon
    assert (r.hardware, r.n_devices, r.country, r.scope) == ("A100-SXM4-40GB", 4, "CAN", "finetune")
    assert "model_card/README.md" in r.source and "source: CodeCarbon" in r.source
    assert "emissions: 7540.5" in r.source_quote


def test_model_card_number_form_is_grams_and_nominal():
    r = read_measurements(CARD_NUMBER).iloc[0]
    assert r.co2_t == pytest.approx(149.2 / 1e6)
    assert r.energy_basis == "tdp" and not bool(r.pue_included)
    assert r.hardware == ""


def test_model_card_needs_facts_to_be_fitted():
    rows = read_measurements(CARD)
    with pytest.raises(InputError, match=r"year.*--year"):
        check_fittable(rows)
    with pytest.raises(InputError, match=r"device_hours.*--device-hours"):
        check_fittable(read_measurements(CARD, facts={"year": 2023}))
    ok = check_fittable(read_measurements(CARD, facts={"year": 2023, "device_hours": 12}))
    assert ok.loc[0, "device_hours"] == 12 and ok.loc[0, "year"] == 2023
    with pytest.raises(InputError, match=r"hardware.*--hardware"):
        check_fittable(read_measurements(CARD_NUMBER, facts={"year": 2023, "device_hours": 12}))


@pytest.mark.parametrize(("card", "expected"), [
    (CARD, {"emissions": 7540.5, "source": "CodeCarbon", "training_type": "fine-tuning",
            "geographical_location": "Quebec, Canada", "hardware_used": "4 x A100 GPUs"}),
    (CARD_NUMBER, 149.2),
])
def test_card_parser_reads_the_fixture_cards(card, expected):
    lines = front_matter(card.read_text(), card)
    assert parse_co2_metadata(lines, card) == expected


@pytest.mark.parametrize(("block", "expected"), [
    ("co2_eq_emissions: {emissions: 12.5, source: 'ML CO2 Impact', hardware_used: '8 x V100'}",
     {"emissions": 12.5, "source": "ML CO2 Impact", "hardware_used": "8 x V100"}),
    ("co2_eq_emissions:\n  emissions: 1.2e+3\n  source: >-\n    from a scientific\n    article\n  hardware_used: \"1 x "
     "NVIDIA L40S\"", {"emissions": 1200.0, "source": "from a scientific article", "hardware_used": "1 x NVIDIA L40S"}),
    ("co2_eq_emissions:\n    emissions: 20  # grams\n    training_type: 'pre-training'\n    geographical_location: "
     "europe-north1", {"emissions": 20, "training_type": "pre-training", "geographical_location": "europe-north1"}),
    ("'co2_eq_emissions': 7", 7),
    ("defaults: &d {source: codecarbon}\nco2_eq_emissions:\n  <<: *d\n  emissions: 3", {"source": "codecarbon",
                                                                                         "emissions": 3}),
])
def test_card_parser_reads_every_yaml_form(block, expected):
    lines = ("license: mit\n" + block + "\ntags:\n- x").splitlines()
    assert parse_co2_metadata(lines) == expected


def test_card_yaml_that_cannot_be_parsed_names_the_line():
    with pytest.raises(InputError, match="cannot be parsed at front-matter line 3"):
        parse_co2_metadata(["license: mit", "co2_eq_emissions: {emissions: 3", "tags: [x"])


def test_card_hardware_and_location_forms(tmp_path):
    p = tmp_path / "README.md"
    p.write_text("---\nco2_eq_emissions:\n  emissions: 5000\n  hardware_used: 4 RTX3090 24GB GPUs\n"
                 "  geographical_location: europe-north1\n---\n")
    r = read_measurements(p).iloc[0]
    assert (r.hardware, r.n_devices, r.region, r.country, r.provider) == (
        "RTX-3090", 4, "gcp:europe-north1", "FIN", "google")
    assert (r.energy_basis, r.scope) == ("tdp", "final_pretraining")
    assert split_device_count("8 x NVIDIA A100-SXM4-80GB") == (8, "NVIDIA A100-SXM4-80GB")
    assert split_device_count("8 v100 GPUs") == (8, "v100")
    assert split_device_count("TPU v3-8") == (None, "TPU v3-8")


def test_card_without_the_field_or_front_matter(tmp_path):
    p = tmp_path / "README.md"
    p.write_text("---\nlicense: mit\ntags:\n- nlp\n---\n# card\n")
    e = _raises_unchanged(p, "no co2_eq_emissions")
    assert e.field == "co2_eq_emissions"
    p.write_text("# just a readme\n")
    _raises_unchanged(p, "no YAML front matter")
    p.write_text("---\nco2_eq_emissions:\n  emissions: lots\n---\n")
    _raises_unchanged(p, "must be a number of grams")
    p.write_text("---\nco2_eq_emissions: -4\n---\n")
    _raises_unchanged(p, "cannot be negative")


# ----------------------------------------------------------------------------- user CSV


def test_user_csv_rows_are_normalised():
    rows = read_measurements(USER)
    assert rows.attrs["format"] == "csv"
    assert list(rows["run_id"]) == ["lab-350m", "lab-1b", "lab-3b", "lab-7b"]
    assert set(rows["hardware"]) == {"H100-SXM5"} and set(rows["country"]) == {"DEU"}
    np.testing.assert_allclose(rows["energy_mwh"], rows["device_hours"] * 700 * 0.45 / 1e6, rtol=1e-5)
    assert not rows["pue_included"].any()
    assert rows.loc[1, "source"] == "user measurement: user_runs.csv row 3"
    assert rows.loc[1, "source_quote"] == "energy_mwh=0.504"
    check_fittable(rows)


def test_user_csv_scope_reads_the_contracts_spellings(tmp_path):
    """A user's scope is spelt as for estimate(): pretraining / finetune and their aliases, or aggregate."""
    p = tmp_path / "mine.csv"
    p.write_text("hardware,device_hours,year,energy_kwh,scope\n" + "".join(
        f"A100-80GB,1000,2023,250,{s}\n" for s in ("", "pretraining", "Fine-tune", "QLoRA", "final_pretraining",
                                                  "aggregate")))
    assert list(read_measurements(p)["scope"]) == ["final_pretraining", "final_pretraining", "finetune", "finetune",
                                                  "final_pretraining", "aggregate"]


def test_user_csv_units_flags_and_ids(tmp_path):
    p = tmp_path / "mine.csv"
    p.write_text("hardware,device_hours,year,energy_kwh,co2_kg,pue,pue_included,carbon_intensity\n"
                 "A100-80GB,1000,2023,250,100,1.3,yes,0.4\n")
    r = read_measurements(p).iloc[0]
    assert r.run_id == "mine-row2"
    assert r.energy_mwh == pytest.approx(0.25) and r.co2_t == pytest.approx(0.1)
    assert bool(r.pue_included) and r.source_pue == pytest.approx(1.3)
    assert r.source_carbon_intensity == pytest.approx(0.4)
    assert r.hardware == "A100-SXM4-80GB"


@pytest.mark.parametrize("text, match, where", [
    ("hardware,device_hours,year\nH100,10,2024\n", "no label column", None),
    ("hardware,device_hours,year,energy_mwh\nH100,10,2024,\n", "this run has no label", "row 2 of"),
    ("hardware,device_hours,year,energy_mwh\nH100,10,2024,1\nH100,10,2024,lots\n", "must be a number in MWh",
     "row 3 of"),
    ("hardware,device_hours,year,energy_mwh\nH100,10,2024,1\nH1000,10,2024,2\n", "did you mean", "row 3 of"),
    ("hardware,device_hours,year,energy_mwh\nH100,-10,2024,1\n", "greater than zero", "row 2 of"),
    ("hardware,device_hours,year,energy_mwh,pue_included\nH100,10,2024,1,maybe\n", "True or False", "row 2 of"),
    ("hardware,device_hours,year,energy_mwh,scope\nH100,10,2024,1,continued\n", "pretraining .default. or finetune",
     "row 2 of"),
])
def test_malformed_user_csv(tmp_path, text, match, where):
    p = tmp_path / "runs.csv"
    p.write_text(text)
    e = _raises_unchanged(p, match)
    if where:
        assert where in str(e) and "runs.csv" in str(e)


# ----------------------------------------------------------------------------- facts


def test_facts_fill_and_override_and_are_checked():
    rows = read_measurements(CC, facts={"architecture": "transformer", "parameters": "1.3B", "country": "FR"})
    assert set(rows["architecture"]) == {"dense_transformer"}
    assert set(rows["parameters"]) == {1.3e9}
    assert set(rows["country"]) == {"FRA"}  # a fact overrides the file
    assert all("facts given for every run" in n for n in rows["decision_note"])
    with pytest.raises(InputError, match="did you mean 'parameters'"):
        read_measurements(CC, facts={"paramters": 1e9})
    with pytest.raises(InputError, match="hardware"):
        read_measurements(CC, facts={"hardware": "H1000"})


# ----------------------------------------------------------------------------- per-user directory


def test_user_data_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("CARBON_BAYES_HOME", str(tmp_path / "cb"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert user_data_dir() == tmp_path / "cb"
    assert default_output_path("my-lab") == tmp_path / "cb" / "posterior-my-lab.nc"
    monkeypatch.delenv("CARBON_BAYES_HOME")
    assert user_data_dir() == tmp_path / "xdg" / "carbon_bayes"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_data_dir() == tmp_path / "home" / ".local" / "share" / "carbon_bayes"
    assert not (tmp_path / "cb").exists()  # nothing is created until a posterior is written


def test_user_data_dir_is_the_platforms_without_carbon_bayes_home(monkeypatch):
    import platformdirs

    monkeypatch.delenv("CARBON_BAYES_HOME", raising=False)
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda app, appauthor: f"/platform/{app}/{appauthor}")
    assert user_data_dir() == Path("/platform/carbon_bayes/False")


@pytest.mark.parametrize("bad", ["", "  ", "../up", "a b", "x" * 65, None])
def test_cluster_names_must_be_file_safe(bad):
    with pytest.raises(InputError, match="name your cluster"):
        check_cluster(bad)
    assert check_cluster(" my-lab.v2 ") == "my-lab.v2"
