"""Alibaba ``SmartCall``: the per-turn callback and the (optional) receipt push.

Routes (exempt from CSRF; Alibaba signs neither, see below):

- ``/ivr/aliyun/turn/<token>``: one event of a call (a key, silence, speech);
  answers JSON naming the next prompt (:mod:`~survey_service.calls.telephony.aliyun_turns`).
- ``/ivr/aliyun/receipts/<kind>/<token>``: VoiceReport / VoiceCallReport pushed
  over HTTP; off unless ``ALIYUN_PUSH_ALLOWED_IPS`` is set (MNS is the
  normal route, pulled by the worker).

A turn is let in only with ``ALIYUN_CALLBACK_TOKEN`` in the URL and a
DynamicId signed by this app (HMAC under ``SECRET_KEY``) whose call id
matches the attempt's. The interview advances through the same service
calls as the Twilio webhooks (``calls.interviews.state`` / ``answer``); a
resent turn stores nothing twice. A turn answers without waiting on the
network: a few SQL statements, no provider call.
"""

from __future__ import annotations

import hmac
import json

from flask import Blueprint, abort, current_app, g, jsonify, request

import call_scripts
from survey_service.calls import interviews, joint
from survey_service.calls import ivr as ivr_calls
from survey_service.calls.telephony import aliyun_turns as turns
from survey_service.calls.telephony.aliyun_codes import RECEIPT_TYPES, receipt_key
from survey_service.calls.telephony.aliyun_provider import AliyunProvider
from survey_service.calls.telephony.aliyun_receipts import (
    SeenReceipts,
    apply_receipt,
    parse_networks,
    push_allowed,
    receipts_in,
)

from ..db import get_session, transaction
from ..errors import Conflict, NotFound
from ..models import CallAttempt, Case
from ..security import csrf

bp = Blueprint("ivr_aliyun", __name__)
csrf.exempt(bp)

IVR = call_scripts.IVR


def aliyun() -> AliyunProvider:
    """The app's Alibaba provider; 404 when the app dials through another provider."""
    provider = current_app.extensions.get("telephony")
    if isinstance(provider, AliyunProvider):
        return provider
    if current_app.config.get("TELEPHONY_PROVIDER") != "aliyun":
        abort(404)
    provider = AliyunProvider.from_config(current_app.config)
    current_app.extensions["telephony"] = provider
    return provider


def _voice_files() -> dict[str, str]:
    """``ALIYUN_VOICE_FILES``: item id (or ``script:item``) -> approved voice-file code."""
    value = current_app.config.get("ALIYUN_VOICE_FILES") or {}
    return json.loads(value) if isinstance(value, str) else dict(value)


def _key() -> str:
    return current_app.config["SECRET_KEY"]


def _answer(prompt, state: turns.TurnState, *, hangup: bool = False):
    provider = aliyun()
    body = turns.reply(
        prompt,
        turns.dynamic_id(_key(), state),
        hangup=hangup,
        mute_time_ms=None if hangup or prompt is None else provider.mute_time_ms,
    )
    return jsonify(body)


def _say_state(
    state: interviews.InterviewState,
    attempt: CallAttempt,
    try_no: int = 0,
    notice: str | None = None,
):
    """The reply for where the interview stands: the due item, or the closing words."""
    files = _voice_files()
    if state.item is None:
        status = state.status if state.status != call_scripts.IN_PROGRESS else "complete"
        prompt = turns.closing_prompt(state.script, state.context, status, voice_files=files)
        return _answer(prompt, turns.TurnState(attempt.id, turns.NOT_STARTED), hangup=True)
    if try_no > state.script.ivr.max_retries:
        prompt = turns.give_up_prompt(state.script, state.context, voice_files=files)
        return _answer(prompt, turns.TurnState(attempt.id, state.item.id, try_no), hangup=True)
    prompt = turns.item_prompt(
        state.script, state.item, state.context, try_no, notice=notice, voice_files=files
    )
    return _answer(prompt, turns.TurnState(attempt.id, state.item.id, try_no))


def _load(turn: turns.Turn) -> tuple[turns.TurnState, CallAttempt, Case]:
    """The turn's state and call, in one statement (the case's wave, unit, client with it)."""
    state = turns.parse_dynamic_id(_key(), turn.dynamic_id)
    if state is None:
        abort(403)
    try:
        call = ivr_calls.open_call(
            get_session(), attempt_id=state.attempt_id, token=None, key=_key(), lock=False
        )
    except NotFound:
        abort(404)
    if call.attempt.provider_call_id and turn.call_id != call.attempt.provider_call_id:
        abort(403)  # a valid DynamicId, but another call's
    g.ivr_call = call  # keeps the loaded rows in the session for the rest of the turn
    return state, call.attempt, call.case


@bp.route("/turn/<token>", methods=["POST"])
def turn(token: str):
    """Answer one SmartCall callback with the next prompt."""
    provider = aliyun()
    if not hmac.compare_digest(token.encode(), provider.callback_token.encode()):
        abort(403)
    event = turns.parse_turn(request.values)
    state, attempt, case = _load(event)
    session = get_session()
    at = joint.current(session, attempt)  # a call covering several units: the one it is at
    if at is None:
        return _say_state(interviews.state(session, case, IVR), attempt)
    case, unit_attempt = at
    if state.item_id == turns.NOT_STARTED:
        now = interviews.state(session, case, IVR)
        notice = joint.unit_notice(session, case, unit_attempt) if not now.answers else None
        return _say_state(now, attempt, notice=notice)
    if event.content_type == turns.DTMF:
        digits = event.digits
    elif event.content_type == turns.MUTE:
        digits = ""  # no key within the wait: Twilio's empty <Gather>
    else:
        return _answer(None, state)  # speech: keys only, the prompt goes on
    if joint.resent_to_previous_unit(session, case, unit_attempt, state.item_id, digits):
        # The previous unit's last key again (Alibaba retried the turn): the same reply.
        notice = joint.unit_notice(session, case, unit_attempt)
        return _say_state(interviews.state(session, case, IVR), attempt, notice=notice)
    try:
        with transaction(session):
            interpretation, new = interviews.answer(
                session,
                case,
                unit_attempt,
                state.item_id,
                digits,
                channel=IVR,
                ivr_try=state.try_no,
            )
            following = joint.after_unit(session, case, unit_attempt, actor=None, channel=IVR)
            if following is not None:
                # This unit's script ended (complete or screened out): the next unit's.
                new = interviews.state(session, following, IVR)
                notice = joint.unit_notice(session, following, unit_attempt)
                return _say_state(new, attempt, notice=notice)
    except (Conflict, call_scripts.ScriptUsageError):
        # Not the item now due (an old or resent turn): read the due item afresh.
        return _say_state(interviews.state(session, case, IVR), attempt)
    if interpretation.action == "repeat":
        return _say_state(new, attempt, state.try_no)
    if interpretation.action == "invalid":
        return _say_state(new, attempt, state.try_no + 1, interpretation.message)
    return _say_state(new, attempt)


@bp.route("/receipts/<kind>/<token>", methods=["POST"])
def receipts(kind: str, token: str):
    """Take pushed receipts: only from the configured sources with the URL token, once each."""
    config = current_app.config
    networks = parse_networks(config.get("ALIYUN_PUSH_ALLOWED_IPS"))
    if not networks:
        abort(404)  # the push is off: receipts come from MNS
    if kind not in RECEIPT_TYPES:
        abort(404)
    allowed = push_allowed(
        request.remote_addr,
        token,
        expected_token=config.get("ALIYUN_CALLBACK_TOKEN") or "",
        networks=networks,
    )
    if not allowed:
        abort(403)
    try:
        items = receipts_in(request.get_data())
    except ValueError:
        return jsonify({"code": 1, "msg": "无法解析"}), 400
    session = get_session()
    seen = current_app.extensions.setdefault("aliyun_receipts_seen", SeenReceipts())
    for item in items:
        key = receipt_key(kind, item)
        if seen.seen(key):
            continue  # the push repeats; applying again would change nothing anyway
        with transaction(session):
            apply_receipt(session, kind, item)
        seen.add(key)
    return jsonify({"code": 0, "msg": "接收成功"})
