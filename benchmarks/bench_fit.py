"""Time a full fit of the shipped dataset (target: <= 30 s on an idle 2-core machine), by stage, and an update.

Stages, timed separately: importing the model code (PyMC, PyTensor), building the PyMC graph,
compiling it (nutpie ``compile_pymc_model``, as ``carbon_bayes.fitting.sample`` does), sampling
(``carbon_bayes.fitting.sample`` with the compiled model), and the convergence report. With
``--sampler pymc`` PyMC's NUTS compiles inside ``pm.sample``, so compile and sampling are one
number; when the package's PyMC path hands NUTS to nutpie (PyMC >= 6 does so when nutpie is
installed), a second run with ``nuts_sampler="pymc"`` times PyMC's own NUTS. The sampler
settings are the package defaults (``DEFAULT_SAMPLER_CONFIG``) unless overridden. Prints a
markdown table with the machine, the command, which library ran NUTS, the gate result and the
effective samples per second (the smallest bulk ESS of any variable over the sampling time) and
what a draw costs: the mean leapfrog steps per draw (tree depth, step size) and the time of one
gradient evaluation that implies (sampling time x cores over the steps of every chain, tuning
included). ``--adaptation low_rank`` (or ``draw_diag``, comma-separated) adds nutpie runs with another
mass-matrix adaptation on the same compiled model, beside the package's (``diag``).
``--geometry`` adds why a draw takes the steps it takes: a short run on the same compiled model
(2 chains x 1,000 draws after 1,000 tuning steps) keeps its unconstrained draws, and the table
gives the ratio of the longest to the shortest posterior scale after the diagonal scaling NUTS
adapts (the square root of the condition number of their correlation matrix), the parameters
of the narrowest and longest directions and the strongest correlations.
``--update`` also times ``carbon-bayes update`` of the shipped posterior with the CodeCarbon
fixture of the tests (the update example of docs/updating.md; target <= 45 s), in its own process.

Usage::

    python benchmarks/bench_fit.py                    # nutpie, default settings
    python benchmarks/bench_fit.py --sampler pymc     # PyMC's NUTS instead
    python benchmarks/bench_fit.py --sampler both     # one after the other
    python benchmarks/bench_fit.py --draws 500 --tune 500   # a quicker, non-default run
    python benchmarks/bench_fit.py --sampler both --doc docs/benchmarks.md   # rewrite its "bench-fit" section
    python benchmarks/bench_fit.py --update           # + carbon-bayes update, timed
    python benchmarks/bench_fit.py --adaptation low_rank   # + nutpie with a low-rank mass matrix
    python benchmarks/bench_fit.py --geometry              # + the posterior's narrow and long directions
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

from bench_speed import _loadavg, machine_info, write_doc_section  # noqa: E402

TARGET_S = 30.0
UPDATE_TARGET_S = 45.0
ROOT = HERE.parent.parent
#: The update of docs/updating.md: the tests' CodeCarbon file, as one cluster of the user's runs.
UPDATE = ["update", "--measurements", "tests/data/codecarbon_emissions.csv", "--cluster", "bench",
          "--architecture", "dense_transformer", "--task", "language", "--no-progress"]


def _force_pymc_nuts(model, cfg: dict):
    """Run PyMC's own NUTS with the package's settings.

    ``nuts_sampler="pymc"``: PyMC >= 6 otherwise hands NUTS to nutpie when it is installed.
    """
    import os

    import pymc as pm

    with model:
        return pm.sample(draws=cfg["draws"], tune=cfg["tune"], chains=cfg["chains"],
                         cores=min(cfg["chains"], os.cpu_count() or 1), random_seed=cfg["seed"],
                         target_accept=cfg["target_accept"], progressbar=False, compute_convergence_checks=False,
                         nuts_sampler="pymc")


def _trajectories(tree, cfg: dict, sample_s: float) -> dict:
    """Mean leapfrog steps per kept draw, tree depth and step size; seconds per gradient evaluation.

    Tuning draws are not saved, so their steps are taken to be the kept draws' mean (the step size
    only grows to its final value during tuning: an upper bound on the steps, a lower one on the time).
    """
    import os

    import numpy as np

    ss = tree["sample_stats"]
    steps = float(np.mean(ss["n_steps"].values))
    depth = float(np.mean(ss["tree_depth" if "tree_depth" in ss else "depth"].values))
    cores = min(cfg["chains"], os.cpu_count() or 1)
    evals = steps * (cfg["draws"] + cfg["tune"]) * cfg["chains"]
    return {"steps": steps, "depth": depth, "step_size": float(np.mean(ss["step_size"].values)),
            "grad_us": sample_s * cores / evals * 1e6}


def fit_once(sampler: str, overrides: dict, force_pymc: bool = False, adaptation: str | None = None,
             compiled=None) -> dict:
    t = time.perf_counter()
    import carbon_bayes.fitting as cm
    from carbon_bayes.dataset import load_training_runs

    t_import = time.perf_counter() - t
    dataset = load_training_runs()
    model_obj = cm.CarbonModel(sampler_config={**overrides, "sampler": sampler, "progressbar": False})
    cfg = model_obj.sampler_config
    t = time.perf_counter()
    model = model_obj.build(dataset)
    t_build = time.perf_counter() - t
    used = cm.resolve_sampler(sampler)
    t_compile = None
    if used == "nutpie" and compiled is None:
        import nutpie

        t = time.perf_counter()
        compiled = nutpie.compile_pymc_model(model, freeze_model=False)
        t_compile = time.perf_counter() - t
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if adaptation:  # the package's sample() with another mass-matrix adaptation
            import os

            import nutpie

            tree = nutpie.sample(compiled, draws=cfg["draws"], tune=cfg["tune"], chains=cfg["chains"],
                                 cores=min(cfg["chains"], os.cpu_count() or 1), seed=cfg["seed"],
                                 target_accept=cfg["target_accept"], progress_bar=False, save_warmup=False,
                                 adaptation=adaptation)
        else:
            tree = _force_pymc_nuts(model, cfg) if force_pymc else cm.sample(model, cfg, compiled=compiled)
    t_sample = time.perf_counter() - t
    library = tree["posterior"].attrs.get("inference_library", used if used == "nutpie" else "unknown")
    t = time.perf_counter()
    rep = cm.convergence_report(tree, cm.free_variable_names(model))
    t_report = time.perf_counter() - t
    label = ("PyMC NUTS (forced nuts_sampler='pymc')" if force_pymc
             else f"nutpie, adaptation={adaptation!r} (the package: 'diag')" if adaptation else f"--sampler {sampler}")
    return {"sampler": used, "label": label, "library": library, "compiled": compiled,
            **_trajectories(tree, cfg, t_sample),
            "cfg": {k: cfg[k] for k in ("draws", "tune", "chains", "target_accept", "seed")},
            "import_s": t_import, "build_s": t_build, "compile_s": t_compile, "sample_s": t_sample,
            "report_s": t_report, "report": rep, "gate": cm.format_report(rep),
            "n_free": len(model.free_RVs), "n_labels": len(model.coords["label"]) if "label" in model.coords else None}


def geometry(compiled, seed: int, top: int = 4) -> dict:
    """Narrowest and longest directions of the posterior in NUTS's diagonally scaled, unconstrained space."""
    import os

    import numpy as np
    import nutpie

    t = time.perf_counter()
    tree = nutpie.sample(compiled, draws=1000, tune=1000, chains=2, cores=min(2, os.cpu_count() or 1), seed=seed,
                         progress_bar=False, save_warmup=False, store_unconstrained=True, target_accept=0.95)
    draws = tree["sample_stats"]["unconstrained_draw"]
    names = [str(n) for n in draws.coords["unconstrained_parameter"].values]
    x = draws.values.reshape(-1, draws.shape[-1])
    corr = np.corrcoef(x.T)
    w, v = np.linalg.eigh(corr)

    def direction(k: int) -> str:
        idx = np.argsort(-np.abs(v[:, k]))[:5]
        return ", ".join(f"{names[i]} {v[i, k]:+.2f}" for i in idx)

    iu = np.triu_indices_from(corr, 1)
    strongest = np.argsort(-np.abs(corr[iu]))[:8]
    return {"seconds": time.perf_counter() - t, "n": len(names), "ratio": float(np.sqrt(w[-1] / w[0])),
            "narrow": [(float(w[k]), direction(k)) for k in range(top)],
            "long": [(float(w[-1 - k]), direction(-1 - k)) for k in range(2)],
            "pairs": [(float(corr[iu[0][o], iu[1][o]]), names[iu[0][o]], names[iu[1][o]]) for o in strongest]}


def time_update() -> dict:
    """Time ``carbon-bayes update`` (:data:`UPDATE`) in a fresh process, its posterior in a scratch directory."""
    import os
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as home:
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "carbon_bayes", *UPDATE], cwd=ROOT, capture_output=True, text=True,
                           env={**os.environ, "CARBON_BAYES_HOME": home})
        seconds = time.perf_counter() - t
    gate = next((line for line in (r.stdout + r.stderr).splitlines() if line.startswith("convergence gate")), "")
    if r.returncode and "convergence gate FAILED" not in gate:
        raise SystemExit(f"carbon-bayes update failed:\n{r.stderr[-2000:]}")
    # A fit that samples to the end but misses the gate is a result (the time is real; no posterior is written).
    return {"seconds": seconds, "gate": gate + (" (so update wrote no posterior)" if r.returncode else "")}


def report(info: dict, results: list[dict], update: dict | None = None, geo: dict | None = None) -> str:
    lines = ["## Machine", "", "| | |", "| --- | --- |", *[f"| {k} | {v} |" for k, v in info.items()], ""]
    for r in results:
        total = r["build_s"] + (r["compile_s"] or 0) + r["sample_s"] + r["report_s"]  # without a reused compile
        verdict = "met" if total <= TARGET_S else f"**missed** ({total / TARGET_S:.1f}x the target)"
        c = r["cfg"]
        lines += [f"## Full fit, {r['label']} (NUTS run by: {r['library']}): {c['chains']} chains x "
                  f"({c['tune']} tune + {c['draws']} draws), target_accept {c['target_accept']}", ""]
        if r["sampler"] == "pymc" and r["library"] != "pymc":
            lines += [f"Note: `--sampler pymc` ran NUTS in **{r['library']}**, not PyMC: "
                      "`carbon_bayes.fitting.sample` calls `pm.sample` without `nuts_sampler=\"pymc\"`, and PyMC "
                      ">= 6 then delegates to nutpie when it is installed.", ""]
        lines += ["| stage | seconds |", "| --- | --- |",
                  f"| import carbon_bayes.fitting (PyMC, PyTensor) | {r['import_s']:.1f} |",
                  f"| build the PyMC graph | {r['build_s']:.1f} |"]
        if r["compile_s"] is not None or r["sampler"] == "nutpie":
            compile_s = "the model compiled above" if r["compile_s"] is None else f"{r['compile_s']:.1f}"
            lines.append(f"| compile (nutpie.compile_pymc_model) | {compile_s} |")
            lines.append(f"| sample | {r['sample_s']:.1f} |")
        else:
            lines.append(f"| compile + sample (pm.sample) | {r['sample_s']:.1f} |")
        lines += [f"| convergence report | {r['report_s']:.1f} |",
                  f"| **total fit (build to report)** | **{total:.1f}** (target <= {TARGET_S:.0f} s: {verdict}) |",
                  "", f"{r['n_free']} free variables; {r['n_labels']} labels.", "", f"Gate: {r['gate']}", "",
                  f"Effective samples per second: {r['report']['ess_bulk_min'] / r['sample_s']:.1f} (smallest bulk "
                  f"ESS, {r['report']['ess_bulk_min']:.0f} for {r['report']['ess_bulk_worst']}, over the "
                  f"{r['sample_s']:.1f} s of sampling).", "",
                  f"A draw: {r['steps']:.1f} leapfrog steps on average (tree depth {r['depth']:.2f}, step size "
                  f"{r['step_size']:.3f}), so one gradient evaluation of the model takes about "
                  f"{r['grad_us']:.0f} us per core"
                  + (" (an upper bound: pm.sample's time includes its compile)." if r["sampler"] == "pymc" else ".")
                  , ""]
    if geo:
        lines += ["## Posterior geometry (what sets the steps per draw)", "",
                  f"A run of 2 chains x 1,000 draws on the compiled model ({geo['seconds']:.0f} s), its {geo['n']} "
                  "unconstrained values standardised (the diagonal mass matrix's scaling): the longest posterior "
                  f"scale is **{geo['ratio']:.1f}x** the shortest (square root of the correlation matrix's "
                  "condition number), which NUTS crosses with steps sized for the shortest.", "",
                  "| direction | eigenvalue | largest loadings |", "| --- | --- | --- |",
                  *[f"| narrowest {k + 1} | {e:.3f} | {d} |" for k, (e, d) in enumerate(geo["narrow"])],
                  *[f"| longest {k + 1} | {e:.2f} | {d} |" for k, (e, d) in enumerate(geo["long"])], "",
                  "Strongest correlations: " + "; ".join(f"{a} ~ {b} {c:+.2f}" for c, a, b in geo["pairs"]) + ".", ""]
    if update:
        verdict = ("met" if update["seconds"] <= UPDATE_TARGET_S
                   else f"**missed** ({update['seconds'] / UPDATE_TARGET_S:.1f}x the target)")
        lines += ["## Update", "", f"`carbon-bayes {' '.join(UPDATE)}` in a fresh process: "
                  f"**{update['seconds']:.1f} s** (target <= {UPDATE_TARGET_S:.0f} s: {verdict}).", "",
                  f"Gate: {update['gate'] or '(not printed)'}", ""]
    lines.append(f"Load average (1/5/15 min) at the end: {_loadavg()}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sampler", default="auto", choices=["auto", "nutpie", "pymc", "both"])
    p.add_argument("--draws", type=int)
    p.add_argument("--tune", type=int)
    p.add_argument("--chains", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--target-accept", type=float, help="NUTS target acceptance (default: the package's, 0.95)")
    p.add_argument("--out", help="also write the markdown to this file")
    p.add_argument("--doc", help="also rewrite the 'bench-fit' section of this markdown file (docs/benchmarks.md), "
                                 "with the shipped posterior's marker")
    p.add_argument("--no-force-pymc", action="store_true",
                   help="with --sampler pymc, do not add a run of PyMC's own NUTS when the package's path ran nutpie")
    p.add_argument("--update", action="store_true", help="also time carbon-bayes update (docs/updating.md's example)")
    p.add_argument("--geometry", action="store_true",
                   help="also report the posterior's narrowest and longest directions (a short run, about 1 minute)")
    p.add_argument("--adaptation", default="",
                   help="also sample nutpie's compiled model with these mass-matrix adaptations (comma-separated: "
                        "low_rank, draw_diag), beside the package's diag")
    a = p.parse_args(argv)
    overrides = {k: v for k, v in (("draws", a.draws), ("tune", a.tune), ("chains", a.chains), ("seed", a.seed),
                                   ("target_accept", a.target_accept))
                 if v is not None}
    from carbon_bayes.provenance import posterior_sha256

    sha = posterior_sha256()  # the fit uses the model, data and priors of the shipped posterior
    info = machine_info()
    samplers = ["nutpie", "pymc"] if a.sampler == "both" else [a.sampler]
    results = []
    for s in samplers:
        print(f"fitting with {s} ...", file=sys.stderr)
        results.append(fit_once(s, overrides))
        print(results[-1]["gate"], file=sys.stderr)
        if s == "pymc" and results[-1]["library"] != "pymc" and not a.no_force_pymc:
            print("--sampler pymc ran nutpie; fitting again with PyMC's own NUTS ...", file=sys.stderr)
            results.append(fit_once(s, overrides, force_pymc=True))
            print(results[-1]["gate"], file=sys.stderr)
    nutpie_run = next((r for r in results if r["sampler"] == "nutpie" and r["compiled"] is not None), None)
    for adaptation in filter(None, a.adaptation.split(",")):
        print(f"nutpie with adaptation={adaptation} ...", file=sys.stderr)
        results.append(fit_once("nutpie", overrides, adaptation=adaptation,
                                compiled=nutpie_run["compiled"] if nutpie_run else None))
        print(results[-1]["gate"], file=sys.stderr)
    geo = None
    if a.geometry:
        print("posterior geometry ...", file=sys.stderr)
        if nutpie_run is None:
            raise SystemExit("--geometry needs a nutpie fit in the same run (--sampler nutpie, auto or both)")
        geo = geometry(nutpie_run["compiled"], seed=overrides.get("seed", 1))
    update = None
    if a.update:
        print("updating ...", file=sys.stderr)
        update = time_update()
        print(f"update: {update['seconds']:.1f} s", file=sys.stderr)
    text = report(info, results, update, geo)
    print(text)
    if a.out:
        from carbon_bayes.safeio import write_text

        write_text(a.out, text)
    if a.doc:
        write_doc_section(a.doc, "bench-fit", text, sha)


if __name__ == "__main__":
    main()
