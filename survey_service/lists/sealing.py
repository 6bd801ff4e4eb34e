"""Client-list rows made ready to store: duplicates found, phones sealed, rejects kept.

Between the parser (:mod:`survey_service.lists.parsing`) and the database.
:func:`seal_rows` finds the duplicate numbers, turns each rejected row into a
row issue, collects the numbers for the "consecutive numbers" padding signal
and may mask and hash the accepted phones; :func:`client_columns` encrypts them
(and masks and hashes what is left), in the process that writes the rows.
Where the rows are parsed and sealed (here, or in the helper process of
:mod:`survey_service.lists.pipeline` for a big file) is the pipeline's choice;
both run these same functions, so they store the same rows.

This module imports neither the models nor Flask: the helper process
loads only what parsing and sealing need.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import Any

import numpy as np

from survey_service.lists.parsing import PhoneRows, parse_client_file
from survey_service.lists.parsing.workbook import SheetLimits
from survey_service.privacy.vault import (
    ISSUE_NAME,
    RAW_VALUE,
    LookupHasher,
    PhoneVault,
    mask_name,
    mask_phones,
    mask_raw,
)

BATCH = 5000

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
ISSUE_COLUMNS = ("list_id", "row_number", "field", "raw_value", "reason", "name", "service")
# Issue rows in a batch leave out the list_id:
# (row_number, field, raw_value, reason, name, service), the name in clear.


# A rejected row as stored: its raw value and name encrypted, each masked beside it.
ISSUE_ROW_COLUMNS = (
    "list_id",
    "row_number",
    "field",
    "raw_value",
    "raw_masked",
    "reason",
    "name",
    "name_masked",
    "service",
)


@dataclass
class ImportOptions:
    """How to read an uploaded list; ``parallel`` None chooses by the file's size and kind.

    ``limits`` bound what a spreadsheet may hold; ``helper_memory_mb`` is the
    address-space limit of the helper process (None: no limit).
    """

    area_code: str = "027"
    sheet: str | None = None
    delimiter: str | None = None
    column_map: dict[str, str] | None = None
    max_bytes: int | None = None
    parallel: bool | None = None
    limits: SheetLimits = field(default_factory=SheetLimits)
    helper_memory_mb: int | None = None


@dataclass
class SealTotals:
    """Counts of a sealed list, and its padding signals; complete once the batches end."""

    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    signals: dict[str, int] = field(default_factory=dict)


# A batch: the client rows' columns (row_number, name, phone in clear,
# phone_masked or None, phone_hash or None, service, service_date, kind;
# client_columns makes CLIENT_COLUMNS of them), and the issue rows (row_number,
# field, raw_value, reason, name, service).
Columns = tuple[Sequence[Any], ...]
Batch = tuple[Columns, list[tuple]]
NAME_AT = 1  # the names' place among a batch's client columns


def client_columns(list_id: int, columns: Columns, vault: PhoneVault) -> Columns:
    """The columns to insert, as CLIENT_COLUMNS, from a batch's columns: phones
    encrypted, and masked and hashed where the batch came without.

    The list's id is one value (the writers repeat it for every row); every
    other column has a value per row. Encryption is left to the process
    that writes the rows: only it holds the data key.
    """
    rownum, names, phones, masked, hashes, services, dates, kinds = columns
    if masked is None:  # the helper was behind and left them to this process
        masked = mask_phones(phones)
    if hashes is None:
        hashes = vault.lookup_hashes(phones)
    sealed = vault.encrypt_many(phones)
    return (list_id, rownum, names, sealed, hashes, masked, services, dates, kinds)


def sealed_issue_columns(list_id: int, issues: list[tuple], vault: PhoneVault) -> Columns:
    """ISSUE_ROW_COLUMNS of a batch's issues, in columns as :func:`client_columns` gives
    them (the list's id once): raw values and names encrypted and masked; () for none."""
    if not issues:
        return ()
    rows, fields, raws, reasons, names, services = map(list, zip(*issues, strict=True))
    return (
        list_id,
        rows,
        fields,
        vault.encrypt_texts(raws, RAW_VALUE),
        [mask_raw(raw) for raw in raws],
        reasons,
        vault.encrypt_texts(names, ISSUE_NAME),
        [mask_name(name) for name in names],
        services,
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
    :func:`client_columns`. The signals are the consecutive runs of numbers and
    ``names_with_many_numbers`` (names listed with three numbers or more).
    """
    issues: list[tuple] = []
    numbers = AcceptedNumbers()
    # Numbers per name, for the review's "one name, many numbers" signal:
    # counted here, in clear, because the stored names are encrypted (and in
    # the parsing helper, for a big file, beside the writer's work). Each
    # accepted number is distinct within a file (duplicates are rejected).
    names = NameCounts()
    for item in rows:
        if type(item) is PhoneRows:
            accepted = _checked(item, numbers, issues, totals)
            extra = help_writer is None or help_writer()
            columns = _client_columns(accepted, totals, extra, hasher if extra else None)
            names.add(columns[NAME_AT])  # as stored (cut to the column's size)
            yield columns, issues
            issues = []
        elif item.status == "rejected":
            totals.rejected += 1
            issues.append(
                (
                    item.row,
                    "phone",
                    _clip1(item.raw_phone, 500),
                    item.reason,
                    _clip1(item.name, 200),
                    _clip1(item.service, 500),
                )
            )
            if len(issues) >= batch:
                yield _client_columns(_NO_ROWS, totals), issues
                issues = []
        elif item.status == "skipped":
            totals.skipped += 1
        else:
            raise ValueError("seal_rows needs the parser's accepted_batch mode")
    if issues:
        yield _client_columns(_NO_ROWS, totals), issues
    many = names.with_at_least(3)
    totals.signals = {**consecutive_runs(numbers.mobiles()), "names_with_many_numbers": many}


class NameCounts:
    """How many accepted rows each name has, kept as 8 bytes a row, not a dict of names.

    A name is kept as its ``hash()`` (64 bits, this process's): a Counter of
    a million distinct names costs about 100 MB and 0.2 CPU-s, these arrays
    8 MB and a few hundredths. Two different names would be counted as one
    only if their 64-bit hashes collide: for a million distinct names, a
    chance of about 3 in 100 million, and then only this review signal
    (never a stored row) could be off by one.
    """

    def __init__(self) -> None:
        self._keys: list[np.ndarray] = []

    def add(self, names: Iterable[str | None]) -> None:
        """Count each name given (None and empty names are not counted)."""
        self._keys.append(np.fromiter(map(hash, filter(None, names)), dtype=np.int64))

    def with_at_least(self, count: int) -> int:
        """How many names were counted ``count`` times or more."""
        if not self._keys:
            return 0
        _, counts = np.unique(np.concatenate(self._keys), return_counts=True)
        return int((counts >= count).sum())


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
        issues.append(
            (
                rows.rows[i],
                "phone",
                _clip1(rows.raw_phones[i], 500),
                reasons[i],
                _clip1(rows.names[i], 200),
                _clip1(rows.services[i], 500),
            )
        )
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
        limits=options.limits,
    )
