"""``flask --app wsgi ivr dial`` keeps the provider's limits exactly as the worker does."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlmodel import select

from survey_service.calls.settings import ROUND_THE_CLOCK
from survey_service.db import transaction
from survey_service.dispositions import NO_ANSWER
from survey_service.models import CallAttempt, Case
from tests.calls.conftest import EVENING, make_sample


@pytest.fixture
def wall_clock():
    with time_machine.travel(EVENING, tick=False) as traveller:
        yield traveller


def _open_calls(session) -> list[int]:
    session.commit()
    rows = session.exec(
        select(CallAttempt.case_id).where(CallAttempt.ended_at.is_(None)).order_by(CallAttempt.id)
    )
    return list(rows.all())


def test_ivr_dial_defers_a_callee_and_keeps_to_the_free_lines(app, session, runner, wall_clock):
    """A callee called 20 s ago waits out the minute; two lines take two calls, then none."""
    cases = make_sample(session, per_unit=4, calling=ROUND_THE_CLOCK)
    app.config.update(
        PUBLIC_BASE_URL="https://survey.example.org",
        DIAL_CONCURRENT_LANDLINE=2,  # the simulated caller number is a Wuhan landline
        DIAL_CALLS_PER_SECOND=10,
    )
    with transaction(session):
        session.add(
            CallAttempt(
                case_id=cases[0].id,
                channel="ivr",
                started_at=EVENING - timedelta(seconds=20),
                ended_at=EVENING - timedelta(seconds=10),
                outcome=NO_ANSWER,
            )
        )
    result = runner.invoke(args=["ivr", "dial", "--limit", "20"])
    assert result.exit_code == 0, result.output
    assert "placed 2, refused 0, expired 0" in result.output
    assert _open_calls(session) == [cases[1].id, cases[2].id]
    first = session.get(Case, cases[0].id, populate_existing=True)
    assert first.next_attempt_at.replace(tzinfo=None) == (EVENING + timedelta(seconds=40)).replace(
        tzinfo=None
    )
    # Both lines are busy: a second run places nothing, whatever --limit says.
    result = runner.invoke(args=["ivr", "dial", "--limit", "20"])
    assert "placed 0, refused 0, expired 0" in result.output
    assert _open_calls(session) == [cases[1].id, cases[2].id]


def test_ivr_dial_keeps_to_the_calls_per_second_and_its_limit(app, session, runner, wall_clock):
    """One call a second: one now, none in the same second, one the next; --limit caps too."""
    cases = make_sample(session, per_unit=4, calling=ROUND_THE_CLOCK)
    app.config.update(PUBLIC_BASE_URL="https://survey.example.org", DIAL_CALLS_PER_SECOND=1)
    assert "placed 1," in runner.invoke(args=["ivr", "dial"]).output
    assert "placed 0," in runner.invoke(args=["ivr", "dial"]).output
    wall_clock.shift(timedelta(seconds=1))
    assert "placed 1," in runner.invoke(args=["ivr", "dial"]).output
    app.config["DIAL_CALLS_PER_SECOND"] = 10
    wall_clock.shift(timedelta(seconds=1))
    assert "placed 1," in runner.invoke(args=["ivr", "dial", "--limit", "1"]).output
    assert _open_calls(session) == [cases[0].id, cases[1].id, cases[2].id]
