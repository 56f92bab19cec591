"""Bad input and bad files: a clear error (field, value, fix) or correct handling, never a traceback.

Hours against compute, decimal commas and semicolon CSVs, spreadsheet formulas in output CSVs,
draws and seeds, output paths (directories, devices, links, paths under a file), broken pipes,
forecasts far off plan, and saved posteriors that were edited, truncated or come from the future.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import carbon_bayes as cb
from carbon_bayes.cli import main
from carbon_bayes.errors import InputError, PosteriorFileError
from carbon_bayes.forecast import forecast
from carbon_bayes.posterior import load_posterior, posterior_from_tree
from carbon_bayes.resources import default_posterior_path
from carbon_bayes.safeio import atomic_write, check_output_path, escape_formulas, file_lock, remove_stale_temps

RUN = ["--hardware", "A100", "--n-devices", "8", "--device-hours", "1000", "--year", "2024"]


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


# ------------------------------------------------------------------------------ hours against compute
@pytest.mark.parametrize(("hours", "flops", "says"), [
    (1e-2, 8e22, "more compute than the devices can do"),  # was 5e-9 MWh without a word (at 1e-5 h)
    (1e9, 1e19, "hours for a far larger compute"),  # was 376,576 MWh
])
def test_hours_that_contradict_the_compute_are_an_error_with_the_numbers(hours, flops, says):
    with pytest.raises(InputError, match=says) as info:
        cb.estimate({"hardware": "A100", "n_devices": 8, "device_hours": hours, "training_flops": flops, "year": 2024})
    assert info.value.field == "device_hours" and "of the dense peak of A100-SXM4-40GB (312 TFLOP/s)" in str(info.value)


def test_hours_near_the_edge_of_the_band_are_a_warning():
    # 8e21 FLOP in 1e4 A100-hours is 0.71 of peak: fine; in 8e3 hours it is 0.89: a warning
    ok = cb.estimate({"hardware": "A100", "device_hours": 1e4, "training_flops": 8e21, "year": 2024}).to_frame()
    edge = cb.estimate({"hardware": "A100", "device_hours": 8e3, "training_flops": 8e21, "year": 2024}).to_frame()
    assert "dense peak" not in ok["warnings"].iloc[0]
    assert "0.89 of the dense peak" in edge["warnings"].iloc[0] and "outside the usual" in edge["warnings"].iloc[0]


def test_an_unknown_chip_is_checked_against_the_fastest_known():
    with pytest.raises(InputError, match="the fastest chip known"):
        cb.estimate({"device_hours": 1e-3, "training_flops": 1e24, "year": 2024})


# ------------------------------------------------------------------------------ CSV dialects of --input
def test_estimate_input_reads_a_semicolon_csv_with_decimal_commas(tmp_path, capsys):
    semi = tmp_path / "semi.csv"
    semi.write_text("hardware;n_devices;device_hours;year\nA100;8;1000,5;2024\n")
    comma = tmp_path / "comma.csv"
    comma.write_text("hardware,n_devices,device_hours,year\nA100,8,1000.5,2024\n")
    code, out_semi, _ = _cli(capsys, "estimate", "--input", str(semi), "--format", "csv")
    assert code == 0
    _, out_comma, _ = _cli(capsys, "estimate", "--input", str(comma), "--format", "csv")
    assert out_semi == out_comma  # not one unknown column and a metadata-only answer


def test_estimate_input_refuses_an_ambiguous_or_duplicated_header(tmp_path, capsys):
    amb = tmp_path / "amb.csv"
    amb.write_text("hardware;n_devices,year\nA100;8,2024\n")
    code, _, err = _cli(capsys, "estimate", "--input", str(amb))
    assert code == 2 and "cannot tell the delimiter" in err
    dup = tmp_path / "dup.csv"
    dup.write_text("hardware,year,year\nA100,2024,2023\n")
    code, _, err = _cli(capsys, "estimate", "--input", str(dup))
    assert code == 2 and "duplicate column name(s) ['year']" in err


def test_a_decimal_comma_is_never_read_as_a_thousands_separator():
    with pytest.raises(InputError, match=r"for a decimal write a point, e\.g\. 1234\.5"):
        cb.estimate({"hardware": "A100", "device_hours": "1234,5", "year": 2024})


# ------------------------------------------------------------------------------ writing
def test_output_csvs_escape_cells_a_spreadsheet_would_run(tmp_path, capsys):
    out = tmp_path / "est.csv"
    code, _, _ = _cli(capsys, "estimate", *RUN, "--run-id", "=HYPERLINK(\"http://x\")", "--output", str(out))
    assert code == 0
    cell = pd.read_csv(out, keep_default_na=False)["run_id"].iloc[0]
    assert cell == "'=HYPERLINK(\"http://x\")"
    frame = pd.DataFrame({"a": ["+1+1", "@SUM(A1)", "-2", "-x", "ok"], "b": [1.0, -2.0, 3.0, 4.0, 5.0]})
    assert escape_formulas(frame)["a"].tolist() == ["'+1+1", "'@SUM(A1)", "-2", "'-x", "ok"]
    assert escape_formulas(frame)["b"].tolist() == [1.0, -2.0, 3.0, 4.0, 5.0]


def test_output_refuses_a_directory_a_path_under_a_file_and_a_symlink(tmp_path, capsys):
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("x")
    target = tmp_path / "target.csv"
    target.write_text("keep me\n")
    (tmp_path / "link.csv").symlink_to(target)
    for path, says in ((tmp_path / "d", "is a directory"), (tmp_path / "f" / "x.csv", "is a file, so nothing"),
                       (tmp_path / "link.csv", "is a symbolic link")):
        code, _, err = _cli(capsys, "estimate", *RUN, "--output", str(path))
        assert code == 2 and says in err and err.count("\n") == 1, err
    assert target.read_text() == "keep me\n" and (tmp_path / "link.csv").is_symlink()


def test_output_refuses_devices_and_pipes_without_touching_them(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path in (fifo, Path(os.devnull)):
        with pytest.raises(InputError, match="device, pipe or socket"):
            check_output_path(path)
    assert Path(os.devnull).is_char_device()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_output_refuses_an_unwritable_directory(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(InputError, match="is not writable"):
            check_output_path(ro / "x.csv")
    finally:
        ro.chmod(0o755)


def test_replacing_a_file_keeps_its_permissions_and_leaves_no_temporary_file(tmp_path):
    out = tmp_path / "est.csv"
    out.write_text("old\n")
    out.chmod(0o640)
    atomic_write(out, lambda tmp: Path(tmp).write_text("new\n"))
    assert out.read_text() == "new\n" and (out.stat().st_mode & 0o777) == 0o640
    with pytest.raises(RuntimeError):
        atomic_write(out, lambda tmp: (Path(tmp).write_text("half"), (_ for _ in ()).throw(RuntimeError("x"))))
    assert out.read_text() == "new\n" and sorted(p.name for p in tmp_path.iterdir()) == ["est.csv"]


def test_a_second_writer_waits_for_the_lock_or_fails_clearly(tmp_path):
    target = tmp_path / "posterior-user.nc"
    order = []

    def hold():
        with file_lock(target):
            order.append("first in")
            time.sleep(0.6)
            order.append("first out")

    t = threading.Thread(target=hold)
    t.start()
    time.sleep(0.2)
    with pytest.raises(InputError, match="another carbon_bayes process is writing this file"):
        with file_lock(target, timeout=0.1):
            pass
    with file_lock(target, timeout=5):
        order.append("second in")
    t.join()
    assert order == ["first in", "first out", "second in"]


def test_the_lock_file_goes_with_the_lock_and_contending_writers_lose_nothing(tmp_path):
    # read-modify-write of a counter by 6 writers x 5 times: with the lock file removed at each
    # release (and re-created by the next writer), no two writers may ever hold the lock at once
    target = tmp_path / "posterior-user.nc"
    target.write_text("0")
    inside, overlaps = [], []

    def writer():
        for _ in range(5):
            with file_lock(target, timeout=30):
                inside.append(1)
                overlaps.append(len(inside) > 1)  # two writers holding the lock at once
                n = int(target.read_text())
                time.sleep(0.005)
                target.write_text(str(n + 1))
                inside.pop()

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert target.read_text() == "30" and len(overlaps) == 30 and not any(overlaps)
    assert not (tmp_path / ".posterior-user.nc.lock").exists()
    (tmp_path / ".posterior-user.nc.lock").write_text("")  # left by a killed writer: the next one removes it
    with file_lock(target):
        pass
    assert sorted(x.name for x in tmp_path.iterdir()) == ["posterior-user.nc"]


def test_stale_temporary_files_of_a_killed_write_are_removed(tmp_path):
    target = tmp_path / "posterior-user.nc"
    left = tmp_path / ".posterior-user.nc.abc123.tmp"
    left.write_bytes(b"half a posterior")
    other = tmp_path / ".other.nc.abc.tmp"
    other.write_bytes(b"")
    assert remove_stale_temps(target) == [left]
    assert not left.exists() and other.exists()


def test_update_refuses_to_overwrite_a_result_written_while_it_waited(tmp_path, monkeypatch):
    """Two updates of one file: the second must not silently replace the first's result."""
    from carbon_bayes import measurements as ms

    out = tmp_path / "posterior-user.nc"
    calls = []

    def fake_update(self, rows, **kw):  # the fit itself is tested elsewhere; here only the lock protocol
        calls.append("update")

    monkeypatch.setattr("carbon_bayes.fitting.CarbonModel.update", fake_update)
    stamps = iter([None, (1, 2, 3)])  # absent when the update starts, written by another update meanwhile
    monkeypatch.setattr(ms, "_stamp", lambda p: next(stamps))
    rows = ms.read_measurements(Path(__file__).parent / "data" / "user_runs.csv")
    with pytest.raises(InputError, match="another update wrote this file while this one waited"):
        ms.update_from_measurements(rows, out=out)
    assert calls == []


# ------------------------------------------------------------------------------ CLI
def test_data_into_head_ends_quietly():
    cmd = (f"{sys.executable} -m carbon_bayes data --format csv | head -n 1")
    res = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert res.stdout.startswith("run_id,")
    assert "Traceback" not in res.stderr and "BrokenPipe" not in res.stderr, res.stderr


def test_the_countries_the_error_points_to_are_listed(capsys):
    with pytest.raises(InputError, match="carbon-bayes data --countries"):
        cb.estimate({"hardware": "A100", "device_hours": 10, "year": 2024, "country": "Narnia"})
    code, out, _ = _cli(capsys, "data", "--countries", "--format", "csv")
    table = pd.read_csv(__import__("io").StringIO(out), keep_default_na=False)
    assert code == 0 and {"USA", "DEU", "NAM"} <= set(table["iso3"]) and "NA" in set(table["iso2"])


@pytest.mark.parametrize(("flag", "value"), [("--n-draws", "0"), ("--n-draws", "1"), ("--n-draws", "-5"),
                                             ("--seed", "-1")])
def test_draws_and_seeds_are_validated(capsys, flag, value):
    code, _, err = _cli(capsys, "estimate", *RUN, flag, value)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1


def test_a_negative_chunk_size_is_refused():
    from carbon_bayes.estimator import plan

    inputs = cb.schema.normalise_runs([{"hardware": "A100", "device_hours": 10, "year": 2024}])
    with pytest.raises(InputError, match="chunk_size"):
        plan(inputs, chunk_size=-3)


# ------------------------------------------------------------------------------ forecast far off plan
def test_a_measurement_far_above_plan_is_not_clamped_to_the_energy_used():
    run = {"hardware": "H100", "n_devices": 256, "device_hours": 2e5, "year": 2024, "parameters": 7e9,
           "training_tokens": 2e12, "country": "US"}
    plan_median = cb.estimate(run).to_frame()["energy_mwh_median"].iloc[0]
    used = 0.3 * 100 * plan_median  # 100 x the plan after 30% of the run
    fc = forecast(run, energy_so_far_mwh=used, fraction_done=0.3)
    assert fc.energy_mwh["lower"] > used and fc.energy_mwh["median"] > used * 1.02
    assert fc.energy_mwh["upper"] > fc.energy_mwh["lower"] * 1.05  # an interval, not a point at the energy used
    assert any("sd from what the run's description implies" in n for n in fc.notes)


# ------------------------------------------------------------------------------ saved posteriors
@pytest.fixture(scope="module")
def shipped_tree():
    with xr.open_datatree(default_posterior_path(), engine="h5netcdf") as t:
        return t.load()


def _edited(tree: xr.DataTree, **attrs) -> xr.DataTree:
    out = tree.copy(deep=True)
    out.attrs = {**tree.attrs, **attrs}
    return out


@pytest.mark.parametrize(("attrs", "says"), [
    ({"format_version": "one"}, "format_version 'one' is not a number"),
    ({"format_version": 99}, r"written by a newer carbon_bayes \(file format 99"),
    ({"carbon_bayes_version": "99.0.0"}, "written by carbon_bayes 99.0.0, newer than the installed"),
    ({"data_sha256": "0" * 64}, "do not match its data_sha256"),
])
def test_a_posterior_with_edited_provenance_is_refused(shipped_tree, attrs, says):
    with pytest.raises(PosteriorFileError, match=says):
        posterior_from_tree(_edited(shipped_tree, **attrs))


def test_a_shifted_variable_is_refused_not_turned_into_1e15_mwh(shipped_tree):
    tree = shipped_tree.copy(deep=True)
    post = tree["posterior"].to_dataset()
    post["compute_offset"] = post["compute_offset"] + 60
    tree["posterior"] = xr.DataTree(post)
    with pytest.raises(PosteriorFileError, match="compute_offset has draws up to 6"):
        posterior_from_tree(tree)


def test_a_scale_is_refused_when_negative_but_may_be_large(shipped_tree):
    """A scale may be large but never negative.

    A scale of a level no figure informs carries its heavy-tailed prior: a validation fold's operator
    spread can reach tens on the log scale.
    """
    tree = shipped_tree.copy(deep=True)
    post = tree["posterior"].to_dataset()
    post["intensity_spread"] = post["intensity_spread"] * 0 + 60.0
    tree["posterior"] = xr.DataTree(post)
    tree.attrs = {k: v for k, v in tree.attrs.items() if k != "content_sha256"}  # as a fold's in-memory posterior
    assert posterior_from_tree(tree).draws["intensity_spread"].max() == 60.0
    post["intensity_spread"] = post["intensity_spread"] * 0 - 0.1
    tree["posterior"] = xr.DataTree(post)
    with pytest.raises(PosteriorFileError, match="intensity_spread has a negative draw"):
        posterior_from_tree(tree)


def test_a_content_hash_catches_any_change_of_the_draws(tmp_path, shipped_tree):
    from carbon_bayes.posterior import build_posterior_tree, content_sha256

    p = load_posterior()
    rebuilt = build_posterior_tree(shipped_tree, fit_rows=p.fit_data(), model_config=p.model_config,
                                   sampler_config=p.sampler_config, convergence=p.convergence,
                                   data_sha256=p.attrs["data_sha256"], priors_sha256=p.attrs["priors_sha256"])
    assert rebuilt.attrs["content_sha256"] == content_sha256(rebuilt["posterior"].to_dataset())
    posterior_from_tree(rebuilt)  # consistent: loads
    post = rebuilt["posterior"].to_dataset()
    post["compute_offset"] = post["compute_offset"] + 30  # inside the coarse bounds: only the hash sees it
    rebuilt["posterior"] = xr.DataTree(post)
    with pytest.raises(PosteriorFileError, match="do not match the file's content hash"):
        posterior_from_tree(rebuilt)


def test_a_posterior_with_too_few_draws_is_refused(shipped_tree):
    tree = shipped_tree.copy(deep=True)
    tree["posterior"] = xr.DataTree(tree["posterior"].to_dataset().isel(draw=slice(0, 0)))
    with pytest.raises(PosteriorFileError, match="0 posterior draws; at least 20"):
        posterior_from_tree(tree)


def test_a_saved_posterior_round_trips_with_its_content_hash(tmp_path, shipped_tree):
    from carbon_bayes.posterior import save_posterior

    p = load_posterior()
    out = save_posterior(shipped_tree, tmp_path / "copy.nc", fit_rows=p.fit_data(), model_config=p.model_config,
                         sampler_config=p.sampler_config, convergence=p.convergence,
                         data_sha256=p.attrs["data_sha256"], priors_sha256=p.attrs["priors_sha256"], thin=10)
    q = load_posterior(out)
    assert q.n_draws == p.n_draws // 10 and len(q.attrs["content_sha256"]) == 64
    expected = shipped_tree["posterior"]["u_intercept"].values[:, ::10].reshape(-1)
    assert np.allclose(q.draws["u_intercept"], expected, atol=1e-6)
    shutil.copy(out, tmp_path / "again.nc")
    assert load_posterior(tmp_path / "again.nc").attrs["content_sha256"] == q.attrs["content_sha256"]


def test_a_killed_update_exits_cleanly_and_leaves_no_temporary_file(tmp_path):
    """SIGTERM becomes SystemExit (so PyMC stops its chain processes); an interrupted write removes its temp file."""
    import signal

    from carbon_bayes.cli.cmd_update import _exit_cleanly_on_sigterm

    old = signal.getsignal(signal.SIGTERM)
    try:
        _exit_cleanly_on_sigterm()
        out = tmp_path / "posterior-user.nc"

        def killed_while_writing(tmp):
            Path(tmp).write_bytes(b"half a posterior")
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the signal arrives before this ends

        with pytest.raises(SystemExit) as info:
            atomic_write(out, killed_while_writing)
        assert info.value.code == 128 + signal.SIGTERM
        assert list(tmp_path.iterdir()) == []
    finally:
        signal.signal(signal.SIGTERM, old)


# ------------------------------------------------------------------------------ rows counted one way
def test_a_bad_row_has_the_same_number_in_the_api_the_cli_and_the_readers(tmp_path, capsys):
    # the third run is bad: a spreadsheet shows it in row 4 (header = row 1); a blank line is not counted
    text = "hardware,device_hours,year,energy_mwh\nH100,10,2024,0.005\nH100,10,2024,0.005\n\nH1000,10,2024,0.005\n"
    path = tmp_path / "runs.csv"
    path.write_text(text)
    frame = pd.read_csv(path)
    with pytest.raises(InputError) as api:
        cb.estimate(frame.drop(columns="energy_mwh"))
    code, _, err = _cli(capsys, "estimate", "--input", str(path))
    with pytest.raises(InputError) as reader:
        cb.read_measurements(path)
    assert code == 2
    assert str(api.value.row).startswith("4") and "(row 4" in err and str(reader.value.row).startswith("4 of")


def test_a_decimal_comma_is_read_in_number_columns_only(tmp_path):
    # a semicolon file with decimal commas: 1000,5 hours is 1000.5; the model named "3,5" keeps its name
    semi = tmp_path / "semi.csv"
    semi.write_text("model_name;hardware;n_devices;device_hours;year;energy_mwh\n3,5;A100;8;1000,5;2024;0,3\n")
    from carbon_bayes.runblocks import read_runs

    (block,) = read_runs(semi)  # what `estimate --input` reads
    assert block.loc[0, "model_name"] == "3,5" and block.loc[0, "device_hours"] == "1000.5"
    rows = cb.read_measurements(semi)
    assert rows.loc[0, "model_name"] == "3,5" and rows.loc[0, "device_hours"] == 1000.5
    assert rows.loc[0, "energy_mwh"] == 0.3


@pytest.mark.parametrize(("run", "field"), [({"device_hours": 1e-300}, "device_hours"),  # was 0.0 MWh
                                            ({"device_hours": 5e-5}, "device_hours"),
                                            ({"training_days": 1e-9, "n_devices": 8}, "training_days")])
def test_hours_too_short_for_a_training_run_are_refused(run, field):
    with pytest.raises(InputError, match="too short to be a training run|under one second") as e:
        cb.estimate(run)
    assert e.value.field == field
    assert cb.estimate({"device_hours": 1e-4, "hardware": "T4"}).to_frame()["energy_mwh_median"].iloc[0] > 0
