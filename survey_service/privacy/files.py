"""Uploaded files at rest, and the temporary copies made while they are read.

A stored file's chunks are sealed one by one with the data key's file
sub-key (:meth:`PhoneVault.encrypt_chunk`), so the database never holds a
list's names and numbers as sent. While an upload is parsed it lives in a
temporary file: in the instance folder's ``tmp/`` (mode 0700), created 0600,
named after the process that made it, and removed when the import ends,
whichever way it ends. A process killed outright cannot remove its own, so
:func:`sweep_temp_dir` (run by ``create_app``) removes what processes no
longer running left behind. An upload's copy (:func:`sealed_temp_file`) is
ciphertext besides, under a key of its own that lives only in memory (see
:mod:`survey_service.privacy.temp_cipher`): what a crash leaves cannot be read.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from survey_service.privacy import temp_cipher

if TYPE_CHECKING:
    from sqlmodel import Session

    from survey_service.models import StoredFile
    from survey_service.privacy.vault import PhoneVault

CHUNK = 1 << 20
ENCRYPTION = "aes-gcm-v1"
PURGED = "purged"
TEMP_PREFIX = "survey-tmp-"
# The time this process started (near enough: this module loads with the app).
STARTED = time.time()


def secure_instance(vault: PhoneVault, instance_path: str) -> None:
    """Make the instance folder owner-only; set up the temp folder.

    The instance folder (keys, SQLite database, temporary copies) becomes
    0700; then the temp folder is given to ``vault`` and swept of what
    crashed processes left. An SQLite database file is made 0600 (and its
    write-ahead log and shared-memory files, which take its mode) by the
    engine, before SQLite opens it (:func:`survey_service.db.private_sqlite_file`).
    """
    Path(instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(instance_path, 0o700)
    vault.temp_dir = str(temp_dir_for(instance_path))
    sweep_temp_dir(vault.temp_dir)


def temp_dir_for(instance_path: str | os.PathLike[str]) -> Path:
    """The instance folder's ``tmp/``, created owner-only (0700)."""
    path = Path(instance_path) / "tmp"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)  # mkdir's mode is cut by the umask, and an old folder keeps its own
    return path


@contextmanager
def temp_file(directory: str | os.PathLike[str] | None, label: str) -> Iterator[BinaryIO]:
    """A named temporary file, mode 0600, removed on leaving the block, an error included.

    ``directory`` None falls back to the system's temporary folder (code
    outside an app: benchmarks, scripts); the app passes its ``tmp/``.
    """
    fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-{label}-", dir=directory)
    try:
        os.close(fd)
        with open(name, "w+b") as handle:  # reopened by name: ``handle.name`` is the path
            yield handle
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


class SealedTemp:
    """An upload's temporary copy: written in clear, sealed on the way to disk.

    ``name`` is the file's path and ``key`` its own key (for a helper process
    to read it with :func:`~survey_service.privacy.temp_cipher.open_sealed`);
    write the bytes, :meth:`finish`, then :meth:`open` readers in clear.
    """

    def __init__(self, handle: BinaryIO):
        self.name = handle.name
        self.key = temp_cipher.new_key()
        self._writer = temp_cipher.SealingWriter(handle, self.key)

    @property
    def size(self) -> int:
        return self._writer.size

    def write(self, data: bytes) -> int:
        return self._writer.write(data)

    def flush(self) -> None:
        """Nothing to do before :meth:`finish` (the last chunk waits for it)."""

    def finish(self) -> None:
        self._writer.finish()

    def open(self) -> BinaryIO:
        """A reader of the plaintext (seekable); the copy must be finished."""
        if not self._writer.finished:
            raise ValueError("finish the temporary copy before reading it")
        return temp_cipher.open_sealed(self.name, self.key)


@contextmanager
def sealed_temp_file(directory: str | os.PathLike[str] | None, label: str) -> Iterator[SealedTemp]:
    """:func:`temp_file` holding ciphertext only, under a fresh key kept in memory."""
    with temp_file(directory, label) as handle:
        yield SealedTemp(handle)


class UploadSpool(io.RawIOBase):
    """Where the web server receives an uploaded file: sealed as it arrives, read in clear.

    The stream a form parser writes a file part into, then seeks back to 0
    and reads (werkzeug's default spools to the system's ``/tmp`` in clear
    from 500 KB on). This one is a file of ``directory`` (the instance
    folder's ``tmp/``), unlinked as soon as it is made, so nothing is left
    whatever happens, and sealed under a key held in memory only; the first
    seek or read finishes it, and from then on it reads the plaintext.
    """

    def __init__(self, directory: str | os.PathLike[str] | None):
        super().__init__()
        fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-upload-", dir=directory)
        os.unlink(name)
        self._handle = os.fdopen(fd, "w+b")
        self._writer: temp_cipher.SealingWriter | None = temp_cipher.SealingWriter(
            self._handle, temp_cipher.new_key()
        )
        self._reader: BinaryIO | None = None

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return self._reader is None

    def seekable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self._writer is None:
            raise io.UnsupportedOperation("the upload was already read")
        return self._writer.write(bytes(data))

    def _opened(self) -> BinaryIO:
        if self._reader is None:
            writer, self._writer = self._writer, None
            writer.finish()
            self._reader = temp_cipher.open_sealed(self._handle, writer.key)
        return self._reader

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._opened().seek(offset, whence)

    def tell(self) -> int:
        return self._reader.tell() if self._reader is not None else self._writer.size

    def readinto(self, b) -> int:
        return self._opened().readinto(b)

    def read(self, size: int = -1) -> bytes:
        return self._opened().read(size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._opened().readline(size)

    def close(self) -> None:
        if not self.closed:
            if self._reader is not None:
                self._reader.close()
            self._handle.close()
        super().close()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def sweep_temp_dir(directory: str | os.PathLike[str], *, started: float | None = None) -> list[str]:
    """Remove temporary files left by processes that ended without removing them.

    A file goes if the process named in it no longer runs, or is this one
    and the file is older than this process (an earlier process had the
    same id), or if it is older than a day whatever its process (an id
    reused). Files of other running processes (another web worker busy with
    an import) stay. ``started`` defaults to this process's start. Return
    the names removed.
    """
    started = STARTED if started is None else started
    removed = []
    now = time.time()
    for path in Path(directory).glob(f"{TEMP_PREFIX}*"):
        try:
            mtime = path.stat().st_mtime
            pid = int(path.name[len(TEMP_PREFIX) :].split("-", 1)[0])
        except (OSError, ValueError):
            continue
        mine = pid == os.getpid()
        left = (mine and mtime < started) or (not mine and not _pid_alive(pid))
        if left or mtime < now - 86400:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path.name)
    return sorted(removed)


def chunk_count(size: int) -> int:
    return -(-size // CHUNK)


def store_file(
    session: Session,
    spool: BinaryIO,
    *,
    sha256: str,
    size: int,
    filename: str,
    vault: PhoneVault,
) -> StoredFile:
    """Keep an uploaded file, read back from ``spool``, in sealed chunks of 1 MiB."""
    from sqlalchemy import insert

    from survey_service.models import StoredFile, StoredFileChunk

    stored = StoredFile(sha256=sha256, size=size, file_name=filename[:255], encryption=ENCRYPTION)
    session.add(stored)
    session.flush()
    count = chunk_count(size)
    spool.seek(0)
    seq = 0
    while chunk := spool.read(CHUNK):
        sealed = vault.encrypt_chunk(stored.id, seq, count, chunk)
        session.execute(
            insert(StoredFileChunk), [{"file_id": stored.id, "seq": seq, "data": sealed}]
        )
        seq += 1
    spool.seek(0)
    if seq != count:
        raise RuntimeError(f"spooled upload has {seq} chunks, its size says {count}")
    return stored


def stored_file_chunks(session: Session, file_id: int, vault: PhoneVault) -> Iterator[bytes]:
    """Stream a stored file's bytes back, chunk by chunk, decrypted.

    :raise ValueError: if the file was purged or a chunk is missing.
    :raise cryptography.exceptions.InvalidTag: if a chunk was changed or moved.
    """
    from sqlmodel import select

    from survey_service.models import StoredFile, StoredFileChunk

    stored = session.get(StoredFile, file_id)
    if stored is None:
        raise ValueError(f"no stored file {file_id}")
    if stored.encryption == PURGED:
        raise ValueError(f"stored file {file_id} was deleted by the retention purge")
    count = chunk_count(stored.size)
    for seq in range(count):
        chunk = session.exec(
            select(StoredFileChunk.data).where(
                StoredFileChunk.file_id == file_id, StoredFileChunk.seq == seq
            )
        ).first()
        if chunk is None:
            raise ValueError(f"stored file {file_id} lacks chunk {seq} of {count}")
        yield (
            chunk if stored.encryption is None else vault.decrypt_chunk(file_id, seq, count, chunk)
        )
