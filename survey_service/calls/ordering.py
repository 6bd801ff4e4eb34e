"""The order in which the agent queue offers due cases.

1. due appointments (a 2.21 booked for a time), earliest first: a missed
   appointment stays first until it is called;
2. cases of the unit furthest from its target of completes (the draw's
   ``design["units"][code]["completes"]`` minus the unit's 1.1 cases);
3. the least recently tried (never tried first);
4. ties broken at random, by a seed recorded per wave
   (``SurveyWave.settings["queue_seed"]``, drawn at the wave's first claim),
   so that an order can be replayed.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import BigInteger, ColumnElement, and_, case, cast, exists, func, literal
from sqlmodel import Session, select

from survey_service.dispositions import COMPLETE
from survey_service.models import CallAttempt, Case, SampleDraw, SurveyWave, Unit

SEED_KEY = "queue_seed"
_MODULUS = 2147483629  # a prime below 2**31

# A case whose next attempt is the time an attempt booked.
APPOINTMENT = exists().where(
    CallAttempt.case_id == Case.id,
    CallAttempt.appointment_at.is_not(None),
    CallAttempt.appointment_at == Case.next_attempt_at,
)


def queue_seed(session: Session, wave: SurveyWave) -> int:
    """The wave's tie-breaking seed, drawn and recorded on first use."""
    seed = (wave.settings or {}).get(SEED_KEY)
    if seed is None:
        seed = secrets.randbelow(_MODULUS)
        wave.settings = {**(wave.settings or {}), SEED_KEY: seed}
        session.add(wave)
        session.flush()
    return int(seed)


def _multiplier(seed: int) -> int:
    """A large multiplier in [1, P-1] spread from the seed, so that small ids wrap mod P."""
    digest = hashlib.sha256(f"queue:{seed}".encode()).digest()
    return 1 + int.from_bytes(digest[:8], "big") % (_MODULUS - 1)


def _deficits(session: Session, draws: list[SampleDraw]) -> list[tuple[int, int, int]]:
    """(draw id, unit id, target minus completes) for every unit with a target."""
    codes = {code for draw in draws for code in (draw.design or {}).get("units", {})}
    if not codes:
        return []
    unit_ids = dict(session.exec(select(Unit.code, Unit.id).where(Unit.code.in_(codes))).all())
    completes = {
        (draw_id, unit_id): n
        for draw_id, unit_id, n in session.exec(
            select(Case.draw_id, Case.unit_id, func.count(Case.id))
            .where(Case.draw_id.in_([d.id for d in draws]), Case.disposition == COMPLETE)
            .group_by(Case.draw_id, Case.unit_id)
        ).all()
    }
    rows = []
    for draw in draws:
        for code, spec in (draw.design or {}).get("units", {}).items():
            unit_id = unit_ids.get(code)
            if unit_id is not None and "completes" in spec:
                gap = int(spec["completes"]) - completes.get((draw.id, unit_id), 0)
                rows.append((draw.id, unit_id, gap))
    return rows


def offer_order(session: Session, waves: list[SurveyWave]) -> tuple[ColumnElement, ...]:
    """ORDER BY terms for the due cases of ``waves`` (see the module docstring)."""
    draws = session.exec(
        select(SampleDraw).where(SampleDraw.wave_id.in_([w.id for w in waves]))
    ).all()
    deficits = _deficits(session, draws)
    furthest: ColumnElement = literal(0)
    if deficits:
        furthest = case(
            *[
                (and_(Case.draw_id == draw_id, Case.unit_id == unit_id), gap)
                for draw_id, unit_id, gap in deficits
            ],
            else_=0,
        )
    seeds = {wave.id: queue_seed(session, wave) for wave in waves}
    # The tie-break is id * m mod P with m drawn from the wave's seed: a permutation of the
    # ids per seed (P is prime), computable in SQL on every backend.
    multiplier: ColumnElement = literal(1, BigInteger)
    if draws:
        multiplier = case(
            *[(Case.draw_id == d.id, _multiplier(seeds[d.wave_id])) for d in draws],
            else_=1,
        )
    last_tried = (
        select(func.max(CallAttempt.started_at))
        .where(CallAttempt.case_id == Case.id)
        .correlate(Case)
        .scalar_subquery()
    )
    return (
        case((APPOINTMENT, 0), else_=1),
        case((APPOINTMENT, Case.next_attempt_at), else_=None),
        -furthest,
        last_tried.is_not(None),
        last_tried,
        (cast(Case.id, BigInteger) * cast(multiplier, BigInteger)) % _MODULUS,
        Case.id,
    )
