"""What the endpoints compute, without the web framework: plain functions of a request dict.

Each function checks its limits, calls the package (``estimate``, ``budget.plan``, ``report``,
``value_of_information``) exactly as the CLI does and returns JSON-ready Python. Warnings the
package raises are returned as ``notes``; a bad input raises
:class:`~carbon_bayes.errors.InputError`, which the app turns into a 422.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from carbon_bayes.errors import CarbonBayesWarning, InputError
from carbon_bayes.serve.limits import Limits  # noqa: F401  (re-exported: service.Limits)

T = TypeVar("T")
#: Probabilities of the quantiles returned for the plot of one run (0.1% to 99.9%, 999 points).
PLOT_PROBS = np.round(np.linspace(0.001, 0.999, 999), 6)
#: Newest common accelerators a run is compared with when suggestions are asked for.
SUGGESTED_HARDWARE = ("H100", "A100-80GB", "TPU v5p")
#: Cloud regions suggested: this many of the lowest-carbon ones.
N_SUGGESTED_REGIONS = 4


class Service:
    """The service's state: one predictor (read once, never written) and the request limits."""

    def __init__(self, posterior=None, limits: Limits | None = None):
        from carbon_bayes.posterior import sha256_file
        from carbon_bayes.predict import get_predictor

        self.predictor = get_predictor(posterior)
        path = self.predictor.posterior.path
        self.posterior_sha256 = sha256_file(path) if path != "<memory>" else None
        self.limits = limits or Limits()
        # The package's warning capture (warnings.catch_warnings) is process-wide state, so one
        # computation runs at a time; the predictor itself uses every core.
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ plumbing
    def _run(self, fn: Callable[[], T]) -> tuple[T, list[str]]:
        with self._lock, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CarbonBayesWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            out = fn()
        notes = list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, CarbonBayesWarning)))
        return out, notes

    def _options(self, req: dict[str, Any]) -> dict[str, Any]:
        n = req.get("n_draws")
        if n is not None and not 1 <= n <= self.limits.max_draws:
            raise InputError("n_draws", n, f"give between 1 and {self.limits.max_draws:,} draws per run (or leave "
                             "it out: the default is chosen by tier)")
        return {"ci_level": req.get("ci_level", 0.9), "n_draws": n, "seed": req.get("seed"),
                "posterior": self.predictor}

    def _rows(self, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(runs) > self.limits.max_rows:
            raise InputError("runs", f"{len(runs)} rows", f"at most {self.limits.max_rows:,} runs per request; "
                             "split the batch")
        if not runs:
            raise InputError("runs", "[]", "give at least one run")
        return [{k: v for k, v in r.items() if v is not None} for r in runs]

    # ------------------------------------------------------------------ endpoints
    def estimate_one(self, req: dict[str, Any]) -> dict[str, Any]:
        """Estimate one run: its output-contract row and quantiles of energy and CO2e for a plot."""
        from carbon_bayes.estimator import estimate

        run = self._rows([req["run"]])
        opts = self._options(req)

        def work():
            est = estimate(run, keep_draws=True, **opts)
            out: dict[str, Any] = {"estimate": records(est.to_frame(mcse=True))[0]}
            if req.get("distribution", True):
                out["distribution"] = {"probs": PLOT_PROBS.tolist(),
                                       **{q: clean(est.quantile(PLOT_PROBS, q).iloc[0].to_numpy().tolist())
                                          for q in ("energy_mwh", "co2_t")}}
            return out

        out, notes = self._run(work)
        return {**out, "notes": notes}

    def estimate_batch(self, req: dict[str, Any]) -> dict[str, Any]:
        """Estimate several runs: one output-contract row each, in input order."""
        from carbon_bayes.estimator import estimate

        runs = self._rows(req["runs"])
        opts = self._options(req)
        frame, notes = self._run(lambda: estimate(pd.DataFrame(runs), keep_draws=False, **opts).to_frame())
        return {"rows": records(frame), "notes": notes}

    def budget(self, req: dict[str, Any]) -> dict[str, Any]:
        """Compute P(CO2e > budget) of one run, and rank its alternatives when any are given or suggested."""
        from carbon_bayes import budget as budget_mod

        run = self._rows([req["run"]])[0]
        opts = self._options(req)
        alternatives = list(req.get("alternatives") or [])
        if req.get("suggest"):
            alternatives += suggested_alternatives(run)
        if len(alternatives) > self.limits.max_alternatives:
            raise InputError("alternatives", f"{len(alternatives)} alternatives",
                             f"at most {self.limits.max_alternatives} per request")

        def work():
            if alternatives:
                table = budget_mod.plan(run, budget_t=req["budget_t"], max_risk=req.get("max_risk", 0.05),
                                        alternatives=alternatives, **opts)
                return {"ranking": records(table), "n_draws": int(table.attrs["n_draws"])}
            from carbon_bayes.estimator import estimate

            b = budget_mod.check_budget(req["budget_t"])
            risk = budget_mod.check_risk(req.get("max_risk", 0.05))
            est = estimate([run], keep_draws=True, **opts)
            p = float(est.prob_exceeds(co2_t=b).iloc[0])
            return {"ranking": [], "prob_exceeds": p, "meets_risk": p <= risk,
                    "carbon_at_risk_t": float(est.carbon_at_risk(1 - risk).iloc[0]),
                    "expected_shortfall_t": float(est.expected_shortfall(b).iloc[0])}

        out, notes = self._run(work)
        if out["ranking"]:
            ref = next(r for r in out["ranking"] if r["is_reference"])
            out.update({k: ref[k] for k in ("prob_exceeds", "meets_risk", "carbon_at_risk_t",
                                            "expected_shortfall_t")})
        return {**out, "budget_t": req["budget_t"], "notes": notes}

    def report(self, req: dict[str, Any]) -> dict[str, Any]:
        """Write a report or an export in one of :data:`carbon_bayes.exports.ALL_FORMATS`, with its media type."""
        from carbon_bayes.exports import MEDIA_TYPES, write

        runs = self._rows(req["runs"])
        opts = self._options(req)
        fmt = req.get("format", "markdown")
        text, notes = self._run(lambda: write(runs if len(runs) > 1 else runs[0], format=fmt,
                                              training_type=req.get("training_type"), **opts))
        return {"format": fmt, "media_type": MEDIA_TYPES[fmt], "text": text, "notes": notes}

    def voi(self, req: dict[str, Any]) -> dict[str, Any]:
        """Rank the unknown inputs of one run by how much knowing each narrows its interval."""
        from carbon_bayes.voi import value_of_information

        run = self._rows([req["run"]])[0]
        opts = self._options(req)
        table, notes = self._run(lambda: value_of_information(run, quantity=req.get("quantity", "co2_t"), **opts))
        return {"inputs": records(table), "notes": notes}


def clean(values: list) -> list:
    """Replace non-finite floats by None (JSON has no NaN)."""
    return [None if isinstance(v, float) and not math.isfinite(v) else v for v in values]


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Return the rows of ``df`` as JSON-ready dicts (numpy scalars as Python, NaN as None)."""
    out = []
    for row in df.to_dict("records"):
        rec = {}
        for k, v in row.items():
            if isinstance(v, np.generic):
                v = v.item()
            rec[str(k)] = None if isinstance(v, float) and not math.isfinite(v) else v
        out.append(rec)
    return out


def suggested_alternatives(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Suggest alternatives for ``run``: the lowest-carbon cloud regions, the newest common chips.

    Regions are ranked by their carbon intensity in the run's year (2024 when unknown); the
    run's own region and hardware are left out.
    """
    from carbon_bayes import reference, schema

    norm = schema.normalise_runs([run]).iloc[0]
    year = int(norm["year"]) if not np.isnan(norm["year"]) else 2024
    regions = region_table()
    intensity = [reference.region_intensity(f"{p}:{r}", year)[0] for p, r in zip(regions["provider"],
                                                                               regions["region"], strict=True)]
    order = np.argsort(intensity, kind="stable")
    names = [f"{regions['provider'].iloc[i]}:{regions['region'].iloc[i]}" for i in order]
    alts: list[dict[str, Any]] = [{"region": r} for r in names if r != norm["region"]][:N_SUGGESTED_REGIONS]
    own = norm["hardware"]
    alts += [{"hardware": h} for h in SUGGESTED_HARDWARE if reference.resolve_hardware(h) != own]
    return alts


def region_table() -> pd.DataFrame:
    """Return the cloud regions (provider, region, location, country)."""
    from carbon_bayes.resources import priors_path

    return pd.read_csv(priors_path("cloud_regions.csv"))[["provider", "region", "location", "country_iso3"]]


def tables() -> dict[str, Callable[[], list[dict[str, Any]]]]:
    """Return the loaders of the reference tables the service lists, by name."""
    from carbon_bayes import reference

    def hardware():
        acc = reference.accelerators().reset_index()
        return records(acc[["hardware_id", "display_name", "tdp_w", "default_precision", "release_year", "aliases"]])

    def countries():
        from carbon_bayes.resources import priors_path

        t = pd.read_csv(priors_path("countries.csv"), dtype=str, keep_default_na=False)
        return records(t[["iso3", "iso2", "name", "continent"]])

    return {"hardware": hardware, "regions": lambda: records(region_table()), "countries": countries}


def contract() -> dict[str, Any]:
    """Return the input contract as JSON: columns (name, kind, unit, description, bounds), allowed values."""
    from dataclasses import asdict

    from carbon_bayes.contract import CATEGORIES, COLUMNS

    return {"columns": [asdict(c) for c in COLUMNS], "categories": {k: list(v) for k, v in CATEGORIES.items()}}
