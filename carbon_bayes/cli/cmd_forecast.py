"""``carbon-bayes forecast``: the total of a run in progress and the risk of exceeding the budget."""

from __future__ import annotations

ORDER = 50


def register(sub) -> None:
    """Add the ``forecast`` subcommand to ``sub`` (the subparsers of the main parser)."""
    from carbon_bayes.cli.common import add_prediction_flags, add_run_flags

    p = sub.add_parser(
        "forecast", help="forecast a running job's total energy and CO2e from a partial measurement",
        description="Forecast the total energy (MWh) and CO2e (t) of a run in progress from the energy (or "
                    "device-hours) used so far and the fraction of steps done, and P(total CO2e > budget) with a "
                    "stop rule. The run is described as for `estimate` (flags or a one-row --input CSV).",
        epilog="Example: carbon-bayes forecast --hardware H100 --device-hours 2e5 --country US --year 2025 "
               "--energy-so-far-mwh 55 --fraction-done 0.3 --budget-t 60")
    add_run_flags(p, input_help="CSV with one row describing the run (input-contract columns)")
    m = p.add_argument_group("progress so far")
    m.add_argument("--energy-so-far-mwh", type=float, metavar="MWH", help="energy used so far (MWh)")
    m.add_argument("--hours-so-far", type=float, metavar="H",
                   help="device-hours so far (devices x wall-clock hours); projects the total device-hours")
    m.add_argument("--fraction-done", type=float, metavar="F", required=True,
                   help="fraction of the training steps done, in (0, 1]")
    m.add_argument("--budget-t", type=float, metavar="T",
                   help="CO2e budget (t) for P(total > budget) and the stop rule")
    p.add_argument("--progress-sigma", type=float, default=None,
                   help="log-sd of the rate of the rest of the run relative to the rate so far (default 0.3)")
    add_prediction_flags(p, n_draws=False, model_help="posterior file (default: the shipped posterior; e.g. one "
                         "written by `carbon-bayes update`)")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table", help="stdout format")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``carbon-bayes forecast`` with the parsed ``args``; return the exit status."""
    import json

    import pandas as pd

    from carbon_bayes.cli.common import runs_from_args
    from carbon_bayes.forecast import PROGRESS_SIGMA, forecast

    fc = forecast(runs_from_args(args), energy_so_far_mwh=args.energy_so_far_mwh, hours_so_far=args.hours_so_far,
                  fraction_done=args.fraction_done, budget_t=args.budget_t, ci_level=args.ci_level,
                  posterior=args.posterior, seed=args.seed,
                  progress_sigma=PROGRESS_SIGMA if args.progress_sigma is None else args.progress_sigma)
    frame = fc.to_frame()
    if args.format == "json":
        print(json.dumps(json.loads(frame.to_json(orient="records"))[0], indent=2))
    elif args.format == "csv":
        import sys

        from carbon_bayes.safeio import escape_formulas

        escape_formulas(frame).to_csv(sys.stdout, index=False)
    else:
        row = frame.drop(columns=["stop_rule", "notes"]).iloc[0]
        shown = pd.DataFrame({"": row.index, "value": [_fmt(v) for v in row.to_numpy()]})
        print(shown.to_string(index=False, header=False))
        if fc.stop_rule:
            print(f"\n{fc.stop_rule}")
        for n in fc.notes:
            print(f"note: {n}")
    return 0


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
