"""Sample draws: the recorded seed, design and frame hash that make them reproducible."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, String
from sqlmodel import Field, SQLModel

from .base import UTCDateTime, utcnow


class SampleDraw(SQLModel, table=True):
    """One stratified draw from the approved lists of a wave."""

    __tablename__ = "sample_draw"

    id: int | None = Field(default=None, primary_key=True)
    wave_id: int = Field(foreign_key="survey_wave.id", index=True)
    status: str = Field(default="frame_fixed", sa_type=String(16))  # frame_fixed -> drawn
    seed: int | None = Field(default=None, sa_type=BigInteger)
    generator: str | None = Field(default=None, sa_type=String(200))
    frame_hash: str = Field(sa_type=String(64))
    design: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    frame_size: int = 0
    sample_size: int = 0
    created_by: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    drawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # the last re-run of the draw (sample.verification): its key, result and time
    verification: dict[str, Any] | None = Field(default=None, sa_type=JSON)
