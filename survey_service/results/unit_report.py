"""One unit's page: its figures, answers by item, dispositions and comments.

The same page serves the office (any unit) and, once results are
published, the unit's own staff. What a unit sees is aggregates only
(Statistics Law arts. 9, 25): no respondent, no case, no time of call;
answer distributions are withheld for groups smaller than
:data:`SMALL_GROUP`, and comments reach the unit with names, numbers and
other identifying words removed, in an order that says nothing about who
said what.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlmodel import Session, select

from survey_service.errors import NotFound
from survey_service.models import DISPOSITIONS, Answer, Case, Unit
from survey_service.results.estimates import (
    RESPONDENT_DISPOSITIONS,
    SMALL_GROUP,
    disposition_counts,
)
from survey_service.results.exports import aspects_table, redact
from survey_service.results.publication import wave_results
from survey_service.sample.draws import latest_draw
from survey_service.setup.waves import script_for_wave

OPEN_ITEMS_KIND = "open"
NOT_DIALLED = {"UH": "已发放、尚未拨打"}


def unit_report(session: Session, wave, code: str, *, for_unit: bool) -> dict[str, Any]:
    """Everything the unit page shows.

    :raise NotFound: for an unknown unit code.
    """
    unit = session.exec(select(Unit).where(Unit.code == code)).first()
    if unit is None:
        raise NotFound(f"单位 {code} 不存在")
    figures = next((r for r in wave_results(session, wave) if r.code == code), None)
    draw = latest_draw(session, wave)
    page: dict[str, Any] = {
        "unit": unit,
        "figures": figures,
        "items": [],
        "dispositions": [],
        "comments": [],
        "suppressed": False,
        "for_unit": for_unit,
    }
    if draw is None:
        return page
    counts = disposition_counts(session, draw).get(code, {})
    header, rows = aspects_table(session, wave)
    column = {name: i for i, name in enumerate(header)}
    page["aspects"] = [
        {
            "title": row[column["题目"]],
            "n": row[column["有效回答"]],
            "mean": _num(row[column["得分(10分制)"]]),
            "ci_low": _num(row[column["95%区间下限"]]),
            "ci_high": _num(row[column["95%区间上限"]]),
        }
        for row in rows
        if row[column["单位代码"]] == code
    ]
    page["dispositions"] = [
        (c, DISPOSITIONS.get(c, (c, c))[1], n) for c, n in sorted(counts.items())
    ]
    script = script_for_wave(wave)
    answers: dict[int, dict[str, str]] = defaultdict(dict)
    for case_id, item_id, value in session.exec(
        select(Answer.case_id, Answer.item_id, Answer.value)
        .join(Case, Case.id == Answer.case_id)
        .where(
            Case.draw_id == draw.id,
            Case.unit_id == unit.id,
            Case.disposition.in_(RESPONDENT_DISPOSITIONS),
        )
    ).all():
        answers[case_id][item_id] = value
    respondents = len(answers)
    page["respondents"] = respondents
    if respondents < SMALL_GROUP:
        page["suppressed"] = True
        return page
    for item in script.items:
        if item.kind in ("rating", "yes_no"):
            tally = Counter(a.get(item.id) for a in answers.values() if item.id in a)
            page["items"].append(
                {
                    "title": item.title or item.id,
                    "options": [(opt.label, tally.get(opt.code, 0)) for opt in item.options],
                    "answered": sum(tally.values()),
                }
            )
        elif item.kind == OPEN_ITEMS_KIND:
            page["comments"].extend(
                redact(a[item.id])
                for a in answers.values()
                if a.get(item.id) and a[item.id] != "_skipped"
            )
    page["comments"].sort()  # no order that could point back to a call
    return page


def _num(value) -> float:
    return float("nan") if value in ("", None) else float(value)
