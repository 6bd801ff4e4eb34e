"""Whole IVR waves through the simulated phone network and the real webhooks."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlmodel import select

from survey_service import dispositions as aapor
from survey_service.calls import dialling
from survey_service.calls.telephony.simulated import FlaskClientTransport, SimulatedProvider
from survey_service.calls.telephony.simulated_network import (
    SimulatedNetwork,
    load_settings,
    parse_settings,
)
from survey_service.db import transaction
from survey_service.models import Answer, CallAttempt, Case, CaseStatus, Client, Unit
from survey_service.sample import draws
from tests.calls.conftest import EVENING
from tests.factories import csv_content, make_list, make_unit, make_user, make_wave

UNITS = {"U001": 1.3, "U002": 2.0, "U003": 3.6}  # mean rating level per unit


def _wave(session, per_unit):
    with transaction(session):
        reviewer = make_user(session, role="reviewer")
        wave = make_wave(session, script_id="short_demo")
        for n, code in enumerate(UNITS):
            unit = make_unit(session, code=code, name=f"单位{n}")
            content = csv_content(per_unit, start=13800000000 + n * 1_000_000)
            make_list(session, unit=unit, wave=wave, n=per_unit, actor=reviewer, content=content)
        draws.draw_sample(session=session, wave=wave, seed=1, per_unit=per_unit, actor=None)


def _unit_of(session, vault):
    rows = session.exec(
        select(Client.phone_enc, Unit.code)
        .join(Case, Case.client_id == Client.id)
        .join(Unit, Unit.id == Case.unit_id)
    )
    return {vault.decrypt(phone): code for phone, code in rows}


@pytest.fixture
def network(app, client, session):
    provider = SimulatedProvider.from_config(app.config, seed=7)
    app.extensions["telephony"] = provider
    settings = load_settings()
    settings = parse_settings(
        {
            "seed": settings.seed,
            "behaviour": settings.behaviour,
            "refuse": 0.05,
            "satisfaction": {"default": 2.0, "spread": 0.9, "units": UNITS},
            "callbacks": {
                "swap_early": 0.2,
                "late_early": 0.15,
                "repeat_end": 0.2,
                "resend_press": 0.05,
            },
        }
    )
    return provider, settings


def _run_wave(app, client, session, provider, settings):
    """Dial rounds at a fixed evening time until nothing is due; play every call."""
    net = SimulatedNetwork(
        settings,
        FlaskClientTransport(client),
        provider.auth_token,
        unit_of=_unit_of(session, app.extensions["phone_vault"]).get,
    )
    played, rounds = [], 0
    while rounds < 20:
        with transaction(session):
            dialling.dial_due_cases(
                session,
                provider=provider,
                vault=app.extensions["phone_vault"],
                limit=100,
                now=EVENING,
                webhook_base="http://ivr.test",
                token_key=app.config["SECRET_KEY"],
            )
        calls = provider.take_calls()
        if not calls:
            break
        rounds += 1
        played += [net.play(call) for call in calls]
    return played, rounds


def test_a_whole_wave_runs_through_the_real_webhooks(app, client, session, network):
    """Does a wave of 300 IVR calls store agent-like records, each answer exactly once?"""
    provider, settings = network
    _wave(session, per_unit=100)
    played, rounds = _run_wave(app, client, session, provider, settings)
    session.commit()

    behaviours = Counter(plan.behaviour for plan, _record in played)
    assert rounds == 3 and len(played) == 300
    assert behaviours == {
        "answer": 155,
        "hang-up": 23,
        "machine": 25,
        "no-answer": 55,
        "busy": 31,
        "failed": 11,
    }
    # The network really misbehaved: repeated and out-of-order callbacks, resent presses.
    plans = [plan for plan, _record in played]
    assert sum(p.status.repeat_end for p in plans) == 54
    assert sum(p.status.late_early for p in plans) == 42
    assert sum(p.status.swap_early for p in plans) == 70
    resent = sum(
        1 for plan, record in played for i in plan.resend_presses if i < len(record.pressed)
    )
    assert resent == 30

    attempts = session.exec(select(CallAttempt)).all()
    assert len(attempts) == 300
    assert {a.channel for a in attempts} == {"ivr"}
    assert all(a.ended_at is not None and a.outcome in aapor.DISPOSITIONS for a in attempts)
    # Every call a person answered (155 + 23 hang-ups) sent its recording back.
    assert sum(a.recording_ref is not None for a in attempts) == 178
    assert Counter(a.outcome for a in attempts) == {
        aapor.COMPLETE: 150,
        aapor.PARTIAL: 4,
        aapor.NEVER_AVAILABLE: 11,
        aapor.ALWAYS_BUSY: 31,
        aapor.NO_ANSWER: 55,
        aapor.MACHINE_UNKNOWN: 25,
        aapor.TECHNICAL: 11,
        aapor.SCREENED_OUT: 13,
    }
    cases = session.exec(select(Case)).all()
    assert Counter((c.status, c.disposition) for c in cases) == {
        (CaseStatus.FINAL, aapor.COMPLETE): 150,
        (CaseStatus.FINAL, aapor.PARTIAL): 4,
        (CaseStatus.FINAL, aapor.SCREENED_OUT): 13,
        (CaseStatus.PENDING, None): 133,
    }
    assert all(c.next_attempt_at is not None for c in cases if c.status == CaseStatus.PENDING)

    # Each answer stored exactly once, despite resent presses and repeated callbacks.
    stored = session.exec(select(Answer.case_id, Answer.item_id, Answer.value)).all()
    assert len(stored) == 471
    assert len({(case_id, item) for case_id, item, _v in stored}) == 471
    by_case = Counter(case_id for case_id, _i, _v in stored)
    complete = [c.id for c in cases if c.disposition == aapor.COMPLETE]
    assert {by_case[case_id] for case_id in complete} == {3}
    # Per-unit satisfaction: U001 (mean 1.3) rates best, U003 (mean 3.6) worst.
    overall = Counter(
        session.exec(
            select(Unit.code, Answer.value)
            .join(Case, Case.id == Answer.case_id)
            .join(Unit, Unit.id == Case.unit_id)
            .where(Answer.item_id == "overall")
        ).all()
    )
    assert overall == {
        ("U001", "very_satisfied"): 27,
        ("U001", "satisfied"): 17,
        ("U001", "basically_satisfied"): 8,
        ("U001", "dissatisfied"): 1,
        ("U002", "very_satisfied"): 8,
        ("U002", "satisfied"): 25,
        ("U002", "basically_satisfied"): 12,
        ("U002", "dissatisfied"): 1,
        ("U003", "satisfied"): 9,
        ("U003", "basically_satisfied"): 8,
        ("U003", "dissatisfied"): 24,
        ("U003", "very_dissatisfied"): 10,
    }


def test_the_same_seed_plays_the_same_calls(app, client, session, network):
    """Is the network reproducible: same seed, same numbers, same plans?"""
    provider, settings = network
    net = SimulatedNetwork(settings, FlaskClientTransport(client), provider.auth_token)
    again = SimulatedNetwork(settings, FlaskClientTransport(client), provider.auth_token)
    numbers = [f"+86138{n:08d}" for n in range(50)]
    assert [net.plan(n) for n in numbers] == [again.plan(n) for n in numbers]
    assert net.plan(numbers[0]) != again.plan(numbers[1])


def test_settings_refuse_unknown_behaviours_and_bad_rates():
    """Is a misspelt behaviour or a rate above 1 refused with the field named?"""
    with pytest.raises(ValueError, match="no_answer"):
        parse_settings({"behaviour": {"no_answer": 1}})
    with pytest.raises(ValueError, match="repeat_end"):
        parse_settings({"callbacks": {"repeat_end": 2}})
    with pytest.raises(ValueError, match="U9"):
        parse_settings({"satisfaction": {"units": {"U9": 7}}})


def test_play_calls_plays_as_the_network_says(app, client, session, sample, dial, telephony):
    """Do the demo's play_calls use the network's settings when given one?"""
    from survey_service.calls.telephony.simulated_play import play_calls

    settings = parse_settings({"seed": 1, "behaviour": {"busy": 1}})
    net = SimulatedNetwork(settings, FlaskClientTransport(client), telephony.auth_token)
    dial(limit=3)
    assert play_calls(telephony, FlaskClientTransport(client), network=net) == 3
    session.commit()
    outcomes = session.exec(select(CallAttempt.outcome)).all()
    assert outcomes == [aapor.ALWAYS_BUSY] * 3
