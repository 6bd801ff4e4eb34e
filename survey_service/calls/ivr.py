"""Automated IVR calls: which cases to dial now, placing the calls, and how each call ended.

Rules (queXS/BRFSS practice, see the domain brief):

- a case is dialled only inside a local calling window (Asia/Shanghai):
  individuals 18:00–21:00 on any day, everyone 09:00–17:00 on weekdays;
  enterprises are not called in the evening. Start inclusive, end exclusive.
- at most :data:`MAX_IVR_CALLS` IVR calls per case, and none once the
  respondent has answered an item of the interview proper
  (:func:`call_scripts.has_substantive_answer`);
- only released, pending, due cases of an open wave with no call in progress.

The webhooks find a call's attempt by its id and :func:`attempt_token`, an
HMAC of the id under the app's secret key: the URL cannot be guessed from the
sequential id, and nothing but the attempt row has to be stored.

How a call's end becomes the attempt's AAPOR outcome (:func:`record_call_end`):

==================  =========================================================
provider's end      outcome of the attempt (if the case is not final yet)
==================  =========================================================
no-answer           3.13 no answer (temporary: redial in 3 hours)
busy                3.12 busy (temporary)
failed              3.16 technical problem (temporary)
invalid-number      4.31 non-working number (final, not eligible)
machine             3.14 answering machine, unknown whose (temporary)
canceled            3.90 other, unknown eligibility (temporary)
answered, then      the interview's state on the IVR channel:
hung up              ``partial`` → 1.2 (final);
                     a substantive answer given → 2.12 break-off (final);
                     only screening/consent answered → 2.21 (eligible, not
                     interviewed yet; temporary), answers dropped so the
                     next call starts again with the introduction;
                     nothing answered → 3.90 (temporary).
==================  =========================================================

An interview that reaches its end during the call was already finished by
:func:`interviews.answer` (1.1, 4.70, 2.11 or the 2.21 "not now"), so its
status callback changes nothing; neither does a resent one.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, exists, func, or_, update
from sqlmodel import Session, select

import call_scripts
from survey_service import audit
from survey_service.calls import attempts as calling
from survey_service.calls import interviews
from survey_service.calls.telephony import (
    ANSWERED,
    BUSY,
    CANCELED,
    FAILED,
    INVALID_NUMBER,
    MACHINE,
    NO_ANSWER,
    CallRejected,
    Provider,
)
from survey_service.errors import NotFound
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

IVR = call_scripts.IVR
MAX_IVR_CALLS = 3
# An IVR attempt still open this long after dialling lost its status callback.
STALE_CALL = timedelta(hours=1)
TIMEZONE = "Asia/Shanghai"

# Paths of the webhooks under the app root (the ivr blueprint serves them at /ivr).
VOICE_PATH = "/ivr/call/{attempt_id}/{token}/voice"
STATUS_PATH = "/ivr/call/{attempt_id}/{token}/status"

# The provider's end of a call that was not answered -> AAPOR outcome of the attempt.
UNANSWERED_OUTCOME = {
    NO_ANSWER: "3.13",
    BUSY: "3.12",
    FAILED: "3.16",
    INVALID_NUMBER: "4.31",
    MACHINE: "3.14",
    CANCELED: "3.90",
}
PARTIAL_OUTCOME = "1.2"
BREAK_OFF_OUTCOME = "2.12"
ELIGIBLE_NOT_INTERVIEWED = "2.21"
NOTHING_KNOWN = "3.90"

ALL_DAYS = frozenset(range(7))
WEEKDAYS = frozenset(range(5))  # Monday=0 ... Friday=4


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


def kinds_open(
    windows: Iterable[CallingWindow], now: datetime, timezone: str = TIMEZONE
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


def attempt_token(key: str | bytes, attempt_id: int) -> str:
    """The unguessable part of an attempt's webhook URLs (HMAC-SHA256 of its id)."""
    secret = key.encode() if isinstance(key, str) else key
    digest = hmac.new(secret, f"ivr-call:{attempt_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def webhook_urls(base: str, attempt_id: int, token: str) -> tuple[str, str]:
    """The voice and status-callback URLs of an attempt under the public ``base`` URL."""
    root = base.rstrip("/")
    values = {"attempt_id": attempt_id, "token": token}
    return root + VOICE_PATH.format(**values), root + STATUS_PATH.format(**values)


def load_call(
    session: Session, *, attempt_id: int, token: str, key: str | bytes
) -> tuple[CallAttempt, Case]:
    """The IVR attempt a webhook URL names, and its case.

    :raise NotFound: if the token is wrong or the attempt is not an IVR call.
    """
    if not hmac.compare_digest(attempt_token(key, attempt_id), token):
        raise NotFound("未知的通话")
    attempt = session.get(CallAttempt, attempt_id)
    if attempt is None or attempt.channel != IVR:
        raise NotFound("未知的通话")
    return attempt, session.get(Case, attempt.case_id)


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


def _candidates(session: Session, *, now: datetime, kinds, max_calls: int, exclude, limit: int):
    ivr_calls = (
        select(func.count(CallAttempt.id))
        .where(CallAttempt.case_id == Case.id, CallAttempt.channel == IVR)
        .scalar_subquery()
    )
    open_call = exists().where(CallAttempt.case_id == Case.id, CallAttempt.ended_at.is_(None))
    query = (
        select(Case.id)
        .join(Client, Client.id == Case.client_id)
        .join(SampleDraw, SampleDraw.id == Case.draw_id)
        .join(SurveyWave, SurveyWave.id == SampleDraw.wave_id)
        .where(
            Case.released,
            Case.status == CaseStatus.PENDING,
            or_(Case.next_attempt_at.is_(None), Case.next_attempt_at <= now),
            SurveyWave.status == WaveStatus.OPEN,
            ivr_calls < max_calls,
            ~open_call,
        )
        .order_by(
            Case.next_attempt_at.is_(None),
            Case.next_attempt_at,
            Case.attempts,
            Case.replicate,
            Case.id,
        )
        .limit(limit)
    )
    if kinds is not None:
        named = [k for k in kinds if k is not None]
        condition = Client.kind.in_(named)
        query = query.where(or_(condition, Client.kind.is_(None)) if None in kinds else condition)
    if exclude:
        query = query.where(Case.id.not_in(exclude))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Case, skip_locked=True)
    return session.exec(query).all()


def claim_due_cases(
    session: Session,
    *,
    limit: int,
    now: datetime,
    windows: Iterable[CallingWindow] = DEFAULT_WINDOWS,
    timezone: str = TIMEZONE,
    max_calls: int = MAX_IVR_CALLS,
) -> list[tuple[Case, CallAttempt]]:
    """Claim up to ``limit`` cases that may be called by IVR now, each with a new attempt.

    The claim is a conditional UPDATE (pending → in_progress), so an agent
    taking the same case at the same moment gets it or the IVR does, never both.
    Consent or screening answers left by an earlier call are dropped, so that
    the call starts with the introduction (eligibility stays on the case).
    """
    kinds = kinds_open(windows, now, timezone)
    if kinds is not None and not kinds:
        return []
    claimed: list[tuple[Case, CallAttempt]] = []
    seen: set[int] = set()
    scripts: dict[int, call_scripts.Script] = {}
    while len(claimed) < limit:
        batch = _candidates(
            session,
            now=now,
            kinds=kinds,
            max_calls=max_calls,
            exclude=seen,
            limit=limit - len(claimed),
        )
        if not batch:
            break
        for case_id in batch:
            seen.add(case_id)
            case = session.get(Case, case_id)
            answers = _answers(session, case)
            if _answered_an_item(session, case, answers, scripts):
                continue  # no IVR call after the respondent answered an item
            result = session.execute(
                update(Case)
                .where(Case.id == case_id, Case.status == CaseStatus.PENDING)
                .values(status=CaseStatus.IN_PROGRESS, claimed_by=None, claimed_at=now)
            )
            if result.rowcount != 1:
                continue  # an agent took it meanwhile
            session.refresh(case)
            if answers:
                # Only consent/screening answers from an earlier call: an IVR call must
                # start with the introduction (who calls, recording, confidentiality).
                session.execute(delete(Answer).where(Answer.case_id == case.id))
            attempt = calling.start_attempt(session, case, agent=None, channel=IVR, now=now)
            claimed.append((case, attempt))
    return claimed


def expire_stale_calls(session: Session, *, now: datetime, older_than: timedelta = STALE_CALL):
    """Close IVR attempts whose status callback never came (3.16); return how many.

    A case an agent holds meanwhile is left alone.
    """
    stale = session.exec(
        select(CallAttempt).where(
            CallAttempt.channel == IVR,
            CallAttempt.ended_at.is_(None),
            CallAttempt.started_at < now - older_than,
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
            calling.record_outcome(
                session,
                case,
                attempt,
                "3.16",
                actor=None,
                now=now,
                note="no status callback from the provider",
            )
        closed += 1
    return closed


def dial_due_cases(
    session: Session,
    *,
    provider: Provider,
    vault,
    limit: int,
    now: datetime | None = None,
    webhook_base: str,
    token_key: str | bytes,
    windows: Iterable[CallingWindow] = DEFAULT_WINDOWS,
    timezone: str = TIMEZONE,
    max_calls: int = MAX_IVR_CALLS,
    checkpoint: Callable[[], None] | None = None,
) -> DialResult:
    """Claim due cases, open an IVR attempt for each and have ``provider`` dial them.

    ``vault`` decrypts the numbers (only here, only to dial). ``checkpoint``,
    when given, runs after the attempts exist and before the first call is
    placed: pass ``session.commit`` so the provider's first webhook finds its
    attempt. A refused call gets its outcome at once (4.31 for a number the
    provider calls invalid, else 3.16).
    """
    now = now or utcnow()
    result = DialResult()
    result.expired = expire_stale_calls(session, now=now)
    windows = tuple(windows)
    open_kinds = kinds_open(windows, now, timezone)
    result.window_open = open_kinds is None or bool(open_kinds)
    claimed = claim_due_cases(
        session, limit=limit, now=now, windows=windows, timezone=timezone, max_calls=max_calls
    )
    session.flush()
    if checkpoint is not None:
        checkpoint()
    for case, attempt in claimed:
        voice_url, status_url = webhook_urls(
            webhook_base, attempt.id, attempt_token(token_key, attempt.id)
        )
        client = session.get(Client, case.client_id)
        try:
            call_id = provider.place_call(
                to=vault.decrypt(client.phone_enc),
                webhook_url=voice_url,
                status_callback_url=status_url,
            )
        except CallRejected as exc:
            outcome = "4.31" if exc.invalid_number else "3.16"
            calling.record_outcome(
                session, case, attempt, outcome, actor=None, now=now, note=str(exc)
            )
            result.failed.append((case.id, outcome, str(exc)))
            continue
        except Exception as exc:
            # The calls already placed cannot be taken back, so one failure must not
            # roll back the others' attempts: record it as a technical problem.
            why = f"{type(exc).__name__}: {exc}"
            calling.record_outcome(session, case, attempt, "3.16", actor=None, now=now, note=why)
            result.failed.append((case.id, "3.16", why))
            continue
        attempt.provider_call_id = call_id
        session.add(attempt)
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


def outcome_of_answered_call(session: Session, case: Case) -> str:
    """The outcome of an answered IVR call that ended before the script did (see above)."""
    state = interviews.state(session, case, IVR)
    if state.status == call_scripts.PARTIAL:
        return PARTIAL_OUTCOME
    if call_scripts.has_substantive_answer(state.script, state.answers):
        return BREAK_OFF_OUTCOME
    if state.answers:
        return ELIGIBLE_NOT_INTERVIEWED
    return NOTHING_KNOWN


def record_call_end(
    session: Session,
    case: Case,
    attempt: CallAttempt,
    end_status: str,
    *,
    now: datetime | None = None,
    note: str | None = None,
) -> str | None:
    """Give the attempt its outcome from how the call ended; None if there is nothing to do.

    Nothing changes when the attempt is already closed (the interview ended it,
    or this is a resent callback). When the case became final some other way,
    the attempt is only closed.
    """
    if attempt.ended_at is not None:
        return None
    now = now or utcnow()
    if case.status == CaseStatus.FINAL:
        attempt.ended_at = now
        attempt.note = note
        session.add(attempt)
        return None
    if end_status == ANSWERED:
        outcome = outcome_of_answered_call(session, case)
        if outcome in (ELIGIBLE_NOT_INTERVIEWED, NOTHING_KNOWN):
            # Nothing substantive was said: the next call starts with the introduction.
            session.execute(delete(Answer).where(Answer.case_id == case.id))
    else:
        outcome = UNANSWERED_OUTCOME.get(end_status, NOTHING_KNOWN)
    calling.record_outcome(session, case, attempt, outcome, actor=None, now=now, note=note)
    return outcome
