"""The call queue: one case per agent, never the same case twice."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from survey_service.calls import queue
from survey_service.db import get_engine, transaction
from survey_service.models import Case, CaseStatus
from survey_service.sample import draws
from tests.factories import make_list, make_unit, make_user, make_wave

NOW = datetime(2017, 11, 1, 11, 0, tzinfo=UTC)


@pytest.fixture
def sample(session):
    with transaction(session):
        reviewer = make_user(session, role="reviewer")
        wave = make_wave(session)
        for i in range(4):
            unit = make_unit(session, code=f"U{i}", name=f"单位{i}")
            make_list(
                session, unit=unit, wave=wave, n=15, start=13800000000 + i * 1000, actor=reviewer
            )
        draws.draw_sample(session=session, wave=wave, seed=3, per_unit=10, actor=None)
    return wave


def test_agent_keeps_its_case_until_it_is_done(session, sample):
    """Does an agent asking again get the case it already holds?"""
    with transaction(session):
        agent = make_user(session, role="agent")
        first = queue.claim_next_case(session, agent, now=NOW)
        again = queue.claim_next_case(session, agent, now=NOW)
    assert first.id == again.id
    assert first.status == CaseStatus.IN_PROGRESS and first.claimed_by == agent.id


def test_idle_claims_are_released(session, sample):
    """Is a case held idle for more than 30 minutes given back to the queue?"""
    with transaction(session):
        agent = make_user(session, role="agent")
        case = queue.claim_next_case(session, agent, now=NOW)
        released = queue.release_stale_claims(
            session, idle_minutes=30, now=NOW + timedelta(minutes=31)
        )
    session.refresh(case)
    assert released == 1
    assert (case.status, case.claimed_by) == (CaseStatus.PENDING, None)


def test_concurrent_agents_never_share_a_case(app, backend, sample):
    """Do 8 agents claiming at once, 5 times each, ever get the same case?"""
    if backend != "postgres":
        pytest.skip("concurrency is tested on PostgreSQL, the production database")
    with app.app_context():
        engine = get_engine()
        with Session(engine, expire_on_commit=False) as s, transaction(s):
            agents = [make_user(s, username=f"a{i}", role="agent") for i in range(8)]
        claimed: list[tuple[int, int]] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(len(agents))

        def work(agent):
            try:
                barrier.wait()
                for _ in range(5):
                    with Session(engine) as s, transaction(s):
                        case = queue.claim_next_case(s, agent, now=NOW)
                        claimed.append((agent.id, case.id))
                        case.status = CaseStatus.FINAL  # done with it: take another
                        case.disposition = "3.90"
                        s.add(case)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(a,)) for a in agents]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        case_ids = [c for _, c in claimed]
        assert len(case_ids) == 40
        assert len(set(case_ids)) == 40
        with Session(engine) as s:
            holders = s.exec(select(Case.claimed_by).where(Case.id.in_(case_ids))).all()
        assert len(holders) == 40
