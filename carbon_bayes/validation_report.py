"""Write docs/validation.md (tables, target check, plots) from a :class:`~carbon_bayes.validate.ValidationResult`."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np
import pandas as pd

from carbon_bayes._version import __version__
from carbon_bayes.posterior import atomic_write, dataset_sha256, priors_sha256
from carbon_bayes.provenance import marker, posterior_sha256
from carbon_bayes.validate import FORMULAS, LEVELS, ML_MODELS, TARGETS, TIERS, metrics

METHOD_NAMES = {"carbon_bayes": "carbon_bayes (this model)", "ml_co2_impact": "ML CO2 Impact formula",
                "green_algorithms": "Green Algorithms formula", "flops_formula": "FLOPs formula (u = 0.4)",
                "random_forest": "random forest (conformal)", "gradient_boosting": "gradient boosting (quantile)"}
TIER_NAMES = {"T1": "T1 hours known", "T2": "T2 compute known, no hours", "T3": "T3 metadata only"}


def at_tier(pred: pd.DataFrame) -> pd.DataFrame:
    """Figures scored at the tier their inputs reach (T1 needs reported hours, T2 compute)."""
    return pred[pred["tier"] == pred["effective_tier"]]


def _fmt(v, nd=1):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    return f"{v:.{nd}f}"


def _md_table(df: pd.DataFrame, cols: list[tuple[str, str, int]]) -> str:
    lines = ["| " + " | ".join(h for _, h, _ in cols) + " |", "|" + " --- |" * len(cols)]
    for r in df.to_dict("records"):
        cells = []
        for key, _, nd in cols:
            v = r.get(key)
            cells.append(str(v) if isinstance(v, str) else (_fmt(v, nd) if v is not None else "-"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


METRIC_COLS = [("n", "figures", 0), ("answered", "answered", 0), ("median_ape", "median APE %", 1),
               ("mean_ape", "mean APE %", 0), ("cover50", "50% cov. %", 0), ("cover80", "80% cov. %", 0),
               ("cover90", "90% cov. %", 0), ("cover95", "95% cov. %", 0), ("width90", "90% width (x)", 1),
               ("crps", "CRPS (log10)", 3), ("log_score", "log score", 2)]
#: Columns of the per-tier tables split by label kind and by quantity.
SPLIT_COLS = [c for c in METRIC_COLS if c[0] in ("n", "answered", "median_ape", "cover50", "cover90", "width90",
                                                  "crps")]
#: The shorter table of each breakdown (by architecture, hardware family, era).
GROUP_COLS = [c for c in METRIC_COLS if c[0] in ("n", "median_ape", "mean_ape", "cover50", "cover90")]


def _crps_rows(p: pd.DataFrame, tiers) -> list[tuple[str, str, bool]]:
    """Per tier: is the model's mean CRPS below every baseline's, on the figures each baseline answers."""
    rows = []
    for tier in tiers:
        ours = p[(p["tier"] == tier) & (p["method"] == "carbon_bayes")].set_index("run_id")["crps"]
        worst = []
        for b in (*FORMULAS, *ML_MODELS):
            theirs = p[(p["tier"] == tier) & (p["method"] == b)].set_index("run_id")["crps"].dropna()
            if len(theirs) == 0:
                continue
            common = theirs.index.intersection(ours.index)
            worst.append((b, ours[common].mean(), theirs[common].mean(), len(common)))
        if worst:
            ok = all(o < t for _, o, t, _ in worst)
            detail = "; ".join(f"{METHOD_NAMES[b].split(' (')[0]} {t:.3f} vs {o:.3f} (n={n})" for b, o, t, n in worst)
            rows.append((f"{tier}: CRPS better than every baseline (on the figures each answers)", detail, ok))
    return rows


def target_check(pred: pd.DataFrame) -> pd.DataFrame:
    """Each validation target (:data:`carbon_bayes.validate.TARGETS`) with the measured value and whether it is met.

    Coverage targets hold for measured and nominal figures separately; the T3 width targets
    for energy and CO2 figures separately.
    """
    p = at_tier(pred)
    cbp = p[p["method"] == "carbon_bayes"]
    m = metrics(cbp, ("tier",)).set_index("tier")
    mb = metrics(cbp, ("tier", "basis")).set_index(["tier", "basis"])
    rows = []
    if ("T1", "measured") in mb.index:
        v = float(mb.loc[("T1", "measured"), "median_ape"])
        rows.append(("T1 measured figures: median APE <= 15%", f"{v:.1f}%", v <= TARGETS["T1_measured_median_ape"]))
    for tier, key in (("T1", "T1_median_ape"), ("T2", "T2_median_ape")):
        if tier in m.index:
            v = float(m.loc[tier, "median_ape"])
            rows.append((f"{tier} all figures: median APE <= {TARGETS[key]:.0f}%", f"{v:.1f}%", v <= TARGETS[key]))
    for (tier, basis), r in mb.iterrows():
        for key, lev in (("coverage90", 90), ("coverage50", 50)):
            lo, hi = TARGETS[key]
            v = float(r[f"cover{lev}"])
            rows.append((f"{tier} {basis} figures: {lev}% intervals hold {lo:.0f}-{hi:.0f}%",
                         f"{v:.1f}% (n={int(r['answered'])})", lo <= v <= hi))
    t3 = cbp[cbp["tier"] == "T3"]
    for qty, key, name in (("energy_mwh", "T3_width90_energy", "energy"), ("co2_t", "T3_width90_co2", "CO2")):
        g = t3[t3["quantity"] == qty]
        if len(g):
            v = float((g["upper90"] / g["lower90"]).median())
            rows.append((f"T3 {name}: median 90% width <= x{TARGETS[key]:.0f}", f"x{v:,.0f} (n={len(g)})",
                         v <= TARGETS[key]))
    rows += _crps_rows(p, m.index)
    return pd.DataFrame(rows, columns=["target", "measured", "met"])


def _fold_text(settings: dict) -> str:
    """How the folds of a saved run were made, in words."""
    if settings.get("by") == "organisation":
        return "every figure of one organisation (`operator`) leaves together"
    return "all figures of one `run_group` leave together"


def _plots(pred: pd.DataFrame, outdir: Path, stem: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = at_tier(pred)
    files = []
    # 1. calibration curve
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.plot([0, 100], [0, 100], color="grey", lw=1, ls="--", label="ideal")
    for tier, mk in zip(TIERS, "osd", strict=True):
        g = p[(p["tier"] == tier) & (p["method"] == "carbon_bayes")]
        if len(g):
            ax.plot([100 * lv for lv in LEVELS], [100 * g[f"cover{int(lv * 100)}"].mean() for lv in LEVELS],
                    marker=mk, label=f"{tier} (n={len(g)})")
    ax.set_xlabel("nominal interval level (%)")
    ax.set_ylabel("held-out figures inside (%)")
    ax.set_title("Calibration (grouped cross-validation)")
    ax.legend()
    fig.tight_layout()
    name = f"{stem}_calibration.png"
    fig.savefig(outdir / name, dpi=110)
    plt.close(fig)
    files.append(name)
    # 2. predicted vs published
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4), sharex=True, sharey=True)
    for ax, tier in zip(axes, TIERS, strict=True):
        g = p[(p["tier"] == tier) & (p["method"] == "carbon_bayes")]
        for basis, col in (("measured", "tab:blue"), ("nominal", "tab:orange")):
            b = g[g["basis"] == basis]
            # printed rounding ties many draws, so a median can sit a rounding error outside its interval
            yerr = [np.maximum(b["median"] - b["lower90"], 0), np.maximum(b["upper90"] - b["median"], 0)]
            ax.errorbar(b["value"], b["median"], yerr=yerr,
                        fmt="o", ms=3.5, color=col, alpha=0.75, elinewidth=0.8, label=f"{basis} (n={len(b)})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        lim = [1e-5, 1e5]
        ax.plot(lim, lim, color="grey", lw=1, ls="--")
        ax.set_title(TIER_NAMES[tier])
        ax.set_xlabel("published figure (MWh or t)")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("posterior median and 90% interval")
    fig.tight_layout()
    name = f"{stem}_predicted_vs_published.png"
    fig.savefig(outdir / name, dpi=110)
    plt.close(fig)
    files.append(name)
    # 3. error by group
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, by in zip(axes, ("architecture", "family", "era"), strict=True):
        m = metrics(p[p["method"] == "carbon_bayes"], ("tier", by))
        piv = m.pivot(index=by, columns="tier", values="median_ape")
        piv.plot.bar(ax=ax, logy=True, rot=30)
        ax.set_ylabel("median APE (%)")
        ax.set_title(f"by {by}")
    fig.tight_layout()
    name = f"{stem}_error_by_group.png"
    fig.savefig(outdir / name, dpi=110)
    plt.close(fig)
    files.append(name)
    return files


def _run_json(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(f"{path.stem}_run.json")


def save_result(result, path: str | Path, command: str, posterior: str | None = None) -> None:
    """Keep a run's predictions (CSV) and settings (JSON) next to the report.

    The report can then be rebuilt (``carbon-bayes validate --report-only``) without refitting.
    The JSON also records ``posterior_sha256``: the identity of the shipped posterior in place
    when the run was made (``posterior``, default the current file's), which the report's marker
    line names (:mod:`carbon_bayes.provenance`); the folds are fitted with the same model code,
    data and priors as that posterior.
    """
    import json

    path = Path(path)
    atomic_write(path.with_name(f"{path.stem}_predictions.csv"),
                 lambda tmp: result.predictions.to_csv(tmp, index=False))  # full precision: nothing lost
    meta = {"command": command, "date": _dt.date.today().isoformat(),
            "posterior_sha256": posterior or posterior_sha256(), "settings": result.settings,
            "convergence": result.convergence}
    atomic_write(_run_json(path),
                 lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=1, default=float)))


def saved_posterior_sha256(path: str | Path) -> str | None:
    """Return the ``posterior_sha256`` recorded by the run saved next to the report at ``path``.

    None when there is no saved run, or it was saved before runs recorded it.
    """
    import json

    js = _run_json(path)
    return json.loads(js.read_text()).get("posterior_sha256") if js.is_file() else None


def load_result(path: str | Path):
    """Load the result saved by :func:`save_result` for the report at ``path``, and its command and date."""
    import json

    from carbon_bayes.errors import InputError
    from carbon_bayes.validate import ValidationResult

    path = Path(path)
    csv, js = path.with_name(f"{path.stem}_predictions.csv"), path.with_name(f"{path.stem}_run.json")
    for f in (csv, js):
        if not f.is_file():
            raise InputError("--report-only", str(f), "no saved validation run next to the report; run "
                             "`carbon-bayes validate` first")
    pred = pd.read_csv(csv, keep_default_na=False, na_values=[""])
    for c in ("hardware", "architecture"):
        pred[c] = pred[c].fillna("")
    meta = json.loads(js.read_text())
    return ValidationResult(pred, {}, meta["settings"], meta["convergence"]), meta["command"], meta["date"]


def _largest_errors(p: pd.DataFrame) -> str:
    """Return the report's table of the model's largest errors, eight per tier."""
    worst = p[p["method"] == "carbon_bayes"].assign(ratio=lambda d: d["median"] / d["value"])
    worst = worst.assign(err=np.abs(np.log10(worst["ratio"]))).sort_values("err", ascending=False)
    rows = []
    for tier in TIERS:
        rows.append(worst[worst["tier"] == tier].head(8))
    w = pd.concat(rows)[["tier", "run_id", "basis", "value", "median", "lower90", "upper90", "ratio"]]
    return "## Largest errors (carbon_bayes, by |log10(median / figure)|)\n\n" + _md_table(
        w.assign(inside=np.where((w["value"] >= w["lower90"]) & (w["value"] <= w["upper90"]), "yes", "no")),
        [("tier", "tier", 0), ("run_id", "figure", 0), ("basis", "basis", 0), ("value", "published", 4),
         ("median", "median", 4), ("lower90", "90% lower", 4), ("upper90", "90% upper", 4),
         ("ratio", "median / published", 2), ("inside", "in 90%", 0)])


def write_report(result, path: str | Path, command: str, dataset: pd.DataFrame,
                 discussion: str | Path | None = None, date: str | None = None,
                 posterior: str | None = None) -> Path:
    """Write the validation report (markdown + PNG plots next to it).

    Its first line is the provenance marker naming ``posterior`` (default: the
    ``posterior_sha256`` recorded by the run saved next to ``path``, see :func:`save_result`);
    a report whose saved run records none gets no marker, rather than a guessed one.
    """
    path = Path(path)
    posterior = posterior or saved_posterior_sha256(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pred = result.predictions
    p = at_tier(pred)
    stem = path.stem
    plots = _plots(pred, path.parent, stem)
    conv = pd.DataFrame(result.convergence)
    s = result.settings
    jobs = s.get("jobs", 1)
    parts = [f"""# Validation

Generated by `{command}` on {date or _dt.date.today().isoformat()} with carbon_bayes {__version__}.
Data `data/training_runs.csv` SHA-256 `{dataset_sha256(dataset)[:12]}`; priors SHA-256
`{priors_sha256()[:12]}`. Folds: {s['folds']} ({_fold_text(s)};
{s['n_labels']} scored figures in {s['n_groups']} run groups); sampler {s['sampler']['draws']} draws x
{s['sampler']['chains']} chains after {s['sampler']['tune']} tuning steps per fold, target_accept
{s['sampler']['target_accept']}; {jobs} fold(s) sampled at a time, {s['seconds']:.0f} s in all. Fold fits: max r_hat
{conv['r_hat_max'].max():.3f}, min bulk ESS {conv['ess_bulk_min'].min():.0f}, {int(conv['divergences'].sum())}
divergences in total.

**How figures are scored.** Each held-out figure is predicted from the posterior fitted without
its fold, at each information tier, by masking the inputs the tier does not know (T1: hours,
hardware, year, architecture, size, stated PUE/intensity or location; T2: size, tokens or
FLOPs, hardware, year, architecture, location, no hours; T3: size, year, architecture, task;
at every tier whether the run is a fine-tune, as its source says).
Of how the published number was made, only what its source states is given: its basis
(measured or nominal, GPU-only or system), the watts of a nominal figure where stated (T1, T2)
and whether a PUE is inside where the source says; a nominal figure that does not say is
predicted on the `nominal` basis, where the PUE convention and unstated watts are latents. The
predictive of a figure is rounded as the figure is printed ("17 MWh" is 16.5-17.5). A figure is
scored at a tier only when its inputs reach it (T1 needs reported hours, T2 reported compute);
the table at the end also shows every figure at every requested tier. APE is the absolute
percentage error of the posterior median; coverage is the share of figures inside the
equal-tailed interval; width is upper/lower of the 90% interval; CRPS is on log10 of the figure
(from 21 quantiles; a point forecast's CRPS is its absolute log10 error), lower is better; the
log score is the log density of log10(figure), higher is better.
"""]
    parts.append("## Targets\n\n" + _md_table(target_check(pred).assign(
        met=lambda d: np.where(d["met"], "met", "**missed**")), [("target", "target", 0), ("measured", "measured", 0),
                                                                    ("met", "", 0)]))
    for tier in TIERS:
        m = metrics(p[p["tier"] == tier], ("method",))
        if not len(m):
            continue
        m["method"] = m["method"].map(METHOD_NAMES)
        parts.append(f"## {TIER_NAMES[tier]}\n\n" + _md_table(m, [("method", "method", 0), *METRIC_COLS]))
        for split, label in (("basis", "label kind"), ("figure", "quantity")):
            if split not in p:
                continue
            mb = metrics(p[p["tier"] == tier], (split, "method"))
            mb["method"] = mb["method"].map(METHOD_NAMES)
            parts.append(f"{TIER_NAMES[tier]}, by {label} (every method on the same figures):\n\n"
                         + _md_table(mb, [(split, label, 0), ("method", "method", 0), *SPLIT_COLS]))
    for by in ("architecture", "family", "era"):
        m = metrics(p[p["method"] == "carbon_bayes"], ("tier", by))
        parts.append(f"## carbon_bayes by {by}\n\n" + _md_table(m, [("tier", "tier", 0), (by, by, 0),
                                                                       *GROUP_COLS]))
    parts.append(_largest_errors(p))
    allm = metrics(pred[pred["method"] == "carbon_bayes"], ("tier",))
    parts.append("## Every figure at every requested tier (carbon_bayes)\n\nFigures whose inputs do not reach the "
                 "tier are predicted with what they have (e.g. a figure without reported hours at T1 uses its "
                 "compute or metadata).\n\n" + _md_table(allm, [("tier", "tier", 0), *METRIC_COLS]))
    parts.append("## Plots\n\n" + "\n\n".join(f"![{f}]({f})" for f in plots))
    if discussion is not None and Path(discussion).is_file():
        parts.append(Path(discussion).read_text().strip())
    text = "\n\n".join(parts) + "\n"
    if posterior:
        text = marker(posterior) + "\n" + text
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    return path
