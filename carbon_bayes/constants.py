"""Package-wide constants (one place, so no default drifts silently).

ArviZ 1.x defaults to an 89% equal-tailed interval; carbon_bayes reports 90% equal-tailed
intervals unless the caller asks for another level. Every summary in the package (the
predictor, reports, validation, ArviZ summaries of parameters) uses these two constants.
"""

#: Default credible-interval level of every estimate.
CI_LEVEL = 0.9
#: Interval kind: "eti" (equal-tailed: the (1-level)/2 and (1+level)/2 quantiles).
CI_KIND = "eti"
#: Default random seed of predictions (reproducible output for the same input).
SEED = sum(map(ord, "carbon_bayes"))
#: Posterior draws used per prediction (evenly thinned from the saved draws).
N_DRAWS = 1000
#: Runs simulated together (bounded memory: about 100 MB per chunk at 1,000 draws).
CHUNK_SIZE = 2048
