"""The audit log: who did what to which record, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlmodel import Field, SQLModel

from .base import UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    user_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    action: str = Field(sa_type=String(64), index=True)
    object_type: str = Field(sa_type=String(32))
    object_id: str | None = Field(default=None, sa_type=String(64))
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
