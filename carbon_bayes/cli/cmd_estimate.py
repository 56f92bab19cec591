"""``carbon-bayes estimate``: credible intervals for one run or a CSV of runs."""

from __future__ import annotations

ORDER = 10


def register(sub) -> None:
    """Add the ``estimate`` subcommand to ``sub`` (the subparsers of the main parser)."""
    from argparse import BooleanOptionalAction

    from carbon_bayes.cli.common import add_prediction_flags, add_run_flags

    p = sub.add_parser("estimate", help="energy and CO2e with credible intervals from whatever you know",
                       description="Estimate training energy (MWh) and CO2e (t) with credible intervals from the "
                                   "shipped posterior (or --model). Every input column is optional.")
    add_run_flags(p, input_help="CSV or Parquet file of runs, one per row, columns of the input contract; read, "
                  "estimated and written in blocks of --chunk-size runs")
    p.add_argument("--output", metavar="FILE", help="write the output contract to this CSV or Parquet file, "
                   "atomically (default: print a table)")
    p.add_argument("--chunk-size", type=int, default=None, metavar="RUNS",
                   help="runs read and estimated at a time with --input (default 10,000); memory is bounded by it")
    p.add_argument("--scheduler", metavar="ADDRESS", help="estimate the --input blocks on this dask.distributed "
                   "scheduler (e.g. tcp://10.0.0.5:8786); needs the dask extra")
    p.add_argument("--progress", action=BooleanOptionalAction, default=None,
                   help="show (or, with --no-progress, hide) the progress line of --input on stderr: runs done, of "
                        "how many for a Parquet file (default: shown when stderr is a terminal)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table", help="stdout format")
    add_prediction_flags(p)
    p.add_argument("--voi", action="store_true", help="add the most valuable unknown input per run and how many times "
                   "its interval would narrow once known (voi_top_input, voi_narrowing; at most 50 runs); a single "
                   "metadata-only run printed as a table at a terminal gets this as a hint on stderr without it")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``carbon-bayes estimate`` with the parsed ``args``; return the exit status."""
    from carbon_bayes.cli.common import runs_from_args, write_table
    from carbon_bayes.errors import InputError
    from carbon_bayes.estimator import estimate

    if args.output is not None and not args.output.strip():
        raise InputError("--output", args.output, "give a file name ending in .csv or .parquet, or leave --output out "
                         "to print the table")
    if args.output:  # a path the writer would refuse fails before any work
        from pathlib import Path

        from carbon_bayes.runblocks import file_kind
        from carbon_bayes.safeio import check_output_path

        out = check_output_path(args.output, "--output")
        file_kind(args.output, "--output")
        if args.input and Path(args.input).exists() and out.exists() and Path(args.input).samefile(out):
            raise InputError("--output", args.output, "is the --input file: the estimates would replace your runs; "
                             "give another file name")
    if args.input and not args.voi:
        return _streamed(args)
    if args.scheduler or args.chunk_size is not None:
        flag = "--scheduler" if args.scheduler else "--chunk-size"
        raise InputError(flag, args.scheduler or args.chunk_size, "blocks are for --input FILE (without --voi)")
    runs = runs_from_args(args, one_as_dict=True)  # one run from flags: a dict, checked without pandas
    n_runs = 1 if isinstance(runs, dict) else len(runs)
    if args.voi:
        from carbon_bayes.voi import MAX_VOI_RUNS

        if n_runs > MAX_VOI_RUNS:
            raise InputError("--voi", f"{n_runs} runs", f"value of information re-estimates every run many times; "
                             f"give at most {MAX_VOI_RUNS} runs (split the file) or drop --voi")
    est = estimate(runs, ci_level=args.ci_level, posterior=args.posterior, n_draws=args.n_draws, seed=args.seed,
                   keep_draws=False)  # the table needs no draws (and so no xarray)
    out = est.to_columns()  # the output contract as arrays: a table is printed without pandas
    if args.voi:
        from carbon_bayes.voi import voi_columns

        v = voi_columns(runs, ci_level=args.ci_level, posterior=args.posterior, n_draws=args.n_draws, seed=args.seed)
        out["voi_top_input"] = v["voi_top_input"].to_numpy()
        out["voi_narrowing"] = v["voi_narrowing"].to_numpy()
    write_table(out, args.output, args.format, ci_level=args.ci_level)
    if not args.voi and n_runs == 1 and out["tier"][0] == "T3" and args.format == "table":
        _t3_hint(runs, args)  # for a person at a terminal (it re-estimates the run ~100 times)
    return 0


def _t3_hint(runs, args) -> None:
    """For one metadata-only run at a terminal, say which one extra input would narrow its interval most (stderr)."""
    import sys

    if not sys.stderr.isatty():
        return
    from carbon_bayes.voi import voi_columns

    v = voi_columns(runs, ci_level=args.ci_level, posterior=args.posterior, n_draws=args.n_draws, seed=args.seed)
    top, narrowing = v["voi_top_input"].iloc[0], v["voi_narrowing"].iloc[0]
    if isinstance(top, str) and top:
        print(f"hint: metadata only; giving {top} would narrow this interval about {narrowing:.1f}x "
              "(--voi adds this to the output)", file=sys.stderr)


def _streamed(args) -> int:
    """Estimate the ``--input`` file block by block, locally or on ``--scheduler``; write or print the frames."""
    import sys

    import pandas as pd

    from carbon_bayes.chunked import estimate_block, estimate_chunks
    from carbon_bayes.cli.common import check_one_source, write_table
    from carbon_bayes.runblocks import CHUNK_ROWS, write_frames

    check_one_source(args)
    size = CHUNK_ROWS if args.chunk_size is None else args.chunk_size
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    options = {"ci_level": args.ci_level, "posterior": args.posterior, "n_draws": args.n_draws, "seed": args.seed}
    if args.scheduler:
        from carbon_bayes.catalogue import estimate_on_cluster

        frames = estimate_on_cluster(args.input, args.scheduler, estimate_block, size, progress=progress, **options)
    else:
        frames = estimate_chunks(args.input, size, progress=progress, **options)
    if args.output:
        rows = write_frames(frames, args.output)
        print(f"wrote {rows} rows to {args.output}", file=sys.stderr)
    elif args.format == "csv":
        for k, frame in enumerate(frames):
            frame.to_csv(sys.stdout, index=False, header=k == 0)
    else:
        write_table(pd.concat(list(frames), ignore_index=True), None, args.format, ci_level=args.ci_level)
    return 0
