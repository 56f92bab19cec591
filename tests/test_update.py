"""Updating the posterior with a user's own measurements (``carbon-bayes update``).

Measurements simulated from a known power fraction move an estimate toward the truth and narrow
it; the update is reproducible with a seed; it goes to the per-user data directory by default;
the shipped posterior is never modified; malformed input fails before any fitting.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from carbon_bayes import estimate
from carbon_bayes.cli import main
from carbon_bayes.errors import InputError
from carbon_bayes.measurements import read_measurements, update_from_measurements
from carbon_bayes.posterior import load_posterior
from carbon_bayes.resources import default_posterior_path

DATA = Path(__file__).parent / "data"
#: tests/data/user_runs.csv: 4 H100 runs with energy = device-hours x 700 W x RHO (no PUE inside).
RHO = 0.45
UPDATE_SAMPLER = {"draws": 300, "tune": 300, "chains": 2, "seed": 11, "progressbar": False}
TINY = ["--draws", "25", "--tune", "25", "--chains", "2", "--seed", "5", "--no-progress", "--allow-unconverged"]
NEW_RUN = {"run_id": "next", "hardware": "H100", "device_hours": 3000, "parameters": 2e9, "year": 2024,
           "architecture": "dense_transformer", "task": "language", "country": "DE", "pue": 1.0}


def _sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def shipped_sha():
    return _sha(default_posterior_path())


@pytest.fixture(scope="module")
def updated(tmp_path_factory, shipped_sha):
    """One real update with the user CSV (compiled and sampled once for the module)."""
    out = tmp_path_factory.mktemp("update") / "lab.nc"
    return update_from_measurements(DATA / "user_runs.csv", out=out, cluster="lab", allow_unconverged=True,
                                    **UPDATE_SAMPLER)


def test_measurements_move_the_estimate_toward_the_truth_and_narrow_it(updated):
    truth = NEW_RUN["device_hours"] * 700 * RHO / 1e6
    before = estimate(NEW_RUN).to_frame().iloc[0]
    after = estimate(NEW_RUN, posterior=updated.path).to_frame().iloc[0]
    err_before = abs(np.log(before["energy_mwh_median"] / truth))
    err_after = abs(np.log(after["energy_mwh_median"] / truth))
    assert err_after < err_before
    assert err_after < 0.15  # within 15% of the simulated truth
    assert after["energy_mwh_lower"] < truth < after["energy_mwh_upper"]
    width = after["energy_mwh_upper"] / after["energy_mwh_lower"]
    assert width < before["energy_mwh_upper"] / before["energy_mwh_lower"]


def test_the_learned_cluster_power_effect_points_at_the_simulated_fraction(updated):
    post = load_posterior(updated.path)
    assert post.model_config["default_cluster"] == "lab"
    assert np.median(post.draws["rho_cluster"]) < 0  # the lab draws less than published H100 runs


def test_the_posterior_file_keeps_the_measurements_with_their_source(updated):
    fit = load_posterior(updated.path).fit_data()
    mine = fit[fit["cluster"] == "lab"]
    assert sorted(mine["run_id"]) == sorted(["lab-350m", "lab-1b", "lab-3b", "lab-7b"])
    assert all(s.startswith("user measurement: user_runs.csv row") for s in mine["source"])
    assert len(fit) > len(mine)  # the published runs are still there
    assert len(updated.rows) == 4 and updated.cluster == "lab"
    assert "carbon-bayes estimate --posterior" in updated.usage()


def test_the_shipped_posterior_is_unchanged(updated, shipped_sha):
    assert _sha(default_posterior_path()) == shipped_sha


def test_forecast_runs_on_the_updated_posterior(updated):
    from carbon_bayes.forecast import forecast

    fc = forecast(NEW_RUN, energy_so_far_mwh=0.2, fraction_done=0.25, posterior=updated.path, budget_t=0.5)
    assert 0.2 < fc.energy_mwh["median"] < 2 and 0 <= fc.p_exceed <= 1


def test_update_cli_writes_to_the_user_directory_and_is_reproducible(updated, tmp_path, monkeypatch, capsys,
                                                                     shipped_sha):
    """The CLI with the fixture's data, cluster, sampler settings and seed gives the identical posterior."""
    home = tmp_path / "home"
    monkeypatch.setenv("CARBON_BAYES_HOME", str(home))
    user = DATA / "user_runs.csv"
    user_sha = _sha(user)
    s = UPDATE_SAMPLER
    code = main(["update", "--measurements", str(user), "--cluster", "lab", "--draws", str(s["draws"]), "--tune",
                 str(s["tune"]), "--chains", str(s["chains"]), "--seed", str(s["seed"]), "--no-progress",
                 "--allow-unconverged"])
    out, err = capsys.readouterr()
    assert code == 0, err
    path = home / "posterior-lab.nc"
    assert path.is_file() and f"wrote {path}" in out
    assert f"carbon-bayes estimate --posterior {path}" in out
    assert f"carbon_bayes.estimate(runs, posterior='{path}')" in out
    assert "read 4 run(s)" in err and "(csv)" in err
    a, b = load_posterior(path), load_posterior(updated.path)
    assert set(a.draws) == set(b.draws)
    for k in a.draws:
        np.testing.assert_array_equal(a.draws[k], b.draws[k], err_msg=k)
    assert _sha(user) == user_sha and _sha(default_posterior_path()) == shipped_sha


def test_codecarbon_rows_build_into_the_model():
    """CodeCarbon rows enter the fit data and the PyMC model as the update builds them (no MCMC here)."""
    import pandas as pd

    from carbon_bayes.dataset import load_training_runs, with_defaults
    from carbon_bayes.fitting import CarbonModel

    rows = with_defaults(read_measurements(DATA / "codecarbon_emissions.csv",
                                           facts={"architecture": "dense_transformer"}))
    rows["cluster"] = "cc"
    base = load_training_runs(load_posterior().fit_data())
    m = CarbonModel()
    m.build(load_training_runs(pd.concat([base, load_training_runs(rows)], ignore_index=True)))
    fd = m.fit_data
    assert fd.clusters == ["cc"] and (fd.cluster_idx >= 0).sum() == 4
    mine = fd.labels[fd.labels["row_id"].str.startswith("codecarbon-")]
    assert len(mine) == 4 and set(mine["kind"]) == {"energy"} and mine["measured"].all()
    assert "rho_cluster_z" in m.model.named_vars


@pytest.mark.parametrize("argv, field", [
    (["--measurements", str(DATA / "codecarbon_missing_energy.csv")], "column"),
    (["--measurements", str(DATA / "codecarbon_bad_duration.csv")], "duration"),
    (["--measurements", str(DATA / "codecarbon_unknown_gpu.csv")], "gpu_model"),
    (["--measurements", str(DATA / "model_card" / "README.md")], "year"),
    (["--measurements", str(DATA / "user_runs.csv"), "--cluster", "my lab"], "cluster"),
    (["--measurements", str(DATA / "user_runs.csv"), "--out", str(default_posterior_path())], "out"),
    (["--measurements", str(DATA / "user_runs.csv"), "--out", "posterior.csv"], "out"),
    (["--measurements", str(DATA / "nope.csv")], "measurements"),
    (["--measurements", str(DATA / "user_runs.csv"), "--draws", "0"], "--draws"),
])
def test_update_cli_errors_are_one_line_exit_2_and_fit_nothing(capsys, tmp_path, monkeypatch, argv, field):
    monkeypatch.setenv("CARBON_BAYES_HOME", str(tmp_path))
    before = {p: _sha(p) for p in DATA.rglob("*") if p.is_file()}
    shipped = _sha(default_posterior_path())
    code = main(["update", *TINY, *argv])
    out, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith(("read ", " ", "note"))]
    assert code == 2, err
    assert len([ln for ln in lines if ln.startswith("error:")]) == 1 and f"error: {field}=" in err
    assert "convergence gate" not in err  # failed before fitting
    assert list(tmp_path.iterdir()) == []  # nothing written
    assert {p: _sha(p) for p in DATA.rglob("*") if p.is_file()} == before
    assert _sha(default_posterior_path()) == shipped


def test_dry_run_reads_and_converts_only(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CARBON_BAYES_HOME", str(tmp_path))
    code = main(["update", "--measurements", str(DATA / "model_card" / "README.md"), "--year", "2023",
                 "--device-hours", "12", "--dry-run"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "dry run" in out and "model-card-model_card" in err and list(tmp_path.iterdir()) == []


def test_run_id_clash_with_the_base_data_is_an_error():
    rows = read_measurements(DATA / "user_runs.csv")
    rows.loc[0, "run_id"] = "meta-llama-2-7b"
    rows.loc[0, "run_group"] = "meta-llama-2-7b"
    with pytest.raises(InputError, match="already used by the base posterior"):
        update_from_measurements(rows, out=Path("/nonexistent-dir/x.nc"), cluster="lab", draws=5, tune=5, chains=1)
