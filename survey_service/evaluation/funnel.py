"""The shortlist funnel (20 → 15 → 10) and the one-vote veto (一票否决).

Step 1 proposes, per ranking group, the units with the highest and the lowest
totals; steps 2 and 3 keep the best / worst of the previous step's decided
lists. The office may change a proposal (add or remove a unit, with a reason)
before recording the committee's decision, with its body, date and document.

A vetoed unit is put at the head of every worst list whatever its total and
can never be on a best list nor be removed from a worst list; it takes one of
the list's places (with more vetoes than places the list holds all of them).
A group too small for two lists of the step's size gets lists of half its
ranked units.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from survey_service import audit
from survey_service.errors import Conflict, NotFound, ServiceError, Where
from survey_service.evaluation.ranking import Ranking, UnitTotal, composite
from survey_service.models import SurveyWave, Unit, User
from survey_service.models.evaluation import VETO_LABELS, ShortlistStep, Veto, VetoReason

BEST, WORST = "best", "worst"
LIST_LABELS = {BEST: "十佳候选", WORST: "十差候选"}
ACTIONS = {"add": "增加", "remove": "移出"}


# --------------------------------------------------------------------------- vetoes


def record_veto(
    *,
    session: Session,
    wave: SurveyWave,
    unit_code: str,
    reason: str,
    document: str,
    detail: str = "",
    actor: User | None = None,
) -> Veto:
    """Record a one-vote veto with its reason and the document that decided it.

    :raise ServiceError: for an unknown unit or reason, or no document reference.
    :raise Conflict: if the unit already has a veto in this wave, or the third step
        is recorded (the ten-worst list is decided).
    """
    if session.exec(select(Unit).where(Unit.code == unit_code)).first() is None:
        raise NotFound(f"未知的单位代码 {unit_code}")
    if len(steps(session, wave)) >= 3:
        raise Conflict("三轮筛选均已记录，十差名单已决定，不能再记录一票否决")
    if reason not in set(VetoReason):
        raise ServiceError(
            "一票否决事由应为严重违纪违法、整改不力或吓跑投资者", where=Where(field="reason")
        )
    if not document.strip():
        raise ServiceError("请填写一票否决的依据文件（文号）", where=Where(field="document"))
    if session.exec(
        select(Veto).where(Veto.wave_id == wave.id, Veto.unit_code == unit_code)
    ).first():
        raise Conflict(f"单位 {unit_code} 本轮已有一票否决记录")
    veto = Veto(
        wave_id=wave.id,
        unit_code=unit_code,
        reason=reason,
        detail=detail.strip(),
        document=document.strip(),
        recorded_by=actor.id if actor else None,
    )
    session.add(veto)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="evaluation.veto",
        object_type="unit",
        object_id=unit_code,
        wave=wave.id,
        reason=VETO_LABELS[VetoReason(reason)],
        document=veto.document,
    )
    return veto


def vetoes(session: Session, wave: SurveyWave) -> list[Veto]:
    return list(
        session.exec(select(Veto).where(Veto.wave_id == wave.id).order_by(Veto.unit_code)).all()
    )


# --------------------------------------------------------------------------- steps


def steps(session: Session, wave: SurveyWave) -> list[ShortlistStep]:
    return list(
        session.exec(
            select(ShortlistStep)
            .where(ShortlistStep.wave_id == wave.id)
            .order_by(ShortlistStep.step)
        ).all()
    )


def _worst_first(rows: list[UnitTotal]) -> list[UnitTotal]:
    vetoed = sorted((r for r in rows if r.veto is not None), key=lambda r: (r.total, r.code))
    others = sorted((r for r in rows if r.veto is None), key=lambda r: (r.total, r.code))
    return vetoed + others


def _size(step_size: int, rows: list[UnitTotal]) -> int:
    return min(step_size, len(rows) // 2)


def proposal(ranking: Ranking, previous: ShortlistStep | None, size: int) -> dict[str, dict]:
    """``{group: {"best": [codes], "worst": [codes]}}`` proposed for a step of ``size``."""
    out = {}
    for group, rows in ranking.groups.items():
        ranked = [r for r in rows if r.rank is not None]
        n = _size(size, ranked)
        if previous is None:
            pool_best, pool_worst = ranked, ranked
        else:
            kept_best = set(previous.best.get(group, []))
            kept_worst = set(previous.worst.get(group, []))
            pool_best = [r for r in ranked if r.code in kept_best]
            pool_worst = [r for r in ranked if r.code in kept_worst or r.veto is not None]
        best = [r for r in pool_best if r.veto is None][:n]
        worst_rows = _worst_first(pool_worst)
        vetoed = sum(1 for r in worst_rows if r.veto is not None)
        worst = worst_rows[: max(n, vetoed)]
        out[group] = {BEST: [r.code for r in best], WORST: [r.code for r in worst]}
    return out


def next_step(session: Session, wave: SurveyWave) -> int:
    return len(steps(session, wave)) + 1


def current_proposal(session: Session, wave: SurveyWave) -> tuple[int, int, dict[str, dict]]:
    """(step number, size, proposal) for the step to record next.

    :raise Conflict: before publication, or when all three steps are recorded.
    """
    ranking = composite(session, wave)
    done = steps(session, wave)
    if len(done) >= 3:
        raise Conflict("三轮筛选均已记录")
    size = ranking.settings.sizes[len(done)]
    return len(done) + 1, size, proposal(ranking, done[-1] if done else None, size)


def _apply(ranking: Ranking, lists: dict[str, dict], changes: list[dict]) -> list[dict]:
    """Apply the office's changes to ``lists`` in place; return them checked and labelled."""
    applied = []
    for i, change in enumerate(changes, start=1):
        where = Where(row=i, field="调整")
        kind, action = change.get("list"), change.get("action")
        code = (change.get("unit") or "").strip().upper()
        reason = (change.get("reason") or "").strip()
        if kind not in LIST_LABELS or action not in ACTIONS:
            raise ServiceError("调整应为对十佳或十差候选的增加或移出", where=where)
        if not reason:
            raise ServiceError("每项调整都须写明理由", where=where)
        row = ranking.unit(code)
        if row is None or row.rank is None:
            raise ServiceError(f"单位 {code} 不在本轮排名中", where=where)
        group = lists[row.group]
        if action == "add":
            if code in group[kind]:
                raise ServiceError(f"{row.name} 已在{LIST_LABELS[kind]}中", where=where)
            other = WORST if kind == BEST else BEST
            if code in group[other]:
                raise ServiceError(f"{row.name} 在{LIST_LABELS[other]}中，须先移出", where=where)
            if kind == BEST and row.veto is not None:
                raise ServiceError(f"{row.name} 被一票否决，不能列入十佳候选", where=where)
            group[kind].append(code)
        else:
            if code not in group[kind]:
                raise ServiceError(f"{row.name} 不在{LIST_LABELS[kind]}中", where=where)
            if kind == WORST and row.veto is not None:
                raise ServiceError(f"{row.name} 被一票否决，不能移出十差候选", where=where)
            group[kind].remove(code)
        applied.append({"list": kind, "action": action, "unit": code, "reason": reason})
    return applied


def _ordered(ranking: Ranking, lists: dict[str, dict]) -> None:
    for group, pair in lists.items():
        rows = {r.code: r for r in ranking.groups[group]}
        pair[BEST] = [
            r.code for r in sorted((rows[c] for c in pair[BEST]), key=lambda r: (-r.total, r.code))
        ]
        pair[WORST] = [r.code for r in _worst_first([rows[c] for c in pair[WORST]])]


def record_step(
    *,
    session: Session,
    wave: SurveyWave,
    decided_on: date,
    body: str | None = None,
    document: str = "",
    changes: list[dict] | None = None,
    actor: User | None = None,
) -> ShortlistStep:
    """Record the next step's decision: the proposal with the office's changes applied.

    :raise Conflict: before publication, after the third step, or while a unit
        lacks a part of its score (it would leave the ranking unseen).
    :raise ServiceError: for a bad change or lists of the wrong size.
    """
    ranking = composite(session, wave)
    incomplete = [r for r in ranking.all() if r.total is None]
    if incomplete:
        names = "、".join(f"{r.name}（缺{'、'.join(r.missing)}）" for r in incomplete[:10])
        raise Conflict(f"{len(incomplete)} 个单位缺少分项，不能筛选：{names}")
    number, size, lists = current_proposal(session, wave)
    done = steps(session, wave)
    if done and decided_on < done[-1].decided_on:
        raise ServiceError("决定日期不能早于上一轮", where=Where(field="decided_on"))
    applied = _apply(ranking, lists, changes or [])
    _ordered(ranking, lists)
    for group, pair in lists.items():
        ranked = [r for r in ranking.groups[group] if r.rank is not None]
        n = _size(size, ranked)
        vetoed = sum(1 for c in pair[WORST] if ranking.unit(c).veto is not None)
        for kind, want in ((BEST, n), (WORST, max(n, vetoed))):
            if len(pair[kind]) != want:
                raise ServiceError(
                    f"{group}：调整后{LIST_LABELS[kind]}应为 {want} 个，现为 {len(pair[kind])} 个"
                    "（增加一个单位须同时移出一个）",
                    where=Where(field="调整"),
                )
    body = (body or "").strip() or ranking.settings.bodies[number - 1]
    record = ShortlistStep(
        wave_id=wave.id,
        step=number,
        size=size,
        body=body,
        decided_on=decided_on,
        document=document.strip(),
        best={g: p[BEST] for g, p in lists.items()},
        worst={g: p[WORST] for g, p in lists.items()},
        changes=applied,
        recorded_by=actor.id if actor else None,
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="evaluation.shortlist",
        object_type="wave",
        object_id=wave.id,
        step=number,
        size=size,
        body=body,
        decided_on=decided_on.isoformat(),
        document=record.document,
        changes=applied,
    )
    return record


def ten_worst(session: Session, wave: SurveyWave) -> list[str]:
    """The unit codes on the latest decided worst lists (all groups), worst first."""
    done = steps(session, wave)
    if not done:
        return []
    return [code for codes in done[-1].worst.values() for code in codes]


def revoke_last_step(
    *, session: Session, wave: SurveyWave, reason: str, actor: User | None = None
) -> ShortlistStep:
    """Withdraw the latest recorded step (a wrong record), keeping its content in the audit log.

    :raise Conflict: if no step is recorded. :raise ServiceError: without a reason.
    """
    done = steps(session, wave)
    if not done:
        raise Conflict("尚未记录任何一轮筛选")
    if not reason.strip():
        raise ServiceError("撤销须写明理由", where=Where(field="reason"))
    last = done[-1]
    audit.record(
        session,
        user=actor,
        action="evaluation.shortlist.revoke",
        object_type="wave",
        object_id=wave.id,
        step=last.step,
        body=last.body,
        decided_on=last.decided_on.isoformat(),
        best=last.best,
        worst=last.worst,
        changes=last.changes,
        reason=reason.strip(),
    )
    session.delete(last)
    session.flush()
    return last


def revoke_veto(
    *, session: Session, wave: SurveyWave, unit_code: str, reason: str, actor: User | None = None
) -> Veto:
    """Withdraw a veto recorded in error, before the ten-worst list is decided (audited).

    :raise NotFound: if the unit has no veto. :raise Conflict: after the third step.
    :raise ServiceError: without a reason.
    """
    veto = session.exec(
        select(Veto).where(Veto.wave_id == wave.id, Veto.unit_code == unit_code)
    ).first()
    if veto is None:
        raise NotFound(f"单位 {unit_code} 本轮没有一票否决记录")
    if len(steps(session, wave)) >= 3:
        raise Conflict("三轮筛选均已记录，十差名单已决定，不能撤销一票否决")
    if not reason.strip():
        raise ServiceError("撤销须写明理由", where=Where(field="reason"))
    audit.record(
        session,
        user=actor,
        action="evaluation.veto.revoke",
        object_type="unit",
        object_id=unit_code,
        wave=wave.id,
        reason=reason.strip(),
        document=veto.document,
    )
    session.delete(veto)
    session.flush()
    return veto
