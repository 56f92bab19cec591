"""The bad-input catalogue's machinery: a named case, how one is run, and the helpers the tables share.

A :class:`Case` either expects a clean error (``field`` set: an InputError naming that field,
or another carbon_bayes error type, whose message contains every string of ``says``: the value
and the fix) or expects correct handling (``field`` None: ``check`` tests the result against
an expectation written by hand, never recomputed the way the package computes it). A case
that runs the command line expects exit status 2 and no traceback for an error, 0 otherwise.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from carbon_bayes.errors import CarbonBayesWarning, InputError

#: A run whose energy and CO2e have a closed form: 1,000 device-hours x 400 W x PUE 1.0 = 0.4 MWh,
#: x 0.4234 kg/kWh = 0.16936 t (energy_basis tdp with the power and the PUE given).
EXACT = {"hardware": "A100", "device_hours": 1000, "year": 2024, "energy_basis": "tdp", "power_per_device_w": 400,
         "pue": 1.0, "carbon_intensity": 0.4234}
EXACT_MWH = 0.4
EXACT_T = 0.16936
#: A plain run to put one bad value in.
PLAIN = {"hardware": "A100", "device_hours": 1000, "year": 2024}


@dataclass(frozen=True)
class Case:
    """One kind of bad input or bad file, and what must happen."""

    id: str
    act: Callable[[Path], Any]
    field: str | None = None  # expected error's field; None: the input is handled and ``check`` passes
    says: tuple[str, ...] = ()  # every one is in the error message (value, fix)
    check: Callable[[Any], Any] | None = None
    error: type = InputError
    warns: str | None = None  # a CarbonBayesWarning matching this is expected


@dataclass(frozen=True)
class Cli:
    """What a command-line call printed and returned."""

    code: int
    out: str
    err: str


def cli(*argv: str) -> Cli:
    """Run ``carbon-bayes argv`` in this process; argparse's own exit is caught."""
    from carbon_bayes.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as e:  # argparse: bad flag values exit 2 with a usage line
            code = e.code if isinstance(e.code, int) else 1
    return Cli(code, out.getvalue(), err.getvalue())


def run_case(case: Case, tmp_path: Path) -> None:
    """Run ``case`` and assert what it expects."""
    ctx = pytest.warns(CarbonBayesWarning, match=case.warns) if case.warns else contextlib.nullcontext()
    if case.field is None:
        with ctx:
            result = case.act(tmp_path)
        if isinstance(result, Cli):
            assert result.code == 0 and "Traceback" not in result.err, result.err
        assert case.check is not None, "a case that expects correct handling must check the result"
        assert case.check(result) is not False
        return
    try:
        with ctx:
            result = case.act(tmp_path)
    except case.error as e:
        msg = str(e)
        if isinstance(e, InputError) and case.error is InputError:
            assert e.field == case.field, (e.field, msg)
        else:
            assert case.field in msg, msg
        for s in case.says:
            assert s in msg, (s, msg)
        return
    assert isinstance(result, Cli), f"no error raised (expected {case.error.__name__} on {case.field})"
    assert result.code == 2, (result.code, result.err)
    assert "Traceback" not in result.err, result.err
    assert "error:" in result.err and case.field in result.err, result.err
    for s in case.says:
        assert s in result.err, (s, result.err)


def ids(cases: list[Case]) -> list[str]:
    """Case ids, checked unique."""
    names = [c.id for c in cases]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    return names


def estimate(run, **kw):
    """``carbon_bayes.estimate`` with few draws (the numbers checked here do not need more)."""
    import carbon_bayes as cb

    kw.setdefault("n_draws", 100)
    return cb.estimate(run, **kw)


def frame(run, **kw):
    """Return the output contract of :func:`estimate` as a DataFrame."""
    return estimate(run, **kw).to_frame()


def close(a: float, b: float, rel: float = 0.02) -> bool:
    """Tell whether ``a`` is within ``rel`` of ``b`` (relative)."""
    return math.isclose(a, b, rel_tol=rel)


def exact_ok(out) -> bool:
    """Check the closed-form run's medians: 0.4 MWh and 0.16936 t (within the label noise of 2%)."""
    r = out.iloc[0]
    assert close(r["energy_mwh_median"], EXACT_MWH) and close(r["co2_t_median"], EXACT_T), r.to_dict()
    assert r["energy_mwh_lower"] <= r["energy_mwh_median"] <= r["energy_mwh_upper"]
    return True


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    """Write a file under ``tmp_path`` (text as UTF-8, bytes as they are)."""
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8", newline="")
    return p
