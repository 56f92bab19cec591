"""The REST service against the package: same numbers, the CLI's errors, limits, metrics, no files."""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import urllib.request

import pytest

pytest.importorskip("fastapi", reason="the service needs the 'serve' extra (fastapi, uvicorn)")
pytest.importorskip("uvicorn", reason="the service needs the 'serve' extra (fastapi, uvicorn)")

from serve_support import call, live_server  # noqa: E402

from carbon_bayes.contract import CATEGORIES, COLUMN_NAMES, COLUMNS  # noqa: E402
from carbon_bayes.exports import ALL_FORMATS  # noqa: E402
from carbon_bayes.resources import default_posterior_path  # noqa: E402

RUN = {"parameters": 7e9, "training_tokens": 2e12, "hardware": "A100-80GB", "device_hours": 184320,
       "country": "US", "year": 2023}
T3 = {"parameters": "70B", "architecture": "dense_transformer", "year": 2025}
MAX_ROWS = 50


@pytest.fixture(scope="module")
def url():
    with live_server("--max-rows", str(MAX_ROWS), "--max-body-bytes", "200000", "--max-draws", "8000") as u:
        yield u


def _records(df):
    from carbon_bayes.serve.service import records

    return records(df)


def test_health_names_the_shipped_posterior(url):
    status, body = call(url, "/health")
    assert status == 200 and body["status"] == "ok"
    assert body["posterior_sha256"] == hashlib.sha256(default_posterior_path().read_bytes()).hexdigest()
    assert body["limits"]["max_rows"] == MAX_ROWS


def test_estimate_one_is_the_package_estimate(url):
    import carbon_bayes as cb
    from carbon_bayes.serve.service import PLOT_PROBS

    status, body = call(url, "/v1/estimate", {"run": RUN})
    assert status == 200
    est = cb.estimate(RUN)
    assert body["estimate"] == _records(est.to_frame(mcse=True))[0]
    assert body["distribution"]["co2_t"] == pytest.approx(est.quantile(PLOT_PROBS, "co2_t").iloc[0].tolist(),
                                                           rel=1e-12)
    assert body["distribution"]["probs"] == pytest.approx(PLOT_PROBS.tolist())


def test_batch_keeps_order_and_numbers(url):
    import carbon_bayes as cb

    runs = [dict(RUN, run_id="a"), dict(T3, run_id="b"), {"run_id": "c", "training_flops": 8.4e22, "year": 2024}]
    status, body = call(url, "/v1/estimate/batch", {"runs": runs, "ci_level": 0.5, "seed": 7})
    assert status == 200
    assert [r["run_id"] for r in body["rows"]] == ["a", "b", "c"]
    assert body["rows"] == _records(cb.estimate(runs, ci_level=0.5, seed=7).to_frame())


def test_bad_value_gets_the_cli_message(url, capsys):
    from carbon_bayes.cli import main

    status, body = call(url, "/v1/estimate", {"run": {"pue": 0.5, "year": 2024}})
    assert status == 422
    err = body["error"]
    assert (err["field"], err["value"]) == ("pue", 0.5) and "at least 1.0" in err["fix"]
    # the command line reads its flags as text: the same run given as text gets the very same line
    status, body = call(url, "/v1/estimate", {"run": {"pue": "0.5", "year": "2024"}})
    assert main(["estimate", "--pue", "0.5", "--year", "2024"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {body['error']['message']}"


def test_unknown_field_and_wrong_type_name_the_field(url):
    status, body = call(url, "/v1/estimate", {"run": {"devices_hours": 100}})
    assert status == 422
    assert body["error"]["field"] == "run.devices_hours" and "'device_hours'" in body["error"]["fix"]
    status, body = call(url, "/v1/estimate", {"run": {"year": [2024]}})
    assert status == 422 and body["error"]["field"].startswith("run.year") and body["error"]["value"] == [2024]
    status, body = call(url, "/v1/estimate", raw=b"{not json")
    assert status == 422 and body["error"]["field"] == "body"


def test_no_request_can_name_a_file(url):
    status, schema = call(url, "/openapi.json")
    assert status == 200
    names = {p for comp in schema["components"]["schemas"].values() for p in comp.get("properties", {})}
    assert {"run", "runs", "ci_level", "seed"} <= names
    assert not [n for n in names if re.search("posterior|path|file|dir|model$", n)]
    params = [p["name"] for ops in schema["paths"].values() for op in ops.values() for p in op.get("parameters", [])]
    assert params == ["name"]  # the table's name, one of three
    status, body = call(url, "/v1/estimate", {"run": RUN, "posterior": "/etc/passwd"})
    assert status == 422 and body["error"]["field"] == "posterior"


def test_limits(url):
    status, body = call(url, "/v1/estimate/batch", {"runs": [RUN] * (MAX_ROWS + 1)})
    assert status == 422 and body["error"]["field"] == "runs" and f"at most {MAX_ROWS}" in body["error"]["fix"]
    status, body = call(url, "/v1/estimate", {"run": RUN, "n_draws": 8001})
    assert status == 422 and body["error"]["field"] == "n_draws"
    status, body = call(url, "/v1/estimate", raw=b'{"run": {"model_name": "' + b"x" * 210_000 + b'"}}')
    assert status == 413 and body["error"]["field"] == "body"
    status, body = _chunked(url, "/v1/estimate", [b'{"run": {"model_name": "', *[b"x" * 50_000] * 5, b'"}}'])
    assert status == 413 and body["error"]["field"] == "body" and "more than 200,000" in body["error"]["value"]


def _chunked(url: str, path: str, chunks: list[bytes]):
    """POST a body in chunks, with no Content-Length (Transfer-Encoding: chunked); return (status, JSON)."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request("POST", path, body=iter(chunks), headers={"Content-Type": "application/json"},
                     encode_chunked=True)
        r = conn.getresponse()
        return r.status, json.loads(r.read())
    finally:
        conn.close()


def test_schema_is_the_input_contract(url):
    _, schema = call(url, "/openapi.json")
    run = schema["components"]["schemas"]["Run"]
    assert list(run["properties"]) == list(COLUMN_NAMES)
    assert run["additionalProperties"] is False
    for c in COLUMNS:
        prop = run["properties"][c.name]
        assert prop["x-unit"] == c.unit and c.description in prop["description"]
        assert prop.get("x-allowed") == (list(CATEGORIES[c.name]) if c.name in CATEGORIES else None)
        assert prop.get("x-minimum") == c.lower and prop.get("x-maximum") == c.upper
    _, contract = call(url, "/v1/contract")
    assert [c["name"] for c in contract["columns"]] == list(COLUMN_NAMES)


def test_budget_and_alternatives_are_the_package_plan(url):
    import carbon_bayes as cb
    from carbon_bayes.budget import plan

    status, body = call(url, "/v1/budget", {"run": RUN, "budget_t": 30})
    assert status == 200 and body["ranking"] == []
    assert body["prob_exceeds"] == pytest.approx(float(cb.estimate(RUN).prob_exceeds(co2_t=30).iloc[0]), abs=1e-12)
    alts = [{"region": "gcp:europe-north1"}, {"hardware": "H100"}]
    status, body = call(url, "/v1/budget", {"run": RUN, "budget_t": 30, "alternatives": alts})
    assert status == 200
    assert body["ranking"] == _records(plan(RUN, budget_t=30, alternatives=alts))
    assert body["prob_exceeds"] == next(r["prob_exceeds"] for r in body["ranking"] if r["is_reference"])
    status, body = call(url, "/v1/budget", {"run": RUN, "budget_t": 30, "suggest": True})
    labels = [r["alternative"] for r in body["ranking"]]
    assert status == 200 and any(a.startswith("region=") for a in labels) and any(a.startswith("hardware=")
                                                                                   for a in labels)
    status, body = call(url, "/v1/budget", {"run": RUN, "budget_t": -1})
    assert status == 422 and body["error"]["field"] == "budget_t"


def _raw(url: str, path: str, body) -> tuple[int, str, str]:
    """POST JSON; return (status, Content-Type, body text), whatever the type."""
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), headers={"Content-Type":
                                                                                      "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.headers.get("content-type", ""), r.read().decode()


def _same_report(fmt: str, got: str, want: str) -> bool:
    """Whether two texts are the same report; a BoAmps report differs only in its time of writing."""
    if fmt != "boamps":
        return got == want
    a, b = json.loads(got), json.loads(want)
    when = [d["header"].pop("reportDatetime") for d in (a, b)]
    return a == b and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", w) for w in when)


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_report_formats_are_the_package_reports(url, fmt):
    from carbon_bayes.exports import MEDIA_TYPES, write

    run = dict(RUN, n_devices=64)  # BoAmps lists the devices
    want = write(run, format=fmt, seed=3)
    status, body = call(url, "/v1/report", {"runs": [run], "format": fmt, "seed": 3})
    assert status == 200 and body["format"] == fmt and body["media_type"] == MEDIA_TYPES[fmt]
    assert _same_report(fmt, body["text"], want)
    # raw: the document itself, with its media type
    status, ctype, text = _raw(url, "/v1/report", {"runs": [run], "format": fmt, "seed": 3, "raw": True})
    assert status == 200 and ctype.split(";")[0] == MEDIA_TYPES[fmt] and _same_report(fmt, text, want)


def test_report_offers_every_format_of_the_cli(url):
    from carbon_bayes.cli import build_parser

    _, schema = call(url, "/openapi.json")
    offered = schema["components"]["schemas"]["ReportRequest"]["properties"]["format"]["enum"]
    report_parser = build_parser()._subparsers._group_actions[0].choices["report"]
    assert offered == list(next(a for a in report_parser._actions if a.dest == "format").choices)
    status, body = call(url, "/v1/report", {"runs": [RUN, dict(RUN, run_id="b")], "format": "eu-ai-act"})
    assert status == 422 and body["error"]["field"] == "format" and "one training run" in body["error"]["fix"]


def test_voi_is_the_package_analysis(url):
    from carbon_bayes.voi import value_of_information

    status, body = call(url, "/v1/voi", {"run": T3})
    assert status == 200
    assert body["inputs"] == _records(value_of_information(T3))
    narrowing = [r["narrowing"] for r in body["inputs"]]
    assert len(narrowing) > 3 and narrowing == sorted(narrowing, reverse=True) and narrowing[0] > 1


def test_tables(url):
    from carbon_bayes import reference

    status, hw = call(url, "/v1/tables/hardware")
    assert status == 200 and [h["hardware_id"] for h in hw] == list(reference.accelerators().index)
    _, regions = call(url, "/v1/tables/regions")
    assert {"provider": "gcp", "region": "europe-north1"}.items() <= next(
        r for r in regions if r["region"] == "europe-north1").items()
    _, countries = call(url, "/v1/tables/countries")
    assert any(c["iso3"] == "FRA" and c["iso2"] == "FR" for c in countries)
    status, body = call(url, "/v1/tables/passwords")
    assert status == 422 and body["error"]["field"] == "path.name"


def _metric(text: str, name: str, **labels) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(rf"^{re.escape(name)}\{{{re.escape(want)}\}} (\S+)$", text, re.MULTILINE)
    return float(m.group(1)) if m else 0.0


def test_metrics_count_requests_latency_and_rows(url):
    _, before = call(url, "/metrics")
    for _ in range(3):
        call(url, "/v1/estimate", {"run": RUN})
    call(url, "/v1/estimate/batch", {"runs": [RUN] * 7})
    call(url, "/v1/estimate", {"run": {"pue": 0.1}})
    _, after = call(url, "/metrics")
    ok = {"method": "POST", "route": "/v1/estimate", "status": "200"}
    assert _metric(after, "carbon_bayes_requests_total", **ok) - _metric(before, "carbon_bayes_requests_total",
                                                                         **ok) == 3
    bad = dict(ok, status="422")
    assert _metric(after, "carbon_bayes_requests_total", **bad) - _metric(before, "carbon_bayes_requests_total",
                                                                          **bad) == 1
    rows = {"route": "/v1/estimate/batch"}
    assert _metric(after, "carbon_bayes_rows_scored_total", **rows) - _metric(
        before, "carbon_bayes_rows_scored_total", **rows) == 7
    assert _metric(after, "carbon_bayes_request_duration_seconds_count", route="/v1/estimate") >= 4


def test_metrics_count_the_body_limit_413s(url):
    _, before = call(url, "/metrics")
    assert call(url, "/v1/estimate/batch", raw=b'{"runs": [{"model_name": "' + b"x" * 210_000 + b'"}]}')[0] == 413
    assert _chunked(url, "/v1/estimate/batch", [b'{"runs": [', *[b" " * 100_000] * 3, b"]}"])[0] == 413
    _, after = call(url, "/metrics")
    too_large = {"method": "POST", "route": "/v1/estimate/batch", "status": "413"}
    assert _metric(after, "carbon_bayes_requests_total", **too_large) - _metric(
        before, "carbon_bayes_requests_total", **too_large) == 2


def test_the_page_and_its_assets_are_served_locally(url):
    status, html = call(url, "/")
    assert status == 200 and "<form" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith(("/", "#", "data:")) for a in assets), assets
    for a in (a for a in assets if a.startswith("/static/")):
        status, text = call(url, a)
        assert status == 200 and text
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), a  # no CDN, nothing remote


def test_serve_refuses_bad_flags_and_binds_loopback(capsys):
    from carbon_bayes.cli import build_parser, main

    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"
    assert main(["serve", "--port", "70000"]) == 2
    assert "--port=70000" in capsys.readouterr().err
