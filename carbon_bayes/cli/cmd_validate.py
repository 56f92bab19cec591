"""``carbon-bayes validate``: grouped cross-validation by tier, with every baseline, written to markdown."""

from __future__ import annotations

ORDER = 40


def register(sub) -> None:
    """Add the ``validate`` subcommand to ``sub`` (the subparsers of the main parser)."""
    p = sub.add_parser("validate", help="grouped cross-validation by information tier against the baselines",
                       description="Refit the model on each training fold (all figures of a run group leave "
                                   "together, or with --by organisation every figure of one organisation), "
                                   "predict held-out published figures at tiers T1/T2/T3, score them "
                                   "with the formulas and machine-learning baselines on the same rows, and write "
                                   "a report with plots. Needs the benchmark extra (scikit-learn, matplotlib).")
    p.add_argument("--by", choices=("organisation", "organization", "group", "run"), default="organisation",
                   help="what leaves together: organisation (default: every figure of one organisation, as a user "
                        "from a new lab meets the model), group (K folds of run groups) or run "
                        "(leave-one-run-out, as --loo)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--folds", type=int, default=10, help="number of grouped folds with --by group (default 10)")
    g.add_argument("--loo", action="store_true", help="exact leave-one-run-out instead of K folds (= --by run)")
    p.add_argument("--tiers", default="T1,T2,T3", help="comma-separated tiers (default T1,T2,T3)")
    p.add_argument("--out", default="docs/validation.md", help="markdown report (plots and a CSV of predictions "
                                                               "are written next to it)")
    p.add_argument("--data", metavar="CSV", help="dataset (default: the shipped data/training_runs.csv)")
    p.add_argument("--discussion", metavar="MD", default="docs/validation_discussion.md",
                   help="hand-written discussion appended to the report, if the file exists")
    from carbon_bayes.constants import DEFAULT_SAMPLER_CONFIG as D

    p.add_argument("--draws", type=int, help=f"MCMC draws per chain per fold (default {D['draws']})")
    p.add_argument("--tune", type=int, help=f"tuning steps per chain per fold (default {D['tune']})")
    p.add_argument("--seed", type=int, default=None, help="random seed (folds and sampling)")
    p.add_argument("--jobs", type=int, default=None,
                   help="folds sampled at once (default: one per `chains` cores, e.g. 1 on 2 cores, 4 on 16; "
                        "each fold's chains already run in parallel); the result does not depend on it")
    p.add_argument("--no-ml", action="store_true", help="skip the random-forest and gradient-boosting baselines")
    p.add_argument("--no-progress", action="store_true", help="hide the per-fold progress line")
    p.add_argument("--report-only", action="store_true",
                   help="rebuild the report (e.g. after editing the discussion) from the predictions and settings "
                        "saved next to --out by an earlier run, without refitting")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``carbon-bayes validate`` with the parsed ``args``; return the exit status."""
    import shlex
    import sys

    from carbon_bayes.constants import SEED
    from carbon_bayes.dataset import load_training_runs
    from carbon_bayes.errors import InputError
    from carbon_bayes.provenance import posterior_sha256
    from carbon_bayes.validation_report import (
        load_result,
        save_result,
        saved_posterior_sha256,
        target_check,
        write_report,
    )

    if args.report_only:
        result, command, date = load_result(args.out)
        path = write_report(result, args.out, command, load_training_runs(args.data), args.discussion, date)
        print(f"wrote {path} (from the run of {date})")
        if saved_posterior_sha256(args.out) is None:
            print("note: the saved run records no posterior_sha256 (saved before runs recorded it), so the report "
                  "has no provenance marker; rerun the validation to get one", file=sys.stderr)
        return 0
    tiers = tuple(t.strip().upper() for t in args.tiers.split(",") if t.strip())
    if args.folds is not None and args.folds < 2 and not args.loo:
        raise InputError("--folds", args.folds, "give at least 2 folds, or --loo")
    if not args.no_ml:
        try:
            import sklearn  # noqa: F401
        except ImportError:
            raise InputError("--no-ml", False, "the machine-learning baselines need scikit-learn: "
                             "`pip install carbon_bayes[benchmark]`, or pass --no-ml") from None
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise InputError("validate", "plots", "the report's plots need matplotlib: "
                         "`pip install carbon_bayes[benchmark]`") from None
    from carbon_bayes.validate import cross_validate

    dataset = load_training_runs(args.data)
    posterior = posterior_sha256()  # the shipped posterior in place as the run starts (its provenance)
    sampler = {k: v for k, v in (("draws", args.draws), ("tune", args.tune)) if v is not None}
    by = "organisation" if args.by == "organization" else ("run" if args.loo else args.by)
    result = cross_validate(dataset, folds=None if by == "run" else args.folds, tiers=tiers, by=by,
                            seed=SEED if args.seed is None else args.seed, sampler_config=sampler,
                            ml=not args.no_ml, progress=not args.no_progress, jobs=args.jobs)
    command = "carbon-bayes " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["validate"] \
        else "carbon-bayes validate"
    save_result(result, args.out, command, posterior)
    path = write_report(result, args.out, command, dataset, args.discussion)
    for r in target_check(result.predictions).itertuples(index=False):
        print(f"{'met   ' if r.met else 'MISSED'}  {r.target}: {r.measured}")
    print(f"wrote {path}")
    return 0
