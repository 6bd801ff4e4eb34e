"""The speed of the agent's two busiest requests, as statement counts that cannot creep up.

take-next and record-outcome sent 9-16 and 20 SQL statements each; the claim
is now one UPDATE and the held case comes with its context in one query.
These tests count the statements that the requests send through the app's
engine (after one warm-up round: the first claim of a process also looks up
the units, records the wave's queue seed and gives back idle claims).
"""

from __future__ import annotations

import re

import pytest
import time_machine
from sqlalchemy import event
from sqlmodel import Session, select

from survey_service.calls import claiming, ordering, queue
from survey_service.db import get_engine, transaction
from survey_service.models import CallAttempt, Case, CaseStatus
from tests.calls.conftest import EVENING, make_sample
from tests.factories import make_user

# At most this many statements (PostgreSQL also takes the savepoint a joint call's claim
# rolls back to: +1 for a number drawn once; its lock of the agent's row rides on the
# query of the open waves).
TAKE_NEXT = {"postgres": 6, "sqlite": 5}
RECORD_OUTCOME = 6


@pytest.fixture(autouse=True)
def wednesday_evening():
    with time_machine.travel(EVENING, tick=False):
        yield


class Statements:
    def __init__(self, engine):
        self.sql: list[str] = []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement, *_args):
        self.sql.append(statement)

    def during(self, call):
        self.sql.clear()
        result = call()
        return result, len(self.sql)


def _case_id(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/calls/case/(\d+)$", response.headers["Location"]).group(1))


def test_take_next_and_record_outcome_stay_within_their_statement_counts(
    app, backend, session, client, auth
):
    make_sample(session, per_unit=5)
    with transaction(session):
        make_user(session, username="agent", role="agent")
    auth.login("agent")
    counter = Statements(app.extensions["engine"])
    counts = []
    for _round in range(3):
        response, take = counter.during(lambda: client.post("/calls/next"))
        take_sql = list(counter.sql)
        case_id = _case_id(response)
        response, record = counter.during(
            lambda case_id=case_id: client.post(
                f"/calls/case/{case_id}/end", data={"outcome": "3.13"}
            )
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        counts.append((take, record, take_sql, list(counter.sql)))
    for take, record, take_sql, record_sql in counts[1:]:
        assert take <= TAKE_NEXT[backend], "\n".join(take_sql)
        assert record <= RECORD_OUTCOME, "\n".join(record_sql)
    session.commit()
    attempts = session.exec(select(CallAttempt).order_by(CallAttempt.id)).all()
    assert [a.outcome for a in attempts] == ["3.13"] * 3
    cases = {a.case_id for a in attempts}
    assert len(cases) == 3  # each round claimed a new case (the tried ones wait 3 hours)
    for case in session.exec(select(Case).where(Case.id.in_(cases))):
        assert case.status == CaseStatus.PENDING and case.attempts == 1
        started = next(a.started_at for a in attempts if a.case_id == case.id)
        assert case.last_tried_at == started  # the claim's time is the attempt's start


def test_a_held_case_comes_back_from_take_next(backend, session, client, auth):
    """A reload (or a second tab) of take-next returns the case held, without a new claim."""
    make_sample(session, per_unit=3)
    with transaction(session):
        make_user(session, username="agent", role="agent")
    auth.login("agent")
    first = _case_id(client.post("/calls/next"))
    assert _case_id(client.post("/calls/next")) == first
    session.commit()
    assert session.exec(select(Case.id).where(Case.status == CaseStatus.IN_PROGRESS)).all() == [
        first
    ]
    assert len(session.exec(select(CallAttempt)).all()) == 1


def test_when_the_first_candidates_are_locked_the_claim_looks_further(
    app, backend, session, monkeypatch
):
    """With the first CANDIDATES cases locked by other claims, is the next one claimed?"""
    if backend != "postgres":
        pytest.skip("row locks are PostgreSQL's (SQLite runs one writer at a time)")
    make_sample(session, per_unit=5)
    with transaction(session):
        agent = make_user(session, username="agent", role="agent")
        order = ordering.offer_order(session, queue._open_waves(session))
        offered = session.exec(
            select(Case.id).where(queue.due(session, EVENING)).order_by(*order)
        ).all()
    assert len(offered) == 5
    monkeypatch.setattr(claiming, "CANDIDATES", 2)
    engine = get_engine()
    with Session(engine) as other:
        locked = other.exec(select(Case.id).where(Case.id.in_(offered[:2])).with_for_update()).all()
        assert sorted(locked) == sorted(offered[:2])
        with Session(engine) as s, transaction(s):
            claimed = queue.claim_next_case(s, agent, now=EVENING)
            assert claimed.id == offered[2]
        other.rollback()


def test_migration_0012_fills_the_order_keys_from_the_attempts(app, session):
    """Down to 0011 and up again: are last_tried_at and booked_at rebuilt from call_attempt?"""
    from datetime import timedelta

    from alembic import command

    from survey_service import migrations
    from survey_service.calls import attempts as calling

    tried, booked, fresh = make_sample(session, per_unit=3)
    with transaction(session):
        agent = make_user(session, username="agent", role="agent")
        for case, days in ((tried, 2), (booked, 1)):
            start = EVENING - timedelta(days=days)
            attempt = calling.start_attempt(session, case, agent=agent, now=start)
            calling.record_outcome(
                session,
                case,
                attempt,
                "2.21" if case is booked else "3.13",
                actor=agent,
                now=start,
                appointment_at=EVENING if case is booked else None,
            )
    session.commit()
    session.close()
    engine = app.extensions["engine"]
    cfg = migrations.alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0011")
    migrations.upgrade(engine)
    keys = {c.id: (c.last_tried_at, c.booked_at) for c in session.exec(select(Case)).all()}
    assert keys == {
        tried.id: (EVENING - timedelta(days=2), None),
        booked.id: (EVENING - timedelta(days=1), EVENING),
        fresh.id: (None, None),
    }
