"""Refusal conversion: a soft refusal's case goes only to a senior agent, never to the IVR."""

from __future__ import annotations

from sqlmodel import select

from survey_service.calls import dialling, queue
from survey_service.db import transaction
from survey_service.models import AuditEvent, Case, User
from survey_service.setup.users import set_senior
from tests.calls.conftest import EVENING, make_sample, reload
from tests.factories import make_user


def _soft_refused(session, n=3):
    cases = make_sample(session, per_unit=n)
    with transaction(session):
        cases[0].needs_senior = True
        session.add(cases[0])
    return cases


def test_only_a_senior_agent_is_offered_a_refusal_conversion(session):
    """Of three due cases, one needs a senior: a junior agent gets the other two, never it."""
    cases = _soft_refused(session)
    with transaction(session):
        junior = make_user(session, username="junior", role="agent")
        senior = make_user(session, username="senior", role="agent")
        set_senior(session=session, user=senior, senior=True, actor=None)
    assert queue.waiting_count(session, now=EVENING, agent=junior) == 2
    assert queue.waiting_count(session, now=EVENING, agent=senior) == 3
    taken = []
    with transaction(session):
        while (case := queue.claim_next_case(session, junior, now=EVENING)) is not None:
            taken.append(case.id)
            case.status = "final"
            session.add(case)
            session.flush()
    assert sorted(taken) == [cases[1].id, cases[2].id]
    with transaction(session):
        case = queue.claim_next_case(session, senior, now=EVENING)
    assert case.id == cases[0].id


def test_the_ivr_never_dials_a_refusal_conversion(session, telephony):
    cases = _soft_refused(session)
    with transaction(session):
        claimed = dialling.claim_due_cases(session, limit=10, now=EVENING)
    assert sorted(c.id for c, _attempt in claimed) == [cases[1].id, cases[2].id]


def test_admin_sets_the_senior_flag_audited(client, session, auth):
    """The admin ticks 资深访员 on an agent's page: stored, listed, audited; not for a reviewer."""
    with transaction(session):
        make_user(session, username="root", role="admin")
        agent = make_user(session, username="a1", role="agent")
        reviewer = make_user(session, username="r1", role="reviewer")
    auth.login("root")
    page = client.get(f"/admin/users/{agent.id}").get_data(as_text=True)
    assert "资深访员" in page
    form = {"display_name": "a1", "role": "agent", "unit_code": "", "senior": "y"}
    assert client.post(f"/admin/users/{agent.id}", data=form).status_code == 302
    reload(session, agent)
    assert agent.senior is True
    assert "（资深访员）" in client.get("/admin/users").get_data(as_text=True)
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "user.senior")).all()
    assert [e.object_id for e in events] == [str(agent.id)]
    form = {"display_name": "r1", "role": "reviewer", "unit_code": "", "senior": "y"}
    html = client.post(f"/admin/users/{reviewer.id}", data=form).get_data(as_text=True)
    assert "只有话务员可以设为资深访员" in html
    reload(session, reviewer)
    assert reviewer.senior is False
    form = {"display_name": "a1", "role": "agent", "unit_code": ""}  # box unticked
    client.post(f"/admin/users/{agent.id}", data=form)
    reload(session, agent)
    assert agent.senior is False
    assert session.exec(select(User).where(User.senior)).all() == []
    assert session.exec(select(Case).where(Case.needs_senior)).all() == []
