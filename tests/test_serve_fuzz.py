"""Property-based tests of the service against its own OpenAPI schema (schemathesis): no 500, ever.

Every operation gets a bounded number of generated requests, valid and invalid; a 5xx fails the
test. The shipped posterior is the same file afterwards.
"""

from __future__ import annotations

import hashlib

import pytest

pytest.importorskip("fastapi", reason="the service needs the 'serve' extra (fastapi, uvicorn)")
schemathesis = pytest.importorskip("schemathesis", reason="property-based API tests need schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from serve_support import live_server  # noqa: E402

from carbon_bayes.resources import default_posterior_path  # noqa: E402

#: Generated requests per operation (9 operations): enough to reach every field, small enough to stay fast.
EXAMPLES = 20


@pytest.fixture(scope="module")
def served():
    before = hashlib.sha256(default_posterior_path().read_bytes()).hexdigest()
    with live_server("--max-rows", "20", "--max-draws", "4000", "--max-body-bytes", "100000") as url:
        yield url
    assert hashlib.sha256(default_posterior_path().read_bytes()).hexdigest() == before


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_no_server_error(served, mode):
    """Requests that fit the schema and requests that do not: every answer is below 500."""
    from hypothesis import given
    from schemathesis.generation.modes import GenerationMode

    api = schemathesis.openapi.from_url(served + "/openapi.json")
    operations = [r.ok() for r in api.get_all_operations()]
    assert len(operations) >= 9
    if mode == "negative":  # a GET without parameters has no invalid request to generate
        operations = [op for op in operations if op.method.upper() == "POST" or "{" in op.path]
    for op in operations:
        @given(case=op.as_strategy(generation_mode=GenerationMode(mode)))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            response = case.call(base_url=served, timeout=60)
            assert response.status_code < 500, (case.method, case.path, case.body, response.text[:500])
            if response.status_code == 422:
                err = response.json()["error"]
                assert {"field", "value", "fix", "message"} <= set(err) and err["fix"], err

        check()
