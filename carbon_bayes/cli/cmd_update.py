"""``carbon-bayes update``: refit with your own measurements (CodeCarbon, a model card, a CSV) as your own cluster."""

from __future__ import annotations

ORDER = 40

#: Input-contract columns that can be stated as facts of every run of the file.
_FACT_FLAGS = ("hardware", "n_devices", "device_hours", "training_days", "parameters", "active_parameters",
               "training_tokens", "training_flops", "architecture", "task", "year", "model_name", "country", "region",
               "provider", "pue", "carbon_intensity", "power_per_device_w", "energy_basis", "power_scope",
               "accounting")


def register(sub) -> None:
    """Add the ``update`` subcommand to ``sub`` (the subparsers of the main parser)."""
    from carbon_bayes.cli.common import add_sampler_flags
    from carbon_bayes.constants import MEASUREMENT_FORMATS as FORMATS
    from carbon_bayes.contract import COLUMNS

    p = sub.add_parser(
        "update", help="refit with your own measurements (CodeCarbon, model card, CSV) as your own cluster",
        description="Read your measurements (a CodeCarbon emissions.csv, a Hugging Face model card README.md with "
                    "co2_eq_emissions, or a CSV of runs with energy_mwh and/or co2_t), refit the model with them as "
                    "your own cluster (one utilisation and one power-fraction effect shared by your runs), and "
                    "write the new posterior. The shipped posterior is never modified.",
        epilog="Example: carbon-bayes update --measurements emissions.csv --cluster my-lab "
               "--architecture dense_transformer --task language; then carbon-bayes estimate --posterior PATH ...")
    p.add_argument("--measurements", metavar="FILE", required=True,
                   help="CodeCarbon emissions.csv, model card README.md, or CSV of runs with energy_mwh/co2_t")
    p.add_argument("--format", choices=FORMATS, help="format of FILE (default: recognised from its columns)")
    p.add_argument("--out", metavar="NC", help="posterior file to write (default: posterior-<cluster>.nc in "
                   "$CARBON_BAYES_HOME, else the per-user data directory, on Linux ~/.local/share/carbon_bayes)")
    p.add_argument("--base", metavar="NC", help="posterior to extend (default: the shipped posterior; never modified)")
    p.add_argument("--cluster", default="user", help="name of your cluster (default 'user')")
    add_sampler_flags(p)
    p.add_argument("--dry-run", action="store_true", help="read and convert the file, print the rows, do not fit")
    p.add_argument("--skip-invalid", action="store_true",
                   help="read the valid rows and skip the others, listing every skipped row with its reason "
                        "(default: stop, listing every invalid row)")
    g = p.add_argument_group("facts the file does not record (apply to every run in it; they override the file)")
    by_name = {c.name: c for c in COLUMNS}
    for name in _FACT_FLAGS:
        c = by_name[name]
        g.add_argument(f"--{name.replace('_', '-')}", dest=f"fact_{name}",
                       metavar=("NUMBER" if c.unit == "-" else c.unit.upper().replace(" ", "_"))
                       if c.kind == "number" else "TEXT",
                       help=f"{c.description} ({c.unit})")
    p.set_defaults(func=run)


def _exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so a killed update stops its sampler processes and removes its temporary file."""
    import signal
    import sys
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def run(args) -> int:
    """Run ``carbon-bayes update`` with the parsed ``args``; return the exit status."""
    import sys

    from carbon_bayes.errors import InputError
    from carbon_bayes.measurements import fittable_rows, read_measurements, skipped_summary, update_from_measurements

    for name in ("draws", "tune", "chains"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise InputError(f"--{name}", v, "must be a positive integer")
    if args.target_accept is not None and not 0.5 <= args.target_accept < 1:
        raise InputError("--target-accept", args.target_accept, "give a value in [0.5, 1), e.g. 0.99")
    facts = {n: getattr(args, f"fact_{n}") for n in _FACT_FLAGS if getattr(args, f"fact_{n}") is not None}
    rows = read_measurements(args.measurements, format=args.format, facts=facts, skip_invalid=args.skip_invalid)
    rows = fittable_rows(rows, skip_invalid=args.skip_invalid)
    cols = ["run_id", "year", "hardware", "n_devices", "device_hours", "energy_mwh", "co2_t", "energy_basis",
            "power_scope", "pue_included"]
    how = f", {rows.attrs['dialect']}" if rows.attrs.get("dialect", "").startswith(("';'", "tabs")) else ""
    print(f"read {len(rows)} run(s) from {args.measurements} ({rows.attrs['format']}{how}):", file=sys.stderr)
    print(rows[cols].to_string(index=False, float_format=lambda x: f"{x:.4g}"), file=sys.stderr)
    notes = {}
    for r in rows.itertuples(index=False):
        for note in filter(None, r.decision_note.split("; ")):
            notes.setdefault(note, []).append(r.run_id)
    for note, ids in notes.items():
        who = "all runs" if len(ids) == len(rows) and len(rows) > 1 else ", ".join(ids)
        print(f"note ({who}): {note}", file=sys.stderr)
    summary = skipped_summary(rows)
    if summary:
        print(summary, file=sys.stderr)
    if args.dry_run:
        print("dry run: nothing fitted or written")
        return 0
    _exit_cleanly_on_sigterm()
    result = update_from_measurements(rows, out=args.out, base=args.base, cluster=args.cluster,
                                      allow_unconverged=args.allow_unconverged, draws=args.draws, tune=args.tune,
                                      chains=args.chains, seed=args.seed, sampler=args.sampler,
                                      target_accept=args.target_accept,
                                      progressbar=False if args.no_progress else None)
    print(f"wrote {result.path}  (cluster {result.cluster!r}: {len(result.rows)} run(s) of yours added to the fit)")
    print(result.usage())
    return 0
