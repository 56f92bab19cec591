"""``carbon-bayes budget``: the risk of exceeding a carbon budget, alternatives compared, sweeps summed."""

from __future__ import annotations

ORDER = 12
#: Run flags that accept several values in this command: the first is the reference's value,
#: the cartesian product of all of them forms the alternatives.
MULTI = ("region", "hardware", "pue")


def register(sub) -> None:
    """Add the ``budget`` subcommand to ``sub`` (the subparsers of the main parser)."""
    from carbon_bayes.cli.common import add_prediction_flags, add_run_flags

    p = sub.add_parser(
        "budget", help="P(exceeding a CO2e budget), alternatives (regions, hardware, PUE), sweeps of many runs",
        description="Decide under a carbon budget. One run: P(CO2e > budget), carbon-at-risk and expected "
                    "shortfall. One run with --alternatives FILE or several --region/--hardware/--pue values: the "
                    "alternatives compared with common random numbers and ranked (the first value of each flag is "
                    "the reference). Several runs (--input) or --trials N: the total, summed per draw.",
        epilog="Example: carbon-bayes budget --budget-t 10 --parameters 7e9 --training-tokens 2e12 --hardware H100 "
               "--year 2024 --region gcp:us-east1 gcp:europe-north1")
    add_run_flags(p, input_help="CSV of runs, one per row; several runs are summed (a sweep)")
    for name in MULTI:
        action = p._option_string_actions[f"--{name.replace('_', '-')}"]
        action.nargs = "+"
        action.help = f"{action.help}; several values: compare them (the first is the reference)"
    p.add_argument("--budget-t", required=True, metavar="T", help="carbon budget, tonnes CO2e (> 0)")
    p.add_argument("--alternatives", metavar="CSV", help="CSV of alternatives: one per row, columns of the input "
                   "contract to override (e.g. region,hardware); empty cells keep the reference's value")
    p.add_argument("--max-risk", default="0.05", metavar="P", help="acceptable P(exceed), in (0, 1) (default 0.05)")
    p.add_argument("--trials", metavar="N", help="total of N repetitions of the run(s), e.g. 80 trials of a "
                   "hyperparameter search")
    p.add_argument("--independent-sites", action="store_true", help="with --trials/several runs: draw carbon "
                   "intensity and PUE per run instead of sharing them between runs at the same site")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table", help="stdout format")
    add_prediction_flags(p)
    p.add_argument("--plot", metavar="PNG", help="also save a figure (predictive distribution or alternatives)")
    p.set_defaults(func=run)


def _grid_of(args) -> dict:
    """Collect the flags given several values (a grid of alternatives); keep the first value as the run's."""
    grid = {}
    for name in MULTI:
        values = getattr(args, f"run_{name}")
        if values is None:
            continue
        if len(values) > 1:
            grid[name] = list(dict.fromkeys(values))
        setattr(args, f"run_{name}", values[0])
    return grid


def _single_runs(runs, b: float, risk: float, common: dict, plot):
    """Tabulate each run's risk against the budget (no alternatives, no sum); return (table, figure)."""
    import pandas as pd

    from carbon_bayes.estimator import estimate

    est = estimate(runs, **common)
    f = est.to_frame()
    out = pd.DataFrame({"run_id": f["run_id"]})
    for c in ("co2_t_mean", "co2_t_median", "co2_t_lower", "co2_t_upper", "energy_mwh_median"):
        out[c] = f[c]
    out["budget_t"] = b
    out["prob_exceeds"] = est.prob_exceeds(co2_t=b).to_numpy()
    out["max_risk"] = risk
    out["meets_risk"] = out["prob_exceeds"] <= risk
    out["carbon_at_risk_t"] = est.carbon_at_risk(1 - risk).to_numpy()
    out["expected_shortfall_t"] = est.expected_shortfall(b).to_numpy()
    out["tier"] = f["tier"]
    fig = None
    if plot:
        from carbon_bayes.plots import plot_predictive

        fig = plot_predictive(est, budget_t=b)
    return out, fig


def run(args) -> int:
    """Run ``carbon-bayes budget`` with the parsed ``args``; return the exit status."""
    if args.plot:  # a path the figure cannot be written to fails before any work
        from carbon_bayes.safeio import check_output_path

        check_output_path(args.plot, "--plot")
    from carbon_bayes import budget
    from carbon_bayes.cli.common import read_table, runs_from_args, write_table
    from carbon_bayes.errors import InputError

    b = budget.check_budget(args.budget_t, field="--budget-t")
    risk = budget.check_risk(args.max_risk, field="--max-risk")
    trials = None
    if args.trials is not None:
        try:
            trials = budget.check_trials(args.trials)
        except InputError as e:
            raise InputError("--trials", args.trials, e.fix) from None
    grid = _grid_of(args)
    runs = runs_from_args(args)
    alternatives = None
    if args.alternatives:
        if grid:
            raise InputError("--alternatives", args.alternatives, "give --alternatives FILE or several "
                             f"--{'/--'.join(grid)} values, not both")
        alternatives = read_table(args.alternatives, field="--alternatives")
    elif grid:
        alternatives = grid
    common = {"posterior": args.posterior, "seed": args.seed, "ci_level": args.ci_level, "n_draws": args.n_draws}
    same_site = not args.independent_sites
    fig = None
    if alternatives is not None:
        if len(runs) != 1:
            raise InputError("--input", args.input, f"alternatives are compared for one run; the file has {len(runs)} "
                             "runs (give one run, or drop the alternatives to sum the runs)")
        out = budget.plan(runs, budget_t=b, max_risk=risk, alternatives=alternatives, n_trials=trials or 1,
                          same_site=same_site, **common)
        if args.plot:
            from carbon_bayes.plots import plot_alternatives

            fig = plot_alternatives(out)
        if not out["notes"].astype(bool).any():
            out = out.drop(columns="notes")
    elif len(runs) > 1 or trials:
        res = budget.sweep(runs, n_trials=trials, budget_t=b, same_site=same_site, **common)
        out = res.to_frame()
        out.insert(0, "runs", f"total of {res.n_runs} runs")
        out["max_risk"] = risk
        out["meets_risk"] = out["prob_exceeds"] <= risk
        out["carbon_at_risk_t"] = res.carbon_at_risk(1 - risk)
        if args.plot:
            from carbon_bayes.plots import plot_predictive

            fig = plot_predictive(res, budget_t=b)
    else:
        out, fig = _single_runs(runs, b, risk, common, args.plot)
    write_table(out, None, args.format)
    if fig is not None:
        from carbon_bayes.posterior import atomic_write

        atomic_write(args.plot, lambda tmp: fig.savefig(tmp, format="png", dpi=120), field="--plot")
        import sys

        print(f"wrote {args.plot}", file=sys.stderr)
    return 0
