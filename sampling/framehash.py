"""SHA-256 of a sampling frame in a canonical, documented text form.

Anyone holding the frame's stratum labels and keys can recompute the hash with a few lines of
Python (see :func:`frame_hash`), which is what makes a draw auditable.
"""

from __future__ import annotations

import hashlib

import numpy as np

from sampling import _checks
from sampling.errors import SamplingError

__all__ = ["FRAME_HASH_HEADER", "frame_hash"]

FRAME_HASH_HEADER = "sampling-frame-v1\n"


def _values(name: str, col: np.ndarray) -> list:
    """Python values of a column (ints or strs), refusing strings with TAB, CR or LF."""
    values = col.tolist()
    if col.dtype.kind == "U":
        joined = "".join(values)
        if "\t" in joined or "\n" in joined or "\r" in joined:
            raise SamplingError(f"{name} holds a tab or line break; allowed: labels without them")
    return values


def frame_hash(*columns) -> str:
    r"""SHA-256 of a frame in canonical form, hex digest.

    Parameters
    ----------
    *columns : array_like
        One or more equal-length columns of integer or string labels; for a sampling frame,
        ``frame_hash(stratum, key)``.

    Returns
    -------
    str
        64 lowercase hex digits.

    Notes
    -----
    Canonical form (version 1), exactly:

    1. The rows are sorted ascending by the first column, then the second, and so on; integer
       columns numerically, string columns by Unicode code point (Python ``sorted`` order).
    2. Each value is written as text: integers in decimal without sign for non-negative numbers,
       with ``-`` for negative ones and no leading zeros; strings as they are. Strings must not
       contain TAB, CR or LF.
    3. The text is the header line ``sampling-frame-v1`` followed by one line per row, the
       values joined by TAB, every line ending in LF (``\n``), encoded in UTF-8.
    4. The digest is SHA-256 of those bytes.

    Equivalent Python::

        rows = sorted(zip(stratum, key))
        text = "sampling-frame-v1\n" + "".join(f"{s}\t{k}\n" for s, k in rows)
        hashlib.sha256(text.encode("utf-8")).hexdigest()

    Duplicate rows are kept (they change the hash).

    References
    ----------
    .. [1] NIST (2015), FIPS PUB 180-4, *Secure Hash Standard (SHS)* (SHA-256).

    Examples
    --------
    >>> frame_hash([1, 1, 2], [30, 10, 20]) == frame_hash([2, 1, 1], [20, 10, 30])
    True
    """
    if not columns:
        raise SamplingError("frame_hash() got no columns; allowed: one or more columns")
    cols = [_checks.labels(f"column {i}", c) for i, c in enumerate(columns)]
    _checks.same_length(**{f"column {i}": c for i, c in enumerate(cols)})
    order = np.lexsort(tuple(reversed(cols))) if cols[0].size else np.arange(0)
    vals = [_values(f"column {i}", c[order]) for i, c in enumerate(cols)]
    if len(vals) == 1:
        body = "".join([f"{a}\n" for a in vals[0]])
    elif len(vals) == 2:
        body = "".join([f"{a}\t{b}\n" for a, b in zip(vals[0], vals[1], strict=True)])
    else:
        body = "".join(["\t".join(map(str, row)) + "\n" for row in zip(*vals, strict=True)])
    payload = FRAME_HASH_HEADER + body
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
