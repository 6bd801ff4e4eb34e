"""Fixtures for the IVR: a drawn sample, the simulated provider, dialling, respondents."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from survey_service.calls import dialling
from survey_service.calls.telephony.simulated import (
    FlaskClientTransport,
    SimulatedProvider,
    SimulatedRespondent,
)
from survey_service.db import transaction
from survey_service.models import Case
from survey_service.sample import draws
from tests.factories import csv_content, make_list, make_unit, make_user, make_wave

# Wednesday 1 November 2017, 19:00 in Wuhan (Asia/Shanghai, UTC+8): the evening window.
EVENING = datetime(2017, 11, 1, 11, 0, tzinfo=UTC)
BASE = "http://ivr.test"


def make_sample(session, *, per_unit=3, kind="群众", script_id="short_demo", n=10, calling=None):
    """One unit (奓山街派出所), an approved list of ``n`` clients, ``per_unit`` cases drawn.

    ``calling`` becomes the wave's calling settings (e.g. ROUND_THE_CLOCK for a
    test that dials on the wall clock).
    """
    with transaction(session):
        unit = make_unit(session)
        reviewer = make_user(session, role="reviewer")
        wave = make_wave(session, script_id=script_id)
        if calling is not None:
            wave.settings = {**wave.settings, "calling": calling}
            session.add(wave)
        make_list(
            session, unit=unit, wave=wave, n=n, actor=reviewer, content=csv_content(n, kind=kind)
        )
        draws.draw_sample(session=session, wave=wave, seed=1, per_unit=per_unit, actor=None)
    return session.exec(select(Case).order_by(Case.id)).all()


def reload(session, *objects):
    """End the test's read transaction and reload ``objects`` (the views used other sessions)."""
    session.commit()
    for obj in objects:
        session.refresh(obj)


@pytest.fixture
def sample(session):
    return make_sample(session)


@pytest.fixture
def telephony(app):
    """The simulated provider, also the one the app's webhooks validate with."""
    provider = SimulatedProvider.from_config(app.config)
    app.extensions["telephony"] = provider
    return provider


@pytest.fixture
def dial(app, session, telephony):
    """Run one round of IVR dialling at ``now`` (default: a Wednesday evening)."""

    def dial(limit=1, now=EVENING, provider=None, **kwargs):
        with transaction(session):
            return dialling.dial_due_cases(
                session,
                provider=provider or telephony,
                vault=app.extensions["phone_vault"],
                limit=limit,
                now=now,
                webhook_base=kwargs.pop("webhook_base", BASE),
                token_key=app.config["SECRET_KEY"],
                **kwargs,
            )

    return dial


@pytest.fixture
def respondent(client, telephony):
    """Build a respondent who answers the simulated calls through the test client."""

    def make(deliver_to=None, **kwargs):
        transport = FlaskClientTransport(client, deliver_to=deliver_to)
        return SimulatedRespondent(transport, telephony.auth_token, **kwargs)

    return make
