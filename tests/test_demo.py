"""The demo district: what a newcomer sees after `make run`."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from survey_service.models import Case, ClientList, ListStatus, SampleDraw, Unit, User
from survey_service.results.estimates import unit_results
from survey_service.setup.waves import current_wave


def test_demo_builds_the_district(runner, session, backend):
    """Does `flask demo` build 330 units, every role, lists, a sample and scores?"""
    if backend != "sqlite":
        pytest.skip(
            "the demo on PostgreSQL runs the same code as every other test"
        )  # is covered by every other test; save a minute
    result = runner.invoke(args=["demo", "--scale", "0.02"])
    assert result.exit_code == 0, result.output
    assert "reviewer" in result.output and "demo-review-2017" in result.output
    categories = dict(
        session.exec(select(Unit.category, func.count()).group_by(Unit.category)).all()
    )
    assert categories == {"机关科室": 57, "基层站所": 273}
    roles = set(session.exec(select(User.role)).all())
    assert roles == {"unit", "reviewer", "agent", "supervisor", "statistician", "admin"}
    statuses = dict(
        session.exec(select(ClientList.status, func.count()).group_by(ClientList.status)).all()
    )
    assert statuses == {
        ListStatus.APPROVED: 324,
        ListStatus.SUBMITTED: 2,
        ListStatus.REJECTED: 1,
        ListStatus.DRAFT: 1,
    }
    draw = session.exec(select(SampleDraw)).one()
    assert draw.status == "drawn"
    units = draw.design["units"]
    assert len(units) == 324
    # the plan is what the whole replicate batches hold, at least each unit's target
    assert draw.sample_size == sum(u["planned"] for u in units.values())
    assert all(u["planned"] >= u["release"] for u in units.values())
    assert all(u["completes"] == min(u["N"], 30) for u in units.values())  # minimum 30 binds
    released = session.exec(select(func.count(Case.id)).where(Case.released)).one()
    assert released == draw.sample_size  # planned and released agree (issue 16)
    rows = unit_results(session, current_wave(session))
    scored = [r for r in rows if r.n > 0]
    assert len(rows) == 330
    assert len(scored) >= 300
    assert all(0 <= r.mean <= 10 for r in scored)
    assert all(r.ci_low <= r.mean <= r.ci_high for r in scored)
    # A second run refuses (the database is not empty); --if-empty only prints the logins.
    assert runner.invoke(args=["demo"]).exit_code == 2
    again = runner.invoke(args=["demo", "--if-empty"])
    assert again.exit_code == 0 and "agent1" in again.output
