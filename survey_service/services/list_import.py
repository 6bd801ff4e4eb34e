"""Client lists: store an uploaded file as a new version of a unit's list.

The file is parsed by :mod:`list_parser` (shared with ``flask clients
check``); accepted rows become clients, rejected rows become row issues,
all inside the caller's transaction, so a refused file stores nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import func, insert
from sqlmodel import Session, select

from ..errors import Conflict, NotFound, ServiceError, Where
from ..models import (
    Client,
    ClientList,
    ListRowIssue,
    ListStatus,
    Role,
    StoredFile,
    SurveyWave,
    Unit,
    User,
    utcnow,
)
from . import audit
from .list_parser import ClientFileError, parse_client_file
from .privacy import PhoneVault, mask_phone

BATCH = 5000


@dataclass
class ImportOptions:
    area_code: str = "027"
    sheet: str | None = None
    delimiter: str | None = None
    column_map: dict[str, str] | None = None
    max_bytes: int | None = None


def _read_all(source: BinaryIO | bytes) -> bytes:
    return source if isinstance(source, bytes) else source.read()


def store_file(session: Session, content: bytes) -> str:
    """Keep the raw file once, addressed by its SHA-256; return the hash."""
    digest = hashlib.sha256(content).hexdigest()
    if session.get(StoredFile, digest) is None:
        session.add(StoredFile(sha256=digest, size=len(content), content=content))
        session.flush()
    return digest


def _flush_batches(session: Session, model, rows: list[dict]) -> None:
    if rows:
        session.execute(insert(model), rows)
        rows.clear()


def import_client_list(
    *,
    session: Session,
    unit: Unit,
    wave: SurveyWave,
    content: bytes,
    filename: str,
    vault: PhoneVault,
    options: ImportOptions | None = None,
    actor: User | None = None,
) -> ClientList:
    """Parse ``content`` and store it as the unit's next list version (a draft).

    :raise ServiceError: if the file cannot be a client list (nothing is stored).
    :raise Conflict: if the unit's list is frozen by a drawn sample.
    """
    options = options or ImportOptions()
    frozen = session.exec(
        select(ClientList.id).where(
            ClientList.unit_id == unit.id, ClientList.wave_id == wave.id, ClientList.frozen
        )
    ).first()
    if frozen is not None:
        raise Conflict("本轮样本已抽取，名单已冻结，不能再上传新版本")
    if options.max_bytes is not None and len(content) > options.max_bytes:
        limit = options.max_bytes // (1024 * 1024)
        raise ServiceError(f"文件超过大小上限（{limit} MB）", where=Where(file=filename))
    try:
        parsed = parse_client_file(
            content,
            filename=filename,
            area_code=options.area_code,
            sheet=options.sheet,
            delimiter=options.delimiter,
            column_map=options.column_map,
            max_bytes=options.max_bytes,
        )
    except ClientFileError as exc:
        raise ServiceError(str(exc), where=Where(file=filename)) from exc

    version = (
        session.exec(
            select(func.max(ClientList.version)).where(
                ClientList.unit_id == unit.id, ClientList.wave_id == wave.id
            )
        ).one()
        or 0
    ) + 1
    client_list = ClientList(
        unit_id=unit.id,
        wave_id=wave.id,
        version=version,
        file_name=filename[:255],
        file_sha256=store_file(session, content),
        encoding=parsed.encoding,
        delimiter=parsed.delimiter,
        uploaded_by=actor.id if actor else None,
    )
    session.add(client_list)
    session.flush()
    with parsed:
        counts = _store_rows(session, client_list.id, parsed.rows, vault)
    client_list.n_accepted, client_list.n_rejected, client_list.n_skipped = counts
    session.add(client_list)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="list.upload",
        object_type="client_list",
        object_id=client_list.id,
        unit=unit.code,
        version=version,
        file=filename,
        sha256=client_list.file_sha256,
        accepted=counts[0],
        rejected=counts[1],
    )
    return client_list


def _store_rows(
    session: Session, list_id: int, rows: Iterable, vault: PhoneVault
) -> tuple[int, int, int]:
    accepted = rejected = skipped = 0
    clients: list[dict] = []
    issues: list[dict] = []
    encrypt, lookup = vault.encrypt, vault.lookup_hash
    for row in rows:
        if row.status == "accepted":
            accepted += 1
            phone = row.phone_e164
            clients.append(
                {
                    "list_id": list_id,
                    "row_number": row.row,
                    "name": _clip(row.name, 200),
                    "phone_enc": encrypt(phone),
                    "phone_hash": lookup(phone),
                    "phone_masked": mask_phone(phone),
                    "service": _clip(row.service, 500),
                    "service_date": _clip(row.service_date, 32),
                    "kind": row.kind,
                }
            )
            if len(clients) >= BATCH:
                _flush_batches(session, Client, clients)
        elif row.status == "rejected":
            rejected += 1
            issues.append(
                {
                    "list_id": list_id,
                    "row_number": row.row,
                    "field": "phone",
                    "raw_value": _clip(row.raw_phone, 500),
                    "reason": row.reason,
                }
            )
            if len(issues) >= BATCH:
                _flush_batches(session, ListRowIssue, issues)
        else:
            skipped += 1
    _flush_batches(session, Client, clients)
    _flush_batches(session, ListRowIssue, issues)
    return accepted, rejected, skipped


def _clip(value: str | None, size: int) -> str | None:
    return None if value is None else value[:size]


def submit_list(*, session: Session, client_list: ClientList, actor: User) -> ClientList:
    """Send a draft (or a rejected list, again) to the office for review.

    :raise Conflict: if the list is not a draft or has no accepted rows.
    """
    if client_list.status not in (ListStatus.DRAFT,):
        raise Conflict("只有草稿状态的名单可以提交审核")
    if client_list.n_accepted == 0:
        raise Conflict("名单没有有效行，不能提交")
    others = session.exec(
        select(ClientList).where(
            ClientList.unit_id == client_list.unit_id,
            ClientList.wave_id == client_list.wave_id,
            ClientList.status == ListStatus.SUBMITTED,
            ClientList.id != client_list.id,
        )
    ).all()
    for other in others:  # a newer submission replaces a pending one
        other.status = ListStatus.DRAFT
        session.add(other)
    client_list.status = ListStatus.SUBMITTED
    client_list.submitted_at = utcnow()
    session.add(client_list)
    audit.record(
        session,
        user=actor,
        action="list.submit",
        object_type="client_list",
        object_id=client_list.id,
    )
    return client_list


def get_list_for(session: Session, list_id: int, user: User) -> ClientList:
    """Load a list the user may see: unit staff only their own unit's.

    :raise NotFound: for a missing list or another unit's list (never reveal which).
    """
    client_list = session.get(ClientList, list_id)
    if client_list is None or (user.role == Role.UNIT and client_list.unit_id != user.unit_id):
        raise NotFound("名单不存在")
    return client_list


__all__ = [
    "ClientFileError",
    "ImportOptions",
    "get_list_for",
    "import_client_list",
    "store_file",
    "submit_list",
]
