"""Temporary copies of an upload, encrypted at rest with a key of their own.

While an upload is parsed it lives in a file of the instance folder's
``tmp/`` (see :mod:`survey_service.privacy.files`). That file holds
ciphertext only: each import draws a fresh 256-bit key (never the data key,
never written anywhere), and the bytes are sealed while they are written,
in chunks of :data:`CHUNK` bytes, each with AES-256-GCM under a counter
nonce (the chunk's number; unique because the key is used for one file
only). The associated data marks the last chunk, so a copy cut short at a
chunk boundary is refused like a changed one. Whoever reads the copy (this
process, or the helper process that parses big lists, which gets the key on
its request pipe) decrypts as it reads, with random access by chunk.

Pure: the standard library and ``cryptography``; the helper process imports it.
"""

from __future__ import annotations

import io
import os
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

#: Plaintext bytes per sealed chunk; on disk each chunk is TAG bytes longer.
CHUNK = 1 << 16
TAG = 16
_SEALED = CHUNK + TAG
_MORE, _LAST = b"temp-v1:more", b"temp-v1:last"


def new_key() -> bytes:
    """A fresh key for one temporary copy."""
    return AESGCM.generate_key(bit_length=256)


def _nonce(seq: int) -> bytes:
    return seq.to_bytes(12, "big")


class SealingWriter:
    """Write plaintext to ``handle`` as sealed chunks; :meth:`finish` seals the last one.

    At most one chunk of plaintext is ever held, in memory; nothing in clear
    reaches the file. The last chunk holds 0 to CHUNK bytes (0 for an empty
    file), every other chunk exactly CHUNK.
    """

    def __init__(self, handle: BinaryIO, key: bytes):
        self._handle = handle
        self.key = key
        self._aead = AESGCM(key)
        self._buffer = bytearray()
        self._seq = 0
        self.size = 0
        self.finished = False

    def write(self, data: bytes) -> int:
        if self.finished:
            raise ValueError("the temporary copy is already finished")
        self._buffer += data
        self.size += len(data)
        # Keep the tail back: the last chunk is sealed as the last one.
        while len(self._buffer) > CHUNK:
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _seal(self, chunk: bytes, *, last: bool) -> None:
        nonce = _nonce(self._seq)
        self._handle.write(self._aead.encrypt(nonce, chunk, _LAST if last else _MORE))
        self._seq += 1

    def finish(self) -> None:
        """Seal what is left as the last chunk and flush the file."""
        if not self.finished:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
            self.finished = True
        self._handle.flush()


def plaintext_size(sealed_size: int) -> int:
    """The plaintext size of a sealed copy of ``sealed_size`` bytes."""
    if sealed_size < TAG:
        raise ValueError("a sealed temporary copy holds at least one chunk")
    chunks = -(-sealed_size // _SEALED)
    return sealed_size - TAG * chunks


class _OpenedRaw(io.RawIOBase):
    """A sealed copy read back in clear: seekable, decrypting one chunk at a time.

    :raise cryptography.exceptions.InvalidTag: on reading a chunk that was
        changed, moved, or that is not the last one the file claims.
    """

    def __init__(self, source: str | os.PathLike[str] | BinaryIO, key: bytes):
        super().__init__()
        if isinstance(source, str | os.PathLike):
            self._file = open(source, "rb")  # noqa: SIM115 - closed by close()
        else:
            self._file = source  # an open file, now this reader's
        sealed_size = os.fstat(self._file.fileno()).st_size
        try:
            self.size = plaintext_size(sealed_size)
        except ValueError:
            self._file.close()
            raise
        self._chunks = max(1, -(-sealed_size // _SEALED))
        self._aead = AESGCM(key)
        self._pos = 0
        self._cached: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def _chunk(self, seq: int) -> bytes:
        if self._cached is not None and self._cached[0] == seq:
            return self._cached[1]
        self._file.seek(seq * _SEALED)
        sealed = self._file.read(_SEALED)
        last = seq == self._chunks - 1
        plain = self._aead.decrypt(_nonce(seq), sealed, _LAST if last else _MORE)
        self._cached = (seq, plain)
        return plain

    def readinto(self, b) -> int:
        if self._pos >= self.size:
            return 0
        view = memoryview(b).cast("B")
        done = 0
        while done < len(view) and self._pos < self.size:
            seq, offset = divmod(self._pos, CHUNK)
            piece = self._chunk(seq)[offset : offset + len(view) - done]
            view[done : done + len(piece)] = piece
            done += len(piece)
            self._pos += len(piece)
        return done

    def close(self) -> None:
        if not self.closed:
            self._file.close()
            self._cached = None
        super().close()


def open_sealed(source: str | os.PathLike[str] | BinaryIO, key: bytes) -> io.BufferedReader:
    """A sealed temporary copy (a path, or a file open for reading, which it closes)
    opened for reading in clear (seekable, buffered)."""
    return io.BufferedReader(_OpenedRaw(source, key), buffer_size=CHUNK)
