"""Background export jobs: long exports built apart from the request, with progress.

The Excel report and the microdata take seconds to minutes at city scale, so
the exports page starts them as jobs (:func:`create_job`) and a thread of the
web process that took the request builds them (:func:`run_job`, on a session
of its own). The job's row in the database is the system of record: its
state (queued → running → done or failed), its progress (``done`` of
``total`` steps, committed as they pass), and its file, sealed with the data
key in ``stored_file`` chunks (:func:`privacy.files.store_file`). So any web
node can report a job and serve its download, whichever node built it. A
file is deleted once downloaded (:func:`take_download`, which writes the
export to the audit log as a direct download does) or when its retention
time has passed (:func:`expire_jobs`); a job whose builder stopped sending
heartbeats (its process died) is marked failed.

Stage code: no Flask. The caller gives the builder of each kind and the way
to open a session.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete, or_
from sqlmodel import Session, select

from survey_service import audit
from survey_service.errors import Forbidden, NotFound
from survey_service.models import (
    ExportJob,
    JobState,
    StoredFile,
    StoredFileChunk,
    SurveyWave,
    User,
    utcnow,
)
from survey_service.privacy.files import store_file, stored_file_chunks
from survey_service.privacy.vault import PhoneVault
from survey_service.results.exports import CSV_TABLES, ExportFile

log = logging.getLogger(__name__)

#: kinds of job and what they are called on the page
JOB_KINDS = {
    "report_xlsx": "Excel 报告",
    "microdata_csv": "微观数据（CSV）",
    "microdata_zip": "微观数据包（ZIP）",
    "results_csv": "得分结果（CSV）",
    **{f"{name}_csv": f"{name}（CSV）" for name in CSV_TABLES},  # each aggregate table
}
RETENTION = timedelta(hours=24)  # a finished file not downloaded is deleted after this
STALE_AFTER = timedelta(minutes=10)  # a running job without a heartbeat this long has died
FAILED_MESSAGE = "生成失败，请重试；如仍失败请联系系统管理员。"

Progress = Callable[[int, int], None]
Builder = Callable[[Session, SurveyWave, Progress], ExportFile]


def create_job(*, session: Session, wave: SurveyWave, kind: str, actor: User) -> ExportJob:
    """Queue an export of ``kind`` for ``actor``.

    :raise NotFound: for an unknown kind.
    """
    if kind not in JOB_KINDS:
        raise NotFound(f"没有名为 {kind} 的导出")
    job = ExportJob(wave_id=wave.id, kind=kind, requested_by=actor.id)
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: int, user: User) -> ExportJob:
    """The job, if it is the user's own.

    :raise NotFound: for an unknown job; :raise Forbidden: for another user's.
    """
    job = session.get(ExportJob, job_id)
    if job is None:
        raise NotFound("没有这个导出任务")
    if job.requested_by != user.id:
        raise Forbidden("只能查看自己发起的导出任务")
    return job


def status(job: ExportJob) -> dict:
    """What the progress bar shows: state, steps done of total, percent."""
    percent = (
        100 if job.state == JobState.DONE else (int(100 * job.done / job.total) if job.total else 0)
    )
    return {
        "id": job.id,
        "state": str(job.state),
        "done": job.done,
        "total": job.total,
        "percent": min(percent, 100),
        "filename": job.filename,
        "error": job.error,
    }


def run_job(
    open_session: Callable[[], contextlib.AbstractContextManager[Session]],
    job_id: int,
    *,
    build: Builder,
    vault: PhoneVault,
    retention: timedelta = RETENTION,
) -> None:
    """Build job ``job_id`` with ``build``, committing its state and progress as it goes."""
    with open_session() as session:
        job = session.get(ExportJob, job_id)
        if job is None or job.state != JobState.QUEUED:
            return
        job.state, job.started_at, job.heartbeat_at = JobState.RUNNING, utcnow(), utcnow()
        session.add(job)
        session.commit()
        wave = session.get(SurveyWave, job.wave_id)
        kind = job.kind

        def progress(done: int, total: int) -> None:
            with open_session() as other:  # committed apart: the build's session stays open
                row = other.get(ExportJob, job_id)
                if row is not None and row.state == JobState.RUNNING:
                    row.done, row.total, row.heartbeat_at = done, total, utcnow()
                    other.add(row)
                    other.commit()

        try:
            export = build(session, wave, progress)
            session.rollback()  # nothing of the build is kept but the file below
            stored = store_file(
                session,
                io.BytesIO(export.data),
                sha256=hashlib.sha256(export.data).hexdigest(),
                size=len(export.data),
                filename=export.filename,
                vault=vault,
            )
            job = session.get(ExportJob, job_id)
            job.state, job.file_id = JobState.DONE, stored.id
            job.filename, job.mimetype, job.name = export.filename, export.mimetype, export.name
            job.rows, job.size = export.rows, len(export.data)
            job.done = job.total = max(job.total, 1)
            job.finished_at = utcnow()
            job.expires_at = job.finished_at + retention
            session.add(job)
            session.commit()
        except Exception:
            log.exception("export job %s (%s) failed", job_id, kind)
            session.rollback()
            job = session.get(ExportJob, job_id)
            job.state, job.error, job.finished_at = JobState.FAILED, FAILED_MESSAGE, utcnow()
            session.add(job)
            session.commit()


def take_download(
    *, session: Session, job: ExportJob, vault: PhoneVault, actor: User
) -> tuple[ExportJob, bytes]:
    """The finished file, once: audited as ``export.<name>``, then deleted.

    :raise NotFound: unless the job is done and its file still there.
    """
    if job.state != JobState.DONE or job.file_id is None:
        raise NotFound("该导出文件不存在或已被删除（下载一次后即删除）")
    data = b"".join(stored_file_chunks(session, job.file_id, vault))
    audit.record(
        session,
        user=actor,
        action=f"export.{job.name}",
        object_type="wave",
        object_id=job.wave_id,
        rows=job.rows,
        job=job.id,
    )
    _delete_file(session, job)
    job.state = JobState.DOWNLOADED
    session.add(job)
    return job, data


def expire_jobs(session: Session) -> int:
    """Delete the files past their retention time, fail jobs whose builder died; the count."""
    now = utcnow()
    jobs = session.exec(
        select(ExportJob).where(
            or_(
                (ExportJob.state == JobState.DONE) & (ExportJob.expires_at < now),
                (ExportJob.state == JobState.RUNNING)
                & (ExportJob.heartbeat_at < now - STALE_AFTER),
            )
        )
    ).all()
    for job in jobs:
        if job.state == JobState.DONE:
            _delete_file(session, job)
            job.state = JobState.EXPIRED
        else:
            job.state, job.error, job.finished_at = JobState.FAILED, FAILED_MESSAGE, now
        session.add(job)
    return len(jobs)


def _delete_file(session: Session, job: ExportJob) -> None:
    file_id = job.file_id
    if file_id is None:
        return
    job.file_id = None
    session.add(job)
    session.flush()
    session.execute(delete(StoredFileChunk).where(StoredFileChunk.file_id == file_id))
    session.execute(delete(StoredFile).where(StoredFile.id == file_id))
