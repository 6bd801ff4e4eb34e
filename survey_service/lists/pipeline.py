"""Where a list is parsed and sealed: in this process, or in a helper process.

A big file is parsed and sealed in a helper process (``python -m
survey_service.lists.pipeline``) while the importing process encrypts and
writes the rows it sends, on a second core. The helper gets the lookup-hash
sub-key, never the data key: it cannot decrypt. The masks and hashes go with
whichever process has time: the helper makes them while its earlier batches
still wait unread in the pipe (the writer is behind), and leaves them to the
writer when the writer has read everything and waits. Small files, the usual
upload, stay in the importing process: a helper costs about a quarter of a
second to start. Both ways run the same functions,
:func:`~survey_service.lists.parsing.parse_client_file`,
:func:`~survey_service.lists.sealing.seal_rows` and
:func:`~survey_service.lists.sealing.client_columns`, so they store the same rows.

The file is normally an upload's temporary copy, encrypted at rest under a
key of its own (:mod:`survey_service.privacy.temp_cipher`); the key goes to
the helper in its request, on the pipe (never in its arguments or
environment), and both processes decrypt as they read: a text file as a
stream, a spreadsheet into memory (uploads are limited to 64 MB), read from
there by ``python_calamine``.

The protocol: the parent writes one pickled request on the helper's stdin
(the file's path, the temporary copy's key or None for a file in clear, the
filename, the :class:`ImportOptions` and the lookup-hash sub-key); the
helper answers on stdout with pickled tuples: ``("file", encoding,
delimiter)``, then ``("rows", packed client columns, issue rows)`` per
batch, then ``("done", accepted, rejected, skipped, signals)``; or
``("refused", message, where, code)`` for a file that cannot be a client
list, ``("failed", traceback)`` for anything else.

Pure like the parser and the sealing: no models, no database, no Flask.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pickle
import subprocess
import sys
import traceback
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from survey_service.lists.columns import pack_column, unpack_column
from survey_service.lists.parsing import ClientFileError
from survey_service.lists.parsing.sources import _OLE, _ZIP
from survey_service.lists.parsing.workbook import too_complex
from survey_service.lists.sealing import (
    BATCH,
    Batch,
    ImportOptions,
    SealTotals,
    parse_with,
    seal_rows,
)
from survey_service.privacy.temp_cipher import open_sealed
from survey_service.privacy.vault import LookupHasher

try:
    import fcntl
except ImportError:  # not on Linux or macOS: the pipe keeps its default size
    fcntl = None
try:
    import resource
except ImportError:  # not on Unix: the helper runs without a memory limit
    resource = None

log = logging.getLogger(__name__)

# Files from this size on are parsed in a helper process (about 75,000 rows of CSV).
PARALLEL_MIN_BYTES = 4 << 20


class SealedList:
    """A list being parsed: what the parser found, then its rows in batches, then the totals.

    ``encoding``, ``delimiter`` and ``sheet`` wait for the parser to get past
    the header (the helper process may still be starting); read them first.
    """

    def __init__(
        self,
        header: Callable[[], tuple[str, str | None, str | None]],
        batches: Iterator[Batch],
        totals: SealTotals,
    ):
        self._header = header
        self.batches = batches
        self.totals = totals

    @property
    def encoding(self) -> str:
        return self._header()[0]

    @property
    def delimiter(self) -> str | None:
        return self._header()[1]

    @property
    def sheet(self) -> str | None:
        """The sheet the list was read from (spreadsheets), else None."""
        return self._header()[2]


def could_be_large(path: str | Path, key: bytes | None = None) -> bool:
    """Whether a file is parsed in the helper process.

    A file of PARALLEL_MIN_BYTES or more; a zip workbook that inflates to that
    much (or whose parts cannot be listed); any other spreadsheet (xls, whose
    content the checks before reading cannot see). ``key``: the file is a
    sealed temporary copy (its plaintext is judged).
    """
    with _opened(path, key) as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(0)
        if size >= PARALLEL_MIN_BYTES:
            return True
        magic = handle.read(8)
        if magic.startswith(_OLE):
            return True
        if not magic.startswith(_ZIP):
            return False
        handle.seek(0)
        try:
            with zipfile.ZipFile(handle) as zf:
                names = zf.namelist()
                inflated = sum(info.file_size for info in zf.infolist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return False  # the parser refuses it as it is
    xlsb_or_ods = "content.xml" in names or any(n.endswith(".bin") for n in names)
    return inflated >= PARALLEL_MIN_BYTES or xlsb_or_ods


def _opened(path: str | Path, key: bytes | None) -> IO[bytes]:
    """The file at ``path`` in clear: a sealed temporary copy decrypted as it is read."""
    return open(path, "rb") if key is None else open_sealed(path, key)


@contextmanager
def _parse_file(path: str | Path, key: bytes | None, filename: str, options: ImportOptions):
    """:func:`parse_with` of a file in clear (by its path) or of a sealed copy."""
    if key is None:
        with parse_with(path, filename, options, BATCH) as parsed:
            yield parsed
        return
    with open_sealed(path, key) as stream, parse_with(stream, filename, options, BATCH) as parsed:
        yield parsed


def limit_address_space(limit: int) -> None:
    """Cap this process's address space (Linux: RLIMIT_AS); a bad file then fails here."""
    if resource is not None:
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


@contextmanager
def sealed_list(
    path: str | Path,
    *,
    filename: str,
    options: ImportOptions,
    hasher: LookupHasher | None = None,
    key: bytes | None = None,
) -> Iterator[SealedList]:
    """Parse the file at ``path`` and seal its rows, here or in a helper process.

    ``hasher`` lets a helper process hash phones when it is ahead of the
    writer (without it, :func:`client_columns` hashes them all). ``key``: the
    file is a sealed temporary copy under that key (a helper gets the key on
    its pipe); None: a file in clear.

    :raise ClientFileError: if the file cannot be a client list (raised on
        entry, or while the batches are read for an error found further on).
    """
    parallel = options.parallel
    if parallel is None:
        parallel = could_be_large(path, key)
    if not parallel:
        with _parse_file(path, key, filename, options) as parsed:
            totals = SealTotals()
            batches = seal_rows(parsed.rows, totals)
            yield SealedList(
                lambda: (parsed.encoding, parsed.delimiter, parsed.sheet), batches, totals
            )
        return
    # A plain child process running this module (``python -m``), not
    # multiprocessing: nothing of the parent's ``__main__`` is run again. It
    # reads its request (the file's path and its temporary key, the options
    # and the lookup-hash sub-key, never the data key) on stdin and answers
    # on stdout.
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (root, env.get("PYTHONPATH"))))
    helper = subprocess.Popen(
        [sys.executable, "-m", __name__],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        cwd=root,
    )
    inbox = _Inbox(helper.stdout)
    try:
        inbox.start()
        request = (str(Path(path).resolve()), key, filename, options, hasher and hasher.key)
        helper.stdin.write(pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
        helper.stdin.close()
        totals = SealTotals()
        yield SealedList(inbox.header, _received_batches(inbox, totals), totals)
    finally:
        if helper.poll() is None:
            helper.kill()
        inbox.close()
        helper.stdout.close()
        helper.wait()


class _Inbox:
    """Messages from the helper, read off its pipe when this process wants one.

    The pipe is widened to 1 MiB (about two batches) where Linux allows it,
    so that the helper parses ahead while this process inserts. A thread
    reading the pipe into a queue did the same, but cost this process more:
    SQLite hands back the GIL after every row, and the thread took it.
    """

    PIPE_BYTES = 1 << 20

    def __init__(self, stream: IO[bytes]):
        self._stream = stream
        self._header: tuple[str, str | None, str | None] | None = None
        self._ended = False

    def start(self) -> None:
        set_pipe_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl else None
        if set_pipe_size is not None:
            with contextlib.suppress(OSError):  # the default pipe works, only slower
                fcntl.fcntl(self._stream.fileno(), set_pipe_size, self.PIPE_BYTES)

    def header(self) -> tuple[str, str | None, str | None]:
        """The encoding, delimiter and sheet found: the helper's first message."""
        if self._header is None:
            encoding, delimiter, sheet = self.receive("file")
            self._header = (encoding, delimiter, sheet)
        return self._header

    def _next(self) -> tuple:
        if self._ended:
            return ("ended",)
        try:
            message = pickle.load(self._stream)
        except EOFError:
            message = ("ended",)
        except Exception as exc:  # a helper that died mid-message
            message = ("broken", repr(exc))
        if message[0] in ("done", "refused", "failed", "ended", "broken"):
            self._ended = True
        return message

    def receive(self, expected: str | None = None) -> Any:
        message = self._next()
        kind = message[0]
        if kind == "refused":
            message_text, where, code = message[1:]
            raise ClientFileError(message_text, where, code=code)
        if kind == "failed":
            raise RuntimeError(f"client-list helper process failed:\n{message[1]}")
        if kind in ("ended", "broken"):
            # Killed (out of memory, most likely: the address-space limit) or died.
            detail = f": {message[1]}" if kind == "broken" else ""
            log.warning("client-list helper process ended without an answer%s", detail)
            raise too_complex("解析进程中途退出（可能超出内存上限）", "文件")
        if expected is None:
            return message
        if kind != expected:
            raise RuntimeError(f"client-list helper process sent {kind!r}, not {expected!r}")
        return message[1:]

    def close(self) -> None:
        self._ended = True


def _received_batches(inbox: _Inbox, totals: SealTotals) -> Iterator[Batch]:
    inbox.header()  # the first message, whether or not the caller asked for it
    while True:
        kind, *payload = inbox.receive()
        if kind == "done":
            totals.accepted, totals.rejected, totals.skipped, totals.signals = payload
            return
        yield tuple(unpack_column(c) for c in payload[0]), payload[1]


def _unread_bytes(pipe: IO[bytes]) -> int:
    """Bytes written to ``pipe`` and not yet read (1, "busy", where unknown)."""
    try:
        import termios

        answer = fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0\0\0\0")
    except (AttributeError, ImportError, OSError, ValueError):
        return 1
    return int.from_bytes(answer, sys.byteorder)


def _helper_main(stdin: IO[bytes], out: IO[bytes]) -> None:
    """The helper process: parse, seal, send batches; errors go back as messages."""

    def send(message: tuple) -> None:
        pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()  # into the pipe now: what is unread there tells who is waiting

    def writer_is_busy() -> bool:
        """True while batches wait unread in the pipe: this process is ahead,
        so it masks and hashes; when the writer has read everything (it waits
        for this process), both are left to it."""
        return _unread_bytes(out) > 0

    options = None
    filename = ""
    try:
        path, key, filename, options, lookup_key = pickle.load(stdin)
        hasher = LookupHasher(lookup_key) if lookup_key else None
        if options.helper_memory_mb:
            limit_address_space(options.helper_memory_mb << 20)
        with _parse_file(path, key, filename, options) as parsed:
            send(("file", parsed.encoding, parsed.delimiter, parsed.sheet))
            totals = SealTotals()
            for clients, issues in seal_rows(
                parsed.rows, totals, hasher=hasher, help_writer=writer_is_busy
            ):
                send(("rows", [pack_column(c) for c in clients], issues))
            # Plain values only: this module is __main__ here, its classes would not unpickle.
            send(("done", totals.accepted, totals.rejected, totals.skipped, totals.signals))
    except ClientFileError as exc:
        send(("refused", exc.message, exc.where, exc.code))
    except MemoryError:
        gc.collect()  # what the parse held is garbage now: room for the answer
        mb = options.helper_memory_mb if options is not None else None
        limit = f"{mb} MB" if mb else "可用内存"
        detail = f"解析时超出内存上限 {limit}"
        if not str(filename).lower().endswith((".xlsx", ".csv", ".txt")):
            # Only xlsx sheets are read cell by cell; these are read as a whole rectangle.
            detail += "（xls、xlsb、ods 表格按整个已用区域读取，空白很多时请另存为 xlsx）"
        exc = too_complex(detail, "文件")
        send(("refused", exc.message, exc.where, exc.code))
    except BaseException:
        send(("failed", traceback.format_exc()))
    finally:
        out.flush()


if __name__ == "__main__":
    # A short-lived process that makes no reference cycles: the collector
    # would only walk the batches in flight, again and again.
    gc.disable()
    # Keep the message stream to ourselves: anything printed goes to stderr.
    _stream = os.fdopen(os.dup(1), "wb", buffering=1 << 20)
    os.dup2(2, 1)
    _helper_main(sys.stdin.buffer, _stream)
    _stream.close()
