"""The stratified sample: design, frame fixing, seeded draw, replicate release, verification.

Each unit is a domain; within it, sub-strata by client kind (群众/企业/未注明).
The sample is drawn in two steps so that nobody can tune the frame to the
seed: first the frame is fixed (lists frozen, its SHA-256 recorded and
shown), then a seed is given (for instance numbers read out at a public
meeting) and :func:`sampling.draw` puts every sub-stratum in a seeded random
order. Cases are released in replicate batches from the front of that
order, so any number of released replicates is itself a simple random
sample without replacement; reserve replicates are stored unreleased and
one call releases the next batch. :func:`verify_draw` repeats all of it.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import asdict, dataclass

import numpy as np
from sqlalchemy import func, insert, update
from sqlmodel import Session, select

import sampling
from survey_service import audit
from survey_service.errors import Conflict, NotFound, ServiceError, Where, field_label
from survey_service.models import Case, CaseStatus, ClientList, SampleDraw, SurveyWave, User, utcnow
from survey_service.sample import shared_numbers
from survey_service.sample.frames import Frame, build_frame
from survey_service.setup.waves import require_open

BATCH = 5000


@dataclass(frozen=True)
class DrawDesign:
    """How many to draw per unit and how to release them.

    ``per_unit`` set: a fixed number of cases per unit (a census where the
    frame is smaller). Otherwise :func:`sampling.sample_size` sizes each unit
    for a ``margin`` of error on the 10-point scale at ``level`` from the
    assumed ``sd``, with at least ``minimum`` completes, inflated for the
    expected response and eligibility rates. The unit's cases are allocated
    to sub-strata by ``allocation``; ``replicates`` batches make up the
    planned release and ``reserve`` more are stored for later release.
    """

    per_unit: int | None = None
    margin: float = 0.5
    sd: float = 2.0
    level: float = 0.95
    minimum: int = 30
    response_rate: float = 0.5
    eligibility_rate: float = 0.9
    allocation: str = "proportional"
    substrata: str | None = "kind"
    replicates: int = 2
    reserve: int = 2

    def check(self) -> None:
        """:raise ServiceError: naming the first parameter out of range."""
        rules = [
            ("per_unit", self.per_unit is None or self.per_unit >= 1, "至少为 1"),
            ("margin", 0 < self.margin <= 10, "应在 0 到 10 之间"),
            ("sd", 0 < self.sd <= 10, "应在 0 到 10 之间"),
            ("level", 0.5 <= self.level < 1, "应在 0.5 到 1 之间"),
            ("minimum", self.minimum >= 1, "至少为 1"),
            ("response_rate", 0 < self.response_rate <= 1, "应在 0 到 1 之间"),
            ("eligibility_rate", 0 < self.eligibility_rate <= 1, "应在 0 到 1 之间"),
            (
                "allocation",
                self.allocation in ("proportional", "neyman", "equal"),
                "应为 proportional、neyman 或 equal",
            ),
            ("substrata", self.substrata in (None, "kind"), "应为空或 kind"),
            ("replicates", 1 <= self.replicates <= 20, "应在 1 到 20 之间"),
            ("reserve", 0 <= self.reserve <= 20, "应在 0 到 20 之间"),
        ]
        for field, ok, rule in rules:
            if not ok:
                raise ServiceError(
                    f"抽样设计参数“{field_label(field)}”={getattr(self, field)!r} {rule}",
                    where=Where(field=field),
                )


def _unit_sizes(frame: Frame, design: DrawDesign) -> dict[str, dict]:
    """Cases to release per unit: fixed, or from the margin-of-error design."""
    units, counts = np.unique(frame.unit.astype(str), return_counts=True)
    if design.per_unit is not None:
        release = np.minimum(counts, design.per_unit)
        return {
            u: {"N": int(c), "release": int(r), "completes": int(r)}
            for u, c, r in zip(units, counts, release, strict=True)
        }
    size = sampling.sample_size(
        counts,
        design.sd,
        margin=design.margin,
        level=design.level,
        minimum=design.minimum,
        response_rate=design.response_rate,
        eligibility_rate=design.eligibility_rate,
    )
    return {
        u: {
            "N": int(size.population[i]),
            "release": int(size.release[i]),
            "completes": int(size.completes[i]),
            "census": bool(size.census[i]),
            "shortfall": bool(size.shortfall[i]),
            "expected_margin": float(size.margin[i]),
        }
        for i, u in enumerate(units)
    }


def _strata_plan(frame: Frame, design: DrawDesign) -> tuple[dict, dict]:
    """Per unit and per sub-stratum: N, planned n, replicate size, replicates released/stored."""
    units = _unit_sizes(frame, design)
    labels = frame.strata(design.substrata)
    strata_labels, strata_counts = np.unique(labels, return_counts=True)
    by_unit: dict[str, list[tuple[str, int]]] = {}
    for label, count in zip(strata_labels, strata_counts, strict=True):
        by_unit.setdefault(str(label).split("/")[0], []).append((str(label), int(count)))
    strata: dict[str, dict] = {}
    for unit, parts in by_unit.items():
        populations = np.array([c for _, c in parts])
        allocation = sampling.allocate(
            units[unit]["release"],
            populations,
            method=design.allocation,
            sd=np.full(len(parts), design.sd) if design.allocation == "neyman" else None,
        )
        for (label, count), n in zip(parts, allocation.sizes, strict=True):
            n = int(n)
            size = max(1, math.ceil(n / design.replicates))
            released = math.ceil(n / size) if n else 0
            stored = min(math.ceil(count / size), released + design.reserve)
            # whole batches are released: the plan is what they hold (planned == released)
            strata[label] = {
                "unit": unit,
                "kind": label.partition("/")[2] or None,
                "N": count,
                "n": min(size * released, count),
                "allocated": n,
                "replicate_size": size,
                "released": released,
                "stored": stored,
            }
        units[unit]["planned"] = sum(strata[label]["n"] for label, _ in parts)
    return units, strata


def fix_frame(
    *, session: Session, wave: SurveyWave, design: DrawDesign, actor: User | None
) -> SampleDraw:
    """Freeze the approved lists, record the frame's hash and the design; no seed yet.

    :raise Conflict: if the wave already has a fixed frame or a draw.
    :raise ServiceError: if no list is approved or a design parameter is out of range.
    """
    design.check()
    require_open(wave)
    if session.exec(select(SampleDraw.id).where(SampleDraw.wave_id == wave.id)).first():
        raise Conflict("本轮抽样框已固定或已抽样；如需补充样本请追加发放批次")
    frame = build_frame(session, wave.id)
    if frame.size == 0:
        raise ServiceError("没有已通过审核的名单，无法抽样")
    units, strata = _strata_plan(frame, design)
    record = SampleDraw(
        wave_id=wave.id,
        frame_hash=frame.hash(),
        frame_size=frame.size,
        design={
            "parameters": asdict(design),
            "list_ids": list(frame.list_ids),
            "units": units,
            "strata": strata,
            "releases": [],
        },
        sample_size=sum(s["n"] for s in strata.values()),
        created_by=actor.id if actor else None,
    )
    session.add(record)
    session.flush()
    session.execute(update(ClientList).where(ClientList.id.in_(frame.list_ids)).values(frozen=True))
    audit.record(
        session,
        user=actor,
        action="sample.fix_frame",
        object_type="draw",
        object_id=record.id,
        frame_hash=record.frame_hash,
        frame_size=frame.size,
    )
    return record


def _run_draw(frame: Frame, record: SampleDraw, seed: int):
    strata = record.design["strata"]
    parameters = record.design["parameters"]
    return sampling.draw(
        frame.strata(parameters["substrata"]),
        {label: spec["n"] for label, spec in strata.items()},
        seed,
        replicate_size={label: spec["replicate_size"] for label, spec in strata.items()},
        keys=frame.phone_hash.astype(str),
    )


def _stored_mask(result, record: SampleDraw) -> np.ndarray:
    stored = np.array([record.design["strata"][str(s)]["stored"] for s in result.strata])
    return result.replicate <= stored[result.stratum_code]


def draw_from_frame(
    *, session: Session, record: SampleDraw, seed: int, actor: User | None
) -> SampleDraw:
    """Draw with ``seed`` from the fixed frame; create the cases, release the planned batches.

    :raise Conflict: if already drawn, or if the frame changed since it was fixed.
    :raise ServiceError: if the seed is out of range.
    """
    if record.status != "frame_fixed":
        raise Conflict("该样本已抽取")
    if not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ServiceError("随机种子须为 0 到 2^63-1 的整数", where=Where(field="seed"))
    frame = build_frame(session, record.wave_id)
    if frame.hash() != record.frame_hash or list(frame.list_ids) != record.design["list_ids"]:
        raise Conflict("抽样框自固定以来已改变，不能抽样")
    result = _run_draw(frame, record, seed)
    released_upto = np.array([record.design["strata"][str(s)]["released"] for s in result.strata])[
        result.stratum_code
    ]
    labels = frame.strata(record.design["parameters"]["substrata"])
    rows = []
    for index in np.flatnonzero(_stored_mask(result, record)):
        rows.append(
            {
                "draw_id": record.id,
                "unit_id": int(frame.unit_id[index]),
                "client_id": int(frame.client_id[index]),
                "stratum": str(labels[index]),
                "order_rank": int(result.rank[index]),
                "replicate": int(result.replicate[index]),
                "released": bool(result.replicate[index] <= released_upto[index]),
                "pseudonym": secrets.token_hex(8),
                "status": CaseStatus.PENDING,
                "ever_eligible": False,
                "attempts": 0,
            }
        )
        if len(rows) >= BATCH:
            session.execute(insert(Case), rows)
            rows.clear()
    if rows:
        session.execute(insert(Case), rows)
    shared_numbers.link_shared_numbers(session, record.wave_id)  # one call per number
    record.seed = seed
    record.generator = result.generator
    record.status = "drawn"
    record.drawn_at = utcnow()
    session.add(record)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="sample.draw",
        object_type="draw",
        object_id=record.id,
        seed=seed,
        frame_hash=record.frame_hash,
        released=released_cases(session, record),
    )
    return record


def draw_sample(
    *,
    session: Session,
    wave: SurveyWave,
    seed: int,
    actor: User | None,
    per_unit: int | None = None,
    design: DrawDesign | None = None,
) -> SampleDraw:
    """Fix the frame and draw at once (the command line and tests; the page has two steps)."""
    if design is None:
        design = DrawDesign(per_unit=per_unit, replicates=1, reserve=0)
    record = fix_frame(session=session, wave=wave, design=design, actor=actor)
    return draw_from_frame(session=session, record=record, seed=seed, actor=actor)


def released_cases(session: Session, record: SampleDraw) -> int:
    return int(
        session.exec(
            select(func.count(Case.id)).where(Case.draw_id == record.id, Case.released)
        ).one()
    )


def release_next_replicate(
    *, session: Session, record: SampleDraw, unit_codes: list[str], actor: User | None
) -> int:
    """Release one more replicate batch in every sub-stratum of the given units.

    Recorded in the draw's design and in the audit log. Returns the cases released.

    :raise Conflict: if the draw is not drawn yet.
    :raise ServiceError: if a unit has no reserve left or is not in the draw.
    """
    if record.status != "drawn":
        raise Conflict("尚未抽样")
    strata = {label: dict(spec) for label, spec in record.design["strata"].items()}
    chosen = [label for label, spec in strata.items() if spec["unit"] in set(unit_codes)]
    missing = set(unit_codes) - {strata[label]["unit"] for label in chosen}
    if missing:
        raise ServiceError(f"单位 {sorted(missing)[0]} 不在本次抽样中", where=Where(field="unit"))
    released = 0
    for label in chosen:
        spec = strata[label]
        if spec["released"] >= spec["stored"]:
            continue
        spec["released"] += 1
        result = session.execute(
            update(Case)
            .where(
                Case.draw_id == record.id, Case.stratum == label, Case.replicate == spec["released"]
            )
            .values(released=True)
        )
        released += result.rowcount or 0
    if released == 0:
        raise ServiceError("所选单位已没有可追加的后备批次")
    releases = [
        *record.design.get("releases", []),
        {
            "at": utcnow().isoformat(),
            "by": actor.username if actor else None,
            "units": sorted(unit_codes),
            "cases": released,
        },
    ]
    record.design = {**record.design, "strata": strata, "releases": releases}
    session.add(record)
    audit.record(
        session,
        user=actor,
        action="sample.release",
        object_type="draw",
        object_id=record.id,
        units=sorted(unit_codes),
        cases=released,
    )
    return released


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
    frame_hash = frame.hash()
    if frame_hash != record.frame_hash:
        return Verification(False, f"抽样框哈希不同：现为 {frame_hash}，记录为 {record.frame_hash}")
    if record.status != "drawn":
        return Verification(True, "抽样框与固定时一致（尚未给出随机种子）")
    result = _run_draw(frame, record, record.seed)
    expected = {
        int(frame.client_id[i]): (int(result.rank[i]), int(result.replicate[i]))
        for i in np.flatnonzero(_stored_mask(result, record))
    }
    stored = {
        client_id: (rank, replicate)
        for client_id, rank, replicate in session.exec(
            select(Case.client_id, Case.order_rank, Case.replicate).where(Case.draw_id == record.id)
        ).all()
    }
    for client_id in sorted(set(expected) | set(stored)):
        if expected.get(client_id) != stored.get(client_id):
            return Verification(
                False,
                f"服务对象 #{client_id}：重算为 {expected.get(client_id)}，"
                f"记录为 {stored.get(client_id)}（(顺序, 批次)）",
            )
    return Verification(
        True, f"重算 {len(expected)} 个样本（含后备批次）与记录完全一致（种子 {record.seed}）"
    )


def latest_draw(session: Session, wave: SurveyWave) -> SampleDraw | None:
    return session.exec(
        select(SampleDraw)
        .where(SampleDraw.wave_id == wave.id, SampleDraw.status == "drawn")
        .order_by(SampleDraw.id.desc())
    ).first()
