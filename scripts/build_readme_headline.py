"""Write the validation headline of README.md ("How good is it") from the saved validation runs.

    python scripts/build_readme_headline.py [--readme README.md] [--validation docs/validation.md]
                                            [--loo docs/validation_loo.md]

Every figure comes from the predictions and settings that ``carbon-bayes validate`` saved next to
its reports (``docs/validation_predictions.csv``, ``docs/validation_run.json``; the same for
``validation_loo``), scored with the report's own functions; nothing is typed. Only the text
between the README's "validation-headline" begin and end lines is replaced, under the marker of
the posterior the headline (leave-one-organisation-out) run recorded (carbon_bayes.provenance).
``python scripts/rebuild.py``
runs this after the validation.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from carbon_bayes.provenance import replace_section_in_file
from carbon_bayes.validate import FORMULAS, ML_MODELS, TARGETS, metrics
from carbon_bayes.validation_report import at_tier, load_result, saved_posterior_sha256, target_check

SECTION = "validation-headline"
FORMULA_NAMES = {"ml_co2_impact": "ML CO2 Impact", "green_algorithms": "Green Algorithms",
                 "flops_formula": "FLOPs formula (u = 0.4)"}
BASELINE_NAMES = {**FORMULA_NAMES, "random_forest": "the random forest", "gradient_boosting": "gradient boosting"}
TARGET_KINDS = {"median APE": "median-error", "90% intervals": "90%-coverage", "50% intervals": "50%-coverage",
                "CRPS": "CRPS", "90% width": "width"}


def pct(v: float) -> str:
    """Format a percentage with one decimal, without a trailing .0 (92.5%, 60%)."""
    return f"{v:.1f}".removesuffix(".0") + "%"


def fill(text: str, width: int = 100) -> str:
    return textwrap.fill(" ".join(text.split()), width, break_on_hyphens=False, break_long_words=False)


def _formulas(p: pd.DataFrame) -> str:
    """Each formula that answers these figures, with its median error.

    A formula whose predictions equal an earlier one's (the FLOPs formula given hours) is not listed
    twice.
    """
    out, seen = [], []
    for f in FORMULAS:
        g = p[p["method"] == f].set_index("run_id")
        if not g["median"].notna().any():
            continue
        if any(g["median"].equals(s) for s in seen):
            continue
        seen.append(g["median"])
        out.append(f"{FORMULA_NAMES[f]} {pct(metrics(g.reset_index(), ('method',))['median_ape'].iloc[0])}")
    return ", ".join(out) or "no formula answers"


def table(pred: pd.DataFrame) -> str:
    p = at_tier(pred)
    rows = [("T1 hours known, measured figures", p[(p["tier"] == "T1") & (p["basis"] == "measured")]),
            ("T1 hours known, nominal figures", p[(p["tier"] == "T1") & (p["basis"] == "nominal")]),
            ("T1 hours known, all figures", p[p["tier"] == "T1"]),
            ("T2 compute known, no hours", p[p["tier"] == "T2"]),
            ("T3 metadata only", p[p["tier"] == "T3"])]
    lines = ["| tier (what is known) | figures | carbon_bayes median error | 90% / 50% intervals hold | "
             "today's formulas (no interval), median error |", "| --- | --- | --- | --- | --- |"]
    for name, g in rows:
        if not len(g):
            continue
        m = metrics(g, ("method",)).set_index("method")
        cb = m.loc["carbon_bayes"]
        formula_apes = [m.loc[f, "median_ape"] for f in FORMULAS if f in m.index and m.loc[f, "answered"] > 0]
        err = pct(cb["median_ape"])
        if formula_apes and cb["median_ape"] < min(formula_apes):
            err = f"**{err}**"
        decades = np.log10(cb["width90"])
        if decades >= 1:
            err += f" (intervals: median {decades:.1f} decades)"
        lines.append(f"| {name} | {int(cb['n'])} | {err} | {pct(cb['cover90'])} / {pct(cb['cover50'])} | "
                     f"{_formulas(g)} |")
    return "\n".join(lines)


def _crps_gaps(pred: pd.DataFrame) -> list[dict]:
    """Per tier and baseline: mean CRPS of both on the figures the baseline answers.

    With the mean paired difference and its standard error.
    """
    p = at_tier(pred)
    out = []
    for tier in sorted(p["tier"].unique()):
        ours = p[(p["tier"] == tier) & (p["method"] == "carbon_bayes")].set_index("run_id")["crps"]
        for b in (*FORMULAS, *ML_MODELS):
            theirs = p[(p["tier"] == tier) & (p["method"] == b)].set_index("run_id")["crps"].dropna()
            common = theirs.index.intersection(ours.index)
            if not len(common):
                continue
            d = theirs[common] - ours[common]
            se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
            out.append({"tier": tier, "baseline": b, "ours": float(ours[common].mean()),
                        "theirs": float(theirs[common].mean()), "diff": float(d.mean()), "se": se})
    return out


def _gap_text(g: dict) -> str:
    noise = ", within noise" if abs(g["diff"]) < 2 * g["se"] else ""
    return (f"{BASELINE_NAMES[g['baseline']]} at {g['tier']}, {g['theirs']:.3f} against {g['ours']:.3f} (paired "
            f"difference {abs(g['diff']):.3f} +- {g['se']:.3f}, one standard error{noise})")


def crps_sentence(pred: pd.DataFrame, subject: str) -> str:
    gaps = _crps_gaps(pred)
    lost = [g for g in gaps if g["diff"] <= 0]
    if not lost:
        closest = min(gaps, key=lambda g: g["diff"])
        return (f"{subject} CRPS beats every formula and the random-forest and gradient-boosting baselines at every "
                f"tier; the closest is {_gap_text(closest)}.")
    def where(g):
        noise = ", within noise" if abs(g["diff"]) < 2 * g["se"] else ""
        return (f"at {g['tier']}, where {BASELINE_NAMES[g['baseline']]} scores {g['theirs']:.3f} against its "
                f"{g['ours']:.3f} (paired difference {abs(g['diff']):.3f} +- {g['se']:.3f}, one standard error{noise})")

    return (f"{subject} CRPS beats every formula and the random-forest and gradient-boosting baselines, except "
            + " and ".join(where(g) for g in lost) + ".")


def _targets(pred: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Names of the missed targets, and the coverages that sit on an edge of their band."""
    missed = []
    for r in target_check(pred).itertuples(index=False):
        if not r.met:
            head = r.target.split(":")[0].replace(" labels", "")
            kind = next(v for k, v in TARGET_KINDS.items() if k in r.target)
            missed.append(f"the {head} {kind} one")
    p = at_tier(pred)
    m = metrics(p[p["method"] == "carbon_bayes"], ("tier",)).set_index("tier")
    edges = []
    for tier in m.index:
        for key, lev in (("coverage90", 90), ("coverage50", 50)):
            lo, hi = TARGETS[key]
            v = m.loc[tier, f"cover{lev}"]
            if np.isclose(v, lo) or np.isclose(v, hi):
                k = int(round(v * m.loc[tier, "n"] / 100))
                edges.append(f"the {tier} {lev}% coverage is at the edge of its {lo:.0f}-{hi:.0f}% band "
                             f"({k} of {int(m.loc[tier, 'n'])} figures)")
    return missed, edges


def _targets_clause(pred: pd.DataFrame, where: str) -> str:
    missed, edges = _targets(pred)
    n = len(target_check(pred))
    text = (f"Every target of the project is met {where}" if not missed else
            f"{n - len(missed)} of the project's {n} targets are met {where} (all but " + " and ".join(missed) + ")")
    return text + ("; " + " and ".join(edges) if edges else "") + "."


def headline(validation: str = "docs/validation.md", loo: str | None = "docs/validation_loo.md",
             root: str | Path = ".", groups: str | None = "docs/validation_groups.md") -> tuple[str, str]:
    """Return the README block (without the marker) and the posterior SHA-256 the headline run recorded.

    ``validation`` (leave one organisation out, the headline), ``groups`` (grouped K folds) and
    ``loo`` (leave one run out) are the reports' paths relative to ``root`` (the README's
    folder), as the block links them.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' groupby-apply notices
        return _headline(validation, groups, loo, Path(root))


def _beside(root: Path, path: str, sha: str, name: str) -> str:
    """One sentence on another validation scheme's saved run: T1 figures, CRPS and targets."""
    res, _, _ = load_result(root / path)
    p = at_tier(res.predictions)
    lm = metrics(p[p["method"] == "carbon_bayes"], ("tier", "basis")).set_index(["tier", "basis"])
    lt = metrics(p[p["method"] == "carbon_bayes"], ("tier",)).set_index("tier")
    stale = "" if saved_posterior_sha256(root / path) == sha else (
        " (run on an earlier posterior than the headline; `python scripts/rebuild.py` reruns it)")
    return (f" {name} ([{path}]({path})){stale} gives a T1 measured error of "
            f"{pct(lm.loc[('T1', 'measured'), 'median_ape'])} and T1 coverage of {pct(lt.loc['T1', 'cover90'])} / "
            f"{pct(lt.loc['T1', 'cover50'])}; " + crps_sentence(res.predictions, "its")
            + " " + _targets_clause(res.predictions, "there"))


def _headline(validation: str, groups: str | None, loo: str | None, root: Path) -> tuple[str, str]:
    res, _, _ = load_result(root / validation)
    sha = saved_posterior_sha256(root / validation)
    if sha is None:
        raise SystemExit(f"{validation}: its saved run records no posterior_sha256; rerun the validation "
                         "(python scripts/rebuild.py --from validate)")
    pred, s = res.predictions, res.settings
    if s.get("by") == "organisation":
        n_org = pred["operator"].nunique() if "operator" in pred else "?"
        intro = (f"Leave-one-organisation-out validation on {s['n_labels']} published figures from {s['n_groups']} "
                 f"training runs of {n_org} organisations: every figure of one organisation leaves the fit "
                 "together and is predicted from what its source states, as a user from a lab the data do not "
                 "hold meets the model (`carbon-bayes validate`; full report with plots, the same tables split "
                 "by label kind and quantity, and an honest discussion of the misses in "
                 f"[{validation}]({validation})):")
    else:
        folds = f"{s['folds']}-fold" if isinstance(s["folds"], int) else str(s["folds"])
        intro = (f"Grouped {folds} cross-validation on {s['n_labels']} published figures from {s['n_groups']} "
                 "training runs (all figures of a run leave together; `carbon-bayes validate`, full report in "
                 f"[{validation}]({validation})):")
    text = [fill(intro), table(pred)]
    para = crps_sentence(pred, "Here its") + " " + _targets_clause(pred, "here")
    for path, name in ((groups, "Grouped 10-fold cross-validation"), (loo, "Leave-one-run-out")):
        if path is not None and (root / path).is_file():
            para += _beside(root, path, sha, name)
    text.append(fill(para))
    return "\n\n".join(text), sha


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--readme", default="README.md")
    p.add_argument("--validation", default="docs/validation.md")
    p.add_argument("--groups", default="docs/validation_groups.md", help="grouped K-fold report ('' to leave it out)")
    p.add_argument("--loo", default="docs/validation_loo.md", help="leave-one-run-out report ('' to leave it out)")
    a = p.parse_args(argv)
    body, sha = headline(a.validation, a.loo or None, Path(a.readme).parent, a.groups or None)
    replace_section_in_file(a.readme, SECTION, body, sha)
    print(f"rewrote the {SECTION} section of {a.readme} (posterior sha256:{sha[:12]})", file=sys.stderr)


if __name__ == "__main__":
    main()
