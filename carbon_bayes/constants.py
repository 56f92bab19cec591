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
#: Posterior draws used per prediction (evenly thinned from the saved draws).
N_DRAWS = 1000
#: Batches larger than this use :data:`N_DRAWS_BULK` draws by default (throughput: 100,000 runs
#: in seconds); the Monte-Carlo error of a 90% bound from 500 draws is about a tenth of the
#: predictive sd on the log scale. Pass ``n_draws`` to choose.
BULK_THRESHOLD = 20_000
N_DRAWS_BULK = 500
#: Runs x draws simulated together (bounded memory: each array of a chunk is about 8 MB; a
#: chunk holds about 2,000 runs at 1,000 draws, 4,000 at 500).
CHUNK_ELEMENTS = 2_000_000

#: Sampler settings of every fit unless overridden (CarbonModel, `carbon-bayes fit/update/validate`).
DEFAULT_SAMPLER_CONFIG = {"sampler": "auto", "draws": 3000, "tune": 2000, "chains": 4, "target_accept": 0.99,
                          "seed": 20260101, "progressbar": True}


def __getattr__(name: str) -> object:
    if name == "CI_KIND":  # renamed: "CI" also abbreviates carbon intensity
        from carbon_bayes._compat import deprecated_module_attribute

        return deprecated_module_attribute("carbon_bayes.constants", "CI_KIND", "INTERVAL_KIND", INTERVAL_KIND)
    raise AttributeError(f"module 'carbon_bayes.constants' has no attribute {name!r}")
