"""SQLModel tables, one module per stage of the data's story.

list → review → frame → sample → case queue → call attempt → answers.
"""

from . import evaluation  # noqa: F401  (the evaluation tables: survey_service.models.evaluation)
from .answers import Answer
from .audit import AuditEvent
from .base import UTCDateTime, utcnow
from .cases import DISPOSITIONS, FINAL_ON_FIRST, CallAttempt, Case, CaseStatus, DoNotCall
from .draws import SampleDraw
from .jobs import JOB_STATE_LABELS, ExportJob, JobState
from .lists import (
    LIST_STATUS_LABELS,
    Client,
    ClientList,
    ListRowIssue,
    ListStatus,
    StaffNumber,
    StoredFile,
    StoredFileChunk,
)
from .org import ROLE_LABELS, LoginThrottle, Role, Unit, UnitCategory, User
from .quality import QualityReview, ReviewStatus
from .waves import ResultSnapshot, SurveyWave, WaveStatus

__all__ = [
    "DISPOSITIONS",
    "FINAL_ON_FIRST",
    "JOB_STATE_LABELS",
    "LIST_STATUS_LABELS",
    "ROLE_LABELS",
    "Answer",
    "AuditEvent",
    "CallAttempt",
    "Case",
    "CaseStatus",
    "Client",
    "ClientList",
    "DoNotCall",
    "ExportJob",
    "JobState",
    "ListRowIssue",
    "ListStatus",
    "LoginThrottle",
    "QualityReview",
    "ResultSnapshot",
    "ReviewStatus",
    "Role",
    "SampleDraw",
    "StaffNumber",
    "StoredFile",
    "StoredFileChunk",
    "SurveyWave",
    "UTCDateTime",
    "Unit",
    "UnitCategory",
    "User",
    "WaveStatus",
    "utcnow",
]
