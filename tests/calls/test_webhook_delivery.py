"""Webhook deliveries as providers really make them: late, repeated, concurrent, out of order.

After a wave is closed no webhook writes anything of it; five identical
deliveries at once give one answer or one outcome and five identical 200
replies; a status callback older than one already seen changes nothing.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select
from twilio.request_validator import RequestValidator

from survey_service.calls import dialling, queue
from survey_service.db import transaction
from survey_service.dispositions import NO_ANSWER
from survey_service.models import Answer, AuditEvent, CallAttempt, Case, CaseStatus, SurveyWave
from survey_service.results import publication
from tests.calls.conftest import EVENING, reload
from tests.factories import make_user


def _signed(telephony, url, params):
    signature = RequestValidator(telephony.auth_token).compute_signature(url, params)
    return {"X-Twilio-Signature": signature}


def _post(client, telephony, url, params):
    return client.post(url, data=params, headers=_signed(telephony, url, params))


def _params(call, **extra):
    return {"CallSid": call.call_id, "To": call.to, "CallStatus": "in-progress", **extra}


def _gather(call, item_id, try_no=0):
    return call.webhook_url.replace("/voice", f"/gather/{item_id}/{try_no}")


def _status(call):
    return call.webhook_url.replace("/voice", "/status")


def _stored(session):
    """Everything a webhook could write, to compare before and after."""
    session.commit()
    return (
        sorted(session.exec(select(Answer.case_id, Answer.item_id, Answer.value)).all()),
        sorted(
            session.exec(
                select(
                    CallAttempt.id,
                    CallAttempt.outcome,
                    CallAttempt.ended_at,
                    CallAttempt.status_sequence,
                )
            ).all()
        ),
        sorted(
            session.exec(
                select(Case.id, Case.status, Case.disposition, Case.attempts, Case.next_attempt_at)
            ).all()
        ),
        session.exec(select(func.count(AuditEvent.id))).one(),
    )


def _at_once(app, n, send):
    """Run ``send(client)`` from ``n`` threads released together; return the responses."""
    barrier = threading.Barrier(n)
    responses: list = [None] * n
    errors: list[BaseException] = []

    def work(i):
        try:
            client = app.test_client()
            barrier.wait()
            responses[i] = send(client)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return responses


@pytest.mark.parametrize("step", ["close", "publish"])
def test_no_webhook_of_any_kind_changes_a_frozen_wave(
    client, session, sample, dial, telephony, step
):
    """After close (and after publish) every webhook kind is answered and stores nothing."""
    dial(limit=2)
    answered, unanswered = telephony.take_calls()
    # One call is mid-interview when the office closes the wave; the other never rang yet.
    assert _post(client, telephony, answered.webhook_url, _params(answered)).status_code == 200
    office = make_user(session, username="office", role="reviewer")
    wave = session.exec(select(SurveyWave)).one()
    with transaction(session):
        publication.close_results(session=session, wave=wave, actor=office)
        if step == "publish":
            publication.publish_results(session=session, wave=wave, actor=office)
    before = _stored(session)
    replies = [
        _post(client, telephony, answered.webhook_url, _params(answered)),
        _post(client, telephony, _gather(answered, "screening"), _params(answered, Digits="1")),
        _post(
            client,
            telephony,
            _status(answered),
            _params(answered, CallStatus="completed", CallDuration="40", SequenceNumber="3"),
        ),
        _post(
            client,
            telephony,
            _status(unanswered),
            _params(unanswered, CallStatus="no-answer", CallDuration="0"),
        ),
        _post(
            client,
            telephony,
            _status(unanswered),
            _params(unanswered, CallStatus="busy", CallDuration="0"),
        ),
        _post(
            client,
            telephony,
            _status(unanswered),
            _params(unanswered, CallStatus="failed", CallDuration="0"),
        ),
    ]
    assert [r.status_code for r in replies] == [200, 200, 204, 204, 204, 204]
    assert b"<Hangup" in replies[0].data and b"<Hangup" in replies[1].data
    assert _stored(session) == before
    # Nor does the worker: stale calls and idle claims of a frozen wave stay as they are.
    later = EVENING + timedelta(days=2)
    with transaction(session):
        assert dialling.expire_stale_calls(session, now=later) == 0
        assert queue.release_stale_claims(session, idle_minutes=30, now=later) == 0
    assert _stored(session) == before
    reload(session, wave)
    assert publication.recheck(session, wave) == []


@pytest.mark.parametrize("deliveries", [5])
def test_identical_gathers_at_once_store_one_answer_and_reply_alike(
    app, session, sample, dial, telephony, deliveries
):
    dial()
    (call,) = telephony.take_calls()
    client = app.test_client()
    assert _post(client, telephony, call.webhook_url, _params(call)).status_code == 200
    url, params = _gather(call, "screening"), _params(call, Digits="1")
    headers = _signed(telephony, url, params)
    responses = _at_once(app, deliveries, lambda c: c.post(url, data=params, headers=headers))
    assert [r.status_code for r in responses] == [200] * deliveries
    assert len({r.data for r in responses}) == 1
    session.commit()
    answers = session.exec(select(Answer.item_id, Answer.value)).all()
    assert answers == [("screening", "dealt")]


def test_identical_status_callbacks_at_once_record_one_outcome(
    app, session, sample, dial, telephony
):
    dial()
    (call,) = telephony.take_calls()
    url = _status(call)
    params = _params(call, CallStatus="no-answer", CallDuration="0", SequenceNumber="2")
    headers = _signed(telephony, url, params)
    responses = _at_once(app, 5, lambda c: c.post(url, data=params, headers=headers))
    assert [r.status_code for r in responses] == [204] * 5
    session.commit()
    session.expire_all()
    case = session.exec(select(Case).where(Case.id == sample[0].id)).one()
    attempts = session.exec(select(CallAttempt.outcome, CallAttempt.status_sequence)).all()
    assert attempts == [(NO_ANSWER, 2)]
    assert (case.status, case.attempts) == (CaseStatus.PENDING, 1)
    outcomes = session.exec(
        select(func.count(AuditEvent.id)).where(AuditEvent.action == "case.outcome")
    ).one()
    assert outcomes == 1


def test_an_older_status_callback_after_a_newer_one_changes_nothing(
    client, session, sample, dial, telephony
):
    dial()
    (call,) = telephony.take_calls()
    url = _status(call)
    ringing = _params(call, CallStatus="ringing", SequenceNumber="1")
    newer = _params(call, CallStatus="in-progress", SequenceNumber="2")
    assert _post(client, telephony, url, newer).status_code == 204
    before = _stored(session)
    assert _post(client, telephony, url, ringing).status_code == 204
    assert _stored(session) == before
    session.commit()
    assert session.exec(select(CallAttempt.status_sequence)).one() == 2
    # The call's end (sequence 3) is recorded; a late "busy" numbered 1 is not.
    end = _params(call, CallStatus="no-answer", CallDuration="0", SequenceNumber="3")
    assert _post(client, telephony, url, end).status_code == 204
    late = _params(call, CallStatus="busy", CallDuration="0", SequenceNumber="1")
    assert _post(client, telephony, url, late).status_code == 204
    session.commit()
    assert session.exec(select(CallAttempt.outcome, CallAttempt.status_sequence)).one() == (
        NO_ANSWER,
        3,
    )


def test_a_signed_request_without_the_call_id_is_refused(client, session, sample, dial, telephony):
    dial()
    (call,) = telephony.take_calls()
    before = _stored(session)
    for url, params in (
        (call.webhook_url, {"To": call.to, "CallStatus": "in-progress"}),
        (_gather(call, "screening"), {"To": call.to, "Digits": "1"}),
        (_status(call), {"To": call.to, "CallStatus": "busy"}),
    ):
        assert _post(client, telephony, url, params).status_code == 403
    assert _stored(session) == before


def test_a_numbered_early_status_is_refused_or_ignored_as_any_webhook(
    client, session, sample, dial, telephony
):
    """Does the one-UPDATE path of an early status leave 403, 404 and frozen waves alone?"""
    dial(limit=2)
    first, second = telephony.take_calls()
    ringing = _params(first, CallStatus="ringing", SequenceNumber="1")
    before = _stored(session)
    # Signed, but the other call's id: 403; a wrong token in the URL: 404.
    other = {**ringing, "CallSid": second.call_id}
    assert _post(client, telephony, _status(first), other).status_code == 403
    wrong = _status(first).replace("/status", "x/status")
    assert _post(client, telephony, wrong, ringing).status_code == 404
    assert _stored(session) == before
    assert _post(client, telephony, _status(first), ringing).status_code == 204
    session.commit()
    numbers = dict(
        session.exec(select(CallAttempt.provider_call_id, CallAttempt.status_sequence)).all()
    )
    assert numbers == {first.call_id: 1, second.call_id: None}
    office = make_user(session, username="office", role="reviewer")
    wave = session.exec(select(SurveyWave)).one()
    with transaction(session):
        publication.close_results(session=session, wave=wave, actor=office)
    before = _stored(session)
    answered = _params(first, CallStatus="in-progress", SequenceNumber="2")
    assert _post(client, telephony, _status(first), answered).status_code == 204
    assert _stored(session) == before
