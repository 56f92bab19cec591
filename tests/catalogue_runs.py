"""Catalogues of test runs for the block-by-block and dask tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

BASE = [
    {"parameters": 7e9, "training_tokens": 2e12, "hardware": "A100-80GB", "device_hours": 184320, "country": "US",
     "year": 2023},
    {"parameters": 70e9, "training_tokens": 1e12, "hardware": "H100", "year": 2024, "region": "aws:us-east-1"},
    {"parameters": 1e9, "year": 2024, "task": "vision"},
    {"parameters": 3e8, "hardware": "V100", "device_hours": 5000, "country": "FR", "year": 2020},
]


def catalogue(n: int, seed: int = 7) -> pd.DataFrame:
    """``n`` runs of every tier, sizes varied; a third without a run_id (numbered by position)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        run = dict(BASE[i % len(BASE)])
        size = float(np.exp(rng.normal(0, 0.5)))
        run["parameters"] *= size
        if "device_hours" in run:  # the hours the bigger (smaller) model needs, +-20%: a utilisation the chips allow
            run["device_hours"] *= size * float(np.exp(rng.normal(0, 0.2)))
        run["run_id"] = "" if i % 3 == 0 else f"r{i}"
        rows.append(run)
    return pd.DataFrame(rows)
