"""Regenerate docs/budgeting.md and docs/reporting.md from real outputs of the installed package.

docs/updating.md section 4 comes from scripts/build_update_example.py.

    python scripts/build_doc_examples.py [REPO_ROOT]

Run it after the shipped posterior changes (the worked examples quote its numbers);
``python scripts/rebuild.py`` does, in order. Both files start with the shipped posterior's
marker line (carbon_bayes.provenance).
"""
import contextlib
import io
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import carbon_bayes as cb
from carbon_bayes.plots import effects_table
from carbon_bayes.posterior import load_posterior
from carbon_bayes.provenance import posterior_sha256, stamp
from carbon_bayes.safeio import write_text

ROOT = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parent.parent)
CB = [sys.executable, "-m", "carbon_bayes"]


def cli(args):
    r = subprocess.run([*CB, *args], capture_output=True, text=True, cwd=tempfile.gettempdir())
    assert r.returncode == 0, r.stderr
    return r.stdout.rstrip("\n")


def py(code):
    buf = io.StringIO()
    ns = {}
    with contextlib.redirect_stdout(buf):
        exec(textwrap.dedent(code), ns)
    return buf.getvalue().rstrip("\n"), ns


def cmdline(args, width=100):
    words = ["carbon-bayes", *args]
    lines, cur = [], "$"
    for w in words:
        if len(cur) + 1 + len(w) > width:
            lines.append(cur + " \\")
            cur = "   "
        cur += " " + w
    lines.append(cur)
    return "\n".join(lines)


SHA = posterior_sha256()  # before loading: the marker names the bytes that were read
post = load_posterior()
A = post.attrs
PROV = (f"(`default_posterior.nc`, created {A['created_utc'][:10]}, data SHA-256 `{A['data_sha256'][:12]}`, "
        f"priors SHA-256 `{A['priors_sha256'][:12]}`)")

# ---------------------------------------------------------------- budgeting
two = ["budget", "--budget-t", "10", "--parameters", "7e9", "--training-tokens", "2e12", "--hardware", "H100",
       "--n-devices", "256", "--year", "2024", "--region", "gcp:us-east1", "gcp:europe-north1"]
two_out = cli(two)
two_json = json.loads(cli(two + ["--format", "json"]))
ref = next(r for r in two_json if r["is_reference"])
alt = next(r for r in two_json if not r["is_reference"])

PLAN_CODE = '''
import pandas as pd
import carbon_bayes as cb
from carbon_bayes.budget import plan, sweep

run = {"parameters": 7e9, "training_tokens": 2e12, "hardware": "H100", "n_devices": 256, "year": 2024,
       "region": "gcp:us-east1"}
table = plan(run, budget_t=10, max_risk=0.05,
             alternatives={"region": ["gcp:europe-north1", "gcp:us-east1"], "hardware": ["H100", "A100-80GB"]})
print(table[["rank", "alternative", "co2_t_median", "co2_t_lower", "co2_t_upper", "prob_exceeds",
             "meets_risk", "prob_better"]].round(3).to_string(index=False))
'''
plan_out, plan_ns = py(PLAN_CODE)
tab = plan_ns["table"]
hw_row = tab[(tab["alternative"] == "region=gcp:us-east1, hardware=A100-SXM4-80GB")].iloc[0]

eff = effects_table(post)
hopper = eff[(eff["variable"] == "u_generation") & (eff["level"] == "hopper")].iloc[0]

sweep_args = ["budget", "--budget-t", "8", "--parameters", "1.3e9", "--training-tokens", "2.6e10", "--hardware",
              "A100-80GB", "--year", "2024", "--region", "aws:us-east-1", "--trials", "80"]
sweep_out = cli(sweep_args)
sw = json.loads(cli(sweep_args + ["--format", "json"]))[0]
swi = json.loads(cli(sweep_args + ["--format", "json", "--independent-sites"]))[0]

SWEEP_CODE = '''
import carbon_bayes as cb
from carbon_bayes.budget import sweep

trial = {"parameters": 1.3e9, "training_tokens": 2.6e10, "hardware": "A100-80GB", "year": 2024,
         "region": "aws:us-east-1"}
one = cb.estimate(trial)
p1 = one.prob_exceeds(co2_t=8 / 80).iloc[0]
res = sweep(trial, n_trials=80, budget_t=8)
print(f"P(one trial > 0.1 t)            = {p1:.3f}")
print(f"80 x that                       = {80 * p1:.1f}   (not a probability)")
print(f"1 - (1 - p)^80                  = {1 - (1 - p1) ** 80:.3f}   (as if any trial over its share broke the budget)")
print(f"P(total of 80 trials > 8 t)     = {res.prob_exceeds():.3f}")
print(f"95% carbon-at-risk of the sweep = {res.carbon_at_risk(0.95):.1f} t")
print(f"expected shortfall over 8 t     = {res.expected_shortfall():.2f} t")
'''
sweep_py_out, _ = py(SWEEP_CODE)

voi_args = ["estimate", "--parameters", "7e9", "--training-tokens", "2e12", "--year", "2024", "--voi"]
voi_cli_out = cli(voi_args)
VOI_CODE = '''
from carbon_bayes.voi import value_of_information

voi = value_of_information({"parameters": 7e9, "training_tokens": 2e12, "year": 2024})
print(voi[["input", "width_now", "width_known", "narrowing"]].round(2).to_string(index=False))
for s in voi["sentence"]:
    print(s)
'''
voi_out, voi_ns = py(VOI_CODE)
voi = voi_ns["voi"]
_f = cb.estimate({"parameters": 7e9, "training_tokens": 2e12, "year": 2024}).to_frame().iloc[0]
est_w = _f["co2_t_upper"] / _f["co2_t_lower"]


def pct(p):
    return f"{p:.0%}" if p >= 0.1 or p == 0 else f"{p:.1%}"


budgeting = f"""# Deciding under a carbon budget

An estimate with a credible interval is only useful if it changes a decision. carbon_bayes
works on the predictive **draws** (1,000 per run by default), so every question below is
answered from the whole distribution, not from a point estimate:

| question | Python | CLI |
| --- | --- | --- |
| How likely is this run to exceed my budget? | `Estimate.prob_exceeds(co2_t=B)`, `budget.prob_exceeds(draws, B)` | `carbon-bayes budget --budget-t B ...` |
| What budget is exceeded with only 5% probability? | `Estimate.carbon_at_risk(0.95)` (the 95% quantile) | column `carbon_at_risk_t` |
| If it overshoots, by how much on average? | `Estimate.expected_shortfall(B)` = E[max(CO2 - B, 0)] | column `expected_shortfall_t` |
| Which region / hardware / PUE should I use? | `budget.plan(run, budget_t, alternatives=...)` | `--region A B`, `--hardware X Y`, `--pue 1.1 1.4`, `--alternatives FILE` |
| What is the risk of a whole sweep or project? | `budget.sweep(run_or_runs, n_trials=N, budget_t=B)` | `--trials N`, or `--input` with several runs |
| What should I find out next? | `voi.value_of_information(run)` | `carbon-bayes estimate ... --voi` |

All outputs below were produced with the posterior shipped in carbon_bayes {cb.__version__}
{PROV} and the default seed; another posterior gives other numbers.

## 1. A 7B model on 256 H100s: which region?

A 7B dense model trained on 2T tokens in 2024 on 256 H100s, planned in `gcp:us-east1`, with
a budget of 10 t CO2e. Give several values of `--region` (or `--hardware`, `--pue`); the
first one is the reference, the others are alternatives:

```console
{cmdline(two)}
{two_out}
```

Moving to Finland turns a near-certain overshoot (P(exceed) = {ref['prob_exceeds']:.3f}, expected
overshoot {ref['expected_shortfall_t']:.0f} t) into a {pct(alt['prob_exceeds'])} risk, which
{'meets' if alt['meets_risk'] else 'does not meet'} the default `--max-risk 0.05`. The energy is
the same in both rows ({alt['energy_mwh_median']:.0f} MWh): only the carbon intensity differs,
and `prob_better` = {alt['prob_better']:g} says that in {'every' if alt['prob_better'] == 1 else 'that fraction of'}
paired draw{'' if alt['prob_better'] != 1 else ''} the Finnish run emits less.

**Why "paired"**: all alternatives are simulated in one call with common random numbers
(every row is keyed as the reference run in `carbon_bayes.streams`): every row sees the same random number for
each node of the chain (utilisation, power, PUE, intensity, label noise). A difference between
two rows is therefore caused by their inputs, not by Monte-Carlo noise, and
`prob_better = mean(co2_alternative < co2_reference)` over the draws is a sharp comparison
even when the two intervals overlap.

The same in Python, with a small grid (regions x hardware; the cartesian product, at most
500 alternatives; the combination equal to the reference is dropped):

```python{PLAN_CODE.rstrip()}
```

```text
{plan_out}
```

Rows are ranked by P(exceed), then by expected CO2e. The A100 rows come out lower than the
H100 rows because the shipped posterior learned a low utilisation for Hopper GPUs from the
published H100 runs (`carbon_bayes.plots.plot_effects()`: the `generation: hopper` effect on
logit-MFU has median {hopper['median']:.2f}, 90% interval {hopper['lower']:.2f} to {hopper['upper']:.2f});
with few H100 labels that is a property of the data, not a law, and `prob_better` =
{hw_row['prob_better']:.3f} (not 1) for the A100 in the reference region says the hardware
comparison is much less certain than the region one.

Alternatives can also be a list of override dicts or a CSV file (`--alternatives FILE`: one
alternative per row, columns of the input contract, empty cells keep the reference's value).
How an override changes related inputs (`budget.apply_overrides`): a new region drops the
reference's country, provider and stated carbon intensity; new hardware drops the reference's
precision and measured power, and re-derives device-hours from the compute when the compute
is known (a `notes` column says so). Unknown columns, an empty list, a budget <= 0, a
`max_risk` outside (0, 1) or more than 500 alternatives raise `InputError` naming the field.

To plot the comparison: `--plot alternatives.png`, or `carbon_bayes.plots.plot_alternatives(table)`.

## 2. An 80-trial hyperparameter sweep under a budget

One trial: a 1.3B model on 26B tokens (20 tokens per parameter) on A100-80GB in
`aws:us-east-1`. The whole search has a budget of 8 t CO2e.

```console
{cmdline(sweep_args)}
{sweep_out}
```

The sweep will most likely emit {sw['co2_t_median']:.1f} t (90% interval {sw['co2_t_lower']:.1f}-{sw['co2_t_upper']:.1f} t);
the probability that the whole search exceeds 8 t is {pct(sw['prob_exceeds'])}, so at `--max-risk 0.05`
it {'fits' if sw['meets_risk'] else 'does not fit'}: a budget of {sw['carbon_at_risk_t']:.1f} t would
(`carbon_at_risk_t`, the 95% quantile).

The risk of a sweep is neither N times nor "1 - (1 - p)^N" of the risk of one trial:

```python{SWEEP_CODE.rstrip()}
```

```text
{sweep_py_out}
```

`sweep` sums the CO2e **per draw** across the trials. Each trial gets its own draws of its
run-level nodes (utilisation, power fraction, hardware when not given, label noise), so those
average out over 80 trials; all trials share the posterior draw (how efficient this kind of
run is in general), so that uncertainty does not average out. And, by default
(`same_site=True`), trials that agree on every location input also share the draw's carbon
intensity and PUE: they run in one data centre on one grid. With `--independent-sites`
(`same_site=False`) those are drawn per trial, which narrows the total's interval
({swi['co2_t_lower']:.1f}-{swi['co2_t_upper']:.1f} t here, P(exceed) {swi['prob_exceeds']:.3f}) and misstates the
risk when the trials really share a site. A sweep of one run gives exactly the draws of
`estimate(run)` with the same seed.

Several different runs (a project: pre-training plus ablations) are summed the same way: give
`--input runs.csv` with one row per run, or `sweep([run_a, run_b, ...])`; `--trials N`
repeats every row N times. `res.run_draws` holds the per-run draws (dims run, draw) whose
sum is `res.draws`; `plots.plot_predictive(res, budget_t=8)` draws the total.

## 3. What to find out next: value of information

A 7B model on 2T tokens in 2024, nothing else known. Which missing input is worth asking
for? `--voi` adds the most valuable one to the estimate:

```console
{cmdline(voi_args)}
{voi_cli_out}
```

The full table, in Python:

```python{VOI_CODE.rstrip()}
```

```text
{voi_out}
```

How it is computed (a pre-posterior analysis): for each input not given (hardware,
device-hours, carbon intensity or region, PUE, training tokens; training compute when the
parameters are unknown too), draw k = 20 plausible values of that input from the run's own
predictive simulation (the values the model currently believes possible: hardware ids from
the drawn hardware, device-hours from the drawn hours, tokens from the drawn compute /
(6 x parameters), ...), re-estimate the run with each value filled in, and compare interval
widths. Width is upper/lower of the 90% interval, and

    narrowing = (upper/lower now) / mean over the k values of (upper/lower once known)

The run and its filled-in copies are simulated together with common random numbers, so a
ratio reflects the value filled in, not Monte-Carlo noise; what noise remains (the 90%
quantiles of 1,000 draws, and k = 20 values) is a few percent: a narrowing between 0.95 and
1.05 means "knowing it would not help" (the sentence then says "barely"). `width_now` comes
from that paired simulation, not from the draws `estimate` printed, so the two differ by
Monte-Carlo noise (here {voi['width_now'].iloc[0]:.1f} vs {est_w:.1f}: the 5% and 95% quantiles of 1,000 draws of
so wide a distribution move by several percent each). The analysis is seeded (`seed=`) and reproducible. `estimate --voi` accepts at most
50 runs (each costs about 1 + 20 x 5 re-estimates).
"""
write_text(f"{ROOT}/docs/budgeting.md", stamp(budgeting, SHA))

# ---------------------------------------------------------------- reporting
rep = ["report", "--parameters", "7e9", "--training-tokens", "2e12", "--hardware", "H100", "--n-devices", "256",
       "--year", "2024", "--region", "gcp:europe-north1"]
md = cli(rep + ["--format", "markdown"])
tex = cli(rep + ["--format", "latex"])
yml = cli(rep + ["--format", "hf-card"])
bib = cli(rep + ["--format", "bibtex"])
js = json.loads(cli(rep + ["--format", "json"]))
md_head = md.split("### References")[0].rstrip()
entries = [e for e in bib.split("\n\n") if e.strip()]
keep = entries[:3] + [e for e in entries if e.startswith("@inproceedings{dodge2022measuring")
                      or e.startswith("@article{lannelongue2021green")]
bib_excerpt = "\n\n".join(e.strip() for e in keep)
run = js["runs"][0]
js_short = {k: js[k] for k in ("carbon_bayes_version", "ci", "ci_kind", "model")}
js_short["runs"] = [{k: run[k] for k in ("run_id", "tier", "energy_mwh", "co2_t", "given", "drawn_from_priors")}]
card = __import__("yaml").safe_load(yml)["co2_eq_emissions"]
med_t = run["co2_t"]["median"]

reporting = f"""# Reporting an estimate in a paper or a model card

`carbon-bayes report` (Python: `carbon_bayes.report.report(runs, format=...)`) turns an
estimate into text that can be printed as it is: a paragraph with the interval, the
assumptions behind it, the model version and the hashes of the posterior it came from, and
the citations of the data the model learned from. Numbers in prose are rounded to 2
significant figures (the intervals are wide; more digits would claim precision the estimate
does not have), and CO2e below 1 t is written in kg, energy below 1 MWh in kWh.

| `--format` | what | for |
| --- | --- | --- |
| `markdown` (default) | paragraph with pandoc citations (`[@key]`), table, assumptions, model and data, BibTeX block | a README, a report, pandoc |
| `latex` | booktabs table (median and interval of energy and CO2e) and the paragraph with `\\cite{{...}}` | a paper |
| `bibtex` | the entries the report cites, from `data/references.bib` | the paper's `.bib` file |
| `hf-card` | the Hugging Face model-card `co2_eq_emissions` YAML block, emissions in grams | a model card's front matter |
| `json` | everything above, machine-readable | pipelines |

`--output FILE` writes the report atomically (a temporary file moved into place), so a
half-written file never replaces a good one. Several runs (`--input runs.csv`) give one
paragraph and one table row per run (except `hf-card`, which describes one model).

All outputs below are real outputs of carbon_bayes {cb.__version__} with its shipped posterior
{PROV} and the default seed, for the same run: a 7B dense model, 2T tokens, 256 H100s,
`gcp:europe-north1`, 2024.

## A paragraph for a paper (markdown)

```console
{cmdline(rep + ["--format", "markdown"])}
```

````markdown
{md_head}

### References

```bibtex
... (the {len(entries)} BibTeX entries cited above; see the bibtex format below)
```
````

The citations after "training runs" are the sources of the labels the posterior was fitted on
(the `source` of every `in_fit` row of its `fit_data`, mapped to BibTeX keys by
`report.SOURCE_KEYS`); those after "priors" are the sources of the prior tables
(priors/README.md). A source without a BibTeX entry would be listed under "Label sources
without a BibTeX entry" instead of being dropped silently (there are none for the shipped
posterior; a test checks that every source of `data/training_runs.csv` maps to an entry).

## LaTeX

```console
{cmdline(rep + ["--format", "latex", "--output", "footprint.tex"])}
```

```latex
{tex}
```

## BibTeX

```console
{cmdline(rep + ["--format", "bibtex"])} > footprint.bib
```

The output has {len(entries)} entries (carbon_bayes itself, with its version, then the label
sources, then the prior sources); the first three and two others:

```bibtex
{bib_excerpt}
```

`data/references.bib` holds one entry per cited source with bibliographic details we could
check (arXiv ids from the dataset's `source` column; fields we could not verify are left out,
and long author lists end in "and others"). Model cards are cited as `@misc` with the
repository and the file path.

## Hugging Face model card

```console
{cmdline(rep + ["--format", "hf-card"])}
```

```yaml
{yml}
```

Paste the `co2_eq_emissions` block into the YAML front matter of the model card (between the
`---` lines of `README.md`). The Hub's schema wants `emissions` in **grams** of CO2e: here
the posterior median {med_t:.4g} t, rounded to 2 significant figures, is {card['emissions']:,} g,
with the 90% interval in `source`. `training_type` defaults to `pre-training`, or to
`fine-tuning` when the run's `scope` is `finetune` (`--training-type` to set it); `hardware_used` is "N x hardware" when
`--n-devices` is given; `geographical_location` is the region with its country, or the
country, or `unknown`.

## JSON

```console
{cmdline(rep + ["--format", "json"])}
```

An excerpt (the full output also has `citations` with the keys, `bibtex`, `hf_card`, each run's
`paragraph`, `inputs` and `warnings`):

```json
{json.dumps(js_short, indent=2)}
```

## What a reader should take from the numbers

- The **median** is the central estimate; the **interval** is an equal-tailed 90% credible
  interval of the posterior predictive distribution (`--ci-level 0.5` etc. for another level). It
  includes the uncertainty of the inputs that were not reported, of the learned efficiency
  terms, and of the label noise of published figures.
- "Drawn from priors" inputs are the ones that make the interval wide. Report them: a reader
  who knows the device-hours or the data centre can see how much tighter the figure would be
  (`carbon-bayes estimate ... --voi`, docs/budgeting.md).
- The hashes identify the posterior exactly: the same inputs, posterior and seed give the same
  report.
"""
write_text(f"{ROOT}/docs/reporting.md", stamp(reporting, SHA))
print("ok", PROV)
