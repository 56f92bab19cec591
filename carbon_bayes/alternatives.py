"""What-if alternatives of one run: expanding a grid of overrides and applying one to a run.

:func:`carbon_bayes.budget.plan` compares a run with its alternatives (other regions, hardware,
PUE). An override changes one input and the inputs tied to it (a new region drops the old
country and operator, hardware drops a stated power), so each alternative is a consistent run.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from carbon_bayes import schema
from carbon_bayes.errors import InputError

#: Largest number of alternatives :func:`carbon_bayes.budget.plan` compares in one call.
MAX_ALTERNATIVES = 500
#: Columns an alternative may override (every input column but the identifiers).
OVERRIDABLE = tuple(c for c in schema.COLUMN_NAMES if c not in ("run_id", "model_name"))
REFERENCE = "reference"


def _one_run(run) -> pd.DataFrame:
    """Normalise ``run`` (dict, one-row DataFrame or Series), which must be a single run."""
    df = schema.normalise_runs(run)
    if len(df) != 1:
        raise InputError("run", f"{len(df)} runs", "plan() compares alternatives for one run; give one run "
                         "(use sweep() for the total of several runs)")
    return df


def _is_missing(v) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and np.isnan(v):
        return True
    return isinstance(v, str) and v.strip() == ""


def _check_keys(keys, field: str = "alternatives") -> None:
    for k in keys:
        if k not in OVERRIDABLE:
            import difflib

            close = difflib.get_close_matches(str(k), OVERRIDABLE, n=1, cutoff=0.6)
            hint = (f"; did you mean {close[0]!r}?" if close
                    else "; use input columns such as region, hardware, pue, carbon_intensity or country")
            raise InputError(field, k, "unknown override column" + hint)


def expand_alternatives(alternatives) -> list[dict]:
    """Alternatives as a list of override dicts.

    Parameters
    ----------
    alternatives
        A list of dicts of overrides (``[{"region": "gcp:europe-north1"}, {"hardware": "H100"}]``),
        a DataFrame (one alternative per row; empty cells override nothing), or a grid dict of
        lists (``{"region": [...], "hardware": [...]}``) expanded to its cartesian product.

    Returns
    -------
    list of dict
        One dict per alternative (empty values dropped).

    Raises
    ------
    InputError
        ``alternatives`` empty, an unknown override column, or more than
        :data:`MAX_ALTERNATIVES` alternatives.
    """
    if alternatives is None:
        raise InputError("alternatives", None, "give at least one alternative, e.g. [{'region': 'gcp:europe-north1'}] "
                         "or a grid {'region': [...], 'hardware': [...]}")
    if isinstance(alternatives, pd.DataFrame):
        alternatives = alternatives.to_dict("records")
    if isinstance(alternatives, Mapping):
        if not alternatives:
            raise InputError("alternatives", {}, "the grid is empty; give e.g. {'region': ['gcp:europe-north1', "
                             "'gcp:us-east1']}")
        _check_keys(alternatives)
        axes = {}
        for k, v in alternatives.items():
            vals = [v] if isinstance(v, (str, bytes)) or np.ndim(v) == 0 else list(v)
            if not vals:
                raise InputError(f"alternatives.{k}", [], "give at least one value for each grid column")
            axes[k] = vals
        n = int(np.prod([len(v) for v in axes.values()]))
        if n > MAX_ALTERNATIVES:
            raise InputError("alternatives", f"grid of {n} alternatives",
                             f"at most {MAX_ALTERNATIVES} alternatives; use fewer values per column")
        out = [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]
    elif isinstance(alternatives, Sequence) and not isinstance(alternatives, (str, bytes)):
        if len(alternatives) == 0:
            raise InputError("alternatives", [],
                             "give at least one alternative, e.g. [{'region': 'gcp:europe-north1'}]")
        if len(alternatives) > MAX_ALTERNATIVES:
            raise InputError("alternatives", f"{len(alternatives)} alternatives",
                             f"at most {MAX_ALTERNATIVES} alternatives")
        out = []
        for i, a in enumerate(alternatives):
            if not isinstance(a, Mapping):
                raise InputError(f"alternatives[{i}]", a, "each alternative is a dict of overrides, e.g. "
                                 "{'region': 'gcp:europe-north1'}")
            _check_keys(a)
            out.append(dict(a))
    else:
        raise InputError("alternatives", type(alternatives).__name__,
                         "give a list of dicts of overrides, a DataFrame, or a grid dict of lists")
    cleaned = [{k: v for k, v in a.items() if not _is_missing(v)} for a in out]
    for i, a in enumerate(cleaned):
        if not a:
            raise InputError(f"alternatives[{i}]", out[i], "this alternative overrides nothing; give at least one "
                             "column, e.g. region")
    return cleaned


def _has_compute(row: dict) -> bool:
    def known(k):
        return not _is_missing(row.get(k))
    return known("training_flops") or ((known("parameters") or known("active_parameters")) and known("training_tokens"))


def apply_overrides(reference: dict, overrides: dict) -> tuple[dict, list[str]]:
    """Apply ``overrides`` to the reference run; return it and notes on what else had to change.

    Rules (so that an alternative is a consistent run, not a contradiction):

    - a new ``region`` drops the reference's ``country`` and ``provider`` (implied by the
      region) unless they are overridden too; a new ``country`` drops the reference's
      ``region``;
    - a new location drops the reference's ``carbon_intensity`` (it belonged to the old
      location) unless it is overridden too; market-based accounting then falls back to
      location-based;
    - new ``hardware`` drops the reference's ``precision`` and ``power_per_device_w``, and, when
      the compute is known (FLOPs, or parameters and tokens), its device-hours (they are
      re-derived from the compute on the new hardware); without known compute the given
      device-hours are kept (a note says so).

    Parameters
    ----------
    reference
        The reference run as a dict of input columns (normalised).
    overrides
        Column -> new value.

    Returns
    -------
    tuple of (dict, list of str)
    """
    row = dict(reference)
    notes: list[str] = []
    keys = set(overrides)
    row.update(overrides)
    if "region" in keys:
        for k in ("country", "provider"):
            if k not in keys:
                row[k] = None
    if "country" in keys and "region" not in keys:
        row["region"] = None
    if keys & {"region", "country"} and "carbon_intensity" not in keys:
        if not _is_missing(reference.get("carbon_intensity")):
            notes.append("the reference's carbon_intensity belongs to its location: drawn for the new one")
        row["carbon_intensity"] = None
        if row.get("accounting") == "market_based":
            row["accounting"] = "location_based"
            notes.append("market-based accounting needs a contract intensity: location-based used")
    if "hardware" in keys:
        for k in ("precision", "power_per_device_w"):
            if k not in keys:
                row[k] = None
        if "device_hours" not in keys and not _is_missing(reference.get("device_hours")):
            if _has_compute(row):
                row["device_hours"] = None
                row["training_days"] = None
                notes.append("device-hours re-derived from the compute on the new hardware")
            else:
                notes.append("device-hours kept from the reference (no compute given to re-derive them)")
    return row, notes


def _label(overrides: dict, normalised: pd.Series) -> str:
    parts = []
    for k in overrides:
        v = normalised.get(k, overrides[k])
        if _is_missing(v):
            v = overrides[k]
        parts.append(f"{k}={v:g}" if isinstance(v, (float, int, np.floating, np.integer)) else f"{k}={v}")
    return ", ".join(parts)


def alternative_runs(ref: pd.DataFrame, alternatives) -> tuple[pd.DataFrame, list[list[str]], list[dict]]:
    """Normalise the reference run (row 0) and its distinct alternatives.

    Returns the inputs, each row's notes about inputs the overrides changed, and each row's
    overrides. Alternatives identical to the reference or to an earlier alternative are dropped;
    if none is left, an :class:`~carbon_bayes.errors.InputError` says so.
    """
    alts = expand_alternatives(alternatives)
    ref_row = {c: ref.iloc[0][c] for c in schema.COLUMN_NAMES}
    ref_row["run_id"] = REFERENCE
    rows, notes, overrides = [ref_row], [[]], [{}]
    for i, a in enumerate(alts):
        r, n = apply_overrides(ref_row, a)
        r["run_id"] = f"alternative {i + 1}"
        rows.append(r)
        notes.append(n)
        overrides.append(a)
    inputs = schema.normalise_runs(pd.DataFrame(rows, columns=list(schema.COLUMN_NAMES)))
    comparable = [tuple(map(str, r)) for r in inputs[list(schema.COLUMN_NAMES[1:])].itertuples(index=False)]
    # An alternative whose overrides normalise to the reference's own values is the reference, even where
    # applying them re-derived something (new hardware re-derives device-hours from the compute).
    same_as_ref = [i > 0 and all(str(inputs.iloc[i][k]) == str(inputs.iloc[0][k]) for k in overrides[i])
                   for i in range(len(rows))]
    keep, seen = [], set()
    for i, key in enumerate(comparable):
        if key not in seen and not same_as_ref[i]:
            seen.add(key)
            keep.append(i)
    if len(keep) == 1:
        raise InputError("alternatives", alts, "every alternative equals the reference run; override a column "
                         "with a different value")
    return inputs.iloc[keep].reset_index(drop=True), [notes[i] for i in keep], [overrides[i] for i in keep]
