"""Answers: one per case and questionnaire item, under a script version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import UTCDateTime, utcnow


class Answer(SQLModel, table=True):
    """The stored value code of one item for one case."""

    __tablename__ = "answer"
    __table_args__ = (UniqueConstraint("case_id", "item_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="survey_case.id", index=True)
    item_id: str = Field(sa_type=String(64))
    value: str = Field(sa_type=Text)
    script_id: str = Field(sa_type=String(64))
    script_version: int
    attempt_id: int | None = Field(default=None, foreign_key="call_attempt.id")
    answered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
