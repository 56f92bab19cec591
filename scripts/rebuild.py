"""Rebuild everything that depends on the model, in dependency order: one command after a model change.

    python scripts/rebuild.py                  # posterior, validation, checks, examples, README headline
    python scripts/rebuild.py --all            # ... and leave-one-run-out (~100 min) and the benchmarks (~35 min)
    python scripts/rebuild.py --loo            # default plan plus leave-one-run-out
    python scripts/rebuild.py --benchmarks     # default plan plus the benchmarks
    python scripts/rebuild.py --list           # print the plan (steps, commands, typical times) and exit
    python scripts/rebuild.py --from model-checks          # resume at a step (after a failure)
    python scripts/rebuild.py --only validate,readme --report-only   # after editing a discussion file
    python scripts/rebuild.py --stamp-only     # record provenance without refitting or re-measuring

Each step runs as a subprocess with this interpreter, from the repository root; its name and wall
time are printed, and the first failure stops the rebuild with the step to resume from. Every
generated document records the SHA-256 of the shipped posterior it was made from
(carbon_bayes.provenance); the rebuild ends by listing any document that still names another
posterior (``tests/test_generated_docs.py`` fails on those).

``--stamp-only`` refits and re-measures nothing: the validation reports are rebuilt from their
saved runs (``--report-only``), the fast generators run as usual, and the benchmark sections are
left as measured. A saved validation run or a benchmark section that records no posterior yet
(made before documents recorded one) is given the current posterior's hash only when git history
shows it was produced after the posterior file last changed, with no change to the code, data or
priors in between; otherwise it is left without a marker and reported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
POSTERIOR = "carbon_bayes/default_posterior.nc"
#: What a saved run or measured section depends on besides the posterior file: the code, data, priors.
INPUTS = ("carbon_bayes", "data", "priors", "benchmarks", "scripts/build_default_posterior.py")
LOO = ["--loo", "--out", "docs/validation_loo.md", "--discussion", "docs/validation_loo_discussion.md"]
GROUPS = ["--by", "group", "--out", "docs/validation_groups.md", "--discussion", "docs/validation_groups_discussion.md"]


@dataclass
class Step:
    """One rebuild step: its name, command, what it produces and its typical run time."""

    name: str
    cmd: list[str]
    what: str
    typical: str
    group: str = "default"  # "loo" and "benchmarks" run only when asked for
    report: str | None = None  # validation steps: the report whose saved run --report-only rebuilds
    sections: list[str] = field(default_factory=list)  # benchmark steps: doc sections they write


STEPS = [
    Step("posterior", [PY, "scripts/build_default_posterior.py"],
         "fit the shipped posterior carbon_bayes/default_posterior.nc (convergence gate)", "1-3 min"),
    Step("validate", [PY, "-m", "carbon_bayes", "validate", "--by", "organisation", "--no-progress"],
         "leave-one-organisation-out validation (the headline): docs/validation.md, its plots, saved predictions "
         "and run", "30-35 min", report="docs/validation.md"),
    Step("validate-groups", [PY, "-m", "carbon_bayes", "validate", *GROUPS, "--no-progress"],
         "grouped 10-fold validation: docs/validation_groups.md and its files", "12-15 min",
         report="docs/validation_groups.md"),
    Step("loo", [PY, "-m", "carbon_bayes", "validate", *LOO, "--no-progress"],
         "leave-one-run-out validation: docs/validation_loo.md and its files", "~90 min", group="loo",
         report="docs/validation_loo.md"),
    Step("model-checks", [PY, "scripts/model_checks.py"],
         "prior and posterior predictive checks: docs/model_checks.md, the docs/model.md section 8 table", "~20 s"),
    Step("doc-examples", [PY, "scripts/build_doc_examples.py"],
         "worked examples: docs/budgeting.md, docs/reporting.md", "~25 s"),
    Step("update-example", [PY, "scripts/build_update_example.py"],
         "update and forecast walkthrough: docs/updating.md section 4", "1-2 min"),
    Step("catalogue-example", [PY, "scripts/build_catalogue_example.py"],
         "Epoch AI's notable models scored: docs/catalogue.md section and its plot", "1-2 min"),
    Step("reading-example", [PY, "scripts/build_reading_example.py"],
         "a real CodeCarbon log read, skipped rows, exports: docs/reading.md section", "~20 s"),
    Step("readme", [PY, "scripts/build_readme_headline.py"],
         "README.md validation headline, from the saved validation runs", "~5 s"),
    Step("bench-speed", [PY, "benchmarks/bench_speed.py", "--fixed-draws", "1000", "--doc", "docs/benchmarks.md"],
         "prediction speed: the bench-speed section of docs/benchmarks.md", "25-30 min", group="benchmarks",
         sections=["bench-speed"]),
    Step("bench-fit", [PY, "benchmarks/bench_fit.py", "--sampler", "both", "--update", "--geometry", "--doc",
                       "docs/benchmarks.md"],
         "fit and update time, nutpie and PyMC, and the posterior's geometry: the bench-fit section of "
         "docs/benchmarks.md", "~8 min",
         group="benchmarks",
         sections=["bench-fit"]),
]
BY_NAME = {s.name: s for s in STEPS}

#: Generated documents that only an optional long step writes (``loo``: 89 fits, about 90 minutes
#: on 2 cores): absent until that step runs, and, once present, held to the shipped posterior.
OPTIONAL = {"docs/validation_loo.md"}

#: Every generated document: path -> the sections it has (None: the whole file is generated).
GENERATED: dict[str, list[str] | None] = {
    "docs/validation.md": None,
    "docs/validation_groups.md": None,
    "docs/validation_loo.md": None,
    "docs/model_checks.md": None,
    "docs/budgeting.md": None,
    "docs/reporting.md": None,
    "docs/model.md": ["model-checks"],
    "docs/updating.md": ["update-example"],
    "docs/catalogue.md": ["catalogue-example"],
    "docs/reading.md": ["reading-example"],
    "docs/benchmarks.md": ["bench-speed", "bench-fit"],
    "README.md": ["validation-headline"],
}


def _cmd(step: Step, report_only: bool) -> list[str]:
    if report_only and step.report:
        return [a for a in step.cmd if a != "--no-progress"] + ["--report-only"]
    return step.cmd


def plan(args) -> list[Step]:
    """Return the steps to run, in order."""
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        for n in names:
            if n not in BY_NAME:
                raise SystemExit(f"--only: no step {n!r}; steps: {', '.join(BY_NAME)}")
        return [s for s in STEPS if s.name in names]
    groups = {"default"} | ({"loo"} if args.loo or args.all else set()) \
        | ({"benchmarks"} if args.benchmarks or args.all else set())
    steps = [s for s in STEPS if s.group in groups]
    if args.stamp_only:
        steps = [s for s in steps if s.name != "posterior"]
    if args.from_step:
        names = [s.name for s in steps]
        if args.from_step not in names:
            raise SystemExit(f"--from: {args.from_step!r} is not in this plan ({', '.join(names)}); "
                             "add --loo / --benchmarks / --all if it is one of theirs")
        steps = steps[names.index(args.from_step):]
    return steps


def print_plan(args) -> None:
    chosen = {s.name for s in plan(args)}
    print("Rebuild plan (in dependency order; * = in this run):\n")
    for i, s in enumerate(STEPS, 1):
        flag = "" if s.group == "default" else f"  [--{s.group} or --all]"
        print(f"{'*' if s.name in chosen else ' '} {i}. {s.name:<15} {s.typical:>9}  {s.what}{flag}")
        print(f"     {' '.join(['python' if a == PY else a for a in _cmd(s, args.report_only or args.stamp_only)])}")
    if args.stamp_only:
        print("\n--stamp-only: nothing is refitted or re-measured; validate/loo rebuild their reports from the saved "
              "runs, benchmark sections keep their tables, and a saved run or section without a marker gets the "
              "current posterior's hash only if git history shows it was produced from it.")


# ------------------------------------------------------------------------------ provenance from git

def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


def _clean(path: str) -> bool:
    return _git("diff", "--quiet", "HEAD", "--", path).returncode == 0


def _last_commit(path: str) -> str:
    return _git("log", "-1", "--format=%H", "--", path).stdout.strip()


def _introduced(doc: str, body: str) -> str | None:
    """Find the commit from which ``body`` has been in ``doc`` without a break up to the working tree."""
    if body not in (ROOT / doc).read_text():
        return None
    found = None
    for c in _git("log", "--format=%H", "--", doc).stdout.split():
        shown = _git("show", f"{c}:{doc}")
        if shown.returncode != 0 or body not in shown.stdout:
            break
        found = c
    return found


def produced_from_current_posterior(commit: str | None) -> tuple[bool, str]:
    """Whether content first committed in ``commit`` was produced from the shipped posterior, and why.

    It was if the posterior file is as committed, ``commit`` comes after its last change, and nothing
    the content depends on (code, data, priors) changed in between.
    """
    if not commit:
        return False, "not found in git history as it is now"
    if not _clean(POSTERIOR):
        return False, f"{POSTERIOR} differs from its last commit"
    p = _last_commit(POSTERIOR)
    if _git("merge-base", "--is-ancestor", p, commit).returncode != 0:
        return False, f"produced in {commit[:9]}, before the posterior's last change in {p[:9]}"
    changed = _git("diff", "--name-only", p, commit, "--", *INPUTS).stdout.split()
    if changed:
        return False, f"{', '.join(changed[:3])} changed between the posterior ({p[:9]}) and it ({commit[:9]})"
    return True, (f"produced in commit {commit[:9]}, after the posterior's last change in {p[:9]}, with no change "
                  f"to {', '.join(INPUTS)} in between")


def adopt_saved_run(report: str, sha: str) -> str:
    """Record ``sha`` in a saved validation run that records no posterior, if git shows it was produced from it.

    Returns what was done.
    """
    rep = Path(report)
    run = ROOT / rep.with_name(f"{rep.stem}_run.json")
    pred = ROOT / rep.with_name(f"{rep.stem}_predictions.csv")
    meta = json.loads(run.read_text())
    if meta.get("posterior_sha256"):
        return f"{run.relative_to(ROOT)} records posterior {meta['posterior_sha256'][:12]}"
    files = [str(f.relative_to(ROOT)) for f in (run, pred)]
    if not all(_clean(f) for f in files):
        ok, why = False, "the saved run has uncommitted changes"
    else:
        commits = [_last_commit(f) for f in files]
        newest = next((c for c in commits if all(_git("merge-base", "--is-ancestor", o, c).returncode == 0
                                                 for o in commits)), None)
        ok, why = produced_from_current_posterior(newest)
    if not ok:
        return f"{run.relative_to(ROOT)} records no posterior and is left so ({why}): rerun it to stamp it"
    meta = {**meta, "posterior_sha256": sha,
            "posterior_sha256_source": f"recorded by scripts/rebuild.py --stamp-only on {dt.date.today()}: {why}"}
    from carbon_bayes.safeio import write_text

    write_text(run, json.dumps(meta, indent=1))
    return f"{run.relative_to(ROOT)}: posterior {sha[:12]} recorded ({why})"


def adopt_section(doc: str, name: str, sha: str) -> str:
    """Put the marker of ``sha`` on a section without one, if git shows its content was produced from it."""
    from carbon_bayes.provenance import recorded, replace_section, section
    from carbon_bayes.safeio import write_text

    text = (ROOT / doc).read_text()
    body = section(text, name)
    if recorded(body):
        return f"{doc} [{name}] records posterior {recorded(body)[0][:12]}"
    ok, why = produced_from_current_posterior(_introduced(doc, body))
    if not ok:
        return f"{doc} [{name}] has no marker and is left so ({why}): rerun its step to stamp it"
    write_text(ROOT / doc, replace_section(text, name, body, sha))
    return f"{doc} [{name}]: posterior {sha[:12]} recorded ({why})"


def status() -> list[str]:
    """Documents that do not name the shipped posterior (a missing marker counts)."""
    from carbon_bayes.provenance import posterior_sha256, recorded, section

    sha, bad = posterior_sha256(), []
    for doc, sections in GENERATED.items():
        if doc in OPTIONAL and not (ROOT / doc).is_file():
            continue  # written only by an optional long step that has not been run
        text = (ROOT / doc).read_text()
        for name in sections or [None]:
            part = text.split("\n", 1)[0] if name is None else section(text, name)
            got = recorded(part)
            label = doc if name is None else f"{doc} [{name}]"
            if not got:
                bad.append(f"{label}: no marker")
            elif got[0] != sha:
                bad.append(f"{label}: from posterior {got[0][:12]}, not the shipped {sha[:12]}")
    return bad


# ------------------------------------------------------------------------------ run

def run_step(step: Step, i: int, n: int, report_only: bool) -> float:
    cmd = _cmd(step, report_only)
    shown = " ".join(["python" if a == PY else a for a in cmd])
    print(f"\n==> [{i}/{n}] {step.name}: {shown}", flush=True)
    t = time.perf_counter()
    rc = subprocess.run(cmd, cwd=ROOT).returncode
    seconds = time.perf_counter() - t
    if rc != 0:
        print(f"\nrebuild stopped: step '{step.name}' failed (exit code {rc}) after {seconds:.0f} s.\n"
              f"Fix it, then resume with: python scripts/rebuild.py --from {step.name} (plus the same flags)",
              file=sys.stderr)
        raise SystemExit(1)
    print(f"<== {step.name}: done in {seconds:.1f} s", flush=True)
    return seconds


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="steps: " + ", ".join(BY_NAME))
    p.add_argument("--loo", action="store_true", help="also run leave-one-run-out validation (~100 min)")
    p.add_argument("--benchmarks", action="store_true", help="also run the benchmarks (~35 min)")
    p.add_argument("--all", action="store_true", help="every step")
    p.add_argument("--from", dest="from_step", metavar="STEP", help="start the plan at STEP (resume)")
    p.add_argument("--only", metavar="STEP[,STEP]", help="run only these steps (in plan order)")
    p.add_argument("--list", action="store_true", help="print the plan and exit")
    p.add_argument("--report-only", action="store_true",
                   help="validate/loo rebuild their reports from the saved runs instead of refitting "
                        "(after editing docs/validation_discussion.md, docs/validation_groups_discussion.md or "
                        "docs/validation_loo_discussion.md)")
    p.add_argument("--stamp-only", action="store_true",
                   help="refit and re-measure nothing (see the description above)")
    a = p.parse_args(argv)
    if a.only and a.from_step:
        p.error("--only and --from do not go together")
    if a.list:
        print_plan(a)
        return
    steps = plan(a)
    if not steps:
        raise SystemExit("nothing to run")
    from carbon_bayes.provenance import posterior_sha256

    times, notes = [], []
    for i, s in enumerate(steps, 1):
        if a.stamp_only and s.report:
            notes.append(adopt_saved_run(s.report, posterior_sha256()))
            print(notes[-1])
        if a.stamp_only and s.sections:
            print(f"\n==> [{i}/{len(steps)}] {s.name}: not re-measured (--stamp-only)")
            t = time.perf_counter()
            for name in s.sections:
                notes.append(adopt_section("docs/benchmarks.md", name, posterior_sha256()))
                print(notes[-1])
            times.append((s.name, time.perf_counter() - t))
            continue
        times.append((s.name, run_step(s, i, len(steps), a.report_only or a.stamp_only)))
    print("\nRebuild done:")
    for name, sec in times:
        print(f"  {name:<15} {sec:8.1f} s")
    print(f"  {'total':<15} {sum(s for _, s in times):8.1f} s")
    refitted = [s.report for s in steps if s.report and not (a.report_only or a.stamp_only)]
    if refitted:
        print("\nThe discussions appended to " + ", ".join(refitted) + " are hand-written and quote figures: check "
              "them against the new reports, then: python scripts/rebuild.py --only "
              "validate,validate-groups,loo,readme --report-only")
    bad = status()
    if bad:
        print("\nStill not generated from the shipped posterior (tests/test_generated_docs.py fails on these):")
        for b in bad:
            print(f"  {b}")
        print("Run the steps that write them (e.g. --loo, --benchmarks, or --all).")
    else:
        print(f"\nEvery generated document names the shipped posterior (sha256:{posterior_sha256()[:12]}).")


if __name__ == "__main__":
    main()
