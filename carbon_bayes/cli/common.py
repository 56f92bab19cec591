"""Helpers shared by subcommands: run flags named after the input columns, reading and writing tables."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from carbon_bayes.constants import CI_LEVEL, N_DRAWS_BY_TIER
from carbon_bayes.contract import COLUMNS
from carbon_bayes.errors import InputError
from carbon_bayes.frames import is_frame
from carbon_bayes.textable import as_columns, format_table, percent

if TYPE_CHECKING:
    import pandas as pd


class _RunFlag(argparse.Action):
    """Store a run flag; a flag given twice with two values is recorded, and refused by :func:`check_one_source`."""

    def __call__(self, parser, namespace, values, option_string=None):
        old = getattr(namespace, self.dest, None)
        if old is not None and old != values:
            namespace.repeated_flags = [*getattr(namespace, "repeated_flags", []), (option_string, old, values)]
        setattr(namespace, self.dest, values)


def add_run_flags(parser: argparse.ArgumentParser, *, input_help: str = "CSV of runs, one per row, columns of the "
                  "input contract") -> None:
    """``--input FILE`` or one run from flags named after the input columns (``--device-hours`` ...)."""
    parser.add_argument("--input", metavar="CSV", help=input_help)
    g = parser.add_argument_group("one run from flags (units as in the input contract)")
    for c in COLUMNS:
        g.add_argument(f"--{c.name.replace('_', '-')}", dest=f"run_{c.name}", metavar=("NUMBER" if c.unit == "-" else
                                                                   c.unit.upper().replace(" ", "_"))
                       if c.kind == "number" else "TEXT", help=f"{c.description} ({c.unit})", action=_RunFlag)


def read_table(path: str, field: str = "input") -> pd.DataFrame:
    """Read a CSV of runs as strings (empty cells -> None), rejecting ragged or empty files."""
    from carbon_bayes.csvio import read_csv_strict

    return read_csv_strict(path, field).replace({"": None})


def check_one_source(args) -> dict:
    """Return the run flags given; refuse them beside ``--input``, and a flag given twice with two values."""
    repeated = getattr(args, "repeated_flags", [])
    if repeated:
        flag, old, new = repeated[0]
        several = isinstance(old, list)
        shown = " and ".join(" ".join(v) if several else str(v) for v in (old, new))
        raise InputError(flag, shown, "is given twice (only the last would be used); give it once"
                         + (f", with every value after it: {flag} {' '.join([*old, *new])}" if several else ""))
    flags = {c.name: getattr(args, f"run_{c.name}") for c in COLUMNS if getattr(args, f"run_{c.name}") is not None}
    if args.input and flags:
        raise InputError("--input", args.input, "give either --input FILE or run flags, not both")
    return flags


def runs_from_args(args, *, one_as_dict: bool = False) -> pd.DataFrame | dict:
    """Return the runs the flags describe: the ``--input`` CSV or one run from the column flags.

    With ``one_as_dict`` one run from flags is the dict of its flags, which :func:`~carbon_bayes.estimate`
    checks without pandas (the one-run CLI's cold start); else a one-row DataFrame.
    """
    flags = check_one_source(args)
    if args.input:
        return read_table(args.input)
    if not flags:
        raise InputError("run", "none", "describe a run with flags (e.g. --parameters 7e9 --hardware H100 "
                         "--device-hours 1e6) or give --input FILE")
    if one_as_dict:
        return flags
    import pandas as pd

    return pd.DataFrame([flags])


def write_table(df: pd.DataFrame | Mapping, output: str | None, fmt: str = "table",
                ci_level: float | None = None) -> None:
    """Write ``df`` (a DataFrame or a mapping of columns) to ``output`` (CSV or Parquet, atomically) or print it.

    ``csv``, ``json`` and ``--output`` carry every column unchanged; ``table`` is for a person
    (see :func:`print_human`), with ``ci_level`` named in its header when given.
    """
    if not output and fmt == "table":
        print_human(df, ci_level)
        return
    from carbon_bayes.safeio import escape_formulas

    if not is_frame(df):
        import pandas as pd

        df = pd.DataFrame(dict(df))
    if output:
        from carbon_bayes.runblocks import write_frames

        write_frames([df], output)  # CSV or Parquet by the suffix, as for --input
        print(f"wrote {len(df)} rows to {output}", file=sys.stderr)
    elif fmt == "csv":
        escape_formulas(df).to_csv(sys.stdout, index=False)
    else:
        print(json.dumps(json.loads(df.to_json(orient="records")), indent=2))


_VOI = ("voi_top_input", "voi_narrowing")


def _blocks(cols: dict, key: str | None, width: int) -> list[str]:
    """Split the columns ``cols`` into tables no wider than ``width`` where possible, each with the ``key`` column."""
    def render(names: list) -> str:
        return format_table(cols, names)

    def fits(names: list) -> bool:
        return max(len(ln) for ln in render(names).splitlines()) <= width

    lead = [key] if key else []
    rest = [c for c in cols if c != key]
    if not rest or fits(lead + rest):
        return [render(lead + rest)]
    blocks, group = [], []
    for c in rest:
        if group and not fits(lead + group + [c]):
            blocks.append(render(lead + group))
            group = []
        group.append(c)
    blocks.append(render(lead + group))
    return ["\n\n".join(blocks)]


def print_human(df: pd.DataFrame | Mapping, ci_level: float | None = None, width: int | None = None) -> None:
    """Print ``df`` (a DataFrame or a mapping of columns) as a table that fits the terminal.

    The interval level heads the table; ``warnings`` are printed on their own lines under it
    (one per run that has any) and the ``--voi`` columns as a table of their own, so no column
    is hundreds of characters wide. Columns that still do not fit wrap into blocks.
    """
    import shutil
    import textwrap

    width = width or shutil.get_terminal_size((100, 24)).columns
    cols = as_columns(df)
    key = "run_id" if "run_id" in cols else None
    main = {c: v for c, v in cols.items() if c not in ("warnings", *_VOI)}
    if ci_level is not None and any(str(c).endswith(("_lower", "_upper")) for c in cols):
        print(f"{percent(ci_level)} equal-tailed credible interval: *_lower to *_upper")
    for block in _blocks(main, key, width):
        print(block)
    voi = [c for c in _VOI if c in cols]
    if voi:
        print("\nvalue of information (voi_narrowing: times narrower once known):")
        print(format_table(cols, [key, *voi] if key else voi))
    if "warnings" in cols:
        notes = [(cols[key][i] if key else i, w) for i, w in enumerate(cols["warnings"]) if isinstance(w, str) and w]
        if notes:
            print("\nwarnings:")
        for who, w in notes:
            print(textwrap.fill(f"{who}: {w}", width=max(40, width - 1), initial_indent="  ", subsequent_indent="    "))


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
