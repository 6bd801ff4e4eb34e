"""The one-statement claim (:mod:`survey_service.calls.claiming`) with joint calls.

A number sampled for several units is claimed whole: the claim's UPDATE
takes one case, the number's other open cases follow all or none, and a
claim that finds one of them locked by a concurrent claim rolls back to its
savepoint (the case it took is left as it was) and tries the next number.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from survey_service.calls import queue
from survey_service.db import get_engine, transaction
from survey_service.models import Case, CaseStatus
from tests.calls.conftest import EVENING
from tests.calls.joint_sample import make_joint_sample
from tests.factories import make_user


def _close(session, cases):
    with transaction(session):
        for case in cases:
            case.status, case.disposition = CaseStatus.FINAL, "4.70"
            session.add(case)


@pytest.fixture
def agent(session):
    with transaction(session):
        return make_user(session, username="agent", role="agent")


def test_a_claim_of_the_second_units_case_returns_the_calls_first_unit(session, agent):
    """The number's second case first in the queue: is the call's first unit returned?"""
    (first, second), alone = make_joint_sample(session)
    _close(session, alone)
    with transaction(session):
        first.next_attempt_at = EVENING + timedelta(hours=2)  # not due: offered second's
        session.add(first)
    with transaction(session):
        case = queue.claim_next_case(session, agent, now=EVENING)
    assert case.id == first.id
    session.commit()
    rows = session.exec(select(Case.id, Case.status, Case.claimed_by, Case.last_tried_at)).all()
    held = {(row[0], row[1], row[2], row[3]) for row in rows}
    assert held == {
        (first.id, CaseStatus.IN_PROGRESS, agent.id, EVENING),
        (second.id, CaseStatus.IN_PROGRESS, agent.id, EVENING),
        (alone[0].id, CaseStatus.FINAL, None, None),
        (alone[1].id, CaseStatus.FINAL, None, None),
    }


def test_a_number_whose_other_case_is_locked_is_rolled_back_and_passed_over(
    backend, session, agent
):
    """A concurrent claim holds the lock on the second case: is the first left untouched?"""
    if backend != "postgres":
        pytest.skip("row locks are PostgreSQL's (SQLite runs one writer at a time)")
    (first, second), alone = make_joint_sample(session)
    _close(session, alone[1:])
    with transaction(session):
        alone[0].next_attempt_at = EVENING + timedelta(minutes=1)  # due a minute later
        session.add(alone[0])
    engine = get_engine()
    sql: list[str] = []
    with Session(engine) as other:
        other.exec(select(Case.id).where(Case.id == second.id).with_for_update()).one()
        listener = lambda _c, _cur, statement, *_a: sql.append(statement)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            with Session(engine) as s, transaction(s):
                claimed = queue.claim_next_case(s, agent, now=EVENING)
                assert claimed is None  # first's number is taken in part, alone[0] not due
            with Session(engine) as s, transaction(s):
                later = queue.claim_next_case(s, agent, now=EVENING + timedelta(minutes=2))
                assert later.id == alone[0].id  # the number is still passed over
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        other.rollback()
    assert any(statement.startswith("ROLLBACK TO SAVEPOINT") for statement in sql)
    session.expire_all()
    states = {c.id: (c.status, c.claimed_by, c.last_tried_at) for c in session.exec(select(Case))}
    assert states[first.id] == (CaseStatus.PENDING, None, None)  # the savepoint undid its claim
    assert states[second.id] == (CaseStatus.PENDING, None, None)
    assert states[alone[0].id] == (CaseStatus.IN_PROGRESS, agent.id, EVENING + timedelta(minutes=2))


# The claim of a number drawn twice: a number drawn once's claim and the siblings'
# claim (PostgreSQL: count, lock with SKIP LOCKED, UPDATE; SQLite: read, UPDATE).
CLAIM = {"postgres": 4, "sqlite": 3}
SIBLINGS = {"postgres": 3, "sqlite": 2}


def test_a_joint_claim_costs_its_siblings_statements_only(backend, session, agent):
    """Statements of the claim (waves with the agent lock, completes, savepoint, UPDATE)."""
    (first, second), alone = make_joint_sample(session)
    with transaction(session):
        alone[1].next_attempt_at = EVENING + timedelta(minutes=30)
        for case in (first, second):
            case.next_attempt_at = EVENING + timedelta(hours=1)  # the lone numbers first
        session.add_all([alone[1], first, second])
    engine = get_engine()
    sql: list[str] = []
    listener = lambda _c, _cur, statement, *_a: sql.append(statement)  # noqa: E731
    counts = {}
    for name, now, expected in (
        ("warm-up", EVENING, alone[0]),  # the process's first claim reads more
        ("alone", EVENING + timedelta(minutes=40), alone[1]),
        ("joint", EVENING + timedelta(hours=2), first),
    ):
        event.listen(engine, "before_cursor_execute", listener)
        try:
            with Session(engine) as s, transaction(s):
                sql.clear()
                claimed = queue.claim_next_case(s, agent, now=now)
                counts[name] = len(sql)
                assert claimed.id == expected.id
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        _close(session, [session.get(Case, expected.id)])
    assert {k: v for k, v in counts.items() if k != "warm-up"} == {
        "alone": CLAIM[backend],
        "joint": CLAIM[backend] + SIBLINGS[backend],
    }, sql
