"""Quality review (复核): which completed interviews are checked, and striking one.

The review list of a wave holds a random share of each agent's completes (the
wave setting ``review_share``, default 0.10, up to 1.0; drawn with a
``numpy`` generator seeded by the wave's ``review_seed`` setting, else by the
wave's id, and the agent's id, so the same data give the same list) plus every
flagged complete. Flags:

- ``short``: the completing attempt lasted under a third of the wave's median
  complete length;
- ``straight_lining``: every rating item of the script answered with the same
  option (at least two rating items);
- ``agent_outlier``: the agent's completion rate (completes per attempt with
  an outcome) or eligibility rate lies more than 2 SD from the other agents'
  (mean and sample SD of the others; needs two others with some spread);
- ``no_connected_call``: an IVR complete without a provider call id, or an
  agent complete whose attempt lasted under 30 s.

A struck interview leaves the estimates through the data: its case is
re-coded from 1.1 to :data:`STRUCK` = 2.12 (break-off: the respondent was
reached, no valid interview was obtained, so it counts as a non-interview in
the R group of every AAPOR rate) and the change is audited; the results then
recompute without it. Its answers stay, for the record.

Recordings: ``CallAttempt.recording_ref`` is shown to the reviewer, filled by
the provider's recording callback (Twilio's RecordingSid/RecordingUrl). A
reviewer may instead call back with :mod:`survey_service.calls.verification`'s
short script; its answers are stored with the decision.
"""

from __future__ import annotations

import math
import statistics
import zlib
from dataclasses import dataclass

import numpy as np
from sqlmodel import Session, select

from survey_service import audit
from survey_service import dispositions as aapor
from survey_service.calls.supervision import agent_figures, wave_draw
from survey_service.errors import Conflict, NotFound, ServiceError, Where
from survey_service.models import (
    Answer,
    CallAttempt,
    Case,
    CaseStatus,
    QualityReview,
    ReviewStatus,
    SurveyWave,
    User,
    WaveStatus,
    utcnow,
)
from survey_service.setup.waves import script_for_wave

STRUCK = aapor.BREAK_OFF
DEFAULT_SHARE = 0.10
MIN_CONNECTED_SECONDS = 30
FLAG_LABELS = {
    "short": "访问时长不足中位数的三分之一",
    "straight_lining": "所有评分题选择同一选项",
    "agent_outlier": "话务员完成率或合格率偏离其他人 2 个标准差以上",
    "no_connected_call": "没有接通的通话记录",
}


@dataclass(frozen=True)
class Complete:
    case_id: int
    attempt: CallAttempt
    seconds: float | None


def review_share(wave: SurveyWave) -> float:
    """The wave's ``review_share`` in (0, 1].

    :raise ServiceError: if the setting is not a number in (0, 1].
    """
    value = (wave.settings or {}).get("review_share", DEFAULT_SHARE)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ServiceError(
            "复核比例须为 0 到 1 之间的数（不含 0）", where=Where(field="review_share")
        )
    return float(value)


def review_seed(wave: SurveyWave) -> int:
    seed = (wave.settings or {}).get("review_seed")
    return int(seed) if seed is not None else zlib.crc32(f"review:{wave.id}".encode())


def _completes(session: Session, draw_id: int) -> list[Complete]:
    """Each 1.1 case of the draw with its completing (last 1.1) attempt."""
    rows = session.exec(
        select(CallAttempt)
        .join(Case, Case.id == CallAttempt.case_id)
        .where(
            Case.draw_id == draw_id,
            Case.disposition == aapor.COMPLETE,
            CallAttempt.outcome == aapor.COMPLETE,
        )
        .order_by(CallAttempt.id)
    ).all()
    latest = {a.case_id: a for a in rows}
    return [
        Complete(
            case_id,
            a,
            None if a.ended_at is None else (a.ended_at - a.started_at).total_seconds(),
        )
        for case_id, a in sorted(latest.items())
    ]


def outlier_agents(session: Session, draw) -> set[int]:
    """Agents whose completion or eligibility rate is more than 2 SD from the others'."""
    draw_agents = [a for a in agent_figures(session, draw) if a.attempts]
    rates = {
        "completion": {a.user_id: a.completes / a.attempts for a in draw_agents},
        "eligibility": {
            a.user_id: a.eligibility_rate for a in draw_agents if a.eligibility_rate is not None
        },
    }
    out: set[int] = set()
    for values in rates.values():
        for user_id, value in values.items():
            others = [v for u, v in values.items() if u != user_id]
            if len(others) < 2:
                continue
            sd = statistics.stdev(others)
            if sd > 0 and abs(value - statistics.fmean(others)) > 2 * sd:
                out.add(user_id)
    return out


def _straight_lined(session: Session, case_ids: list[int], rating_ids: list[str]) -> set[int]:
    if len(rating_ids) < 2 or not case_ids:
        return set()
    values: dict[int, dict[str, str]] = {}
    for case_id, item_id, value in session.exec(
        select(Answer.case_id, Answer.item_id, Answer.value).where(
            Answer.case_id.in_(case_ids), Answer.item_id.in_(rating_ids)
        )
    ).all():
        values.setdefault(case_id, {})[item_id] = value
    return {
        case_id
        for case_id, answers in values.items()
        if len(answers) == len(rating_ids) and len(set(answers.values())) == 1
    }


def flags_for(session: Session, wave: SurveyWave) -> dict[int, list[str]]:
    """Every complete of the wave's draw (case id) with its flags (possibly none)."""
    draw = wave_draw(session, wave)
    if draw is None:
        return {}
    completes = _completes(session, draw.id)
    lengths = [c.seconds for c in completes if c.seconds is not None]
    median = statistics.median(lengths) if lengths else None
    outliers = outlier_agents(session, draw)
    rating_ids = [item.id for item in script_for_wave(wave).rating_items]
    straight = _straight_lined(session, [c.case_id for c in completes], rating_ids)
    result: dict[int, list[str]] = {}
    for c in completes:
        flags = []
        if median is not None and c.seconds is not None and c.seconds < median / 3:
            flags.append("short")
        if c.case_id in straight:
            flags.append("straight_lining")
        if c.attempt.agent_id in outliers:
            flags.append("agent_outlier")
        if c.attempt.channel == "ivr":
            if not c.attempt.provider_call_id:
                flags.append("no_connected_call")
        elif c.seconds is None or c.seconds < MIN_CONNECTED_SECONDS:
            flags.append("no_connected_call")
        result[c.case_id] = flags
    return result


def sampled_cases(session: Session, wave: SurveyWave) -> set[int]:
    """The random share of each agent's completes (at least one when the agent has any)."""
    draw = wave_draw(session, wave)
    if draw is None:
        return set()
    share = review_share(wave)
    by_agent: dict[int, list[int]] = {}
    for c in _completes(session, draw.id):
        by_agent.setdefault(c.attempt.agent_id or 0, []).append(c.case_id)
    chosen: set[int] = set()
    for agent_id, case_ids in sorted(by_agent.items()):
        k = min(len(case_ids), math.ceil(share * len(case_ids)))
        rng = np.random.default_rng([review_seed(wave), agent_id])
        chosen.update(int(i) for i in rng.choice(sorted(case_ids), size=k, replace=False))
    return chosen


def build_review_list(session: Session, wave: SurveyWave) -> list[QualityReview]:
    """Add the sampled and the flagged completes not yet on the wave's list; return the new rows."""
    flags = flags_for(session, wave)
    sampled = sampled_cases(session, wave)
    existing = set(
        session.exec(select(QualityReview.case_id).where(QualityReview.wave_id == wave.id)).all()
    )
    draw = wave_draw(session, wave)
    attempts = {c.case_id: c.attempt for c in _completes(session, draw.id)} if draw else {}
    added = []
    for case_id in sorted(set(sampled) | {c for c, f in flags.items() if f}):
        if case_id in existing:
            continue
        attempt = attempts[case_id]
        row = QualityReview(
            wave_id=wave.id,
            case_id=case_id,
            attempt_id=attempt.id,
            agent_id=attempt.agent_id,
            sampled=case_id in sampled,
            flags=flags.get(case_id, []),
        )
        session.add(row)
        added.append(row)
    session.flush()
    return added


def decide(
    session: Session,
    review_id: int,
    *,
    actor: User,
    strike: bool,
    reason: str,
    verification: dict | None = None,
) -> QualityReview:
    """Confirm or strike a reviewed interview; striking re-codes its case to :data:`STRUCK`.

    ``verification`` (from :func:`survey_service.calls.verification.check`) is
    how the reviewer checked: the recording, or a call-back and its answers,
    stored with the decision in ``detail["verification"]``.

    :raise NotFound: if there is no such review.
    :raise Conflict: if it is decided already or its wave is no longer open.
    :raise ServiceError: if a strike has no reason.
    """
    review = session.get(QualityReview, review_id)
    if review is None:
        raise NotFound(f"复核记录 {review_id} 不存在")
    if review.status != ReviewStatus.PENDING:
        raise Conflict(f"复核记录 {review_id} 已处理")
    wave = session.get(SurveyWave, review.wave_id)
    if wave.status != WaveStatus.OPEN:
        raise Conflict("本轮已关闭，结果已冻结，不能再作废访问")
    reason = (reason or "").strip()
    if strike and not reason:
        raise ServiceError("作废访问须填写理由", where=Where(field="reason"))
    case = session.get(Case, review.case_id)
    review.status = ReviewStatus.STRUCK if strike else ReviewStatus.CONFIRMED
    review.reason = reason or None
    review.reviewer_id = actor.id
    review.decided_at = utcnow()
    if verification is not None:
        review.detail = {
            **(review.detail or {}),
            "verification": {**verification, "at": review.decided_at.isoformat()},
        }
    if strike:
        review.previous_disposition = case.disposition
        case.disposition = STRUCK
        case.status = CaseStatus.FINAL
        session.add(case)
    session.add(review)
    audit.record(
        session,
        user=actor,
        action="interview_struck" if strike else "interview_confirmed",
        object_type="case",
        object_id=case.id,
        review_id=review.id,
        reason=reason,
        disposition_before=review.previous_disposition or case.disposition,
        disposition_after=case.disposition,
        verification=(verification or {}).get("method"),
        consistent=(verification or {}).get("consistent"),
    )
    return review
