"""Catalogues on dask: the predictor mapped over partitions on a two-worker cluster gives the numbers of one call."""

from __future__ import annotations

import pandas as pd
import pytest
from catalogue_runs import catalogue

import carbon_bayes as cb
from carbon_bayes.cli import main
from carbon_bayes.errors import InputError

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def runs():
    return catalogue(48, seed=11)


@pytest.fixture(scope="module")
def one_call(runs):
    return cb.estimate(runs).to_frame()


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as c:
        with distributed.Client(c) as client:
            yield c, client


def test_a_dask_frame_on_two_workers_gives_exactly_the_numbers_of_one_call(cluster, runs, one_call):
    _, client = cluster
    lazy = cb.estimate(dd.from_pandas(runs, npartitions=5))
    assert lazy.npartitions == 5 and list(lazy.columns) == list(one_call.columns)
    got = lazy.compute()
    assert len(client.scheduler_info()["workers"]) == 2
    pd.testing.assert_frame_equal(got.reset_index(drop=True), one_call, check_exact=True)
    assert got["run_id"].iloc[-3] == "run-45"  # numbered over the whole frame, not the partition


def test_a_dask_backed_dataset_gives_the_same_numbers(cluster, runs, one_call):
    ds = runs.rename_axis("run").to_xarray().chunk({"run": 20})
    got = cb.estimate(ds).compute()
    pd.testing.assert_frame_equal(got.reset_index(drop=True), one_call, check_exact=True)


def test_cli_scheduler_estimates_the_blocks_on_the_cluster(cluster, tmp_path, capsys, runs, one_call):
    c, _ = cluster
    src, dst = tmp_path / "runs.parquet", tmp_path / "out.parquet"
    runs.to_parquet(src, index=False)
    assert main(["estimate", "--input", str(src), "--output", str(dst), "--chunk-size", "10",
                 "--scheduler", c.scheduler_address]) == 0
    assert "wrote 48 rows" in capsys.readouterr().err
    got = pd.read_parquet(dst)
    for col in one_call.columns:
        assert got[col].tolist() == one_call[col].tolist(), col


def test_a_bad_row_in_a_partition_names_its_row_in_the_frame(cluster, runs):
    bad = runs.iloc[:20].copy()
    bad.loc[17, "hardware"] = "no-such-chip"
    with pytest.raises(InputError, match=r"hardware='no-such-chip' \(row 19"):
        cb.estimate(dd.from_pandas(bad, npartitions=4)).compute()


def test_a_dataset_of_two_dimensions_is_refused(runs):
    import xarray as xr

    ds = xr.Dataset({"parameters": (("a", "b"), [[7e9, 1e9]])})
    with pytest.raises(InputError, match="one dimension"):
        cb.estimate(ds)
