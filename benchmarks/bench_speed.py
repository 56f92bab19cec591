"""Speed of carbon_bayes predictions against the project's speed targets, printed as markdown tables.

Measures, against those targets:

1. ``import carbon_bayes`` in a fresh interpreter (median of 5; target <= 1 s), whether PyMC or
   PyTensor got imported, and a cold first ``estimate()`` (import + loading the shipped posterior);
2. one ``estimate()`` of a single run, in-process, after import and a warm-up call (median of 50
   calls for a T1, a T2 and a T3 run; targets <= 1.5 ms at T1 and T2, <= 2.5 ms at T3), beside
   the same run in one pass at its tier's first draw count and the minimal numpy chain below on
   the same run and draws;
3. batches of runs in one ``estimate()`` call (a realistic mix: the rows of
   ``data/training_runs.csv`` repeated with varied hours, sizes and locations across the three
   tiers), each size in its own subprocess so that its peak RSS (``resource.getrusage``) is its
   own: wall time (median of the repeats) and peak memory, with ``keep_draws`` at its default
   and with ``keep_draws=False`` (target: 100,000 runs <= 5 s with bounded memory);
4. beside it, on the same batch, a minimal-numpy version of the same chain
   (``benchmarks/minimal_chain.py``: the same posterior arrays, the same draws per run in the same
   passes, chunks and threads, the same summaries; numpy ``Generator`` random numbers instead of
   counter-based streams, no checks or notes): the ceiling, with the ratio (target: within 1.5x);
5. the ML CO2 Impact formula (``carbon_bayes.baselines.ml_co2_impact``) on the same batches.

Usage::

    python benchmarks/bench_speed.py                       # everything, ~2-4 minutes
    python benchmarks/bench_speed.py --sizes 1000 10000    # smaller batches
    python benchmarks/bench_speed.py --profile             # + cProfile of the largest batch
    python benchmarks/bench_speed.py --fixed-draws 1000    # + each batch at 1,000 draws per run in one pass
    python benchmarks/bench_speed.py --out docs/bench.md   # also write the tables to a file
    python benchmarks/bench_speed.py --doc docs/benchmarks.md   # rewrite that doc's "bench-speed" section

Timings are medians of repeats (batches above 10,000 runs are timed once); the load average is
printed before and after, because other jobs on the machine slow every number down. Nothing here
is asserted: the numbers are reported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
TARGETS = {"import_s": 1.0, "single_ms": {"T1": 1.5, "T2": 1.5, "T3": 2.5}, "batch_100k_s": 5.0,
           "minimal_ratio": 1.5}
HEAVY = ("pymc", "pytensor", "arviz", "nutpie", "scipy", "matplotlib")

#: One run per tier, Llama-2-7B-like (T1 hours known, T2 compute known, T3 metadata only).
T1 = {"run_id": "t1", "year": 2023, "task": "language", "architecture": "dense_transformer", "parameters": 7e9,
      "hardware": "A100-80GB", "device_hours": 184_320, "country": "US"}
T2 = {"run_id": "t2", "year": 2023, "task": "language", "architecture": "dense_transformer", "parameters": 7e9,
      "training_tokens": 2e12, "hardware": "A100-80GB", "country": "US"}
T3 = {"run_id": "t3", "year": 2023, "task": "language", "architecture": "dense_transformer", "parameters": 7e9}

RUN_FACTS = ("year", "task", "architecture", "parameters", "active_parameters", "training_tokens", "training_flops",
             "hardware", "n_devices", "device_hours", "training_days", "region", "country", "provider")
REGIONS = ("aws:us-east-1", "gcp:us-central1", "azure:westeurope", "gcp:europe-west4", "aws:eu-west-1")
COUNTRIES = ("US", "FR", "DE", "CN", "GB", "SE", "IN", "CA", "JP", "KR")


# ------------------------------------------------------------------------------ helpers

def _loadavg() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict:
    import numpy as np
    import pandas as pd

    import carbon_bayes

    try:
        mem = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30)
    except (ValueError, OSError):
        mem = None
    return {"date (UTC)": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine": f"{platform.system()} {platform.machine()}, {_cpu_model()}, {os.cpu_count()} CPUs"
                       + (f", {mem} GiB RAM" if mem else ""),
            "python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__,
            "carbon_bayes": carbon_bayes.__version__, "load average (1/5/15 min) at start": _loadavg()}


def _run_json(code_or_args: list[str], timeout: float = 900, show_stderr: bool = False) -> dict:
    out = subprocess.run([sys.executable, *code_or_args], stdout=subprocess.PIPE,
                         stderr=None if show_stderr else subprocess.PIPE, text=True, timeout=timeout,
                         cwd=str(HERE.parent.parent))
    if out.returncode != 0:
        raise RuntimeError(f"subprocess failed: {(out.stderr or '')[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _ms(x: float) -> str:
    return f"{x * 1e3:.1f}"


def _verdict(value: float, target: float) -> str:
    return "met" if value <= target else f"**missed** ({value / target:.1f}x the target)"


# ------------------------------------------------------------------------------ 1. import

IMPORT_CODE = f"""
import json, sys, time
t0 = time.perf_counter()
import carbon_bayes
t1 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, **{{m: m in sys.modules for m in {HEAVY!r}}}}}))
"""

COLD_CODE = f"""
import json, sys, time
t0 = time.perf_counter()
import carbon_bayes
t1 = time.perf_counter()
est = carbon_bayes.estimate({T1!r})
est.to_frame()
t2 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "first_estimate_s": t2 - t1,
                  **{{m: m in sys.modules for m in {HEAVY!r}}}}}))
"""


def bench_import(repeats: int = 5) -> dict:
    runs, walls, cold = [], [], []
    base = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        base.append(time.perf_counter() - t)
        t = time.perf_counter()
        runs.append(_run_json(["-c", IMPORT_CODE]))
        walls.append(time.perf_counter() - t)
        cold.append(_run_json(["-c", COLD_CODE]))
    return {"import_s": statistics.median(r["import_s"] for r in runs),
            "import_max_s": max(r["import_s"] for r in runs),
            "process_wall_s": statistics.median(walls), "python_startup_s": statistics.median(base),
            "heavy_after_import": [m for m in HEAVY if any(r[m] for r in runs)],
            "cold_import_s": statistics.median(c["import_s"] for c in cold),
            "cold_first_estimate_s": statistics.median(c["first_estimate_s"] for c in cold),
            "heavy_after_estimate": [m for m in HEAVY if any(c[m] for c in cold)]}


# ------------------------------------------------------------------------------ 2. single runs

def _spread(times: list[float]) -> dict:
    times = sorted(times)
    return {"median": statistics.median(times), "p10": times[len(times) // 10],
            "p90": times[int(len(times) * 0.9)], "min": times[0]}


def bench_single(calls: int = 50) -> dict:
    """One run per tier: ``estimate().to_frame()`` beside two comparisons timed in the same loop.

    * one pass at the tier's first draw count (``n_draws=N_DRAWS_BY_TIER[tier]``): what the draw
      policy's second pass costs;
    * the minimal numpy chain (``minimal_chain.estimate``) on the same run with the package's draws,
      pass by pass: what the package's checks, counter-based random numbers and notes cost over
      the bare arithmetic.

    The three calls alternate, so that a change in the machine's load touches all three alike.
    """
    import minimal_chain

    import carbon_bayes
    from carbon_bayes.constants import N_DRAWS_BY_TIER
    from carbon_bayes.predict import get_predictor

    pred = get_predictor()
    out = {}
    for name, run in (("T1", T1), ("T2", T2), ("T3", T3)):
        carbon_bayes.estimate(run)  # warm-up: loads the posterior, fills caches
        passes = package_passes([run])
        one_pass = N_DRAWS_BY_TIER[name]
        carbon_bayes.estimate(run, n_draws=one_pass)
        minimal_chain.estimate(pred, [run], passes)
        times: dict[str, list[float]] = {"package": [], "one_pass": [], "minimal": []}
        for _ in range(calls):
            t = time.perf_counter()
            carbon_bayes.estimate(run).to_frame()
            times["package"].append(time.perf_counter() - t)
            t = time.perf_counter()
            carbon_bayes.estimate(run, n_draws=one_pass).to_frame()
            times["one_pass"].append(time.perf_counter() - t)
            t = time.perf_counter()
            minimal_chain.estimate(pred, [run], passes)
            times["minimal"].append(time.perf_counter() - t)
        out[name] = {**_spread(times["package"]), "passes": [int(p[0]) for p in passes],
                     "one_pass_draws": one_pass, "one_pass": _spread(times["one_pass"])["median"],
                     "minimal": _spread(times["minimal"])["median"]}
    return out


# ------------------------------------------------------------------------------ 3./4. batches

def make_runs(n: int, seed: int = 0):
    """Make ``n`` runs: published rows repeated with varied hours, sizes and locations.

    Across tiers: about 40% T1, 35% T2-masked, 25% T3-masked; masked rows without compute fall to T3.
    """
    import numpy as np
    import pandas as pd

    from carbon_bayes import schema
    from carbon_bayes.dataset import load_training_runs

    d = load_training_runs()
    base = d[list(RUN_FACTS)].copy()
    ok = []
    for i in range(len(base)):  # keep the rows the input contract accepts
        try:
            schema.normalise_runs(base.iloc[[i]])
            ok.append(i)
        except ValueError:
            pass
    base = base.iloc[ok].reset_index(drop=True)
    hours = base["device_hours"].fillna(base["n_devices"] * base["training_days"] * 24)
    base = base.drop(columns=["n_devices", "training_days"]).assign(device_hours=hours)
    rng = np.random.default_rng(seed)
    runs = base.iloc[rng.integers(0, len(base), n)].reset_index(drop=True)
    size = np.exp(rng.normal(0, 0.7, n))
    data = np.exp(rng.normal(0, 0.5, n))
    # hours scale with the compute they buy (and +-30% of utilisation), so that the input contract's
    # hours-against-compute check accepts every run, as it accepts the published ones
    runs["device_hours"] = np.clip(runs["device_hours"] * size * data * np.exp(rng.normal(0, 0.3, n)), 0.01, 1e9)
    runs["parameters"] = np.clip(runs["parameters"] * size, 1e6, 5e13)
    runs["active_parameters"] = np.minimum(runs["active_parameters"] * size, runs["parameters"])
    runs["training_tokens"] = np.clip(runs["training_tokens"] * data, 1e6, 1e15)
    runs["training_flops"] = np.clip(runs["training_flops"] * size * data, 1e13, 1e28)
    where = rng.random(n)
    reg = where < 0.25
    runs.loc[reg, "region"] = rng.choice(REGIONS, reg.sum())
    runs.loc[reg, ["country", "provider"]] = ""
    cty = (where >= 0.25) & (where < 0.6)
    runs.loc[cty, "country"] = rng.choice(COUNTRIES, cty.sum())
    runs.loc[cty, "region"] = ""
    tier = rng.random(n)
    t2 = (tier >= 0.4) & (tier < 0.75)
    t3 = tier >= 0.75
    runs.loc[t2 | t3, "device_hours"] = np.nan
    runs.loc[t3, ["training_tokens", "training_flops"]] = np.nan
    runs.loc[t3, ["hardware", "region", "country", "provider"]] = ""
    runs.insert(0, "run_id", [f"r{i}" for i in range(n)])
    return _accepted(pd.DataFrame(runs))


def _accepted(runs, block: int = 10_000):
    """Return ``runs`` with the hours of any run the input contract refuses doubled until it accepts it.

    The +-30% of utilisation can push a run with a high published utilisation past the chips' peak
    (one run in about 70,000); the contract refuses such a run, so a catalogue of the mix must not
    hold one.
    """
    from carbon_bayes import schema
    from carbon_bayes.errors import FIRST_RUN_ROW, InputError

    hours = runs.columns.get_loc("device_hours")
    for start in range(0, len(runs), block):
        while True:
            try:
                schema.normalise_columns(runs.iloc[start:start + block])
                break
            except InputError as e:
                if e.field != "device_hours":
                    raise
                i = start + int(str(e.row).split(",")[0]) - FIRST_RUN_ROW
                runs.iat[i, hours] *= 2.0
    return runs


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def package_passes(runs) -> list:
    """Draws per run of each simulation pass of one ``estimate(runs)`` (0 where a run is not in the pass).

    The first pass is by tier; later ones re-simulate the runs whose median was not yet steady.
    """
    import numpy as np

    import carbon_bayes
    from carbon_bayes import estimator

    passes = []
    original = estimator._simulate

    def recording(pred, inputs, keys, per_run, seed, ci, chunk_size, keep, only=None, features=None):
        rows = np.arange(len(per_run)) if only is None else np.asarray(only)
        draws = np.zeros(len(per_run), dtype=int)
        draws[rows] = np.asarray(per_run)[rows]
        passes.append(draws)
        return original(pred, inputs, keys, per_run, seed, ci, chunk_size, keep, only, features)

    estimator._simulate = recording
    try:
        carbon_bayes.estimate(runs, keep_draws=False)
    finally:
        estimator._simulate = original
    return passes


def worker(kind: str, n: int, repeats: int, keep: str, profile: str | None, draws: int | None = None) -> dict:
    """Run in a subprocess: build ``n`` runs, warm up, then time ``kind`` ``repeats`` times.

    ``draws``: every run gets that many draws in one pass (``estimate(n_draws=draws)``), instead of
    the package's policy (by tier, more until the median is steady).
    """
    import numpy as np

    import carbon_bayes
    from carbon_bayes import baselines

    runs = make_runs(n)
    carbon_bayes.estimate(runs.iloc[:5])  # load the posterior
    baselines.ml_co2_impact(runs.iloc[:5])
    if kind == "minimal":
        import minimal_chain

        from carbon_bayes.predict import get_predictor

        # untimed: the draws the package gives each run, pass by pass
        passes = package_passes(runs) if draws is None else [np.full(n, draws)]
        pred = get_predictor()
    rss0 = _rss_mb()
    kw = {} if keep == "default" else {"keep_draws": keep == "true"}
    if draws is not None:
        kw["n_draws"] = draws
    if profile:  # an extra, untimed call under cProfile (printed to stderr, saved to ``profile``)
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        carbon_bayes.estimate(runs, **kw)
        prof.disable()
        prof.dump_stats(profile)
        stats = pstats.Stats(profile, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(15)
        stats.sort_stats("cumulative").print_stats("carbon_bayes", 20)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        if kind == "estimate":
            est = carbon_bayes.estimate(runs, **kw)
            frame = est.to_frame()
            answered = int(np.isfinite(frame["co2_t_median"]).sum())
            tiers = frame["tier"].value_counts().to_dict()
            kept = est.draws_kept
        elif kind == "minimal":
            frame = minimal_chain.estimate(pred, runs, passes)
            answered, tiers, kept = int(np.isfinite(frame["co2_t_median"]).sum()), {}, False
        else:
            frame = baselines.ml_co2_impact(runs)
            answered = int(np.isfinite(frame["co2_t"]).sum())
            tiers, kept = {}, False
        times.append(time.perf_counter() - t)
        del frame
    return {"n": n, "kind": kind, "keep": keep, "draws": draws, "median_s": statistics.median(times),
            "min_s": min(times),
            "rss_before_mb": rss0, "rss_peak_mb": _rss_mb(), "answered": answered, "tiers": tiers,
            "draws_kept": kept, "input_mb": float(runs.memory_usage(deep=True).sum() / 2 ** 20)}


def bench_batches(sizes, repeats: int, profile: bool, fixed_draws: int | None = None) -> list[dict]:
    out = []
    for n in sizes:
        reps = repeats if n <= 10_000 else 1  # a 100,000-run batch takes minutes: timed once
        for keep in ("default", "false"):
            args = [str(HERE), "--worker", "estimate", "--n", str(n), "--repeats", str(reps), "--keep", keep]
            prof = profile and n == max(sizes) and keep == "default"
            if prof:
                args += ["--profile-file", str(Path(tempfile.gettempdir()) / f"carbon_bayes_estimate_{n}.prof")]
            out.append(_run_json(args, timeout=3600, show_stderr=prof))
            print(f"  estimate n={n} keep_draws={keep}: {out[-1]['median_s']:.2f} s", file=sys.stderr)
        out.append(_run_json([str(HERE), "--worker", "minimal", "--n", str(n), "--repeats", str(reps)], timeout=3600))
        print(f"  minimal numpy n={n}: {out[-1]['median_s']:.2f} s", file=sys.stderr)
        out.append(_run_json([str(HERE), "--worker", "formula", "--n", str(n), "--repeats", str(reps)], timeout=3600))
        print(f"  ml_co2_impact n={n}: {out[-1]['median_s']:.2f} s", file=sys.stderr)
        if fixed_draws:  # the same batch with one fixed draw count, beside the minimal chain at that count
            for kind in ("estimate", "minimal"):
                out.append(_run_json([str(HERE), "--worker", kind, "--n", str(n), "--repeats", str(reps),
                                      "--draws", str(fixed_draws)], timeout=3600))
                print(f"  {kind} n={n} n_draws={fixed_draws}: {out[-1]['median_s']:.2f} s", file=sys.stderr)
    return out


# ------------------------------------------------------------------------------ report

def report(info: dict, imp: dict, single: dict, batches: list[dict]) -> str:
    lines = ["## Machine", "", "| | |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in info.items()]
    lines += ["", "## Import (fresh interpreter, median of 5)", "",
              "| measure | value | target | |", "| --- | --- | --- | --- |",
              f"| `import carbon_bayes` | {imp['import_s']:.3f} s (max {imp['import_max_s']:.3f} s) | <= 1 s | "
              f"{_verdict(imp['import_s'], TARGETS['import_s'])} |",
              f"| whole `python -c 'import carbon_bayes'` process | {imp['process_wall_s']:.3f} s "
              f"(bare interpreter {imp['python_startup_s']:.3f} s) | | |",
              f"| heavy modules after import | {', '.join(imp['heavy_after_import']) or 'none'} | no pymc/pytensor | |",
              f"| cold first `estimate()` (posterior load + predictor) | {imp['cold_first_estimate_s']:.3f} s | | |",
              f"| heavy modules after `estimate()` | {', '.join(imp['heavy_after_estimate']) or 'none'} | "
              "no pymc/pytensor | " + ("met" if not {"pymc", "pytensor"} & set(imp["heavy_after_estimate"])
                                      else "**missed**") + " |"]
    lines += ["", "## One run, in-process, after import and a warm-up call (50 calls)", "",
              "`estimate(run).to_frame()`, and in the same loop the same run in one pass at its tier's first "
              "draw count, and the minimal numpy chain on the same run with the package's draws per pass.", "",
              "| run | draws per pass | median ms | p10 ms | p90 ms | target | | one pass: draws, ms | "
              "minimal numpy, same draws, ms | x minimal |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for k, v in single.items():
        target = TARGETS["single_ms"][k]
        lines.append(f"| {k} | {' then '.join(f'{d:,}' for d in v['passes'])} | {_ms(v['median'])} | "
                     f"{_ms(v['p10'])} | {_ms(v['p90'])} | <= {target:g} ms | {_verdict(v['median'] * 1e3, target)} | "
                     f"{v['one_pass_draws']:,}, {_ms(v['one_pass'])} | {_ms(v['minimal'])} | "
                     f"{v['median'] / v['minimal']:.2f} |")
    lines += ["", "## Batches in one call (each size in its own process)", "",
              "| method | runs | keep_draws | draws kept | median s | runs/s | peak RSS MB | RSS before call MB | "
              "answered | tiers |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for b in batches:
        name = {"estimate": "estimate()", "minimal": "minimal numpy, same chain"}.get(b["kind"], "ml_co2_impact")
        if b.get("draws"):
            name += f", n_draws={b['draws']:,}"
        keep = b["keep"] if b["kind"] == "estimate" else "-"
        tiers = ", ".join(f"{k} {v}" for k, v in sorted(b["tiers"].items())) or "-"
        lines.append(f"| {name} | {b['n']:,} | {keep} | {'yes' if b['draws_kept'] else 'no'} | {b['median_s']:.2f} | "
                     f"{b['n'] / b['median_s']:,.0f} | {b['rss_peak_mb']:.0f} | {b['rss_before_mb']:.0f} | "
                     f"{b['answered']:,} | {tiers} |")
    for b in batches:
        if b["kind"] == "estimate" and b["n"] == 100_000 and b["keep"] == "default":
            how = f" with n_draws={b['draws']:,}" if b.get("draws") else ""
            lines += ["", f"100,000 runs{how}: {b['median_s']:.1f} s against a target of "
                      f"{TARGETS['batch_100k_s']:g} s: {_verdict(b['median_s'], TARGETS['batch_100k_s'])}."]
    lines += _ratio_lines(batches)
    lines += ["", f"Load average (1/5/15 min) at the end: {_loadavg()}"]
    return "\n".join(lines) + "\n"


def _ratio_lines(batches: list[dict]) -> list[str]:
    """``estimate()`` (keep_draws default) over the minimal-numpy chain on the same batch, per size and draws."""
    est = {(b["n"], b.get("draws")): b["median_s"] for b in batches
           if b["kind"] == "estimate" and b["keep"] == "default"}
    low = {(b["n"], b.get("draws")): b["median_s"] for b in batches if b["kind"] == "minimal"}
    out = []
    for n, draws in sorted(set(est) & set(low), key=lambda k: (k[0], k[1] or 0)):
        r = est[n, draws] / low[n, draws]
        how = f" with n_draws={draws:,}" if draws else ""
        out.append(f"{n:,} runs{how}: estimate() takes {r:.2f}x the minimal-numpy chain beside it (target <= "
                   f"{TARGETS['minimal_ratio']:g}x): {_verdict(r, TARGETS['minimal_ratio'])}.")
    return ["", *out] if out else []


def demote(markdown: str) -> str:
    """Headings one level down (``## x`` -> ``### x``), for a section inside a document."""
    return "\n".join("#" + line if line.startswith("#") else line for line in markdown.split("\n"))


def write_doc_section(doc: str, name: str, text: str, sha: str) -> None:
    """Replace section ``name`` of ``doc`` (between its begin/end lines) by ``text``, headings demoted.

    The section goes under the marker of posterior ``sha`` (carbon_bayes.provenance).
    """
    from carbon_bayes.provenance import replace_section_in_file

    replace_section_in_file(doc, name, demote(text), sha)
    print(f"rewrote the {name} section of {doc}", file=sys.stderr)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    p.add_argument("--repeats", type=int, default=3, help="repeats of each batch (median reported)")
    p.add_argument("--calls", type=int, default=50, help="single-run calls per tier")
    p.add_argument("--profile", action="store_true",
                   help="cProfile one extra, untimed call on the largest batch (printed to stderr)")
    p.add_argument("--fixed-draws", type=int, default=None,
                   help="also time each batch with this many draws per run in one pass (estimate(n_draws=N)), "
                        "beside the minimal chain at the same count")
    p.add_argument("--out", help="also write the markdown to this file")
    p.add_argument("--doc", help="also rewrite the 'bench-speed' section of this markdown file (docs/benchmarks.md), "
                                 "with the shipped posterior's marker")
    p.add_argument("--worker", choices=["estimate", "minimal", "formula"], help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--keep", default="default", choices=["default", "true", "false"], help=argparse.SUPPRESS)
    p.add_argument("--profile-file", help=argparse.SUPPRESS)
    p.add_argument("--draws", type=int, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        print(json.dumps(worker(a.worker, a.n, a.repeats, a.keep, a.profile_file, a.draws)))
        return
    from carbon_bayes.provenance import posterior_sha256

    sha = posterior_sha256()  # the posterior every estimate below loads
    info = machine_info()
    print("import ...", file=sys.stderr)
    imp = bench_import()
    print("single runs ...", file=sys.stderr)
    single = bench_single(a.calls)
    print("batches ...", file=sys.stderr)
    batches = bench_batches(a.sizes, a.repeats, a.profile, a.fixed_draws)
    text = report(info, imp, single, batches)
    print(text)
    if a.out:
        from carbon_bayes.safeio import write_text

        write_text(a.out, text)
    if a.doc:
        write_doc_section(a.doc, "bench-speed", text, sha)


if __name__ == "__main__":
    main()
