"""A fit killed outright (kill -9) leaves no sampler process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="process groups are read from /proc")

# A tiny model sampled by PyMC's NUTS on two chain processes, long enough to be killed mid-way.
FIT = textwrap.dedent("""
    import pymc as pm
    from carbon_bayes.constants import DEFAULT_SAMPLER_CONFIG
    from carbon_bayes.fitting import sample
    with pm.Model() as m:
        pm.Normal("x", 0.0, 1.0)
    cfg = {**DEFAULT_SAMPLER_CONFIG, "sampler": "pymc", "chains": 2, "draws": 10_000_000, "tune": 100,
           "progressbar": False}
    sample(m, cfg)
""")


def _group(pgid: int) -> list[int]:
    """List the live processes of process group ``pgid`` (field 5 of /proc/PID/stat)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


def _wait(cond, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.2)
    return cond()


def test_a_killed_fit_leaves_no_sampler_process():
    proc = subprocess.Popen([sys.executable, "-c", FIT], start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        # the fit, the fork server and two chains: sampling has started
        assert _wait(lambda: len(_group(proc.pid)) >= 4, 240), "the two chain processes never started"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        left = _wait(lambda: not _group(proc.pid), 20)
        assert left, f"processes left after the fit was killed: {_group(proc.pid)}"
    finally:
        for pid in _group(proc.pid):
            os.kill(pid, signal.SIGKILL)
