"""Quality review (复核) of completed interviews: sampled or flagged, then confirmed or struck."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import UTCDateTime, utcnow


class ReviewStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    STRUCK = "struck"


class QualityReview(SQLModel, table=True):
    """One completed interview on a wave's review list, and the reviewer's decision."""

    __tablename__ = "quality_review"
    __table_args__ = (UniqueConstraint("wave_id", "case_id"),)

    id: int | None = Field(default=None, primary_key=True)
    wave_id: int = Field(foreign_key="survey_wave.id", index=True)
    case_id: int = Field(foreign_key="survey_case.id", index=True)
    attempt_id: int | None = Field(default=None, foreign_key="call_attempt.id")
    agent_id: int | None = Field(default=None, foreign_key="user_account.id")
    sampled: bool = False  # drawn in the agent's random share
    flags: list[str] = Field(default_factory=list, sa_type=JSON)
    status: str = Field(default=ReviewStatus.PENDING, sa_type=String(16))
    reason: str | None = Field(default=None, sa_type=Text)
    previous_disposition: str | None = Field(default=None, sa_type=String(8))
    reviewer_id: int | None = Field(default=None, foreign_key="user_account.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
