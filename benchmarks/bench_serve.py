"""Load on the REST service over loopback: throughput, latency, overhead and memory, printed as markdown.

Starts ``carbon-bayes serve`` on a free 127.0.0.1 port (a subprocess; nothing leaves the machine) and
measures, with bounded loops that stop by themselves:

1. estimates per second for single-run requests (``POST /v1/estimate``) and 1,000-row requests
   (``POST /v1/estimate/batch``) with 1, 8 and 32 concurrent clients (one keep-alive connection
   each), and the p50 / p99 request latency;
2. the service's overhead per request: its median latency with one client divided by the median
   time of the same ``estimate()`` call in-process (after a warm-up, same payload);
3. a soak: 8 clients sending single runs with a 1,000-row batch now and then, for ``--soak-seconds``
   (default 600), sampling the server's resident memory every 5 s: start, peak, end and the trend
   over the second half (flat memory: no leak);

and counts every error (a status other than 200, or a failed connection). Nothing is asserted.

Usage::

    python benchmarks/bench_serve.py                         # about 13 minutes (10-minute soak)
    python benchmarks/bench_serve.py --soak-seconds 60       # quicker
    python benchmarks/bench_serve.py --doc docs/benchmarks.md   # rewrite that doc's "bench-serve" section
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from serve_support import live_server  # noqa: E402  (the tests' loopback server)

README_RUN = {"parameters": 7e9, "training_tokens": 2e12, "hardware": "A100-80GB", "device_hours": 184320,
              "country": "US", "year": 2023}
BEGIN, END = "<!-- begin bench-serve -->", "<!-- end bench-serve -->"


def batch_runs(n: int = 1000, seed: int = 20261202) -> list[dict]:
    """Make a mix of runs: a third each with device-hours (T1), with compute (T2), with metadata only (T3)."""
    rng = np.random.default_rng(seed)
    hw = ["A100-80GB", "H100", "V100", "TPU v4"]
    where = [{"country": "US"}, {"country": "FR"}, {"region": "gcp:europe-north1"}, {"region": "aws:us-east-1"}]
    runs = []
    for i in range(n):
        p = float(10 ** rng.uniform(8, 11.5))
        base = {"run_id": f"r{i}", "year": int(rng.integers(2019, 2026)), **where[i % 4]}
        if i % 3 == 0:
            base |= {"hardware": hw[i % 4], "device_hours": float(10 ** rng.uniform(3, 6.5))}
        elif i % 3 == 1:
            base |= {"hardware": hw[i % 4], "parameters": p, "training_tokens": float(p * rng.uniform(5, 100))}
        else:
            base |= {"parameters": p, "architecture": "dense_transformer"}
        runs.append(base)
    return runs


#: Seconds a client waits for an answer: longer than the queue of 32 batches (each ~10 s on 2 cores),
#: so that a slow answer counts as latency, not as an error.
TIMEOUT = 1800


class Client:
    """One keep-alive connection to the service."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)

    def post(self, path: str, body: bytes) -> int:
        """POST ``body`` to ``path``; return the status (-1 when the connection failed)."""
        try:
            self.conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            r = self.conn.getresponse()
            r.read()
            return r.status
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
            return -1


def load(port: int, path: str, body: bytes, clients: int, requests: int) -> dict:
    """Send ``requests`` requests from ``clients`` threads; return wall time, latencies and errors."""
    latencies: list[float] = []
    errors = [0]
    todo = [requests]
    lock = threading.Lock()

    def worker():
        c = Client(port)
        while True:
            with lock:
                if todo[0] == 0:
                    return
                todo[0] -= 1
            t0 = time.perf_counter()
            status = c.post(path, body)
            dt_ = time.perf_counter() - t0
            with lock:
                latencies.append(dt_)
                errors[0] += status != 200

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"wall": time.perf_counter() - t0, "latencies": latencies, "errors": errors[0]}


def rss_mb(pid: int) -> tuple[float, float]:
    """Resident and peak resident memory (MB) of a process, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def in_process(runs, repeats: int) -> float:
    """Median seconds of ``estimate(runs)`` in this process, after a warm-up call."""
    import carbon_bayes as cb

    cb.estimate(runs)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        cb.estimate(runs, keep_draws=len(runs) == 1)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def pct(values: list[float], q: float) -> float:
    return float(np.quantile(values, q)) if values else float("nan")


def scenarios(url, args) -> tuple[list[dict], dict]:
    """Throughput and latency for each payload and concurrency, and the overhead against in-process."""
    port = int(url.rsplit(":", 1)[1])
    batch = batch_runs(args.rows)
    payloads = {"single run": ("/v1/estimate", json.dumps({"run": README_RUN, "distribution": False}).encode(), 1,
                               [README_RUN]),
                f"{args.rows:,}-row batch": ("/v1/estimate/batch", json.dumps({"runs": batch}).encode(), args.rows,
                                             batch)}
    rows, overhead = [], {}
    for name, (path, body, n_rows, runs) in payloads.items():
        Client(port).post(path, body)  # warm-up
        for clients in args.clients:
            requests = max(clients * (args.single_rounds if n_rows == 1 else args.batch_rounds), 3)
            print(f"{name}: {clients} clients, {requests} requests", file=sys.stderr)
            r = load(port, path, body, clients, requests)
            ok = len(r["latencies"]) - r["errors"]
            rows.append({"payload": name, "clients": clients, "requests": requests, "errors": r["errors"],
                         "estimates_per_s": ok * n_rows / r["wall"], "p50_ms": 1000 * pct(r["latencies"], 0.5),
                         "p99_ms": 1000 * pct(r["latencies"], 0.99)})
        one = next(x for x in rows if x["payload"] == name and x["clients"] == 1)
        t_in = in_process(runs, 50 if n_rows == 1 else 3)
        overhead[name] = (one["p50_ms"] / 1000, t_in)
    return rows, overhead


def soak(url, args) -> dict:
    """Mixed traffic from 8 clients for ``args.soak_seconds``; the server's memory sampled every 5 s."""
    port = int(url.rsplit(":", 1)[1])
    single = json.dumps({"run": README_RUN}).encode()
    batch = json.dumps({"runs": batch_runs(args.rows)}).encode()
    stop = time.monotonic() + args.soak_seconds
    counts = {"requests": 0, "errors": 0, "rows": 0}
    lock = threading.Lock()

    def worker(k: int):
        c = Client(port)
        i = 0
        while time.monotonic() < stop:
            big = k == 0 and i % 10 == 9  # one client sends a batch every tenth request
            status = c.post("/v1/estimate/batch" if big else "/v1/estimate", batch if big else single)
            i += 1
            with lock:
                counts["requests"] += 1
                counts["errors"] += status != 200
                counts["rows"] += (args.rows if big else 1) if status == 200 else 0

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    samples = []
    t0 = time.monotonic()
    while any(t.is_alive() for t in threads):
        samples.append((time.monotonic() - t0, *rss_mb(url.pid)))
        time.sleep(5)
    for t in threads:
        t.join()
    times = np.array([s[0] for s in samples])
    rss = np.array([s[1] for s in samples])
    half = times >= times[-1] / 2
    slope = float(np.polyfit(times[half] / 60, rss[half], 1)[0]) if half.sum() >= 3 else float("nan")
    return {**counts, "seconds": args.soak_seconds, "rss_start": rss[0], "rss_max": rss.max(), "rss_end": rss[-1],
            "peak_hwm": samples[-1][2], "slope_mb_per_min": slope}


def markdown(rows, overhead, soaked, args, load_before, load_after) -> str:
    cmd = "python benchmarks/bench_serve.py" + "".join(f" {a}" for a in sys.argv[1:] if not a.endswith(".md")
                                                       and a not in ("--doc", "--out"))
    out = [f"Measured {dt.date.today().isoformat()} with `{cmd}` on {platform.machine()} with "
           f"{os.cpu_count()} cores (Python {platform.python_version()}), service and clients on the same machine "
           f"over 127.0.0.1; load average (1/5/15 min) before {load_before}, after {load_after}.", "",
           "| request | clients | requests | errors | estimates/s | p50 latency | p99 latency |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        out.append(f"| {r['payload']} | {r['clients']} | {r['requests']} | {r['errors']} | "
                   f"{r['estimates_per_s']:,.1f} | {r['p50_ms']:,.1f} ms | {r['p99_ms']:,.1f} ms |")
    out += ["", "| request | service, 1 client (median) | `estimate()` in-process (median) | ratio |",
            "| --- | --- | --- | --- |"]
    for name, (served, local) in overhead.items():
        out.append(f"| {name} | {1000 * served:,.1f} ms | {1000 * local:,.1f} ms | {served / local:.2f} |")
    if soaked:
        s = soaked
        out += ["", f"Soak: {s['seconds'] / 60:g} minutes, 8 clients (single runs, one {args.rows:,}-row batch in "
                    f"every tenth request of one client): {s['requests']:,} requests, {s['rows']:,} runs estimated, "
                    f"{s['errors']} errors. Server resident memory: {s['rss_start']:.0f} MB at the first sample, "
                    f"peak {s['peak_hwm']:.0f} MB, {s['rss_end']:.0f} MB at the end; trend over the second half "
                    f"{s['slope_mb_per_min']:+.2f} MB per minute."]
    return "\n".join(out) + "\n"


def write_doc(path: str, text: str) -> None:
    """Replace the text between the ``bench-serve`` begin and end lines of ``path``."""
    from carbon_bayes.posterior import atomic_write

    doc = Path(path).read_text()
    if BEGIN not in doc or END not in doc:
        raise SystemExit(f"{path} has no {BEGIN} ... {END} section")
    head, rest = doc.split(BEGIN, 1)
    new = head + BEGIN + "\n" + text + rest[rest.index(END):]

    def write(tmp):
        Path(tmp).write_text(new)

    atomic_write(path, write)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32], help="concurrent clients (default 1 8 32)")
    ap.add_argument("--rows", type=int, default=1000, help="rows of the batch request (default 1000)")
    ap.add_argument("--single-rounds", type=int, default=40, help="single-run requests per client (default 40)")
    ap.add_argument("--batch-rounds", type=int, default=1, help="batch requests per client (default 1; 3 at least)")
    ap.add_argument("--soak-seconds", type=float, default=600, help="soak duration, 0 to skip (default 600)")
    ap.add_argument("--out", help="also write the markdown to this file")
    ap.add_argument("--doc", help="rewrite the bench-serve section of this markdown file")
    args = ap.parse_args(argv)
    load_before = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    with live_server("--max-rows", str(max(args.rows, 1000)), "--max-body-bytes", "20000000") as url:
        rows, overhead = scenarios(url, args)
        soaked = soak(url, args) if args.soak_seconds > 0 else None
    load_after = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    text = markdown(rows, overhead, soaked, args, load_before, load_after)
    print(text)
    if args.out:
        from carbon_bayes.safeio import write_text

        write_text(args.out, text)
    if args.doc:
        write_doc(args.doc, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
