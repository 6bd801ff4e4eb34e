"""Paradata for statisticians: one row per call attempt of a wave, agents pseudonymised.

An agent appears as ``A-`` and the first 16 hex digits of HMAC-SHA256 over the
user id with a key derived from the app's secret: stable across exports of
the same installation, never the login, not reversible without the secret.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlmodel import Session, select

from survey_service.calls.settings import CallingSettings
from survey_service.calls.supervision import wave_draw
from survey_service.models import CallAttempt, Case, QualityReview, SurveyWave, Unit

HEADER = (
    "attempt_id",
    "case",
    "unit",
    "stratum",
    "channel",
    "started_at",
    "ended_at",
    "day_part",
    "duration_s",
    "outcome",
    "refusal",
    "agent",
    "review_sampled",
    "review_flags",
    "review_result",
)


def agent_pseudonym(user_id: int | None, secret: str | bytes) -> str:
    if user_id is None:
        return ""
    secret = secret.encode() if isinstance(secret, str) else secret
    key = hmac.new(secret, b"paradata-agent-pseudonym", hashlib.sha256).digest()
    return "A-" + hmac.new(key, str(user_id).encode(), hashlib.sha256).hexdigest()[:16]


def paradata_rows(
    session: Session, wave: SurveyWave, *, secret: str | bytes, timezone: str | None = None
) -> list[list]:
    """Every attempt of the wave's draw in attempt order (times in the wave's zone)."""
    draw = wave_draw(session, wave)
    if draw is None:
        return []
    settings = CallingSettings.for_wave(wave, {"TIMEZONE": timezone} if timezone else None)
    rules = settings.rules_for(None)
    reviews = {
        r.case_id: r
        for r in session.exec(select(QualityReview).where(QualityReview.wave_id == wave.id)).all()
    }
    rows = []
    for attempt, case, code in session.exec(
        select(CallAttempt, Case, Unit.code)
        .join(Case, Case.id == CallAttempt.case_id)
        .join(Unit, Unit.id == Case.unit_id)
        .where(Case.draw_id == draw.id)
        .order_by(CallAttempt.id)
    ).all():
        review = reviews.get(case.id)
        reviewed = review is not None and review.attempt_id == attempt.id
        seconds = (
            None
            if attempt.ended_at is None
            else round((attempt.ended_at - attempt.started_at).total_seconds(), 1)
        )
        rows.append(
            [
                attempt.id,
                case.pseudonym,
                code,
                case.stratum,
                attempt.channel,
                rules.local(attempt.started_at).isoformat(),
                "" if attempt.ended_at is None else rules.local(attempt.ended_at).isoformat(),
                rules.day_part_of(attempt.started_at) or "",
                "" if seconds is None else seconds,
                attempt.outcome or "",
                attempt.refusal or "",
                agent_pseudonym(attempt.agent_id, secret),
                int(review.sampled) if reviewed else "",
                ";".join(review.flags) if reviewed else "",
                review.status if reviewed else "",
            ]
        )
    return rows
