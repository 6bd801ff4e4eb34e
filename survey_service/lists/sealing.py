"""Client-list rows made ready to store: phones sealed, rejected rows kept as issues.

Between the parser (:mod:`list_parser`) and the database. :func:`seal_rows`
finds the duplicate numbers, turns each rejected row into a row issue,
collects the numbers for the "consecutive numbers" padding signal and may
mask and hash the accepted phones; :func:`client_rows` encrypts them (and
masks and hashes what is left), in the process that writes the rows.

A big file is parsed and sealed in a helper process while the importing
process encrypts and writes the rows it sends, on a second core. The helper
gets the lookup-hash sub-key, never the data key: it cannot decrypt. The
masks and hashes go with whichever process has time: the helper makes them
while its earlier batches still wait unread in the pipe (the writer is
behind), and leaves them to the writer when the writer has read everything
and waits. Small files, the usual upload, stay in the importing process: a
helper costs about a quarter of a second to start. Both ways run the same
functions, :func:`parse_client_file`, :func:`seal_rows` and
:func:`client_rows`, so they store the same rows.

This module imports neither the models nor Flask: the helper process
loads only what parsing and sealing need.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import compress, repeat
from pathlib import Path
from typing import IO, Any

import numpy as np

from survey_service.lists.parsing import ClientFileError, PhoneRows, parse_client_file
from survey_service.privacy.vault import LookupHasher, PhoneVault, mask_phones

try:
    import fcntl
except ImportError:  # not on Linux or macOS: the pipe keeps its default size
    fcntl = None

BATCH = 5000
# Files from this size on are parsed in a helper process (about 75,000 rows of CSV).
PARALLEL_MIN_BYTES = 4 << 20

CLIENT_COLUMNS = (
    "list_id",
    "row_number",
    "name",
    "phone_enc",
    "phone_hash",
    "phone_masked",
    "service",
    "service_date",
    "kind",
)
ISSUE_COLUMNS = ("list_id", "row_number", "field", "raw_value", "reason")
# Issue rows in a batch leave out the list_id: (row_number, field, raw_value, reason).


@dataclass
class ImportOptions:
    """How to read an uploaded list; ``parallel`` None chooses by the file's size."""

    area_code: str = "027"
    sheet: str | None = None
    delimiter: str | None = None
    column_map: dict[str, str] | None = None
    max_bytes: int | None = None
    parallel: bool | None = None


@dataclass
class SealTotals:
    """Counts of a sealed list, and its padding signals; complete once the batches end."""

    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    signals: dict[str, int] = field(default_factory=dict)


# A batch: the client rows' columns (row_number, name, phone in clear,
# phone_masked or None, phone_hash or None, service, service_date, kind;
# client_rows makes CLIENT_COLUMNS of them), and the issue rows (row_number,
# field, raw_value, reason).
Columns = tuple[Sequence[Any], ...]
Batch = tuple[Columns, list[tuple]]


class SealedList:
    """A list being parsed: what the parser found, then its rows in batches, then the totals.

    ``encoding`` and ``delimiter`` wait for the parser to get past the
    header (the helper process may still be starting); read them first.
    """

    def __init__(
        self,
        header: Callable[[], tuple[str, str | None]],
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


def client_rows(list_id: int, columns: Columns, vault: PhoneVault) -> list[tuple]:
    """The rows to insert, as CLIENT_COLUMNS, from a batch's columns: phones
    encrypted, and masked and hashed where the batch came without.

    Encryption is left to the process that writes the rows: only it holds
    the data key.
    """
    rownum, names, phones, masked, hashes, services, dates, kinds = columns
    if masked is None:  # the helper was behind and left them to this process
        masked = mask_phones(phones)
    if hashes is None:
        hashes = vault.lookup_hashes(phones)
    return list(
        zip(
            repeat(list_id),
            rownum,
            names,
            vault.encrypt_many(phones),
            hashes,
            masked,
            services,
            dates,
            kinds,
            strict=False,
        )
    )


def seal_rows(
    rows: Iterable[Any],
    totals: SealTotals,
    batch: int = BATCH,
    hasher: LookupHasher | None = None,
    help_writer: Callable[[], bool] | None = None,
) -> Iterator[Batch]:
    """Turn parsed rows into batches of client columns and issue rows.

    ``rows`` are what :func:`parse_client_file` gives with ``accepted_batch``:
    duplicates are found here (see :class:`AcceptedNumbers`). ``totals`` is
    filled as the batches go, and holds the counts and the signals when the
    iteration ends. Each batch is masked, and hashed with ``hasher``, unless
    ``help_writer`` says no for it: those columns are then None, left to
    :func:`client_rows`.
    """
    issues: list[tuple] = []
    numbers = AcceptedNumbers()
    for item in rows:
        if type(item) is PhoneRows:
            accepted = _checked(item, numbers, issues, totals)
            extra = help_writer is None or help_writer()
            yield _client_columns(accepted, totals, extra, hasher if extra else None), issues
            issues = []
        elif item.status == "rejected":
            totals.rejected += 1
            issues.append((item.row, "phone", _clip1(item.raw_phone, 500), item.reason))
            if len(issues) >= batch:
                yield _client_columns(_NO_ROWS, totals), issues
                issues = []
        elif item.status == "skipped":
            totals.skipped += 1
        else:
            raise ValueError("seal_rows needs the parser's accepted_batch mode")
    if issues:
        yield _client_columns(_NO_ROWS, totals), issues
    totals.signals = consecutive_runs(numbers.mobiles())


class AcceptedNumbers:
    """The numbers accepted so far in one file, as 64-bit integers (8 bytes each).

    Checks a batch at once with numpy: memory stays near flat (a set of
    Python integers costs about 70 bytes a number) and there is no Python
    work per row. Kept as a large sorted array plus up to 8 small ones,
    merged when there are more (so each number is copied a few times, not
    once per batch). In front of them a table of ``2**bits`` flags (16 MiB,
    allocated lazily by the system), one per hash slot, answers "certainly
    not seen" for most numbers, so only the few whose slot is taken are
    looked up in the sorted arrays.
    """

    _GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: spreads nearby numbers

    def __init__(self, bits: int = 24) -> None:
        self._sorted = np.empty(0, dtype=np.int64)
        self._recent: list[np.ndarray] = []
        self._shift = np.uint64(64 - bits)
        self._taken = np.zeros(1 << bits, dtype=bool)

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        return (keys.astype(np.uint64) * self._GOLDEN) >> self._shift

    def contains(self, keys: np.ndarray) -> np.ndarray:
        found = self._taken[self._slots(keys)]
        maybe = np.flatnonzero(found)
        if maybe.size:
            found[maybe] = self._look_up(keys[maybe])
        return found

    def _look_up(self, keys: np.ndarray) -> np.ndarray:
        order = np.argsort(keys)
        needles = keys[order]  # sorted needles walk the arrays in order: far fewer cache misses
        found = np.zeros(keys.size, dtype=bool)
        for part in (self._sorted, *self._recent):
            if part.size:
                at = np.minimum(np.searchsorted(part, needles), part.size - 1)
                found |= part[at] == needles
        result = np.empty_like(found)
        result[order] = found
        return result

    def add(self, keys: np.ndarray) -> None:
        if keys.size:
            self._taken[self._slots(keys)] = True
            self._recent.append(np.sort(keys))
        if len(self._recent) > 8:
            self._merge()

    def _merge(self) -> None:
        # Sorted runs: the stable sort (timsort) merges them in about linear time.
        self._sorted = np.sort(np.concatenate([self._sorted, *self._recent]), kind="stable")
        self._recent = []

    def mobiles(self) -> np.ndarray:
        """The +86 mobile numbers (11 digits from 1), as national numbers."""
        self._merge()
        low, high = 86 * 10**11 + 10**10, 86 * 10**11 + 2 * 10**10
        keys = self._sorted
        return keys[(keys >= low) & (keys < high)] - 86 * 10**11


def _checked(
    rows: PhoneRows, numbers: AcceptedNumbers, issues: list, totals: SealTotals
) -> PhoneRows:
    """The rows of a batch that stay accepted; the others become issues.

    Same rule as the row-by-row parser: a number accepted earlier in the
    file makes a row ``duplicate_in_file``; otherwise garbled text in its
    name or service makes it ``garbled_text`` (and its number stays free).
    """
    keys = np.fromiter(map(int, rows.phones_e164), dtype=np.int64, count=len(rows.rows))
    before = numbers.contains(keys)
    clean = np.ones(keys.size, dtype=bool)
    clean[rows.garbled] = False
    candidates = np.flatnonzero(clean)
    _, first = np.unique(keys[candidates], return_index=True)
    accept = np.zeros(keys.size, dtype=bool)
    accept[candidates[first]] = True
    accept &= ~before
    numbers.add(keys[accept])
    if accept.all():
        return rows
    reasons = dict.fromkeys(np.flatnonzero(~accept & clean).tolist(), "duplicate_in_file")
    for i in rows.garbled:
        earlier = before[i] or bool((accept[:i] & (keys[:i] == keys[i])).any())
        reasons[i] = "duplicate_in_file" if earlier else "garbled_text"
    for i in sorted(reasons):
        totals.rejected += 1
        issues.append((rows.rows[i], "phone", _clip1(rows.raw_phones[i], 500), reasons[i]))
    keep = accept.tolist()
    # The raw phones are done with: the issues above hold what they need.
    kept = (rows.rows, rows.phones_e164, rows.names, rows.services, rows.service_dates, rows.kinds)
    row, phone, name, service, date, kind = (list(compress(column, keep)) for column in kept)
    return PhoneRows(row, [], phone, name, service, date, kind, garbled=[])


_NO_ROWS = PhoneRows([], [], [], [], [], [], [], [])


def _client_columns(
    accepted: PhoneRows,
    totals: SealTotals,
    masks: bool = True,
    hasher: LookupHasher | None = None,
) -> Columns:
    rownum, _, phones, names, services, dates, kinds, _ = accepted
    totals.accepted += len(rownum)
    return (
        rownum,
        _clip(names, 200),
        phones,
        mask_phones(phones) if masks else None,
        hasher.lookup_hashes(phones) if hasher is not None else None,
        _clip(services, 500),
        dates,  # ISO dates or None: never longer than the column
        kinds,
    )


def _clip(values: Sequence[str | None], size: int) -> Sequence[str | None]:
    """Cut text to its column's size; a batch without long values is returned as it is."""
    if max(map(len, filter(None, values)), default=0) <= size:
        return values
    return [_clip1(v, size) for v in values]


def _clip1(value: str | None, size: int) -> str | None:
    return None if value is None else value[:size]


def consecutive_runs(numbers: np.ndarray | Sequence[int], min_run: int = 3) -> dict[str, int]:
    """Count runs of ``min_run`` or more consecutive numbers (13800000001, …02, …03).

    A list padded from a block of SIM cards or an office's extension range
    shows such runs; real clients almost never do.
    """
    values = np.sort(np.asarray(numbers, dtype=np.int64))
    values = values[np.concatenate(([True], values[1:] != values[:-1]))] if values.size else values
    if values.size < min_run:
        return {"consecutive_runs": 0, "numbers_in_runs": 0}
    breaks = np.flatnonzero(np.diff(values) != 1)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks + 1, [values.size]))
    lengths = ends - starts
    long_runs = lengths[lengths >= min_run]
    return {"consecutive_runs": int(long_runs.size), "numbers_in_runs": int(long_runs.sum())}


def parse_with(source: Any, filename: str, options: ImportOptions, accepted_batch=None):
    """:func:`parse_client_file` with an upload's options."""
    return parse_client_file(
        source,
        filename=filename,
        area_code=options.area_code,
        sheet=options.sheet,
        delimiter=options.delimiter,
        column_map=options.column_map,
        max_bytes=options.max_bytes,
        accepted_batch=accepted_batch,
    )


@contextmanager
def sealed_list(
    path: str | Path,
    *,
    filename: str,
    options: ImportOptions,
    hasher: LookupHasher | None = None,
) -> Iterator[SealedList]:
    """Parse the file at ``path`` and seal its rows, here or in a helper process.

    ``hasher`` lets a helper process hash phones when it is ahead of the
    writer (without it, :func:`client_rows` hashes them all).

    :raise ClientFileError: if the file cannot be a client list (raised on
        entry, or while the batches are read for an error found further on).
    """
    parallel = options.parallel
    if parallel is None:
        parallel = os.path.getsize(path) >= PARALLEL_MIN_BYTES
    if not parallel:
        with parse_with(path, filename, options, BATCH) as parsed:
            totals = SealTotals()
            batches = seal_rows(parsed.rows, totals)
            yield SealedList(lambda: (parsed.encoding, parsed.delimiter), batches, totals)
        return
    # A plain child process running this module (``python -m``), not
    # multiprocessing: nothing of the parent's ``__main__`` is run again. It
    # reads its request (the file's path, the options and the lookup-hash
    # sub-key, never the data key) on stdin and answers on stdout.
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
        request = (str(Path(path).resolve()), filename, options, hasher and hasher.key)
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
        self._header: tuple[str, str | None] | None = None
        self._ended = False

    def start(self) -> None:
        set_pipe_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl else None
        if set_pipe_size is not None:
            with contextlib.suppress(OSError):  # the default pipe works, only slower
                fcntl.fcntl(self._stream.fileno(), set_pipe_size, self.PIPE_BYTES)

    def header(self) -> tuple[str, str | None]:
        """The encoding and delimiter found: the helper's first message."""
        if self._header is None:
            encoding, delimiter = self.receive("file")
            self._header = (encoding, delimiter)
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
            detail = f": {message[1]}" if kind == "broken" else ""
            raise RuntimeError(f"client-list helper process ended without an answer{detail}")
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
        yield tuple(_unpack(c) for c in payload[0]), payload[1]


# Through the pipe a text column travels as one string, its values joined by
# the unit separator: pickling one string costs far less than 5,000 of them.
# None travels as "" (no text column holds ""), and a column holding the
# separator itself travels as it is.
_SEP = "\x1f"


def _pack(column: Sequence[Any]) -> tuple[str, Any]:
    if not column or not isinstance(column[0], str | None):
        return ("items", column)
    has_none = None in column
    values = [v or "" for v in column] if has_none else column
    try:
        joined = _SEP.join(values)
    except TypeError:  # not all text
        return ("items", column)
    if joined.count(_SEP) != len(column) - 1 or (has_none and "" in column):
        return ("items", column)
    return ("joined_none" if has_none else "joined", joined)


def _unpack(packed: tuple[str, Any]) -> Sequence[Any]:
    kind, data = packed
    if kind == "items":
        return data
    values = data.split(_SEP)
    return [v or None for v in values] if kind == "joined_none" else values


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

    try:
        path, filename, options, lookup_key = pickle.load(stdin)
        hasher = LookupHasher(lookup_key) if lookup_key else None
        with parse_with(path, filename, options, BATCH) as parsed:
            send(("file", parsed.encoding, parsed.delimiter))
            totals = SealTotals()
            for clients, issues in seal_rows(
                parsed.rows, totals, hasher=hasher, help_writer=writer_is_busy
            ):
                send(("rows", [_pack(c) for c in clients], issues))
            # Plain values only: this module is __main__ here, its classes would not unpickle.
            send(("done", totals.accepted, totals.rejected, totals.skipped, totals.signals))
    except ClientFileError as exc:
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
