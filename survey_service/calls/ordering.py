"""The order in which the agent queue offers due cases.

1. due appointments (a 2.21 booked for a time), earliest first: a missed
   appointment stays first until it is called;
2. cases of the unit furthest from its target of completes (the draw's
   ``design["units"][code]["completes"]`` minus the unit's 1.1 cases);
3. the least recently tried (never tried first; ``Case.last_tried_at``);
4. ties broken at random, by a seed recorded per wave
   (``SurveyWave.settings["queue_seed"]``, drawn at the wave's first claim),
   so that an order can be replayed.
"""

from __future__ import annotations

import hashlib
import secrets
import weakref
from collections import defaultdict

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import Grouping
from sqlmodel import Session, select

from survey_service.dispositions import COMPLETE
from survey_service.models import Case, SampleDraw, SurveyWave, Unit

SEED_KEY = "queue_seed"
COMPLETED = literal_column(f"'{COMPLETE}'")
_MODULUS = 2147483629  # a prime below 2**31

# A case whose next attempt is the time an attempt booked (``Case.booked_at``, set by a
# 2.21 with a time, cleared by any other outcome: no call_attempt row is read).
APPOINTMENT = and_(Case.booked_at.is_not(None), Case.booked_at == Case.next_attempt_at)

# Unit ids by code, per engine: a unit's id never changes.
_UNIT_IDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


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


def deficits(session: Session, draws: list[SampleDraw]) -> list[tuple[int, int, int]]:
    """(draw id, unit id, target minus completes) for every unit with a target.

    One statement (the units' ids are kept per engine); the claim reads the units at
    their target from it too (:func:`survey_service.calls.quotas.not_full_of`).
    """
    codes = {code for draw in draws for code in (draw.design or {}).get("units", {})}
    if not codes:
        return []
    unit_ids = _UNIT_IDS.setdefault(session.get_bind(), {})
    missing = codes - unit_ids.keys()
    if missing:
        found = session.exec(select(Unit.code, Unit.id).where(Unit.code.in_(missing)))
        unit_ids.update(found.all())
    completes = {
        (draw_id, unit_id): n
        for draw_id, unit_id, n in session.exec(
            select(Case.draw_id, Case.unit_id, func.count(Case.id))
            # A literal, not a parameter: the partial index ix_survey_case_completes holds
            # exactly these rows, which a generic plan with a parameter could not know.
            .where(Case.draw_id.in_([d.id for d in draws]), Case.disposition == COMPLETED)
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


def _gap_of_case(session: Session, deficits: list[tuple[int, int, int]]) -> ColumnElement:
    """The case's unit's gap to its target (0 without one), cheap to evaluate per row.

    PostgreSQL reads it from an array indexed by unit id (one bound parameter per
    draw); elsewhere one CASE branch per (draw, gap) with the units as an IN list
    (SQLite searches a constant IN list as an index).
    """
    by_draw: dict[int, dict[int, int]] = defaultdict(dict)
    for draw_id, unit_id, gap in deficits:
        if gap != 0:
            by_draw[draw_id][unit_id] = gap
    if not by_draw:
        return literal(0)
    if session.get_bind().dialect.name == "postgresql":
        branches = []
        for draw_id, gaps in sorted(by_draw.items()):
            array = [gaps.get(unit_id, 0) for unit_id in range(1, max(gaps) + 1)]
            gap = Grouping(literal(array, postgresql.ARRAY(Integer)))[Case.unit_id]
            branches.append((Case.draw_id == draw_id, func.coalesce(gap, 0)))
        return case(*branches, else_=0)
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for draw_id, gaps in by_draw.items():
        for unit_id, gap in gaps.items():
            groups[(draw_id, gap)].append(unit_id)
    return case(
        *[
            (and_(Case.draw_id == draw_id, Case.unit_id.in_(sorted(units))), gap)
            for (draw_id, gap), units in sorted(groups.items())
        ],
        else_=0,
    )


def offer_order(
    session: Session,
    waves: list[SurveyWave],
    *,
    draws: list[SampleDraw] | None = None,
    gaps: list[tuple[int, int, int]] | None = None,
) -> tuple[ColumnElement, ...]:
    """ORDER BY terms for the due cases of ``waves`` (see the module docstring).

    ``draws``: the waves' draws, and ``gaps`` their :func:`deficits`, when the
    caller has them already.
    """
    if draws is None:
        draws = session.exec(
            select(SampleDraw).where(SampleDraw.wave_id.in_([w.id for w in waves]))
        ).all()
    furthest = _gap_of_case(session, deficits(session, draws) if gaps is None else gaps)
    seeds = {wave.id: queue_seed(session, wave) for wave in waves}
    # The tie-break is id * m mod P with m drawn from the wave's seed: a permutation of the
    # ids per seed (P is prime), computable in SQL on every backend.
    multiplier: ColumnElement = literal(1, BigInteger)
    if draws:
        multiplier = case(
            *[(Case.draw_id == d.id, _multiplier(seeds[d.wave_id])) for d in draws],
            else_=1,
        )
    return (
        case((APPOINTMENT, 0), else_=1),
        case((APPOINTMENT, Case.next_attempt_at), else_=None),
        -furthest,
        Case.last_tried_at.is_not(None),
        Case.last_tried_at,
        (cast(Case.id, BigInteger) * cast(multiplier, BigInteger)) % _MODULUS,
        Case.id,
    )
