"""Drawing the stratified sample, and verifying it from the stored frame and seed.

Each unit is a stratum. The frame is read in canonical order
(:mod:`frames`), its SHA-256 is recorded, and :func:`sampling.draw` puts
every stratum in a seeded random order; the first ``n_h`` of each order are
the sample, released in replicates. ``verify_draw`` repeats all of it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np
from sqlalchemy import insert, update
from sqlmodel import Session, select

import sampling

from ..errors import Conflict, NotFound, ServiceError, Where
from ..models import Case, ClientList, SampleDraw, SurveyWave, User
from . import audit
from .frames import Frame, build_frame

BATCH = 5000


def _stratum_sizes(frame: Frame, per_unit: int) -> dict[str, int]:
    strata, counts = np.unique(frame.stratum.astype(str), return_counts=True)
    return {str(s): int(min(per_unit, c)) for s, c in zip(strata, counts, strict=True)}


def _run_draw(frame: Frame, sizes: dict[str, int], seed: int, replicate_size: int):
    return sampling.draw(
        frame.stratum.astype(str),
        sizes,
        seed,
        replicate_size=replicate_size,
        keys=frame.phone_hash.astype(str),
    )


def draw_sample(
    *,
    session: Session,
    wave: SurveyWave,
    seed: int,
    per_unit: int,
    actor: User | None,
    replicate_size: int | None = None,
) -> SampleDraw:
    """Draw the wave's sample: ``per_unit`` cases per unit (a census where smaller).

    :raise Conflict: if the wave already has a draw.
    :raise ServiceError: if no list is approved or the arguments are out of range.
    """
    if session.exec(select(SampleDraw.id).where(SampleDraw.wave_id == wave.id)).first():
        raise Conflict("本轮已抽样；如需补充样本请追加发放批次")
    if not 0 <= seed < 2**63:
        raise ServiceError("随机种子须为 0 到 2^63-1 的整数", where=Where(field="seed"))
    if per_unit < 1:
        raise ServiceError("每单位样本量至少为 1", where=Where(field="per_unit"))
    frame = build_frame(session, wave.id)
    if frame.size == 0:
        raise ServiceError("没有已通过审核的名单，无法抽样")
    replicate_size = replicate_size or per_unit
    sizes = _stratum_sizes(frame, per_unit)
    result = _run_draw(frame, sizes, seed, replicate_size)
    frame_hash = sampling.frame_hash(frame.stratum.astype(str), frame.phone_hash.astype(str))
    selected = np.flatnonzero(result.selected)
    record = SampleDraw(
        wave_id=wave.id,
        seed=seed,
        generator=result.generator,
        frame_hash=frame_hash,
        design={
            "per_unit": per_unit,
            "replicate_size": replicate_size,
            "list_ids": list(frame.list_ids),
            "strata": {
                code: {"N": int((frame.stratum == code).sum()), "n": n} for code, n in sizes.items()
            },
        },
        frame_size=frame.size,
        sample_size=int(selected.size),
        created_by=actor.id if actor else None,
    )
    session.add(record)
    session.flush()
    rows = []
    for index in selected:
        rows.append(
            {
                "draw_id": record.id,
                "unit_id": int(frame.unit_id[index]),
                "client_id": int(frame.client_id[index]),
                "stratum": str(frame.stratum[index]),
                "order_rank": int(result.rank[index]),
                "replicate": int(result.replicate[index]),
                "released": True,
                "pseudonym": secrets.token_hex(8),
                "status": "pending",
                "ever_eligible": False,
                "attempts": 0,
            }
        )
        if len(rows) >= BATCH:
            session.execute(insert(Case), rows)
            rows.clear()
    if rows:
        session.execute(insert(Case), rows)
    session.execute(update(ClientList).where(ClientList.id.in_(frame.list_ids)).values(frozen=True))
    audit.record(
        session,
        user=actor,
        action="sample.draw",
        object_type="draw",
        object_id=record.id,
        seed=seed,
        frame_hash=frame_hash,
        per_unit=per_unit,
        sample_size=record.sample_size,
    )
    return record


def get_draw(session: Session, draw_id: int) -> SampleDraw:
    """:raise NotFound: if there is no such draw."""
    record = session.get(SampleDraw, draw_id)
    if record is None:
        raise NotFound(f"样本 #{draw_id} 不存在")
    return record


@dataclass(frozen=True)
class Verification:
    ok: bool
    message: str


def verify_draw(session: Session, record: SampleDraw) -> Verification:
    """Recompute the draw from the stored frame and seed; report a match or the first difference."""
    frame = build_frame(session, record.wave_id)
    if list(frame.list_ids) != record.design.get("list_ids"):
        return Verification(False, "抽样框所含名单与抽样时不同")
    frame_hash = sampling.frame_hash(frame.stratum.astype(str), frame.phone_hash.astype(str))
    if frame_hash != record.frame_hash:
        return Verification(False, f"抽样框哈希不同：现为 {frame_hash}，记录为 {record.frame_hash}")
    sizes = {code: spec["n"] for code, spec in record.design["strata"].items()}
    result = _run_draw(frame, sizes, record.seed, record.design["replicate_size"])
    expected = {
        int(frame.client_id[i]): (int(result.rank[i]), int(result.replicate[i]))
        for i in np.flatnonzero(result.selected)
    }
    stored = {
        client_id: (rank, replicate)
        for client_id, rank, replicate in session.exec(
            select(Case.client_id, Case.order_rank, Case.replicate)
            .where(Case.draw_id == record.id)
            .order_by(Case.stratum, Case.order_rank)
        ).all()
    }
    for client_id in sorted(set(expected) | set(stored)):
        if expected.get(client_id) != stored.get(client_id):
            return Verification(
                False,
                f"服务对象 #{client_id}：重算为 {expected.get(client_id)}，"
                f"记录为 {stored.get(client_id)}（(顺序, 批次)）",
            )
    return Verification(True, f"重算 {len(expected)} 个样本与记录完全一致（种子 {record.seed}）")
