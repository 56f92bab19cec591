"""The one-run CLI starts cold without the heavy libraries, reading only the posterior variables it needs."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from carbon_bayes.posterior import load_posterior, posterior_from_tree

HEAVY = ("xarray", "scipy", "pymc", "pytensor", "arviz", "matplotlib", "dask", "h5netcdf")


def test_reading_only_the_predictor_variables_gives_what_reading_the_whole_file_gives():
    fast = load_posterior()
    assert fast._tree is None  # the DataTree was not read
    whole = posterior_from_tree(fast.tree, fast.path)
    assert fast.draws.keys() == whole.draws.keys() and len(fast.draws) > 20
    for name, arr in whole.draws.items():
        assert fast.draws[name].dtype == arr.dtype and np.array_equal(fast.draws[name], arr), name
    assert fast.levels == whole.levels and fast.model_config == whole.model_config
    assert fast.attrs == whole.attrs and fast.convergence == whole.convergence


def test_the_one_run_cli_imports_no_heavy_library():
    code = ("import sys, io, contextlib, json\n"
            "from carbon_bayes.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    code = main(['estimate', '--parameters', '7e9', '--year', '2023', '--format', 'json'])\n"
            f"print(json.dumps([code, json.loads(out.getvalue()), [m for m in {HEAVY!r} if m in sys.modules]]))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    code, rows, heavy = json.loads(res.stdout)
    assert code == 0 and rows[0]["tier"] == "T3" and rows[0]["co2_t_median"] > 0
    assert heavy == []


def test_the_one_run_table_cli_imports_no_pandas_and_prints_the_numbers_of_estimate():
    """A one-run table at every tier is printed without pandas (its import was most of a cold start)."""
    from carbon_bayes import estimate

    runs = {"T1": {"parameters": "7e9", "hardware": "H100", "device_hours": "1e6", "country": "FR", "year": "2023"},
            "T2": {"parameters": "7e9", "hardware": "A100", "training_flops": "1e23", "region": "aws:us-east-1",
                   "year": "2023"},
            "T3": {"parameters": "7e9", "year": "2023"}}
    for tier, run in runs.items():
        flags = [x for k, v in run.items() for x in (f"--{k.replace('_', '-')}", v)]
        code = ("import sys, io, contextlib, json\n"
                "from carbon_bayes.cli import main\n"
                "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
                f"    code = main(['estimate', *{flags!r}])\n"
                f"print(json.dumps([code, out.getvalue(), [m for m in {('pandas', 'pyarrow', *HEAVY)!r} "
                "if m in sys.modules]]))\n")
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        status, table, imported = json.loads(res.stdout)
        assert status == 0 and imported == [], tier
        lines = table.splitlines()
        shown = {}  # column -> printed cell, from each block's header line and the row under it
        for header, values in zip(lines, lines[1:], strict=False):
            if header.split()[:1] == ["run_id"]:
                shown.update(zip(header.split(), values.split(), strict=True))
        row = estimate(run).to_frame().iloc[0]
        assert shown["tier"] == row["tier"] == tier
        for col in ("energy_mwh_median", "energy_mwh_lower", "co2_t_upper"):
            assert float(shown[col]) == pytest.approx(row[col], rel=5e-4), (tier, col)  # printed to 4 digits
