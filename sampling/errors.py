"""Errors raised by :mod:`sampling`.

Every bad argument raises :class:`SamplingError` (a :class:`ValueError`) whose message names
the offending value and the allowed range, never an ``AssertionError`` (cf. samplics'
``SamplicsError`` base class, with the defect of bare ``assert`` statements removed).
"""

from __future__ import annotations

__all__ = ["SamplingError"]


class SamplingError(ValueError):
    """A bad argument or an impossible request in :mod:`sampling`.

    Subclasses :class:`ValueError`, so callers that already catch ``ValueError`` keep working.
    The message always names the value received and what is allowed.
    """
