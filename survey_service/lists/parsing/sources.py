"""Byte sources, text encodings, delimiters and file formats.

A source (path, binary file object or bytes) is read as a 1 MiB prefix (the
sample the encoding and the delimiter are judged on) and the rest of the
stream, which is read in blocks while the rows are iterated.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import tempfile
from collections.abc import Iterator
from typing import IO

from survey_service.lists.parsing.cells import _cell_text
from survey_service.lists.parsing.errors import ClientFileError, _fail
from survey_service.lists.parsing.headers import HEADER_SCAN_ROWS, _find_header
from survey_service.lists.parsing.workbook import too_complex as _too_complex

#: Bytes sampled for encoding and delimiter detection.
SAMPLE_BYTES = 1 << 20


#: Control characters that no list cell may hold (tab, line feed and carriage return may).
CONTROL_RX = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The same as bytes; bytes.translate deleting them is about five times quicker than a regex.
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def _has_control(data: bytes) -> bool:
    return len(data.translate(None, _CONTROL_BYTES)) != len(data)


class _Source(io.RawIOBase):
    """``prefix`` followed by the rest of ``f``; never closes ``f`` unless owned.

    ``controls[0]`` turns True once a block read holds a control character
    (a byte of 0x00-0x1f but tab, LF, CR, or 0x7f: never part of a UTF-8 or
    GB18030 character), so that only then the rows are checked for them.
    """

    def __init__(self, prefix: bytes, f: IO[bytes] | None, owned: bool):
        super().__init__()
        self._prefix = memoryview(prefix)
        self._pos = 0
        self._f = f
        self._owned = owned
        self.controls = [_has_control(prefix)]

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        rest = len(self._prefix) - self._pos
        if rest > 0:
            n = min(rest, len(b))
            b[:n] = self._prefix[self._pos : self._pos + n]
            self._pos += n
            return n
        if self._f is None:
            return 0
        data = self._f.read(len(b))
        if not data:
            return 0
        if not self.controls[0] and _has_control(data):
            self.controls[0] = True
        n = len(data)
        b[:n] = data
        return n

    def close(self) -> None:
        if self._owned and self._f is not None:
            self._f.close()
        self._f = None
        super().close()


_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _open(source, max_bytes: int | None) -> tuple[bytes, IO[bytes] | None, bool, str | None]:
    """-> (prefix, rest-stream, owned, path)."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if max_bytes is not None and len(data) > max_bytes:
            raise _too_large(len(data), max_bytes)
        return data, None, False, None
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        size = os.path.getsize(path)
        if max_bytes is not None and size > max_bytes:
            raise _too_large(size, max_bytes)
        f = open(path, "rb")  # noqa: SIM115 - closed by the row iterator / ParsedFile.close
        try:
            prefix = f.read(SAMPLE_BYTES)
        except BaseException:
            f.close()
            raise
        return prefix, f, True, path
    if isinstance(source, io.TextIOBase):
        raise TypeError("source must be a path or a *binary* file object")
    f = source
    if max_bytes is not None:
        seekable = False
        try:
            seekable = f.seekable()
        except Exception:
            seekable = False
        if seekable:
            pos = f.tell()
            end = f.seek(0, io.SEEK_END)
            f.seek(pos)
            if end - pos > max_bytes:
                raise _too_large(end - pos, max_bytes)
        else:
            spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115
            total = 0
            while chunk := f.read(1 << 20):
                total += len(chunk)
                if total > max_bytes:
                    spool.close()
                    raise _too_large(total, max_bytes, at_least=True)
                spool.write(chunk)
            spool.seek(0)
            prefix = spool.read(SAMPLE_BYTES)
            return prefix, spool, True, None
    prefix = f.read(SAMPLE_BYTES)
    if isinstance(prefix, str):
        raise TypeError("source must be a path or a *binary* file object")
    return prefix, f, False, None


def _too_large(size: int, limit: int, at_least: bool = False) -> ClientFileError:
    mb = size / 1e6
    over = "超过 " if at_least else ""
    lim = limit / 1e6
    detail = f"{over}{mb:.1f} MB，上限 {lim:.1f} MB / {mb:.1f} MB > {lim:.1f} MB"
    return _fail("too_large", "文件 / file", detail)


def _detect_encoding(prefix: bytes, at_eof: bool) -> tuple[str, int]:
    """-> (codec name to report and use, BOM length)."""
    if prefix.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", 3
    if prefix.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32", 4
    if prefix.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", 2
    sample = prefix[:4096]
    if b"\x00" in sample:
        even = sample[0::2].count(0)
        odd = sample[1::2].count(0)
        half = len(sample) / 2
        if odd > 0.3 * half and even < 0.05 * half:
            return "utf-16-le", 0
        if even > 0.3 * half and odd < 0.05 * half:
            return "utf-16-be", 0
        if even + odd > max(2, len(sample) // 200):  # a few NULs: text, their rows rejected
            raise _fail("binary", "文件 / file")
    for enc in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(enc)("strict").decode(prefix, final=at_eof)
        except UnicodeDecodeError:
            continue
        return enc, 0
    raise _fail("binary", "文件 / file", "无法识别的文字编码 / unknown text encoding")


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    bad = sum(1 for ch in text[:20000] if (ch < " " and ch not in "\t\r\n") or ch == "\x7f")
    return bad > max(2, len(text[:20000]) // 200)


_DELIMS = (",", "\t", ";", "|")


def _choose_delimiter(sample: str, explicit: str | None) -> tuple[str, list[list[str]]]:
    """-> (delimiter, first rows parsed with it) judged by header words,
    then by a consistent number of cells per row."""
    cut = sample.rfind("\n")
    complete = sample[: cut + 1] if cut >= 0 else sample
    cands = (explicit,) if explicit else _DELIMS
    best = None
    for order, d in enumerate(cands):
        rows = []
        try:
            for k, r in enumerate(csv.reader(io.StringIO(complete), delimiter=d)):
                rows.append(r)
                if k >= HEADER_SCAN_ROWS + 5:
                    break
        except csv.Error:
            continue
        lay = _find_header(rows[:HEADER_SCAN_ROWS])
        hscore = lay.score if lay else (0, 0)
        widths = [len(r) for r in rows if any(c.strip() for c in r)]
        mode = max(set(widths), key=widths.count) if widths else 0
        consistency = widths.count(mode) if mode > 1 else 0
        key = (hscore, consistency, -order)
        if best is None or key > best[0]:
            best = (key, d, rows)
    if best is None:
        raise _fail("malformed_csv", "文件开头 / start of file")
    return best[1], best[2]


def _sheet_rows(sheet, max_chars: int | None = None) -> Iterator[list[str]]:
    """A loaded sheet's rows as text; a cell longer than ``max_chars`` refuses the file."""
    off = sheet.start[1] if sheet.start else 0
    pad = [""] * off
    ct = _cell_text
    row0 = sheet.start[0] if sheet.start else 0
    for i, row in enumerate(sheet.iter_rows()):
        cells = [c if c.__class__ is str else ct(c) for c in row]
        if max_chars and max(map(len, cells), default=0) > max_chars:
            err = _too_complex(f"有单元格超过 {max_chars} 个字符", f"第{row0 + i + 1}行")
            raise err
        yield pad + cells if off else cells


def _sniff_html(prefix: bytes) -> bool:
    head = prefix[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<", b"mime-version")) and (
        b"<table" in prefix[:65536].lower() or b"<html" in head or b"mime-version" in head
    )


def _spreadsheet_format(prefix: bytes, filename: str) -> str:
    ext = os.path.splitext(filename or "")[1].lower().lstrip(".")
    if prefix.startswith(_OLE):
        return "xls"
    if ext in ("xlsb", "ods"):
        return ext
    return "xlsx"
