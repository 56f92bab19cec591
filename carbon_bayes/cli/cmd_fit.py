"""``carbon-bayes fit``: fit the hierarchical model and write a posterior file."""

from __future__ import annotations

ORDER = 30


def register(sub) -> None:
    """Add the ``fit`` subcommand to ``sub`` (the subparsers of the main parser)."""
    from carbon_bayes.cli.common import add_sampler_flags

    p = sub.add_parser("fit", help="fit the model to a training-run dataset (MCMC) and save the posterior",
                       description="Fit the hierarchical model with NUTS (nutpie when installed, else PyMC) and "
                                   "write one netCDF posterior file. Fails unless the convergence gate passes "
                                   "(r_hat <= 1.01, bulk ESS >= 400, no divergences).")
    p.add_argument("--data", metavar="CSV", help="dataset in the data/training_runs.csv format (default: shipped)")
    p.add_argument("--out", metavar="NC", required=True, help="posterior file to write")
    p.add_argument("--priors", metavar="TOML", help="prior specification (default: priors/model_priors.toml)")
    add_sampler_flags(p)
    p.add_argument("--thin", type=int, default=1, help="keep every n-th draw in the file (default 1)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``carbon-bayes fit`` with the parsed ``args``; return the exit status."""
    from carbon_bayes.errors import InputError
    from carbon_bayes.fitting import CarbonModel

    for name in ("draws", "tune", "chains", "thin"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise InputError(f"--{name}", v, "must be a positive integer")
    if args.target_accept is not None and not 0.5 <= args.target_accept < 1:
        raise InputError("--target-accept", args.target_accept, "give a value in [0.5, 1), e.g. 0.99")
    m = CarbonModel(priors=args.priors)
    m.fit(args.data, allow_unconverged=args.allow_unconverged, draws=args.draws, tune=args.tune, chains=args.chains,
          seed=args.seed, sampler=args.sampler, target_accept=args.target_accept,
          progressbar=False if args.no_progress else None)
    path = m.save(args.out, thin=args.thin)
    print(f"wrote {path}")
    return 0
