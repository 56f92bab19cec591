"""Counter-based random numbers: a run's draws depend on its inputs, the seed and the draw alone.

A numpy ``Generator`` hands out numbers in order, so a run's draws would depend on the runs
before it in the batch, on the chunk size and on how many runs need each node. Here every
random number is a hash of (seed, run key, node, draw index) instead (splitmix64, as in
counter-based generators such as Philox): vectorised, and the same for a run alone, in any
batch, at any position and in any chunk.

- :func:`row_keys` hashes each run's normalised inputs (not its ``run_id``), so identical rows
  get identical numbers. Sums over runs that must not share noise (the trials of a budget sweep)
  mix a replicate number into the key (:func:`replicate_keys`).
- :class:`Streams` turns keys into uniforms, standard normals (Box-Muller) and Student-t draws
  for named nodes of the chain.

Uniforms and normals are float32-grade (24-bit uniforms): normals reach 5.9 sd, beyond which the
model's Student-t draws are clipped anyway.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from carbon_bayes.frames import is_frame, is_missing, is_series

if TYPE_CHECKING:
    import pandas as pd

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_TWO_PI = np.float32(2 * np.pi)
_U24 = np.float32(2.0 ** -24)
#: Student-t draws are truncated at +-T_CLIP scale units: the exponential of an untruncated t has no
#: mean, and P(|t_4| > 5) is 0.7%.
T_CLIP = 5.0
#: Column positions of runs in a :class:`Streams` (an integer array or list).
Cols = np.ndarray | Sequence[int]


def _mix_owned(x: np.ndarray) -> np.ndarray:
    """:func:`mix` of a uint64 array the caller owns, in place."""
    x ^= x >> _S30
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    return x


def mix(x: np.ndarray) -> np.ndarray:
    """Apply the splitmix64 finaliser to a uint64 array (a bijection that scrambles every bit)."""
    x = np.asarray(x, dtype=np.uint64)
    if x.ndim == 0:
        with np.errstate(over="ignore"):  # multiplication modulo 2**64 is the point (numpy warns on scalars)
            return mix(x[None])[0]
    return _mix_owned(x.copy())  # the caller's array is left alone


@functools.lru_cache(maxsize=256)
def _text_key(text: str) -> np.uint64:
    return np.uint64(int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little"))


def row_keys(runs: pd.DataFrame | Mapping[str, np.ndarray], columns: Iterable[str]) -> np.ndarray:
    """One uint64 key per row from the values of ``columns`` (NaN and "" for unknowns).

    ``runs`` is a DataFrame or a mapping of column -> array. Numbers are hashed by value as
    float64 and text by content (pandas' ``hash_array``), so a row's key does not depend on the
    dtype its batch happened to give a column.
    """
    cols = list(columns)
    n = len(runs[cols[0]]) if cols else len(runs)
    if n == 1 and not is_frame(runs):  # one run: Python integers beat numpy's per-call cost
        return np.array([_one_row_key(runs, cols)], dtype=np.uint64)
    key = np.zeros(n, dtype=np.uint64)
    for c in cols:
        key = mix(key ^ _text_key(c) ^ column_hash(runs[c]))
    return key


_MASK = (1 << 64) - 1
_NAN_INT = int(np.array(np.nan).view(np.uint64))


def _mix_int(x: int) -> int:
    """:func:`mix` of one Python integer in [0, 2**64)."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _one_row_key(runs: Mapping[str, np.ndarray], cols: list[str]) -> int:
    """:func:`row_keys` of a single row of arrays, in Python integers (the same bits)."""
    key = 0
    for c in cols:
        column = runs[c]
        if column.dtype.kind in "fiub":
            v = float(column[0])
            bits = _NAN_INT if v != v else (0 if v == 0 else struct.unpack("<Q", struct.pack("<d", v))[0])
            h = _mix_int(bits)
        else:
            raw = column[0]
            h = int(_string_hash("" if is_missing(raw) else str(raw)))
        key = _mix_int(key ^ int(_text_key(c)) ^ h)
    return key


#: Bit patterns pandas' ``hash_array`` gives every NaN and -0.0 (it canonicalises them).
_NAN_BITS = np.array(np.nan).view(np.uint64)
_NEG_ZERO_BITS = np.array(-0.0).view(np.uint64)
#: Columns of at most this many rows hash their text one distinct value at a time (cached):
#: faster than pandas for a few runs, and the same numbers (tests/test_streams_keys.py).
_SMALL = 64


def float_hash(values: npt.ArrayLike) -> np.ndarray:
    """Hash float64 values as pandas' ``hash_array`` does, in numpy: the bits (NaN and -0.0 canonical), mixed."""
    x = np.asarray(values, dtype=float)
    bits = x.view(np.uint64).copy()
    bits[np.isnan(x)] = _NAN_BITS
    bits[bits == _NEG_ZERO_BITS] = 0
    return mix(bits)


#: The key pandas' ``hash_array`` uses by default (``pandas.core.util.hashing``).
_PANDAS_HASH_KEY = b"0123456789123456"


def _rotl(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & _MASK


def _siphash24(key: bytes, data: bytes) -> int:
    """SipHash-2-4 of ``data`` under the 16-byte ``key`` (Aumasson and Bernstein 2012), as a Python integer."""
    k0, k1 = int.from_bytes(key[:8], "little"), int.from_bytes(key[8:16], "little")
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D, k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]

    def rounds(n: int) -> None:
        v0, v1, v2, v3 = v
        for _ in range(n):
            v0 = (v0 + v1) & _MASK
            v1 = _rotl(v1, 13) ^ v0
            v0 = _rotl(v0, 32)
            v2 = (v2 + v3) & _MASK
            v3 = _rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & _MASK
            v3 = _rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & _MASK
            v1 = _rotl(v1, 17) ^ v2
            v2 = _rotl(v2, 32)
        v[:] = v0, v1, v2, v3

    end = len(data) - len(data) % 8
    for i in range(0, end, 8):
        m = int.from_bytes(data[i:i + 8], "little")
        v[3] ^= m
        rounds(2)
        v[0] ^= m
    last = ((len(data) & 0xFF) << 56) | int.from_bytes(data[end:], "little")
    v[3] ^= last
    rounds(2)
    v[0] ^= last
    v[2] ^= 0xFF
    rounds(4)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


@functools.lru_cache(maxsize=4096)
def _string_hash(text: str) -> np.uint64:
    """Hash one string as pandas' ``hash_array`` does (SipHash-2-4 of its UTF-8 under pandas' key, then :func:`mix`).

    Written out so that a single run is keyed without importing pandas; tests/test_streams_keys.py
    checks it against pandas.
    """
    return np.uint64(_mix_int(_siphash24(_PANDAS_HASH_KEY, text.encode("utf-8"))))


def column_hash(column: pd.Series | np.ndarray) -> np.ndarray:
    """Hash one column as pandas' ``hash_array`` does: numbers as float64, text by content ("" for missing)."""
    if column.dtype.kind in "fiub":
        return float_hash(np.asarray(column, dtype=float))
    if is_series(column):
        text = column.fillna("").astype(str).to_numpy(dtype=object)
    else:
        text = np.array(["" if is_missing(v) else str(v) for v in column], dtype=object)
    if len(text) > _SMALL:
        import pandas as pd

        return pd.util.hash_array(text)
    return np.array([_string_hash(t) for t in text], dtype=np.uint64)


def replicate_keys(keys: np.ndarray, replicate: npt.ArrayLike) -> np.ndarray:
    """Keys made distinct per replicate (e.g. a budget sweep's trial number).

    Replicates of one run then draw independent noise; replicate 0 keeps the key (the run's
    numbers as estimated alone).
    """
    keys = np.asarray(keys, dtype=np.uint64)
    rep = np.broadcast_to(np.asarray(replicate, dtype=np.uint64), keys.shape)
    return np.where(rep == 0, keys, mix(keys ^ mix(rep + _GOLDEN)))


def occurrence(keys: np.ndarray) -> np.ndarray:
    """0 for the first row with each key, 1 for the second, ...: replicates of identical rows."""
    import pandas as pd

    return pd.Series(np.asarray(keys, dtype=np.uint64)).groupby(np.asarray(keys)).cumcount().to_numpy(np.uint64)


class Streams:
    """Random numbers for ``n_draws`` draws of runs with the given keys.

    Parameters
    ----------
    keys
        One uint64 per run (:func:`row_keys`); equal keys give equal numbers.
    n_draws
        Draws per run; draw ``s`` of a run is the same whatever ``n_draws`` is.
    seed
        The seed: another seed gives other numbers for every run.
    spec_keys
        Keys of the nodes that describe *what* the run is rather than how one execution of it
        went (``spec=True``: a drawn size, compute residual or hardware, a new-group effect). The
        replicates of a budget sweep share these (the 80 trials of one search are one model on one
        hardware) and differ in the rest. Default: ``keys``.
    """

    def __init__(self, keys: np.ndarray, n_draws: int, seed: int, spec_keys: np.ndarray | None = None):
        self.S = int(n_draws)
        self.keys = np.asarray(keys, dtype=np.uint64)
        seed_key = mix(np.asarray([seed], dtype=np.uint64))[0]
        self._base = mix(self.keys ^ seed_key)
        self._spec_base = self._base if spec_keys is None else mix(np.asarray(spec_keys, dtype=np.uint64) ^ seed_key)
        if self._spec_base.shape != self._base.shape:
            raise ValueError(f"spec_keys has {self._spec_base.shape[0]} keys for {self.n} runs")
        self._draw = (np.arange(self.S, dtype=np.uint64) * _GOLDEN)[:, None]

    @property
    def n(self) -> int:
        """Number of runs (keys)."""
        return len(self.keys)

    def bits(self, node: str, cols: Cols, spec: bool = False) -> np.ndarray:
        """(n_draws, len(cols)) uint64 words of ``node`` for runs ``cols`` (``spec``: see the class)."""
        col_key = mix((self._spec_base if spec else self._base)[cols] ^ _text_key(node))
        return _mix_owned(col_key[None, :] + self._draw)

    # The transforms below work in place on arrays they own: the same operations in the same
    # order (and dtype) as written out, without the temporaries.
    def _uniform_pair(self, node: str, cols: Cols, spec: bool = False) -> tuple[np.ndarray, np.ndarray]:
        b = self.bits(node, cols, spec)
        u1 = (b >> np.uint64(40)).astype(np.float32)  # ((b >> 40) as float32 + 0.5) * 2^-24
        u1 += np.float32(0.5)
        u1 *= _U24
        b >>= np.uint64(16)  # (((b >> 16) & 0xFFFFFF) as float32 + 0.5) * 2^-24
        b &= np.uint64(0xFFFFFF)
        u2 = b.astype(np.float32)
        u2 += np.float32(0.5)
        u2 *= _U24
        return u1, u2

    def uniform(self, node: str, cols: Cols, spec: bool = False) -> np.ndarray:
        """Uniforms on (0, 1), float64 with 53 random bits."""
        b = self.bits(node, cols, spec)
        b >>= np.uint64(11)
        u = b.astype(np.float64)  # ((bits >> 11) + 0.5) * 2^-53
        u += 0.5
        u *= 2.0 ** -53
        return u

    def normal(self, node: str, cols: Cols, spec: bool = False) -> np.ndarray:
        """Draw standard normals (float32) by Box-Muller, from one word per number."""
        u1, u2 = self._uniform_pair(node, cols, spec)
        np.log(u1, out=u1)  # sqrt(-2 log u1) * cos(2 pi u2)
        u1 *= np.float32(-2.0)
        np.sqrt(u1, out=u1)
        u2 *= _TWO_PI
        np.cos(u2, out=u2)
        u1 *= u2
        return u1

    def chi2(self, node: str, nu: float, cols: Cols, spec: bool = False) -> np.ndarray:
        """Chi-square(nu) draws (float32).

        Exact for even ``nu`` (a sum of exponentials), else the Wilson-Hilferty cube of a normal
        (relative error of quantiles under 1% for nu >= 3).
        """
        if float(nu).is_integer() and int(nu) % 2 == 0 and 0 < nu <= 40:
            total = np.zeros((self.S, self._base[cols].shape[0]), dtype=np.float32)
            for j in range((int(nu) // 2 + 1) // 2):
                u1, u2 = self._uniform_pair(f"{node}/chi2/{j}", cols, spec)
                total -= np.log(u1) if 2 * j + 1 == int(nu) // 2 else np.log(u1 * u2)
            return np.float32(2.0) * total
        z = self.normal(f"{node}/chi2", cols, spec)
        c = np.float32(2.0 / (9.0 * nu))
        return np.float32(nu) * np.maximum(np.float32(1.0) - c + z * np.sqrt(c), np.float32(1e-3)) ** 3

    def student_t(self, node: str, nu: float, cols: Cols, spec: bool = False) -> np.ndarray:
        """Student-t(nu) draws (float32), truncated at +-:data:`T_CLIP`."""
        t = self.normal(node, cols, spec) * np.sqrt(np.float32(nu) / self.chi2(node, nu, cols, spec))
        return np.clip(t, -T_CLIP, T_CLIP)
