"""Helpers shared by subcommands: run flags named after the input columns, reading and writing tables."""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from carbon_bayes.constants import CI_LEVEL, N_DRAWS_BY_TIER
from carbon_bayes.errors import InputError
from carbon_bayes.safeio import atomic_write, escape_formulas
from carbon_bayes.schema import COLUMNS


def add_run_flags(parser: argparse.ArgumentParser, *, input_help: str = "CSV of runs, one per row, columns of the "
                  "input contract") -> None:
    """``--input FILE`` or one run from flags named after the input columns (``--device-hours`` ...)."""
    parser.add_argument("--input", metavar="CSV", help=input_help)
    g = parser.add_argument_group("one run from flags (units as in the input contract)")
    for c in COLUMNS:
        g.add_argument(f"--{c.name.replace('_', '-')}", dest=f"run_{c.name}", metavar=("NUMBER" if c.unit == "-" else
                                                                   c.unit.upper().replace(" ", "_"))
                       if c.kind == "number" else "TEXT", help=f"{c.description} ({c.unit})")


def read_table(path: str, field: str = "input") -> pd.DataFrame:
    """Read a CSV of runs as strings (empty cells -> None), rejecting ragged or empty files."""
    from carbon_bayes.csvio import read_csv_strict

    return read_csv_strict(path, field).replace({"": None})


def check_one_source(args) -> dict:
    """Return the run flags given; refuse them beside ``--input``."""
    flags = {c.name: getattr(args, f"run_{c.name}") for c in COLUMNS if getattr(args, f"run_{c.name}") is not None}
    if args.input and flags:
        raise InputError("--input", args.input, "give either --input FILE or run flags, not both")
    return flags


def runs_from_args(args) -> pd.DataFrame:
    """Return the runs the flags describe: the ``--input`` CSV or one run from the column flags."""
    flags = check_one_source(args)
    if args.input:
        return read_table(args.input)
    if not flags:
        raise InputError("run", "none", "describe a run with flags (e.g. --parameters 7e9 --hardware H100 "
                         "--device-hours 1e6) or give --input FILE")
    return pd.DataFrame([flags])


def write_table(df: pd.DataFrame, output: str | None, fmt: str = "table") -> None:
    """Write ``df`` to ``output`` (CSV, atomically) or print it (table, csv or json)."""
    if output:
        safe = escape_formulas(df)
        atomic_write(output, lambda tmp: safe.to_csv(tmp, index=False))
        print(f"wrote {len(df)} rows to {output}", file=sys.stderr)
        return
    if fmt == "csv":
        escape_formulas(df).to_csv(sys.stdout, index=False)
    elif fmt == "json":
        print(json.dumps(json.loads(df.to_json(orient="records")), indent=2))
    else:
        with pd.option_context("display.max_columns", None, "display.width", 200, "display.max_colwidth", 80):
            print(df.to_string(index=False, float_format=lambda x: f"{x:.4g}"))


class _DeprecatedAlias(argparse.Action):
    """Store the value; when given under a deprecated spelling (``--ci``), say the new one on stderr."""

    def __init__(self, option_strings, dest, *, old_names: tuple[str, ...] = (), **kwargs):
        super().__init__(option_strings, dest, **kwargs)
        # not ``deprecated``: from Python 3.13 argparse.Action has an attribute of that name
        self.old_names = old_names

    def __call__(self, parser, namespace, values, option_string=None):
        if option_string in self.old_names:
            print(f"warning: {option_string} is deprecated, use {self.option_strings[0]} (same meaning)",
                  file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_prediction_flags(parser: argparse.ArgumentParser, *, n_draws: bool = True,
                         model_help: str = "posterior file (default: the shipped posterior)") -> None:
    """Add --ci-level, --posterior, [--n-draws,] --seed: the options of every command that predicts."""
    parser.add_argument("--ci-level", "--ci", dest="ci_level", type=float, default=CI_LEVEL, metavar="LEVEL",
                        action=_DeprecatedAlias, old_names=("--ci",),
                        help=f"credible-interval level (default {CI_LEVEL:g}, equal-tailed); --ci is a deprecated "
                             "alias")
    parser.add_argument("--posterior", "--model", dest="posterior", metavar="NC", action=_DeprecatedAlias,
                        old_names=("--model",), help=f"{model_help}; --model is a deprecated alias")
    if n_draws:
        parser.add_argument("--n-draws", type=int, default=None,
                            help="predictive draws per run (default by tier: "
                                 + ", ".join(f"{k} {v:,}" for k, v in N_DRAWS_BY_TIER.items()) + ")")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default fixed)")


def add_sampler_flags(parser: argparse.ArgumentParser, *, per: str = "") -> None:
    """Add the sampler options of ``fit``, ``update`` and ``validate``.

    --draws --tune --chains --seed --sampler --target-accept --no-progress --allow-unconverged,
    with the defaults of :data:`carbon_bayes.constants.DEFAULT_SAMPLER_CONFIG`.
    """
    from carbon_bayes.constants import DEFAULT_SAMPLER_CONFIG as D

    parser.add_argument("--draws", type=int, help=f"draws per chain{per} (default {D['draws']})")
    parser.add_argument("--tune", type=int, help=f"tuning steps per chain{per} (default {D['tune']})")
    parser.add_argument("--chains", type=int, help=f"chains (default {D['chains']})")
    parser.add_argument("--seed", type=int, help="random seed (same seed and inputs: the same posterior)")
    parser.add_argument("--sampler", choices=("auto", "nutpie", "pymc"),
                        help="NUTS implementation (default auto: nutpie when installed, else PyMC)")
    parser.add_argument("--target-accept", type=float, help=f"NUTS target acceptance (default {D['target_accept']})")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument("--allow-unconverged", action="store_true", help="save even if the convergence gate fails")
