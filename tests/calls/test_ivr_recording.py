"""Recording references: Twilio's recording callback (signed, once, not after close) fills them."""

from __future__ import annotations

import hashlib

from sqlmodel import select
from twilio.request_validator import RequestValidator

from survey_service.calls.telephony.base import Recording, recording_callback_url
from survey_service.calls.telephony.simulated import RECORDINGS_URL
from survey_service.calls.telephony.twilio_provider import TwilioWebhooks
from survey_service.db import transaction
from survey_service.models import AuditEvent, CallAttempt, SurveyWave, WaveStatus
from tests.calls.conftest import reload

SID = "RE" + "a" * 32
URL = f"https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/{SID}"


def _post(client, telephony, url, params, signature=None):
    if signature is None:
        signature = RequestValidator(telephony.auth_token).compute_signature(url, params)
    return client.post(url, data=params, headers={"X-Twilio-Signature": signature})


def _recording(call, **extra):
    return {
        "CallSid": call.call_id,
        "RecordingSid": SID,
        "RecordingUrl": URL,
        "RecordingStatus": "completed",
        **extra,
    }


def _attempt(session):
    session.commit()
    return session.exec(select(CallAttempt)).one()


def test_the_recording_url_sits_beside_the_status_callback():
    assert recording_callback_url("https://x/ivr/call/7/tok/status") == (
        "https://x/ivr/call/7/tok/recording"
    )
    assert recording_callback_url("s") is None
    assert Recording(SID).ref == SID and Recording(SID, URL).ref == URL


def test_twilio_reads_only_a_completed_recording():
    hooks = TwilioWebhooks("token")
    assert hooks.recording({"RecordingSid": SID, "RecordingUrl": URL}) == Recording(SID, URL)
    assert hooks.recording({"RecordingSid": SID, "RecordingStatus": "in-progress"}) is None
    assert hooks.recording({"CallSid": "CA1"}) is None


def test_a_signed_recording_callback_fills_the_reference_once(
    client, session, sample, dial, telephony
):
    """Stored on the attempt and audited once; a resend changes nothing; a bad signature 403."""
    dial()
    (call,) = telephony.take_calls()
    url = recording_callback_url(call.status_callback_url)
    assert _post(client, telephony, url, _recording(call), signature="bad").status_code == 403
    assert _attempt(session).recording_ref is None
    assert _post(client, telephony, url, _recording(call)).status_code == 204
    assert _post(client, telephony, url, _recording(call)).status_code == 204
    other = _recording(call, RecordingSid="RE" + "b" * 32, RecordingUrl=URL + "x")
    assert _post(client, telephony, url, other).status_code == 204
    assert _attempt(session).recording_ref == URL
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "ivr.recording")).all()
    assert [e.detail["recording"] for e in events] == [SID]


def test_a_recording_callback_for_another_call_is_refused(client, session, sample, dial, telephony):
    """Signed, but naming another CallSid than the attempt's call: 403, nothing stored."""
    dial()
    (call,) = telephony.take_calls()
    url = recording_callback_url(call.status_callback_url)
    response = _post(client, telephony, url, _recording(call, CallSid="CA" + "0" * 32))
    assert response.status_code == 403
    assert _attempt(session).recording_ref is None


def test_after_close_a_recording_callback_stores_nothing(client, session, sample, dial, telephony):
    dial()
    (call,) = telephony.take_calls()
    wave = session.exec(select(SurveyWave)).one()
    with transaction(session):
        wave.status = WaveStatus.CLOSED
        session.add(wave)
    url = recording_callback_url(call.status_callback_url)
    assert _post(client, telephony, url, _recording(call)).status_code == 204
    assert _attempt(session).recording_ref is None


def test_the_simulated_provider_delivers_the_recording(
    session, sample, dial, telephony, respondent
):
    """A simulated answered call with recording: the attempt keeps its RecordingUrl."""
    dial()
    (call,) = telephony.take_calls()
    record = respondent(keys=["1"], recording=True).take(call)
    sid = "RE" + hashlib.sha256(call.call_id.encode()).hexdigest()[:32]
    assert record.requests[-1].url == recording_callback_url(call.status_callback_url)
    assert record.requests[-1].status == 204
    attempt = _attempt(session)
    reload(session, attempt)
    assert attempt.recording_ref == f"{RECORDINGS_URL}/{sid}"
