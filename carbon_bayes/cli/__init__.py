"""The ``carbon-bayes`` command line.

Each subcommand lives in a module ``cmd_<name>.py`` of this package that defines ``ORDER``
(position in ``--help``) and ``register(subparsers)``; :func:`main` discovers them, so a
new subcommand is one new file. Errors a user can cause print one line naming the field,
the value and the fix, and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import re
import sys
import warnings

from carbon_bayes._version import __version__
from carbon_bayes.errors import CarbonBayesError, CarbonBayesWarning

_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _commands():
    mods = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)
            if m.name.startswith("cmd_")]
    return sorted(mods, key=lambda m: m.ORDER)


def build_parser() -> argparse.ArgumentParser:
    """Build the ``carbon-bayes`` parser with every subcommand this package defines."""
    parser = argparse.ArgumentParser(
        prog="carbon-bayes",
        description="Bayesian estimates, with credible intervals, of the energy (MWh) and CO2e (t) of "
                    "training AI models.",
        epilog="Example: carbon-bayes estimate --parameters 7e9 --training-tokens 2e12 --hardware A100-80GB "
               "--device-hours 184320 --country US --year 2023",
    )
    parser.add_argument("--version", action="version", version=f"carbon_bayes {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _commands():
        mod.register(sub)
    for p in sub.choices.values():  # "--parameters -7e9" is a value, not a flag (argparse knows only -7 and -.5)
        p._negative_number_matcher = _NEGATIVE_NUMBER
    return parser


def _quiet_stdout() -> None:
    """Point stdout at devnull so that Python's flush at exit does not report the closed pipe again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 bad input or data, 1 other failure)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    # The package reports progress (the convergence gate of a fit) through the "carbon_bayes" logger.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("carbon_bayes")
    log.addHandler(handler)
    level = log.level
    log.setLevel(logging.INFO)
    with warnings.catch_warnings():  # restores filters and showwarning on exit
        warnings.simplefilter("always", CarbonBayesWarning)
        warnings.showwarning = lambda msg, cat, *a, **k: print(f"warning: {msg}", file=sys.stderr)
        try:
            return int(args.func(args) or 0)
        except BrokenPipeError:  # `carbon-bayes data | head`: the reader has what it wanted
            _quiet_stdout()
            return 0
        except CarbonBayesError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        except FileNotFoundError as e:
            print(f"error: {e.filename or e}: file not found; check the path", file=sys.stderr)
            return 2
        finally:
            log.removeHandler(handler)
            log.setLevel(level)


if __name__ == "__main__":
    sys.exit(main())
