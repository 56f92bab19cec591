"""Accelerators (``priors/accelerators.csv``) and the hardware published runs of a year used.

Name resolution through aliases, TDP and dense peaks; hardware use by year in
``priors/hardware_usage_by_year.csv``.

Units: TDP in W, peaks in FLOP/s (the CSV stores TFLOP/s).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataError, InputError
from ._common import _as_year, _did_you_mean, _kahan_sum, _norm, _norm_hw, _number, _read_records, _split_list, _year

if TYPE_CHECKING:
    import pandas as pd

PRECISIONS = ("fp32", "tf32", "bf16", "fp16", "fp8")

_PRECISION_ALIASES = {
    "fp32": "fp32", "float32": "fp32", "float": "fp32", "single": "fp32", "f32": "fp32",
    "tf32": "tf32", "tensorfloat32": "tf32",
    "bf16": "bf16", "bfloat16": "bf16",
    "fp16": "fp16", "float16": "fp16", "half": "fp16", "f16": "fp16",
    "fp8": "fp8", "float8": "fp8", "e4m3": "fp8", "e5m2": "fp8",
}


def _build_hardware_index(rows: dict[str, dict]) -> dict[str, str]:
    """Map every normalised id, display name and alias to its hardware_id.

    Raises DataError when one spelling points at two rows.
    """
    index: dict[str, str] = {}
    for hid, row in rows.items():
        names = [str(hid), str(row["display_name"])] + _split_list(row["aliases"])
        for name in names:
            key = _norm_hw(name)
            if not key:
                continue
            if index.get(key, hid) != hid:
                raise DataError(
                    f"accelerators.csv: spelling {name!r} (normalised {key!r}) is an alias of both "
                    f"{index[key]!r} and {hid!r}"
                )
            index[key] = str(hid)
    return index


#: Words in brackets that name a variant of a part (form factor, memory, power): a name whose bracketed
#: text has one is not resolved by dropping the brackets ("H800 (PCIe)" is not the SXM5 H800).
_VARIANT_WORDS = re.compile(r"pcie|sxm|nvl|oam|hgx|dgx|laptop|mobile|notebook|max-?q|hbm|\d+\s*(gb|w)\b", re.I)


def _lookup_hardware(name: str, index: dict[str, str]) -> str | None:
    """Resolve ``name`` in ``index`` (see :func:`resolve_hardware`); None when unknown."""
    bracketed = " ".join(re.findall(r"\((.*?)\)", name))
    candidates = [name] if _VARIANT_WORDS.search(bracketed) else [name, re.sub(r"\(.*?\)", " ", name)]
    for cand in candidates:
        key = _norm_hw(cand)
        if key in index:
            return index[key]
        if re.fullmatch(r"v\d+[a-z]*", key) and "tpu" + key in index:  # "v3" -> TPU v3
            return index["tpu" + key]
        # TPU slice / pod names: "v3-8", "TPU v4-512", "v5litepod-16", "tpu7x-64"
        stripped = re.sub(r"[-_\s]+\d+\s*$", "", cand.strip())
        if stripped != cand.strip():
            skey = _norm_hw(stripped)
            if re.fullmatch(r"(tpu)?v?\d+[a-z]*", skey):
                for k in (skey, "tpu" + skey):
                    if k in index:
                        return index[k]
    return None


_NUMERIC = ("tdp_w", "tdp_log_sd", "memory_gb") + tuple(f"peak_{p}_tflops" for p in PRECISIONS)


@functools.lru_cache(maxsize=1)
def accelerator_rows() -> Mapping[str, Mapping[str, Any]]:
    """Return the accelerator table as ``{hardware_id: {column: value}}``, in file order (read-only views).

    Numbers are floats (NaN when empty; ``release_year`` an int), missing text None. Read
    without pandas; :func:`accelerators` is the same table as a DataFrame (a copy to edit).
    """
    return MappingProxyType({hid: MappingProxyType(row) for hid, row in _accelerator_rows().items()})


@functools.lru_cache(maxsize=1)
def _accelerator_rows() -> dict[str, dict]:
    """:func:`accelerator_rows` as the cached dicts themselves (never handed out)."""
    rows: dict[str, dict] = {}
    for rec in _read_records("accelerators.csv"):
        hid = str(rec["hardware_id"])
        if hid in rows:
            raise DataError(f"accelerators.csv: duplicate hardware_id {[hid]}")
        row = {k: v for k, v in rec.items() if k != "hardware_id"}
        for col in _NUMERIC:
            row[col] = _number(row[col], "accelerators.csv", col)
        row["release_year"] = int(_number(row["release_year"], "accelerators.csv", "release_year"))
        rows[hid] = row
    return rows


@functools.lru_cache(maxsize=1)
def _hardware_index() -> dict[str, str]:
    return _build_hardware_index(_accelerator_rows())


def accelerators() -> pd.DataFrame:
    """Accelerator table (``priors/accelerators.csv``) indexed by canonical ``hardware_id``.

    Returns
    -------
    pandas.DataFrame
        One row per device as users count devices (TPU chips, one GK210 of a K80 board,
        one MI250X module, ...). ``tdp_w`` in W; ``peak_*_tflops`` dense TFLOP/s (no
        sparsity; NaN when the chip has no such mode); ``tdp_basis`` ``published`` or
        ``estimated`` with ``tdp_log_sd`` the log-scale sd of an estimate. A copy: edit freely.
    """
    import pandas as pd

    table = pd.DataFrame.from_dict(_accelerator_rows(), orient="index")
    table.index.name = "hardware_id"
    return table


def resolve_hardware(name: str) -> str:
    """Canonical ``hardware_id`` for an accelerator name.

    Parameters
    ----------
    name
        Any spelling: ``"A100-80GB"``, ``"NVIDIA A100 SXM4 80GB"``, ``"TPU v3"``,
        ``"TPUv3"``, ``"v3-8"``, ``"H100"``, Epoch AI's ``"NVIDIA Tesla V100 DGXS 32 GB"``...
        Matching ignores case, vendor words (NVIDIA, Tesla, GeForce, AMD, Instinct, Google,
        Cloud), spaces, dashes, underscores and parentheses. Generic names resolve to the
        variant most used for training (``"A100"`` -> ``A100-SXM4-40GB``).

    Returns
    -------
    str
        The ``hardware_id`` (index of :func:`accelerators`).

    Raises
    ------
    InputError
        ``field="hardware"`` when the name is unknown, with up to three suggestions.
    """
    if not isinstance(name, str) or not name.strip():
        raise InputError("hardware", name, "give an accelerator name such as 'A100-80GB' or 'TPU v4'")
    index = _hardware_index()
    hid = _lookup_hardware(name, index)
    if hid is not None:
        return hid
    hint = _did_you_mean(_norm_hw(name), index, label=_describe_part)
    fix = "use one of the names in `carbon-bayes data --hardware`" + hint + _class_warning(name, hint)
    raise InputError("hardware", name, fix)


# Radeon laptop parts end their number in "M" ("RX 6800M", "RX 7600M XT"); checked before _CONSUMER, which matches too
_LAPTOP = re.compile(r"laptop|mobile|max-?q|notebook|\bmx\s?\d{3}|\brx\s?\d{4}m(?:\s?xt)?\b", re.I)
_CONSUMER = re.compile(r"geforce|radeon|\b(rtx|gtx)\s?\d{4}|\brx\s?\d{4}", re.I)
_WORKSTATION = re.compile(r"quadro|\brtx\s?a\d{4}|ada generation", re.I)


def _part_class(hid: str) -> str:
    """Class of a table row as a user sees it: datacenter, workstation, consumer or laptop."""
    row = accelerator_rows()[hid]
    return "laptop" if "laptop" in str(row["display_name"]).lower() else str(row["segment"])


def _describe_part(hid: str) -> str:
    """Name ``hid`` with its class and power, e.g. "H200-SXM (datacenter gpu, 700 W)"."""
    row = accelerator_rows()[hid]
    return f"{hid} ({_part_class(hid)} {row['kind']}, {float(row['tdp_w']):.0f} W)"


def _guess_class(name: str) -> str | None:
    """Guess the class a name reads as (laptop, consumer, workstation); None when it does not say."""
    for cls, pattern in (("laptop", _LAPTOP), ("workstation", _WORKSTATION), ("consumer", _CONSUMER)):
        if pattern.search(name):
            return cls
    return None


def _class_warning(name: str, hint: str) -> str:
    """Say what the suggestions in ``hint`` are; warn when one is of another class than ``name`` reads as."""
    if not hint:
        return ""
    guessed = _guess_class(name)
    others = [c for c in ("datacenter", "workstation", "consumer", "laptop") if c != guessed and f"({c} " in hint]
    if guessed is None or not others:
        return " (class and power of each suggestion in brackets: a different part changes the estimate)"
    return (f" Careful: {name!r} reads as a {guessed} part, and some suggestions are {' or '.join(others)} parts "
            "of another power; if your chip is not in the table, leave the hardware empty rather than pick a part "
            "of another class (the estimate then uses the mix of chips published runs of that year used)")


def _resolve_precision(precision: str) -> str:
    key = _norm(precision)
    if key not in _PRECISION_ALIASES:
        raise InputError("precision", precision, f"use one of {', '.join(PRECISIONS)}")
    return _PRECISION_ALIASES[key]


def peak_flops(hardware_id: str, precision: str | None = None) -> float:
    """Dense peak throughput of one device.

    Parameters
    ----------
    hardware_id
        Canonical id or any spelling accepted by :func:`resolve_hardware`.
    precision
        ``fp32``, ``tf32``, ``bf16``, ``fp16`` or ``fp8`` (``bfloat16``, ``half``... accepted).
        None (or "") uses the chip's ``default_precision`` (what training on it typically used).

    Returns
    -------
    float
        Peak FLOP/s (TFLOP/s x 1e12), without sparsity.

    Raises
    ------
    InputError
        ``field="precision"`` when the precision is unknown or the chip has no dense peak
        for it; ``field="hardware"`` when the chip is unknown.
    """
    hid = resolve_hardware(hardware_id)
    row = accelerator_rows()[hid]
    prec = str(row["default_precision"]) if not precision else _resolve_precision(precision)
    value = float(row[f"peak_{prec}_tflops"])
    if not math.isfinite(value):
        available = [p for p in PRECISIONS if math.isfinite(float(row[f"peak_{p}_tflops"]))]
        raise InputError(
            "precision", precision,
            f"{hid} has no published dense {prec} peak; use one of {', '.join(available)} "
            f"(default {row['default_precision']})",
        )
    return value * 1e12


@functools.lru_cache(maxsize=1)
def _usage_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, hardware_id and n_models of ``priors/hardware_usage_by_year.csv`` as arrays."""
    rows = _read_records("hardware_usage_by_year.csv")
    return (np.array([_year(r["year"], "hardware_usage_by_year.csv") for r in rows], dtype=int),
            np.array([r["hardware_id"] for r in rows], dtype=object),
            np.array([_number(r["n_models"], "hardware_usage_by_year.csv", "n_models") for r in rows], dtype=float))


def hardware_mix(year: int, smoothing_years: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Tell what hardware the notable training runs of a year used (Epoch AI data).

    Parameters
    ----------
    year
        Publication year. Years beyond the table use its last (or first) year.
    smoothing_years
        Pool the years within +- this many years of ``year`` (0 = that year only).

    Returns
    -------
    tuple of (numpy.ndarray of str, numpy.ndarray of float)
        Canonical hardware ids and their probabilities (sum 1), most used first.
    """
    ids, probs = _hardware_mix(_as_year(year), max(int(smoothing_years), 0))
    return ids.copy(), probs.copy()


@functools.lru_cache(maxsize=128)
def _hardware_mix(y: int, s: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`hardware_mix` of a checked year (cached: every prediction of a run without hardware reads it)."""
    years, ids, n_models = _usage_table()
    lo, hi = int(years.min()), int(years.max())
    centre = min(max(y, lo), hi)
    while True:
        sel = (years >= centre - s) & (years <= centre + s)
        if sel.any() or s > hi - lo:
            break
        s += 1
    by_id: dict[str, list[float]] = {}
    for hid, n in zip(ids[sel], n_models[sel], strict=True):
        by_id.setdefault(str(hid), []).append(float(n))
    totals = [(hid, _kahan_sum(by_id[hid])) for hid in sorted(by_id)]  # as a groupby sum: ids sorted
    totals = sorted([t for t in totals if t[1] > 0], key=lambda t: -t[1])  # most used first, ties by id (stable)
    probs = np.array([t[1] for t in totals], dtype=float)
    return np.array([t[0] for t in totals], dtype=str), probs / probs.sum()
