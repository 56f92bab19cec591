"""Peak memory and wall time of ``carbon-bayes estimate --input FILE --output FILE`` (streamed in blocks).

For each size, a catalogue of that many runs (the mix of ``bench_speed.make_runs``: the published
rows repeated with varied hours, sizes and locations, about 40% T1, 35% T2, 25% T3) is written to
a CSV or Parquet file, then the CLI estimates it in its own process under ``/usr/bin/time -v``,
which reports the process's peak resident memory. Beside it, the same for
``python -c 'import carbon_bayes.cli, pandas'`` (the floor the imports alone take).

Usage::

    python benchmarks/bench_stream.py                              # 10,000 and 100,000 runs, Parquet
    python benchmarks/bench_stream.py --sizes 1000000 --format csv # one size, CSV
    python benchmarks/bench_stream.py --out /tmp/stream.md         # also write the table to a file

Nothing is asserted; the numbers are reported (the load average is printed, as other jobs on the
machine slow every number down).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLI = [sys.executable, "-m", "carbon_bayes"]


def write_catalogue(n: int, path: Path) -> None:
    """Write ``n`` runs (``bench_speed.make_runs``) to ``path`` (.csv or .parquet), in a subprocess."""
    code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); from bench_speed import make_runs; "
            f"r = make_runs({n}); p = {str(path)!r}; "
            "r.to_parquet(p, index=False) if p.endswith('.parquet') else r.to_csv(p, index=False)")
    subprocess.run([sys.executable, "-c", code], check=True)


def timed(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd`` under ``/usr/bin/time -v``; return (wall seconds, peak RSS in MB)."""
    t = time.perf_counter()
    res = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t
    if res.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{res.stderr[-2000:]}")
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr).group(1))
    return wall, kb / 1024


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    ap.add_argument("--chunk-size", type=int, default=None, help="--chunk-size of the CLI (default its own)")
    ap.add_argument("--out", help="also write the markdown table to this file")
    args = ap.parse_args(argv)
    lines = [f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})", "",
             "| runs | input | wall time | peak RSS | per 100,000 runs |", "| ---: | --- | ---: | ---: | ---: |"]
    wall, rss = timed([sys.executable, "-c", "import carbon_bayes.cli, pandas, pyarrow.parquet"])
    lines.append(f"| 0 (imports only) | - | {wall:.2f} s | {rss:,.0f} MB | - |")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            src, dst = Path(tmp) / f"runs.{args.format}", Path(tmp) / f"out.{args.format}"
            write_catalogue(n, src)
            cmd = [*CLI, "estimate", "--input", str(src), "--output", str(dst), "--no-progress"]
            if args.chunk_size:
                cmd += ["--chunk-size", str(args.chunk_size)]
            wall, rss = timed(cmd)
            lines.append(f"| {n:,} | {args.format} | {wall:,.0f} s | {rss:,.0f} MB | {wall * 1e5 / n:,.0f} s |")
            print(lines[-1], file=sys.stderr, flush=True)
    finish(lines, args.out)


def finish(lines: list[str], out: str | None) -> None:
    """Print the lines and the load average after; also write them to ``out`` when given."""
    lines += ["", f"load average after: {os.getloadavg()[0]:.2f}"]
    text = "\n".join(lines)
    print(text)
    if out:
        Path(out).write_text(text + "\n")


if __name__ == "__main__":
    main()
