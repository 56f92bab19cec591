"""``carbon-bayes report``: a paragraph, table, BibTeX or model-card block for a paper or a model card."""

from __future__ import annotations

ORDER = 14


def register(sub) -> None:
    """Add the ``report`` subcommand to ``sub`` (the subparsers of the main parser)."""
    from carbon_bayes.cli.common import add_prediction_flags, add_run_flags
    from carbon_bayes.constants import ALL_FORMATS

    p = sub.add_parser(
        "report", help="report an estimate for a paper or a model card (markdown, LaTeX, BibTeX, HF card, JSON) "
                         "or export it for a reporting scheme (BoAmps, EU AI Act, HF co2_eq_emissions)",
        description="Write the estimated training energy and CO2e with credible intervals as a paragraph a paper "
                    "can print, with the assumptions, the model version and posterior hashes, and the BibTeX of the "
                    "data behind the model; or the Hugging Face model-card co2_eq_emissions block (grams); or one "
                    "run's estimate as a BoAmps 1.1 report (boamps), the energy section of the EU AI Act "
                    "general-purpose model documentation (eu-ai-act, eu-ai-act-json) or a model card's front "
                    "matter and environmental-impact paragraph (hf-co2).",
        epilog="Example: carbon-bayes report --parameters 7e9 --training-tokens 2e12 --hardware H100 --n-devices 256 "
               "--region gcp:europe-north1 --year 2024 --format hf-card")
    add_run_flags(p)
    p.add_argument("--format", choices=ALL_FORMATS, default="markdown",
                   help="output format (default markdown); see docs/exports.md for the reporting-scheme exports")
    p.add_argument("--output", metavar="FILE", help="write the report to FILE (atomically) instead of stdout")
    add_prediction_flags(p)
    p.add_argument("--training-type", default=None, help="model card training_type (default: fine-tuning when "
                   "every run's scope is finetune, else pre-training)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``carbon-bayes report`` with the parsed ``args``; return the exit status."""
    import sys

    from carbon_bayes.cli.common import runs_from_args
    from carbon_bayes.exports import write

    text = write(runs_from_args(args), format=args.format, ci_level=args.ci_level, posterior=args.posterior,
                  seed=args.seed, n_draws=args.n_draws, training_type=args.training_type)
    if args.output:
        from carbon_bayes.posterior import atomic_write

        def write(tmp):
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)

        atomic_write(args.output, write)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
