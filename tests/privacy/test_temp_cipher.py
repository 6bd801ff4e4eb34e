"""A temporary copy's own encryption: sealed as written, read in clear, cut or changed refused."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from survey_service.privacy import files, temp_cipher
from survey_service.privacy.temp_cipher import CHUNK, TAG, SealingWriter, new_key, open_sealed


def _seal(path, data: bytes, key: bytes, pieces: int = 7) -> None:
    with open(path, "wb") as handle:
        writer = SealingWriter(handle, key)
        step = max(1, len(data) // pieces)
        for start in range(0, len(data), step):
            writer.write(data[start : start + step])
        writer.finish()


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 5])
def test_round_trip_at_every_chunk_boundary(tmp_path, size):
    """Does every size come back byte for byte, the file holding one tag per chunk more?"""
    data = os.urandom(size)
    key = new_key()
    path = tmp_path / "copy"
    _seal(path, data, key)
    chunks = max(1, -(-size // CHUNK))
    assert path.stat().st_size == size + TAG * chunks
    assert temp_cipher.plaintext_size(path.stat().st_size) == size
    with open_sealed(path, key) as reader:
        assert reader.read() == data
        assert reader.seek(0, io.SEEK_END) == size


def test_seeks_and_reads_anywhere(tmp_path):
    """Are random reads across chunks what the plaintext holds there (zipfile reads so)?"""
    data = bytes(random.Random(3).randbytes(5 * CHUNK + 123))
    key = new_key()
    path = tmp_path / "copy"
    _seal(path, data, key, pieces=13)
    rng = random.Random(4)
    with open_sealed(path, key) as reader:
        for _ in range(200):
            start = rng.randrange(len(data) + 10)
            length = rng.randrange(3 * CHUNK)
            reader.seek(start)
            assert reader.read(length) == data[start : start + length]
        reader.seek(-10, io.SEEK_END)
        assert reader.read() == data[-10:]


def test_no_plaintext_reaches_the_file_and_a_second_copy_differs(tmp_path):
    """Is no run of the plaintext on disk, even the unfinished tail, and is each key fresh?"""
    data = ("张建国,13812345678,户籍办理\n" * 5000).encode()
    first, second = tmp_path / "a", tmp_path / "b"
    with open(first, "wb") as handle:
        writer = SealingWriter(handle, new_key())
        writer.write(data)
        handle.flush()
        assert first.stat().st_size == CHUNK * (len(data) // CHUNK) + TAG * (len(data) // CHUNK)
        writer.finish()
    _seal(second, data, new_key())
    for path in (first, second):
        raw = path.read_bytes()
        assert b"13812345678" not in raw and "张建国".encode() not in raw
    assert first.read_bytes()[:64] != second.read_bytes()[:64]


def test_a_copy_cut_changed_or_under_another_key_is_refused(tmp_path):
    """Is a copy cut at a chunk boundary, a flipped bit, or the wrong key an InvalidTag?"""
    data = os.urandom(3 * CHUNK + 100)
    key = new_key()
    path = tmp_path / "copy"
    _seal(path, data, key)
    sealed = path.read_bytes()
    cut = tmp_path / "cut"
    cut.write_bytes(sealed[: 2 * (CHUNK + TAG)])  # two whole chunks: the second is not the last
    with open_sealed(cut, key) as reader, pytest.raises(InvalidTag):
        reader.read()
    flipped = tmp_path / "flipped"
    flipped.write_bytes(sealed[:100] + bytes([sealed[100] ^ 1]) + sealed[101:])
    with open_sealed(flipped, key) as reader, pytest.raises(InvalidTag):
        reader.read(10)
    with open_sealed(path, new_key()) as reader, pytest.raises(InvalidTag):
        reader.read(10)
    (tmp_path / "short").write_bytes(b"x" * (TAG - 1))
    with pytest.raises(ValueError, match="at least one chunk"):
        open_sealed(tmp_path / "short", key)


def test_sealed_temp_file_is_0600_sealed_and_removed(tmp_path):
    """Does the instance folder's temp copy hold ciphertext, read back whole, and go after?"""
    data = ("李秀英,13987654321\n" * 9000).encode()
    with files.sealed_temp_file(tmp_path, "list") as spool:
        with pytest.raises(ValueError, match="finish"):
            spool.open()
        spool.write(data)
        spool.finish()
        assert spool.size == len(data)
        assert os.stat(spool.name).st_mode & 0o777 == 0o600
        assert b"13987654321" not in Path(spool.name).read_bytes()
        with spool.open() as reader:
            assert reader.read() == data
    assert os.listdir(tmp_path) == []
