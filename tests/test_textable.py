"""The plain-text table of the CLI: one layout whether it comes from a DataFrame or from an estimate's arrays."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout

import numpy as np
import pandas as pd

from carbon_bayes.cli.common import print_human
from carbon_bayes.textable import format_table


def test_columns_are_right_aligned_under_their_headers():
    text = format_table({"run_id": np.array(["a", "longer-id"], dtype=object), "x": np.array([1234567.0, np.nan]),
                         "n": np.array([3, 40]), "ok": np.array([True, False]), "note": np.array([None, "t"])})
    header, first, second = text.splitlines()
    assert header.split() == ["run_id", "x", "n", "ok", "note"]
    assert first.split() == ["a", "1.235e+06", "3", "True"]  # a missing text is empty
    assert second.split() == ["longer-id", "NaN", "40", "False", "t"]
    assert len({len(header), len(first), len(second)}) == 1  # every row as wide as the header row
    for name in ("x", "n", "ok"):  # right-aligned: each value ends where its header ends
        end = re.search(rf"\b{name}\b", header).end()
        assert second[:end].rstrip() == second[:end] and first[:end].rstrip() == first[:end]


def test_a_dataframe_and_its_columns_print_alike():
    frame = pd.DataFrame({"run_id": ["a", "b"], "energy_mwh_median": [12.5, 3.0], "energy_mwh_lower": [5.0, 1.0],
                          "energy_mwh_upper": [40.0, 9.0], "tier": ["T3", "T1"], "warnings": ["x", ""]})
    outs = []
    for table in (frame, {c: frame[c].to_numpy() for c in frame.columns}):
        with redirect_stdout(io.StringIO()) as buf:
            print_human(table, ci_level=0.9, width=60)
        outs.append(buf.getvalue())
    assert outs[0] == outs[1] and "a: x" in outs[0]


def test_control_characters_in_a_cell_are_shown_escaped_and_cannot_add_a_row():
    text = format_table({"run_id": np.array(["evil\n  run-0  999", "tab\there\r"], dtype=object),
                         "x": np.array([1.0, 2.0])})
    lines = text.splitlines()
    assert len(lines) == 3  # header and the two rows: no row forged from a cell
    assert lines[1].split() == ["evil\\n", "run-0", "999", "1"] and lines[2].split() == ["tab\\there\\r", "2"]
