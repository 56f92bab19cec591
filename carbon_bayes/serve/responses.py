"""The bodies of the service's error responses: field, value, fix, row and the CLI's message."""

from __future__ import annotations

import difflib
import json
from typing import Any

from carbon_bayes.contract import COLUMN_NAMES
from carbon_bayes.errors import InputError


def error_body(field: str, value: Any, fix: str, row: Any = None) -> dict[str, Any]:
    """Build the JSON of a 422: field, value, fix, row and the CLI's one-line message."""
    message = str(InputError(field, value, fix, row=row))
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        value = repr(value)
    if isinstance(value, str) and len(value) > 200:
        value = value[:200] + "..."
    return {"error": {"field": field, "value": value, "fix": fix, "row": row, "message": message}}


def validation_fix(err: dict[str, Any]) -> tuple[str, str]:
    """Field and fix for pydantic's first error (unknown field, missing field, wrong type)."""
    loc = [str(p) for p in err.get("loc", ()) if p != "body"]
    field = ".".join(loc) or "body"
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(loc[-1], COLUMN_NAMES, n=1, cutoff=0.75) if loc else []
        hint = f"; did you mean {close[0]!r}?" if close else "; see GET /v1/contract for the input columns"
        return field, "unknown field" + hint
    if kind == "missing":
        return field, "this field is required"
    if kind == "json_invalid":
        return "body", "send a JSON object (Content-Type: application/json)"
    return field, str(err.get("msg", "invalid value"))
