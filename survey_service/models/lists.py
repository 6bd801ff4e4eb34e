"""Client lists (服务对象名单): versions per unit and wave, their rows and problems."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, LargeBinary, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import UTCDateTime, utcnow


class ListStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


LIST_STATUS_LABELS = {
    ListStatus.DRAFT: "草稿",
    ListStatus.SUBMITTED: "待审核",
    ListStatus.APPROVED: "已通过",
    ListStatus.REJECTED: "已退回",
}


class StoredFile(SQLModel, table=True):
    """An uploaded file, kept as sent; its bytes are in 1 MiB chunks.

    ``encryption`` says how the chunks are kept: ``aes-gcm-v1`` (each chunk
    sealed with the data key's file sub-key), ``purged`` (the chunks were
    deleted by the wave's retention purge) or None (plaintext, files stored
    before the chunks were encrypted).
    """

    __tablename__ = "stored_file"

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(sa_type=String(64), index=True)
    size: int = 0
    file_name: str = Field(sa_type=String(255))
    encryption: str | None = Field(default=None, sa_type=String(16))


class StoredFileChunk(SQLModel, table=True):
    """One chunk of a stored file (streamed in and out, never held whole in memory)."""

    __tablename__ = "stored_file_chunk"

    file_id: int = Field(foreign_key="stored_file.id", primary_key=True)
    seq: int = Field(primary_key=True)
    data: bytes = Field(sa_type=LargeBinary)


class ClientList(SQLModel, table=True):
    """One version of a unit's client list for a wave."""

    __tablename__ = "client_list"
    __table_args__ = (UniqueConstraint("unit_id", "wave_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    wave_id: int = Field(foreign_key="survey_wave.id", index=True)
    version: int
    status: str = Field(default=ListStatus.DRAFT, sa_type=String(16), index=True)
    file_name: str = Field(sa_type=String(255))
    file_id: int = Field(foreign_key="stored_file.id")
    file_sha256: str = Field(sa_type=String(64))
    encoding: str | None = Field(default=None, sa_type=String(32))
    delimiter: str | None = Field(default=None, sa_type=String(8))
    n_accepted: int = 0
    n_rejected: int = 0
    n_skipped: int = 0
    signals: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # found at import
    frozen: bool = False
    uploaded_by: int | None = Field(default=None, foreign_key="user_account.id")
    uploaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reviewed_by: int | None = Field(default=None, foreign_key="user_account.id")
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_note: str | None = Field(default=None, sa_type=Text)


class Client(SQLModel, table=True):
    """An accepted row: a person or company the unit served.

    The phone is stored encrypted (``phone_enc``), matched through a keyed
    hash (``phone_hash``) and shown only masked (``phone_masked``); the name
    is stored encrypted (a ``t1:`` token, see ``PhoneVault.encrypt_texts``).
    A wave's retention purge empties all four.
    """

    __tablename__ = "client"
    # On PostgreSQL the list's index is a BRIN index: an import writes a
    # list's rows together, in one COPY, so the rows of one list fill
    # neighbouring pages and a summary per 128 pages finds them. A B-tree
    # index of the one list_id of a million rows cost the server 0.4 of its
    # 2.1 CPU-s a million rows (migration 0015). SQLite keeps a B-tree.
    __table_args__ = (
        Index(
            "ix_client_list_id",
            "list_id",
            postgresql_using="brin",
            postgresql_with={"autosummarize": "on"},
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    list_id: int = Field(foreign_key="client_list.id")
    row_number: int
    name: str | None = Field(default=None, sa_type=Text)  # encrypted
    phone_enc: str = Field(sa_type=String(200))
    # Not indexed: the checks that match hashes read the other side whole, and
    # a random-order index on it would halve the speed of importing a list.
    phone_hash: str = Field(sa_type=String(64))
    phone_masked: str = Field(sa_type=String(32))
    service: str | None = Field(default=None, sa_type=String(500))
    service_date: str | None = Field(default=None, sa_type=String(32))
    kind: str | None = Field(default=None, sa_type=String(8))


class ListRowIssue(SQLModel, table=True):
    """A rejected row of an upload, with its reason, for the unit to fix.

    The cell as written is kept encrypted (``raw_value``) and masked
    (``raw_masked``, what the pages show unless a full value is revealed);
    so is the row's name (``name``, ``name_masked``), so that the unit can
    find the row; the service is kept as the clients' is.
    """

    __tablename__ = "list_row_issue"

    id: int | None = Field(default=None, primary_key=True)
    list_id: int = Field(foreign_key="client_list.id", index=True)
    row_number: int
    field: str = Field(sa_type=String(32))
    raw_value: str | None = Field(default=None, sa_type=Text)  # encrypted
    raw_masked: str | None = Field(default=None, sa_type=String(500))
    reason: str = Field(sa_type=String(32))
    name: str | None = Field(default=None, sa_type=Text)  # encrypted
    name_masked: str | None = Field(default=None, sa_type=String(200))
    service: str | None = Field(default=None, sa_type=String(500))


class StaffNumber(SQLModel, table=True):
    """A phone of a unit's own staff (keyed hash only), to exclude from its frame."""

    __tablename__ = "staff_number"
    __table_args__ = (UniqueConstraint("unit_id", "wave_id", "phone_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    wave_id: int = Field(foreign_key="survey_wave.id", index=True)
    phone_hash: str = Field(sa_type=String(64), index=True)
