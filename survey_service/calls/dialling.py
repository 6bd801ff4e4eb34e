"""Placing IVR calls: which cases to dial now, claiming them, and dialling.

Rules (queXS/BRFSS practice, see the domain brief), each value from the
wave's calling settings (:mod:`survey_service.calls.settings`):

- only cases due by the queue's one rule (:func:`queue.due`: released,
  pending, of an open wave, next attempt time reached, inside an allowed
  day-part of the client's kind in the wave's time zone, number not on the
  do-not-call list) with no call in progress;
- at most ``max_ivr_calls`` IVR calls per case, and none once the
  respondent has answered an item of the interview proper
  (:func:`call_scripts.has_substantive_answer`), nor for a refusal
  conversion (that call is a senior agent's).

What happens once a call is placed (webhooks, how it ended) is in
:mod:`survey_service.calls.ivr`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func
from sqlmodel import Session, select

import call_scripts
from survey_service import audit
from survey_service.calls import attempts as calling_attempts
from survey_service.calls import joint, queue
from survey_service.calls import settings as calling_settings
from survey_service.calls.ivr import IVR, attempt_token, webhook_urls
from survey_service.calls.settings import CallingSettings
from survey_service.calls.telephony import CallRejected, CallUncertain, Provider
from survey_service.dispositions import NON_WORKING, TECHNICAL
from survey_service.models import (
    Answer,
    CallAttempt,
    Case,
    CaseStatus,
    Client,
    SampleDraw,
    SurveyWave,
    WaveStatus,
    utcnow,
)
from survey_service.setup.waves import script_for_wave

# An IVR attempt still open this long after dialling lost its status callback.
STALE_CALL = timedelta(hours=1)


@dataclass
class DialResult:
    """What one round of dialling did."""

    placed: list[tuple[int, str]] = field(default_factory=list)  # (case id, provider call id)
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # (case id, outcome, why)
    expired: int = 0  # IVR attempts closed for want of a status callback
    window_open: bool = True


def _answers(session: Session, case: Case) -> dict[str, str]:
    rows = session.exec(select(Answer.item_id, Answer.value).where(Answer.case_id == case.id))
    return dict(rows.all())


def _answered_an_item(
    session: Session, case: Case, answers: dict[str, str], scripts: dict[int, call_scripts.Script]
) -> bool:
    if not answers:
        return False
    if case.draw_id not in scripts:
        draw = session.get(SampleDraw, case.draw_id)
        scripts[case.draw_id] = script_for_wave(session.get(SurveyWave, draw.wave_id))
    return call_scripts.has_substantive_answer(scripts[case.draw_id], answers)


def _candidates(
    session: Session,
    *,
    wave: SurveyWave,
    now: datetime,
    config,
    max_calls: int,
    exclude,
    limit: int,
):
    ivr_calls = (
        select(func.count(CallAttempt.id))
        .where(CallAttempt.case_id == Case.id, CallAttempt.channel == IVR)
        .scalar_subquery()
    )
    open_call = exists().where(CallAttempt.case_id == Case.id, CallAttempt.ended_at.is_(None))
    query = (
        select(Case.id)
        .where(
            queue.due(session, now, wave=wave, config=config),
            ivr_calls < max_calls,
            ~open_call,
            ~Case.needs_senior,
        )
        .order_by(*queue.DUE_ORDER)
        .limit(limit)
    )
    if exclude:
        query = query.where(Case.id.not_in(exclude))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Case, skip_locked=True)
    return session.exec(query).all()


def _open_waves(session: Session) -> list[SurveyWave]:
    return session.exec(
        select(SurveyWave).where(SurveyWave.status == WaveStatus.OPEN).order_by(SurveyWave.id)
    ).all()


def claim_due_cases(
    session: Session,
    *,
    limit: int,
    now: datetime,
    config: Mapping[str, Any] | None = None,
) -> list[tuple[Case, CallAttempt]]:
    """Claim up to ``limit`` cases that may be called by IVR now, each with a new attempt.

    Each open wave's cases are taken with that wave's calling settings
    (day-parts, time zone, IVR calls per case; ``config`` gives the app's
    ``TIMEZONE``), waves in the order they were opened. The claim is a conditional UPDATE
    (pending → in_progress), so an agent taking the same case at the same
    moment gets it or the IVR does, never both. Consent or screening answers
    left by an earlier call are dropped, so that the call starts with the
    introduction (eligibility stays on the case).
    """
    claimed: list[tuple[Case, CallAttempt]] = []
    for wave in _open_waves(session):
        if len(claimed) >= limit:
            break
        calling = CallingSettings.for_wave(wave, config)
        claimed += _claim_in_wave(
            session, wave, calling, limit=limit - len(claimed), now=now, config=config
        )
    return claimed


def _claim_in_wave(
    session: Session,
    wave: SurveyWave,
    calling: CallingSettings,
    *,
    limit: int,
    now: datetime,
    config,
) -> list[tuple[Case, CallAttempt]]:
    claimed: list[tuple[Case, CallAttempt]] = []
    seen: set[int] = set()
    scripts: dict[int, call_scripts.Script] = {}
    while len(claimed) < limit:
        batch = _candidates(
            session,
            wave=wave,
            now=now,
            config=config,
            max_calls=calling.max_ivr_calls,
            exclude=seen,
            limit=limit - len(claimed),
        )
        if not batch:
            break
        for case_id in batch:
            if case_id in seen:
                continue  # a case of a number already taken in this round
            call = _claim_number(session, case_id, now=now, scripts=scripts, seen=seen)
            if call is not None:
                claimed.append(call)
    return claimed


def _claim_number(
    session: Session, case_id: int, *, now: datetime, scripts, seen: set[int]
) -> tuple[Case, CallAttempt] | None:
    """Claim the case with its number's other open cases, one IVR attempt each (one call).

    None when any of them is not for the IVR (an item answered, a refusal
    conversion) or the number is held meanwhile. Returns the call's first
    case and attempt (the one the provider dials; see :mod:`.joint`).
    """
    group = session.exec(select(Case).where(queue.number_cases(session, case_id))).all()
    seen.update(case.id for case in group)
    answers = {case.id: _answers(session, case) for case in group}
    for case in group:
        if case.needs_senior or _answered_an_item(session, case, answers[case.id], scripts):
            return None  # no IVR call after the respondent answered an item
    claimed = queue.claim_number(session, case_id, agent_id=None, now=now)
    if not claimed:
        return None  # an agent took it (or one of its number's cases) meanwhile
    # The claimed cases are the group's objects, given the claim as stored by claim_number.
    for claimed_id in claimed:
        if answers.get(claimed_id):
            # Only consent/screening answers from an earlier call: an IVR call must
            # start with the introduction (who calls, recording, confidentiality).
            session.execute(delete(Answer).where(Answer.case_id == claimed_id))
    attempts = joint.open_attempts(session, claimed, agent=None, channel=IVR, now=now)
    return session.get(Case, claimed[0]), attempts[0]


def expire_stale_calls(
    session: Session,
    *,
    now: datetime,
    older_than: timedelta = STALE_CALL,
    config: Mapping[str, Any] | None = None,
):
    """Close IVR attempts whose status callback never came (3.16); return how many.

    A case an agent holds meanwhile is left alone, and so is every attempt of
    a closed wave (its cases are frozen).
    """
    stale = session.exec(
        select(CallAttempt)
        .join(Case, Case.id == CallAttempt.case_id)
        .where(
            CallAttempt.channel == IVR,
            CallAttempt.ended_at.is_(None),
            CallAttempt.started_at < now - older_than,
            Case.draw_id.in_(queue.OPEN_DRAWS),
        )
    ).all()
    closed = 0
    for attempt in stale:
        case = session.get(Case, attempt.case_id)
        if case.claimed_by is not None:
            continue
        if case.status == CaseStatus.FINAL:
            attempt.ended_at = now
            attempt.note = "no status callback from the provider"
            session.add(attempt)
        else:
            calling_attempts.record_outcome(
                session,
                case,
                attempt,
                TECHNICAL,
                actor=None,
                now=now,
                note="no status callback from the provider",
                calling=calling_settings.for_case(session, case, config),
            )
        closed += 1
    return closed


UNRESOLVED = object()  # the provider could not be asked whether an uncertain call exists


def _resolve_uncertain(provider: Provider, number: str, attempt: CallAttempt, why: str):
    """The call id of an uncertain placement, None if no call exists, or UNRESOLVED."""
    find = getattr(provider, "find_call", None)
    if find is None:
        return None
    try:
        return find(to=number, since=attempt.started_at)
    except Exception:
        return UNRESOLVED


def dial_due_cases(
    session: Session,
    *,
    provider: Provider,
    vault,
    limit: int,
    now: datetime | None = None,
    webhook_base: str,
    token_key: str | bytes,
    config: Mapping[str, Any] | None = None,
    checkpoint: Callable[[], None] | None = None,
) -> DialResult:
    """Claim due cases, open an IVR attempt for each and have ``provider`` dial them.

    ``vault`` decrypts the numbers (only here, only to dial). ``checkpoint``,
    when given, runs after the attempts exist and before the first call is
    placed: pass ``session.commit`` so the provider's first webhook finds its
    attempt. ``config`` (the app's) gives the default ``TIMEZONE`` of the
    waves' calling settings. A refused
    call gets its outcome at once (4.31 for a number the provider calls
    invalid, else 3.16).
    """
    now = now or utcnow()
    result = DialResult()
    result.expired = expire_stale_calls(session, now=now, config=config)
    result.window_open = _any_window_open(session, now, config)
    claimed = claim_due_cases(session, limit=limit, now=now, config=config)
    session.flush()
    if checkpoint is not None:
        checkpoint()
    client_ids = [case.client_id for case, _attempt in claimed]
    clients = (
        {c.id: c for c in session.exec(select(Client).where(Client.id.in_(client_ids))).all()}
        if claimed
        else {}
    )
    for case, attempt in claimed:
        voice_url, status_url = webhook_urls(
            webhook_base, attempt.id, attempt_token(token_key, attempt.id)
        )
        client = clients[case.client_id]
        number = vault.decrypt(client.phone_enc)
        try:
            call_id = provider.place_call(
                to=number, webhook_url=voice_url, status_callback_url=status_url
            )
        except CallUncertain as exc:
            # The call may exist: ask the provider before anything could redial it.
            call_id = _resolve_uncertain(provider, number, attempt, str(exc))
            if call_id is None:
                why = f"{exc}; the provider has no such call"
                calling_attempts.record_outcome(
                    session, case, attempt, TECHNICAL, actor=None, now=now, note=why
                )
                result.failed.append((case.id, TECHNICAL, why))
                joint.after_unit(session, case, attempt, actor=None)
                continue
            if call_id is UNRESOLVED:
                # Neither placed nor known not to be: the attempt stays open (no
                # redial) until its status callback or the stale-call expiry.
                attempt.note = f"{exc}; lookup failed, the call may exist"
                session.add(attempt)
                result.failed.append((case.id, "", attempt.note))
                continue
        except CallRejected as exc:
            outcome = NON_WORKING if exc.invalid_number else TECHNICAL
            calling_attempts.record_outcome(
                session, case, attempt, outcome, actor=None, now=now, note=str(exc)
            )
            result.failed.append((case.id, outcome, str(exc)))
            joint.after_unit(session, case, attempt, actor=None)
            continue
        except Exception as exc:
            # The calls already placed cannot be taken back, so one failure must not
            # roll back the others' attempts: record it as a technical problem.
            why = f"{type(exc).__name__}: {exc}"
            calling_attempts.record_outcome(
                session, case, attempt, TECHNICAL, actor=None, now=now, note=why
            )
            result.failed.append((case.id, TECHNICAL, why))
            joint.after_unit(session, case, attempt, actor=None)
            continue
        for _member, row in joint.members(session, attempt):
            row.provider_call_id = call_id  # one call covers every unit's attempt
            session.add(row)
        audit.record(
            session,
            user=None,
            action="ivr.dial",
            object_type="case",
            object_id=case.id,
            attempt=attempt.id,
            provider=provider.name,
        )
        result.placed.append((case.id, call_id))
    session.flush()
    return result


def _any_window_open(session, now, config) -> bool:
    """Whether some open wave's day-parts let some client kind be called at ``now``."""
    return any(
        CallingSettings.for_wave(wave, config).kinds_open(now) for wave in _open_waves(session)
    )
