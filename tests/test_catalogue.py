"""Catalogues on dask: the predictor mapped over partitions on a two-worker cluster gives the numbers of one call.

The cluster runs its workers in processes of their own, so every task and its result is
pickled and the posterior is loaded in each worker, as on a real cluster.
"""

from __future__ import annotations

import pandas as pd
import pytest
from catalogue_runs import catalogue

import carbon_bayes as cb
from carbon_bayes.catalogue import estimate_on_cluster
from carbon_bayes.chunked import estimate_block
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
    """Two worker processes of one thread each, shared by the module's tests.

    The dashboard is on a free port (":0"): another cluster on this machine may hold the default
    one, and the warning that it is taken would be an error here.
    """
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        with distributed.Client(c) as client:
            client.wait_for_workers(2)
            yield c, client


def _workers_that_ran(stream, tasks: str) -> set[str]:
    """Return the workers that ran the tasks of a task stream (the scheduler's record) whose keys contain ``tasks``."""
    return {t["worker"] for t in stream.data if tasks in str(t["key"])}


def test_a_dask_frame_on_two_workers_gives_exactly_the_numbers_of_one_call(cluster, runs, one_call):
    _, client = cluster
    lazy = cb.estimate(dd.from_pandas(runs, npartitions=6))
    assert lazy.npartitions == 6 and list(lazy.columns) == list(one_call.columns)
    name = lazy._name  # the key of the estimate's partitions (the estimator's own tasks)
    with distributed.get_task_stream(client=client) as stream:
        got = client.compute(lazy).result()
    pd.testing.assert_frame_equal(got.reset_index(drop=True), one_call, check_exact=True)
    assert got["run_id"].iloc[-3] == "run-45"  # numbered over the whole frame, not the partition
    assert _workers_that_ran(stream, name) == set(client.scheduler_info()["workers"])


def test_a_dask_backed_dataset_gives_the_same_numbers(cluster, runs, one_call):
    ds = runs.rename_axis("run").to_xarray().chunk({"run": 20})
    got = cb.estimate(ds).compute()
    pd.testing.assert_frame_equal(got.reset_index(drop=True), one_call, check_exact=True)


def test_cli_scheduler_estimates_the_blocks_on_both_workers(cluster, tmp_path, capsys, runs, one_call):
    c, client = cluster
    src, dst = tmp_path / "runs.parquet", tmp_path / "out.parquet"
    runs.to_parquet(src, index=False)
    with distributed.get_task_stream(client=client) as stream:  # records the CLI's own client's tasks too
        assert main(["estimate", "--input", str(src), "--output", str(dst), "--chunk-size", "8", "--progress",
                     "--scheduler", c.scheduler_address]) == 0
    err = capsys.readouterr().err
    assert err.endswith("\restimated 48 of 48 runs (100%)\nwrote 48 rows to " + str(dst) + "\n")
    assert err.count("\restimated ") == 6 and "\restimated 8 of 48 runs (16%)" in err
    got = pd.read_parquet(dst)
    for col in one_call.columns:
        assert got[col].tolist() == one_call[col].tolist(), col
    assert _workers_that_ran(stream, "estimate_block") == set(client.scheduler_info()["workers"])


def test_cli_scheduler_progress_of_a_csv_counts_the_runs(cluster, tmp_path, capsys, runs):
    c, _ = cluster
    src = tmp_path / "runs.csv"
    runs.iloc[:20].to_csv(src, index=False)
    assert main(["estimate", "--input", str(src), "--format", "csv", "--chunk-size", "8", "--progress",
                 "--scheduler", c.scheduler_address]) == 0
    err = capsys.readouterr().err
    assert err == "\restimated 8 runs\restimated 16 runs\restimated 20 runs\n"


def test_a_run_id_repeated_in_another_block_is_refused_on_the_cluster_as_locally(cluster, tmp_path, capsys, runs):
    c, _ = cluster
    src = tmp_path / "runs.csv"
    dup = runs.iloc[:30].copy()
    dup.loc[25, "run_id"] = " r1 "  # r1 is in the first block; the schema strips text cells
    dup.to_csv(src, index=False)
    errors = []
    for where in ([], ["--scheduler", c.scheduler_address]):
        dst = tmp_path / "out.parquet"
        assert main(["estimate", "--input", str(src), "--output", str(dst), "--chunk-size", "10", *where]) != 0
        errors.append(capsys.readouterr().err)
        assert not dst.exists()
    assert errors[0] == errors[1] == ("error: run_id='r1' (row 27): run_id must be unique; rename or drop the "
                                      "duplicate row\n")
    with pytest.raises(InputError, match="unique") as e:
        list(estimate_on_cluster(src, c.scheduler_address, estimate_block, chunk_size=10))
    assert e.value.row == 27


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
