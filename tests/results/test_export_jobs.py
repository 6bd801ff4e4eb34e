"""Background export jobs: states, progress, the sealed file, one download, expiry, the web."""

from __future__ import annotations

import contextlib
import io
from datetime import timedelta

import openpyxl
import pytest
from sqlmodel import Session, select

from survey_service.db import transaction
from survey_service.errors import NotFound
from survey_service.models import (
    AuditEvent,
    ExportJob,
    JobState,
    StoredFile,
    StoredFileChunk,
    utcnow,
)
from survey_service.results import exports, jobs
from tests.factories import PASSWORD, make_user


def _opener(app):
    engine = app.extensions["engine"]

    @contextlib.contextmanager
    def open_session():
        with Session(engine, expire_on_commit=False) as session:
            yield session

    return open_session


def _state(app, job_id):
    with _opener(app)() as other:
        job = other.get(ExportJob, job_id)
        return job.state, job.done, job.total


def test_job_runs_through_its_states_with_progress(app, session, wave_with_answers):
    """Does a job go queued → running (progress committed) → done, sealed, downloaded once?"""
    wave, _plan = wave_with_answers
    with transaction(session):
        user = make_user(session, username="stat", role="statistician")
        job = jobs.create_job(session=session, wave=wave, kind="microdata_csv", actor=user)
    assert job.state == JobState.QUEUED and jobs.status(job)["percent"] == 0
    seen = []

    def build(job_session, job_wave, progress):
        seen.append(_state(app, job.id))
        progress(1, 2)
        seen.append(_state(app, job.id))
        return exports.microdata_export(job_session, job_wave)

    vault = app.extensions["phone_vault"]
    jobs.run_job(_opener(app), job.id, build=build, vault=vault, retention=timedelta(hours=2))
    assert seen == [(JobState.RUNNING, 0, 0), (JobState.RUNNING, 1, 2)]
    session.expire_all()
    job = session.get(ExportJob, job.id)
    assert (job.state, job.done, job.total) == (JobState.DONE, 2, 2)
    assert jobs.status(job)["percent"] == 100
    assert job.expires_at - job.finished_at == timedelta(hours=2)
    expected = exports.microdata_export(session, wave)
    assert (job.rows, job.size, job.filename) == (
        expected.rows,
        len(expected.data),
        expected.filename,
    )
    sealed = b"".join(
        session.exec(select(StoredFileChunk.data).where(StoredFileChunk.file_id == job.file_id))
    )
    assert expected.data[:40] not in sealed  # kept encrypted, not in clear
    file_id = job.file_id
    with transaction(session):
        job, data = jobs.take_download(session=session, job=job, vault=vault, actor=user)
    assert data == expected.data
    assert job.state == JobState.DOWNLOADED and job.file_id is None
    gone = select(StoredFileChunk).where(StoredFileChunk.file_id == file_id)
    assert session.exec(gone).all() == [] and session.get(StoredFile, file_id) is None
    event = session.exec(
        select(AuditEvent).where(AuditEvent.action == "export.microdata_csv")
    ).one()
    assert event.detail["rows"] == expected.rows
    with pytest.raises(NotFound):
        jobs.take_download(session=session, job=job, vault=vault, actor=user)


def test_a_failing_build_leaves_a_failed_job(app, session, wave_with_answers):
    """Does an error in the build give state failed with a Chinese message, no file?"""
    wave, _plan = wave_with_answers
    with transaction(session):
        user = make_user(session, username="stat", role="statistician")
        job = jobs.create_job(session=session, wave=wave, kind="report_xlsx", actor=user)

    def build(_session, _wave, _progress):
        raise RuntimeError("disk full")

    jobs.run_job(_opener(app), job.id, build=build, vault=app.extensions["phone_vault"])
    session.expire_all()
    job = session.get(ExportJob, job.id)
    assert (job.state, job.error, job.file_id) == (JobState.FAILED, jobs.FAILED_MESSAGE, None)


def test_expiry_deletes_old_files_and_fails_dead_jobs(app, session, wave_with_answers):
    """Is a file past its retention deleted, and a job without heartbeat marked failed?"""
    wave, _plan = wave_with_answers
    with transaction(session):
        user = make_user(session, username="stat", role="statistician")
        old = jobs.create_job(session=session, wave=wave, kind="microdata_csv", actor=user)
        dead = jobs.create_job(session=session, wave=wave, kind="report_xlsx", actor=user)
        fresh = jobs.create_job(session=session, wave=wave, kind="microdata_zip", actor=user)
    for job in (old, fresh):
        jobs.run_job(
            _opener(app),
            job.id,
            build=lambda s, w, _p: exports.microdata_export(s, w),
            vault=app.extensions["phone_vault"],
        )
    session.expire_all()
    old_file = session.get(ExportJob, old.id).file_id
    assert old_file is not None
    with transaction(session):
        session.get(ExportJob, old.id).expires_at = utcnow() - timedelta(minutes=1)
        dying = session.get(ExportJob, dead.id)
        dying.state, dying.heartbeat_at = JobState.RUNNING, utcnow() - timedelta(minutes=11)
        assert jobs.expire_jobs(session) == 2
    states = {j.id: (j.state, j.file_id) for j in session.exec(select(ExportJob)).all()}
    assert states[old.id] == (JobState.EXPIRED, None)
    assert states[dead.id] == (JobState.FAILED, None)
    assert states[fresh.id][0] == JobState.DONE and states[fresh.id][1] is not None
    kept = {c.file_id for c in session.exec(select(StoredFileChunk)).all()}
    assert states[fresh.id][1] in kept and old_file not in kept
    assert session.exec(select(ExportJob.file_id).where(ExportJob.file_id.is_not(None))).all() == [
        states[fresh.id][1]
    ]


def test_web_job_progress_and_download(client, session, wave_with_answers):
    """Can a statistician start the Excel report, see it done and download it once?"""
    _wave, _plan = wave_with_answers
    with transaction(session):
        make_user(session, username="stat", role="statistician")
        make_user(session, username="office", role="reviewer")
    client.post("/auth/login", data={"username": "stat", "password": PASSWORD})
    answer = client.post("/statistics/exports/jobs/report_xlsx")
    assert answer.status_code == 303
    job_url = answer.headers["Location"]
    assert job_url.startswith("/statistics/exports/jobs/")
    page = client.get(job_url).get_data(as_text=True)
    assert "已生成，可下载" in page and 'value="100"' in page and "export_job.js" in page
    status = client.get(job_url + "/status").get_json()
    assert (status["state"], status["percent"]) == ("done", 100)
    assert status["done"] == status["total"] == 12  # data, 10 sheets, the 说明 sheet
    download = client.get(job_url + "/download")
    assert download.status_code == 200 and download.headers["Cache-Control"] == "no-store"
    book = openpyxl.load_workbook(io.BytesIO(download.data), read_only=True)
    assert book.sheetnames[0] == "各单位得分" and book.sheetnames[-1] == "说明"
    assert client.get(job_url + "/download").status_code == 404  # once only
    assert client.get(job_url + "/status").get_json()["state"] == "downloaded"
    answer = client.post("/statistics/exports/jobs/aspects_csv")  # an aggregate table
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "各单位分项得分（CSV）" in page
    csv_job = client.get(answer.headers["Location"] + "/download")
    assert csv_job.data == client.get("/statistics/exports/aspects.csv").data
    client.post("/auth/logout")
    client.post("/auth/login", data={"username": "office", "password": PASSWORD})
    assert client.get(job_url + "/status").status_code == 403  # another user's job
    assert client.post("/statistics/exports/jobs/microdata_csv").status_code == 403
    assert client.post("/statistics/exports/jobs/nothing").status_code == 404
