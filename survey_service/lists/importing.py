"""Client lists: store an uploaded file as a new version of a unit's list.

The file is parsed by :mod:`survey_service.lists.parsing` (shared with
``flask clients check``) and its rows sealed by :mod:`survey_service.lists.sealing`
(in the helper process of :mod:`survey_service.lists.pipeline` for big
files); accepted rows become clients, rejected rows become row issues, all
inside the caller's transaction, so a refused file stores nothing.

Nothing personal is written in clear: the stored copy of the file is sealed
chunk by chunk, names and rejected rows' raw values are encrypted here (the
one process that holds the data key), rejected values are kept masked for
display, and the temporary copy the parser reads lives in the instance
folder's ``tmp/`` (mode 0600) only for the length of the import, encrypted
under a key of its own (:func:`~survey_service.privacy.files.sealed_temp_file`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func
from sqlmodel import Session, select

from survey_service import audit
from survey_service.collector import paused as collector_paused
from survey_service.errors import Conflict, NotFound, ServiceError, Where
from survey_service.lists.batch_writer import batch_writer, flush_batches
from survey_service.lists.parsing import ClientFileError, ParsedFile
from survey_service.lists.parsing.workbook import SheetLimits
from survey_service.lists.pipeline import SealedList, sealed_list
from survey_service.lists.sealing import (
    CLIENT_COLUMNS,
    ISSUE_ROW_COLUMNS,
    NAME_AT,
    ImportOptions,
    client_columns,
    consecutive_runs,
    parse_with,
    sealed_issue_columns,
)
from survey_service.models import (
    ClientList,
    ListStatus,
    Role,
    StaffNumber,
    StoredFile,
    SurveyWave,
    Unit,
    User,
    utcnow,
)
from survey_service.privacy import files
from survey_service.privacy.vault import NAME, PhoneVault
from survey_service.setup.waves import require_open

__all__ = ["ImportOptions", "consecutive_runs", "import_client_list", "import_staff_numbers"]

Source = bytes | BinaryIO | Path

CHUNK = files.CHUNK


def spool_upload(
    source: Source, spool: BinaryIO, *, filename: str, max_bytes: int | None = None
) -> tuple[str, int]:
    """Copy an upload to ``spool``, chunk by chunk; return its SHA-256 and size.

    Memory stays flat whatever the file's size.

    :raise ServiceError: if the file is larger than ``max_bytes``.
    """
    hasher = hashlib.sha256()
    size = 0
    for chunk in _chunks(source):
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            limit = max_bytes / (1024 * 1024)
            raise ServiceError(f"文件超过大小上限（{limit:g} MB）", where=Where(file=filename))
        hasher.update(chunk)
        spool.write(chunk)
    if isinstance(spool, files.SealedTemp):
        spool.finish()
    else:
        spool.flush()
    return hasher.hexdigest(), size


def store_spooled(
    session: Session,
    spool: BinaryIO,
    *,
    sha256: str,
    size: int,
    filename: str,
    vault: PhoneVault,
) -> StoredFile:
    """Keep the raw file, read back from the spool, in sealed chunks of 1 MiB."""
    return files.store_file(
        session, spool, sha256=sha256, size=size, filename=filename, vault=vault
    )


def _chunks(source: Source) -> Iterator[bytes]:
    if isinstance(source, bytes | bytearray):
        for start in range(0, len(source), CHUNK):
            yield bytes(source[start : start + CHUNK])
        return
    if isinstance(source, str | Path):
        with open(source, "rb") as handle:
            yield from _chunks(handle)
        return
    while chunk := source.read(CHUNK):
        yield chunk


def stored_file_chunks(session: Session, file_id: int, vault: PhoneVault) -> Iterator[bytes]:
    """Stream a stored file's bytes back, chunk by chunk, decrypted."""
    return files.stored_file_chunks(session, file_id, vault)


def import_options(config: Mapping[str, Any], **given: Any) -> ImportOptions:
    """An upload's options from the app's settings (AREA_CODE, MAX_UPLOAD_MB, LIST_…)."""
    given.setdefault("area_code", config["AREA_CODE"])
    given.setdefault("max_bytes", int(config["MAX_UPLOAD_MB"]) << 20)
    given.setdefault("limits", sheet_limits(config))
    given.setdefault("helper_memory_mb", int(config["LIST_HELPER_MEMORY_MB"]))
    return ImportOptions(**given)


def sheet_limits(config: Mapping[str, Any]) -> SheetLimits:
    """What a client-list spreadsheet may hold, from the app's settings."""
    return SheetLimits.from_settings(config)


def import_client_list(
    *,
    session: Session,
    unit: Unit,
    wave: SurveyWave,
    content: Source,
    filename: str,
    vault: PhoneVault,
    options: ImportOptions | None = None,
    actor: User | None = None,
    progress: Callable[[int], None] | None = None,
) -> ClientList:
    """Parse ``content`` and store it as the unit's next list version (a draft).

    ``progress`` is told the rows checked so far after each batch.

    :raise ServiceError: if the file cannot be a client list (nothing is stored).
    :raise Conflict: if the unit's list is frozen by a drawn sample.
    """
    options = options or ImportOptions()
    require_open(wave)
    frozen = session.exec(
        select(ClientList.id).where(
            ClientList.unit_id == unit.id, ClientList.wave_id == wave.id, ClientList.frozen
        )
    ).first()
    if frozen is not None:
        raise Conflict("本轮样本已抽取，名单已冻结，不能再上传新版本")
    with files.sealed_temp_file(vault.temp_dir, "list") as spool:
        sha256, size = spool_upload(content, spool, filename=filename, max_bytes=options.max_bytes)
        # Parsing starts first (in a helper process for a big file) and goes
        # on while the raw file is stored.
        with _sealed(spool, filename, options, vault) as sealed, spool.open() as copy:
            stored = store_spooled(
                session, copy, sha256=sha256, size=size, filename=filename, vault=vault
            )
            client_list = _new_version(session, unit, wave, stored, actor)
            _store_rows(session, client_list, sealed, vault, progress)
    audit.record(
        session,
        user=actor,
        action="list.upload",
        object_type="client_list",
        object_id=client_list.id,
        unit=unit.code,
        version=client_list.version,
        file=stored.file_name,
        sha256=client_list.file_sha256,
        accepted=client_list.n_accepted,
        rejected=client_list.n_rejected,
    )
    return client_list


@contextmanager
def _sealed(
    spool: files.SealedTemp, filename: str, options: ImportOptions, vault: PhoneVault
) -> Iterator[SealedList]:
    """:func:`sealed_list` of the sealed copy, a file that cannot be a list a ServiceError."""
    try:
        with sealed_list(
            spool.name, filename=filename, options=options, hasher=vault.hasher, key=spool.key
        ) as sealed:
            yield sealed
    except ClientFileError as exc:
        raise ServiceError(str(exc), where=Where(file=filename)) from exc


@contextmanager
def _parsed(spool: BinaryIO, filename: str, options: ImportOptions) -> Iterator[ParsedFile]:
    """Parse a spooled upload; a file that cannot be a client list becomes a ServiceError."""
    try:
        with parse_with(spool, filename, options) as parsed:
            yield parsed
    except ClientFileError as exc:
        raise ServiceError(str(exc), where=Where(file=filename)) from exc


def _new_version(session, unit, wave, stored, actor) -> ClientList:
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
        file_name=stored.file_name,
        file_id=stored.id,
        file_sha256=stored.sha256,
        uploaded_by=actor.id if actor else None,
    )
    session.add(client_list)
    session.flush()
    return client_list


def _store_rows(
    session: Session,
    client_list: ClientList,
    sealed: SealedList,
    vault: PhoneVault,
    progress: Callable[[int], None] | None = None,
) -> None:
    client_list.encoding = sealed.encoding
    client_list.delimiter = sealed.delimiter
    sheet = sealed.sheet
    checked = 0
    with collector_paused(), batch_writer(session, client_list.id) as insert:
        for clients, issues in sealed.batches:
            sealed_names = vault.encrypt_texts(clients[NAME_AT], NAME)
            clients = (*clients[:NAME_AT], sealed_names, *clients[NAME_AT + 1 :])
            insert("client", CLIENT_COLUMNS, client_columns(client_list.id, clients, vault))
            issue_columns = sealed_issue_columns(client_list.id, issues, vault)
            if issue_columns:
                insert("list_row_issue", ISSUE_ROW_COLUMNS, issue_columns)
            checked += len(clients[0]) + len(issues)
            if progress is not None:
                progress(checked)
    totals = sealed.totals
    client_list.n_accepted, client_list.n_rejected = totals.accepted, totals.rejected
    client_list.n_skipped = totals.skipped
    signals = totals.signals
    client_list.signals = {**signals, "sheet": sheet} if sheet else signals
    session.add(client_list)
    session.flush()


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


def import_staff_numbers(
    *,
    session: Session,
    unit: Unit,
    wave: SurveyWave,
    content: Source,
    filename: str,
    vault: PhoneVault,
    options: ImportOptions | None = None,
    actor: User | None = None,
) -> int:
    """Replace the unit's staff numbers for the wave with a file's valid phones.

    Only the keyed hash is kept: enough to find staff on client lists.

    :raise ServiceError: if the file cannot be read as a list with phones.
    :raise Conflict: if the wave's results are closed.
    """
    options = options or ImportOptions()
    require_open(wave)
    with files.sealed_temp_file(vault.temp_dir, "staff") as spool:
        for chunk in _chunks(content):
            spool.write(chunk)
        spool.finish()
        with spool.open() as copy, _parsed(copy, filename, options) as parsed:
            hashes = {
                vault.lookup_hash(r.phone_e164) for r in parsed.rows if r.status == "accepted"
            }
    session.execute(
        StaffNumber.__table__.delete().where(
            StaffNumber.unit_id == unit.id, StaffNumber.wave_id == wave.id
        )
    )
    flush_batches(
        session,
        StaffNumber,
        [{"unit_id": unit.id, "wave_id": wave.id, "phone_hash": h} for h in sorted(hashes)],
    )
    audit.record(
        session,
        user=actor,
        action="staff.upload",
        object_type="unit",
        object_id=unit.id,
        count=len(hashes),
        file=filename,
    )
    return len(hashes)
