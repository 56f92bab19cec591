"""Generated documents name the posterior they came from, and the docs stand alone.

Every generated document (or generated section) carries the marker line of
:mod:`carbon_bayes.provenance`; these tests fail while one names another posterior than the
shipped ``carbon_bayes/default_posterior.nc``, or has no marker: after the posterior is rebuilt,
``python scripts/rebuild.py`` (with ``--loo`` / ``--benchmarks`` / ``--all`` for the long steps)
brings them back in line.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from pathlib import Path

import pytest

from carbon_bayes import provenance
from carbon_bayes.provenance import marker, posterior_sha256, recorded, replace_section, section, stamp
from carbon_bayes.resources import default_posterior_path

ROOT = Path(__file__).resolve().parent.parent


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"_script_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


rebuild = _script("rebuild")
SHA = posterior_sha256()


# ------------------------------------------------------------------------------ the marker

def test_the_posterior_identity_is_the_sha256_of_the_shipped_file():
    assert SHA == hashlib.sha256(default_posterior_path().read_bytes()).hexdigest()
    assert recorded(marker(SHA)) == [SHA]
    with pytest.raises(ValueError):
        marker("not-a-hash")


def test_a_section_is_replaced_between_its_lines_only():
    text = "head\n<!-- begin generated: s -->\nold\n<!-- end generated: s -->\ntail\n"
    new = replace_section(text, "s", "new\n", "ab" * 32)
    assert new == f"head\n<!-- begin generated: s -->\n{marker('ab' * 32)}\nnew\n<!-- end generated: s -->\ntail\n"
    assert (replace_section(new, "s", "newer", SHA).replace(marker(SHA), marker("ab" * 32)).replace("newer", "new")
            == new)
    assert recorded(section(new, "s")) == ["ab" * 32]
    with pytest.raises(ValueError, match="begin generated: other"):
        replace_section(text, "other", "x")
    assert stamp(stamp("# Title\n", "cd" * 32), SHA) == marker(SHA) + "\n# Title\n"  # an old marker is replaced


# ------------------------------------------------------------------------------ the documents

PARTS = [(doc, name) for doc, sections in rebuild.GENERATED.items() for name in (sections or [None])]


@pytest.mark.parametrize("doc,name", PARTS, ids=[f"{d}[{n}]" if n else d for d, n in PARTS])
def test_every_generated_doc_names_the_shipped_posterior(doc, name):
    if doc in rebuild.OPTIONAL and not (ROOT / doc).is_file():
        pytest.skip(f"{doc} is written only by an optional long rebuild step and has not been run")
    text = (ROOT / doc).read_text()
    part, label = (text.split("\n", 1)[0], doc) if name is None else (section(text, name), f"{doc} [{name}]")
    got = recorded(part)
    assert got, f"{label} has no provenance marker: regenerate it (python scripts/rebuild.py, see --list)"
    assert got == [SHA] * len(got), (
        f"{label} was generated from posterior {got[0][:12]}, not the shipped {SHA[:12]}: "
        "regenerate it (python scripts/rebuild.py, with --loo / --benchmarks for the long steps)")
    if name is None:
        assert part == marker(SHA), f"{label}: the marker must be the first line"


def test_every_doc_with_a_marker_or_a_generated_section_is_checked():
    files = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
    for f in files:
        text, rel = f.read_text(), str(f.relative_to(ROOT))
        names = re.findall(r"^<!-- begin generated: ([\w-]+) -->$", text, flags=re.M)
        if names or recorded(text):
            assert rel in rebuild.GENERATED, f"{rel} has generated content but is not in scripts/rebuild.py GENERATED"
            assert sorted(rebuild.GENERATED[rel] or []) == sorted(names), rel


def test_the_saved_validation_runs_record_the_posterior_their_reports_name():
    from carbon_bayes.validation_report import saved_posterior_sha256

    for report in ("docs/validation.md", "docs/validation_groups.md", "docs/validation_loo.md"):
        if report in rebuild.OPTIONAL and not (ROOT / report).is_file():
            continue
        first = (ROOT / report).read_text().split("\n", 1)[0]
        assert recorded(first) == [saved_posterior_sha256(ROOT / report)], report


def test_the_readme_headline_is_written_from_the_saved_validation_runs():
    headline = _script("build_readme_headline")
    body, sha = headline.headline("docs/validation.md", "docs/validation_loo.md", ROOT, "docs/validation_groups.md")
    expected = marker(sha) + "\n" + body + "\n"
    assert section((ROOT / "README.md").read_text(), "validation-headline") == expected, (
        "the README headline differs from the saved validation runs: python scripts/rebuild.py --only readme")


# ------------------------------------------------------------------------------ the rebuild command

def test_the_plan_is_in_dependency_order_and_the_long_steps_are_opt_in(capsys):
    names = [s.name for s in rebuild.STEPS]
    order = ["posterior", "validate", "loo", "model-checks", "doc-examples", "update-example", "readme"]
    assert [n for n in names if n in order] == order
    assert {s.name for s in rebuild.STEPS if s.group != "default"} == {"loo", "bench-speed", "bench-fit"}
    ns = rebuild.argparse.Namespace
    base = dict(only=None, loo=False, benchmarks=False, all=False, stamp_only=False, from_step=None)
    assert [s.name for s in rebuild.plan(ns(**base))] == [n for n in names if n not in ("loo", "bench-speed",
                                                                                        "bench-fit")]
    assert [s.name for s in rebuild.plan(ns(**{**base, "all": True, "from_step": "readme"}))] == [
        "readme", "bench-speed", "bench-fit"]
    assert [s.name for s in rebuild.plan(ns(**{**base, "only": "readme,validate"}))] == ["validate", "readme"]
    rebuild.main(["--list"])
    out = capsys.readouterr().out
    assert "python scripts/build_default_posterior.py" in out and "[--loo or --all]" in out


def test_a_failing_step_stops_the_rebuild_and_says_where_to_resume(capsys):
    step = rebuild.Step("boom", [sys.executable, "-c", "raise SystemExit(3)"], "fails", "0 s")
    with pytest.raises(SystemExit):
        rebuild.run_step(step, 1, 1, False)
    err = capsys.readouterr().err
    assert "step 'boom' failed (exit code 3)" in err and "--from boom" in err


# ------------------------------------------------------------------------------ the docs stand alone

FORBIDDEN = re.compile(r"\.\./shared|shared/design|MODEL\.md|STYLE_ANCHORS|\b[Ii]ssues? ?#?\d+")


def _standalone_files():
    yield from (p for p in sorted((ROOT / "docs").rglob("*")) if p.is_file() and p.suffix != ".png")
    yield from (ROOT / f for f in ("README.md", "data/README.md", "priors/README.md"))
    yield from sorted(Path(provenance.__file__).parent.rglob("*.py"))


def test_the_docs_and_the_package_stand_alone():
    hits = []
    for f in _standalone_files():
        for i, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
            if FORBIDDEN.search(line):
                hits.append(f"{f}:{i}: {line.strip()[:100]}")
    assert not hits, "references outside the repository (design files, issue numbers):\n" + "\n".join(hits)
