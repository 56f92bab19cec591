"""The validation report: the target check, the saved run and the markdown, on hand-made predictions.

No model is fitted. Each label's value sits at a chosen quantile of its predictive distribution
(lognormal, 4,000 draws), so the coverage of every interval is known exactly: with 20 labels at
the quantiles 0.025, 0.075, ..., 0.975, 18 lie inside the 90% interval and 10 inside the 50% one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from carbon_bayes.errors import InputError
from carbon_bayes.provenance import marker, posterior_sha256
from carbon_bayes.validate import QGRID, TIERS, ValidationResult, score_draws, score_quantiles
from carbon_bayes.validation_report import load_result, save_result, saved_posterior_sha256, target_check, write_report

N = 20
POSITIONS = (np.arange(N) + 0.5) / N  # where each label sits in its predictive distribution


def _predictions(sd_ratio: float = 1.0, baseline_factor: float = 2.0) -> pd.DataFrame:
    """Make predictions of known coverage.

    Labels spread by sd 0.1 (log) around predictive medians whose sd is ``sd_ratio`` x 0.1, and
    a formula baseline off by ``baseline_factor``.
    """
    rng = np.random.default_rng(0)
    y = 10 ** rng.uniform(-2, 3, N)
    centre = y * np.exp(-0.1 * stats.norm.ppf(POSITIONS))  # so that y is at POSITIONS of N(log centre, 0.1)
    z = stats.norm.ppf((np.arange(4000) + 0.5) / 4000)  # evenly spaced standard normal draws
    draws = centre[:, None] * np.exp(0.1 * sd_ratio * z[None, :])
    base = pd.DataFrame({"run_id": [f"r{i}" for i in range(N)], "run_group": [f"g{i}" for i in range(N)],
                         "quantity": "energy_mwh", "value": y,
                         "basis": np.where(np.arange(N) % 2 == 0, "measured", "nominal"),
                         "architecture": "dense_transformer", "hardware": "A100-SXM4-80GB", "year": 2023,
                         "family": "nvidia-datacenter", "era": "2023-2024"})
    parts = []
    for tier in TIERS:
        b = base.assign(effective_tier=tier, tier=tier, fold=0)
        parts.append(b.assign(method="carbon_bayes", **score_draws(draws, y)))
        q = np.repeat(np.log10(y * baseline_factor)[:, None], len(QGRID), axis=1)
        parts.append(b.assign(method="flops_formula", **score_quantiles(q, y)))
    return pd.concat(parts, ignore_index=True)


def _checks(pred) -> dict[str, bool]:
    t = target_check(pred)
    return dict(zip(t["target"], t["met"], strict=True))


def test_calibrated_predictions_meet_every_target():
    checks = _checks(_predictions())
    # T1 measured, T1 and T2 APE; two coverages per tier for measured and nominal figures; the T3 energy width
    # (no CO2 figures here); CRPS per tier
    assert len(checks) == 3 + 2 * 2 * len(TIERS) + 1 + len(TIERS)
    assert all(checks.values()), checks


def test_overconfident_intervals_miss_the_coverage_targets_and_a_perfect_baseline_the_crps_one():
    narrow = _checks(_predictions(sd_ratio=0.2))
    assert not narrow["T1 measured figures: 90% intervals hold 85-95%"]
    assert not narrow["T3 nominal figures: 50% intervals hold 40-60%"]
    assert narrow["T1 measured figures: median APE <= 15%"]  # the medians did not move
    exact = _checks(_predictions(baseline_factor=1.0))
    assert not any(v for k, v in exact.items() if "CRPS" in k)
    assert exact["T2 nominal figures: 90% intervals hold 85-95%"]
    wide = _checks(_predictions(sd_ratio=30.0))  # log sd 3: a 90% width of about x20,000
    assert not wide["T3 energy: median 90% width <= x100"]


def test_coverage_is_counted_exactly():
    p = _predictions()
    ours = p[(p["method"] == "carbon_bayes") & (p["tier"] == "T1")]
    assert ours["cover90"].sum() == 18 and ours["cover50"].sum() == 10 and ours["cover80"].sum() == 16
    assert 18 <= ours["cover95"].sum() <= 20  # two labels sit on the 95% bounds


def test_a_saved_run_reloads_unchanged_and_rebuilds_the_same_report(tmp_path, dataset):
    pred = _predictions()
    res = ValidationResult(pred, {}, {"folds": 10, "tiers": list(TIERS), "seed": 1, "n_labels": N, "n_groups": N,
                                      "sampler": {"draws": 10, "tune": 10, "chains": 2, "target_accept": 0.9},
                                      "jobs": 1, "seconds": 1.0},
                           [{"fold": 0, "r_hat_max": 1.001, "ess_bulk_min": 900.0, "divergences": 0}])
    out = tmp_path / "val.md"
    discussion = tmp_path / "disc.md"
    discussion.write_text("## Discussion\n\nHand-written.\n")
    save_result(res, out, "carbon-bayes validate --out val.md")
    write_report(res, out, "carbon-bayes validate --out val.md", dataset, discussion)
    first = out.read_text()
    loaded, command, date = load_result(out)
    pd.testing.assert_frame_equal(loaded.predictions, pred, check_dtype=False, check_exact=True)
    assert loaded.settings == res.settings and loaded.convergence == res.convergence
    write_report(loaded, out, command, dataset, discussion, date)
    assert out.read_text() == first
    # the report carries every coverage level, each tier, the plots and the discussion
    assert "| 50% cov. % | 80% cov. % | 90% cov. % | 95% cov. % |" in first
    for section in ("## T1 hours known", "## T2", "## T3", "## carbon_bayes by family", "## Plots", "Hand-written."):
        assert section in first, section
    for png in ("val_calibration.png", "val_predicted_vs_published.png", "val_error_by_group.png"):
        assert (tmp_path / png).stat().st_size > 1000
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_the_report_names_the_posterior_its_saved_run_records(tmp_path, dataset):
    import json

    res = ValidationResult(_predictions(), {}, {"folds": 10, "tiers": list(TIERS), "seed": 1, "n_labels": N,
                                               "n_groups": N, "sampler": {"draws": 10, "tune": 10, "chains": 2,
                                                                          "target_accept": 0.9}, "seconds": 1.0},
                           [{"fold": 0, "r_hat_max": 1.001, "ess_bulk_min": 900.0, "divergences": 0}])
    out = tmp_path / "val.md"
    save_result(res, out, "carbon-bayes validate")  # default: the shipped posterior in place now
    assert saved_posterior_sha256(out) == posterior_sha256()
    write_report(res, out, "carbon-bayes validate", dataset)
    assert out.read_text().split("\n")[0] == marker(posterior_sha256())
    other = "ab" * 32
    save_result(res, out, "carbon-bayes validate", posterior=other)  # a run made on another posterior
    loaded, command, _ = load_result(out)
    write_report(loaded, out, command, dataset)
    assert out.read_text().split("\n")[0] == marker(other)
    run = tmp_path / "val_run.json"  # a run saved before runs recorded the posterior: no marker, not a guess
    run.write_text(json.dumps({k: v for k, v in json.loads(run.read_text()).items() if k != "posterior_sha256"}))
    write_report(loaded, out, command, dataset)
    assert saved_posterior_sha256(out) is None and "posterior sha256" not in out.read_text()


def test_report_only_without_a_saved_run_names_the_missing_file(tmp_path):
    with pytest.raises(InputError, match="no saved validation run"):
        load_result(tmp_path / "nothing.md")
