"""Real files as people have them: every CodeCarbon column layout, spreadsheet dialects, bad rows.

Strict reading (the default for ``update``) lists every invalid row in one error; ``skip_invalid``
reads the valid rows and names each skipped row with its reason. The fitted energy scope is
said (the GPUs' own reading when CodeCarbon has one), node counts and fine-tunes are read, and
nothing carbon_bayes wrote itself is read back as a measurement.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbon_bayes import report as rp
from carbon_bayes.cli import main
from carbon_bayes.errors import InputError
from carbon_bayes.measurements import RowErrors, check_fittable, read_measurements, skipped_summary

DATA = Path(__file__).parent / "data"
CC = DATA / "codecarbon_emissions.csv"

# Headers of released CodeCarbon versions (column order as each version writes it).
LAYOUTS = {
    "1.x": "timestamp,experiment_id,project_name,duration,emissions,energy_consumed,country_name,country_iso_code,"
           "region,on_cloud,cloud_provider,cloud_region",
    "2.3": "timestamp,project_name,run_id,duration,emissions,emissions_rate,cpu_power,gpu_power,ram_power,cpu_energy,"
           "gpu_energy,ram_energy,energy_consumed,country_name,country_iso_code,region,cloud_provider,cloud_region,os,"
           "python_version,codecarbon_version,cpu_count,cpu_model,gpu_count,gpu_model,longitude,latitude,"
           "ram_total_size,tracking_mode,on_cloud,pue",
    "2.8": "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,gpu_power,"
           "ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,country_name,country_iso_code,region,"
           "cloud_provider,cloud_region,os,python_version,codecarbon_version,cpu_count,cpu_model,gpu_count,gpu_model,"
           "longitude,latitude,ram_total_size,tracking_mode,on_cloud,pue",
    "3.x": "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,gpu_power,"
           "ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,water_consumed,country_name,country_iso_code,"
           "region,cloud_provider,cloud_region,os,python_version,codecarbon_version,cpu_count,cpu_model,gpu_count,"
           "gpu_model,longitude,latitude,ram_total_size,tracking_mode,on_cloud,pue,wue,cpu_utilization_percent,"
           "gpu_utilization_percent,ram_utilization_percent,ram_used_gb",
}
ROW = {  # one tracked run: 1 RTX 3060 for 2 h; ram_energy is CodeCarbon's estimate from the memory size
    "timestamp": "2025-03-04T18:12:09", "experiment_id": "5b0fa12b-3dd7-45bb-9766-cc326314d9f1",
    "project_name": "bert-pretrain", "run_id": "845a8f50-28d2-41fe-865b-7445ba43b0ae", "duration": "7200.5",
    "emissions": "0.11", "emissions_rate": "1.5e-05", "cpu_power": "42.5", "gpu_power": "151.2", "ram_power": "11.9",
    "cpu_energy": "0.085", "gpu_energy": "0.302", "ram_energy": "0.212", "energy_consumed": "0.599",
    "water_consumed": "0.0", "country_name": "Germany", "country_iso_code": "DEU", "region": "hesse",
    "cloud_provider": "", "cloud_region": "", "os": "Linux", "python_version": "3.12", "codecarbon_version": "3.0.7",
    "cpu_count": "16", "cpu_model": "AMD Ryzen 9 5950X", "gpu_count": "1", "gpu_model": "1 x NVIDIA GeForce RTX 3060",
    "longitude": "8.6", "latitude": "50.1", "ram_total_size": "31.8", "tracking_mode": "machine", "on_cloud": "N",
    "pue": "1.0", "wue": "0.0", "cpu_utilization_percent": "35.1", "gpu_utilization_percent": "97.2",
    "ram_utilization_percent": "40.0", "ram_used_gb": "12.7",
}


def _write(tmp_path: Path, header: str, rows: list[dict], name: str = "emissions.csv", delimiter: str = ",",
           decimal: str = ".") -> Path:
    cols = header.split(",")
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([r.get(c, "").replace(".", decimal) if decimal != "." and _is_number(r.get(c, "")) else
                    r.get(c, "") for c in cols])
    p = tmp_path / name
    p.write_text(buf.getvalue(), encoding="utf-8")
    return p


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


# ------------------------------------------------------------------------------ every layout
@pytest.mark.parametrize("version", sorted(LAYOUTS))
def test_every_released_codecarbon_layout_reads_with_the_values_of_the_file(tmp_path, version):
    p = _write(tmp_path, LAYOUTS[version], [ROW])
    facts = {"hardware": "RTX 3060", "n_devices": 1} if version == "1.x" else None
    r = read_measurements(p, facts=facts).iloc[0]
    assert r.hardware == "RTX-3060" and r.n_devices == 1 and r.year == 2025 and r.country == "DEU"
    assert r.device_hours == pytest.approx(7200.5 / 3600)
    assert r.co2_t == pytest.approx(0.11 / 1000)
    if "gpu_energy" in LAYOUTS[version]:  # the GPUs' own reading, not the RAM estimate with it
        assert (r.energy_mwh, r.power_scope) == (pytest.approx(0.302 / 1000), "gpu")
        assert "ram_energy 0.212 kWh left out" in r.decision_note
    else:
        assert (r.energy_mwh, r.power_scope) == (pytest.approx(0.599 / 1000), "system")
        assert "fitted scope: system" in r.decision_note
    check_fittable(read_measurements(p, facts=facts))


def test_power_scope_system_fits_energy_consumed_and_says_so(tmp_path):
    p = _write(tmp_path, LAYOUTS["3.x"], [ROW])
    r = read_measurements(p, facts={"power_scope": "system"}).iloc[0]
    assert (r.energy_mwh, r.power_scope) == (pytest.approx(0.599 / 1000), "system")
    assert "of which ram_energy 0.212 kWh is CodeCarbon's estimate" in r.decision_note


def test_no_gpu_reading_falls_back_to_the_whole_figure_and_says_why(tmp_path):
    p = _write(tmp_path, LAYOUTS["3.x"], [{**ROW, "gpu_energy": "0"}])
    r = read_measurements(p).iloc[0]
    assert (r.energy_mwh, r.power_scope) == (pytest.approx(0.599 / 1000), "system")
    assert "no GPU reading" in r.decision_note
    with pytest.raises(InputError, match="power_scope gpu needs the GPUs' own energy reading"):
        read_measurements(p, facts={"power_scope": "gpu"})


def test_a_gpu_reading_above_the_total_is_a_corrupt_row(tmp_path):
    p = _write(tmp_path, LAYOUTS["3.x"], [{**ROW, "gpu_energy": "0.9"}])
    with pytest.raises(InputError, match="larger than energy_consumed"):
        read_measurements(p)


def test_n_nodes_multiplies_the_one_node_reading(tmp_path):
    p = _write(tmp_path, LAYOUTS["3.x"] + ",n_nodes", [{**ROW, "n_nodes": "4", "gpu_count": "8",
                                                       "gpu_model": "8 x NVIDIA H100 80GB HBM3"}])
    r = read_measurements(p).iloc[0]
    assert r.n_devices == 32 and r.device_hours == pytest.approx(32 * 7200.5 / 3600)
    assert r.energy_mwh == pytest.approx(4 * 0.302 / 1000) and r.co2_t == pytest.approx(4 * 0.11 / 1000)
    assert "4 nodes" in r.decision_note
    bad = _write(tmp_path, LAYOUTS["3.x"] + ",n_nodes", [{**ROW, "n_nodes": "2.5"}], name="b.csv")
    with pytest.raises(InputError, match="whole number of nodes"):
        read_measurements(bad)


@pytest.mark.parametrize(("project", "scope"), [
    ("llama-7b-finetune", "finetune"), ("bert-sft-run", "finetune"), ("mistral_LoRA_adapters", "finetune"),
    ("bert-pretrain", "final_pretraining"), ("Fine-tuning whisper", "finetune")])
def test_a_fine_tune_is_read_as_one_where_the_file_says_so(tmp_path, project, scope):
    p = _write(tmp_path, LAYOUTS["3.x"], [{**ROW, "project_name": project}])
    r = read_measurements(p).iloc[0]
    assert r.scope == scope
    assert ("read as a fine-tune" in r.decision_note) == (scope == "finetune")


# ------------------------------------------------------------------------------ dialects
def test_a_semicolon_file_with_decimal_commas_reads_as_the_comma_file(tmp_path):
    comma = read_measurements(_write(tmp_path, LAYOUTS["3.x"], [ROW], name="a.csv"))
    semi = read_measurements(_write(tmp_path, LAYOUTS["3.x"], [ROW], name="b.csv", delimiter=";", decimal=","))
    assert semi.attrs["dialect"] == "';' between columns, decimal commas"
    for col in ("energy_mwh", "co2_t", "device_hours", "n_devices"):
        assert semi[col].iloc[0] == pytest.approx(comma[col].iloc[0]), col
    assert semi["hardware"].iloc[0] == "RTX-3060"


def test_a_header_that_could_be_either_dialect_is_refused(tmp_path):
    p = tmp_path / "runs.csv"
    p.write_text("a,b;c\n1,2;3\n")
    with pytest.raises(InputError, match="cannot tell the delimiter"):
        read_measurements(p)


def test_a_quoted_decimal_comma_in_a_comma_file_is_refused_with_the_fix(tmp_path):
    p = _write(tmp_path, LAYOUTS["3.x"], [{**ROW, "energy_consumed": "0,599"}])
    with pytest.raises(InputError, match=r"a decimal comma\? write 0\.599"):
        read_measurements(p)


def test_duplicate_column_names_are_refused(tmp_path):
    p = tmp_path / "emissions.csv"
    p.write_text(CC.read_text().replace("gpu_power", "energy_consumed", 1))
    with pytest.raises(InputError, match=r"duplicate column name\(s\) \['energy_consumed'\]"):
        read_measurements(p)


# ------------------------------------------------------------------------------ strict and tolerant
def _bad_file(tmp_path: Path) -> Path:
    rows = [ROW, {**ROW, "run_id": "r2", "energy_consumed": "", "gpu_energy": ""},  # an empty row
            {**ROW, "run_id": "r3", "duration": "0.5", "energy_consumed": "1e-06", "gpu_energy": "5e-07"},  # tiny
            {**ROW, "run_id": "r4", "gpu_model": "1 x NVIDIA GeForce RTX 9999"},  # unknown GPU
            {**ROW, "run_id": "r5"}]
    return _write(tmp_path, LAYOUTS["3.x"], rows)


def test_strict_lists_every_invalid_row_at_once(tmp_path):
    with pytest.raises(RowErrors) as info:
        read_measurements(_bad_file(tmp_path))
    err = info.value
    assert isinstance(err, InputError) and len(err.errors) == 3
    text = str(err)
    assert "3 of 5 row(s) cannot be read" in text
    for line, col in ((3, "energy_consumed"), (4, "energy_consumed"), (5, "gpu_model")):
        assert f"{col}=" in text and f"(row {line} of " in text
    assert "--skip-invalid" in text


def test_skip_invalid_reads_the_valid_rows_and_names_each_skipped_one(tmp_path):
    rows = read_measurements(_bad_file(tmp_path), skip_invalid=True)
    assert len(rows) == 2 and rows["energy_mwh"].tolist() == pytest.approx([0.302e-3, 0.302e-3])
    skipped = rows.attrs["skipped"]
    assert [s["field"] for s in skipped] == ["energy_consumed", "energy_consumed", "gpu_model"]
    assert skipped[2]["value"] == "1 x NVIDIA GeForce RTX 9999"
    summary = skipped_summary(rows)
    assert summary.startswith("skipped 3 row(s) of ") and summary.count("\n  row ") == 3
    assert "is empty" in summary and "too small to be a training run" in summary


def test_a_row_with_the_wrong_number_of_fields_is_named_and_skippable(tmp_path):
    p = _write(tmp_path, LAYOUTS["2.3"], [ROW, ROW])
    lines = p.read_text().splitlines()
    lines[2] = lines[2] + ",extra"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"fields=\d+ \(row 3 of .*the header has 31 columns"):
        read_measurements(p)
    assert len(read_measurements(p, skip_invalid=True)) == 1


def test_a_file_with_no_valid_row_is_an_error_even_when_skipping(tmp_path):
    p = _write(tmp_path, LAYOUTS["3.x"], [{**ROW, "energy_consumed": ""}, {**ROW, "energy_consumed": "x"}])
    with pytest.raises(InputError, match="no valid run in the file"):
        read_measurements(p, skip_invalid=True)


def test_user_csv_skips_a_bad_row_and_keeps_the_others(tmp_path):
    text = (DATA / "user_runs.csv").read_text().splitlines()
    text[2] = text[2].replace("H100", "H1000 Turbo")
    p = tmp_path / "runs.csv"
    p.write_text("\n".join(text) + "\n")
    with pytest.raises(InputError, match=r"row 3 of"):
        read_measurements(p)
    rows = read_measurements(p, skip_invalid=True)
    assert len(rows) == len(text) - 2 and "lab-1b" not in set(rows["run_id"])
    assert rows.attrs["skipped"][0]["field"] == "hardware"


def test_check_fittable_lists_every_unfittable_run_or_skips_them(tmp_path):
    undated = [{**ROW, "run_id": rid, "timestamp": ""} for rid in ("a", "b")]
    p = _write(tmp_path, LAYOUTS["3.x"], [*undated, ROW])
    rows = read_measurements(p)
    with pytest.raises(RowErrors) as info:
        check_fittable(rows)
    assert len(info.value.errors) == 2 and all(e.field == "year" for e in info.value.errors)
    kept = check_fittable(rows, skip_invalid=True)
    assert len(kept) == 1 and len(kept.attrs["skipped"]) == 2


def test_cli_update_dry_run_prints_the_skipped_rows_in_one_summary(tmp_path, capsys):
    code = main(["update", "--measurements", str(_bad_file(tmp_path)), "--dry-run", "--skip-invalid"])
    err = capsys.readouterr().err
    assert code == 0
    assert "read 2 run(s)" in err and "skipped 3 row(s)" in err
    assert err.count("\n  row ") == 3


# ------------------------------------------------------------------------------ own output
def test_a_card_block_carbon_bayes_wrote_is_never_read_back_as_a_measurement(tmp_path):
    block = rp.report({"parameters": 1e9, "training_tokens": 2e10, "hardware": "A100", "n_devices": 8,
                       "year": 2024, "country": "FR"}, format="hf-card")
    assert "estimate, not a measurement" in block
    card = tmp_path / "m" / "README.md"
    card.parent.mkdir()
    card.write_text("---\nlicense: mit\n" + block + "---\n# a model\n")
    with pytest.raises(InputError, match="written by carbon_bayes"):
        read_measurements(card)


def test_an_estimate_table_is_never_read_back_as_measurements(tmp_path):
    p = tmp_path / "estimates.csv"
    pd.DataFrame({"run_id": ["a"], "hardware": ["A100"], "energy_mwh_median": [1.0],
                  "co2_t_median": [0.3]}).to_csv(p, index=False)
    with pytest.raises(InputError, match="carbon_bayes's own estimate output"):
        read_measurements(p, format="csv")


def test_estimates_flag_decimal_commas_in_the_api(tmp_path):
    import carbon_bayes as cb

    with pytest.raises(InputError, match=r"not a thousands separator.*1234\.5"):
        cb.estimate({"hardware": "A100", "n_devices": 8, "device_hours": "1234,5", "year": 2024})
    thousands = cb.estimate({"hardware": "A100", "n_devices": 8, "device_hours": "1,234", "year": 2024}, seed=1)
    plain = cb.estimate({"hardware": "A100", "n_devices": 8, "device_hours": 1234, "year": 2024}, seed=1)
    assert np.allclose(thousands.to_frame()["energy_mwh_median"], plain.to_frame()["energy_mwh_median"])


def test_energy_against_hours_and_devices_is_checked(tmp_path):
    # 1 RTX 3060 (170 W) for 2 h drawing 3.4 kWh on its own: 2,400 W per GPU is not possible
    p = _write(tmp_path, LAYOUTS["3.x"], [{**ROW, "gpu_energy": "4.8", "energy_consumed": "5.0"}])
    with pytest.raises(InputError, match=r"gpu_energy=.*2,400 W per device, 14.1x the RTX-3060 TDP of 170 W"):
        read_measurements(p)
    # 1 W per GPU over two hours: read, with a note
    low = _write(tmp_path, LAYOUTS["3.x"], [{**ROW, "gpu_energy": "0.002", "energy_consumed": "0.3"}], name="l.csv")
    assert "implausibly low" in read_measurements(low)["decision_note"].iloc[0]


def test_a_user_csv_label_against_its_hours_is_checked(tmp_path):
    text = (DATA / "user_runs.csv").read_text().splitlines()
    text[1] = text[1].replace(",0.08064,", ",80.64,")  # 80.64 MWh for 256 H100-hours: 315 kW per GPU
    p = tmp_path / "runs.csv"
    p.write_text("\n".join(text) + "\n")
    with pytest.raises(InputError, match=r"energy_mwh=.*W per device.*the H100-SXM5 TDP of 700 W"):
        read_measurements(p)


# ------------------------------------------------------------------------------ physical consistency in every reader
def _csv(tmp_path, text, name="runs.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_co2_against_energy_beyond_any_grid_is_an_error_naming_the_column(tmp_path):
    # 5 t from 1 MWh is 5 kg/kWh: no grid emits that (a t-for-kg slip); 0.4 t is a normal grid
    head = "hardware,device_hours,year,energy_mwh,co2_t\n"
    with pytest.raises(InputError, match=r"5 kg CO2e/kWh, more than any grid") as e:
        read_measurements(_csv(tmp_path, head + "H100,2000,2024,1,5\n"))
    assert e.value.field == "co2_t" and str(e.value.row).startswith("2 of")
    ok = read_measurements(_csv(tmp_path, head + "H100,2000,2024,1,0.4\n", "ok.csv"))
    assert ok.loc[0, "co2_t"] == pytest.approx(0.4) and "kg CO2e/kWh" not in ok.loc[0, "decision_note"]
    with pytest.raises(InputError) as kg:
        read_measurements(_csv(tmp_path, "hardware,device_hours,year,energy_kwh,co2_kg\nH100,2000,2024,1000,5000\n",
                               "kg.csv"))
    assert kg.value.field == "co2_kg"


@pytest.mark.parametrize(("co2_t", "says"), [(1.5, "unusually high"), (0.0, "market-based")])
def test_a_high_or_zero_intensity_is_read_with_a_note(tmp_path, co2_t, says):
    rows = read_measurements(_csv(tmp_path, f"hardware,device_hours,year,energy_mwh,co2_t\nH100,2000,2024,1,{co2_t}\n"))
    assert rows.loc[0, "co2_t"] == co2_t and says in rows.loc[0, "decision_note"]


def test_co2_without_energy_is_checked_against_hours_and_devices(tmp_path):
    # 10 H100-hours at 5 x 700 W on a 2.5 kg/kWh grid emit at most 0.0875 t; 1 t is impossible, 0.01 t is not
    head = "hardware,device_hours,year,co2_t\n"
    with pytest.raises(InputError, match=r"more than 10 H100-SXM5 device-hours can emit \(0.0875 t"):
        read_measurements(_csv(tmp_path, head + "H100,10,2024,1\n"))
    assert read_measurements(_csv(tmp_path, head + "H100,10,2024,0.01\n", "ok.csv")).loc[0, "co2_t"] == 0.01


def test_codecarbon_emissions_beyond_any_grid_is_an_error(tmp_path):
    text = CC.read_text().splitlines()
    header = text[0].split(",")
    cells = next(csv.reader([text[1]]))
    cells[header.index("emissions")] = str(float(cells[header.index("energy_consumed")]) * 3.0)  # 3 kg/kWh
    path = tmp_path / "emissions.csv"
    path.write_text(text[0] + "\n" + ",".join(cells) + "\n")
    with pytest.raises(InputError, match="more than any grid") as e:
        read_measurements(path)
    assert e.value.field == "emissions"


def test_facts_that_make_a_run_impossible_are_named(tmp_path):
    with pytest.raises(InputError, match=r"more compute than the devices can do.*training_flops=1e\+25 given"):
        read_measurements(CC, facts={"training_flops": 1e25})
    with pytest.raises(InputError, match=r"W per device.*device_hours=0.001, hardware=A100-SXM4-40GB given") as e:
        read_measurements(CC, facts={"hardware": "A100", "device_hours": 1e-3})
    assert e.value.field == "energy_mwh"
    card = DATA / "model_card" / "README.md"
    with pytest.raises(InputError, match="device-hours can emit"):
        read_measurements(card, facts={"hardware": "T4", "device_hours": 1e-3})
    assert read_measurements(card, facts={"hardware": "T4", "device_hours": 1e4}).loc[0, "hardware"] == "T4"


# ------------------------------------------------------------------------------ a real log (docs/reading.md)
REAL = Path(__file__).parents[1] / "docs" / "examples" / "fedhenet_emissions.csv"


def test_a_real_codecarbon_3_log_reads_with_the_values_in_the_file():
    cells = list(csv.DictReader(io.StringIO(REAL.read_text())))
    rows = read_measurements(REAL)
    assert len(rows) == len(cells) == 14 and rows.attrs["format"] == "codecarbon"
    for row, cell in zip(rows.itertuples(), cells, strict=True):
        assert row.run_id == f"codecarbon-{cell['run_id'][:8]}"
        assert row.hardware == "RTX-3080TI" and row.n_devices == 1 and row.country == "ESP" and row.year == 2025
        assert row.device_hours == pytest.approx(float(cell["duration"]) / 3600, rel=1e-12)
        assert row.energy_mwh == pytest.approx(float(cell["gpu_energy"]) / 1000, rel=1e-12)  # the GPU's reading
        assert row.co2_t == pytest.approx(float(cell["emissions"]) / 1000, rel=1e-12)
        assert row.power_scope == "gpu" and row.energy_basis == "measured" and not row.pue_included
        assert "ram_energy" in row.decision_note and "left out" in row.decision_note


def test_excel_sep_line_names_the_delimiter_of_a_measurement_file(tmp_path):
    text = "sep=;\nhardware;device_hours;year;energy_mwh\nH100;2000;2024;0,9\n"
    rows = read_measurements(_csv(tmp_path, text))
    assert rows.loc[0, "energy_mwh"] == 0.9 and rows.loc[0, "device_hours"] == 2000
    assert "sep= line" in rows.attrs["dialect"]
    with pytest.raises(InputError) as e:  # the rows are still counted from the header (row 1)
        read_measurements(_csv(tmp_path, text + "H100;-5;2024;1\n", "bad.csv"))
    assert str(e.value.row).startswith("3 of")
