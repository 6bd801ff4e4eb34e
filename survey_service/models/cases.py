"""Cases (sampled respondents), call attempts and AAPOR dispositions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from ..dispositions import COMPLETE, DISPOSITIONS, FINAL_ON_FIRST  # noqa: F401 (re-exported)
from .base import UTCDateTime, utcnow


class CaseStatus(StrEnum):
    PENDING = "pending"  # released, waiting for a call
    IN_PROGRESS = "in_progress"  # held by an agent or an IVR call
    FINAL = "final"  # has its final disposition


class Case(SQLModel, table=True):
    """A sampled client to be interviewed about one unit."""

    __tablename__ = "survey_case"
    __table_args__ = (
        UniqueConstraint("draw_id", "client_id"),
        # The completes per unit that the queue's order reads at every claim: an index of
        # the completed cases only (they are final: no claim or outcome writes it again).
        Index(
            "ix_survey_case_completes",
            "draw_id",
            "unit_id",
            postgresql_where=text(f"disposition = '{COMPLETE}'"),
            sqlite_where=text(f"disposition = '{COMPLETE}'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    draw_id: int = Field(foreign_key="sample_draw.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    stratum: str = Field(sa_type=String(64))
    order_rank: int  # position in the stratum's seeded random order, from 0
    replicate: int  # replicate batch, from 1
    released: bool = Field(default=True, index=True)
    pseudonym: str = Field(sa_type=String(32), unique=True)
    status: str = Field(default=CaseStatus.PENDING, sa_type=String(16), index=True)
    disposition: str | None = Field(default=None, sa_type=String(8))
    ever_eligible: bool = False
    attempts: int = 0
    needs_senior: bool = False  # after a soft refusal: refusal conversion by a senior agent
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finalized_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The wave's cases of one number drawn for several units share this (the smallest
    # case id among them); None for a number drawn once. One call covers the group.
    number_group: int | None = Field(default=None, index=True)
    # The queue's order keys, kept here so that a claim reads no call_attempt row:
    # when the latest attempt started, and the time a 2.21 booked for the next one.
    last_tried_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    booked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CallAttempt(SQLModel, table=True):
    """One dial of a case, by an agent or the IVR, with its outcome."""

    __tablename__ = "call_attempt"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="survey_case.id", index=True)
    agent_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    channel: str = Field(default="agent", sa_type=String(8))
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, sa_type=String(8))
    note: str | None = Field(default=None, sa_type=Text)
    refusal: str | None = Field(default=None, sa_type=String(8))  # 2.11: soft or hard
    appointment_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # 2.21 booked
    provider_call_id: str | None = Field(default=None, sa_type=String(64))
    # The highest sequence number of the provider's status callbacks seen for this call.
    status_sequence: int | None = Field(default=None)
    # Where the call's recording is kept (e.g. a provider's RecordingSid), for quality review.
    recording_ref: str | None = Field(default=None, sa_type=String(200))
    # One call covering several units' cases of one number (the same person sampled for
    # each): every attempt of that call names the call's first attempt here (itself
    # included); None for a call about one case.
    call_group: int | None = Field(default=None, foreign_key="call_attempt.id", index=True)


class DoNotCall(SQLModel, table=True):
    """A number never to be called again, by any later wave or the IVR (a hard refusal).

    Kept by the phone's lookup hash only: the list holds no number.
    """

    __tablename__ = "do_not_call"

    id: int | None = Field(default=None, primary_key=True)
    phone_hash: str = Field(sa_type=String(64), unique=True)
    case_id: int | None = Field(default=None, foreign_key="survey_case.id")
    reason: str = Field(sa_type=String(8))
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
