"""The worker plays the simulated provider's calls with the SIMULATED_NETWORK file's rates."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select
from werkzeug.serving import make_server

from survey_service import dispositions as aapor
from survey_service.calls.settings import ROUND_THE_CLOCK
from survey_service.calls.telephony.simulated_play import unit_lookup
from survey_service.models import CallAttempt, Client, Unit
from survey_service.scheduler import build_scheduler, dialling_problem
from tests.calls.conftest import make_sample


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def _jobs(app):
    return {job.id: job for job in build_scheduler(app).get_jobs()}


def test_the_worker_plays_calls_as_the_settings_file_says(app, session, live_server, tmp_path):
    """Every call busy in the file: the worker's dial and play jobs record three 3.12s."""
    make_sample(session, per_unit=3, calling=ROUND_THE_CLOCK)
    session.commit()
    network = tmp_path / "network.yaml"
    network.write_text("seed: 3\nbehaviour: {busy: 1}\n", encoding="utf-8")
    app.config.update(
        PUBLIC_BASE_URL=live_server, SIMULATED_NETWORK=str(network), DIAL_CALLS_PER_SECOND=3
    )
    jobs = _jobs(app)
    play = jobs["play_simulated_calls"]
    assert play.kwargs["network"].settings.behaviour == {"busy": 1.0}
    dial = jobs["dial_ivr"]
    assert dial.func(*dial.args) == 3
    # Played here, one after the other, instead of on the worker's thread pool.
    assert play.func(*play.args, **{**play.kwargs, "submit": None}) == 3
    session.commit()
    assert session.exec(select(CallAttempt.outcome)).all() == [aapor.ALWAYS_BUSY] * 3


def test_the_worker_without_the_setting_uses_the_bundled_rates(app):
    app.config.update(PUBLIC_BASE_URL="http://127.0.0.1:5106")
    network = _jobs(app)["play_simulated_calls"].kwargs["network"]
    assert network.settings.behaviour["answer"] == 55.0 and network.settings.seed == 2017


def test_an_unusable_network_file_turns_dialling_off_and_says_why(app, tmp_path):
    bad = tmp_path / "network.yaml"
    bad.write_text("behaviour: {no_answer: 1}\n", encoding="utf-8")
    app.config.update(PUBLIC_BASE_URL="http://127.0.0.1:5106", SIMULATED_NETWORK=str(bad))
    problem = dialling_problem(app)
    assert problem.startswith(f"IVR dialling is off: SIMULATED_NETWORK={bad}: ")
    assert "no_answer" in problem
    assert list(_jobs(app)) == ["release_idle_claims"]
    app.config["SIMULATED_NETWORK"] = str(tmp_path / "missing.yaml")
    assert "missing.yaml" in dialling_problem(app)


def test_the_network_finds_the_unit_of_a_number(app, session):
    """Per-unit satisfaction needs the unit of the number called (found by its lookup hash)."""
    cases = make_sample(session, per_unit=2)
    vault = app.extensions["phone_vault"]
    drawn = session.get(Client, cases[0].client_id)
    not_drawn = session.exec(
        select(Client).where(Client.id.not_in([c.client_id for c in cases]))
    ).first()
    unit = session.exec(select(Unit)).one()
    unit_of = unit_lookup(app.extensions["engine"], vault)
    assert unit_of(vault.decrypt(drawn.phone_enc)) == unit.code
    assert unit_of(vault.decrypt(not_drawn.phone_enc)) is None
