"""The provider registry, the Twilio provider through a Holodeck, and signature checks."""

from __future__ import annotations

import pytest
from sqlmodel import select
from twilio.http.request import Match, Request
from twilio.request_validator import RequestValidator

from survey_service.calls import dialling
from survey_service.calls import ivr as ivr_calls
from survey_service.calls.telephony import (
    ANSWERED,
    BUSY,
    CANCELED,
    FAILED,
    INVALID_NUMBER,
    MACHINE,
    NO_ANSWER,
    PROVIDERS,
    CallRejected,
    Provider,
    ProviderError,
    SimulatedProvider,
    TwilioProvider,
    get_provider,
)
from survey_service.db import transaction
from survey_service.models import CallAttempt, Case, CaseStatus
from tests.calls.conftest import BASE, EVENING
from tests.calls.holodeck import Holodeck, HolodeckError

SID = "AC" + "0" * 32
TOKEN = "twilio-auth-token"
FROM = "+15005550006"
CALLS_URL = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Calls.json"
CONFIG = {
    "TELEPHONY_PROVIDER": "twilio",
    "TWILIO_ACCOUNT_SID": SID,
    "TWILIO_AUTH_TOKEN": TOKEN,
    "TWILIO_FROM_NUMBER": FROM,
}


def _twilio(holodeck: Holodeck) -> TwilioProvider:
    return get_provider(CONFIG, http_client=holodeck)


def test_registry_names_every_provider():
    """Does the registry hold twilio, simulated and aliyun?"""
    assert set(PROVIDERS) == {"twilio", "simulated", "aliyun"}
    assert isinstance(_twilio(Holodeck()), Provider)
    assert isinstance(SimulatedProvider("t"), Provider)


@pytest.mark.parametrize(
    ("config", "error", "words"),
    [
        ({"TELEPHONY_PROVIDER": "sip"}, ProviderError, "unknown TELEPHONY_PROVIDER 'sip'"),
        ({**CONFIG, "TWILIO_FROM_NUMBER": None}, ProviderError, "TWILIO_FROM_NUMBER"),
        ({**CONFIG, "TWILIO_AUTH_TOKEN": ""}, ProviderError, "TWILIO_AUTH_TOKEN"),
        ({"TELEPHONY_PROVIDER": "aliyun"}, ProviderError, "the aliyun provider needs ALIYUN_"),
        (
            {"TELEPHONY_PROVIDER": "simulated", "SURVEY_ENV": "production", "SECRET_KEY": "k"},
            ProviderError,
            "places no real calls",
        ),
    ],
)
def test_misconfigured_provider_is_refused(config, error, words):
    """Is a wrong provider setting refused at once, with the setting named?"""
    with pytest.raises(error, match=words):
        get_provider(config)


def test_twilio_places_a_call_with_the_exact_form_fields():
    """Does calls.create send To, From, Url, StatusCallback and Record (the
    introduction says the call is recorded) to Twilio's Calls endpoint?"""
    holodeck = Holodeck()
    holodeck.mock_json(
        201,
        {"sid": "CA" + "1" * 32, "status": "queued", "to": "+8613800000000"},
        Request("POST", CALLS_URL),
    )
    call_id = _twilio(holodeck).place_call(
        to="+8613800000000",
        webhook_url=f"{BASE}/ivr/call/1/tok/voice",
        status_callback_url=f"{BASE}/ivr/call/1/tok/status",
    )
    assert call_id == "CA" + "1" * 32
    (sent,) = holodeck.requests
    assert (sent.method, sent.url, sent.auth) == ("POST", CALLS_URL, (SID, TOKEN))
    assert sent.data == {
        "To": "+8613800000000",
        "From": FROM,
        "Url": f"{BASE}/ivr/call/1/tok/voice",
        "Method": "POST",
        "StatusCallback": f"{BASE}/ivr/call/1/tok/status",
        "StatusCallbackMethod": "POST",
        "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
        "Timeout": 30,
        "MachineDetection": "Enable",
        "Record": "true",
        "RecordingStatusCallback": f"{BASE}/ivr/call/1/tok/recording",
        "RecordingStatusCallbackMethod": "POST",
        "RecordingStatusCallbackEvent": ["completed"],
    }


def test_holodeck_fails_loudly_on_an_unexpected_request():
    """Does a request nobody mocked fail the test instead of reaching Twilio?"""
    holodeck = Holodeck()
    holodeck.mock_json(201, {"sid": "CAx"}, Request("GET", Match.ANY))
    with pytest.raises(HolodeckError, match="Holodeck has no hologram for: POST"):
        _twilio(holodeck).place_call(to="+8613800000000", webhook_url="u", status_callback_url="s")
    assert len(holodeck.requests) == 1


@pytest.mark.parametrize(("code", "invalid"), [(21211, True), (21217, True), (20003, False)])
def test_twilio_rest_errors_become_call_rejected(code, invalid):
    """Is a Twilio REST error a CallRejected, flagged invalid_number for 21211/21217?"""
    holodeck = Holodeck()
    holodeck.mock_json(400, {"code": code, "message": "refused", "status": 400})
    with pytest.raises(CallRejected, match=f"Twilio {code}") as info:
        _twilio(holodeck).place_call(to="+861", webhook_url="u", status_callback_url="s")
    assert info.value.invalid_number is invalid


def test_dialling_through_twilio_stores_its_call_sid(app, session, sample):
    """Does dial_due_cases store the CallSid Twilio returned on the attempt?"""
    holodeck = Holodeck()
    holodeck.mock_json(201, {"sid": "CA" + "2" * 32}, Request("POST", CALLS_URL))
    with transaction(session):
        result = dialling.dial_due_cases(
            session,
            provider=_twilio(holodeck),
            vault=app.extensions["phone_vault"],
            limit=1,
            now=EVENING,
            webhook_base="https://survey.example.org",
            token_key=app.config["SECRET_KEY"],
        )
    attempt = session.exec(select(CallAttempt)).one()
    assert result.placed == [(attempt.case_id, "CA" + "2" * 32)]
    assert attempt.provider_call_id == "CA" + "2" * 32
    token = ivr_calls.attempt_token(app.config["SECRET_KEY"], attempt.id)
    sent = holodeck.requests[0].data
    assert sent["Url"] == f"https://survey.example.org/ivr/call/{attempt.id}/{token}/voice"
    assert sent["To"].startswith("+86138")
    assert session.get(Case, attempt.case_id).status == CaseStatus.IN_PROGRESS


def test_validate_request_uses_twilios_algorithm():
    """Is a request signed with the auth token valid, and any change to it not?"""
    provider = _twilio(Holodeck())
    url = "https://survey.example.org/ivr/call/1/abc/status"
    params = {"CallSid": "CA1", "CallStatus": "completed"}
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    assert provider.validate_request(url, params, signature)
    assert not provider.validate_request(url + "x", params, signature)
    assert not provider.validate_request(url, {**params, "CallStatus": "busy"}, signature)
    assert not provider.validate_request(url, params, "")
    assert provider.signature_header == "X-Twilio-Signature"


@pytest.mark.parametrize(
    ("params", "end"),
    [
        ({"CallStatus": "completed", "CallDuration": "42"}, ANSWERED),
        ({"CallStatus": "completed", "AnsweredBy": "machine_start"}, MACHINE),
        ({"CallStatus": "no-answer"}, NO_ANSWER),
        ({"CallStatus": "busy"}, BUSY),
        ({"CallStatus": "failed"}, FAILED),
        ({"CallStatus": "failed", "SipResponseCode": "404"}, INVALID_NUMBER),
        ({"CallStatus": "failed", "SipResponseCode": "503"}, FAILED),
        ({"CallStatus": "canceled"}, CANCELED),
        ({"CallStatus": "ringing"}, None),
        ({"CallStatus": "in-progress"}, None),
    ],
)
def test_call_end_reading(params, end):
    """Does each Twilio CallStatus read as the right provider-neutral end?"""
    result = _twilio(Holodeck()).call_end(params)
    assert (result.status if result else None) == end
    if params.get("CallDuration"):
        assert result.duration_seconds == 42
