"""The IVR webhooks: signatures, TwiML by XPath, whole interviews, call ends, resends."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from flask import url_for
from sqlalchemy import func
from sqlmodel import select
from twilio.request_validator import RequestValidator

from survey_service.calls import ivr as ivr_calls
from survey_service.models import Answer, AuditEvent, CallAttempt, Case, CaseStatus
from tests.calls.conftest import EVENING, make_sample, reload

UNIT = "奓山街派出所"


def _post(client, telephony, url, params, *, signature=None, token=None):
    """POST ``params`` to ``url`` signed as the provider would (or with ``signature``)."""
    if signature is None:
        validator = RequestValidator(token or telephony.auth_token)
        signature = validator.compute_signature(url, params)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return client.post(url, data=params, headers=headers)


def _call_params(call, **extra):
    return {"CallSid": call.call_id, "To": call.to, "CallStatus": "in-progress", **extra}


def _snapshot(session):
    """Everything a webhook may change, to compare before and after."""
    session.commit()
    return (
        sorted(session.exec(select(Answer.case_id, Answer.item_id, Answer.value)).all()),
        sorted(
            session.exec(select(CallAttempt.id, CallAttempt.outcome, CallAttempt.ended_at)).all()
        ),
        sorted(
            session.exec(
                select(Case.id, Case.status, Case.disposition, Case.attempts, Case.next_attempt_at)
            ).all()
        ),
        session.exec(select(func.count(AuditEvent.id))).one(),
    )


def _gather_url(call, item_id, try_no):
    return call.webhook_url.replace("/voice", f"/gather/{item_id}/{try_no}")


def test_voice_webhook_reads_intro_and_first_item(client, sample, dial, telephony):
    """Does a signed voice webhook get the introduction and screening item as TwiML?"""
    dial()
    (call,) = telephony.take_calls()
    response = _post(client, telephony, call.webhook_url, _call_params(call))
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.get_data(as_text=True))
    assert root.tag == "Response"
    gathers = root.findall("./Gather")
    assert len(gathers) == 1
    gather = gathers[0]
    assert gather.get("input") == "dtmf"
    assert gather.get("numDigits") == "1"
    assert gather.get("actionOnEmptyResult") == "true"
    assert gather.get("method") == "POST"
    assert gather.get("action") == _gather_url(call, "screening", 0)
    said = [say.text for say in gather.findall("./Say")]
    assert said[0].startswith(f"您好！区里委托我们回访您在{UNIT}办理的户籍办理事项")
    assert said[1] == f"请问您今年在{UNIT}办理过户籍办理吗？"
    assert said[2] == "办理过请按1，没有办理过请按2，重听请按9。"


def test_webhook_urls_match_the_blueprint(app):
    """Do the URLs the dialler gives the provider lead to the blueprint's views?"""
    with app.test_request_context():
        voice = url_for("ivr.voice", attempt_id=7, token="abc")
        status = url_for("ivr.status", attempt_id=7, token="abc")
        gather = url_for("ivr.gather", attempt_id=7, token="abc", item_id="q_2", try_no=1)
    assert ivr_calls.webhook_urls("https://x.example/", 7, "abc") == (
        "https://x.example" + voice,
        "https://x.example" + status,
    )
    # The gather view formats its URL from this path instead of calling url_for.
    assert (
        ivr_calls.GATHER_PATH.format(attempt_id=7, token="abc", item_id="q_2", try_no=1) == gather
    )


def test_calling_settings_are_built_only_for_the_outcome(
    session, sample, dial, telephony, respondent, monkeypatch
):
    """Are the wave's calling settings built once, for the outcome, not per webhook?

    The presses before the last and the status callback after the interview's end
    record no outcome.
    """
    from survey_service.calls import settings as calling_settings

    built = []
    for_case = calling_settings.for_case

    def counting(session, case, config=None):
        built.append(case.id)
        return for_case(session, case, config)

    dial()
    (call,) = telephony.take_calls()
    monkeypatch.setattr(calling_settings, "for_case", counting)
    record = respondent(keys=["1", "2", "1"]).take(call)
    assert record.ivr_hung_up
    case = session.get(Case, sample[0].id)
    reload(session, case)
    assert case.disposition == "1.1"
    assert built == [case.id]  # once, by the third press's outcome


def test_bad_or_missing_signature_is_refused_and_changes_nothing(
    client, session, sample, dial, telephony
):
    """Is every webhook without the provider's valid signature a 403 that changes nothing?"""
    dial()
    (call,) = telephony.take_calls()
    gather = _gather_url(call, "screening", 0)
    good = _call_params(call, Digits="1")
    forged = RequestValidator(telephony.auth_token).compute_signature(gather, good)
    before = _snapshot(session)
    attempts = [
        (call.webhook_url, _call_params(call), ""),  # no signature
        (call.webhook_url, _call_params(call), "bm90IGEgc2lnbmF0dXJl"),  # garbage
        (gather, {**good, "Digits": "2"}, forged),  # params changed after signing
        (gather.replace("/0", "/1"), good, forged),  # URL changed after signing
        (call.status_callback_url, _call_params(call, CallStatus="no-answer"), None),
    ]
    for url, params, signature in attempts:
        if signature is None:  # signed with another account's token
            signature = RequestValidator("another-token").compute_signature(url, params)
        response = _post(client, telephony, url, params, signature=signature)
        assert response.status_code == 403, url
    assert _snapshot(session) == before


def test_wrong_token_or_other_call_is_refused(client, session, sample, dial, telephony):
    """Is a signed request with a wrong token (404) or another call's id (403) refused?"""
    dial()
    (call,) = telephony.take_calls()
    before = _snapshot(session)
    token = call.webhook_url.split("/")[-2]
    wrong = call.webhook_url.replace(token, "0" * 32)
    assert _post(client, telephony, wrong, _call_params(call)).status_code == 404
    other = _call_params(call, CallSid="CA" + "f" * 32, CallStatus="busy")
    assert _post(client, telephony, call.status_callback_url, other).status_code == 403
    assert _snapshot(session) == before


def test_full_ivr_interview_completes_the_case(session, sample, dial, telephony, respondent):
    """Does a respondent who presses 1, 2, 1 finish the case as 1.1 with IVR answers?"""
    dial()
    (call,) = telephony.take_calls()
    record = respondent(keys=["1", "2", "1"]).take(call)
    assert record.ivr_hung_up
    assert record.heard[-1] == "谢谢您的支持，再见！"
    root = record.last_twiml()
    assert root.find("./Hangup") is not None and root.find("./Gather") is None
    case = session.get(Case, sample[0].id)
    attempt = session.exec(select(CallAttempt).where(CallAttempt.case_id == case.id)).one()
    reload(session, case, attempt)
    assert (case.status, case.disposition, case.attempts) == (CaseStatus.FINAL, "1.1", 1)
    assert (attempt.channel, attempt.outcome, attempt.provider_call_id) == (
        "ivr",
        "1.1",
        call.call_id,
    )
    answers = session.exec(
        select(Answer.item_id, Answer.value, Answer.attempt_id, Answer.script_id)
        .where(Answer.case_id == case.id)
        .order_by(Answer.item_id)
    ).all()
    assert answers == [
        ("overall", "very_satisfied", attempt.id, "short_demo"),
        ("screening", "dealt", attempt.id, "short_demo"),
        ("service_quality", "satisfied", attempt.id, "short_demo"),
    ]


def test_repeat_key_reads_the_item_again(session, sample, dial, telephony, respondent):
    """Does key 9 read the same item again, on the same try, without storing anything?"""
    dial()
    (call,) = telephony.take_calls()
    record = respondent(keys=["1", "9", "2", "1"]).take(call)
    after_repeat = ET.fromstring(record.requests[2].body)
    gather = after_repeat.find("./Gather")
    assert gather.get("action") == _gather_url(call, "service_quality", 0)
    assert gather.find("./Say").text == f"您对{UNIT}的办事服务满意吗？"
    assert record.requests[1].body == record.requests[2].body  # the same reading again
    case = session.get(Case, sample[0].id)
    reload(session, case)
    assert case.disposition == "1.1"
    stored = dict(session.exec(select(Answer.item_id, Answer.value)).all())
    assert stored["service_quality"] == "satisfied"


def test_wrong_keys_lead_to_goodbye(session, sample, dial, telephony, respondent):
    """After no key, then wrong keys past max_retries, does the IVR say goodbye and hang up?"""
    dial()
    (call,) = telephony.take_calls()
    record = respondent(keys=["", "7", "7"]).take(call)
    first, second, third = (ET.fromstring(r.body) for r in record.requests[1:4])
    # No key: read again (try 1) after the script's no-input notice, without the introduction.
    assert first.find("./Say").text == "对不起，没有收到您的按键。"
    assert first.find("./Gather").get("action") == _gather_url(call, "screening", 1)
    assert not any("您好" in (s.text or "") for s in first.iter("Say"))
    # A wrong key: the invalid-key notice and the last reading (try 2).
    assert second.find("./Say").text == "对不起，您按的键无效。"
    assert second.find("./Gather").get("action") == _gather_url(call, "screening", 2)
    # A wrong key on the last reading: goodbye, hang up, nothing stored.
    assert third.find("./Gather") is None and third.find("./Hangup") is not None
    assert third.find("./Say").text.startswith("很抱歉")
    assert record.ivr_hung_up
    case = session.get(Case, sample[0].id)
    reload(session, case)
    assert session.exec(select(func.count(Answer.id))).one() == 0
    # The call was answered but nothing was learned: 3.90, temporary.
    assert (case.status, case.disposition, case.attempts) == (CaseStatus.PENDING, None, 1)
    attempt = session.exec(select(CallAttempt)).one()
    assert attempt.outcome == "3.90"


@pytest.mark.parametrize(
    ("answer", "sip", "outcome", "status"),
    [
        ("no-answer", None, "3.13", CaseStatus.PENDING),
        ("busy", None, "3.12", CaseStatus.PENDING),
        ("failed", None, "3.16", CaseStatus.PENDING),
        ("failed", "404", "4.31", CaseStatus.FINAL),
        ("canceled", None, "3.90", CaseStatus.PENDING),
    ],
)
def test_unanswered_call_outcomes(
    session, sample, dial, telephony, respondent, answer, sip, outcome, status
):
    """Does each unanswered end give its AAPOR outcome, a redial in another day-part if temporary?

    The call was dialled on Wednesday at 19:00 (the evening): 22:00 is past
    every day-part, so the next try is on Thursday morning at 09:00.
    """
    dial()
    (call,) = telephony.take_calls()
    respondent(answer=answer, sip_response_code=sip).take(call)
    case = session.get(Case, sample[0].id)
    attempt = session.exec(select(CallAttempt)).one()
    reload(session, case, attempt)
    assert attempt.outcome == outcome
    assert attempt.ended_at is not None
    assert (case.status, case.attempts, case.claimed_at) == (status, 1, None)
    if status == CaseStatus.PENDING:
        assert case.disposition is None
        assert case.next_attempt_at == datetime(2017, 11, 2, 1, 0, tzinfo=UTC)
    else:
        assert (case.disposition, case.next_attempt_at) == (outcome, None)


def test_no_answer_is_redialled_later_not_now(session, sample, dial, telephony, respondent):
    """After a no-answer (3.13), is the case left alone until its redial time?"""
    dial()
    (call,) = telephony.take_calls()
    respondent(answer="no-answer").take(call)
    case = session.get(Case, sample[0].id)
    reload(session, case)
    due = case.next_attempt_at  # Thursday 09:00, the morning day-part
    early = dial(limit=3, now=EVENING + timedelta(hours=1))  # Wednesday 20:00, still evening
    assert case.id not in [case_id for case_id, _ in early.placed]
    assert len(early.placed) == 2  # the two other cases
    on_time = dial(limit=3, now=due)
    assert case.id in [case_id for case_id, _ in on_time.placed]
    # The two evening calls never heard back: expired (3.16), due this morning too.
    assert (on_time.expired, len(on_time.placed)) == (2, 3)


@pytest.mark.parametrize(
    ("keys", "outcome", "final", "kept"),
    [
        ([], "3.90", False, 0),  # hung up during the introduction
        (["1"], "2.21", False, 0),  # eligible, then hung up: start afresh next time
        (["1", "2"], "1.2", True, 2),  # one of two ratings: enough for a partial
    ],
)
def test_hanging_up_early(session, sample, dial, telephony, respondent, keys, outcome, final, kept):
    """Does a respondent who hangs up early get the outcome the engine's status implies?"""
    dial()
    (call,) = telephony.take_calls()
    record = respondent(keys=keys).take(call)
    assert not record.ivr_hung_up
    case = session.get(Case, sample[0].id)
    attempt = session.exec(select(CallAttempt)).one()
    reload(session, case, attempt)
    assert attempt.outcome == outcome
    assert (case.status == CaseStatus.FINAL) is final
    assert case.ever_eligible is (outcome != "3.90")
    assert session.exec(select(func.count(Answer.id))).one() == kept


def test_break_off_after_a_substantive_answer(session, dial, telephony, respondent):
    """On the standard script, is hanging up after the first real answer a 2.12 break-off?"""
    cases = make_sample(session, script_id="standard_satisfaction", per_unit=1)
    dial()
    (call,) = telephony.take_calls()
    respondent(keys=["1", "1", "2"]).take(call)  # consent, screening, applicant: individual
    case = cases[0]
    reload(session, case)
    assert (case.status, case.disposition) == (CaseStatus.FINAL, "2.12")


def test_not_now_and_refusal_on_consent(session, dial, telephony, respondent):
    """Does "not now" book another call (2.21) and "refuse" end the case (2.11)?"""
    cases = make_sample(session, script_id="standard_satisfaction", per_unit=2)
    dial(limit=2)
    later, refuse = telephony.take_calls()
    record = respondent(keys=["2"]).take(later)
    assert record.ivr_hung_up and record.heard[-1].startswith("好的，打扰您了")
    respondent(keys=["3"]).take(refuse)
    reload(session, *cases)
    by_id = {c.id: c for c in cases}
    outcomes = dict(session.exec(select(CallAttempt.case_id, CallAttempt.outcome)).all())
    assert sorted(outcomes.values()) == ["2.11", "2.21"]
    refused = next(cid for cid, o in outcomes.items() if o == "2.11")
    assert (by_id[refused].status, by_id[refused].disposition) == (CaseStatus.FINAL, "2.11")
    postponed = next(cid for cid, o in outcomes.items() if o == "2.21")
    assert by_id[postponed].status == CaseStatus.PENDING
    kept = session.exec(select(Answer.case_id, Answer.item_id, Answer.value)).all()
    assert kept == [(refused, "consent", "refuse")]  # "not now" forgets its consent answer


def test_resent_webhooks_change_nothing(session, sample, dial, telephony, respondent):
    """Does resending every webhook of a finished call answer the same and store nothing?"""
    dial()
    (call,) = telephony.take_calls()
    player = respondent(keys=["1", "2", "1"])
    record = player.take(call)
    before = _snapshot(session)
    for sent in record.requests:
        again = player.resend(sent)
        assert again.status == sent.status, sent.url
    # The last gather finished the interview; sent again it says the same goodbye.
    last_gather = record.requests[-2]
    assert player.resend(last_gather).body == last_gather.body
    assert _snapshot(session) == before


def test_resent_gather_mid_call_is_idempotent(client, session, sample, dial, telephony):
    """Is a gather resent in the middle of a call answered alike, with one answer stored?"""
    dial()
    (call,) = telephony.take_calls()
    assert _post(client, telephony, call.webhook_url, _call_params(call)).status_code == 200
    url = _gather_url(call, "screening", 0)
    first = _post(client, telephony, url, _call_params(call, Digits="1"))
    again = _post(client, telephony, url, _call_params(call, Digits="1"))
    assert first.status_code == again.status_code == 200
    assert first.get_data() == again.get_data()
    assert ET.fromstring(again.get_data()).find("./Gather").get("action") == _gather_url(
        call, "service_quality", 0
    )
    session.commit()
    assert session.exec(select(Answer.item_id, Answer.value)).all() == [("screening", "dealt")]
    # A late resend with another key for a passed item only re-reads the due item.
    changed = _post(client, telephony, url, _call_params(call, Digits="2"))
    assert changed.get_data() == first.get_data()
    session.commit()
    assert session.exec(select(Answer.item_id, Answer.value)).all() == [("screening", "dealt")]


def test_signature_over_public_url_behind_a_proxy(
    app, session, sample, dial, telephony, respondent
):
    """Behind a proxy, is the signature checked over PUBLIC_BASE_URL, not the internal URL?"""
    public = "https://survey.example.org"
    dial(webhook_base=public)
    (call,) = telephony.take_calls()
    assert call.webhook_url.startswith(public + "/ivr/call/")
    # Without PUBLIC_BASE_URL the app sees http://localhost/... and the signature fails.
    with pytest.raises(AssertionError, match="403"):
        respondent(deliver_to="http://localhost", keys=["1"]).take(call)
    app.config["PUBLIC_BASE_URL"] = public
    record = respondent(deliver_to="http://localhost", keys=["1", "2", "1"]).take(call)
    actions = [
        g.get("action") for r in record.requests[:3] for g in ET.fromstring(r.body).iter("Gather")
    ]
    assert all(a.startswith(public + "/ivr/call/") for a in actions)
    case = sample[0]
    reload(session, case)
    assert case.disposition == "1.1"


def test_webhooks_need_no_csrf_token(app, client, sample, dial, telephony):
    """With CSRF protection on, do signed webhooks still pass (and other forms not)?"""
    app.config["WTF_CSRF_ENABLED"] = True
    dial()
    (call,) = telephony.take_calls()
    assert _post(client, telephony, call.webhook_url, _call_params(call)).status_code == 200
    assert client.post("/auth/login", data={"username": "x", "password": "y"}).status_code == 400
