"""The demo network: respondents drawn from the call id take the calls the worker placed."""

from __future__ import annotations

from sqlmodel import select

from survey_service.calls.telephony.simulated import FlaskClientTransport
from survey_service.calls.telephony.simulated_play import play_calls, respondent_for
from survey_service.models import CallAttempt


def test_every_placed_call_is_played_to_its_end(app, client, session, sample, dial, telephony):
    result = dial(limit=3)
    assert len(result.placed) == 3
    calls = list(telephony.calls)
    assert play_calls(telephony, FlaskClientTransport(client)) == 3
    assert telephony.calls == []
    session.commit()
    attempts = session.exec(select(CallAttempt).order_by(CallAttempt.id)).all()
    assert [a.ended_at is not None for a in attempts] == [True, True, True]
    assert all(a.outcome for a in attempts)
    # The same call id always gives the same respondent.
    first, again = (respondent_for(calls[0], None, "t") for _ in range(2))
    assert (first._answer, first._keys) == (again._answer, again._keys)
