"""Several thousand IVR calls end to end: dialler, simulated network, real webhooks, results.

Twenty units of a hundred clients each are called by the IVR (at most three
calls per case, an evening a day apart) through the simulated phone network
(the bundled rates, callbacks out of order and twice, key presses resent) and
the real Twilio-style webhooks with signed requests. The wave leaves the same
records an agent's calls leave: attempts with AAPOR outcomes, case
dispositions, answers under the script's version, audit events; the results
recompute from them. Runs on SQLite only (once per ``make test``): the
PostgreSQL paths are the same statements, run by the 300-call wave.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from sqlmodel import select

import call_scripts
from survey_service import dispositions as aapor
from survey_service.calls import dialling
from survey_service.calls.settings import ROUND_THE_CLOCK
from survey_service.calls.telephony.simulated import FlaskClientTransport, SimulatedProvider
from survey_service.calls.telephony.simulated_network import SimulatedNetwork, load_settings
from survey_service.calls.telephony.simulated_play import unit_lookup
from survey_service.db import transaction
from survey_service.models import (
    Answer,
    AuditEvent,
    CallAttempt,
    Case,
    CaseStatus,
    SurveyWave,
    Unit,
)
from survey_service.results.estimates import disposition_counts, unit_results
from survey_service.sample import draws
from tests.calls.conftest import EVENING
from tests.factories import csv_content, make_list, make_unit, make_user, make_wave

pytestmark = pytest.mark.slow

UNITS = 20
PER_UNIT = 100
# Mean rating level per unit (1 非常满意 .. 5 非常不满意): U001 best, U020 worst.
LEVELS = {f"U{n + 1:03d}": round(1.3 + n * 2.4 / (UNITS - 1), 2) for n in range(UNITS)}
EVENINGS = 8
ATTEMPT = re.compile(r"/ivr/call/(\d+)/")
FINISHED_INTERVIEWS = (aapor.COMPLETE, aapor.PARTIAL, aapor.BREAK_OFF, aapor.SCREENED_OUT)


@pytest.fixture
def wave(backend, session):
    if backend != "sqlite":
        pytest.skip("the large wave runs once, on SQLite")
    with transaction(session):
        reviewer = make_user(session, role="reviewer")
        wave = make_wave(session, script_id="short_demo")
        wave.settings = {**wave.settings, "calling": ROUND_THE_CLOCK}
        session.add(wave)
        for n, code in enumerate(LEVELS):
            unit = make_unit(session, code=code, name=f"单位{n + 1}")
            content = csv_content(PER_UNIT, start=13800000000 + n * 1_000_000)
            make_list(session, unit=unit, wave=wave, n=PER_UNIT, actor=reviewer, content=content)
        draws.draw_sample(session=session, wave=wave, seed=1, per_unit=PER_UNIT, actor=None)
    return wave


def _play_wave(app, client, session):
    """Dial each evening until nothing is due, play every call; return (call, plan, record)."""
    provider = SimulatedProvider.from_config(app.config, seed=7)
    app.extensions["telephony"] = provider
    settings = load_settings()
    settings = type(settings)(**{**settings.__dict__, "unit_satisfaction": LEVELS})
    vault = app.extensions["phone_vault"]
    network = SimulatedNetwork(
        settings,
        FlaskClientTransport(client),
        provider.auth_token,
        unit_of=unit_lookup(app.extensions["engine"], vault),
    )
    played = []
    for evening in range(EVENINGS):
        now = EVENING + timedelta(days=evening)
        while True:
            with transaction(session):
                dialling.dial_due_cases(
                    session,
                    provider=provider,
                    vault=vault,
                    limit=500,
                    now=now,
                    webhook_base="http://ivr.test",
                    token_key=app.config["SECRET_KEY"],
                )
            calls = provider.take_calls()
            if not calls:
                break
            for call in calls:
                plan, record = network.play(call)
                played.append((int(ATTEMPT.search(call.webhook_url)[1]), plan, record))
    return played


def test_thousands_of_ivr_calls_leave_agent_like_records(app, client, session, wave):
    played = _play_wave(app, client, session)
    session.commit()
    script = call_scripts.load_script("short_demo")

    # Calls placed = attempts recorded, each closed with an AAPOR outcome and audited.
    attempts = {a.id: a for a in session.exec(select(CallAttempt)).all()}
    assert len(played) == len(attempts) == len({attempt_id for attempt_id, _p, _r in played})
    assert set(attempts) == {attempt_id for attempt_id, _p, _r in played}
    assert all(a.channel == "ivr" and a.ended_at is not None for a in attempts.values())
    assert all(a.outcome in aapor.DISPOSITIONS for a in attempts.values())
    audits = Counter(session.exec(select(AuditEvent.action)).all())
    assert audits["ivr.dial"] == len(attempts)
    assert audits["case.outcome"] == len(attempts)
    cases = {c.id: c for c in session.exec(select(Case)).all()}
    assert sum(c.attempts for c in cases.values()) == len(attempts) == 3081
    assert Counter(c.attempts for c in cases.values()) == {1: 1208, 2: 503, 3: 289}
    assert Counter(a.outcome for a in attempts.values()) == {
        aapor.COMPLETE: 1711,
        aapor.PARTIAL: 76,
        aapor.SCREENED_OUT: 100,
        aapor.NEVER_AVAILABLE: 67,  # hung up after the screening question only
        aapor.NO_ANSWER: 545,
        aapor.ALWAYS_BUSY: 231,
        aapor.MACHINE_UNKNOWN: 219,
        aapor.RESPONDENT_MACHINE: 6,  # a machine where the respondent was reached before
        aapor.TECHNICAL: 126,
    }
    # The network misbehaved as configured, and the service took it in its stride.
    plans = [plan for _a, plan, _r in played]
    assert sum(p.status.repeat_end for p in plans) == 613  # the end delivered twice
    assert sum(p.status.late_early for p in plans) == 466  # an early event after the end
    assert sum(p.status.swap_early for p in plans) == 596  # ringing before initiated
    assert sum(1 for _a, p, r in played for i in p.resend_presses if i < len(r.pressed)) == 296
    assert Counter((c.status, c.disposition) for c in cases.values()) == {
        (CaseStatus.FINAL, aapor.COMPLETE): 1711,
        (CaseStatus.FINAL, aapor.PARTIAL): 76,
        (CaseStatus.FINAL, aapor.SCREENED_OUT): 100,
        (CaseStatus.PENDING, None): 113,  # three IVR calls made: left to the agents
    }
    pending = [c for c in cases.values() if c.status == CaseStatus.PENDING]
    assert {c.attempts for c in pending} == {3} and all(c.next_attempt_at for c in pending)

    # Answers stored = answers sent: each finished interview keeps exactly the keys its
    # last call pressed (resent presses and repeated callbacks stored nothing twice);
    # every other case keeps none (a call that ended after screening only is forgotten).
    last_call = {}
    for attempt_id, _plan, record in played:
        last_call[attempts[attempt_id].case_id] = record
    stored = defaultdict(dict)
    rows = session.exec(select(Answer.case_id, Answer.item_id, Answer.value, Answer.script_version))
    for case_id, item_id, value, version in rows.all():
        assert item_id not in stored[case_id] and version == script.version
        stored[case_id][item_id] = value
    sent_total = 0
    for case_id, case in cases.items():
        if case.status == CaseStatus.FINAL and case.disposition in FINISHED_INTERVIEWS:
            sent = {
                item: call_scripts.interpret(script, item, key, call_scripts.IVR).value
                for item, key in last_call[case_id].presses
            }
            assert stored.get(case_id, {}) == sent, case_id
            sent_total += len(sent)
        else:
            assert case_id not in stored, case_id
    assert sum(len(answers) for answers in stored.values()) == sent_total

    assert sent_total == len(session.exec(select(Answer.id)).all()) == 5385

    # AAPOR totals add up, per unit and over the wave, and the results recompute.
    counts = disposition_counts(session, draws.latest_draw(session, wave))
    results = unit_results(session, session.get(SurveyWave, wave.id))
    assert [r.code for r in results] == list(LEVELS)
    finals = Counter((c.unit_id, c.disposition) for c in cases.values())
    unit_ids = dict(session.exec(select(Unit.code, Unit.id)).all())
    for r in results:
        assert sum(counts[r.code].values()) == r.released == PER_UNIT
        assert (
            r.completes
            == counts[r.code][aapor.COMPLETE]
            == finals[unit_ids[r.code], aapor.COMPLETE]
        )
        respondents = (
            finals[unit_ids[r.code], aapor.COMPLETE] + finals[unit_ids[r.code], aapor.PARTIAL]
        )
        assert r.n == respondents and 0 < r.rr3 <= 1
    wave_counts = Counter()
    for unit_counts in counts.values():
        wave_counts.update(unit_counts)
    assert sum(wave_counts.values()) == UNITS * PER_UNIT
    assert sum(r.n for r in results) == 1711 + 76
    # The per-unit satisfaction levels come through: better levels, higher scores.
    best, worst = results[:5], results[-5:]
    assert min(r.mean for r in best) > max(r.mean for r in worst)
    assert results[0].mean > 8.5 and results[-1].mean < 4.5
