"""AAPOR outcome rates (response, cooperation, refusal, contact) from final dispositions.

Formulas from the AAPOR *Standard Definitions*, 9th edition (2016), pp. 61-64, for telephone
surveys. Disposition codes roll up into the groups

======  =====================================================  ===========================
group   meaning                                                codes accepted
======  =====================================================  ===========================
I       complete interview                                     1.1
P       partial interview                                      1.2
R       refusal and break-off                                  2.11, 2.12
NC      non-contact (respondent never available, known         2.21, 2.22
        respondent's answering machine)
O       other eligible non-interview (unable, language)        2.32, 2.33
UH      unknown if eligible household/number (not attempted:   3.11, 3.12, 3.13, 3.14,
        released but never dialled; always busy, no answer,    3.16
        answering machine of unknown owner, technical phone
        problems)
UO      other unknown eligibility                              3.90
NE      not eligible (fax/data line, non-working,              4.20, 4.31, 4.32, 4.41, 4.70
        disconnected, number changed, screened out)
======  =====================================================  ===========================

References
----------
.. [1] The American Association for Public Opinion Research (2016), *Standard Definitions:
   Final Dispositions of Case Codes and Outcome Rates for Surveys*, 9th edn., AAPOR.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from sampling import _checks
from sampling.errors import SamplingError

__all__ = ["CODE_GROUP", "GROUPS", "AaporRates", "aapor_rates"]

GROUPS = ("I", "P", "R", "NC", "O", "UH", "UO", "NE")

CODE_GROUP: dict[str, str] = {
    "1.1": "I",
    "1.2": "P",
    "2.11": "R",
    "2.12": "R",
    "2.21": "NC",
    "2.22": "NC",
    "2.32": "O",
    "2.33": "O",
    "3.11": "UH",
    "3.12": "UH",
    "3.13": "UH",
    "3.14": "UH",
    "3.16": "UH",
    "3.90": "UO",
    "4.20": "NE",
    "4.31": "NE",
    "4.32": "NE",
    "4.41": "NE",
    "4.70": "NE",
}


@dataclass(frozen=True)
class AaporRates:
    """Result of :func:`aapor_rates`.

    Every rate is a float for scalar counts, or an array of the counts' shape (one per unit);
    NaN where its denominator is zero.

    Attributes
    ----------
    I, P, R, NC, O, UH, UO, NE : float or ndarray
        The group counts used.
    e : float or ndarray
        Estimated (or given) share of unknown-eligibility cases that are eligible.
    e_estimated : bool
        True when ``e`` was estimated from the resolved cases.
    rr1, rr2, rr3, rr4, rr5, rr6 : float or ndarray
        Response rates.
    coop1, coop2, coop3, coop4 : float or ndarray
        Cooperation rates.
    ref1, ref2, ref3 : float or ndarray
        Refusal rates.
    con1, con2, con3 : float or ndarray
        Contact rates.
    not_attempted : float or ndarray
        Cases counted under code 3.11 (released, never dialled; part of UH). In interim rates
        they are still in the field, not failed contacts.
    not_attempted_share : float or ndarray
        ``not_attempted`` over all cases counted (NaN for none).
    """

    I: object  # noqa: E741 (AAPOR's own name)
    P: object
    R: object
    NC: object
    O: object  # noqa: E741
    UH: object
    UO: object
    NE: object
    e: object
    e_estimated: bool
    rr1: object
    rr2: object
    rr3: object
    rr4: object
    rr5: object
    rr6: object
    coop1: object
    coop2: object
    coop3: object
    coop4: object
    ref1: object
    ref2: object
    ref3: object
    con1: object
    con2: object
    con3: object
    not_attempted: object = 0.0
    not_attempted_share: object = float("nan")


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=np.asarray(den) > 0)
    return out


def aapor_rates(counts: Mapping, e=None) -> AaporRates:
    r"""AAPOR RR1-RR6, COOP1-4, REF1-3 and CON1-3 from disposition counts.

    Parameters
    ----------
    counts : mapping
        Counts keyed by AAPOR codes (``"1.1"``, ``"2.11"``, ... see :data:`CODE_GROUP`) and/or
        by group (``"I"``, ``"P"``, ``"R"``, ``"NC"``, ``"O"``, ``"UH"``, ``"UO"``, ``"NE"``);
        keys that map to the same group are added. Values are whole numbers ``>= 0``: scalars,
        or equal-shape arrays (one entry per unit) for a vectorised computation. Missing groups
        count 0.
    e : float or array_like, optional
        Share of unknown-eligibility cases (UH, UO) assumed eligible, in [0, 1]. By default it
        is estimated from the resolved cases, ``e = (I+P+R+NC+O) / (I+P+R+NC+O+NE)``
        (the proportional allocation AAPOR describes), NaN when nothing is resolved.

    Returns
    -------
    AaporRates
        Frozen dataclass with the counts, ``e`` and every rate.

    Notes
    -----
    With ``U = UH + UO``:

    .. math::

        RR1 &= I / ((I+P) + (R+NC+O) + U) &
        RR2 &= (I+P) / ((I+P) + (R+NC+O) + U) \\
        RR3 &= I / ((I+P) + (R+NC+O) + eU) &
        RR4 &= (I+P) / ((I+P) + (R+NC+O) + eU) \\
        RR5 &= I / ((I+P) + (R+NC+O)) &
        RR6 &= (I+P) / ((I+P) + (R+NC+O)) \\
        COOP1 &= I / ((I+P) + R + O) &
        COOP2 &= (I+P) / ((I+P) + R + O) \\
        COOP3 &= I / ((I+P) + R) &
        COOP4 &= (I+P) / ((I+P) + R) \\
        REF1 &= R / ((I+P) + (R+NC+O) + U) &
        REF2 &= R / ((I+P) + (R+NC+O) + eU) \\
        REF3 &= R / ((I+P) + (R+NC+O)) & & \\
        CON1 &= ((I+P)+R+O) / ((I+P)+R+O+NC+U) &
        CON2 &= ((I+P)+R+O) / ((I+P)+R+O+NC+eU) \\
        CON3 &= ((I+P)+R+O) / ((I+P)+R+O+NC) & &

    (AAPOR 2016, pp. 61-64). A zero denominator gives NaN.

    References
    ----------
    .. [1] AAPOR (2016), *Standard Definitions*, 9th edn., pp. 61-64.

    Examples
    --------
    >>> r = aapor_rates({"1.1": 40, "1.2": 10, "2.11": 20, "2.21": 10, "2.32": 5,
    ...                  "3.13": 40, "3.90": 10, "4.31": 15})
    >>> round(r.e, 4), round(r.rr3, 4)
    (0.85, 0.3137)
    """
    if not isinstance(counts, Mapping):
        raise SamplingError(
            f"counts of type {type(counts).__name__}; allowed: a mapping of AAPOR codes or groups"
        )
    totals: dict[str, np.ndarray] = {}
    never = 0
    shape: tuple[int, ...] | None = None
    for key, value in counts.items():
        group = key if key in GROUPS else CODE_GROUP.get(key)
        if group is None:
            raise SamplingError(
                f"counts key {key!r} is not an AAPOR code or group; allowed: "
                f"{', '.join(CODE_GROUP)} or {', '.join(GROUPS)}"
            )
        arr = _checks.as_count_array(f"counts[{key!r}]", value)
        if shape is None:
            shape = arr.shape
        elif arr.shape != shape:
            raise SamplingError(
                f"counts[{key!r}] has shape {arr.shape}; allowed: the shape of the other "
                f"counts {shape}"
            )
        totals[group] = totals.get(group, 0) + arr
        if key == "3.11":
            never = never + arr
    shape = shape if shape is not None else ()
    c = {
        gname: np.asarray(totals.get(gname, np.zeros(shape, np.int64)), np.float64)
        for gname in GROUPS
    }
    i_, p_, r_, nc, o_, uh, uo, ne = (c[gname] for gname in GROUPS)
    resolved = i_ + p_ + r_ + nc + o_
    if e is None:
        e_arr = _div(resolved, resolved + ne)
        estimated = True
    else:
        e_arr = _checks.in_range("e", e, 0.0, 1.0)
        estimated = False
        try:
            np.broadcast_shapes(e_arr.shape, shape)
        except ValueError:
            raise SamplingError(
                f"e has shape {e_arr.shape}; allowed: a scalar or the counts' shape {shape}"
            ) from None
    u = uh + uo
    ip = i_ + p_
    elig = ip + r_ + nc + o_
    contacted = ip + r_ + o_
    eu = e_arr * u
    rates = {
        "rr1": _div(i_, elig + u),
        "rr2": _div(ip, elig + u),
        "rr3": _div(i_, elig + eu),
        "rr4": _div(ip, elig + eu),
        "rr5": _div(i_, elig),
        "rr6": _div(ip, elig),
        "coop1": _div(i_, ip + r_ + o_),
        "coop2": _div(ip, ip + r_ + o_),
        "coop3": _div(i_, ip + r_),
        "coop4": _div(ip, ip + r_),
        "ref1": _div(r_, elig + u),
        "ref2": _div(r_, elig + eu),
        "ref3": _div(r_, elig),
        "con1": _div(contacted, contacted + nc + u),
        "con2": _div(contacted, contacted + nc + eu),
        "con3": _div(contacted, contacted + nc),
    }
    # where e is NaN (nothing resolved) and U == 0, e*U is NaN; AAPOR's formula has no e term then
    if np.isnan(e_arr).any():
        fix = np.isnan(e_arr) & (u == 0)
        if fix.any():
            for name, num, den in (
                ("rr3", i_, elig),
                ("rr4", ip, elig),
                ("ref2", r_, elig),
                ("con2", contacted, contacted + nc),
            ):
                rates[name] = np.where(fix, _div(num, den), rates[name])

    def out(a: np.ndarray):
        a = np.asarray(a, dtype=np.float64)
        return float(a) if a.ndim == 0 else a

    never_arr = np.asarray(never, np.float64) * np.ones(shape)
    total = sum(c[gname] for gname in GROUPS)
    return AaporRates(
        **{gname: out(c[gname]) for gname in GROUPS},
        e=out(e_arr),
        e_estimated=estimated,
        **{name: out(v) for name, v in rates.items()},
        not_attempted=out(never_arr),
        not_attempted_share=out(_div(never_arr, total)),
    )
