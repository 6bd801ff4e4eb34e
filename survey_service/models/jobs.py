"""Background export jobs: the state, progress and sealed file of a long export."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, Text
from sqlmodel import Field, SQLModel

from .base import UTCDateTime, utcnow


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # the file is ready (sealed in stored_file)
    FAILED = "failed"
    DOWNLOADED = "downloaded"  # taken once; the file is deleted
    EXPIRED = "expired"  # not taken within the retention time; the file is deleted


JOB_STATE_LABELS = {
    JobState.QUEUED: "排队中",
    JobState.RUNNING: "正在生成",
    JobState.DONE: "已生成，可下载",
    JobState.FAILED: "生成失败",
    JobState.DOWNLOADED: "已下载（文件已删除）",
    JobState.EXPIRED: "已过期（文件已删除）",
}


class ExportJob(SQLModel, table=True):
    """One requested export, built apart from the request; any web node can report and serve it.

    The file is kept encrypted in ``stored_file`` chunks (the data key's file
    sealing) until it is downloaded or expires (``expires_at``).
    """

    __tablename__ = "results_export_job"

    id: int | None = Field(default=None, primary_key=True)
    wave_id: int = Field(foreign_key="survey_wave.id", index=True)
    kind: str = Field(sa_type=String(32))
    requested_by: int = Field(foreign_key="user_account.id", index=True)
    state: str = Field(default=JobState.QUEUED, sa_type=String(16), index=True)
    done: int = 0  # steps done of ``total`` (the progress bar)
    total: int = 0
    file_id: int | None = Field(default=None, foreign_key="stored_file.id")
    filename: str | None = Field(default=None, sa_type=String(255))
    mimetype: str | None = Field(default=None, sa_type=String(100))
    name: str | None = Field(default=None, sa_type=String(32))  # audit name, e.g. report_xlsx
    rows: int | None = None
    size: int | None = None
    error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
