"""Automated IVR calls once placed: the webhooks' URLs and how each call ended.

Which cases are dialled, and placing the calls, is :mod:`.dialling`. The
webhooks find a call's attempt by its id and :func:`attempt_token`, an HMAC
of the id under the app's secret key: the URL cannot be guessed from the
sequential id, and nothing but the attempt row has to be stored.

How a call's end becomes the attempt's AAPOR outcome (:func:`record_call_end`):

==================  =========================================================
provider's end      outcome of the attempt (if the case is not final yet)
==================  =========================================================
no-answer           3.13 no answer (temporary: redialled after the wave's gap)
busy                3.12 busy (temporary)
failed              3.16 technical problem (temporary)
invalid-number      4.31 non-working number (final, not eligible)
machine             3.14 answering machine, unknown whose (temporary); 2.22
                    if the respondent was reached before (their machine)
fax                 4.20 fax or data line (final, not eligible)
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
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, exists, or_, update
from sqlalchemy.orm import load_only
from sqlmodel import Session, select

import call_scripts
from survey_service import audit
from survey_service import dispositions as aapor
from survey_service.calls import attempts as calling_attempts
from survey_service.calls import interviews
from survey_service.calls.settings import Calling
from survey_service.calls.telephony import (
    ANSWERED,
    BUSY,
    CANCELED,
    FAILED,
    FAX,
    INVALID_NUMBER,
    MACHINE,
    NO_ANSWER,
)
from survey_service.calls.telephony.base import Recording
from survey_service.errors import NotFound
from survey_service.models import (
    Answer,
    CallAttempt,
    Case,
    CaseStatus,
    Client,
    SampleDraw,
    SurveyWave,
    Unit,
    WaveStatus,
    utcnow,
)

IVR = call_scripts.IVR
log = logging.getLogger(__name__)

# Paths of the webhooks under the app root (the ivr blueprint serves them at /ivr).
VOICE_PATH = "/ivr/call/{attempt_id}/{token}/voice"
STATUS_PATH = "/ivr/call/{attempt_id}/{token}/status"
GATHER_PATH = "/ivr/call/{attempt_id}/{token}/gather/{item_id}/{try_no}"

# The provider's end of a call that was not answered -> AAPOR outcome of the attempt.
UNANSWERED_OUTCOME = {
    NO_ANSWER: aapor.NO_ANSWER,
    BUSY: aapor.ALWAYS_BUSY,
    FAILED: aapor.TECHNICAL,
    INVALID_NUMBER: aapor.NON_WORKING,
    MACHINE: aapor.MACHINE_UNKNOWN,
    CANCELED: aapor.OTHER_UNKNOWN,
    FAX: aapor.FAX_DATA,
}
PARTIAL_OUTCOME = aapor.PARTIAL
BREAK_OFF_OUTCOME = aapor.BREAK_OFF
ELIGIBLE_NOT_INTERVIEWED = aapor.NEVER_AVAILABLE
NOTHING_KNOWN = aapor.OTHER_UNKNOWN


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


@dataclass(frozen=True)
class Call:
    """An IVR webhook's call: its attempt, case, wave, and the unit and client named on it.

    Loaded in one statement (:func:`open_call`); the case's draw, wave, unit
    and client then sit in the session, so the interview and the calling
    settings read them without another query.
    """

    attempt: CallAttempt
    case: Case
    wave: SurveyWave
    # Held so that the session keeps them (its identity map holds objects weakly).
    draw: SampleDraw
    unit: Unit
    client: Client

    @property
    def wave_open(self) -> bool:
        """Whether the case's wave still takes answers (closed and published waves are frozen)."""
        return self.wave.status == WaveStatus.OPEN


# Built once: a webhook runs them with the attempt id bound (no query to build per request).
# The draw, unit and client only with what the webhooks read of them (the interview's
# placeholders, the wave, the client's kind for the calling rules): fewer columns to
# fetch and load. Any other attribute is loaded when first read, as for any deferred one.
_CALL = (
    select(CallAttempt, Case, SampleDraw, SurveyWave, Unit, Client)
    .join(Case, Case.id == CallAttempt.case_id)
    .join(SampleDraw, SampleDraw.id == Case.draw_id)
    .join(SurveyWave, SurveyWave.id == SampleDraw.wave_id)
    .join(Unit, Unit.id == Case.unit_id)
    .join(Client, Client.id == Case.client_id)
    .where(CallAttempt.id == bindparam("attempt_id"))
    .options(
        load_only(SampleDraw.wave_id),
        load_only(Unit.name),
        load_only(Client.service, Client.service_date, Client.kind),
    )
    .execution_options(populate_existing=True)
)
_CALL_FOR_UPDATE = _CALL.with_for_update(of=CallAttempt)
# SQLite's lock: a write that changes nothing (on the table: no ORM bookkeeping, the
# SELECT after it loads the row afresh).
_ATTEMPTS = CallAttempt.__table__
_TOUCH = (
    update(_ATTEMPTS)
    .where(_ATTEMPTS.c.id == bindparam("attempt_id"))
    .values(provider_call_id=_ATTEMPTS.c.provider_call_id)
)


# A status callback in order, for an IVR attempt of an open wave, is only its number: one
# UPDATE (see :func:`take_status_sequence`). ``ended``: the callback reports the end.
_OF_OPEN_WAVE = exists().where(
    Case.id == _ATTEMPTS.c.case_id,
    SampleDraw.id == Case.draw_id,
    SurveyWave.id == SampleDraw.wave_id,
    SurveyWave.status == WaveStatus.OPEN,
)
_TAKE_SEQUENCE = (
    update(_ATTEMPTS)
    .where(
        _ATTEMPTS.c.id == bindparam("attempt_id"),
        _ATTEMPTS.c.channel == IVR,
        _ATTEMPTS.c.provider_call_id == bindparam("call_id"),
        or_(
            _ATTEMPTS.c.status_sequence.is_(None),
            _ATTEMPTS.c.status_sequence < bindparam("sequence"),
        ),
        _OF_OPEN_WAVE,
    )
    .values(status_sequence=bindparam("sequence"))
    .returning(_ATTEMPTS.c.id)
)
# An end changes more than the number unless the attempt (not a joint call's) was closed
# already, by the interview or an earlier end.
_TAKE_END_SEQUENCE = _TAKE_SEQUENCE.where(
    _ATTEMPTS.c.ended_at.is_not(None), _ATTEMPTS.c.call_group.is_(None)
)


def check_token(key: str | bytes, attempt_id: int, token: str) -> None:
    """:raise NotFound: unless ``token`` is the attempt's :func:`attempt_token`."""
    if not hmac.compare_digest(attempt_token(key, attempt_id), token):
        raise NotFound("未知的通话")


def take_status_sequence(
    session: Session, *, attempt_id: int, call_id: str, sequence: int, ended: bool
) -> bool:
    """Record a status callback that only moves the call's number on, in one statement.

    True when the callback was for this IVR call (``call_id`` its provider's id),
    of an open wave, newer than every one seen, and changes nothing else: an
    early event (initiated, ringing, answered; ``ended`` False), or an end after
    the attempt was closed (not of a joint call). The UPDATE locks the row, so
    concurrent callbacks of one call run one after the other and each checks
    the number the one before stored. False: nothing was changed and the
    caller takes the general path (:func:`open_call`), which finds why (an
    unknown or another call, a frozen wave, an old number, an end to record).
    The caller has checked the token (:func:`check_token`).
    """
    if not call_id:
        return False
    row = session.execute(
        _TAKE_END_SEQUENCE if ended else _TAKE_SEQUENCE,
        {"attempt_id": attempt_id, "call_id": call_id, "sequence": sequence},
    ).first()
    return row is not None


def open_call(
    session: Session, *, attempt_id: int, token: str | None, key: str | bytes, lock: bool
) -> Call:
    """The IVR call a webhook names, in one statement (two to lock on SQLite).

    ``token`` is the URL's :func:`attempt_token` (None: the caller checked the
    call another way, e.g. Alibaba's signed DynamicId). With ``lock`` the
    webhook's unit of work begins by locking the attempt: deliveries of one
    call (a resent gather, a repeated status callback, or the two at once)
    then run one after the other, and each sees what the one before stored:
    one answer, one outcome, one count, the same reply. On PostgreSQL the
    attempt row is taken ``FOR UPDATE``; SQLite has one writer at a time, so
    the transaction starts with a write (a read first would pin a snapshot
    that a concurrent commit makes stale, and the later write would fail at
    once instead of waiting).

    :raise NotFound: if the token is wrong or the attempt is not an IVR call.
    """
    if token is not None:
        check_token(key, attempt_id, token)
    query = _CALL
    if lock:
        if session.get_bind().dialect.name == "postgresql":
            # Read committed: the locking SELECT reads afresh whatever ran before it (no
            # rollback: psycopg would drop the connection's prepared statements).
            query = _CALL_FOR_UPDATE
        else:
            session.rollback()  # end any read snapshot of the request so far
            session.execute(_TOUCH, {"attempt_id": attempt_id})
    row = session.exec(query, params={"attempt_id": attempt_id}).first()
    if row is None or row[0].channel != IVR:
        raise NotFound("未知的通话")
    attempt, case, draw, wave, unit, client = row
    return Call(attempt, case, wave, draw, unit, client)


def store_recording(session: Session, attempt: CallAttempt, recording: Recording) -> bool:
    """Keep the call's recording reference on its attempt, once; return whether it changed.

    A resent callback changes nothing; a second, different recording of the
    same call is logged and the first reference kept (the one reviewers saw).
    """
    if attempt.recording_ref == recording.ref:
        return False
    if attempt.recording_ref is not None:
        log.info("attempt %s already has a recording: %s ignored", attempt.id, recording.sid)
        return False
    attempt.recording_ref = recording.ref[:200]
    session.add(attempt)
    audit.record(
        session,
        user=None,
        action="ivr.recording",
        object_type="call_attempt",
        object_id=attempt.id,
        recording=recording.sid,
    )
    return True


def newer_status(attempt: CallAttempt, sequence: int | None) -> bool:
    """Whether a status callback numbered ``sequence`` comes after every one seen so far.

    Providers may deliver status callbacks out of order and more than once; a
    callback that is not newer than the last one recorded changes nothing.
    Callbacks without a number are taken (nothing to compare them by); once
    the attempt is closed its end is final whatever arrives later.
    """
    if sequence is None or attempt.status_sequence is None:
        return True
    return sequence > attempt.status_sequence


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
    calling: Calling = None,
) -> str | None:
    """Give the attempt its outcome from how the call ended; None if there is nothing to do.

    ``calling`` are the wave's calling settings, or a function that builds them
    (default: loaded from the wave).

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
    elif end_status == MACHINE and case.ever_eligible:
        # The respondent was reached before: the machine is theirs (2.22), not unknown.
        outcome = aapor.RESPONDENT_MACHINE
    else:
        outcome = UNANSWERED_OUTCOME.get(end_status, NOTHING_KNOWN)
    calling_attempts.record_outcome(
        session, case, attempt, outcome, actor=None, now=now, note=note, calling=calling
    )
    return outcome
