"""Units under evaluation and the people who use the service."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, false
from sqlmodel import Field, SQLModel

from .base import UTCDateTime, utcnow


class UnitCategory(StrEnum):
    SECTION = "机关科室"
    STATION = "基层站所"


class Role(StrEnum):
    UNIT = "unit"
    REVIEWER = "reviewer"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    STATISTICIAN = "statistician"
    ADMIN = "admin"


ROLE_LABELS = {
    Role.UNIT: "单位填报员",
    Role.REVIEWER: "区治庸办审核员",
    Role.AGENT: "话务员",
    Role.SUPERVISOR: "话务主管",
    Role.STATISTICIAN: "统计员",
    Role.ADMIN: "系统管理员",
}


class Unit(SQLModel, table=True):
    """A unit under evaluation (评议对象): one stratum, one domain of estimation."""

    __tablename__ = "unit"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(32), unique=True, index=True)
    name: str = Field(sa_type=String(200))
    category: str = Field(sa_type=String(16))
    department: str | None = Field(default=None, sa_type=String(200))
    active: bool = True


class User(SQLModel, table=True):
    """A login. Unit staff are bound to exactly one unit; other roles to none."""

    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_type=String(64), unique=True, index=True)
    display_name: str = Field(sa_type=String(100))
    password_hash: str = Field(sa_type=String(256))
    role: str = Field(sa_type=String(16))
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    active: bool = True
    # A senior agent (资深访员): the only one offered refusal conversions (soft refusals).
    senior: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Part of every session's user id: raising it (log-out, new password,
    # disabling) makes every cookie issued before invalid on every node.
    session_epoch: int = Field(default=0, sa_column_kwargs={"server_default": "0"})

    # Flask-Login protocol, kept here because it derives from columns only.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}"


class LoginThrottle(SQLModel, table=True):
    """Recent failed log-ins of one account or one address, shared by every web node.

    ``key`` is ``user:<name>`` or ``addr:<address>``; the count restarts when the
    last failure is older than the lock period.
    """

    __tablename__ = "login_throttle"

    key: str = Field(sa_type=String(160), primary_key=True)
    failures: int = 0
    last_failure_at: datetime = Field(sa_type=UTCDateTime)
