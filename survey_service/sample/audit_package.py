"""The audit package of a draw: the frame as pseudonymous keys, the seed and the design.

An outside auditor re-draws from it with ``python -m sampling.audit PACKAGE`` (or
``flask --app wsgi sample audit PACKAGE``) without database access and without seeing a
phone number: the keys are the phone numbers' keyed hashes, which order the frame as the
draw did and reproduce the recorded frame hash. Format: :mod:`sampling.audit`.
"""

from __future__ import annotations

import numpy as np
from sqlmodel import Session, select

from sampling.audit import build_package
from survey_service.errors import Conflict
from survey_service.models import Case, SampleDraw
from survey_service.sample.frames import build_frame


def audit_package(session: Session, record: SampleDraw, *, commit: str | None = None) -> dict:
    """The JSON-ready audit package of a drawn sample.

    :raise Conflict: if the seed has not been given yet or the frame changed since.
    """
    if record.status != "drawn":
        raise Conflict("尚未抽样，不能导出审计包")
    frame = build_frame(session, record.wave_id)
    if frame.hash() != record.frame_hash:
        raise Conflict("抽样框自固定以来已改变，不能导出审计包")
    key_of = dict(zip(frame.client_id.tolist(), frame.phone_hash.tolist(), strict=True))
    cases = [
        (key_of[client_id], stratum, rank, replicate, released)
        for client_id, stratum, rank, replicate, released in session.exec(
            select(
                Case.client_id, Case.stratum, Case.order_rank, Case.replicate, Case.released
            ).where(Case.draw_id == record.id)
        ).all()
    ]
    version = {"numpy": np.__version__}
    if commit:
        version["commit"] = commit
    return build_package(
        frame.unit.astype(str),
        frame.kind.astype(str),
        frame.phone_hash.astype(str),
        frame_hash_recorded=record.frame_hash,
        substrata=record.design["parameters"]["substrata"],
        strata=record.design["strata"],
        seed=int(record.seed),
        generator=record.generator or "",
        code_version=version,
        cases=cases,
        extra={"id": record.id, "wave_id": record.wave_id, "frame_size": frame.size},
    )


__all__ = ["audit_package"]
