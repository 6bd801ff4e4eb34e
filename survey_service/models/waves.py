"""A survey wave: one year's evaluation round."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, String
from sqlmodel import Field, SQLModel

from .base import UTCDateTime, utcnow


class WaveStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class SurveyWave(SQLModel, table=True):
    """A yearly wave with its questionnaire and calling settings."""

    __tablename__ = "survey_wave"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=String(64), unique=True)
    year: int
    script_id: str = Field(sa_type=String(64))
    script_version: int
    status: str = Field(default=WaveStatus.OPEN, sa_type=String(16))
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
