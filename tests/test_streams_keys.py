"""Row keys of the counter-based streams are bit-identical to pandas' hashing, however they are computed.

A run's random numbers are keyed by a hash of its inputs; the fast paths (numpy for numbers,
cached per-string hashes for a few rows, a mapping of arrays instead of a DataFrame) must give
the very keys ``pandas.util.hash_array`` gave per column, or every estimate would change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carbon_bayes import schema, streams
from carbon_bayes.estimator import KEY_COLUMNS


def reference_keys(runs: pd.DataFrame, columns) -> np.ndarray:
    """Compute the keys as first written: pandas ``hash_array`` on every column of a DataFrame."""
    key = np.zeros(len(runs), dtype=np.uint64)
    for c in columns:
        s = runs[c]
        if s.dtype.kind in "fiub":
            vals = pd.util.hash_array(s.to_numpy(dtype=float))
        else:
            vals = pd.util.hash_array(s.fillna("").astype(str).to_numpy(dtype=object))
        key = streams.mix(key ^ streams._text_key(c) ^ vals)
    return key


def varied_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    special = np.array([np.nan, -0.0, 0.0, np.inf, -np.inf, 1.0, -1.0, 5e-324, 1.7976931348623157e308,
                        float(2 ** 53 + 1), -np.nan, 184_320.0, 7e9])
    floats = np.where(rng.random(n) < 0.3, special[rng.integers(0, len(special), n)],
                      rng.lognormal(0, 20, n) * rng.choice([-1, 1], n))
    nan_payload = np.array([0x7FF8000000000001, 0xFFF8000000000000], dtype=np.uint64).view(float)
    odd = rng.random(n) < 0.05
    floats[odd] = nan_payload[rng.integers(0, 2, odd.sum())]  # NaNs with other bit patterns
    words = np.array(["", "A100-80GB", "H100", "gcp:us-central1", "ünïcode ✓", "US", "x" * 300, "1", "nan",
                      " padded ", "tab\there", "日本語"], dtype=object)
    text = words[rng.integers(0, len(words), n)]
    ints = rng.integers(-10 ** 12, 10 ** 12, n)
    return pd.DataFrame({"f": floats, "i": ints, "t": text, "year": rng.integers(2010, 2030, n).astype(float),
                         "b": rng.random(n) < 0.5})


@pytest.mark.parametrize("n", [1, 2, 7, 64, 65, 300, 5000])
def test_keys_equal_pandas_hashing_on_varied_rows(n):
    df = varied_frame(n, seed=n)
    cols = ["f", "i", "t", "year", "b"]
    want = reference_keys(df, cols)
    np.testing.assert_array_equal(streams.row_keys(df, cols), want)
    arrays = {c: df[c].to_numpy() for c in cols}
    np.testing.assert_array_equal(streams.row_keys(arrays, cols), want)
    for i in range(min(n, 20)):  # each row alone (the per-string cached path) has its batch key
        one = {c: v[i:i + 1] for c, v in arrays.items()}
        assert streams.row_keys(one, cols)[0] == want[i]


def test_float_hash_canonicalises_nan_and_negative_zero_as_pandas_does():
    x = np.array([0.0, -0.0, np.nan, -np.nan, np.array([0x7FF8000000000001], dtype=np.uint64).view(float)[0], 3.5])
    np.testing.assert_array_equal(streams.float_hash(x), pd.util.hash_array(x))
    h = streams.float_hash(x)
    assert h[0] == h[1] and h[2] == h[3] == h[4]


def test_keys_of_normalised_runs_equal_pandas_hashing():
    frame = pd.DataFrame([{"parameters": 7e9, "hardware": "A100", "device_hours": 1e5, "country": "FR", "year": 2023},
                          {"parameters": 1e9, "year": 2024, "task": "vision"},
                          {"training_flops": 1e23, "region": "aws:us-east-1", "provider": "aws", "year": 2022}] * 30)
    frame["run_id"] = [f"r{i}" for i in range(len(frame))]
    runs = schema.normalise_runs(frame)
    want = reference_keys(runs, KEY_COLUMNS)
    np.testing.assert_array_equal(streams.row_keys(runs, KEY_COLUMNS), want)
    arrays = {c: runs[c].to_numpy() for c in runs.columns}
    np.testing.assert_array_equal(streams.row_keys(arrays, KEY_COLUMNS), want)
    for i in (0, 1, 2):
        alone = schema.normalise_runs(frame.iloc[[i]].reset_index(drop=True))
        assert streams.row_keys(alone, KEY_COLUMNS)[0] == want[i]


def test_string_hash_is_pandas_hash_array_for_every_tail_length_and_script():
    """The pure-Python SipHash-2-4 that keys one run without pandas gives pandas' own hash of each string."""
    rng = np.random.default_rng(20261204)
    alphabet = [chr(c) for c in (*range(32, 127), 0xE9, 0xFC, 0x65E5, 0x672C, 0x2713, 0x1F642)]
    texts = ["".join(rng.choice(alphabet, size=n)) for n in range(0, 41) for _ in range(5)]  # 1-4 bytes a character
    want = pd.util.hash_array(np.array(texts, dtype=object))
    got = np.array([streams._string_hash(t) for t in texts], dtype=np.uint64)
    assert np.array_equal(got, want)
