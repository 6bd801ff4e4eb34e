"""SQL statements per IVR webhook, counted with an SQLAlchemy event listener.

A webhook must answer within Twilio's and Alibaba's time limits under
hundreds of simultaneous calls, so each kind's statements are counted
exactly: a new statement on one of these paths must be a decision, not an
accident. SQLite takes one statement more wherever the attempt is locked
(it locks by writing first; PostgreSQL by ``SELECT ... FOR UPDATE``).
"""

from __future__ import annotations

import contextlib

from sqlalchemy import event
from twilio.request_validator import RequestValidator

from survey_service import dispositions as aapor
from survey_service.db import transaction
from survey_service.models import CaseStatus
from tests.calls.conftest import make_sample, reload
from tests.calls.joint_sample import make_joint_sample

# Webhook -> statements (before this count was kept: voice 7, gather 14, last gather 19,
# status 7 and more).
STATEMENTS = {
    "voice": 2,  # the call in one joined SELECT, the answers
    "gather": 4,  # lock, call, answers, INSERT answer
    "gather closing": 8,  # ... + earlier attempts, UPDATE attempt, UPDATE case, INSERT audit
    # one UPDATE of status_sequence, its conditions checked in it (the call, its number,
    # the open wave); before: lock, call, UPDATE (3 / 2)
    "status early": 1,
    "status after closing": 1,  # the same: the interview closed the attempt
    # the UPDATE (not taken: an end to record), lock, call, UPDATE sequence, answers,
    # earlier attempts, 3 writes
    "status hang-up": 9,
}
# These lock the attempt with a statement of its own: one more on SQLite (see above).
LOCKED = frozenset({"gather", "gather closing", "status hang-up"})
# A call covering two units (one number drawn for both, :mod:`survey_service.calls.joint`),
# counted as they are, not yet reduced: every step that asks where the call is reads the
# call's attempts again (GROUP: joint.current, resent_to_previous_unit, later, position),
# and the second unit's case, unit and client are not part of the call's joined SELECT.
JOINT = {
    "voice": 4,  # call, GROUP, answers, GROUP (the unit's notice)
    # lock, call, GROUP, GROUP, answers, INSERT: the second unit's case is still in the
    # session the test's requests share (read by voice; before, the gather's rollback
    # expired it and it was read again)
    "first gather": 6,
    "gather": 6,  # the same, the second unit's case now in the session
    # lock, call, GROUP x2, answers, INSERT, earlier attempts, audit, attempt, case (the first
    # unit's 1.1), GROUP, the second unit's attempt and case (started now), its answers,
    # unit, client (its first item names them), GROUP (its notice)
    "gather ending a unit": 17,
    # lock, call, GROUP x2, answers, unit, client (the resend check's state), answers, unit,
    # client (the key press's state: the unit and client were not held), INSERT
    "gather next unit": 11,
    # the UPDATE of the sequence alone (not taken: an end of a joint call), lock, call,
    # UPDATE sequence, GROUP, answers, unit, client x2, earlier attempts, audit, attempt,
    # case (the second unit's 1.2 partial; the first unit's attempt is closed already)
    # (SQLite, PostgreSQL): on SQLite the rollback before the lock expires the test
    # session's objects, and one of them is read again
    "status hang-up": (14, 12),
}


@contextlib.contextmanager
def counting(engine):
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _post(client, telephony, url, params):
    signature = RequestValidator(telephony.auth_token).compute_signature(url, params)
    return client.post(url, data=params, headers={"X-Twilio-Signature": signature})


def test_statements_per_webhook_kind(app, client, session, backend, dial, telephony):
    """Does each webhook kind take exactly its counted statements (one call per key press)?"""
    cases = make_sample(session)
    dial(limit=2)
    first, second = telephony.take_calls()
    engine = app.extensions["engine"]
    counts = {}

    def send(name, call, url, **fields):
        params = {"CallSid": call.call_id, "To": call.to, "CallStatus": "in-progress", **fields}
        with counting(engine) as statements:
            response = _post(client, telephony, url, params)
        assert response.status_code in (200, 204), response.get_data(as_text=True)
        counts.setdefault(name, []).append(len(statements))

    for n, call in enumerate((first, second)):
        gather = call.webhook_url.replace("/voice", "/gather/{}/0")
        send(
            "status early", call, call.status_callback_url, CallStatus="ringing", SequenceNumber="0"
        )
        send("voice", call, call.webhook_url)
        send("gather", call, gather.format("screening"), Digits="1")
        send("gather", call, gather.format("service_quality"), Digits="2")
        if n == 0:
            send("gather closing", call, gather.format("overall"), Digits="2")
            name = "status after closing"
        else:
            name = "status hang-up"
        send(name, call, call.status_callback_url, CallStatus="completed", SequenceNumber="1")
    expected = {
        name: count - (backend == "postgres" and name in LOCKED)
        for name, count in STATEMENTS.items()
    }
    assert counts == {name: [expected[name]] * len(runs) for name, runs in counts.items()}, (
        f"statements per webhook changed: {counts}"
    )
    assert set(counts) == set(STATEMENTS)
    reload(session, *cases[:2])
    assert [(c.status, c.disposition) for c in cases[:2]] == [
        (CaseStatus.FINAL, aapor.COMPLETE),
        (CaseStatus.FINAL, aapor.PARTIAL),
    ]


def test_statements_per_webhook_of_a_call_covering_two_units(
    app, client, session, backend, dial, telephony
):
    """Does a joint call take exactly its counted statements (its group read, not scanned)?"""
    (first, second), alone = make_joint_sample(session)
    with transaction(session):
        for case in alone:  # only the shared number is left to call
            case.status, case.disposition = CaseStatus.FINAL, aapor.SCREENED_OUT
            session.add(case)
    dial(limit=5)
    (call,) = telephony.take_calls()
    engine = app.extensions["engine"]
    counts = {}

    def send(name, url, **fields):
        params = {"CallSid": call.call_id, "To": call.to, "CallStatus": "in-progress", **fields}
        with counting(engine) as statements:
            response = _post(client, telephony, url, params)
        assert response.status_code in (200, 204), response.get_data(as_text=True)
        counts.setdefault(name, []).append(len(statements))

    gather = call.webhook_url.replace("/voice", "/gather/{}/0")
    send("voice", call.webhook_url)
    send("first gather", gather.format("screening"), Digits="1")
    send("gather", gather.format("service_quality"), Digits="1")
    send("gather ending a unit", gather.format("overall"), Digits="2")
    send("gather next unit", gather.format("screening"), Digits="1")
    send("gather next unit", gather.format("service_quality"), Digits="3")
    send("status hang-up", call.status_callback_url, CallStatus="completed", SequenceNumber="1")
    locked = frozenset(JOINT) - {"voice"}
    expected = {
        name: count[backend == "postgres"]
        if isinstance(count, tuple)
        else count - (backend == "postgres" and name in locked)
        for name, count in JOINT.items()
    }
    assert counts == {name: [expected[name]] * len(runs) for name, runs in counts.items()}, (
        f"statements per webhook of a joint call changed: {counts}"
    )
    reload(session, first, second)
    assert [(c.status, c.disposition) for c in (first, second)] == [
        (CaseStatus.FINAL, aapor.COMPLETE),
        (CaseStatus.FINAL, aapor.PARTIAL),
    ]


class NetworkUsed(AssertionError):
    """A webhook tried to reach the network."""


def _no_network(*args, **kwargs):
    raise NetworkUsed(f"a webhook tried to reach the network: {args[1:]!r}")


def test_a_webhook_never_waits_on_the_network(app, client, session, dial, monkeypatch):
    """Is a whole Twilio call answered with no socket opened and no REST request to Twilio?

    The provider's REST client answers nothing (any request fails), and every
    Python socket connect or name lookup raises while the webhooks run; the
    database driver (libpq) is not Python and keeps its pooled connection.
    """
    import socket

    from survey_service.calls.telephony.simulated import (
        FlaskClientTransport,
        SimulatedProvider,
        SimulatedRespondent,
    )
    from survey_service.calls.telephony.twilio_provider import TwilioProvider
    from tests.calls.holodeck import Holodeck

    token = "t" * 32
    cases = make_sample(session)
    placing = SimulatedProvider(token)
    dial(limit=1, provider=placing)
    (call,) = placing.take_calls()
    rest = Holodeck()
    app.extensions["telephony"] = TwilioProvider(
        account_sid="AC" + "0" * 32, auth_token=token, from_number="+15005550006", http_client=rest
    )
    for name in ("connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, _no_network)
    monkeypatch.setattr(socket, "getaddrinfo", _no_network)
    monkeypatch.setattr(socket, "create_connection", _no_network)
    respondent = SimulatedRespondent(FlaskClientTransport(client), token, keys=["1", "2", "3"])
    record = respondent.take(call)
    monkeypatch.undo()
    assert [sent.status for sent in record.requests] == [200, 200, 200, 200, 204]
    assert rest.requests == []
    reload(session, cases[0])
    assert (cases[0].status, cases[0].disposition) == (CaseStatus.FINAL, aapor.COMPLETE)
