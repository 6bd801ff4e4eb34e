"""The supervisor's figures for one wave: units, callbacks, held cases and agents.

Per unit (released cases of the wave's latest draw): released, attempted (at
least one attempt), completes (1.1 cases), refusals (2.11 cases), RR3 from
:func:`sampling.aapor_rates` over the cases as they stand (a final case counts
its disposition, an open one its last attempt's outcome, a case never dialled
counts as unknown, the same rule as the results pages), and the completes
projected from the current rate: completes + open cases x (completes / final
cases); no projection before any case is final.

Per agent (attempts of this wave only): completes, hours on the telephone (sum
of the attempts' ``ended_at - started_at``), completes per hour, the median
length of the agent's completed interviews in seconds, the refusal rate
R / (I + P + R) and the eligibility rate (I+P+R+NC+O) / (I+P+R+NC+O+NE) over
the agent's attempt outcomes.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import update
from sqlmodel import Session, select

import sampling
from sampling.rates import CODE_GROUP
from survey_service import audit
from survey_service import dispositions as aapor
from survey_service.errors import Conflict, NotFound
from survey_service.models import (
    CallAttempt,
    Case,
    CaseStatus,
    SampleDraw,
    SurveyWave,
    Unit,
    User,
    utcnow,
)

NOT_DIALLED = "3.11"  # a released case never dialled: unknown whether household (UH)
ELIGIBLE_GROUPS = frozenset({"I", "P", "R", "NC", "O"})


@dataclass
class UnitProgress:
    code: str
    name: str
    category: str
    target: int
    released: int = 0
    attempted: int = 0
    completes: int = 0
    refusals: int = 0
    final: int = 0
    response_rate: float = float("nan")
    projected: float | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def short(self) -> bool:
        """Projected completes fall short of the target."""
        return self.projected is not None and self.projected < self.target


@dataclass
class AgentProgress:
    user_id: int
    username: str
    attempts: int = 0
    completes: int = 0
    hours: float = 0.0
    per_hour: float | None = None
    median_seconds: float | None = None
    refusal_rate: float | None = None
    eligibility_rate: float | None = None


@dataclass
class HeldCase:
    case_id: int
    unit_code: str
    username: str
    claimed_at: datetime
    held_minutes: int


@dataclass
class Callback:
    case_id: int
    unit_code: str
    at: datetime
    booked_by: str | None


@dataclass
class WaveProgress:
    wave: SurveyWave
    draw: SampleDraw | None
    units: list[UnitProgress]
    agents: list[AgentProgress]
    held: list[HeldCase]
    callbacks: list[Callback]

    @property
    def totals(self) -> dict[str, int]:
        keys = ("target", "released", "attempted", "completes", "refusals", "final")
        return {k: sum(getattr(u, k) for u in self.units) for k in keys}


def wave_draw(session: Session, wave: SurveyWave) -> SampleDraw | None:
    """The wave's latest drawn sample (the one being called)."""
    return session.exec(
        select(SampleDraw)
        .where(SampleDraw.wave_id == wave.id, SampleDraw.status == "drawn")
        .order_by(SampleDraw.id.desc())
    ).first()


def _seconds(attempt: CallAttempt) -> float | None:
    if attempt.ended_at is None:
        return None
    return (attempt.ended_at - attempt.started_at).total_seconds()


def _units(session: Session, draw: SampleDraw) -> list[UnitProgress]:
    design = draw.design.get("units", {})
    cases = session.exec(
        select(Case, Unit)
        .join(Unit, Unit.id == Case.unit_id)
        .where(Case.draw_id == draw.id, Case.released)
    ).all()
    last: dict[int, str] = {}
    for case_id, outcome in session.exec(
        select(CallAttempt.case_id, CallAttempt.outcome)
        .join(Case, Case.id == CallAttempt.case_id)
        .where(Case.draw_id == draw.id, CallAttempt.outcome.is_not(None))
        .order_by(CallAttempt.id)
    ).all():
        last[case_id] = outcome
    rows: dict[str, UnitProgress] = {}
    for case, unit in cases:
        row = rows.get(unit.code)
        if row is None:
            target = int(design.get(unit.code, {}).get("completes", 0))
            row = rows[unit.code] = UnitProgress(unit.code, unit.name, unit.category, target)
        row.released += 1
        row.attempted += case.attempts > 0
        final = case.status == CaseStatus.FINAL
        row.final += final
        row.completes += final and case.disposition == aapor.COMPLETE
        row.refusals += final and case.disposition == aapor.REFUSAL
        key = case.disposition if final else last.get(case.id, NOT_DIALLED)
        row.counts[key] = row.counts.get(key, 0) + 1
    units = sorted(rows.values(), key=lambda r: r.code)
    if units:
        keys = sorted({k for u in units for k in u.counts})
        arrays = {k: np.array([u.counts.get(k, 0) for u in units]) for k in keys}
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = sampling.aapor_rates(arrays)
        for i, unit in enumerate(units):
            unit.response_rate = float(np.atleast_1d(rates.rr3)[i])
            if unit.final:
                unit.projected = unit.completes + (unit.released - unit.final) * (
                    unit.completes / unit.final
                )
    return units


def short_units(session: Session, draw: SampleDraw) -> list[str]:
    """Codes of the units whose projected completes fall short of their target."""
    return [unit.code for unit in _units(session, draw) if unit.short]


def agent_figures(session: Session, draw: SampleDraw) -> list[AgentProgress]:
    rows = session.exec(
        select(CallAttempt, User)
        .join(Case, Case.id == CallAttempt.case_id)
        .join(User, User.id == CallAttempt.agent_id)
        .where(Case.draw_id == draw.id)
        .order_by(CallAttempt.id)
    ).all()
    agents: dict[int, AgentProgress] = {}
    lengths: dict[int, list[float]] = defaultdict(list)
    groups: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for attempt, user in rows:
        agent = agents.setdefault(user.id, AgentProgress(user.id, user.username))
        agent.attempts += 1
        seconds = _seconds(attempt)
        if seconds is not None:
            agent.hours += seconds / 3600
        if attempt.outcome is None:
            continue
        groups[user.id][CODE_GROUP.get(attempt.outcome, "UO")] += 1
        if attempt.outcome == aapor.COMPLETE:
            agent.completes += 1
            if seconds is not None:
                lengths[user.id].append(seconds)
    for user_id, agent in agents.items():
        g = groups[user_id]
        if agent.hours > 0:
            agent.per_hour = agent.completes / agent.hours
        if lengths[user_id]:
            agent.median_seconds = statistics.median(lengths[user_id])
        interviewed = g["I"] + g["P"] + g["R"]
        if interviewed:
            agent.refusal_rate = g["R"] / interviewed
        eligible = sum(g[k] for k in ELIGIBLE_GROUPS)
        if eligible + g["NE"]:
            agent.eligibility_rate = eligible / (eligible + g["NE"])
    return sorted(agents.values(), key=lambda a: a.username)


def _held(session: Session, draw: SampleDraw, now: datetime) -> list[HeldCase]:
    rows = session.exec(
        select(Case, Unit.code, User.username)
        .join(Unit, Unit.id == Case.unit_id)
        .join(User, User.id == Case.claimed_by)
        .where(Case.draw_id == draw.id, Case.status == CaseStatus.IN_PROGRESS)
        .order_by(Case.claimed_at)
    ).all()
    return [
        HeldCase(
            case.id,
            code,
            username,
            case.claimed_at,
            int((now - case.claimed_at).total_seconds() // 60),
        )
        for case, code, username in rows
        if case.claimed_at is not None
    ]


def _callbacks(session: Session, draw: SampleDraw, now: datetime) -> list[Callback]:
    """Open cases whose booked appointment (their latest attempt's) falls in the next hour."""
    rows = session.exec(
        select(Case, Unit.code, CallAttempt, User.username)
        .join(Unit, Unit.id == Case.unit_id)
        .join(CallAttempt, CallAttempt.case_id == Case.id)
        .join(User, User.id == CallAttempt.agent_id, isouter=True)
        .where(
            Case.draw_id == draw.id,
            Case.status != CaseStatus.FINAL,
            Case.next_attempt_at >= now,
            Case.next_attempt_at < now + timedelta(hours=1),
            CallAttempt.appointment_at.is_not(None),
        )
        .order_by(Case.next_attempt_at, CallAttempt.id)
    ).all()
    latest: dict[int, Callback] = {}
    for case, code, attempt, username in rows:
        if attempt.appointment_at == case.next_attempt_at:
            latest[case.id] = Callback(case.id, code, case.next_attempt_at, username)
    return sorted(latest.values(), key=lambda c: (c.at, c.case_id))


def wave_progress(session: Session, wave: SurveyWave, *, now: datetime) -> WaveProgress:
    """Every figure of the supervisor's page for ``wave`` at ``now``."""
    draw = wave_draw(session, wave)
    if draw is None:
        return WaveProgress(wave, None, [], [], [], [])
    return WaveProgress(
        wave,
        draw,
        _units(session, draw),
        agent_figures(session, draw),
        _held(session, draw, now),
        _callbacks(session, draw, now),
    )


def release_wave_holds(session: Session, wave: SurveyWave, *, actor: User | None) -> int:
    """Put every case of ``wave`` held by an agent or an IVR call back to pending; audited.

    Called when the wave closes, so that no agent keeps a case nobody may call
    any more. Their open attempts end now, without an outcome (none was
    recorded). Returns how many cases were released.
    """
    now = utcnow()
    draws = select(SampleDraw.id).where(SampleDraw.wave_id == wave.id)
    cases = select(Case.id).where(Case.draw_id.in_(draws))
    session.execute(
        update(CallAttempt)
        .where(CallAttempt.case_id.in_(cases), CallAttempt.ended_at.is_(None))
        .values(ended_at=now)
    )
    result = session.execute(
        update(Case)
        .where(Case.draw_id.in_(draws), Case.status == CaseStatus.IN_PROGRESS)
        .values(status=CaseStatus.PENDING, claimed_by=None, claimed_at=None)
    )
    released = result.rowcount or 0
    if released:
        audit.record(
            session,
            user=actor,
            action="results.close_released_holds",
            object_type="wave",
            object_id=wave.id,
            cases=released,
        )
    return released


def release_held_case(session: Session, case_id: int, *, actor: User) -> Case:
    """Take a held case back from its agent (back to the queue), audited.

    :raise NotFound: if there is no such case.
    :raise Conflict: if the case is not held.
    """
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"样本 {case_id} 不存在")
    if case.status != CaseStatus.IN_PROGRESS:
        raise Conflict(f"样本 {case_id} 未被占用")
    holder = case.claimed_by
    case.status = CaseStatus.PENDING
    case.claimed_by = None
    case.claimed_at = None
    session.add(case)
    audit.record(
        session,
        user=actor,
        action="case_released_by_supervisor",
        object_type="case",
        object_id=case.id,
        held_by=holder,
    )
    return case
