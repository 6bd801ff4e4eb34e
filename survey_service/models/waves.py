"""A survey wave: one year's evaluation round."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import UTCDateTime, utcnow


class WaveStatus(StrEnum):
    OPEN = "open"  # calling and answering
    CLOSED = "closed"  # results frozen: no more answers, figures fixed
    PUBLISHED = "published"  # frozen figures shown to the units


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
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ResultSnapshot(SQLModel, table=True):
    """A unit's figures as frozen when the office closed the wave; never changed after."""

    __tablename__ = "result_snapshot"
    __table_args__ = (UniqueConstraint("wave_id", "unit_code"),)

    id: int | None = Field(default=None, primary_key=True)
    wave_id: int = Field(foreign_key="survey_wave.id", index=True)
    unit_code: str = Field(sa_type=String(32))
    figures: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
