"""``carbon-bayes data``: the training-run dataset, the reference tables, one run with its citation."""

from __future__ import annotations

ORDER = 20


def register(sub) -> None:
    """Add the ``data`` subcommand to ``sub`` (the subparsers of the main parser)."""
    p = sub.add_parser("data", help="list the dataset and references; show one run with its citation",
                       description="List the published training runs the model learns from and the reference "
                                   "tables of priors/, or show one run (--run ID) with its source and quote.")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--run", metavar="ID", help="show one row (run_id) or run group (run_group) with its citation")
    g.add_argument("--hardware", action="store_true", help="list the accelerators and their aliases")
    g.add_argument("--regions", action="store_true", help="list the cloud regions")
    g.add_argument("--countries", action="store_true", help="list the countries: ISO codes, names and aliases")
    g.add_argument("--operators", action="store_true",
                   help="list the organisations of the published runs the model learned effects for (--operator)")
    g.add_argument("--references", action="store_true", help="list the reference tables with their sources")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``carbon-bayes data`` with the parsed ``args``; return the exit status."""
    import pandas as pd

    from carbon_bayes import reference
    from carbon_bayes.cli.common import write_table
    from carbon_bayes.dataset import load_training_runs
    from carbon_bayes.errors import InputError
    from carbon_bayes.resources import data_path, priors_path

    if args.hardware:
        acc = reference.accelerators().reset_index()
        write_table(acc[["hardware_id", "display_name", "tdp_w", "default_precision", "release_year", "aliases"]],
                    None, args.format)
        return 0
    if args.regions:
        write_table(pd.read_csv(priors_path("cloud_regions.csv"))[["provider", "region", "location", "country_iso3"]],
                    None, args.format)
        return 0
    if args.countries:
        write_table(pd.read_csv(priors_path("countries.csv"), keep_default_na=False)[
            ["iso3", "iso2", "name", "aliases", "continent"]], None, args.format)
        return 0
    if args.references:
        rows = []
        for f in sorted(priors_path().glob("*.csv")):
            df = pd.read_csv(f)
            src = df["source"].dropna().astype(str).iloc[0] if "source" in df and df["source"].notna().any() else ""
            rows.append({"file": f"priors/{f.name}", "rows": len(df), "first source": src[:90]})
        rows.append({"file": "priors/model_priors.toml", "rows": None, "first source": "see the file"})
        write_table(pd.DataFrame(rows), None, args.format)
        print(f"\nLicences and attribution: {priors_path('README.md')}")
        return 0
    df = load_training_runs()
    if args.operators:
        fit = df[df["in_fit"]]
        tab = (fit.groupby("operator").agg(organization=("organization", "first"), figures=("run_id", "size"),
                                           runs=("run_group", "nunique"))
               .reset_index().sort_values("operator"))
        write_table(tab, None, args.format)
        print("\nGive one of these as --operator (the operator column) to use that organisation's learned "
              "utilisation and power effects; any other organisation is drawn as a new one.")
        return 0
    if args.run:
        sel = df[(df["run_id"] == args.run) | (df["run_group"] == args.run)]
        if sel.empty:
            import difflib

            close = difflib.get_close_matches(args.run, list(df["run_id"]) + list(df["run_group"]), n=3)
            raise InputError("--run", args.run, "no such run_id or run_group" +
                             (f"; did you mean {' or '.join(map(repr, close))}?" if close else
                              "; list them with `carbon-bayes data`"))
        for r in sel.to_dict("records"):
            print(f"{r['run_id']}  ({r['model_name']}, {r['organization']}, {int(r['year'])})")
            for k in ("run_group", "scope", "hardware", "parameters", "training_tokens", "training_flops",
                      "device_hours", "n_devices", "training_days", "country", "region", "energy_mwh", "co2_t",
                      "energy_basis", "power_scope", "pue_included", "source_power_w", "source_pue",
                      "source_carbon_intensity", "in_fit", "validate", "decision_note", "feature_sources"):
                v = r[k]
                if v == "" or (isinstance(v, float) and v != v):
                    continue
                print(f"  {k:24s} {v}")
            print(f"  {'source':24s} {r['source']}")
            print(f"  {'quote':24s} \"{r['source_quote']}\"")
            print(f"  {'confidence':24s} {r['confidence']}\n")
        return 0
    cols = ["run_id", "run_group", "year", "hardware", "energy_mwh", "co2_t", "energy_basis", "scope", "in_fit"]
    write_table(df[cols], None, args.format)
    print(f"\n{len(df)} published figures, {df['run_group'].nunique()} run groups, {int(df['in_fit'].sum())} used by "
          f"the default fit. Data dictionary and licences: {data_path('README.md')}")
    return 0
