"""Score Epoch AI's notable-models table at the tiers its columns allow: the worked example of docs/catalogue.md.

Reads ``data/epoch_notable_models.csv`` (a column subset of Epoch AI's "Data on Notable AI
Models", CC BY 4.0; see ``data/LICENSES.md``), maps its columns onto the input contract, refuses
the rows the contract refuses (counted by reason), estimates the rest as a dask DataFrame of
:data:`PARTITIONS` partitions (``carbon_bayes.estimate`` maps the predictor over them, on dask's
local scheduler, with dask's progress bar), checks that the numbers equal those of
:func:`carbon_bayes.chunked.estimate_chunks` block by block, and writes the
``catalogue-example`` section of ``docs/catalogue.md`` (tiers, the largest estimates, a summary
by year) and ``docs/catalogue_emissions_by_year.png``.

Usage::

    python scripts/build_catalogue_example.py                 # writes the doc section and the plot
    python scripts/build_catalogue_example.py --trim EXPORT   # first rebuild the data file from a full export

``--trim`` keeps the columns below from a full Epoch AI export (for a newer export).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "epoch_notable_models.csv"
DOC = ROOT / "docs" / "catalogue.md"
PLOT = ROOT / "docs" / "catalogue_emissions_by_year.png"
#: Epoch AI's columns kept in the shipped copy (:func:`to_runs` maps them onto the input contract).
KEPT = ("Model", "Domain", "Organization", "Publication date", "Parameters", "Training compute (FLOP)",
        "Training time (hours)", "Training hardware", "Hardware quantity")
TASKS = {"language": "language", "vision": "vision", "image generation": "image_generation", "speech": "speech",
         "audio": "speech", "multimodal": "multimodal"}


#: Partitions of the dask DataFrame the table is scored as.
PARTITIONS = 4

def trim(export: Path) -> None:
    """Write the shipped subset (columns :data:`KEPT`) of a full Epoch AI export."""
    full = pd.read_csv(export)
    full[list(KEPT)].to_csv(DATA, index=False)
    print(f"wrote {len(full)} rows, {len(KEPT)} columns to {DATA.relative_to(ROOT)}", file=sys.stderr)


def _task(domain) -> str:
    """Epoch's domain (one or several, comma-separated) as a contract task."""
    if not isinstance(domain, str):
        return ""
    parts = [TASKS.get(p.strip().lower(), "other") for p in domain.split(",")]
    return parts[0] if len(set(parts)) == 1 else "multimodal"


def to_runs(epoch: pd.DataFrame) -> pd.DataFrame:
    """Map Epoch's columns onto the input contract; device-hours are quantity x training hours."""
    hardware = epoch["Training hardware"].where(~epoch["Training hardware"].fillna("").str.contains(","), None)
    hours = epoch["Hardware quantity"] * epoch["Training time (hours)"]
    runs = pd.DataFrame({
        "run_id": epoch["Model"] + np.where(epoch["Model"].duplicated(keep=False), " #" +
                                            (epoch.groupby("Model").cumcount() + 1).astype(str), ""),
        "model_name": epoch["Model"],
        "year": pd.to_datetime(epoch["Publication date"], errors="coerce").dt.year,
        "task": epoch["Domain"].map(_task),
        "parameters": epoch["Parameters"],
        "training_flops": epoch["Training compute (FLOP)"],
        "hardware": hardware,  # several kinds of hardware: left unknown (drawn from the year's mix)
        "device_hours": hours,
    })
    return runs


def accepted(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Return the rows the input contract accepts and the refused ones counted by field (unknown chips blanked)."""
    from carbon_bayes import schema
    from carbon_bayes.errors import InputError

    keep, refused = [], []
    for i in range(len(runs)):
        row = runs.iloc[[i]]
        for attempt in range(2):
            try:
                schema.normalise_runs(row)
                keep.append(row)
                break
            except InputError as e:
                if e.field == "hardware" and attempt == 0:
                    row = row.assign(hardware=None)  # a chip the tables lack: drawn from the year's mix
                    continue
                refused.append(e.field)
                break
    return pd.concat(keep, ignore_index=True), pd.Series(refused, dtype=object).value_counts()


def plot(scored: pd.DataFrame) -> None:
    """Median CO2e of each model against its year, with the 90% intervals, by tier (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.8))
    colours = {"T1": "#1b7837", "T2": "#2166ac", "T3": "#b2abd2"}
    rng = np.random.default_rng(0)
    for tier in ("T3", "T2", "T1"):
        s = scored[scored["tier"] == tier]
        x = s["year"] + rng.uniform(-0.3, 0.3, len(s))  # jittered so that a year's models do not overlap
        ax.errorbar(x, s["co2_t_median"], yerr=[s["co2_t_median"] - s["co2_t_lower"],
                                                s["co2_t_upper"] - s["co2_t_median"]],
                    fmt="o", ms=3, lw=0.5, alpha=0.6, color=colours[tier], label=f"{tier} ({len(s)} models)")
    ax.set_yscale("log")
    ax.set_xlabel("publication year")
    ax.set_ylabel("training emissions, t CO2e (median, 90% interval)")
    ax.set_title("Epoch AI notable models: estimated training emissions by year")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3, which="both", lw=0.3)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)


def section(runs: pd.DataFrame, scored: pd.DataFrame, refused: pd.Series, seconds: float) -> str:
    """Return the markdown of the ``catalogue-example`` section."""
    tiers = scored["tier"].value_counts().reindex(["T1", "T2", "T3"], fill_value=0)
    top = scored.sort_values("co2_t_median", ascending=False).head(10)
    by_year = scored.dropna(subset=["year"]).astype({"year": int}).groupby("year").agg(
        models=("co2_t_median", "size"), median_t=("co2_t_median", "median"), largest_t=("co2_t_median", "max"))
    from carbon_bayes.schema import COLUMNS

    bounds = {c.name: f"{c.lower:g}-{c.upper:g}" for c in COLUMNS if c.lower is not None and c.upper is not None}
    why = ", ".join(f"{k} outside {bounds.get(k, 'the contract')}: {v}" for k, v in refused.items()) or "none"
    lines = [f"{len(runs) + int(refused.sum())} rows of the table; {len(runs)} accepted by the input contract, "
             f"{int(refused.sum())} refused ({why}); scored as a dask DataFrame of {PARTITIONS} partitions in "
             f"{seconds:.0f} s on a shared 2-core machine, with exactly the numbers of `estimate_chunks` block by "
             "block (the script checks).", "",
             "| tier | models | what the table gives |", "| --- | ---: | --- |",
             f"| T1 | {tiers['T1']} | hardware quantity x training time (device-hours) |",
             f"| T2 | {tiers['T2']} | training compute (FLOP), or parameters and tokens |",
             f"| T3 | {tiers['T3']} | parameters, year and domain only |", "",
             "The ten largest medians (t CO2e, 90% interval):", "",
             "| model | year | tier | median | interval |", "| --- | ---: | --- | ---: | ---: |"]
    lines += [f"| {r.run_id} | {'-' if np.isnan(r.year) else f'{r.year:.0f}'} | {r.tier} | "
              f"{r.co2_t_median:,.0f} | {r.co2_t_lower:,.0f}-{r.co2_t_upper:,.0f} |" for r in top.itertuples()]
    lines += ["", "By publication year (medians of the models' medians, t CO2e):", "",
              "| year | models | median | largest |", "| ---: | ---: | ---: | ---: |"]
    lines += [f"| {y} | {r.models:.0f} | {r.median_t:,.3g} | {r.largest_t:,.3g} |" for y, r in by_year.iterrows()]
    lines += ["", f"![estimated training emissions by year]({PLOT.name})", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trim", metavar="EXPORT", help="rebuild data/epoch_notable_models.csv from a full export first")
    args = ap.parse_args(argv)
    if args.trim:
        trim(Path(args.trim))
    import dask.dataframe as dd
    from dask.diagnostics import ProgressBar

    import carbon_bayes as cb
    from carbon_bayes.chunked import estimate_chunks
    from carbon_bayes.provenance import replace_section_in_file

    runs, refused = accepted(to_runs(pd.read_csv(DATA)))
    t = time.perf_counter()
    with ProgressBar(out=sys.stderr):
        scored = cb.estimate(dd.from_pandas(runs, npartitions=PARTITIONS)).compute().reset_index(drop=True)
    seconds = time.perf_counter() - t
    blocks = pd.concat(list(estimate_chunks(runs, chunk_size=250)), ignore_index=True)
    pd.testing.assert_frame_equal(scored, blocks, check_exact=True)  # the same numbers either way
    scored["year"] = runs["year"].to_numpy()
    plot(scored)
    replace_section_in_file(DOC, "catalogue-example", section(runs, scored, refused, seconds))
    print(f"wrote {DOC.relative_to(ROOT)} [catalogue-example] and {PLOT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
