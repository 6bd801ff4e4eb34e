"""The provider's calling limits, as a pure function of the due cases and recent calls.

Alibaba (语音服务) and the carriers cap calls: the same callee at most
1 call a minute, 5 an hour and 20 a day, failed calls included; a caller
number carries at most 3 simultaneous calls when it is a mobile number and
15 when it is a landline; and calls are placed at a bounded rate. All are
settings (``DIAL_*``). :func:`plan` says which due cases may be dialled
now and, for each held back by a callee limit, when it may be dialled.

Windows are sliding: a call started at ``t`` counts until ``t + window``
(start inclusive, end exclusive). A call without an end is in progress.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import phonenumbers

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Limits:
    callee_per_minute: int = 1
    callee_per_hour: int = 5
    callee_per_day: int = 20
    concurrent: int = 3  # simultaneous calls on the caller number
    per_second: int = 1  # calls placed in any one second

    def callee_windows(self) -> tuple[tuple[timedelta, int], ...]:
        return (
            (MINUTE, self.callee_per_minute),
            (HOUR, self.callee_per_hour),
            (DAY, self.callee_per_day),
        )


@dataclass(frozen=True)
class Due:
    case_id: int
    callee: str  # any stable key of the number (the phone hash)


@dataclass(frozen=True)
class RecentCall:
    callee: str
    started_at: datetime
    ended_at: datetime | None = None


@dataclass
class Plan:
    dial: list[Due] = field(default_factory=list)
    # case id -> earliest time a callee limit lets it be dialled
    deferred: dict[int, datetime] = field(default_factory=dict)


def concurrent_limit(caller_number: str, *, mobile: int, landline: int, region: str = "CN") -> int:
    """The simultaneous-call limit of a caller number: ``mobile`` or ``landline``."""
    try:
        parsed = phonenumbers.parse(caller_number, region)
    except phonenumbers.NumberParseException:
        return landline if caller_number.startswith("0") else mobile
    kind = phonenumbers.number_type(parsed)
    if kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return mobile
    return landline


def _callee_free_at(starts: list[datetime], now: datetime, limits: Limits) -> datetime | None:
    """None if the callee may be called at ``now``, else the first moment it may."""
    free_at: datetime | None = None
    for window, cap in limits.callee_windows():
        inside = sorted(t for t in starts if now - window < t <= now)
        if len(inside) >= cap:
            # The oldest call that must leave the window for one more to fit.
            moment = inside[len(inside) - cap] + window
            free_at = moment if free_at is None else max(free_at, moment)
    return free_at


def plan(
    due: Sequence[Due], recent: Iterable[RecentCall], *, now: datetime, limits: Limits
) -> Plan:
    """Which of ``due`` (in priority order) may be dialled at ``now``.

    ``recent`` are the calls of the last day on this caller number (all
    outcomes). Cases held back only for want of a line or of the rate stay
    due (they are neither dialled nor deferred).
    """
    result = Plan()
    starts: dict[str, list[datetime]] = defaultdict(list)
    in_progress = 0
    this_second = 0
    for call in recent:
        starts[call.callee].append(call.started_at)
        if call.ended_at is None:
            in_progress += 1
        if now - SECOND < call.started_at <= now:
            this_second += 1
    budget = max(0, min(limits.concurrent - in_progress, limits.per_second - this_second))
    for case in due:
        free_at = _callee_free_at(starts[case.callee], now, limits)
        if free_at is not None:
            result.deferred[case.case_id] = free_at
            continue
        if len(result.dial) >= budget:
            continue
        result.dial.append(case)
        starts[case.callee].append(now)
    return result
