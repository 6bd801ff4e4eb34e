"""Parse the client lists (服务对象名单) that units upload.

Pure: no Flask, no database. Standard library + ``phonenumbers`` +
``python_calamine``.

Entry points
------------
``parse_client_file(source, *, filename, ...) -> ParsedFile``
    ``source`` is a path (``str``/``os.PathLike``), a binary file object, or
    ``bytes``. Everything that makes the *whole file* unusable is raised as
    :class:`ClientFileError` **from this call itself**, before it returns:
    empty file, binary garbage, over ``max_bytes``, unreadable spreadsheet,
    a spreadsheet over its :class:`SheetLimits` (``too_complex``: checked
    before it is read), unknown sheet, bad ``column_map``, no phone column in the first
    ``HEADER_SCAN_ROWS`` rows, header without any data row (the parser reads
    ahead until the first data row and buffers what it read). ``rows`` is a
    lazy iterator: the file is read in blocks while you iterate, so memory does
    not grow with the file (except the set of accepted numbers kept to find
    duplicates: about 70 bytes per distinct accepted number). The only error
    that can still appear *during* iteration is a :class:`ClientFileError`
    with ``code == "malformed_csv"`` for a text file that stops being CSV
    after its first data rows (Python's csv module refuses it); rows already
    yielded stay valid.

``check_file(source, *, filename, ...) -> dict``
    Runs the parser to the end and returns a JSON-ready report.

Row numbers are what Excel shows: for text files the 1-based record number
(header and title lines included; a quoted cell containing a line break does
not shift later rows, as in Excel), for spreadsheets the sheet row number.

Statuses: ``accepted``, ``rejected`` (``reason`` is a key of :data:`REASONS`)
and ``skipped`` (``reason`` is a key of :data:`SKIP_REASONS`: title rows above
the header, the header itself, blank rows, totals/signature rows).

Encodings (text files): a BOM decides (``utf-8-sig``, ``utf-16`` for Excel's
"Unicode text", ``utf-32``); without BOM, NUL bytes in a regular pattern mean
BOM-less UTF-16 (``utf-16-le``/``utf-16-be``), other NUL bytes mean binary;
then the first ``SAMPLE_BYTES`` bytes are decoded strictly as UTF-8
(``utf-8``), else strictly as GB18030 (``gb18030``, a superset of GBK and
GB2312 so rare name characters survive), else the file is refused as not
text. Spreadsheets report ``xlsx``/``xls``/``xlsb``/``ods`` (chosen by the
file's magic bytes, not its name). Bytes after the sample that do not decode
become U+FFFD; a row whose name or service holds one is rejected as
``garbled_text`` instead of being accepted with a broken name. A row with a
control character (NUL and the other C0 characters but tab, CR, LF; DEL) in
any cell is rejected as ``control_chars``, the characters shown as U+FFFD: no
database gets them. Text files are searched for them block by block as the
bytes are read, so rows are checked only once one is found.

Everything the parser needs beyond the row itself is O(1) memory except the
duplicate check (one int per distinct accepted number).

Phones: see :func:`normalize_phone`. The fast path handles the common dresses
without calling ``phonenumbers.parse`` and is tested to give exactly the same
result as the reference :func:`normalize_phone_slow`.

Modules, in the order a file goes through them
----------------------------------------------
``sources``  bytes in: paths, file objects, encodings, delimiters, formats.
``headers``  the header among the first rows, or the columns mapped by hand.
``rows``     each row below it: accepted, rejected with a reason, or skipped.
``cells``    cell values as text, service dates, client kinds.
``phones``   the phone rules (``cn_mobile_prefixes`` is their generated table).
``errors``   every message the unit may see: reject, skip and file reasons.
``workbook`` the checks a spreadsheet passes before it is read (SheetLimits).
``sparse``   a mostly empty xlsx sheet read cell by cell (not calamine's grid).
``reader``   parse_client_file, putting the others together; ``report``: check_file.
"""

from survey_service.lists.parsing.errors import (
    FIELD_LABELS,
    FILE_ERRORS,
    REASONS,
    SKIP_REASONS,
    ClientFileError,
)
from survey_service.lists.parsing.headers import FIELDS, HEADER_SCAN_ROWS
from survey_service.lists.parsing.phones import (
    mobile_prefix_module,
    normalize_phone,
    normalize_phone_slow,
)
from survey_service.lists.parsing.reader import ParsedFile, parse_client_file
from survey_service.lists.parsing.report import check_file
from survey_service.lists.parsing.rows import ParsedRow, PhoneRows
from survey_service.lists.parsing.sources import SAMPLE_BYTES
from survey_service.lists.parsing.workbook import SheetLimits

__all__ = [
    "FIELDS",
    "FIELD_LABELS",
    "FILE_ERRORS",
    "HEADER_SCAN_ROWS",
    "REASONS",
    "SAMPLE_BYTES",
    "SKIP_REASONS",
    "ClientFileError",
    "ParsedFile",
    "ParsedRow",
    "PhoneRows",
    "SheetLimits",
    "check_file",
    "mobile_prefix_module",
    "normalize_phone",
    "normalize_phone_slow",
    "parse_client_file",
]
