"""Alibaba SmartCall through the real SDK: the request it sends, its answers, its refusals."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from survey_service.calls import ivr as ivr_calls
from survey_service.calls.telephony import get_provider
from survey_service.calls.telephony.aliyun_provider import (
    AliyunProvider,
    attempt_of,
    national_number,
)
from survey_service.calls.telephony.aliyun_turns import TurnState, dynamic_id, parse_dynamic_id
from survey_service.calls.telephony.base import CallRejected, ProviderError
from survey_service.models import CallAttempt
from tests.calls.aliyun_holodeck import VmsHolodeck
from tests.calls.conftest import BASE

CONFIG = {
    "ALIYUN_ACCESS_KEY_ID": "LTAI5tTestKeyId",
    "ALIYUN_ACCESS_KEY_SECRET": "test-secret",
    "ALIYUN_CALLER_NUMBER": "02787650000",
    "ALIYUN_CALLBACK_TOKEN": "cb-token-1234567890",
    "SECRET_KEY": "test-secret-key",
}
VOICE_URL = "https://survey.example/ivr/call/42/abcdef/voice"
OK = {
    "Code": "OK",
    "Message": "OK",
    "RequestId": "D9CB3933-9FE3-4870",
    "CallId": "116012854210^10281378",
}


def provider(holodeck, **extra):
    return AliyunProvider.from_config({**CONFIG, **extra}, transport=holodeck)


def test_smart_call_request_has_the_documented_fields():
    """Does place_call send SmartCall with exactly the documented parameters, signed by the SDK?"""
    holodeck = VmsHolodeck()
    holodeck.mock("SmartCall", 200, OK)
    call_id = provider(holodeck).place_call(
        to="+8613912345678", webhook_url=VOICE_URL, status_callback_url=VOICE_URL
    )
    assert call_id == "116012854210^10281378"
    (request,) = holodeck.requests
    assert request.method == "POST"
    assert request.url.startswith("https://dyvmsapi.aliyuncs.com/?")
    assert request.headers["x-acs-action"] == "SmartCall"
    assert request.headers["x-acs-version"] == "2017-05-25"
    assert request.headers["Authorization"].startswith(
        "ACS3-HMAC-SHA256 Credential=LTAI5tTestKeyId,"
    )
    assert request.timeout == (3.0, 5.0)
    expected_dynamic = dynamic_id("test-secret-key", TurnState(42, "-", 0))
    assert request.query == {
        "CalledNumber": "13912345678",
        "CalledShowNumber": "02787650000",
        "VoiceCode": "$p1$",
        "VoiceCodeParam": json.dumps(
            {"p1": "您好，这里是政务服务满意度回访。"}, ensure_ascii=False
        ),
        "DynamicId": expected_dynamic,
        "OutId": "42",
        "RecordFlag": "True",
        "MuteTime": "8000",
        "SessionTimeout": "600",
        "ActionCodeBreak": "False",
    }
    assert parse_dynamic_id("test-secret-key", request.query["DynamicId"]) == TurnState(42, "-", 0)


def test_opening_voice_file_replaces_tts():
    """With ALIYUN_OPENING_VOICE_CODE set, is the approved file played and no TTS sent?"""
    holodeck = VmsHolodeck()
    holodeck.mock("SmartCall", 200, OK)
    provider(holodeck, ALIYUN_OPENING_VOICE_CODE="a1b2c3.wav", ALIYUN_RECORD="false").place_call(
        to="+862787654321", webhook_url=VOICE_URL, status_callback_url=VOICE_URL
    )
    query = holodeck.requests[0].query
    assert query["VoiceCode"] == "a1b2c3.wav"
    assert "VoiceCodeParam" not in query
    assert query["CalledNumber"] == "02787654321"
    assert query["RecordFlag"] == "False"


@pytest.mark.parametrize(
    ("status", "payload", "invalid"),
    [
        (
            400,
            {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "号码格式非法", "RequestId": "1"},
            True,
        ),
        (
            400,
            {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发流控", "RequestId": "2"},
            False,
        ),
        (200, {"Code": "isv.OUT_OF_SERVICE", "Message": "业务停机", "RequestId": "3"}, False),
    ],
)
def test_refusals_become_call_rejected(status, payload, invalid):
    """Is an API error (HTTP error or Code != OK) a CallRejected, invalid only for a bad number?"""
    holodeck = VmsHolodeck()
    holodeck.mock("SmartCall", status, payload)
    with pytest.raises(CallRejected) as caught:
        provider(holodeck).place_call(
            to="+8613912345678", webhook_url=VOICE_URL, status_callback_url=VOICE_URL
        )
    assert caught.value.invalid_number is invalid
    assert str(caught.value) == f"Aliyun {payload['Code']}: {payload['Message']}"


@pytest.mark.parametrize(
    "missing",
    [
        "ALIYUN_ACCESS_KEY_ID",
        "ALIYUN_ACCESS_KEY_SECRET",
        "ALIYUN_CALLER_NUMBER",
        "ALIYUN_CALLBACK_TOKEN",
    ],
)
def test_missing_setting_is_named(missing):
    """Does the provider refuse to start and name the missing setting?"""
    config = {**CONFIG, missing: "", "TELEPHONY_PROVIDER": "aliyun"}
    with pytest.raises(ProviderError) as caught:
        get_provider(config)
    assert str(caught.value) == f"the aliyun provider needs {missing}"


def test_helpers():
    assert national_number("+8613912345678") == "13912345678"
    assert national_number("+862787654321") == "02787654321"
    assert attempt_of("https://x.example/ivr/call/7/tok/voice") == 7
    with pytest.raises(ProviderError):
        attempt_of("https://x.example/other")


def test_dynamic_id_is_unforgeable():
    """Is a DynamicId with another attempt, item, try or key rejected?"""
    good = dynamic_id("k", TurnState(5, "screening", 1))
    assert parse_dynamic_id("k", good) == TurnState(5, "screening", 1)
    attempt, item, try_no, sig = good.split(".")
    assert parse_dynamic_id("k", f"6.{item}.{try_no}.{sig}") is None
    assert parse_dynamic_id("k", f"{attempt}.overall.{try_no}.{sig}") is None
    assert parse_dynamic_id("k", f"{attempt}.{item}.0.{sig}") is None
    assert parse_dynamic_id("other", good) is None
    assert parse_dynamic_id("k", "") is None
    for forbidden in '@=:"${}^*¥':
        assert forbidden not in good


def test_dialler_places_aliyun_calls(app, session, sample, dial):
    """Does the IVR dialler place a SmartCall per case and keep Alibaba's CallId on the attempt?"""
    holodeck = VmsHolodeck()
    holodeck.mock("SmartCall", 200, OK)
    app.config.update(CONFIG)
    aliyun = AliyunProvider.from_config(app.config, transport=holodeck)
    result = dial(provider=aliyun)
    (attempt,) = session.exec(select(CallAttempt)).all()
    assert result.placed == [(attempt.case_id, "116012854210^10281378")]
    assert attempt.provider_call_id == "116012854210^10281378"
    (request,) = holodeck.requests
    assert request.query["OutId"] == str(attempt.id)
    voice_url, _ = ivr_calls.webhook_urls(BASE, attempt.id, "x")
    assert attempt_of(voice_url) == attempt.id
