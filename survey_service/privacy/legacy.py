"""Sealing what was stored in clear before names, raw values and files were encrypted.

Migration 0003 cannot do it: migrations run without the data key. So
``flask --app wsgi privacy seal-existing`` encrypts, with the app's key,
every client name and rejected raw value not yet a ``t1:`` token (masking
the raw values beside them), and every stored file whose chunks are
plaintext. A list's "one name, many numbers" signal is counted first, while
its names can still be grouped. Running it again finds nothing to do.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, not_, update
from sqlmodel import Session, select

from survey_service import audit
from survey_service.models import Client, ClientList, ListRowIssue, StoredFile, StoredFileChunk
from survey_service.privacy.files import ENCRYPTION, chunk_count
from survey_service.privacy.vault import NAME, RAW_VALUE, PhoneVault, mask_raw

BATCH = 5000


@dataclass(frozen=True)
class SealedCounts:
    names: int
    raw_values: int
    files: int


def _in_clear(column):
    return column.is_not(None) & not_(column.startswith("t1:"))


def seal_existing(session: Session, vault: PhoneVault) -> SealedCounts:
    """Encrypt the names, raw values and files still stored in clear; return the counts."""
    _count_names_first(session)
    names = _seal_column(session, vault, Client, Client.name, NAME)
    raws = _seal_column(session, vault, ListRowIssue, ListRowIssue.raw_value, RAW_VALUE)
    files = _seal_files(session, vault)
    counts = SealedCounts(names, raws, files)
    audit.record(
        session,
        user=None,
        action="privacy.seal_existing",
        object_type="database",
        names=names,
        raw_values=raws,
        files=files,
    )
    return counts


def _count_names_first(session: Session) -> None:
    lists = session.exec(select(ClientList)).all()
    for client_list in lists:
        if "names_with_many_numbers" in (client_list.signals or {}):
            continue
        many = (
            select(Client.name)
            .where(Client.list_id == client_list.id, _in_clear(Client.name))
            .group_by(Client.name)
            .having(func.count(func.distinct(Client.phone_hash)) >= 3)
            .subquery()
        )
        count = session.exec(select(func.count()).select_from(many)).one()
        client_list.signals = {**(client_list.signals or {}), "names_with_many_numbers": count}
        session.add(client_list)
    session.flush()


def _seal_column(session: Session, vault: PhoneVault, model, column, purpose: bytes) -> int:
    total = 0
    while True:
        rows = session.exec(
            select(model.id, column).where(_in_clear(column)).order_by(model.id).limit(BATCH)
        ).all()
        if not rows:
            return total
        tokens = vault.encrypt_texts([value for _id, value in rows], purpose)
        values = []
        for (row_id, value), token in zip(rows, tokens, strict=True):
            changes = {"id": row_id, column.key: token}
            if model is ListRowIssue:
                changes["raw_masked"] = mask_raw(value)
            values.append(changes)
        session.execute(update(model), values)
        total += len(rows)


def _seal_files(session: Session, vault: PhoneVault) -> int:
    stored = session.exec(select(StoredFile).where(StoredFile.encryption.is_(None))).all()
    for file in stored:
        count = chunk_count(file.size)
        for seq in range(count):
            chunk = session.exec(
                select(StoredFileChunk).where(
                    StoredFileChunk.file_id == file.id, StoredFileChunk.seq == seq
                )
            ).one()
            chunk.data = vault.encrypt_chunk(file.id, seq, count, chunk.data)
            session.add(chunk)
        file.encryption = ENCRYPTION
        session.add(file)
        session.flush()
    return len(stored)
