"""The simulated respondent against a live server, over real HTTP."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select
from werkzeug.serving import make_server

from survey_service.calls.telephony.simulated import (
    HttpTransport,
    SimulatedCallError,
    SimulatedRespondent,
)
from survey_service.models import Case, CaseStatus
from tests.calls.conftest import reload


@pytest.fixture
def live_server(app):
    """The app served on a free local port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def test_interview_over_http_against_a_live_server(
    app, session, sample, dial, telephony, live_server
):
    """Can the simulator play a whole interview against a running server (the demo's way)?"""
    public = "https://survey.example.org"
    dial(webhook_base=public)
    (call,) = telephony.take_calls()
    transport = HttpTransport(deliver_to=live_server)
    player = SimulatedRespondent(transport, telephony.auth_token, keys=["1", "3", "4"])
    # The server does not know its public URL yet: every signature check fails.
    with pytest.raises(SimulatedCallError, match="403"):
        player.take(call)
    app.config["PUBLIC_BASE_URL"] = public
    record = player.take(call)
    assert [r.status for r in record.requests] == [200, 200, 200, 200, 204]
    case = session.exec(select(Case).where(Case.id == sample[0].id)).one()
    reload(session, case)
    assert (case.status, case.disposition) == (CaseStatus.FINAL, "1.1")


def test_respondent_refuses_an_unknown_behaviour():
    """Is a misspelt call behaviour refused rather than silently answered?"""
    with pytest.raises(ValueError, match="no_answer"):
        SimulatedRespondent(HttpTransport(), "t", answer="no_answer")
