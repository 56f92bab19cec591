"""The calculator without a browser: WCAG contrast of style.css, and the browser test's refusal to skip in CI.

The contrast ratios use WCAG 2's relative luminance (sRGB channels linearised, weights 0.2126,
0.7152, 0.0722) and ratio (L1 + 0.05) / (L2 + 0.05): at least 4.5:1 for text on its background,
3:1 for the focus ring and the borders of form controls against the white page (non-text).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from serve_support import REQUIRE_BROWSER, find_browser

ROOT = Path(__file__).resolve().parent.parent
CSS = (resources.files("carbon_bayes.serve") / "static" / "style.css").read_text()
NAMED = {"white": "#ffffff", "black": "#000000"}


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a ``#rgb`` or ``#rrggbb`` colour."""
    h = colour.lstrip("#")
    h = "".join(c * 2 for c in h) if len(h) == 3 else h
    channels = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours, from 1 to 21."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def rules(css: str) -> list[tuple[str, dict[str, str]]]:
    """(selector, declarations) of every rule, with ``var(--x)`` replaced by the value :root gives it."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    out = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        decls = dict((k.strip(), v.strip()) for k, _, v in (d.partition(":") for d in body.split(";")) if v.strip())
        out.append((" ".join(selector.split()), decls))
    root = next(d for s, d in out if s == ":root")
    return [(s, {k: re.sub(r"var\((--[\w-]+)\)", lambda m: root[m.group(1)], v) for k, v in d.items()})
            for s, d in out]


def colour_of(value: str) -> str | None:
    """Return the colour a declaration's value names (``#hex`` or white/black), or None."""
    m = re.search(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b|\b(?:white|black)\b", value)
    return None if m is None else NAMED.get(m.group(0), m.group(0))


def test_the_contrast_formula_gives_wcag_reference_values():
    assert contrast("#000", "#fff") == pytest.approx(21.0)
    assert contrast("#fff", "#fff") == pytest.approx(1.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the lightest grey that passes AA
    assert contrast("#777777", "#ffffff") < 4.5
    assert contrast("#f2a900", "#ffffff") == pytest.approx(2.01, abs=0.01)  # the old focus ring: too light


def test_text_colours_meet_4_5_to_1_on_their_background():
    css = rules(CSS)
    page = colour_of(dict(css)["body"]["background"])
    pairs = []
    for selector, decls in css:
        text = colour_of(decls.get("color", ""))
        if text is None:
            continue
        own = colour_of(decls.get("background", "") or decls.get("background-color", ""))
        pairs.append((selector, text, own or page))
    assert len(pairs) >= 8 and {"body", "a", "button"} <= {s for s, _, _ in pairs}
    low = [(s, t, b, round(contrast(t, b), 2)) for s, t, b in pairs if contrast(t, b) < 4.5]
    assert not low, f"text below 4.5:1 (selector, text, background, ratio): {low}"


def test_the_focus_ring_and_control_borders_meet_3_to_1_against_white():
    css = dict(rules(CSS))
    ring = colour_of(css[":focus-visible"]["outline"])
    assert ring is not None and contrast(ring, "#ffffff") >= 3.0, ring
    for selector in ("input, select, textarea", 'input[aria-invalid="true"]'):
        border = colour_of(css[selector]["border"])
        assert border is not None and contrast(border, "#ffffff") >= 3.0, (selector, border)


def test_find_browser_names_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    browser, driver, missing = find_browser()
    assert browser is None and driver is None and "Chromium" in missing and "chromedriver" in missing
    for name in ("chromium", "chromedriver"):
        (tmp_path / name).write_text("#!/bin/sh\n")
        (tmp_path / name).chmod(0o755)
    browser, driver, missing = find_browser()
    assert browser == str(tmp_path / "chromium") and driver == str(tmp_path / "chromedriver")
    assert missing is None or "Chromium" not in missing


@pytest.mark.parametrize("required", [False, True])
def test_without_a_browser_the_browser_test_skips_unless_required(tmp_path, required):
    env = {k: v for k, v in os.environ.items() if k != REQUIRE_BROWSER}
    env["PATH"] = str(tmp_path)  # no chromium, no chromedriver
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if required:
        env[REQUIRE_BROWSER] = "1"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfEs",
                           "tests/test_serve_browser.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    out = proc.stdout + proc.stderr
    if required:
        assert proc.returncode == 1, out
        assert "3 errors" in out and f"{REQUIRE_BROWSER}=1 says it must" in out and "Chromium" in out, out
    else:
        assert proc.returncode == 5, out  # pytest's "no test ran": the module skipped at collection
        assert "1 skipped" in out and "no Chromium" in out, out
