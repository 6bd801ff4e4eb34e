"""The phone rules: a cell as written -> an E.164 number or a reject code.

:func:`normalize_phone_slow` is the definition; :func:`normalize_phone` gives the
same answers through a fast path for the usual dresses (tested against it, and
against ``phonenumbers`` for every 5-digit mobile prefix).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from itertools import islice
from typing import Any

import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata

from survey_service.lists.parsing.cells import _cell_text

_CN = PhoneMetadata.metadata_for_region("CN")


def _desc(desc) -> tuple[re.Pattern[str], frozenset[int]] | None:
    if desc is None or not desc.national_number_pattern:
        return None
    return re.compile(desc.national_number_pattern), frozenset(desc.possible_length or ())


_GENERAL = _desc(_CN.general_desc)
_TYPE_DESCS = tuple(
    d
    for d in (
        _desc(getattr(_CN, name, None))
        for name in (
            "premium_rate",
            "toll_free",
            "shared_cost",
            "voip",
            "personal_number",
            "pager",
            "uan",
            "voicemail",
            "fixed_line",
            "mobile",
        )
    )
    if d is not None
)
assert _GENERAL is not None


def _nsn_valid(nsn: str) -> bool:
    """Same answer as ``phonenumbers.is_valid_number`` for +86 ``nsn`` (the
    national significant number): the general pattern and one type's pattern
    (with its possible lengths) must match, as in ``_number_type_helper``."""
    n = len(nsn)
    rx, lengths = _GENERAL
    if (lengths and n not in lengths) or not rx.fullmatch(nsn):
        return False
    return any((not lengths or n in lengths) and rx.fullmatch(nsn) for rx, lengths in _TYPE_DESCS)


# Validity by 5-digit prefix, per NSN length, filled lazily. A prefix is
# cached as decided (1 valid / 0 invalid) only when ten probe numbers (the
# prefix followed by a run of one digit, 0…9) all agree; otherwise it is
# "undecided" (2) and every number with it goes through the regexes. The
# tests compare this with phonenumbers for every 5-digit mobile prefix.
_PREFIX_STATE: dict[int, dict[str, int]] = {}
_PROBE_DIGITS = "0123456789"


def _probe_state(prefix: str, n: int) -> int:
    answers = {_nsn_valid(prefix + d * (n - 5)) for d in _PROBE_DIGITS}
    return (1 if answers.pop() else 0) if len(answers) == 1 else 2


def _prefix_state(nsn: str) -> int:
    n = len(nsn)
    p = nsn[:5]
    state = _probe_state(p, n)
    _PREFIX_STATE.setdefault(n, {})[p] = state
    return state


def mobile_prefix_module() -> str:
    """The source of :mod:`cn_mobile_prefixes` for the installed phonenumbers."""
    states = "".join(str(_probe_state(str(p), 11)) for p in range(10000, 20000))
    lines = "\n".join(f'    "{states[i : i + 80]}"' for i in range(0, len(states), 80))
    return (
        '"""The states of the 11-digit +86 numbers by first five digits, 10000…19999\n'
        "(0 invalid, 1 valid, 2 undecided: see parsing.phones._prefix_state), worked out\n"
        "ahead because the first batch of a list would otherwise wait for them.\n\n"
        "Generated: after upgrading phonenumbers, regenerate it (a test says when) with\n"
        "    python -m survey_service.lists.parsing.cn_mobile_prefixes\n"
        '"""\n\n'
        f'PHONENUMBERS_VERSION = "{phonenumbers.__version__}"\n'
        f"STATES = (\n{lines}\n)\n\n"
        'if __name__ == "__main__":  # rewrite this file\n'
        "    from pathlib import Path\n\n"
        "    from survey_service.lists.parsing import mobile_prefix_module\n\n"
        '    Path(__file__).write_text(mobile_prefix_module(), encoding="utf-8")\n'
    )


def _preload_mobile_prefixes() -> None:
    from survey_service.lists.parsing import cn_mobile_prefixes as table

    if phonenumbers.__version__ == table.PHONENUMBERS_VERSION:  # else: worked out as met
        states = _PREFIX_STATE.setdefault(11, {})
        for i, state in enumerate(table.STATES):
            states.setdefault(str(10000 + i), int(state))


_preload_mobile_prefixes()


@dataclass
class _ValidTable:
    """A table of :func:`valid_prefixes` and how much of its states dict it has read."""

    states: dict[str, int]
    read: int
    table: bytearray
    frozen: bytes = b""


_valid_tables: dict[int, _ValidTable] = {}
#: The prefixes a table covers, from 10000: the mobiles (1xxxx) for 11 digits, all for 10.
_TABLE_SIZES = {11: 10000, 10: 90000}


def valid_prefixes(n: int) -> bytes:
    """Byte ``p - 10000`` is 1 where the ``n``-digit NSNs (10 or 11) of 5-digit
    prefix ``p`` are known valid, else 0 (invalid, undecided or not worked out
    yet), for :mod:`survey_service.lists.parsing._rowscan`; a 0 leaves the
    number to the normaliser, which is always right. The 11-digit table covers
    the mobile prefixes 10000…19999, the 10-digit one (landlines, learned as a
    file meets them) 10000…99999. States are only ever added, so a table is
    brought up to date when their count changes, from the new states alone."""
    states = _PREFIX_STATE.setdefault(n, {})
    entry = _valid_tables.get(n)
    if entry is not None and entry.states is states and entry.read == len(states):
        return entry.frozen
    if entry is None or entry.states is not states or entry.read > len(states):
        entry = _valid_tables[n] = _ValidTable(states, 0, bytearray(_TABLE_SIZES[n]))
    table = entry.table
    # list() of the items past the ones read: one C call, no other thread adds meanwhile.
    new = list(islice(states.items(), entry.read, None))
    for prefix, state in new:
        i = int(prefix) - 10000 if prefix.isascii() and prefix.isdigit() else -1
        if len(prefix) == 5 and 0 <= i < len(table):
            table[i] = state == 1
    entry.read += len(new)
    entry.frozen = bytes(table)
    return entry.frozen


def _cached_valid(nsn: str) -> bool:
    """``_nsn_valid`` through the prefix cache (NSN of 10 or 11 digits)."""
    st = _PREFIX_STATE.get(len(nsn), {}).get(nsn[:5])
    if st is None:
        st = _prefix_state(nsn)
    return st == 1 or (st == 2 and _nsn_valid(nsn))


# Characters removed from a phone cell: spaces of any kind, dashes, brackets.
_SEP_TABLE = str.maketrans(
    "", "", " \t\r\n\f\v\u00a0\u3000-‐‑‒–—―−_()[]/\\"
)  # after NFKC: （）→() －→- ［］→[] ／→/
# The same, ASCII only, as bytes for the fast path (bytes.translate is quick).
_SEP_ASCII = b" \t\r\n\f\v-_()[]/\\"
_MANGLED_RX = re.compile(r"[+-]?\d+(?:\.\d*)?[eE][+-]?\d+")
_FLOAT0_RX = re.compile(r"(\+?\d+)\.0+")
_PLAIN_RX = re.compile(r"\+?\d+")
_HAS_DIGIT_RX = re.compile(r"[0-9]")


def _area_prefix(area_code: str) -> str:
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", str(area_code)) if ch.isdigit())
    digits = digits.lstrip("0")
    if not digits:
        raise ValueError(f"area_code must contain digits, got {area_code!r}")
    return "0" + digits


def normalize_phone_slow(raw: Any, area_code: str = "027") -> str:
    """Reference implementation (the definition of the phone rules).

    Returns the E.164 string (``"+86…"``) or a reject code of :data:`REASONS`.

    1. NFKC (full-width digits, ＋, －, （） become ASCII), trim.
    2. No ASCII digit at all (``""``, ``"无"``, ``"-"``, ``"电话未留"``) ->
       ``missing_phone``.
    3. Scientific notation (``1.38E+10``) -> ``excel_mangled`` (digits lost).
    4. ``13812345678.0`` (float written as text) -> ``13812345678``.
    5. Remove spaces, dashes, brackets, slashes; what is left must be
       ``+?digits`` else ``invalid_phone`` (letters, two numbers, …).
    6. ``86`` + 10/11 digits (``86-27-88888888``) -> ``+86…``; 7–8 digit
       local numbers not starting with 0/1 get the area code (``027``).
    7. ``phonenumbers.parse(…, "CN")`` (handles +86, 0086, 0 trunk prefix,
       IP-dial prefixes); must be a valid number of country 86, else
       ``invalid_phone``.
    """
    if raw is None:
        return "missing_phone"
    s = unicodedata.normalize("NFKC", str(raw)).strip()
    if not _HAS_DIGIT_RX.search(s):
        return "missing_phone"
    if _MANGLED_RX.fullmatch(s):
        return "excel_mangled"
    m = _FLOAT0_RX.fullmatch(s)
    if m:
        s = m.group(1)
    d = s.translate(_SEP_TABLE)
    if not d.isascii() or not _PLAIN_RX.fullmatch(d):
        return "invalid_phone"
    if d[0] != "+":
        n = len(d)
        if d.startswith("86") and n in (12, 13):
            d = "+" + d
        elif 7 <= n <= 8 and d[0] not in "01":
            d = _area_prefix(area_code) + d
    try:
        num = phonenumbers.parse(d, "CN")
    except phonenumbers.NumberParseException:
        return "invalid_phone"
    if num.country_code != 86 or not phonenumbers.is_valid_number(num):
        return "invalid_phone"
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def _make_phone_normalizer(area_code: str = "027"):
    """Build the fast normaliser for one area code (see :func:`normalize_phone`)."""
    area0 = _area_prefix(area_code)
    area = area0[1:]
    len_full = len(area0) + 8
    slow = normalize_phone_slow
    nfkc = unicodedata.normalize
    sep = _SEP_ASCII
    st10 = _PREFIX_STATE.setdefault(10, {})
    st11 = _PREFIX_STATE.setdefault(11, {})
    prefix_state = _prefix_state
    nsn_valid = _nsn_valid

    def normalize(raw: str) -> str:
        s = raw.strip()
        if len(s) == 11 and s[0] == "1" and s.isdigit() and s.isascii():
            nsn = s
        else:
            if not s.isascii():
                s = nfkc("NFKC", s).strip()
                if not s.isascii():
                    return slow(raw, area_code)
            if s.isdigit() or (s[:1] == "+" and s[1:].isdigit()):
                d = s
            else:
                d = s.encode().translate(None, sep).decode()
            if d.isdigit():
                n = len(d)
                if n == 11 and d[0] == "1":
                    nsn = d
                elif n == 13 and d.startswith("861"):
                    nsn = d[2:]
                elif n == 15 and d.startswith("00861"):
                    nsn = d[4:]
                elif n == len_full and d.startswith(area0):
                    nsn = d[1:]
                elif n == 8 and d[0] not in "01":
                    nsn = area + d
                else:
                    return slow(raw, area_code)
            elif len(d) == 14 and d.startswith("+861") and d[1:].isdigit():
                nsn = d[3:]
            else:
                return slow(raw, area_code)
        n = len(nsn)
        if n == 11:
            st = st11.get(nsn[:5])
        elif n == 10:
            st = st10.get(nsn[:5])
        else:
            return "+86" + nsn if nsn_valid(nsn) else slow(raw, area_code)
        if st is None:
            st = prefix_state(nsn)
        if st == 1 or (st == 2 and nsn_valid(nsn)):
            return "+86" + nsn
        return slow(raw, area_code)

    return normalize


_DEFAULT_NORMALIZER = _make_phone_normalizer("027")


def normalize_phone(raw: Any, area_code: str = "027") -> str:
    """E.164 (``"+86…"``) or a reject code; same result as
    :func:`normalize_phone_slow`, much faster for the usual dresses (plain
    mobile, spaced/dashed mobile, +86/0086/86 + mobile, 027 + 8 digits,
    8-digit local number)."""
    if raw is None:
        return "missing_phone"
    if not isinstance(raw, str):
        raw = _cell_text(raw)
    if area_code == "027":
        return _DEFAULT_NORMALIZER(raw)
    return _make_phone_normalizer(area_code)(raw)
