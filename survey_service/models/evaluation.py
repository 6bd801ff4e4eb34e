"""The composite evaluation (十佳十差) and the rectification lists (整改清单).

The office imports the three other parts of the score per wave (each import a
new version, the latest counts), records the shortlist's three committee
decisions and the one-vote vetoes, and keeps each unit's problem list until
every problem is closed (销号).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import UTCDateTime, utcnow


class PartImport(SQLModel, table=True):
    """One version of one imported part (日常工作作风, 监督检查, 互联网+大数据) for a wave."""

    __tablename__ = "evaluation_part_import"
    __table_args__ = (UniqueConstraint("wave_id", "part", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    wave_id: int = Field(foreign_key="survey_wave.id", index=True)
    part: str = Field(sa_type=String(32))
    version: int
    source: str = Field(sa_type=String(100))  # the body that scored it, e.g. 区直机关工委
    file_name: str = Field(sa_type=String(255))
    sha256: str = Field(sa_type=String(64))
    rows: int = 0
    sub_parts: list[str] = Field(default_factory=list, sa_type=JSON)
    imported_by: int | None = Field(default=None, foreign_key="user_account.id")
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PartScore(SQLModel, table=True):
    """A unit's score in one imported part version (sub-part scores for 互联网+大数据)."""

    __tablename__ = "evaluation_part_score"
    __table_args__ = (UniqueConstraint("import_id", "unit_code"),)

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = Field(foreign_key="evaluation_part_import.id", index=True)
    unit_code: str = Field(sa_type=String(32))
    score: float
    sub_scores: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class ShortlistStep(SQLModel, table=True):
    """One committee's decision in the 20 → 15 → 10 funnel, with the office's changes.

    ``best`` and ``worst`` are the unit codes the body decided on, best first /
    worst first; ``changes`` the office's recorded changes to the proposal
    (``{"list", "action", "unit", "reason"}``).
    """

    __tablename__ = "evaluation_shortlist_step"
    __table_args__ = (UniqueConstraint("wave_id", "step"),)

    id: int | None = Field(default=None, primary_key=True)
    wave_id: int = Field(foreign_key="survey_wave.id", index=True)
    step: int
    size: int
    body: str = Field(sa_type=String(64))
    decided_on: date = Field(sa_type=Date)
    document: str = Field(default="", sa_type=String(200))
    best: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # {group: [codes]}
    worst: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    changes: list[Any] = Field(default_factory=list, sa_type=JSON)
    recorded_by: int | None = Field(default=None, foreign_key="user_account.id")
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class VetoReason(StrEnum):
    DISCIPLINE = "discipline"
    RECTIFICATION = "rectification"
    INVESTORS = "investors"


VETO_LABELS = {
    VetoReason.DISCIPLINE: "严重违纪违法",
    VetoReason.RECTIFICATION: "整改不力",
    VetoReason.INVESTORS: "吓跑投资者",
}


class Veto(SQLModel, table=True):
    """A one-vote veto (一票否决): the unit goes onto the ten-worst reference list."""

    __tablename__ = "evaluation_veto"
    __table_args__ = (UniqueConstraint("wave_id", "unit_code"),)

    id: int | None = Field(default=None, primary_key=True)
    wave_id: int = Field(foreign_key="survey_wave.id", index=True)
    unit_code: str = Field(sa_type=String(32))
    reason: str = Field(sa_type=String(16))
    detail: str = Field(default="", sa_type=Text)
    document: str = Field(sa_type=String(200))
    recorded_by: int | None = Field(default=None, foreign_key="user_account.id")
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ProblemStatus(StrEnum):
    OPEN = "open"  # issued to the unit, not answered yet
    ANSWERED = "answered"  # the unit gave its measure; the office checks it
    RETURNED = "returned"  # the office sent it back; the unit answers again
    CLOSED = "closed"  # 销号


PROBLEM_STATUS_LABELS = {
    ProblemStatus.OPEN: "待整改",
    ProblemStatus.ANSWERED: "待核验",
    ProblemStatus.RETURNED: "已退回",
    ProblemStatus.CLOSED: "已销号",
}


class Problem(SQLModel, table=True):
    """One problem on a unit's rectification list (整改清单)."""

    __tablename__ = "evaluation_problem"

    id: int | None = Field(default=None, primary_key=True)
    wave_id: int = Field(foreign_key="survey_wave.id", index=True)
    unit_code: str = Field(sa_type=String(32), index=True)
    seq: int  # the problem's number on the unit's list
    aspect: str = Field(sa_type=String(64))
    source: str = Field(sa_type=String(16))  # "comment" or "aspect"
    summary: str = Field(sa_type=Text)
    mentions: int = 0  # respondents who said it (comments); 0 for a low aspect
    examples: list[str] = Field(default_factory=list, sa_type=JSON)  # redacted wordings
    status: str = Field(default=ProblemStatus.OPEN, sa_type=String(16))
    issued_on: date = Field(sa_type=Date)
    deadline: date = Field(sa_type=Date)
    measure: str = Field(default="", sa_type=Text)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_note: str = Field(default="", sa_type=Text)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
