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
