"""Importing the three other parts of the score: versioned, checked whole, audited.

Each import of a part is a new version for the wave; the latest version is the
one that counts, and the earlier ones stay for the record. A file with any bad
row stores nothing: the error carries every row's reason.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import func
from sqlmodel import Session, select

from survey_service import audit
from survey_service.errors import Conflict, ServiceError, Where
from survey_service.evaluation.reading import PartFileError, RowIssue, check_part_file
from survey_service.evaluation.settings import (
    BIG_DATA,
    IMPORTED_PARTS,
    PART_LABELS,
    PART_MAX,
    PART_SOURCES,
    decided,
)
from survey_service.models import SurveyWave, Unit, User
from survey_service.models.evaluation import PartImport, PartScore


class PartRowsRejected(ServiceError):
    """The file has bad rows; nothing was stored. ``issues`` lists each row's reason."""

    def __init__(self, filename: str, issues: list[RowIssue]):
        super().__init__(
            f"{len(issues)} 处错误，未导入任何数据："
            + "；".join(str(i) for i in issues[:5])
            + ("……" if len(issues) > 5 else ""),
            where=Where(file=filename),
        )
        self.issues = issues


def import_part(
    *,
    session: Session,
    wave: SurveyWave,
    part: str,
    content: bytes,
    filename: str,
    source: str | None = None,
    actor: User | None = None,
) -> PartImport:
    """Check ``content`` and store it as the part's next version for the wave.

    :raise ServiceError: for an unknown part or an unreadable file.
    :raise PartRowsRejected: if any row is bad (nothing is stored).
    :raise Conflict: once a shortlist step is recorded (the decisions rest on the totals).
    """
    if part not in IMPORTED_PARTS:
        raise ServiceError(f"未知的分项 {part}", where=Where(field="part"))
    if decided(session, wave):
        raise Conflict("已记录筛选决定，分项得分不能再导入新版本")
    known = session.exec(select(Unit.code).where(Unit.active)).all()
    try:
        checked = check_part_file(
            content,
            filename,
            known_units=known,
            maximum=PART_MAX[part],
            with_sub_parts=part == BIG_DATA,
        )
    except PartFileError as exc:
        raise ServiceError(str(exc), where=Where(file=filename)) from None
    if checked.issues:
        raise PartRowsRejected(filename, checked.issues)
    version = (
        session.exec(
            select(func.max(PartImport.version)).where(
                PartImport.wave_id == wave.id, PartImport.part == part
            )
        ).one()
        or 0
    ) + 1
    record = PartImport(
        wave_id=wave.id,
        part=part,
        version=version,
        source=(source or "").strip() or PART_SOURCES[part],
        file_name=filename[:255],
        sha256=hashlib.sha256(content).hexdigest(),
        rows=len(checked.scores),
        sub_parts=checked.sub_parts,
        imported_by=actor.id if actor is not None else None,
    )
    session.add(record)
    session.flush()
    for code, score in checked.scores.items():
        session.add(
            PartScore(
                import_id=record.id,
                unit_code=code,
                score=score,
                sub_scores=checked.sub_scores.get(code, {}),
            )
        )
    missing = sorted(set(known) - set(checked.scores))
    audit.record(
        session,
        user=actor,
        action="evaluation.import",
        object_type="wave",
        object_id=wave.id,
        part=part,
        label=PART_LABELS[part],
        version=version,
        source=record.source,
        file=record.file_name,
        sha256=record.sha256,
        rows=record.rows,
        missing=missing,
    )
    return record


def latest_imports(session: Session, wave: SurveyWave) -> dict[str, PartImport]:
    """The version that counts of each imported part: ``{part: PartImport}``."""
    rows = session.exec(
        select(PartImport).where(PartImport.wave_id == wave.id).order_by(PartImport.version)
    ).all()
    return {row.part: row for row in rows}


def import_history(session: Session, wave: SurveyWave) -> list[PartImport]:
    return list(
        session.exec(
            select(PartImport)
            .where(PartImport.wave_id == wave.id)
            .order_by(PartImport.part, PartImport.version.desc())
        ).all()
    )


def latest_scores(session: Session, wave: SurveyWave) -> dict[str, dict[str, PartScore]]:
    """``{part: {unit code: PartScore}}`` from each part's latest version."""
    latest = latest_imports(session, wave)
    out: dict[str, dict[str, PartScore]] = {part: {} for part in IMPORTED_PARTS}
    if not latest:
        return out
    by_import = {imp.id: part for part, imp in latest.items()}
    for score in session.exec(
        select(PartScore).where(PartScore.import_id.in_(list(by_import)))
    ).all():
        out[by_import[score.import_id]][score.unit_code] = score
    return out
