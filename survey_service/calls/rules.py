"""The calling rules, pure: from a case's attempts to its final outcome or its next call.

No database here: :func:`plan` takes the attempts (time, AAPOR outcome,
refusal kind, appointment time) and the :class:`Rules` of the wave for the
case's client kind, and says whether the case is final, when it is due
next and in which day-part, whether a senior agent must make that call and
whether the number goes on the do-not-call list. The queue, the IVR dialler,
the agent page and ``flask calls plan`` all use it.

The rules (defaults; each is a wave setting, see :meth:`Rules.from_settings`):

- Day-parts, each [start, end) local time: ``weekday_morning`` 09:00–12:00,
  ``weekday_afternoon`` 14:00–17:30, ``weekday_evening`` 18:30–20:30 on
  working days; ``weekend`` 10:00–17:00 on Saturdays and Sundays that are
  not working days. Working days are Monday–Friday minus ``holidays`` (no
  calls at all) plus ``workdays`` (调休: a worked Saturday or Sunday).
- Allowed day-parts: 群众 and 未注明 all four, 企业 weekday morning and
  afternoon.
- After a temporary outcome the next attempt is due at the earliest moment
  at least ``redial_gap_minutes`` after it that lies in an allowed day-part,
  among the allowed day-parts with the fewest attempts so far (each attempt
  counts for the day-part it was made in).
- The attempt reaching ``max_attempts``, if still temporary, makes the case
  final: the last eligible temporary outcome (2.x) if the case was ever
  eligible, else that attempt's outcome.
- Final at once: :data:`FINAL_AT_ONCE`. A hard refusal (2.11, the default
  kind) is final and puts the number on the do-not-call list; a soft one
  waits ``soft_refusal_wait_days`` and the case needs a senior agent from
  then on; a second refusal of either kind is final (do-not-call only when
  hard).
- A 2.21 with an appointment books the next attempt at exactly that time,
  which must lie in an allowed day-part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from survey_service import dispositions as aapor

DEFAULT_TIMEZONE = "Asia/Shanghai"
UNKNOWN_KIND = "未注明"
WORKING, WEEKEND = "working", "weekend"
SOFT, HARD = "soft", "hard"

FINAL_AT_ONCE = frozenset(
    {
        aapor.COMPLETE,
        aapor.PARTIAL,
        aapor.BREAK_OFF,
        aapor.UNABLE,
        aapor.LANGUAGE,
        aapor.FAX_DATA,
        aapor.NON_WORKING,
        aapor.DISCONNECTED,
        aapor.NUMBER_CHANGED,
        aapor.SCREENED_OUT,
    }
)
TEMPORARY = frozenset(
    {
        aapor.ALWAYS_BUSY,
        aapor.NO_ANSWER,
        aapor.MACHINE_UNKNOWN,
        aapor.RESPONDENT_MACHINE,
        aapor.TECHNICAL,
        aapor.OTHER_UNKNOWN,
        aapor.NEVER_AVAILABLE,
        aapor.REFUSAL,  # soft; a hard one is final
    }
)
ELIGIBLE_GROUPS = frozenset({"I", "P", "R", "NC", "O"})


class RuleError(ValueError):
    """Input the rules cannot use; ``attempt`` is its 1-based number, None for the case."""

    def __init__(self, message: str, attempt: int | None = None):
        super().__init__(message)
        self.message = message
        self.attempt = attempt

    def __str__(self) -> str:
        return f"第 {self.attempt} 次拨打：{self.message}" if self.attempt else self.message


@dataclass(frozen=True)
class DayPart:
    """A stretch of local time on working days or on weekend days: ``start`` <= t < ``end``."""

    name: str
    start: time
    end: time
    days: str  # WORKING or WEEKEND


DEFAULT_DAY_PARTS: tuple[DayPart, ...] = (
    DayPart("weekday_morning", time(9, 0), time(12, 0), WORKING),
    DayPart("weekday_afternoon", time(14, 0), time(17, 30), WORKING),
    DayPart("weekday_evening", time(18, 30), time(20, 30), WORKING),
    DayPart("weekend", time(10, 0), time(17, 0), WEEKEND),
)
_ALL = tuple(p.name for p in DEFAULT_DAY_PARTS)  # every day-part the wave has
DEFAULT_ALLOWED: dict[str, tuple[str, ...]] = {
    "群众": _ALL,
    UNKNOWN_KIND: _ALL,
    "企业": ("weekday_morning", "weekday_afternoon"),
}
DEFAULTS: dict[str, Any] = {
    "max_attempts": 6,
    "redial_gap_minutes": 180,
    "soft_refusal_wait_days": 7,
}
# Keys a wave's settings may hold for the rules (besides "per_kind" overrides).
KEYS = frozenset(DEFAULTS) | {"timezone", "day_parts", "allowed_day_parts", "holidays", "workdays"}


def _time(value: Any, what: str) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError as exc:
        raise RuleError(f"{what} 不是 HH:MM 时间：{value!r}") from exc


def _dates(values: Any, what: str) -> frozenset[date]:
    try:
        return frozenset(date.fromisoformat(str(v)) for v in values or ())
    except (TypeError, ValueError) as exc:
        raise RuleError(f"{what} 应为 YYYY-MM-DD 日期列表：{values!r}") from exc


@dataclass(frozen=True)
class Rules:
    """The calling rules for one client kind of one wave."""

    timezone: str = DEFAULT_TIMEZONE
    day_parts: tuple[DayPart, ...] = DEFAULT_DAY_PARTS
    allowed: tuple[str, ...] = DEFAULT_ALLOWED["群众"]
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)
    max_attempts: int = DEFAULTS["max_attempts"]
    redial_gap_minutes: int = DEFAULTS["redial_gap_minutes"]
    soft_refusal_wait_days: int = DEFAULTS["soft_refusal_wait_days"]

    @classmethod
    def from_settings(
        cls,
        settings: Mapping[str, Any] | None,
        client_kind: str | None,
        *,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> Rules:
        """The rules for ``client_kind`` (None: 未注明) from a wave's settings over the defaults.

        ``settings`` holds any of :data:`KEYS` (``day_parts`` maps a name to
        ``{"start": "09:00", "end": "12:00", "days": "working"|"weekend"}``,
        ``holidays``/``workdays`` are ISO dates) and ``per_kind``: a client
        kind to the same keys, overriding them for that kind.

        :raise RuleError: if a value cannot be used.
        """
        kind = client_kind or UNKNOWN_KIND
        merged = dict(settings or {})
        per_kind = merged.pop("per_kind", None) or {}
        merged.update(per_kind.get(kind) or {})
        unknown = set(merged) - KEYS
        if unknown:
            raise RuleError(f"未知的拨打规则设置：{', '.join(sorted(unknown))}")
        tz = merged.get("timezone") or timezone
        try:
            ZoneInfo(tz)
        except (KeyError, ValueError) as exc:
            raise RuleError(f"未知的时区：{tz!r}") from exc
        parts = DEFAULT_DAY_PARTS
        if merged.get("day_parts") is not None:
            parts = tuple(
                DayPart(
                    name,
                    _time(spec.get("start"), f"{name}.start"),
                    _time(spec.get("end"), f"{name}.end"),
                    spec.get("days", WORKING),
                )
                for name, spec in merged["day_parts"].items()
            )
            if any(p.days not in (WORKING, WEEKEND) for p in parts):
                raise RuleError("时段的 days 应为 working 或 weekend")
        names = {p.name for p in parts}
        allowed = merged.get("allowed_day_parts")
        if allowed is None:
            # Defaults by kind, among the day-parts the wave defines.
            default = DEFAULT_ALLOWED.get(kind, DEFAULT_ALLOWED[UNKNOWN_KIND])
            allowed = [p.name for p in parts if p.name in default or default is _ALL]
        allowed = tuple(allowed)
        if not allowed or set(allowed) - names:
            raise RuleError(f"允许的时段无效：{list(allowed)!r}")
        try:
            numbers = {key: int(merged.get(key, default)) for key, default in DEFAULTS.items()}
        except (TypeError, ValueError) as exc:
            raise RuleError(f"拨打规则的数值无效：{exc}") from exc
        if numbers["max_attempts"] < 1:
            raise RuleError("max_attempts 至少为 1")
        return cls(
            timezone=tz,
            day_parts=parts,
            allowed=allowed,
            holidays=_dates(merged.get("holidays"), "holidays"),
            workdays=_dates(merged.get("workdays"), "workdays"),
            **numbers,
        )

    # -- the calendar ---------------------------------------------------------

    def day_kind(self, day: date) -> str | None:
        """WORKING, WEEKEND or None (a holiday: no calls at all) for a local date."""
        if day in self.workdays:
            return WORKING
        if day in self.holidays:
            return None
        return WORKING if day.weekday() < 5 else WEEKEND

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(ZoneInfo(self.timezone))

    def day_part_of(self, moment: datetime) -> str | None:
        """The day-part (any, allowed or not) ``moment`` lies in, or None."""
        local = self.local(moment)
        kind = self.day_kind(local.date())
        for part in self.day_parts:
            if part.days == kind and part.start <= local.time() < part.end:
                return part.name
        return None

    def allowed_at(self, moment: datetime) -> bool:
        """Whether ``moment`` lies in one of this kind's allowed day-parts."""
        return self.day_part_of(moment) in self.allowed

    def earliest(self, after: datetime, parts: Sequence[str] | None = None) -> tuple[datetime, str]:
        """The first moment >= ``after`` inside one of ``parts`` (default: the allowed ones)."""
        wanted = [p for p in self.day_parts if p.name in (parts or self.allowed)]
        local = self.local(after)
        zone = ZoneInfo(self.timezone)
        for offset in range(400):
            day = local.date() + timedelta(days=offset)
            kind = self.day_kind(day)
            best: tuple[datetime, str] | None = None
            for part in wanted:
                if part.days != kind:
                    continue
                start = datetime.combine(day, part.start, zone)
                end = datetime.combine(day, part.end, zone)
                if local < end:
                    moment = max(start, local)
                    if best is None or moment < best[0]:
                        best = (moment, part.name)
            if best is not None:
                return best
        raise RuleError("一年之内没有可拨打的时段")


@dataclass(frozen=True)
class Attempt:
    """One attempt as the rules see it."""

    at: datetime
    outcome: str
    refusal: str | None = None  # 2.11 only: SOFT or HARD (None means hard)
    appointment_at: datetime | None = None  # 2.21 only


@dataclass(frozen=True)
class Plan:
    """What the rules make of a case's attempts."""

    final: str | None
    next_at: datetime | None
    day_part: str | None
    attempts: int
    needs_senior: bool
    do_not_call: bool

    def as_json(self, timezone: str = DEFAULT_TIMEZONE) -> dict[str, Any]:
        next_at = self.next_at.astimezone(ZoneInfo(timezone)).isoformat() if self.next_at else None
        return {
            "final": self.final,
            "next_at": next_at,
            "day_part": self.day_part,
            "attempts": self.attempts,
            "needs_senior": self.needs_senior,
            "do_not_call": self.do_not_call,
        }


def _check(attempt: Attempt, number: int, previous: datetime | None) -> None:
    if attempt.outcome not in aapor.DISPOSITIONS:
        raise RuleError(f"未知的结果代码 {attempt.outcome!r}", number)
    for moment in (attempt.at, attempt.appointment_at):
        if moment is not None and moment.utcoffset() is None:
            raise RuleError("时间缺少时区偏移（如 +08:00）", number)
    if previous is not None and attempt.at < previous:
        raise RuleError("拨打时间早于上一次拨打", number)
    if attempt.refusal is not None and attempt.outcome != aapor.REFUSAL:
        raise RuleError("只有拒访（2.11）可以注明软拒或硬拒", number)
    if attempt.refusal not in (None, SOFT, HARD):
        raise RuleError(f"拒访类型应为 soft 或 hard，而不是 {attempt.refusal!r}", number)
    if attempt.appointment_at is not None and attempt.outcome != aapor.NEVER_AVAILABLE:
        raise RuleError("只有另约时间（2.21）可以带预约时间", number)
    if attempt.appointment_at is not None and attempt.appointment_at <= attempt.at:
        raise RuleError("预约时间应晚于本次拨打", number)


def plan(attempts: Sequence[Attempt], rules: Rules, *, now: datetime) -> Plan:
    """Apply the rules to a case's attempts, oldest first (``now``: when none yet).

    :raise RuleError: naming the attempt, for an unknown code, a time without
        offset, an attempt after a final outcome, an appointment outside the
        allowed day-parts, or an attempt out of order.
    """
    if now.utcoffset() is None:
        raise RuleError("now 缺少时区偏移（如 +08:00）")
    counts = dict.fromkeys(rules.allowed, 0)
    final: str | None = None
    do_not_call = needs_senior = ever_eligible = False
    refusals = 0
    last_eligible: str | None = None
    next_at: datetime | None = None
    day_part: str | None = None
    previous: datetime | None = None
    for number, attempt in enumerate(attempts, start=1):
        _check(attempt, number, previous)
        if final is not None:
            raise RuleError(f"该样本在此前已有最终结果 {final}，不能再拨打", number)
        previous = attempt.at
        outcome = attempt.outcome
        made_in = rules.day_part_of(attempt.at)
        if made_in in counts:
            counts[made_in] += 1
        temporary = outcome in TEMPORARY
        if outcome == aapor.REFUSAL:
            refusals += 1
            if (attempt.refusal or HARD) == HARD:
                final, do_not_call = outcome, True
            elif refusals > 1:
                final = outcome
            temporary = final is None
        elif outcome in FINAL_AT_ONCE:
            final = outcome
        if aapor.group(outcome) in ELIGIBLE_GROUPS:
            ever_eligible = True
            if temporary:
                last_eligible = outcome
        if final is None and number >= rules.max_attempts:
            final = last_eligible if ever_eligible and last_eligible else outcome
        if final is not None:
            next_at = day_part = None
            continue
        if outcome == aapor.REFUSAL:
            needs_senior = True
        if attempt.appointment_at is not None:
            day_part = rules.day_part_of(attempt.appointment_at)
            if day_part not in rules.allowed:
                raise RuleError("预约时间不在允许的拨打时段内", number)
            next_at = attempt.appointment_at
            continue
        gap = timedelta(minutes=rules.redial_gap_minutes)
        if outcome == aapor.REFUSAL:
            gap = timedelta(days=rules.soft_refusal_wait_days)
        fewest = min(counts.values())
        least_used = [name for name in rules.allowed if counts[name] == fewest]
        next_at, day_part = rules.earliest(attempt.at + gap, least_used)
    if not attempts:
        next_at, day_part = rules.earliest(now)
    return Plan(
        final=final,
        next_at=next_at,
        day_part=day_part,
        attempts=len(attempts),
        needs_senior=needs_senior and final is None,
        do_not_call=do_not_call,
    )
