"""``carbon-bayes estimate``: credible intervals for one run or a CSV of runs."""

from __future__ import annotations

ORDER = 10


def register(sub) -> None:
    """Add the ``estimate`` subcommand to ``sub`` (the subparsers of the main parser)."""
    from carbon_bayes.cli.common import add_prediction_flags, add_run_flags

    p = sub.add_parser("estimate", help="energy and CO2e with credible intervals from whatever you know",
                       description="Estimate training energy (MWh) and CO2e (t) with credible intervals from the "
                                   "shipped posterior (or --model). Every input column is optional.")
    add_run_flags(p)
    p.add_argument("--output", metavar="CSV", help="write the output contract to this CSV (default: print a table)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table", help="stdout format")
    add_prediction_flags(p)
    p.add_argument("--voi", action="store_true", help="add the most valuable unknown input per run and how many times "
                   "its interval would narrow once known (voi_top_input, voi_narrowing; at most 50 runs); a single "
                   "metadata-only run printed as a table gets this as a hint on stderr without it")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``carbon-bayes estimate`` with the parsed ``args``; return the exit status."""
    from carbon_bayes.cli.common import runs_from_args, write_table
    from carbon_bayes.estimator import estimate

    runs = runs_from_args(args)
    if args.voi:
        from carbon_bayes.errors import InputError
        from carbon_bayes.voi import MAX_VOI_RUNS

        if len(runs) > MAX_VOI_RUNS:
            raise InputError("--voi", f"{len(runs)} runs", f"value of information re-estimates every run many times; "
                             f"give at most {MAX_VOI_RUNS} runs (split the file) or drop --voi")
    est = estimate(runs, ci_level=args.ci_level, posterior=args.posterior, n_draws=args.n_draws, seed=args.seed)
    out = est.to_frame()
    if args.voi:
        from carbon_bayes.voi import voi_columns

        v = voi_columns(runs, ci_level=args.ci_level, posterior=args.posterior, n_draws=args.n_draws, seed=args.seed)
        out["voi_top_input"] = v["voi_top_input"].to_numpy()
        out["voi_narrowing"] = v["voi_narrowing"].to_numpy()
    write_table(out, args.output, args.format)
    if not args.voi and len(runs) == 1 and est.summary["tier"].iloc[0] == "T3" and args.format == "table":
        _t3_hint(runs, args)
    return 0


def _t3_hint(runs, args) -> None:
    """For one metadata-only run, say which one extra input would narrow its interval most (on stderr)."""
    import sys

    from carbon_bayes.voi import voi_columns

    v = voi_columns(runs, ci_level=args.ci_level, posterior=args.posterior, n_draws=args.n_draws, seed=args.seed)
    top, narrowing = v["voi_top_input"].iloc[0], v["voi_narrowing"].iloc[0]
    if isinstance(top, str) and top:
        print(f"hint: metadata only; giving {top} would narrow this interval about {narrowing:.1f}x "
              "(--voi adds this to the output)", file=sys.stderr)
