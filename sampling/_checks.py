"""Private argument checks shared by the public functions (all raise SamplingError)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sampling.errors import SamplingError


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def level_alpha(level: float) -> float:
    """Return ``alpha = 1 - level`` after checking ``0 < level < 1``."""
    try:
        lv = float(level)
    except (TypeError, ValueError):
        raise SamplingError(
            f"level={_show(level)} is not a number; allowed: 0 < level < 1"
        ) from None
    if not (0.0 < lv < 1.0):
        raise SamplingError(f"level={_show(level)} is out of range; allowed: 0 < level < 1")
    return 1.0 - lv


def as_float_array(name: str, value: Any, *, ndim: int | None = None) -> np.ndarray:
    """Convert to float64, refusing strings, objects and wrong dimensions."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise SamplingError(f"{name}={_show(value)} is not numeric; allowed: numbers") from None
    if ndim is not None and arr.ndim != ndim:
        raise SamplingError(f"{name} has {arr.ndim} dimension(s); allowed: exactly {ndim}")
    return arr


def as_count_array(name: str, value: Any, *, minimum: int = 0) -> np.ndarray:
    """Convert to int64, requiring whole numbers ``>= minimum``."""
    arr = as_float_array(name, value)
    if arr.size and not np.all(np.isfinite(arr)):
        raise SamplingError(f"{name}={_show(value)} contains NaN or inf; allowed: whole numbers")
    if arr.size and np.any(arr != np.round(arr)):
        raise SamplingError(f"{name}={_show(value)} is not whole; allowed: whole numbers")
    if arr.size and arr.min() < minimum:
        raise SamplingError(
            f"{name} has value {_show(arr.min().item())}; allowed: whole numbers >= {minimum}"
        )
    return arr.astype(np.int64)


def in_range(
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> np.ndarray:
    """Float array with every element inside the stated interval."""
    arr = as_float_array(name, value)
    lo_ok = arr > low if low_open else arr >= low
    hi_ok = arr < high if high_open else arr <= high
    bad = ~(lo_ok & hi_ok)  # NaN fails both comparisons, so it is bad too
    if arr.size and bad.any():
        shown = arr[bad].flat[0].item()
        lb = "(" if low_open else "["
        hb = ")" if high_open else "]"
        hs = "inf" if math.isinf(high) else f"{high:g}"
        raise SamplingError(f"{name} has value {_show(shown)}; allowed range {lb}{low:g}, {hs}{hb}")
    return arr


def labels(name: str, value: Any) -> np.ndarray:
    """One-dimensional label array: integers or strings (not floats, not mixed)."""
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise SamplingError(f"{name} has {arr.ndim} dimension(s); allowed: exactly 1")
    if arr.dtype.kind == "O":
        if all(isinstance(v, str) for v in arr.tolist()):
            arr = arr.astype(str)
        elif all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in arr.tolist()
        ):
            arr = arr.astype(np.int64)
        else:
            raise SamplingError(
                f"{name} mixes types or holds non-labels; allowed: all integers or all strings"
            )
    if arr.size and arr.dtype.kind not in "iuU":
        raise SamplingError(
            f"{name} has dtype {arr.dtype}; allowed: integer or string labels (not float, bool)"
        )
    return arr


def factorize(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique labels and the code of every element (fast path for small int ranges)."""
    if arr.dtype.kind in "iu" and arr.size:
        lo = int(arr.min())
        hi = int(arr.max())
        span = hi - lo + 1
        if span <= 4 * arr.size + 1024:
            shifted = (arr - lo).astype(np.intp)
            present = np.bincount(shifted, minlength=span) > 0
            lookup = np.cumsum(present) - 1
            uniq = (np.flatnonzero(present) + lo).astype(arr.dtype)
            return uniq, lookup[shifted]
    uniq, inv = np.unique(arr, return_inverse=True)
    return uniq, inv.reshape(-1)


def same_length(**arrays: np.ndarray) -> int:
    sizes = {k: len(v) for k, v in arrays.items()}
    if len(set(sizes.values())) > 1:
        shown = ", ".join(f"{k}={v}" for k, v in sizes.items())
        raise SamplingError(f"arrays differ in length ({shown}); allowed: equal lengths")
    return next(iter(sizes.values())) if sizes else 0


def _as_int_view(arr: np.ndarray, itemsize: int) -> np.ndarray | None:
    """Reinterpret short fixed-width strings as unsigned integers (same bytes, same equality)."""
    if arr.dtype.kind != "U" or itemsize not in (4, 8):
        return None
    conv = np.ascontiguousarray(arr.astype(f"<U{itemsize // 4}", copy=False))
    return conv.view(np.uint32 if itemsize == 4 else np.uint64)


def fast_view(arr: np.ndarray) -> np.ndarray:
    """Integers as they are; strings of one or two characters as 32/64-bit integers."""
    if arr.dtype.kind == "U" and arr.dtype.itemsize in (4, 8):
        view = _as_int_view(arr, arr.dtype.itemsize)
        if view is not None:
            return view
    return arr


def encode(name: str, arr: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, bool]:
    """Index of every element of `arr` in the sorted unique labels `known`, -1 if absent.

    Returns ``(codes, complete)``; ``complete`` is True when no code is -1. The codes are an
    integer array (int8 when `known` is a handful of strings).

    Fast paths (this is the hot loop of the estimators): integer labels with a small span use
    a lookup table; strings of one or two characters are compared as 32/64-bit integers, by
    equality when there are few labels (client kinds), else by binary search.
    """
    if arr.size == 0:
        return np.zeros(0, dtype=np.intp), True
    if known.size == 0:
        return np.full(arr.size, -1, dtype=np.intp), False
    if (arr.dtype.kind == "U") != (known.dtype.kind == "U"):
        raise SamplingError(
            f"{name} labels are strings in one place and integers in the other; allowed: the "
            "same kind in the data and in stratum_population"
        )
    if arr.dtype.kind in "iu":
        lo = int(known[0])
        hi = int(known[-1])
        span = hi - lo + 1
        if span <= 4 * known.size + 1024:
            table = np.full(span, -1, dtype=np.intp)
            table[(known - lo).astype(np.intp)] = np.arange(known.size)
            if int(arr.min()) >= lo and int(arr.max()) <= hi:
                codes = table[arr - lo] if lo else table[arr]
                # with no gaps among the known labels every code is valid
                return codes, bool(span == known.size or codes.min() >= 0)
            inside = (arr >= lo) & (arr <= hi)
            return np.where(inside, table[np.clip(arr - lo, 0, span - 1)], -1), False
    if arr.dtype.kind == "U":
        width = max(arr.dtype.itemsize, known.dtype.itemsize)
        width = 4 if width <= 4 else (8 if width <= 8 else width)
        a_int = _as_int_view(arr, width)
        if a_int is not None:
            k_int = _as_int_view(known, width)
            if known.size <= 8:
                # few labels (client kinds): one integer comparison per label, then a check
                matched = a_int == k_int[0]
                codes = np.zeros(arr.size, dtype=np.int8)
                for j in range(1, known.size):
                    eq = a_int == k_int[j]
                    matched |= eq
                    codes = codes + eq.view(np.int8) * np.int8(j) if j > 1 else eq.view(np.int8)
                if matched.all():
                    return codes, True
                return np.where(matched, codes, -1).astype(np.intp), False
            perm = np.argsort(k_int)
            ks = k_int[perm]
            pos = np.minimum(np.searchsorted(ks, a_int), ks.size - 1)
            codes = np.where(ks[pos] == a_int, perm[pos], -1)
            return codes, bool(codes.min() >= 0)
    pos = np.minimum(np.searchsorted(known, arr), known.size - 1)
    codes = np.where(known[pos] == arr, pos, -1)
    return codes, bool(codes.min() >= 0)


def records(obj, names: tuple[str, ...]) -> np.ndarray:
    """Structured array of the named array attributes of a result dataclass."""
    cols = [np.asarray(getattr(obj, n)) for n in names]
    dtype = []
    for n, c in zip(names, cols, strict=True):
        dtype.append((n, c.dtype if c.dtype.kind != "O" else np.str_))
    out = np.empty(cols[0].shape[0], dtype=dtype)
    for n, c in zip(names, cols, strict=True):
        out[n] = c
    return out


def scale_bounds(scale) -> tuple[float, float]:
    """``(low, high)`` of a score scale after checking finite ``low < high``."""
    try:
        low, high = (float(v) for v in scale)
    except (TypeError, ValueError):
        raise SamplingError(
            f"scale={scale!r}; allowed: a pair (low, high) with low < high"
        ) from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise SamplingError(f"scale={scale!r}; allowed: finite low < high")
    return low, high
