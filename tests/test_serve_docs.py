"""Every curl example of docs/service.md, run against a live service: it answers, and as the page shows.

A ```bash block of curl commands is sent, in the page's order, to a service started with the
default limits (the page's ``http://127.0.0.1:8000`` replaced by its address). A block of one
command followed by a ```json or ```text block must answer that output, where ``...`` stands for
any text (doctest's ELLIPSIS; whitespace is compared loosely); every other command must answer
200. Every endpoint, every reference table and an export format must have an example.
"""

from __future__ import annotations

import doctest
import json
import re
import shlex
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the service needs the 'serve' extra (fastapi, uvicorn)")
pytest.importorskip("uvicorn", reason="the service needs the 'serve' extra (fastapi, uvicorn)")

from serve_support import call, live_server  # noqa: E402

DOC = Path(__file__).resolve().parent.parent / "docs" / "service.md"
BASE = "http://127.0.0.1:8000"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)


def examples(text: str) -> list[tuple[dict, str | None, str | None]]:
    """(request, output language, output) of every curl command of the page, in order."""
    blocks = [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(text)]
    out = []
    for i, (lang, body, _, end) in enumerate(blocks):
        if lang != "bash" or "curl " not in body:
            continue
        tokens = shlex.split(body, comments=True)
        starts = [k for k, t in enumerate(tokens) if t == "curl"]
        commands = [tokens[a:b] for a, b in zip(starts, [*starts[1:], len(tokens)], strict=True)]
        shown = None
        if i + 1 < len(blocks) and not text[end:blocks[i + 1][2]].strip() and blocks[i + 1][0] in ("json", "text"):
            shown = blocks[i + 1][:2]
        assert shown is None or len(commands) == 1, f"an output block follows several commands:\n{body}"
        for cmd in commands:
            out.append((request_of(cmd), *(shown or (None, None))))
    return out


def request_of(cmd: list[str]) -> dict:
    """Return the URL, headers and body of one ``curl -s URL [-H header] [-d data]`` command."""
    req: dict = {"headers": {}, "data": None, "url": None}
    args = iter(cmd[1:])
    for a in args:
        if a == "-s":
            continue
        if a == "-H":
            name, _, value = next(args).partition(":")
            req["headers"][name.strip()] = value.strip()
        elif a == "-d":
            req["data"] = next(args)
        elif a.startswith("http"):
            req["url"] = a
        else:
            raise AssertionError(f"the doc's curl uses {a!r}, which this test does not read: {shlex.join(cmd)}")
    assert req["url"] and req["url"].startswith(BASE), cmd
    return req


def send(url: str, req: dict) -> tuple[int, str, str]:
    data = None if req["data"] is None else req["data"].encode()
    r = urllib.request.Request(req["url"].replace(BASE, url), data=data, headers=req["headers"])
    try:
        with urllib.request.urlopen(r, timeout=120) as resp:
            return resp.status, resp.headers.get("content-type", ""), resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read().decode()


def matches(lang: str, shown: str, got: str) -> bool:
    """Whether the service's answer is the output shown (``...`` for any text, whitespace loose)."""
    if lang == "json":
        got = json.dumps(json.loads(got), ensure_ascii=False)
        shown = re.sub(r"\s+([\]}])", r"\1", re.sub(r"([\[{])\s+", r"\1", shown))
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    return doctest.OutputChecker().check_output(shown.strip() + "\n", got.strip() + "\n", flags)


def test_the_output_matcher_is_strict_outside_the_ellipses():
    assert matches("json", '{"a": 1, "b": ...}', '{"a":1,"b":[2,3]}')
    assert not matches("json", '{"a": 2, "b": ...}', '{"a":1,"b":[2,3]}')
    assert matches("text", "x 1\n...\nz ...", "x 1\ny 2\nz 3\n")
    assert not matches("text", "x 1\nz ...", "x 1\ny 2\nz 3\n")


def test_every_curl_example_answers_as_the_page_shows():
    text = DOC.read_text(encoding="utf-8")
    found = examples(text)
    with live_server() as url:
        _, schema = call(url, "/openapi.json")
        for req, lang, shown in found:
            status, ctype, got = send(url, req)
            where = f"{req['url']} {req['data'] or ''}"[:300]
            if shown is None:
                assert status == 200, f"{where}: {status} {got[:500]}"
            else:
                assert matches(lang, shown, got), f"{where} answered (HTTP {status}, {ctype}):\n{got[:3000]}"
    paths = {r["url"].removeprefix(BASE) for r, _, _ in found}
    wanted = {"/openapi.json"} | {p.replace("{name}", t) for p in schema["paths"]
                                  for t in (("hardware", "regions", "countries") if "{name}" in p else ("",))}
    assert not wanted - paths, f"endpoints without a curl example on docs/service.md: {sorted(wanted - paths)}"
    from carbon_bayes.exports import EXPORT_FORMATS

    formats = {json.loads(r["data"]).get("format") for r, _, _ in found if r["url"].endswith("/v1/report")}
    assert formats & set(EXPORT_FORMATS), "no example of an export format of /v1/report"


def test_the_page_lists_every_report_format_with_its_media_type():
    from carbon_bayes.exports import ALL_FORMATS, MEDIA_TYPES

    rows = dict(re.findall(r"^\| `([\w-]+)`(?: \(default\))? \| .*? \| `([\w/.+-]+)` \|$", DOC.read_text(), re.M))
    assert rows == {f: MEDIA_TYPES[f] for f in ALL_FORMATS}
