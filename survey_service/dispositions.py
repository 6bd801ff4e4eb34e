"""AAPOR dispositions (Standard Definitions, 9th ed., 2016, telephone), by name.

The one place that spells an outcome code: models, the call stage, results,
views and the demo use these names, never the string literals, so that a
code appears in one table with its group and its zh-CN label.

Groups: I complete, P partial, R refusal/break-off, NC non-contact, O other,
UH/UO unknown eligibility, NE not eligible.
"""

from __future__ import annotations

COMPLETE = "1.1"
PARTIAL = "1.2"
REFUSAL = "2.11"
BREAK_OFF = "2.12"
NEVER_AVAILABLE = "2.21"  # also: appointment made (a temporary 2.21 with a time)
RESPONDENT_MACHINE = "2.22"
UNABLE = "2.32"
LANGUAGE = "2.33"
ALWAYS_BUSY = "3.12"
NO_ANSWER = "3.13"
MACHINE_UNKNOWN = "3.14"
TECHNICAL = "3.16"
OTHER_UNKNOWN = "3.90"
FAX_DATA = "4.20"
NON_WORKING = "4.31"
DISCONNECTED = "4.32"
NUMBER_CHANGED = "4.41"
SCREENED_OUT = "4.70"

# code -> (group, zh-CN label)
DISPOSITIONS: dict[str, tuple[str, str]] = {
    COMPLETE: ("I", "完成访问"),
    PARTIAL: ("P", "部分完成"),
    REFUSAL: ("R", "拒访"),
    BREAK_OFF: ("R", "中途挂断"),
    NEVER_AVAILABLE: ("NC", "受访者始终不在"),
    RESPONDENT_MACHINE: ("NC", "受访者本人的语音信箱"),
    UNABLE: ("O", "无法受访（身体等原因）"),
    LANGUAGE: ("O", "语言障碍"),
    ALWAYS_BUSY: ("UH", "始终占线"),
    NO_ANSWER: ("UH", "无人接听"),
    MACHINE_UNKNOWN: ("UH", "语音信箱（不确定本人）"),
    TECHNICAL: ("UH", "技术故障"),
    OTHER_UNKNOWN: ("UO", "其他未知情况"),
    FAX_DATA: ("NE", "传真/数据线路"),
    NON_WORKING: ("NE", "空号"),
    DISCONNECTED: ("NE", "停机"),
    NUMBER_CHANGED: ("NE", "号码已易主（非本人）"),
    SCREENED_OUT: ("NE", "甄别不符（未在该单位办事）"),
}

# Outcomes that end a case at once, whatever the attempt count.
FINAL_ON_FIRST = frozenset(
    {
        COMPLETE,
        REFUSAL,
        UNABLE,
        LANGUAGE,
        FAX_DATA,
        NON_WORKING,
        DISCONNECTED,
        NUMBER_CHANGED,
        SCREENED_OUT,
    }
)


def group(code: str) -> str:
    """The AAPOR group of a code (I, P, R, NC, O, UH, UO, NE)."""
    return DISPOSITIONS[code][0]


def label(code: str) -> str:
    """The zh-CN label of a code."""
    return DISPOSITIONS[code][1]
