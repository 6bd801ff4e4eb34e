"""What the agent's interview page shows: outcome choices by phase, history, windows.

Pure helpers of the calls blueprint (no database access): the view passes
in what it loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from survey_service import dispositions as aapor
from survey_service.calls import rules

from ..models import DISPOSITIONS

# What the agent posts to end a call whose respondent hung up mid-interview:
# partial (1.2) when the script's partial rule is met, else break-off (2.12).
HANG_UP = "hangup"
SOFT_REFUSAL = f"{aapor.REFUSAL}:{rules.SOFT}"
HARD_REFUSAL = f"{aapor.REFUSAL}:{rules.HARD}"

# Before anyone is on the line: the number's outcomes.
NO_CONTACT = (
    aapor.NO_ANSWER,
    aapor.ALWAYS_BUSY,
    aapor.MACHINE_UNKNOWN,
    aapor.RESPONDENT_MACHINE,
    aapor.NON_WORKING,
    aapor.DISCONNECTED,
    aapor.FAX_DATA,
    aapor.NUMBER_CHANGED,
    aapor.TECHNICAL,
    aapor.OTHER_UNKNOWN,
)
# Someone is on the line (whether or not the interview has started).
ON_THE_LINE = (aapor.NEVER_AVAILABLE, aapor.UNABLE, aapor.LANGUAGE)

DAY_PART_LABELS = {
    "weekday_morning": "工作日上午",
    "weekday_afternoon": "工作日下午",
    "weekday_evening": "工作日晚上",
    "weekend": "周末",
    "working_day": "工作日全天",
    "weekend_day": "周末全天",
}


@dataclass(frozen=True)
class OutcomeGroup:
    label: str
    choices: tuple[tuple[str, str], ...]  # (posted value, label)


def _label(code: str) -> str:
    return f"{code} {DISPOSITIONS[code][1]}"


def outcome_groups(started: bool) -> list[OutcomeGroup]:
    """The outcomes that make sense now: ``started`` once an item was answered.

    Before the interview starts the agent may not have reached anyone (no
    answer, busy, machine, non-working...) or the person may decline at the
    introduction; once answers are in only what happens with a respondent on
    the line is offered, and a hang-up keeps what was answered.
    """
    line = [
        (SOFT_REFUSAL, f"{aapor.REFUSAL} 拒访：软拒（一周后由资深访员再拨）"),
        (HARD_REFUSAL, f"{aapor.REFUSAL} 拒访：硬拒（列入免打扰名单，不再拨打）"),
    ]
    if started:
        line.insert(0, (HANG_UP, "受访者中途挂断（保存已答部分：部分完成或中途挂断）"))
    line += [(code, _label(code)) for code in ON_THE_LINE]
    groups = [OutcomeGroup("已接通", tuple(line))]
    if not started:
        groups.insert(0, OutcomeGroup("未接通", tuple((c, _label(c)) for c in NO_CONTACT)))
    return groups


def allowed_values(started: bool) -> set[str]:
    return {value for group in outcome_groups(started) for value, _ in group.choices}


def parse_outcome(value: str) -> tuple[str | None, str | None]:
    """A posted choice as (outcome, refusal); a hang-up is (None, None)."""
    if value == HANG_UP:
        return None, None
    code, _sep, refusal = value.partition(":")
    return code, refusal or None


def windows_text(kind_rules: rules.Rules) -> str:
    """The allowed day-parts of a client kind, e.g. "工作日上午 09:00–12:00、……"."""
    parts = []
    for part in kind_rules.day_parts:
        if part.name in kind_rules.allowed:
            label = DAY_PART_LABELS.get(part.name, part.name)
            parts.append(f"{label} {part.start:%H:%M}–{part.end:%H:%M}")
    return "、".join(parts)


def local_text(moment: datetime | None, timezone: str) -> str:
    from zoneinfo import ZoneInfo

    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")
