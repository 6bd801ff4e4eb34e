"""The reviewer's call-back verification script (复核回访): a few questions, answers kept.

When a reviewer calls a respondent back instead of listening to the
recording, they read these questions from the review page and note the
answers; :func:`check` validates them and :func:`survey_service.calls.quality.decide`
stores them with the decision (``QualityReview.detail["verification"]``).
Pure: no database, no Flask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from survey_service.errors import ServiceError, Where

RECORDING = "recording"  # the reviewer listened to the recording
CALLBACK = "callback"  # the reviewer called the respondent back
METHODS = {RECORDING: "听取录音", CALLBACK: "回访核实"}

YES, NO, UNSURE = "yes", "no", "unsure"


@dataclass(frozen=True)
class Question:
    id: str
    text: str  # may name {date}, {unit}
    options: tuple[tuple[str, str], ...]


REACHED = Question("reached", "本次回访是否联系上受访者本人？", ((YES, "联系上"), (NO, "未联系上")))
QUESTIONS = (
    REACHED,
    Question(
        "called_on_date",
        "请问您在 {date} 前后是否接到过区满意度回访中心的电话？",
        ((YES, "接到过"), (NO, "没有接到"), (UNSURE, "记不清")),
    ),
    Question(
        "caller",
        "当时是谁给您打的电话？",
        (
            ("agent", "回访中心的话务员（真人）"),
            ("ivr", "自动语音电话（按键作答）"),
            ("other", "其他人（如被评单位的工作人员）"),
            (UNSURE, "记不清"),
        ),
    ),
    Question(
        "answered_items",
        "当时您是否回答了对{unit}的满意度评价问题？",
        (("all", "全部回答了"), ("some", "只回答了一部分"), (NO, "没有回答"), (UNSURE, "记不清")),
    ),
)
BY_ID = {q.id: q for q in QUESTIONS}


def check(method: str, answers: dict[str, str]) -> dict[str, Any]:
    """The verification to store: method, and for a call-back the answers.

    A call-back needs ``reached``; once the respondent was reached every
    question needs an answer (and none is taken when they were not).

    :raise ServiceError: naming the first question unanswered or answered out of its options.
    """
    if method not in METHODS:
        raise ServiceError("请选择复核方式（听取录音或回访核实）", where=Where(field="复核方式"))
    if method == RECORDING:
        return {"method": RECORDING}
    given = {k: (v or "").strip() for k, v in answers.items() if (v or "").strip()}
    asked = QUESTIONS if given.get(REACHED.id) == YES else (REACHED,)
    stored = {}
    for question in asked:
        value = given.get(question.id)
        if value is None:
            raise ServiceError(
                f"回访核实：请填写“{question.text.format(date='当时', unit='该单位')}”",
                where=Where(field=question.id),
            )
        if value not in dict(question.options):
            raise ServiceError(f"回访核实：“{value}”不是该题的选项", where=Where(field=question.id))
        stored[question.id] = value
    return {"method": CALLBACK, "answers": stored, "consistent": consistent(stored)}


def consistent(answers: dict[str, str]) -> bool | None:
    """Whether the respondent's account confirms an interview (None: not reached)."""
    if answers.get(REACHED.id) != YES:
        return None
    return (
        answers.get("called_on_date") == YES
        and answers.get("caller") in ("agent", "ivr")
        and answers.get("answered_items") == "all"
    )


def labels(verification: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The stored verification as (question, answer label) rows for a page."""
    if not verification:
        return []
    rows = [("复核方式", METHODS.get(verification.get("method", ""), ""))]
    for key, value in (verification.get("answers") or {}).items():
        question = BY_ID.get(key)
        if question is not None:
            text = question.text.format(date="当时", unit="该单位")
            rows.append((text, dict(question.options).get(value, value)))
    return rows
