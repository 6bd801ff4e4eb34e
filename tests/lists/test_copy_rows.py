"""The binary COPY data encoded in C (``_copy_rows``): what psycopg's write_row sends.

The encoder's bytes are checked against the format by hand, and an import
on PostgreSQL through it against one through write_row.
"""

from __future__ import annotations

import os

import pytest

from survey_service.lists import copy_writer
from tests.conftest import PG_OK
from tests.lists.test_copy_import import _content, _import_on

NATIVE = copy_writer._native_module
needs_native = pytest.mark.skipif(NATIVE is None, reason="_copy_rows is not built (make setup)")
SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8


def test_native_module_is_built_under_ci():
    """Under CI the native module must import: a missing build would pass, slower."""
    if os.environ.get("CI") == "true":
        assert NATIVE is not None, "survey_service.lists._copy_rows did not import under CI"
    elif NATIVE is None:
        pytest.skip("_copy_rows is not built (make setup)")


@needs_native
def test_rows_are_encoded_as_the_binary_format_says():
    """Per row: a 16-bit field count; per field a 32-bit length (-1: NULL) and the value."""
    data = NATIVE.encode((7, [2, None, -1], ("a", "张", None)), 3, bytes([1, 1, 0]), True)
    row = b"\x00\x03\x00\x00\x00\x04\x00\x00\x00\x07"
    assert data == (
        SIGNATURE
        + row + b"\x00\x00\x00\x04\x00\x00\x00\x02" + b"\x00\x00\x00\x01a"
        + row + b"\xff\xff\xff\xff" + b"\x00\x00\x00\x03\xe5\xbc\xa0"
        + row + b"\x00\x00\x00\x04\xff\xff\xff\xff" + b"\xff\xff\xff\xff"
    )  # fmt: skip
    assert NATIVE.encode((7,), 0, b"\x01", True) == SIGNATURE  # a COPY's first data, no rows
    assert NATIVE.encode((7,), 0, b"\x01", False) == b""


@needs_native
def test_bad_columns_are_refused():
    with pytest.raises(ValueError, match="column 1 has 1 values, not 2"):
        NATIVE.encode(([1, 2], ["a"]), 2, b"\x01\x00", False)
    with pytest.raises(ValueError, match="one type per column"):
        NATIVE.encode(([1],), 1, b"\x01\x00", False)
    with pytest.raises(ValueError, match="1 to 1600 columns"):
        NATIVE.encode(tuple([1] * 1601), 1, b"\x01" * 1601, False)
    with pytest.raises(ValueError, match="unknown type code 9"):
        NATIVE.encode(([1],), 1, b"\x09", False)
    with pytest.raises(TypeError, match="column 0, row 1: str is not an int4"):
        NATIVE.encode(([1, "2"],), 2, b"\x01", False)
    with pytest.raises(TypeError, match="column 0, row 0: bool is not an int4"):
        NATIVE.encode(([True],), 1, b"\x01", False)
    with pytest.raises(TypeError, match="column 0, row 0: int is not text"):
        NATIVE.encode(([1],), 1, b"\x00", False)
    with pytest.raises(OverflowError, match="column 0, row 0: out of int4's range"):
        NATIVE.encode(([2**31],), 1, b"\x01", False)


@needs_native
@pytest.mark.skipif(not PG_OK, reason="PostgreSQL is not running")
def test_encoded_copy_stores_what_write_row_stores(database_urls, tmp_path, monkeypatch):
    """The same file through both: identical rows (decrypted) and issues."""
    encoded = []
    real = NATIVE.encode

    def counted(columns, nrows, types, signature):
        encoded.append(nrows)
        return real(columns, nrows, types, signature)

    monkeypatch.setattr(NATIVE, "encode", counted)
    url = database_urls["postgres"]
    native = _import_on(url, tmp_path / "n", _content())
    assert sum(encoded) == 11_849  # the clients' COPY (the held issue rows use write_row)
    monkeypatch.setattr(copy_writer, "native", None)
    encoded.clear()
    python = _import_on(url, tmp_path / "p", _content())
    assert encoded == []
    assert native == python
    (accepted, rejected, _), (clients, issues) = native
    assert (accepted, rejected) == (len(clients), len(issues)) == (11_849, 151)
    assert clients[0][:3] == (2, "客户0", "+8613800000000")
