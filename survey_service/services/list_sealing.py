"""Client-list rows made ready to store: phones sealed, rejected rows kept as issues.

Between the parser (:mod:`list_parser`) and the database. Each accepted
row's phone is encrypted, hashed with the keyed lookup hash and masked;
each rejected row becomes a row issue; the mobile numbers feed the
"consecutive numbers" padding signal.

A big file is parsed and sealed in a helper process while the importing
process writes the rows it sends: reading (decode, CSV, phone rules,
duplicates, crypto) and writing (SQL inserts) cost about the same, and
the service has two cores or more. Small files, the usual upload, stay in
the importing process: a helper costs about half a second to start. Both
ways run the same two functions, :func:`parse_client_file` and
:func:`seal_rows`, so they store the same rows.

This module imports neither the models nor Flask: the helper process
loads only what parsing and sealing need.
"""

from __future__ import annotations

import gc
import os
import pickle
import queue
import subprocess
import sys
import threading
import traceback
from array import array
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import IO, Any

import numpy as np

from .list_parser import AcceptedRows, ClientFileError, parse_client_file
from .privacy import PhoneVault, mask_phones

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


# A batch: the client rows' columns after list_id, as CLIENT_COLUMNS but with
# the phone in clear where phone_enc goes (see client_rows), and the issue
# rows (as ISSUE_COLUMNS).
Columns = tuple[Sequence[Any], ...]
Batch = tuple[Columns, list[tuple]]


@dataclass
class SealedList:
    """A parsed list: what the parser found, then its rows in batches, then the totals."""

    encoding: str
    delimiter: str | None
    batches: Iterator[Batch]
    totals: SealTotals


def client_rows(list_id: int, columns: Columns, vault: PhoneVault) -> list[tuple]:
    """The rows to insert, as CLIENT_COLUMNS, from a batch's columns: phones encrypted.

    Encryption is left to the process that writes the rows: with a helper
    process parsing, this evens the work of the two.
    """
    rownum, names, phones, *rest = columns
    encrypted = vault.encrypt_many(phones)
    return list(zip(repeat(list_id), rownum, names, encrypted, *rest, strict=False))


def seal_rows(
    rows: Iterable[Any], list_id: int, vault: PhoneVault, totals: SealTotals, batch: int = BATCH
) -> Iterator[Batch]:
    """Turn parsed rows into batches of client columns and issue rows for ``list_id``.

    ``rows`` are what :func:`parse_client_file` gives, with or without
    ``accepted_batch``. ``totals`` is filled as the batches go, and holds the
    counts and the signals when the iteration ends.
    """
    issues: list[tuple] = []
    single: list[Any] = []  # accepted rows that came one by one
    mobiles = array("q")
    for item in rows:
        if type(item) is AcceptedRows:
            yield _client_columns(item, vault, mobiles, totals), issues
            issues = []
            continue
        status = item.status
        if status == "accepted":
            single.append(item)
            if len(single) >= batch:
                yield _client_columns(_as_columns(single), vault, mobiles, totals), issues
                single, issues = [], []
        elif status == "rejected":
            totals.rejected += 1
            issues.append((list_id, item.row, "phone", _clip1(item.raw_phone, 500), item.reason))
            if len(issues) >= batch:
                yield _client_columns(_as_columns(single), vault, mobiles, totals), issues
                single, issues = [], []
        else:
            totals.skipped += 1
    if single or issues:
        yield _client_columns(_as_columns(single), vault, mobiles, totals), issues
    totals.signals = consecutive_runs(mobiles)


def _as_columns(rows: list[Any]) -> AcceptedRows:
    return AcceptedRows(
        [r.row for r in rows],
        [r.phone_e164 for r in rows],
        [r.name for r in rows],
        [r.service for r in rows],
        [r.service_date for r in rows],
        [r.kind for r in rows],
    )


def _client_columns(
    accepted: AcceptedRows, vault: PhoneVault, mobiles: array, totals: SealTotals
) -> Columns:
    rownum, phones, names, services, dates, kinds = accepted
    totals.accepted += len(rownum)
    if phones:
        mobiles.frombytes(_mobile_numbers(phones).tobytes())
    return (
        rownum,
        _clip(names, 200),
        phones,
        vault.lookup_hashes(phones),
        mask_phones(phones),
        _clip(services, 500),
        _clip(dates, 32),
        kinds,
    )


def _mobile_numbers(phones: list[str]) -> np.ndarray:
    """The national numbers of the +861… phones, as integers, computed on the batch at once."""
    width = max(map(len, phones)) + 1  # room for one NUL: a longer number is not a mobile
    chars = np.array(phones, dtype=f"U{width}").view(np.uint32).reshape(len(phones), width)
    chars = np.pad(chars, ((0, 0), (0, max(0, 15 - width))))  # every number padded to 15+
    mobile = (chars[:, 2] == ord("6")) & (chars[:, 3] == ord("1"))
    mobile &= (chars[:, 13] != 0) & (chars[:, 14] == 0)  # "+861" and 11 digits: 14 characters
    digits = chars[mobile, 3:14].astype(np.int64) - ord("0")
    return digits @ (10 ** np.arange(10, -1, -1, dtype=np.int64))


def _clip(values: tuple, size: int) -> tuple | list:
    """Cut text to its column's size; a batch without long values is returned as it is."""
    if max(map(len, filter(None, values)), default=0) <= size:
        return values
    return [_clip1(v, size) for v in values]


def _clip1(value: str | None, size: int) -> str | None:
    return None if value is None else value[:size]


def consecutive_runs(numbers: array, min_run: int = 3) -> dict[str, int]:
    """Count runs of ``min_run`` or more consecutive numbers (13800000001, …02, …03).

    A list padded from a block of SIM cards or an office's extension range
    shows such runs; real clients almost never do.
    """
    values = np.sort(np.frombuffer(numbers, dtype=np.int64))
    values = values[np.concatenate(([True], values[1:] != values[:-1]))] if values.size else values
    if values.size < min_run:
        return {"consecutive_runs": 0, "numbers_in_runs": 0}
    breaks = np.flatnonzero(np.diff(values) != 1)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks + 1, [values.size]))
    lengths = ends - starts
    long_runs = lengths[lengths >= min_run]
    return {"consecutive_runs": int(long_runs.size), "numbers_in_runs": int(long_runs.sum())}


def _parse(path: str | Path, filename: str, options: ImportOptions):
    return parse_client_file(
        path,
        filename=filename,
        area_code=options.area_code,
        sheet=options.sheet,
        delimiter=options.delimiter,
        column_map=options.column_map,
        max_bytes=options.max_bytes,
        accepted_batch=BATCH,
    )


@contextmanager
def sealed_list(
    path: str | Path,
    *,
    filename: str,
    options: ImportOptions,
    vault: PhoneVault,
    list_id: int,
) -> Iterator[SealedList]:
    """Parse the file at ``path`` and seal its rows, here or in a helper process.

    :raise ClientFileError: if the file cannot be a client list (raised on
        entry, or while the batches are read for an error found further on).
    """
    parallel = options.parallel
    if parallel is None:
        parallel = os.path.getsize(path) >= PARALLEL_MIN_BYTES
    if not parallel:
        with _parse(path, filename, options) as parsed:
            totals = SealTotals()
            batches = seal_rows(parsed.rows, list_id, vault, totals)
            yield SealedList(parsed.encoding, parsed.delimiter, batches, totals)
        return
    # A plain child process running this module (``python -m``), not
    # multiprocessing: nothing of the parent's ``__main__`` is run again, and
    # the data key travels on the child's stdin, never on its command line.
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
        request = (str(Path(path).resolve()), filename, options, vault.data_key, list_id)
        helper.stdin.write(pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
        helper.stdin.close()
        inbox.start()
        encoding, delimiter = inbox.receive("file")
        totals = SealTotals()
        yield SealedList(encoding, delimiter, _received_batches(inbox, totals), totals)
    finally:
        if helper.poll() is None:
            helper.kill()
        inbox.close()
        helper.stdout.close()
        helper.wait()


class _Inbox:
    """Messages from the helper, read off its pipe by a thread as they come.

    Without the thread the helper would block on a full pipe while this
    process inserts, and the two would take turns instead of working at once.
    Unpickling also overlaps with SQLite, which runs without the GIL.
    """

    def __init__(self, stream: IO[bytes], depth: int = 4):
        self._stream = stream
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="client-list-inbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _pump(self) -> None:
        while not self._closed.is_set():
            try:
                message = pickle.load(self._stream)
            except EOFError:
                message = ("ended",)
            except BaseException as exc:
                message = ("broken", repr(exc))
            while not self._closed.is_set():
                try:
                    self._queue.put(message, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if message[0] in ("done", "refused", "failed", "ended", "broken"):
                return

    def receive(self, expected: str | None = None) -> Any:
        message = self._queue.get()
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
        self._closed.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


def _received_batches(inbox: _Inbox, totals: SealTotals) -> Iterator[Batch]:
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


def _helper_main(stdin: IO[bytes], out: IO[bytes]) -> None:
    """The helper process: parse, seal, send batches; errors go back as messages."""

    def send(message: tuple) -> None:
        pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)

    try:
        path, filename, options, data_key, list_id = pickle.load(stdin)
        vault = PhoneVault(data_key)
        with _parse(path, filename, options) as parsed:
            send(("file", parsed.encoding, parsed.delimiter))
            out.flush()
            totals = SealTotals()
            for clients, issues in seal_rows(parsed.rows, list_id, vault, totals):
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
