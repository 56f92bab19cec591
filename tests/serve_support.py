"""A real ``carbon-bayes serve`` on a free loopback port, in a subprocess, for the service's tests."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

#: Set to 1 (as .ci/run does) and the browser test fails, instead of skipping, when it cannot run.
REQUIRE_BROWSER = "CARBON_BAYES_REQUIRE_BROWSER"


def browser_required() -> bool:
    """Whether the browser test must run (``CARBON_BAYES_REQUIRE_BROWSER=1``) rather than skip."""
    return os.environ.get(REQUIRE_BROWSER, "").strip() == "1"


def find_browser() -> tuple[str | None, str | None, str | None]:
    """Return (Chromium, chromedriver, what is missing): the missing part is None when the browser test can run."""
    browser = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    driver = shutil.which("chromedriver")
    missing = [what for what, ok in (("the 'serve' extra (fastapi, uvicorn)", _importable("fastapi", "uvicorn")),
                                     ("selenium (pip install '.[test]')", _importable("selenium")),
                                     ("Chromium", browser), ("chromedriver", driver)) if not ok]
    why = (f"no {' and no '.join(missing)} (Debian: apt-get install chromium chromium-driver)" if missing else None)
    return browser, driver, why


def _importable(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


class Served(str):
    """The base URL of a running service, with the ``pid`` of its process."""

    pid: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(*flags: str, timeout: float = 90.0):
    """Start ``carbon-bayes serve --port N *flags`` and yield its base URL; stop it afterwards."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "carbon_bayes", "serve", "--port", str(port), "--log-level",
                             "warning", *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = Served(f"http://127.0.0.1:{port}")
    url.pid = proc.pid
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the service exited with {proc.returncode}: {proc.stderr.read()}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the service did not answer /health in time")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def call(url: str, path: str, body=None, *, raw: bytes | None = None, timeout: float = 60.0):
    """GET (``body`` None) or POST JSON; return (status, parsed JSON or text)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(url + path, data=data, method="GET" if data is None else "POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, text, ctype = r.status, r.read().decode(), r.headers.get("content-type", "")
    except urllib.error.HTTPError as e:
        status, text, ctype = e.code, e.read().decode(), e.headers.get("content-type", "")
    return status, (json.loads(text) if "json" in ctype else text)
