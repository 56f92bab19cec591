"""Figures for decisions and reports (matplotlib, imported only when a plot is made).

Every function returns a :class:`matplotlib.figure.Figure` and never calls ``show()``; when
no ``ax`` is given the figure is created with :class:`matplotlib.figure.Figure` directly (not
through ``pyplot``), so nothing accumulates in pyplot's global state and plotting works
headless. Save with ``fig.savefig("plot.png")``.

- :func:`plot_predictive`: the predictive distribution of one run (or of a sweep total) with
  its credible interval, a budget line, and ``P(exceed)`` shaded and printed.
- :func:`plot_alternatives`: the alternatives of :func:`carbon_bayes.budget.plan` side by side.
- :func:`plot_effects`: a forest plot of the learned efficiency effects of a posterior.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from carbon_bayes import effects
from carbon_bayes._compat import renamed_kwargs
from carbon_bayes.constants import CI_LEVEL
from carbon_bayes.errors import InputError

_UNITS = {"co2_t": "CO$_2$e (t)", "energy_mwh": "energy (MWh)"}
def plotted_effects() -> dict[str, tuple[str, str]]:
    """Group effects of the forest plot (from the registry): variable -> (panel, dim)."""
    return {e.name: (e.panel, e.dim) for e in effects.EFFECTS if e.panel}


def _new_axes(ax, figsize):
    from matplotlib.figure import Figure

    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _draws_of(estimate, run, quantity: str) -> tuple[np.ndarray, str]:
    """1-D draws and a title from an Estimate (run by position or id), a SweepResult or an array."""
    from carbon_bayes.budget import SweepResult
    from carbon_bayes.estimator import Estimate

    if quantity not in _UNITS:
        raise InputError("quantity", quantity, "use co2_t or energy_mwh")
    if isinstance(estimate, Estimate):
        da = estimate.draws[quantity]
        ids = [str(r) for r in da["run"].values]
        if isinstance(run, str):
            if run not in ids:
                raise InputError("run", run, f"no such run_id; the estimate has {', '.join(ids[:5])}"
                                 + (" ..." if len(ids) > 5 else ""))
            pos = ids.index(run)
        else:
            pos = int(run)
            if not -len(ids) <= pos < len(ids):
                raise InputError("run", run, f"the estimate has {len(ids)} runs (positions 0-{len(ids) - 1})")
        d = np.asarray(da.values[pos], dtype=float)
        return d[~np.isnan(d)], ids[pos]  # NaN pads a run with fewer draws than the batch's most
    if isinstance(estimate, SweepResult):
        return np.asarray(estimate.draws[quantity].values, dtype=float), f"total of {estimate.n_runs} runs"
    arr = np.asarray(estimate, dtype=float).ravel()
    if arr.size == 0:
        raise InputError("estimate", "empty", "give an Estimate, a SweepResult or an array of draws")
    return arr, ""


@renamed_kwargs(ci="ci_level")
def plot_predictive(estimate, *, run=0, budget_t: float | None = None, quantity: str = "co2_t", ax=None,
                    ci_level: float | None = None, bins: int = 60, log: bool | None = None):
    """Histogram of the predictive draws with the credible interval and a budget.

    Parameters
    ----------
    estimate
        An :class:`~carbon_bayes.estimator.Estimate` (with draws), a
        :class:`~carbon_bayes.budget.SweepResult` (its total), or an array of draws.
    run
        Position or run_id of the run in an Estimate (default the first).
    budget_t
        Budget in the unit of ``quantity``: drawn as a line, the draws above it shaded, and
        ``P(exceed)`` printed.
    quantity
        ``co2_t`` (default) or ``energy_mwh``.
    ax
        Axes to draw on (default: a new Figure).
    ci_level
        Credible-interval level (default: the estimate's, else 0.9). ``ci=`` is a deprecated alias.
    bins
        Histogram bins.
    log
        Log-scale x axis (default: when the draws span more than a factor 30).

    Returns
    -------
    matplotlib.figure.Figure
    """
    draws, title = _draws_of(estimate, run, quantity)
    level = float(ci_level if ci_level is not None else getattr(estimate, "ci_level", CI_LEVEL))
    fig, ax = _new_axes(ax, (6.4, 4.0))
    pos = draws[draws > 0]
    if log is None:
        log = pos.size > 0 and np.quantile(pos, 0.99) / np.quantile(pos, 0.01) > 30
    if log and pos.size:
        edges = np.geomspace(pos.min(), draws.max(), bins + 1)
        ax.set_xscale("log")
    else:
        edges = np.linspace(draws.min(), draws.max(), bins + 1)
        log = False
    counts, edges, patches = ax.hist(draws, bins=edges, color="#4C72B0", alpha=0.85, label="predictive draws")
    lo, med, hi = np.quantile(draws, [(1 - level) / 2, 0.5, (1 + level) / 2])
    ax.axvspan(lo, hi, color="#4C72B0", alpha=0.12, label=f"{level:.0%} credible interval {lo:.3g}-{hi:.3g}")
    ax.axvline(med, color="#1f2d4d", lw=1.5, label=f"median {med:.3g}")
    if budget_t is not None:
        from carbon_bayes.risk import check_budget

        b = check_budget(budget_t)
        p = float((draws > b).mean())
        for left, patch in zip(edges[:-1], patches, strict=True):
            if left >= b:
                patch.set_facecolor("#C44E52")
        if edges[0] < b < edges[-1]:  # split the bin the budget falls into
            ax.axvspan(b, edges[-1], color="#C44E52", alpha=0.10)
        ax.axvline(b, color="#C44E52", lw=2, ls="--", label=f"budget {b:.3g}")
        ax.text(0.98, 0.95, f"P(exceed) = {p:.1%}", transform=ax.transAxes, ha="right", va="top", fontsize=11,
                color="#C44E52", bbox={"facecolor": "white", "edgecolor": "#C44E52", "alpha": 0.9})
    ax.set_xlabel(_UNITS[quantity])
    ax.set_ylabel("draws")
    ax.set_title(("predictive distribution" + (f": {title}" if title else "")), fontsize=11)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return fig


def plot_alternatives(plan_frame: pd.DataFrame, *, budget_t: float | None = None, ax=None, max_risk=None):
    """Plot the alternatives of :func:`carbon_bayes.budget.plan` side by side.

    Each row is drawn as its median (dot) and credible interval (bar); the reference is
    highlighted, the budget drawn as a line, and each row labelled with ``P(exceed)``;
    rows that meet the risk limit are green.

    Parameters
    ----------
    plan_frame
        The DataFrame returned by :func:`~carbon_bayes.budget.plan`.
    budget_t
        Budget line (default: ``plan_frame.attrs["budget_t"]``).
    ax
        Axes to draw on (default: a new Figure).
    max_risk
        Unused unless ``meets_risk`` is absent (default ``plan_frame.attrs["max_risk"]``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    need = {"alternative", "co2_t_median", "co2_t_lower", "co2_t_upper"}
    missing = need - set(plan_frame.columns)
    if missing:
        raise InputError("plan_frame", sorted(missing), "give the DataFrame returned by carbon_bayes.budget.plan()")
    df = plan_frame.reset_index(drop=True)
    budget_t = budget_t if budget_t is not None else df.attrs.get("budget_t")
    risk = max_risk if max_risk is not None else df.attrs.get("max_risk")
    n = len(df)
    fig, ax = _new_axes(ax, (7.5, max(2.2, 0.45 * n + 1.2)))
    y = np.arange(n)[::-1]
    if "meets_risk" in df:
        ok = df["meets_risk"].to_numpy(dtype=bool)
    elif budget_t is not None and risk is not None and "prob_exceeds" in df:
        ok = df["prob_exceeds"].to_numpy() <= float(risk)
    else:
        ok = np.zeros(n, dtype=bool)
    ref = df["is_reference"].to_numpy(dtype=bool) if "is_reference" in df else np.zeros(n, dtype=bool)
    colors = np.where(ok, "#55A868", "#C44E52")
    med = df["co2_t_median"].to_numpy(dtype=float)
    lo = df["co2_t_lower"].to_numpy(dtype=float)
    hi = df["co2_t_upper"].to_numpy(dtype=float)
    ax.hlines(y, lo, hi, colors=colors, lw=3, alpha=0.7)
    ax.scatter(med, y, c=colors, s=36, zorder=3, edgecolors=np.where(ref, "black", "none"), linewidths=1.5)
    labels = ["reference (the run as given)" if r else str(a) for a, r in zip(df["alternative"], ref, strict=True)]
    ax.set_yticks(y, labels, fontsize=8)
    if "prob_exceeds" in df:
        for yi, h, p in zip(y, hi, df["prob_exceeds"], strict=True):
            ax.annotate(f" P(exceed) {p:.0%}", (h, yi), va="center", fontsize=7)
    if budget_t is not None:
        ax.axvline(float(budget_t), color="black", ls="--", lw=1.5)
        ax.annotate(f"budget {float(budget_t):.3g} t", (float(budget_t), 1.0), xycoords=("data", "axes fraction"),
                    xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=8)
    if np.all(lo > 0) and hi.max() / lo.min() > 30:
        ax.set_xscale("log")
    level = df.attrs.get("ci", CI_LEVEL)
    ax.set_xlabel(f"CO$_2$e (t): median and {level:.0%} credible interval")
    ax.set_title("alternatives under the budget" + (f" (max risk {float(risk):.0%})" if risk is not None else ""),
                 fontsize=11, pad=14)
    ax.margins(x=0.15)
    return fig


@renamed_kwargs(ci="ci_level")
def effects_table(posterior=None, *, ci_level: float = CI_LEVEL) -> pd.DataFrame:
    """Tabulate the learned efficiency effects of a posterior (what :func:`plot_effects` draws).

    Parameters
    ----------
    posterior
        A posterior path, a loaded :class:`~carbon_bayes.posterior.Posterior`, or None (the
        shipped default).
    ci_level
        Credible-interval level (default 0.9). ``ci=`` is a deprecated alias.

    Returns
    -------
    pandas.DataFrame
        ``variable``, ``panel``, ``level``, ``median``, ``lower``, ``upper`` and ``observed``
        (the fit saw runs of that level, per ``model_config["observed"]``).
    """
    from carbon_bayes.posterior import Posterior, load_posterior

    post = posterior if isinstance(posterior, Posterior) else load_posterior(posterior)
    observed = post.model_config.get("observed", {})
    rows = []
    lo_q, hi_q = (1 - ci_level) / 2, (1 + ci_level) / 2
    for var, (panel, dim) in plotted_effects().items():
        draws = post.draws[var]
        seen = set(observed.get(dim, []))
        for j, level in enumerate(post.levels[dim]):
            lo, med, hi = np.quantile(draws[:, j], [lo_q, 0.5, hi_q])
            rows.append({"variable": var, "panel": panel, "level": level, "median": med, "lower": lo, "upper": hi,
                         "observed": level in seen})
    return pd.DataFrame(rows)


@renamed_kwargs(ci="ci_level")
def plot_effects(posterior=None, *, ax=None, ci_level: float = CI_LEVEL, unobserved: str = "faded"):
    """Forest plot of the learned efficiency effects (utilisation and power-fraction group effects).

    Parameters
    ----------
    posterior
        Posterior path, loaded :class:`~carbon_bayes.posterior.Posterior`, or None (shipped).
    ax
        Not supported for this two-panel figure unless it is a pair of axes
        ``(ax_utilisation, ax_power)``; default a new Figure.
    ci_level
        Credible-interval level (default 0.9). ``ci=`` is a deprecated alias.
    unobserved
        ``"faded"`` (default: levels the fit never saw drawn faded; their effect is the prior
        of a new group) or ``"omit"``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    if unobserved not in ("faded", "omit"):
        raise InputError("unobserved", unobserved, "use 'faded' or 'omit'")
    tab = effects_table(posterior, ci_level=ci_level)
    if unobserved == "omit":
        tab = tab[tab["observed"]]
    plotted = plotted_effects()
    panels = list(dict.fromkeys(p for p, _ in plotted.values()))
    if ax is None:
        n_max = max(len(tab[tab["panel"] == p]) for p in panels)
        fig = Figure(figsize=(10, max(3.5, 0.22 * n_max + 1.5)), layout="constrained")
        axes = fig.subplots(1, len(panels))
    else:
        axes = list(ax) if np.iterable(ax) else [ax]
        if len(axes) != len(panels):
            raise InputError("ax", ax, f"give {len(panels)} axes (utilisation, power) or none")
        fig = axes[0].figure
    palette = {"generation": "#4C72B0", "family": "#4C72B0", "architecture": "#DD8452", "era": "#55A868"}
    for a, panel in zip(axes, panels, strict=True):
        sub = tab[tab["panel"] == panel].reset_index(drop=True)
        y = np.arange(len(sub))[::-1]
        for yi, r in zip(y, sub.itertuples(), strict=True):
            dim = plotted[r.variable][1]
            alpha = 1.0 if r.observed else 0.3
            colour = palette.get(dim, "#8172B3")  # a registry effect on another dim (task, provider)
            a.hlines(yi, r.lower, r.upper, color=colour, lw=2.5, alpha=alpha)
            a.plot(r.median, yi, "o", color=colour, alpha=alpha, ms=4)
        a.set_yticks(y, [f"{plotted[v][1]}: {lvl}" for v, lvl in zip(sub["variable"], sub["level"], strict=True)],
                     fontsize=7)
        for tick, obs in zip(a.get_yticklabels(), sub["observed"], strict=True):
            tick.set_alpha(1.0 if obs else 0.4)
        a.axvline(0, color="grey", lw=1, ls=":")
        a.set_xlabel(f"effect on {panel}: median and {ci_level:.0%} interval")
        a.set_title(panel, fontsize=10)
    note = "faded: levels no fitted run had (new-group draws)" if unobserved == "faded" else "observed levels only"
    fig.suptitle(f"learned efficiency effects ({note})", fontsize=10)
    return fig
