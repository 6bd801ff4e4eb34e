"""Calling limits of a wave: the one place their defaults live.

A wave carries its own values under ``SurveyWave.settings["calling"]``
(for example ``{"max_attempts": 8, "redial_gap_minutes": 120}``); what it
does not set comes from :data:`DEFAULTS`, and the time zone from the app's
``TIMEZONE`` setting when the caller passes its config. Every caller that
counts attempts, spaces redials, caps IVR calls or opens calling windows
reads a :class:`CallingSettings`, never a module constant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from survey_service.errors import ServiceError, Where

ALL_DAYS = frozenset(range(7))
WEEKDAYS = frozenset(range(5))  # Monday=0 ... Friday=4
DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class CallingWindow:
    """Local hours in which a client kind may be called: ``start`` <= t < ``end``.

    ``kinds`` are the client kinds (``"群众"``, ``"企业"``, None for unknown)
    the window applies to; None means every kind.
    """

    name: str
    start: time
    end: time
    days: frozenset[int] = ALL_DAYS
    kinds: frozenset[str | None] | None = None

    def is_open(self, local: datetime) -> bool:
        return local.weekday() in self.days and self.start <= local.time() < self.end


DEFAULT_WINDOWS: tuple[CallingWindow, ...] = (
    # Private individuals are reached in the evening, any day (unknown kind counts as one).
    CallingWindow("evening", time(18, 0), time(21, 0), kinds=frozenset({"群众", None})),
    # Office hours on weekdays: enterprises, and individuals as a second chance.
    CallingWindow("office", time(9, 0), time(17, 0), days=WEEKDAYS),
)

# The defaults of every calling limit (keys of a wave's settings["calling"]).
DEFAULTS: dict[str, Any] = {
    "max_attempts": 6,  # attempts of any channel before the case is made final
    "redial_gap_minutes": 180,  # after a temporary outcome
    "max_ivr_calls": 3,  # IVR calls per case; agents may go on up to max_attempts
}


def kinds_open(
    windows: Iterable[CallingWindow], now: datetime, timezone: str = DEFAULT_TIMEZONE
) -> frozenset[str | None] | None:
    """The client kinds that may be called at ``now``: None for all, empty for none."""
    local = now.astimezone(ZoneInfo(timezone))
    kinds: set[str | None] = set()
    for window in windows:
        if window.is_open(local):
            if window.kinds is None:
                return None
            kinds |= window.kinds
    return frozenset(kinds)


def _window(raw: Mapping[str, Any]) -> CallingWindow:
    kinds = raw.get("kinds")
    return CallingWindow(
        name=str(raw["name"]),
        start=time.fromisoformat(raw["start"]),
        end=time.fromisoformat(raw["end"]),
        days=frozenset(raw.get("days", ALL_DAYS)),
        kinds=None if kinds is None else frozenset(kinds),
    )


@dataclass(frozen=True)
class CallingSettings:
    """The calling limits in force for one wave."""

    timezone: str = DEFAULT_TIMEZONE
    max_attempts: int = DEFAULTS["max_attempts"]
    redial_gap_minutes: int = DEFAULTS["redial_gap_minutes"]
    max_ivr_calls: int = DEFAULTS["max_ivr_calls"]
    windows: tuple[CallingWindow, ...] = field(default=DEFAULT_WINDOWS)

    @classmethod
    def for_wave(cls, wave, config: Mapping[str, Any] | None = None) -> CallingSettings:
        """The wave's settings over the defaults; ``config`` gives the app's ``TIMEZONE``.

        :raise ServiceError: if a value of the wave's settings cannot be used.
        """
        raw = dict((wave.settings or {}).get("calling") or {}) if wave is not None else {}
        timezone = raw.pop("timezone", None) or (config or {}).get("TIMEZONE") or DEFAULT_TIMEZONE
        try:
            ZoneInfo(timezone)
            windows = raw.pop("windows", None)
            values = {key: int(raw.pop(key, default)) for key, default in DEFAULTS.items()}
            parsed = DEFAULT_WINDOWS if windows is None else tuple(_window(w) for w in windows)
        except (KeyError, TypeError, ValueError) as exc:
            raise ServiceError(
                f"调查轮次的拨打设置无效：{exc}", where=Where(field="settings.calling")
            ) from exc
        if raw:
            raise ServiceError(
                f"调查轮次的拨打设置含未知项：{', '.join(sorted(raw))}",
                where=Where(field="settings.calling"),
            )
        return cls(timezone=timezone, windows=parsed, **values)

    def kinds_open(self, now: datetime) -> frozenset[str | None] | None:
        """The client kinds these windows allow at ``now`` (None: all)."""
        return kinds_open(self.windows, now, self.timezone)


def for_case(session, case, config: Mapping[str, Any] | None = None) -> CallingSettings:
    """The calling settings of the wave ``case`` was drawn in."""
    from survey_service.models import SampleDraw, SurveyWave

    draw = session.get(SampleDraw, case.draw_id)
    return CallingSettings.for_wave(session.get(SurveyWave, draw.wave_id), config)
