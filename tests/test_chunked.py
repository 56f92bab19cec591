"""Catalogues estimated block by block (API and CLI, CSV and Parquet) give the numbers of one call."""

from __future__ import annotations

import pandas as pd
import pytest
from catalogue_runs import catalogue

import carbon_bayes as cb
from carbon_bayes.chunked import estimate_chunks, iter_estimates
from carbon_bayes.cli import main
from carbon_bayes.errors import InputError
from carbon_bayes.runblocks import write_frames


@pytest.fixture(scope="module")
def runs():
    return catalogue(120)


@pytest.fixture(scope="module")
def one_call(runs):
    return cb.estimate(runs).to_frame(mcse=True)


def test_blocks_give_exactly_the_numbers_of_one_call(runs, one_call):
    frames = list(estimate_chunks(runs, chunk_size=17, mcse=True))
    assert [len(f) for f in frames] == [17] * 7 + [1]
    got = pd.concat(frames, ignore_index=True)
    pd.testing.assert_frame_equal(got, one_call, check_exact=True)
    assert got["run_id"].iloc[0] == "run-0" and got["run_id"].iloc[117] == "run-117"
    assert set(got["tier"]) == {"T1", "T2", "T3"}


def test_draws_are_kept_only_when_asked(runs):
    kept = list(iter_estimates(runs.iloc[:10], chunk_size=4, keep_draws=True))
    assert [e.draws["co2_t"].shape[0] for e in kept] == [4, 4, 2]
    with pytest.raises(RuntimeError, match="draws were not kept"):
        _ = next(iter_estimates(runs.iloc[:10], chunk_size=4)).draws


def test_a_run_id_repeated_in_another_block_is_refused_with_its_row(runs):
    dup = runs.iloc[:30].copy()
    dup.loc[25, "run_id"] = "r1"
    with pytest.raises(InputError, match="unique") as e:
        list(estimate_chunks(dup, chunk_size=10))
    assert e.value.row == 27  # position 25: the first run is row 2


def test_the_first_repeated_row_of_a_block_is_named_and_ids_compare_stripped(runs):
    dup = runs.iloc[:30].copy()
    dup.loc[22, "run_id"], dup.loc[25, "run_id"] = " r5 ", "r1"  # the schema strips text cells
    with pytest.raises(InputError, match=r"run_id='r5' \(row 24\): run_id must be unique") as e:
        list(estimate_chunks(dup, chunk_size=10))
    assert e.value.row == 24


def test_a_bad_value_in_a_later_block_names_its_row_in_the_catalogue(runs):
    bad = runs.iloc[:30].astype({"year": float})
    bad.loc[23, "year"] = 2023.5
    with pytest.raises(InputError, match=r"year=2023.5 \(row 25"):
        list(estimate_chunks(bad, chunk_size=10))


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_cli_streams_a_file_in_blocks_with_the_numbers_of_one_call(tmp_path, capsys, runs, one_call, kind):
    src, dst = tmp_path / f"runs.{kind}", tmp_path / f"out.{kind}"
    runs.to_csv(src, index=False) if kind == "csv" else runs.to_parquet(src, index=False)
    assert main(["estimate", "--input", str(src), "--output", str(dst), "--chunk-size", "23"]) == 0
    assert f"wrote {len(runs)} rows" in capsys.readouterr().err
    got = pd.read_csv(dst, keep_default_na=False) if kind == "csv" else pd.read_parquet(dst)
    want = one_call.drop(columns=["n_draws", "energy_mwh_median_mcse", "co2_t_median_mcse"])
    assert list(got.columns) == list(want.columns)
    for c in want.columns:  # CSV holds the numbers to 17 significant digits: they read back exactly
        assert got[c].tolist() == want[c].tolist(), c


def test_cli_stdout_csv_is_written_block_by_block_with_one_header(tmp_path, capsys, runs):
    src = tmp_path / "runs.csv"
    runs.iloc[:12].to_csv(src, index=False)
    assert main(["estimate", "--input", str(src), "--format", "csv", "--chunk-size", "5"]) == 0
    out = capsys.readouterr().out
    assert out.count("run_id,") == 1 and len(out.strip().splitlines()) == 13


def test_a_failed_stream_leaves_no_output_file(tmp_path, capsys, runs):
    src, dst = tmp_path / "runs.csv", tmp_path / "out.parquet"
    bad = runs.iloc[:30].copy()
    bad.loc[27, "hardware"] = "no-such-chip"
    bad.to_csv(src, index=False)
    assert main(["estimate", "--input", str(src), "--output", str(dst), "--chunk-size", "10"]) != 0
    assert "hardware" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [src]


def test_a_ragged_line_in_a_later_block_is_named(tmp_path, capsys):
    src = tmp_path / "runs.csv"
    src.write_text("parameters,year\n" + "7e9,2023\n" * 8 + "7e9,2023,extra\n")
    assert main(["estimate", "--input", str(src), "--chunk-size", "3"]) != 0
    assert "(row 10): this row has 3 fields but the header has 2" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "field"), [
    (["--output", "out.json"], "--output"),
    (["--chunk-size", "0"], "chunk_size"),
])
def test_bad_stream_options_are_refused_by_name(tmp_path, capsys, argv, field):
    src = tmp_path / "runs.csv"
    src.write_text("parameters,year\n7e9,2023\n")
    assert main(["estimate", "--input", str(src), *[str(tmp_path / a) if a.startswith("out") else a
                                                     for a in argv]]) != 0
    assert capsys.readouterr().err.startswith(f"error: {field}=")


def test_write_frames_refuses_an_unknown_suffix_before_writing(tmp_path):
    with pytest.raises(InputError, match="ending in .csv or .parquet"):
        write_frames(iter([pd.DataFrame({"a": [1]})]), tmp_path / "out.txt")
    assert not list(tmp_path.iterdir())


def _progress_lines(err: str) -> list[str]:
    """Return the progress lines written on stderr (each rewrites the last after a carriage return)."""
    return [s.split("\n")[0] for s in err.split("\r")[1:]]


def test_progress_of_a_parquet_file_counts_to_its_total(tmp_path, capsys, runs):
    src, dst = tmp_path / "runs.parquet", tmp_path / "out.parquet"
    runs.to_parquet(src, index=False)
    assert main(["estimate", "--input", str(src), "--output", str(dst), "--chunk-size", "50", "--progress"]) == 0
    err = capsys.readouterr().err
    assert _progress_lines(err) == ["estimated 50 of 120 runs (41%)", "estimated 100 of 120 runs (83%)",
                                    "estimated 120 of 120 runs (100%)"]
    assert err.endswith("estimated 120 of 120 runs (100%)\nwrote 120 rows to " + str(dst) + "\n")


def test_progress_of_a_csv_file_counts_the_runs_without_a_total(tmp_path, capsys, runs):
    src = tmp_path / "runs.csv"
    runs.iloc[:30].to_csv(src, index=False)
    assert main(["estimate", "--input", str(src), "--format", "csv", "--chunk-size", "20", "--progress"]) == 0
    assert _progress_lines(capsys.readouterr().err) == ["estimated 20 runs", "estimated 30 runs"]


def test_progress_is_hidden_when_stderr_is_not_a_terminal_or_with_no_progress(tmp_path, capsys, runs):
    src = tmp_path / "runs.parquet"
    runs.iloc[:30].to_parquet(src, index=False)
    for flags in ([], ["--no-progress"], ["--progress", "--no-progress"]):
        assert main(["estimate", "--input", str(src), "--format", "csv", "--chunk-size", "20", *flags]) == 0
        assert "estimated" not in capsys.readouterr().err, flags


def test_progress_of_the_api_knows_a_frames_total_and_ends_its_line_before_an_error(capsys, runs):
    list(estimate_chunks(runs.iloc[:10], chunk_size=4, progress=True))
    assert _progress_lines(capsys.readouterr().err)[-1] == "estimated 10 of 10 runs (100%)"
    bad = runs.iloc[:10].copy()
    bad.loc[9, "hardware"] = "no-such-chip"
    with pytest.raises(InputError, match="hardware"):
        list(estimate_chunks(bad, chunk_size=4, progress=True))
    assert capsys.readouterr().err == "\restimated 4 of 10 runs (40%)\restimated 8 of 10 runs (80%)\n"
