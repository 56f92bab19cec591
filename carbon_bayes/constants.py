"""Package-wide constants (one place, so no default drifts silently).

ArviZ 1.x defaults to an 89% equal-tailed interval; carbon_bayes reports 90% equal-tailed
intervals unless the caller asks for another level. Every summary in the package (the
predictor, reports, validation, ArviZ summaries of parameters) uses these two constants.
"""

from __future__ import annotations

#: Default credible-interval level of every estimate (the ``ci_level`` arguments).
CI_LEVEL = 0.9
#: Kind of the credible intervals: "eti" (equal-tailed: the (1-level)/2 and (1+level)/2 quantiles).
#: (Formerly ``CI_KIND``; "ci" elsewhere in the package also abbreviates carbon intensity.)
INTERVAL_KIND = "eti"
#: Default random seed of predictions (reproducible output for the same input).
SEED = sum(map(ord, "carbon_bayes"))
#: Predictive draws per run to start with, by information tier. A run whose median's Monte Carlo
#: error is then over its tier's :data:`MCSE_TARGET` is simulated again with its draws doubled as
#: often as the error says (about 1.25 sigma / sqrt(n) on the log scale), up to :data:`N_DRAWS_MAX`;
#: one still over says so in its warnings. Only the run's own inputs decide, so its numbers do not
#: depend on the batch.
N_DRAWS_BY_TIER = {"T1": 1000, "T2": 2000, "T3": 4000}
#: Relative Monte Carlo standard error of the median each tier aims at.
MCSE_TARGET = {"T1": 0.01, "T2": 0.01, "T3": 0.05}
#: Most draws a run gets to reach its target.
N_DRAWS_MAX = 32_000
#: Default draws where a single count is needed (T1's).
N_DRAWS = N_DRAWS_BY_TIER["T1"]
#: Runs x draws simulated together (bounded memory: each array of a chunk is about 8 MB; a
#: chunk holds about 2,000 runs at 1,000 draws, 500 at 4,000).
CHUNK_ELEMENTS = 2_000_000

#: Sampler settings of every fit unless overridden (CarbonModel, `carbon-bayes fit/update/validate`).
DEFAULT_SAMPLER_CONFIG = {"sampler": "auto", "draws": 4000, "tune": 2000, "chains": 4, "target_accept": 0.95,
                          "seed": 20260101, "progressbar": True}

#: Formats of ``carbon-bayes report`` (carbon_bayes.report), of its exports (carbon_bayes.exports) and of the
#: measurement files ``update`` reads (carbon_bayes.measurements): here so that the CLI's parser needs none of them.
REPORT_FORMATS = ("markdown", "latex", "bibtex", "hf-card", "json")
EXPORT_FORMATS = ("boamps", "eu-ai-act", "eu-ai-act-json", "hf-co2")
MEASUREMENT_FORMATS = ("codecarbon", "model-card", "csv")
#: Every format ``carbon-bayes report`` and the service's ``/v1/report`` write: the reports, then the exports.
ALL_FORMATS = REPORT_FORMATS + EXPORT_FORMATS


def __getattr__(name: str) -> object:
    if name == "CI_KIND":  # renamed: "CI" also abbreviates carbon intensity
        from carbon_bayes._compat import deprecated_module_attribute

        return deprecated_module_attribute("carbon_bayes.constants", "CI_KIND", "INTERVAL_KIND", INTERVAL_KIND)
    raise AttributeError(f"module 'carbon_bayes.constants' has no attribute {name!r}")
