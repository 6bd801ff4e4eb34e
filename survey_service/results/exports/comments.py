"""The comments table: open answers per unit, redacted, with no respondent identifier."""

from __future__ import annotations

from sqlmodel import Session, select

import call_scripts
from survey_service.models import Answer, Case, SurveyWave, Unit
from survey_service.privacy.redact import review
from survey_service.results.estimates import SMALL_GROUP
from survey_service.results.exports.common import Table
from survey_service.results.respondents import WaveData, load_wave

OPEN_KIND = "open"

COMMENT_HEADER = [
    "单位代码",
    "单位名称",
    "类别",
    "题目",
    "意见内容（已去除个人信息）",
    "可否转交单位",
    "需人工审核",
]


def comments_table(session: Session, wave: SurveyWave) -> Table:
    """The comments table of the wave (see :func:`comments`)."""
    return comments(session, load_wave(session, wave))


def comments(session: Session, data: WaveData) -> Table:
    """:func:`comments_of`, once per load of ``data`` (``data.memo``: the answers are in its
    data version)."""
    return data.memo("comments_table", lambda: comments_of(session, data))


def comments_of(session: Session, data: WaveData) -> Table:
    """Every open answer of the wave's draw, per unit, redacted; the unit's 整改清单.

    All cases of the draw count (an account of 吃拿卡要 given before a
    break-off is kept). No case, respondent, time or agent is written, and the
    rows are sorted by unit, item and text, so that their order says nothing
    about who called whom when. The last column says whether the unit has
    enough respondents (:data:`SMALL_GROUP`) for its comments to be handed to
    it without pointing at a person, as the unit's own page decides; the
    last whether a reviewer must read it first (:func:`privacy.redact.review`:
    a name may remain), in which case it is not handed over either.
    """
    script, draw = data.script, data.draw
    open_items = [it for it in script.items if it.kind == OPEN_KIND]
    if draw is None or not open_items:
        return COMMENT_HEADER, []
    order = {it.id: i for i, it in enumerate(open_items)}
    titles = {it.id: it.title or it.id for it in open_items}
    found = session.exec(
        select(Unit.code, Unit.name, Unit.category, Answer.item_id, Answer.value)
        .join(Case, Case.id == Answer.case_id)
        .join(Unit, Unit.id == Case.unit_id)
        .where(Case.draw_id == draw.id, Answer.item_id.in_(list(order)))
    ).all()
    respondents = data.count_by_unit()
    rows = []
    for code, name, category, item_id, value in found:
        text = (value or "").strip()
        if not text or text == call_scripts.SKIPPED:
            continue
        redacted = review(text)
        if respondents.get(code, 0) < SMALL_GROUP:
            handover = f"否（受访者少于 {SMALL_GROUP} 人）"
        elif redacted.held:
            handover = "否（待人工审核）"
        else:
            handover = "可以"
        check = f"是（{redacted.reason}）" if redacted.held else ""
        row = [code, name, category, titles[item_id], redacted.text, handover, check]
        rows.append((code, order[item_id], row))
    rows.sort(key=lambda r: (r[0], r[1], r[2][4]))
    return COMMENT_HEADER, [r[2] for r in rows]
