"""Retention: a closed wave's personal data deleted, its answers and figures kept.

PIPL art. 19 keeps personal information no longer than its purpose needs;
统计法实施条例 art. 22 keeps the survey's statistical records. So once a
wave's results are frozen, :func:`purge_wave` deletes what identifies a
client, and nothing the figures rest on:

- clients: names, encrypted numbers, lookup hashes and masks are emptied;
  a client never sampled is deleted outright, a sampled one stays as the
  empty row its case points at (its client kind, the sub-stratum, stays);
- the stored copies of the uploaded files (their chunks);
- rejected rows' raw values, encrypted and masked;
- the units' staff-number hashes;
- any run of digits long enough to be a phone number in call notes and
  free-text answers (replaced by ``[号码]``).

The do-not-call list keeps its lookup hashes: a person who asked never to
be called again is still not called by a later wave, which needs the hash
beyond this wave's purpose. Its link to the wave's case goes (``case_id``
emptied), so a number can no longer be tied to a pseudonym and its answers.

Cases keep their random pseudonyms, answers their values, the frozen
snapshot its figures; :func:`survey_service.results.publication.recheck`
still recomputes them. The draw's frame can no longer be rebuilt (its hash
stays recorded). An open wave is refused. Who purged what and when goes to
the audit log and to the wave's settings.

:func:`compact` then rewrites the database files so the deleted bytes do
not linger in free pages or the write-ahead log.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import delete, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from survey_service import audit
from survey_service.errors import Conflict, ServiceError, Where
from survey_service.models import (
    Answer,
    CallAttempt,
    Case,
    Client,
    ClientList,
    DoNotCall,
    ListRowIssue,
    SampleDraw,
    StaffNumber,
    StoredFile,
    StoredFileChunk,
    SurveyWave,
    User,
    WaveStatus,
    utcnow,
)
from survey_service.privacy.files import PURGED

PURGE_AFTER = "purge_after"
NUMBER_RUN = re.compile(r"\+?\d[\d\s\-()]{5,}\d")
NUMBER_MARK = "[号码]"


@dataclass(frozen=True)
class PurgeReport:
    wave: str
    clients_deleted: int
    clients_emptied: int
    files: int
    chunks: int
    rejected_rows: int
    staff_numbers: int
    notes_redacted: int
    answers_redacted: int
    do_not_call_unlinked: int


def redact_numbers(value: str | None) -> str | None:
    """``value`` with every run of seven digits or more (separators allowed) marked."""
    if value is None:
        return None
    return NUMBER_RUN.sub(
        lambda m: NUMBER_MARK if sum(c.isdigit() for c in m.group()) >= 7 else m.group(), value
    )


def set_purge_after(
    *, session: Session, wave: SurveyWave, when: date, actor: User | None = None
) -> SurveyWave:
    """Record the date from which the wave's personal data is to be purged."""
    wave.settings = {**(wave.settings or {}), PURGE_AFTER: when.isoformat()}
    session.add(wave)
    audit.record(
        session,
        user=actor,
        action="wave.purge_after",
        object_type="wave",
        object_id=wave.id,
        date=when.isoformat(),
    )
    return wave


def due_waves(session: Session, today: date) -> list[SurveyWave]:
    """Closed or published waves whose purge date has come and that are not purged yet."""
    waves = session.exec(select(SurveyWave).where(SurveyWave.status != WaveStatus.OPEN)).all()
    return [
        w
        for w in waves
        if (w.settings or {}).get(PURGE_AFTER)
        and not (w.settings or {}).get("purged_at")
        and date.fromisoformat(w.settings[PURGE_AFTER]) <= today
    ]


def purge_wave(
    *, session: Session, wave: SurveyWave, actor: User | None = None, by: str | None = None
) -> PurgeReport:
    """Delete the wave's personal data (see the module's doc); return the counts.

    ``by`` names who ran it when there is no user (the command line's login).

    :raise Conflict: if the wave is open (its data is still in use) or already purged.
    """
    if wave.status == WaveStatus.OPEN:
        raise Conflict(f"轮次 {wave.name} 尚未封存结果，不能清除个人信息")
    settings = wave.settings or {}
    if settings.get("purged_at"):
        raise Conflict(f"轮次 {wave.name} 的个人信息已于 {settings['purged_at']} 清除")
    list_ids = select(ClientList.id).where(ClientList.wave_id == wave.id)
    file_ids = select(ClientList.file_id).where(ClientList.wave_id == wave.id)
    sampled = select(Case.client_id)
    bind = session.connection()
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql("PRAGMA secure_delete=ON")  # freed pages are zeroed
    deleted = session.execute(
        delete(Client).where(Client.list_id.in_(list_ids), Client.id.not_in(sampled))
    ).rowcount
    emptied = session.execute(
        update(Client)
        .where(Client.list_id.in_(list_ids))
        .values(name=None, phone_enc="", phone_hash="", phone_masked="")
    ).rowcount
    rejected = session.execute(
        update(ListRowIssue)
        .where(ListRowIssue.list_id.in_(list_ids))
        .values(raw_value=None, raw_masked=None, name=None, name_masked=None, service=None)
    ).rowcount
    chunks = session.execute(
        delete(StoredFileChunk).where(StoredFileChunk.file_id.in_(file_ids))
    ).rowcount
    files = session.execute(
        update(StoredFile).where(StoredFile.id.in_(file_ids)).values(encryption=PURGED)
    ).rowcount
    staff = session.execute(delete(StaffNumber).where(StaffNumber.wave_id == wave.id)).rowcount
    notes, answers = _redact_free_text(session, wave)
    unlinked = session.execute(
        update(DoNotCall).where(DoNotCall.case_id.in_(_case_ids(wave))).values(case_id=None)
    ).rowcount
    report = PurgeReport(
        wave=wave.name,
        clients_deleted=deleted,
        clients_emptied=emptied,
        files=files,
        chunks=chunks,
        rejected_rows=rejected,
        staff_numbers=staff,
        notes_redacted=notes,
        answers_redacted=answers,
        do_not_call_unlinked=unlinked,
    )
    at = utcnow().isoformat(timespec="seconds")
    wave.settings = {**settings, "purged_at": at, "purged_by": by or (actor and actor.username)}
    session.add(wave)
    audit.record(
        session,
        user=actor,
        action="wave.purge",
        object_type="wave",
        object_id=wave.id,
        by=by,
        **{k: v for k, v in asdict(report).items() if k != "wave"},
        name=wave.name,
    )
    return report


def _case_ids(wave: SurveyWave):
    return (
        select(Case.id)
        .join(SampleDraw, SampleDraw.id == Case.draw_id)
        .where(SampleDraw.wave_id == wave.id)
    )


def _redact_free_text(session: Session, wave: SurveyWave) -> tuple[int, int]:
    """Mark phone numbers written into the wave's call notes and answers."""
    case_ids = _case_ids(wave)
    counts = []
    for model, column in ((CallAttempt, CallAttempt.note), (Answer, Answer.value)):
        changed = 0
        rows = session.exec(
            select(model.id, column).where(model.case_id.in_(case_ids), column.is_not(None))
        ).all()
        for row_id, value in rows:
            clean = redact_numbers(value)
            if clean != value:
                session.execute(update(model).where(model.id == row_id).values({column: clean}))
                changed += 1
        counts.append(changed)
    return counts[0], counts[1]


def compact(engine: Engine) -> str:
    """Rewrite the database so deleted rows leave no bytes behind; say what was done.

    SQLite: the write-ahead log is checkpointed and truncated, the file
    rebuilt (VACUUM), the log truncated again. PostgreSQL: VACUUM FULL of
    the purged tables (each locked while it is rewritten).
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.exec_driver_sql("VACUUM")
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            return "sqlite: VACUUM, write-ahead log truncated"
        if engine.dialect.name == "postgresql":
            purged = (Client, ListRowIssue, StoredFileChunk, StaffNumber, CallAttempt, Answer)
            tables = ", ".join(t.__tablename__ for t in (*purged, DoNotCall))
            connection.execute(text(f"VACUUM FULL {tables}"))
            return f"postgresql: VACUUM FULL {tables}"
    return f"{engine.dialect.name}: not compacted"


def parse_date(value: str) -> date:
    """:raise ServiceError: unless ``value`` is YYYY-MM-DD."""
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ServiceError(
            f"日期应为 YYYY-MM-DD，而不是 {value!r}", where=Where(field="date")
        ) from exc
