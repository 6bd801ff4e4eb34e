"""Alibaba receipts: every documented code's outcome, MNS pull through the SDK, the guarded push."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from survey_service import dispositions as d
from survey_service.calls import ivr as ivr_calls
from survey_service.calls.telephony import aliyun_codes
from survey_service.calls.telephony.aliyun_receipts import (
    MnsReceipts,
    SeenReceipts,
    parse_networks,
    push_allowed,
)
from survey_service.calls.telephony.base import ANSWERED
from survey_service.models import CallAttempt, Case
from survey_service.scheduler import pull_receipts
from tests.calls import test_aliyun_turns as turn_tests
from tests.calls.aliyun_holodeck import MnsHolodeck, mns_error_xml, mns_messages_xml
from tests.calls.conftest import reload
from tests.calls.test_aliyun_turns import CALL_ID, TOKEN

# The same Alibaba app and placed call as the turn tests.
aliyun = turn_tests.aliyun
placed = turn_tests.placed

# The documented result code -> the AAPOR outcome of an attempt that was not
# answered (ANSWERED: the interview's state decides, see calls.ivr).
EXPECTED = {
    "200000": None,
    "200001": None,
    "200008": None,
    "200002": d.ALWAYS_BUSY,
    "200003": d.NO_ANSWER,
    "200005": d.NO_ANSWER,
    "200010": d.NO_ANSWER,
    "200004": d.NON_WORKING,
    "200007": d.TECHNICAL,
    "200011": d.TECHNICAL,
    "200006": d.TECHNICAL,
    "200012": d.TECHNICAL,
    "200104": d.TECHNICAL,
    "200117": d.TECHNICAL,
    "200118": d.TECHNICAL,
    "200119": d.TECHNICAL,
    "200121": d.TECHNICAL,
    "999999": d.TECHNICAL,
    "123456": d.TECHNICAL,
}


@pytest.mark.parametrize(("code", "outcome"), sorted(EXPECTED.items()))
def test_every_code_has_its_outcome(code, outcome):
    end = aliyun_codes.call_end({"call_id": "1^2", "status_code": code, "duration": "0"})
    if outcome is None:
        assert end.status == ANSWERED
    else:
        assert ivr_calls.UNANSWERED_OUTCOME[end.status] == outcome
    assert end.provider_status == code
    assert end.duration_seconds == 0


def test_intermediate_codes_are_not_an_end():
    for code in ("200101", "200201", "200102", "200100", "300000", ""):
        assert aliyun_codes.call_end({"call_id": "1^2", "status_code": code}) is None


def test_smart_status_invalid_number_is_non_working():
    end = aliyun_codes.call_end({"status_code": "200005", "smart_status_code": "INVALID_NUMBER"})
    assert ivr_calls.UNANSWERED_OUTCOME[end.status] == d.NON_WORKING
    assert end.provider_status == "200005/INVALID_NUMBER"


def _voice_report(code="200003", **extra):
    """A VoiceReport object with the documented fields."""
    return {
        "call_id": CALL_ID,
        "start_time": "",
        "end_time": "",
        "duration": "0",
        "status_code": code,
        "smart_status_code": "NO_ANSWER",
        "status_msg": "用户收到呼叫但未接听",
        "out_id": "1",
        "caller": "02787650000",
        "callee": "13800000000",
        "hangup_direction": "用户",
        "originate_time": "2017-11-01 19:00:01",
        "ring_time": "2017-11-01 19:00:03",
        "voice_type": "voice",
        **extra,
    }


def test_mns_pull_applies_then_deletes(app, session, placed):
    """Are receipts read from MNS with the SDK, applied once, and deleted only after?"""
    http = MnsHolodeck()
    body = json.dumps(_voice_report(), ensure_ascii=False)
    http.mock("GET", "/queues/vr-queue/messages", 200, mns_messages_xml([("m1", "h1", body)]))
    http.mock("GET", "/queues/vcr-queue/messages", 404, mns_error_xml("MessageNotExist", "none"))
    http.mock("DELETE", "/queues/vr-queue/messages", 204)
    receipts = MnsReceipts(
        endpoint="http://1234.mns.cn-hangzhou.aliyuncs.com",
        access_key_id="LTAI5tTestKeyId",
        access_key_secret="test-secret",
        queues={"VoiceReport": "vr-queue", "VoiceCallReport": "vcr-queue"},
        http=http,
    )
    assert pull_receipts(app, receipts) == 1
    assert [(r.method, r.uri.split("?")[0]) for r in http.requests] == [
        ("GET", "/queues/vr-queue/messages"),
        ("GET", "/queues/vcr-queue/messages"),
        ("DELETE", "/queues/vr-queue/messages"),
    ]
    get = http.requests[0]
    assert get.uri == "/queues/vr-queue/messages?numOfMessages=16&waitseconds=3"
    assert get.header["Authorization"].startswith("MNS LTAI5tTestKeyId:")
    assert b"<ReceiptHandle>h1</ReceiptHandle>" in http.requests[2].data
    attempt = session.get(CallAttempt, placed.id)
    case = session.get(Case, placed.case_id)
    reload(session, attempt, case)
    assert attempt.outcome == d.NO_ANSWER
    assert attempt.note == "aliyun VoiceReport 200003/NO_ANSWER, 0 s"
    # MNS delivers at least once: the same receipt again changes nothing.
    http.requests.clear()
    assert pull_receipts(app, receipts) == 0


def _push(client, kind, items, *, token=TOKEN, addr="47.100.1.2"):
    return client.post(
        f"/ivr/aliyun/receipts/{kind}/{token}",
        data=json.dumps(items, ensure_ascii=False),
        content_type="application/json",
        environ_base={"REMOTE_ADDR": addr},
    )


def test_push_is_off_without_sources(app, client, placed):
    assert _push(client, "VoiceReport", [_voice_report()]).status_code == 404


def test_push_needs_token_and_source_and_is_deduplicated(app, client, session, placed):
    """Is a push taken only from a listed source with the token, and a repeat skipped?"""
    app.config["ALIYUN_PUSH_ALLOWED_IPS"] = "47.100.0.0/16, 10.1.2.3"
    assert _push(client, "VoiceReport", [_voice_report()], token="wrong").status_code == 403
    assert _push(client, "VoiceReport", [_voice_report()], addr="8.8.8.8").status_code == 403
    assert _push(client, "Other", [_voice_report()]).status_code == 404
    attempt = session.get(CallAttempt, placed.id)
    reload(session, attempt)
    assert attempt.outcome is None
    response = _push(client, "VoiceReport", [_voice_report("200002")])
    assert response.status_code == 200
    assert response.get_json() == {"code": 0, "msg": "接收成功"}
    reload(session, attempt)
    assert attempt.outcome == d.ALWAYS_BUSY
    ended = attempt.ended_at
    assert _push(client, "VoiceReport", [_voice_report("200002")]).get_json()["code"] == 0
    reload(session, attempt)
    assert (attempt.outcome, attempt.ended_at) == (d.ALWAYS_BUSY, ended)
    assert len(session.exec(select(CallAttempt)).all()) == 1


def test_push_guards():
    networks = parse_networks("47.100.0.0/16,10.1.2.3")
    assert push_allowed("47.100.9.9", "t", expected_token="t", networks=networks)
    assert push_allowed("10.1.2.3", "t", expected_token="t", networks=networks)
    assert not push_allowed("10.1.2.4", "t", expected_token="t", networks=networks)
    assert not push_allowed("47.100.9.9", "x", expected_token="t", networks=networks)
    assert not push_allowed("47.100.9.9", "t", expected_token="", networks=networks)
    assert not push_allowed("47.100.9.9", "t", expected_token="t", networks=())
    assert not push_allowed("bogus", "t", expected_token="t", networks=networks)
    seen = SeenReceipts(size=2)
    assert seen.seen("a") is False
    seen.add("a")
    assert seen.seen("a") is True
    seen.add("b")
    seen.add("c")  # the oldest key leaves
    assert [seen.seen(k) for k in ("a", "b", "c")] == [False, True, True]
