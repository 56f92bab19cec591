"""The one-run CLI starts cold without the heavy libraries, reading only the posterior variables it needs."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

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
