"""``carbon-bayes estimate``: credible intervals for one run or a CSV of runs."""

from __future__ import annotations

ORDER = 10


def register(sub) -> None:
    from carbon_bayes.cli.common import add_run_flags

    p = sub.add_parser("estimate", help="energy and CO2e with credible intervals from whatever you know",
                       description="Estimate training energy (MWh) and CO2e (t) with credible intervals from the "
                                   "shipped posterior (or --model). Every input column is optional.")
    add_run_flags(p)
    p.add_argument("--output", metavar="CSV", help="write the output contract to this CSV (default: print a table)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table", help="stdout format")
    p.add_argument("--ci", type=float, default=0.9, help="credible-interval level (default 0.9, equal-tailed)")
    p.add_argument("--model", metavar="NC", help="posterior file (default: the shipped posterior)")
    p.add_argument("--n-draws", type=int, default=None, help="posterior draws used (default 1000)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default fixed)")
    p.set_defaults(func=run)


def run(args) -> int:
    from carbon_bayes.cli.common import runs_from_args, write_table
    from carbon_bayes.estimator import estimate

    est = estimate(runs_from_args(args), ci=args.ci, model=args.model, n_draws=args.n_draws, seed=args.seed)
    write_table(est.to_frame(), args.output, args.format)
    return 0
