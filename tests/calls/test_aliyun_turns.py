"""SmartCall per-turn callbacks: the documented request in, the next prompt out, answers stored."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from survey_service.calls.telephony.aliyun_provider import AliyunProvider
from survey_service.calls.telephony.aliyun_turns import TurnState, dynamic_id, parse_dynamic_id
from survey_service.models import Answer, CallAttempt, Case, CaseStatus
from tests.calls.aliyun_holodeck import VmsHolodeck
from tests.calls.conftest import reload

UNIT = "奓山街派出所"
TOKEN = "cb-token-1234567890"
CALL_ID = "116012854210^10281378"
INTRO = f"您好！区里委托我们回访您在{UNIT}办理的户籍办理事项，通话会录音，回答保密，请按键回答。"
SCREENING = f"请问您今年在{UNIT}办理过户籍办理吗？办理过请按1，没有办理过请按2，重听请按9。"
MENU = (
    "非常满意请按1，满意请按2，基本满意请按3，不满意请按4，非常不满意请按5，"
    "说不清请按0，重听请按9。"
)


@pytest.fixture
def aliyun(app):
    app.config.update(
        TELEPHONY_PROVIDER="aliyun",
        ALIYUN_ACCESS_KEY_ID="LTAI5tTestKeyId",
        ALIYUN_ACCESS_KEY_SECRET="test-secret",
        ALIYUN_CALLER_NUMBER="02787650000",
        ALIYUN_CALLBACK_TOKEN=TOKEN,
    )
    holodeck = VmsHolodeck()
    holodeck.mock(
        "SmartCall", 200, {"Code": "OK", "Message": "OK", "RequestId": "R", "CallId": CALL_ID}
    )
    provider = AliyunProvider.from_config(app.config, transport=holodeck)
    app.extensions["telephony"] = provider
    return provider


@pytest.fixture
def placed(session, sample, dial, aliyun):
    dial(provider=aliyun)
    return session.exec(select(CallAttempt)).one()


def _turn(client, dynamic, content_type, *, call_id=CALL_ID, token=TOKEN, **content):
    """POST a callback as documented: call_id, timestamp, content_type, content (JSON)."""
    params = {
        "call_id": call_id,
        "timestamp": "1504174341229",
        "content_type": content_type,
        "content": json.dumps({"dynamic_id": dynamic, **content}, ensure_ascii=False),
    }
    return client.post(f"/ivr/aliyun/turn/{token}", query_string=params)


def _tts(body):
    return json.loads(body["voice_code_param"])


def test_first_turn_reads_intro_and_screening(app, client, placed):
    """Does any event while the opening plays get the introduction and the first item?"""
    start = dynamic_id("test-secret-key", TurnState(placed.id, "-", 0))
    response = _turn(client, start, "mute")
    assert response.status_code == 200
    body = response.get_json()
    assert body["voice_code"] == "$p1$"
    assert _tts(body) == {"p1": INTRO + SCREENING}
    assert body["hangup"] is False
    assert body["mute_time"] == 8000
    assert body["action_break"] is False
    assert parse_dynamic_id("test-secret-key", body["dynamic_id"]) == TurnState(
        placed.id, "screening", 0
    )


def test_whole_interview_by_keys(app, client, session, placed):
    """Do DTMF turns walk the script to the closing, store each answer once and finish 1.1?"""
    state = dynamic_id("test-secret-key", TurnState(placed.id, "-", 0))
    state = _turn(client, state, "mute").get_json()["dynamic_id"]
    body = _turn(client, state, "dtmf", dtmf="1").get_json()
    assert _tts(body) == {"p1": f"您对{UNIT}的办事服务满意吗？" + MENU}
    resent = _turn(client, state, "dtmf", dtmf="1").get_json()  # Alibaba retried the turn
    assert resent == body
    body = _turn(client, body["dynamic_id"], "dtmf", dtmf="2").get_json()
    assert _tts(body) == {"p1": f"总的来说，您对{UNIT}满意吗？" + MENU}
    body = _turn(client, body["dynamic_id"], "dtmf", dtmf="1").get_json()
    assert body["hangup"] is True
    assert _tts(body) == {"p1": "谢谢您的支持，再见！"}
    attempt = session.get(CallAttempt, placed.id)
    case = session.get(Case, placed.case_id)
    reload(session, attempt, case)
    answers = dict(session.exec(select(Answer.item_id, Answer.value)).all())
    assert answers == {
        "screening": "dealt",
        "service_quality": "satisfied",
        "overall": "very_satisfied",
    }
    assert (case.status, case.disposition, attempt.outcome) == (CaseStatus.FINAL, "1.1", "1.1")


def test_silence_and_bad_keys_retry_then_give_up(app, client, session, placed):
    """Is silence the empty gather (notice, try+1) and are too many tries a goodbye and hangup?"""
    state = _turn(client, dynamic_id("test-secret-key", TurnState(placed.id, "-", 0)), "mute")
    state = state.get_json()["dynamic_id"]
    body = _turn(client, state, "mute").get_json()
    assert parse_dynamic_id("test-secret-key", body["dynamic_id"]).try_no == 1
    assert _tts(body)["p1"].startswith("对不起，没有收到您的按键。请问您今年")
    body = _turn(client, body["dynamic_id"], "dtmf", dtmf="7").get_json()
    assert _tts(body)["p1"].startswith("对不起，您按的键无效。")
    body = _turn(client, body["dynamic_id"], "dtmf", dtmf="7").get_json()
    assert body["hangup"] is True
    assert _tts(body) == {
        "p1": "很抱歉没能收到您的回答，我们可能会再与您联系。感谢您的接听，再见。"
    }
    assert session.exec(select(Answer)).all() == []


def test_speech_keeps_the_prompt(app, client, placed):
    """Is speech (content_type normal) ignored: no new prompt, the same DynamicId?"""
    state = _turn(client, dynamic_id("test-secret-key", TurnState(placed.id, "-", 0)), "mute")
    state = state.get_json()["dynamic_id"]
    body = _turn(client, state, "normal", words="你好", role="B").get_json()
    assert body == {"dynamic_id": state, "hangup": False}


def test_voice_files_per_item(app, client, placed):
    """Does ALIYUN_VOICE_FILES replace an item's TTS by its approved voice-file code?"""
    app.config["ALIYUN_VOICE_FILES"] = json.dumps(
        {"intro": "intro01.wav", "short_demo:screening": "scr01.wav"}
    )
    body = _turn(
        client, dynamic_id("test-secret-key", TurnState(placed.id, "-", 0)), "mute"
    ).get_json()
    assert body["voice_code"] == "intro01.wav,scr01.wav"
    assert "voice_code_param" not in body


def test_forged_or_foreign_turns_are_refused(app, client, session, placed):
    """Wrong URL token, unsigned DynamicId or another call's id: 403 and nothing stored."""
    good = dynamic_id("test-secret-key", TurnState(placed.id, "screening", 0))
    assert _turn(client, good, "dtmf", dtmf="1", token="wrong").status_code == 403
    forged = f"{placed.id}.screening.0.0000000000000000"
    assert _turn(client, forged, "dtmf", dtmf="1").status_code == 403
    assert _turn(client, good, "dtmf", dtmf="1", call_id="999^1").status_code == 403
    assert session.exec(select(Answer)).all() == []


def test_not_found_when_another_provider_dials(app, client):
    app.config["TELEPHONY_PROVIDER"] = "simulated"
    assert client.post(f"/ivr/aliyun/turn/{TOKEN}").status_code == 404
