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
    python benchmarks/bench_stream.py --sizes 1000000 --workers 2  # on a local two-worker dask.distributed cluster

With ``--workers N`` the CLI sends its blocks (``--scheduler``) to a ``dask.distributed``
``LocalCluster`` of N single-threaded worker processes on 127.0.0.1, started in a process of its
own; the resident memory of the CLI, the scheduler and every worker is sampled every few seconds
(psutil, which ``distributed`` requires), and the table gives the peak of each and of their sum.

Nothing is asserted; the numbers are reported (the load average is printed, as other jobs on the
machine slow every number down).
"""

from __future__ import annotations

import argparse
import json
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


CLUSTER = """
import json, sys
import distributed
with distributed.LocalCluster(n_workers={n}, threads_per_worker=1, processes=True, host="127.0.0.1",
                              dashboard_address=None, memory_limit=0) as cluster:
    print(json.dumps({{"address": cluster.scheduler_address}}), flush=True)
    sys.stdin.read()  # until the benchmark closes the pipe
"""


def on_cluster(cmd: list[str], n_workers: int, every_s: float = 5.0) -> tuple[float, dict[str, float], int]:
    """Run ``cmd`` (the CLI) with ``--scheduler`` on a local cluster of ``n_workers`` worker processes.

    Returns the wall time, the peak resident MB of each process (the CLI; the cluster's own process,
    which holds the scheduler and the workers' nannies; the workers) and of their sum, and the
    number of samples taken.
    """
    import psutil

    cluster = subprocess.Popen([sys.executable, "-c", CLUSTER.format(n=n_workers)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(cluster.stdout.readline())
        procs = {"scheduler": psutil.Process(cluster.pid)}  # and the nannies
        # the worker processes (not multiprocessing's resource tracker)
        workers = [c for c in procs["scheduler"].children(recursive=True)
                   if "resource_tracker" not in " ".join(c.cmdline())]
        procs.update({f"worker {i + 1}": w for i, w in enumerate(workers)})
        t = time.perf_counter()
        cli = subprocess.Popen([*cmd, "--scheduler", info["address"]])
        procs = {"CLI": psutil.Process(cli.pid), **procs}
        peak, samples = dict.fromkeys([*procs, "sum"], 0.0), 0
        while cli.poll() is None:
            now = {}
            for name, proc in procs.items():
                try:
                    now[name] = proc.memory_info().rss / 2 ** 20
                except psutil.Error:
                    now[name] = 0.0
            now["sum"] = sum(now.values())
            peak = {k: max(v, now[k]) for k, v in peak.items()}
            samples += 1
            time.sleep(every_s)
        wall = time.perf_counter() - t
        if cli.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed with exit code {cli.returncode}")
        return wall, peak, samples
    finally:
        cluster.stdin.close()
        cluster.wait(timeout=60)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    ap.add_argument("--chunk-size", type=int, default=None, help="--chunk-size of the CLI (default its own)")
    ap.add_argument("--out", help="also write the markdown table to this file")
    ap.add_argument("--workers", type=int, default=0,
                    help="score on a local dask.distributed cluster of this many worker processes")
    args = ap.parse_args(argv)
    if args.workers:
        return cluster_main(args)
    lines = [f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})", "",
             "| runs | input | wall time | peak RSS | per 100,000 runs |", "| ---: | --- | ---: | ---: | ---: |"]
    wall, rss = timed([sys.executable, "-c", "import carbon_bayes.cli, pandas, pyarrow.parquet"])
    lines.append(f"| 0 (imports only) | - | {wall:.2f} s | {rss:,.0f} MB | - |")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            cmd, dst = catalogue_command(n, Path(tmp), args)
            wall, rss = timed(cmd)
            lines.append(f"| {n:,} | {args.format} | {wall:,.0f} s | {rss:,.0f} MB | {wall * 1e5 / n:,.0f} s |")
            print(lines[-1], file=sys.stderr, flush=True)
    finish(lines, args.out)


def catalogue_command(n: int, tmp: Path, args) -> tuple[list[str], Path]:
    """Write a catalogue of ``n`` runs under ``tmp``; return the CLI command that scores it and its output path."""
    src, dst = tmp / f"runs.{args.format}", tmp / f"out.{args.format}"
    write_catalogue(n, src)
    cmd = [*CLI, "estimate", "--input", str(src), "--output", str(dst), "--no-progress"]
    if args.chunk_size:
        cmd += ["--chunk-size", str(args.chunk_size)]
    return cmd, dst


def cluster_main(args) -> None:
    """Score each size on a local cluster of ``args.workers`` workers: wall time and peak memory per process."""
    lines = [f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()}); "
             f"{args.workers} worker processes, one thread each", ""]
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            cmd, dst = catalogue_command(n, Path(tmp), args)
            wall, peak, samples = on_cluster(cmd, args.workers)
            rows = count_rows(dst)
            if not lines[-1].startswith("|"):
                lines += ["| runs | rows written | wall time | " + " | ".join(f"peak RSS {k}" for k in peak) + " |",
                          "| ---: | ---: | ---: | " + " | ".join("---:" for _ in peak) + " |"]
            lines.append(f"| {n:,} | {rows:,} | {wall:,.0f} s | "
                         + " | ".join(f"{v:,.0f} MB" for v in peak.values()) + " |")
            lines.append(f"<!-- {samples} samples -->")
            print(lines[-2], file=sys.stderr, flush=True)
    finish(lines, args.out)


def count_rows(path: Path) -> int:
    """Rows of the CLI's output file (Parquet metadata, or CSV lines less the header)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    with open(path, "rb") as fh:
        return sum(1 for _ in fh) - 1


def finish(lines: list[str], out: str | None) -> None:
    """Print the lines and the load average after; also write them to ``out`` when given."""
    lines += ["", f"load average after: {os.getloadavg()[0]:.2f}"]
    text = "\n".join(lines)
    print(text)
    if out:
        from carbon_bayes.safeio import write_text

        write_text(out, text + "\n")


if __name__ == "__main__":
    main()
