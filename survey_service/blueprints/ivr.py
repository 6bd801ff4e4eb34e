"""Automated IVR calls: the telephony provider's webhooks (signed requests only).

Routes (all POST, exempt from CSRF: the provider's signature protects them):

- ``/ivr/call/<attempt>/<token>/voice``: the call was answered; say the next item.
- ``/ivr/call/<attempt>/<token>/gather/<item>/<try>``: the key pressed for an item.
- ``/ivr/call/<attempt>/<token>/status``: the call ended (no answer, busy, hung up...).
- ``/ivr/call/<attempt>/<token>/recording``: the call's recording is stored
  (RecordingSid, RecordingUrl): kept as the attempt's ``recording_ref``.

Every view first checks the provider's signature over the URL the provider
called (``PUBLIC_BASE_URL`` + path when the app sits behind a proxy) and the
posted fields; a failed check is a 403 that changes nothing. The token is an
HMAC of the attempt id (:func:`survey_service.calls.ivr.attempt_token`), so a URL cannot be
guessed from the sequential id. The TwiML comes from :mod:`call_scripts`
only; a resent webhook answers the same TwiML and stores nothing twice.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from functools import wraps

from flask import Blueprint, Response, abort, current_app, request

import call_scripts
from survey_service.calls import interviews, joint
from survey_service.calls import ivr as ivr_calls
from survey_service.calls import settings as calling_settings
from survey_service.calls.settings import CallingSettings
from survey_service.calls.telephony import Provider, get_provider

from ..db import get_session, transaction
from ..errors import NotFound
from ..models import CallAttempt, Case
from ..security import csrf

log = logging.getLogger(__name__)

bp = Blueprint("ivr", __name__)
csrf.exempt(bp)

IVR = call_scripts.IVR


def provider() -> Provider:
    """The app's telephony provider, built once from its settings."""
    if "telephony" not in current_app.extensions:
        current_app.extensions["telephony"] = get_provider(current_app.config)
    return current_app.extensions["telephony"]


def public_url(url: str) -> str:
    """``url`` (absolute, of this app) as the provider sees it, under PUBLIC_BASE_URL if set."""
    if not current_app.config.get("PUBLIC_BASE_URL"):
        return url
    root = request.url_root
    if not url.startswith(root):
        return url
    return public_root() + "/" + url[len(root) :]


def public_root() -> str:
    """This app's root URL as the provider sees it (PUBLIC_BASE_URL if set), no final slash."""
    return (current_app.config.get("PUBLIC_BASE_URL") or request.url_root).rstrip("/")


def signed_webhook(view: Callable) -> Callable:
    """Let the request in only with the provider's valid signature (else 403, nothing changed)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        telephony = provider()
        signature = request.headers.get(telephony.signature_header, "")
        if not telephony.validate_request(public_url(request.url), request.form, signature):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _twiml(body: str) -> Response:
    return Response(body, mimetype="text/xml")


def _open(attempt_id: int, token: str, *, lock: bool = False) -> ivr_calls.Call:
    """The call a signed webhook names; 404 for an unknown call, 403 for another.

    With ``lock`` this begins the webhook's unit of work (see :func:`ivr_calls.open_call`).
    """
    try:
        call = ivr_calls.open_call(
            get_session(),
            attempt_id=attempt_id,
            token=token,
            key=current_app.config["SECRET_KEY"],
            lock=lock,
        )
    except NotFound:
        abort(404)
    call_id = provider().call_id(request.form)
    if not call_id:
        abort(403)  # signed, but not about a call: refused
    if call.attempt.provider_call_id and call_id != call.attempt.provider_call_id:
        abort(403)  # a signed request, but for another call
    return call


def _frozen(call: ivr_calls.Call, kind: str) -> bool:
    """Whether the case's wave is closed; such a webhook is answered and logged, nothing else."""
    if call.wave_open:
        return False
    log.info(
        "ivr %s webhook for attempt %s of a closed wave: answered, not stored",
        kind,
        call.attempt.id,
    )
    return True


def _calling(case: Case) -> CallingSettings:
    """The calling settings of the case's wave, with the app's TIMEZONE as default."""
    return calling_settings.for_case(get_session(), case, current_app.config)


def _gather_url(attempt: CallAttempt, token: str, item_id: str, try_no: int) -> str:
    """The :func:`gather` URL of an item, as url_for would build it, by formatting a string.

    Nothing in it needs quoting: item ids are ``[a-z][a-z0-9_]*``, the token is hex.
    """
    path = ivr_calls.GATHER_PATH.format(
        attempt_id=attempt.id, token=token, item_id=item_id, try_no=try_no
    )
    return public_root() + path


def _say_state(
    state: interviews.InterviewState,
    attempt: CallAttempt,
    token: str,
    try_no: int = 0,
    notice: str | None = None,
) -> Response:
    """TwiML for where the interview stands: the due item, or the closing words."""
    if state.item is None:
        return _twiml(call_scripts.twiml_closing(state.script, state.context, state.status))
    action = _gather_url(attempt, token, state.item.id, try_no)
    return _twiml(
        call_scripts.twiml_for_item(
            state.script, state.item, state.context, action, try_no, notice=notice
        )
    )


def _goodbye(session, case: Case) -> Response:
    """The closing words and a hang-up, for a call whose wave was closed meanwhile."""
    script, context = interviews.closing_words(session, case)
    return _twiml(call_scripts.twiml_closing(script, context, "complete"))


def _after_the_call(state: interviews.InterviewState) -> Response:
    """TwiML for a webhook that arrives after the attempt was closed: goodbye, hang up."""
    status = state.status if state.status != call_scripts.IN_PROGRESS else "complete"
    return _twiml(call_scripts.twiml_closing(state.script, state.context, status))


@bp.route("/call/<int:attempt_id>/<token>/voice", methods=["POST"])
@signed_webhook
def voice(attempt_id: int, token: str):
    """Start the interview when the call is answered: read the next item.

    It only reads, yet ends its transaction with a commit: a rollback makes
    psycopg drop the connection's prepared statements (``DEALLOCATE ALL``), so
    the next requests on it would plan their statements afresh.
    """
    session = get_session()
    with transaction(session):
        call = _open(attempt_id, token)
        attempt, case = call.attempt, call.case
        if _frozen(call, "voice"):
            return _goodbye(session, case)
        at = joint.current(session, attempt)  # a call covering several units: the one it is at
        if at is None:
            return _after_the_call(interviews.state(session, case, IVR))
        state = interviews.state(session, at[0], IVR)
        notice = joint.unit_notice(session, *at) if not state.answers else None
    return _say_state(state, attempt, token, notice=notice)


@bp.route("/call/<int:attempt_id>/<token>/gather/<item_id>/<int:try_no>", methods=["POST"])
@signed_webhook
def gather(attempt_id: int, token: str, item_id: str, try_no: int):
    """Store the key pressed for an item, then read the next item, again, or say goodbye.

    Concurrent or repeated deliveries of one press run one after another on the
    locked attempt: the first stores the answer, the others find it stored and
    get the same reply.
    """
    session = get_session()
    digits = provider().digits(request.form)
    with transaction(session):
        call = _open(attempt_id, token, lock=True)
        attempt, case = call.attempt, call.case
        if _frozen(call, "gather"):
            turn = None
        else:
            # The calling settings are built only if the press records an outcome.
            turn = joint.key_press(
                session,
                attempt,
                item_id,
                digits,
                try_no=try_no,
                calling=functools.cache(lambda: _calling(case)),
            )
    if turn is None:
        return _goodbye(session, case)
    if turn.over:
        return _after_the_call(turn.state)
    # Past the script's max_retries, twiml_for_item says goodbye and hangs up.
    return _say_state(turn.state, attempt, token, turn.try_no, turn.notice)


@bp.route("/call/<int:attempt_id>/<token>/status", methods=["POST"])
@signed_webhook
def status(attempt_id: int, token: str):
    """Record how the call ended as the attempt's outcome (once, in the provider's order).

    Most callbacks only move the call's number on (initiated, ringing, answered, an
    end after the interview closed the attempt): one UPDATE
    (:func:`ivr_calls.take_status_sequence`). The others, and any it does not take,
    go the general way: the call locked and read, the end recorded.
    """
    session = get_session()
    telephony = provider()
    end = telephony.call_end(request.form)
    sequence = telephony.sequence_number(request.form)
    with transaction(session):
        if sequence is not None:
            try:
                ivr_calls.check_token(current_app.config["SECRET_KEY"], attempt_id, token)
            except NotFound:
                abort(404)
            if ivr_calls.take_status_sequence(
                session,
                attempt_id=attempt_id,
                call_id=telephony.call_id(request.form),
                sequence=sequence,
                ended=end is not None,
            ):
                return Response(status=204)
        call = _open(attempt_id, token, lock=True)
        attempt, case = call.attempt, call.case
        if _frozen(call, "status"):
            return Response(status=204)
        if not ivr_calls.newer_status(attempt, sequence):
            log.info("ivr status %s of attempt %s is out of order: ignored", sequence, attempt.id)
            return Response(status=204)
        if sequence is not None:
            attempt.status_sequence = sequence
            session.add(attempt)
        if end is not None:
            note = f"provider status {end.provider_status}"
            if end.duration_seconds is not None:
                note += f", {end.duration_seconds} s"
            calling = functools.cache(lambda: _calling(case))  # built if an outcome is recorded
            joint.record_call_end(session, attempt, end.status, note=note, calling=calling)
    return Response(status=204)


@bp.route("/call/<int:attempt_id>/<token>/recording", methods=["POST"])
@signed_webhook
def recording(attempt_id: int, token: str):
    """Keep the call's recording reference on the attempt (once; not after the wave closed)."""
    session = get_session()
    found = provider().recording(request.form)
    if found is None:
        with transaction(session):  # a commit, not a rollback (see voice)
            _open(attempt_id, token)  # 404 or 403 as for any webhook, then nothing to keep
        return Response(status=204)  # not a finished recording
    with transaction(session):
        call = _open(attempt_id, token, lock=True)
        if _frozen(call, "recording"):
            return Response(status=204)
        # A joint call's recording is the dialled (first) attempt's: it holds the call's id.
        ivr_calls.store_recording(session, call.attempt, found)
    return Response(status=204)
