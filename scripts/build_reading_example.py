"""Read a real CodeCarbon log, show what is skipped and why, export an estimate: docs/reading.md's example.

Runs the installed ``carbon-bayes`` on ``docs/examples/fedhenet_emissions.csv`` (a real
CodeCarbon 3.0.5 log, MIT licence, see ``docs/examples/LICENSES.md``) and on a copy with two
rows of the kinds real logs end with (a tracker started and stopped at once; a row cut short by
a crash), and writes the ``reading-example`` section of ``docs/reading.md`` from the outputs.

    python scripts/build_reading_example.py

``python scripts/rebuild.py`` runs it after the shipped posterior changes (the exports quote
its estimate).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from carbon_bayes.provenance import posterior_sha256, replace_section
from carbon_bayes.safeio import write_text

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT / "docs" / "examples" / "fedhenet_emissions.csv"
DOC = ROOT / "docs" / "reading.md"
#: One run of the log, estimated and exported: its GPU, hours (1 GPU x 127.4 s), country and year.
RUN = ["--hardware", "RTX-3080TI", "--n-devices", "1", "--device-hours", "0.0354", "--country", "ES",
       "--year", "2025"]


def cli(args: list[str], ok: bool = True, cwd: Path | None = None) -> str:
    """Run ``carbon-bayes ARGS``; its output and errors interleaved as a terminal shows them."""
    r = subprocess.run([sys.executable, "-m", "carbon_bayes", *args], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, cwd=cwd or tempfile.gettempdir(),
                       env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert (r.returncode == 0) == ok, (args, r.returncode, r.stdout)
    return r.stdout.rstrip("\n")


def measured_kwh(run_id_prefix: str) -> tuple[float, float]:
    """Return the log's own GPU and whole-machine readings (kWh) of the run whose run_id starts so."""
    for row in csv.DictReader(io.StringIO(LOG.read_text())):
        if row["run_id"].startswith(run_id_prefix):
            return float(row["gpu_energy"]), float(row["energy_consumed"])
    raise KeyError(run_id_prefix)


def where(x: float, lo: float, hi: float) -> str:
    """Say where ``x`` lies against the interval ``[lo, hi]``."""
    return "inside" if lo <= x <= hi else ("below" if x < lo else "above")


def shown(args: list[str], out: str, path_as: dict[str, str]) -> str:
    """Format the command line and its output as a console block, temporary paths as the user's."""
    text = "$ carbon-bayes " + " ".join(args) + "\n" + out
    for real, name in path_as.items():
        text = text.replace(real, name)
    return "```console\n" + text + "\n```"


def with_bad_rows(tmp: Path) -> Path:
    """Write to ``tmp`` the log with two rows of the kinds real logs end with."""
    rows = list(csv.reader(io.StringIO(LOG.read_text())))
    header, last = rows[0], rows[-1]
    smoke = dict(zip(header, last, strict=True))
    smoke.update(timestamp="2025-09-26T14:30:02", run_id="0b8d3f5e-smoke-test", duration="0.0021",
                 emissions="1.1e-09", energy_consumed="5.4e-09", gpu_energy="0.0", cpu_energy="4.1e-09",
                 ram_energy="1.3e-09")
    crashed = dict(zip(header, last, strict=True))
    crashed.update(timestamp="2025-09-26T14:41:17", run_id="5c2e9a11-crashed", duration="", emissions="",
                   energy_consumed="", gpu_energy="", cpu_energy="", ram_energy="")
    out = tmp / "emissions.csv"
    with out.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerows(rows)
        w.writerow([smoke[c] for c in header])
        w.writerow([crashed[c] for c in header])
    return out


def first_lines(text: str, n: int, what: str) -> str:
    """Keep the first ``n`` lines of ``text`` and count the rest."""
    lines = text.split("\n")
    if len(lines) <= n:
        return text
    return "\n".join([*lines[:n], f"[... {len(lines) - n} more lines: {what}]"])


def _both(a: str, b: str) -> str:
    return f"both {a}" if a == b else f"{a} and {b}"


def _against_the_log() -> str:
    """Put the estimate beside the log's own readings of that run, in a paragraph."""
    est = json.loads(cli(["report", *RUN, "--format", "json"]))["runs"][0]["energy_mwh"]
    lo, med, hi = (est[k] * 1000 for k in ("lower", "median", "upper"))
    gpu, whole = measured_kwh("3098d603")
    return (f"The log's own readings of that run were {gpu:.2g} kWh from the GPU and {whole:.2g} kWh for the "
            f"whole machine: {_both(where(gpu, lo, hi), where(whole, lo, hi))} the 90% interval of the estimate "
            f"({lo:.2g}-{hi:.2g} kWh, median {med:.2g}). The estimate knows only the chip, the hours and the "
            "country, so it draws the power from what published runs drew and a data centre's PUE; a desktop "
            "with no facility overhead and a GPU below its TDP is what your own log teaches the model: "
            "`carbon-bayes update --measurements emissions.csv` refits with these runs as your cluster "
            "([updating.md](updating.md)).")


def main() -> None:
    sha = posterior_sha256()
    log = str(LOG.relative_to(ROOT))
    read_out = first_lines(cli(["update", "--measurements", log, "--dry-run"], cwd=ROOT), 18,
                           "a note per run, as above")
    with tempfile.TemporaryDirectory() as d:
        bad = with_bad_rows(Path(d))
        names = {str(bad): "emissions.csv"}
        strict = cli(["update", "--measurements", str(bad), "--dry-run"], ok=False)
        tolerant = cli(["update", "--measurements", str(bad), "--dry-run", "--skip-invalid"])
        tolerant = "\n".join(ln for ln in tolerant.split("\n") if not ln.startswith("note ("))
        parts = [
            "Reading the log as it is (`--dry-run` reads and checks, fits nothing):",
            shown(["update", "--measurements", log, "--dry-run"], read_out, {str(ROOT) + "/": ""}),
            "The same log with two rows of the kinds real logs end with: a tracker started and stopped at "
            "once (2 ms, a smoke test) and a row a crash left without its readings. Strict reading (the "
            "default) lists every bad row at once and reads nothing:",
            shown(["update", "--measurements", "emissions.csv", "--dry-run"], strict, names),
            "`--skip-invalid` reads the valid rows and says which were skipped and why (the per-run notes "
            "are left out here):",
            shown(["update", "--measurements", "emissions.csv", "--dry-run", "--skip-invalid"], tolerant, names),
        ]
    hf = cli(["report", *RUN, "--format", "hf-co2"])
    boamps = cli(["report", *RUN, "--format", "boamps"])
    parts += [
        "The longest run of the log (1 GPU x 127.4 s) estimated from its hardware, hours, country and year, "
        "exported as a Hugging Face `co2_eq_emissions` block (grams, the interval in the card text):",
        shown(["report", *RUN, "--format", "hf-co2"], hf, {}),
        "and as a BoAmps 1.1 report (validated against the published schema by the tests; `quality` "
        "comes from the interval's width, see [exports.md](exports.md)):",
        "```console\n$ carbon-bayes report " + " ".join(RUN) + " --format boamps\n" + boamps + "\n```",
        _against_the_log(),
    ]
    text = DOC.read_text()
    write_text(DOC, replace_section(text, "reading-example", "\n\n".join(parts) + "\n", sha))
    print(f"wrote the reading-example section of {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
