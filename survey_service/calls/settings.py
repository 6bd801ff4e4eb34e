"""Calling settings of a wave: the one place their defaults are applied.

A wave carries its own values under ``SurveyWave.settings["calling"]``:
the calling rules' keys (:data:`survey_service.calls.rules.KEYS`, e.g.
``{"max_attempts": 8, "holidays": ["2017-10-02"]}``, with ``per_kind``
overrides per client kind), ``max_ivr_calls`` and ``timezone``. What it does
not set comes from the defaults in :mod:`~survey_service.calls.rules` (and
:data:`DEFAULTS` here for the IVR), the time zone from the app's
``TIMEZONE`` when the caller passes its config. Every caller that counts
attempts, spaces redials, caps IVR calls or checks the day-parts reads a
:class:`CallingSettings`, never a module constant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from survey_service.calls import rules
from survey_service.calls.rules import DEFAULT_TIMEZONE, RuleError, Rules
from survey_service.errors import ServiceError, Where

# Client kinds as stored on a client (None: not given, 未注明).
KINDS: tuple[str | None, ...] = ("群众", "企业", None)

# A wave's calling settings that allow a call at any hour of any day: the demo
# district's, so that the worker's simulated calls can be watched whenever it
# runs, and tests that run real processes on the wall clock. Never a real wave's.
ROUND_THE_CLOCK: dict[str, Any] = {
    "day_parts": {
        "working_day": {"start": "00:00", "end": "23:59:59", "days": "working"},
        "weekend_day": {"start": "00:00", "end": "23:59:59", "days": "weekend"},
    },
    "allowed_day_parts": ["working_day", "weekend_day"],
}

# Defaults of the settings that are not calling rules.
DEFAULTS: dict[str, Any] = {
    "max_ivr_calls": 3,  # IVR calls per case; agents may go on up to max_attempts
}


@dataclass(frozen=True)
class CallingSettings:
    """The calling settings in force for one wave."""

    timezone: str = DEFAULT_TIMEZONE
    max_ivr_calls: int = DEFAULTS["max_ivr_calls"]
    rule_settings: Mapping[str, Any] = field(default_factory=dict)
    # The rules per client kind, worked out once per settings object (a claim asks for
    # each kind's twice: the check below and the day-parts open now).
    _rules: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def for_wave(cls, wave, config: Mapping[str, Any] | None = None) -> CallingSettings:
        """The wave's settings over the defaults; ``config`` gives the app's ``TIMEZONE``.

        :raise ServiceError: if a value of the wave's settings cannot be used.
        """
        raw = dict((wave.settings or {}).get("calling") or {}) if wave is not None else {}
        timezone = raw.pop("timezone", None) or (config or {}).get("TIMEZONE") or DEFAULT_TIMEZONE
        try:
            max_ivr_calls = int(raw.pop("max_ivr_calls", DEFAULTS["max_ivr_calls"]))
        except (TypeError, ValueError) as exc:
            raise _invalid(f"max_ivr_calls 应为整数：{exc}") from exc
        settings = cls(timezone=timezone, max_ivr_calls=max_ivr_calls, rule_settings=raw)
        for kind in KINDS:
            settings.rules_for(kind)  # refuse unusable values now, not at the first call
        return settings

    def rules_for(self, kind: str | None) -> Rules:
        """The calling rules for a client kind (None: 未注明).

        :raise ServiceError: if the wave's values cannot be used.
        """
        rules = self._rules.get(kind)
        if rules is None:
            try:
                rules = Rules.from_settings(self.rule_settings, kind, timezone=self.timezone)
            except RuleError as exc:
                raise _invalid(str(exc)) from exc
            self._rules[kind] = rules
        return rules

    @property
    def max_attempts(self) -> int:
        return self.rules_for(None).max_attempts

    @property
    def redial_gap_minutes(self) -> int:
        return self.rules_for(None).redial_gap_minutes

    def kinds_open(self, now: datetime) -> frozenset[str | None]:
        """The client kinds whose allowed day-parts hold ``now`` (None: 未注明)."""
        return frozenset(kind for kind in KINDS if self.rules_for(kind).allowed_at(now))


def _invalid(message: str) -> ServiceError:
    return ServiceError(f"调查轮次的拨打设置无效：{message}", where=Where(field="settings.calling"))


# A caller's calling settings: built, or a function that builds them when first needed
# (an IVR key press records an outcome only at the script's end), or None (the default).
Calling = CallingSettings | Callable[[], CallingSettings] | None


def settle(calling: Calling) -> CallingSettings | None:
    """``calling`` itself, or the settings it builds when it is a function."""
    return calling() if callable(calling) else calling


def for_case(session, case, config: Mapping[str, Any] | None = None) -> CallingSettings:
    """The calling settings of the wave ``case`` was drawn in."""
    from survey_service.models import SampleDraw, SurveyWave

    draw = session.get(SampleDraw, case.draw_id)
    return CallingSettings.for_wave(session.get(SurveyWave, draw.wave_id), config)


__all__ = ["DEFAULTS", "KINDS", "Calling", "CallingSettings", "for_case", "rules", "settle"]
