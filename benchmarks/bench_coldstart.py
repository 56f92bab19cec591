"""Cold start of the one-run CLI beside the ``python -c 'import numpy'`` floor (fresh interpreters, medians).

Each command runs ``--repeats`` times (default 10) in a fresh interpreter; the table gives the
median and the ratio to the ``import numpy`` floor measured in the same run:

* ``python -c 'import numpy'`` (the floor);
* ``python -c 'import pandas'`` (what every estimate needs to read and write tables);
* loading the shipped posterior: the predictor's variables only (``load_posterior()``) and the
  whole file with xarray (``load_posterior().tree``);
* ``carbon-bayes estimate --parameters 7e9 --year 2023`` (``python -m carbon_bayes``).

``--before DIR`` also times the CLI from another checkout (``DIR/carbon_bayes``, e.g. one made
with ``git archive <commit> carbon_bayes priors data | tar -x -C DIR``), with the same Python.

Usage::

    python benchmarks/bench_coldstart.py
    python benchmarks/bench_coldstart.py --before /tmp/old --repeats 10 --out /tmp/cold.md

Nothing is asserted; the load average is printed, as other jobs on the machine slow every number.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_stream import finish  # same folder

ONE_RUN = ["estimate", "--parameters", "7e9", "--year", "2023"]
#: Every command runs in an empty folder: ``python -c`` and ``-m`` put the working directory first on
#: sys.path, where a checkout's carbon_bayes/ would shadow the one under test.
CWD = tempfile.mkdtemp(prefix="coldstart-")
#: A user's interpreter caches compiled modules (``__pycache__``; ``pip install`` of a wheel writes them at
#: install time, an editable install on the first run). With PYTHONDONTWRITEBYTECODE set, as on some build
#: machines, an editable install compiles every module of the package from source on every start
#: (about 0.4 s here), which is not what a user meets: the children run without it, and the warm-up
#: run writes the cache.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CASES = [
    ("`python -c 'import numpy'` (floor)", ["-c", "import numpy"]),
    ("`python -c 'import pandas'`", ["-c", "import pandas"]),
    ("load the predictor's variables (`load_posterior()`)",
     ["-c", "from carbon_bayes.posterior import load_posterior; load_posterior()"]),
    ("load the whole posterior with xarray (`load_posterior().tree`)",
     ["-c", "from carbon_bayes.posterior import load_posterior; load_posterior().tree"]),
    ("`carbon-bayes estimate --parameters 7e9 --year 2023`", ["-m", "carbon_bayes", *ONE_RUN]),
]


def median_seconds(argv: list[str], repeats: int, env: dict | None = None, other: dict | None = None) -> list[float]:
    """Median wall times of ``python argv`` in fresh interpreters (one warm-up run first).

    With ``other`` (another environment) the same command is also timed there, the two runs
    alternating so that both see the same load; returns [median] or [median, median in ``other``].
    """
    envs = [env or ENV] if other is None else [env or ENV, other]
    times: list[list[float]] = [[] for _ in envs]
    for k in range(repeats + 1):
        for e, out in zip(envs, times, strict=True):
            t = time.perf_counter()
            subprocess.run([sys.executable, *argv], check=True, stdout=subprocess.DEVNULL, env=e, cwd=CWD)
            if k:  # the first run warms the file cache
                out.append(time.perf_counter() - t)
    return [statistics.median(t) for t in times]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--before", help="a checkout whose carbon_bayes/ is timed too (the CLI row)")
    ap.add_argument("--out", help="also write the markdown table to this file")
    args = ap.parse_args(argv)
    lines = [f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()}); median of "
             f"{args.repeats} fresh interpreters", "", "| what | median | x the `import numpy` floor |",
             "| --- | ---: | ---: |"]
    floor = None
    before = {**ENV, "PYTHONPATH": str(Path(args.before).resolve())} if args.before else None
    for label, case in CASES:
        s, *old = median_seconds(case, args.repeats, other=before if case[0] == "-m" else None)
        floor = floor or s
        lines.append(f"| {label} | {s:.3f} s | {s / floor:.1f}x |")
        if old:
            lines.append(f"| the same CLI call, before (`{Path(args.before).name}`; runs alternating with the row "
                         f"above) | {old[0]:.3f} s | {old[0] / floor:.1f}x |")
        print(lines[-1], file=sys.stderr, flush=True)
    finish(lines, args.out)


if __name__ == "__main__":
    main()
