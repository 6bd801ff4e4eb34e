"""Looking at the bytes at rest: every text column of every table, and raw files."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import LargeBinary, select
from sqlmodel import SQLModel


def database_dump(session) -> str:
    """Every value of every column of every table, as one text (binary as latin-1)."""
    parts = []
    for table in SQLModel.metadata.sorted_tables:
        for row in session.execute(select(table)).all():
            for column, value in zip(table.columns, row, strict=True):
                if value is None:
                    continue
                if isinstance(column.type, LargeBinary):
                    parts.append(bytes(value).decode("latin-1"))
                else:
                    parts.append(str(value))
    return "\n".join(parts)


def found_in_dump(session, needles: list[str]) -> list[str]:
    """The needles found in the dump, as text or as UTF-8 bytes in a binary column."""
    dump = database_dump(session)
    return [n for n in needles if n in dump or n.encode().decode("latin-1") in dump]


def found_in_files(folder: Path, needles: list[str]) -> list[tuple[str, str]]:
    """(file, needle) for each needle, in UTF-8, found in a file under ``folder``."""
    hits = []
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        data = path.read_bytes()
        hits += [(path.name, n) for n in needles if n.encode() in data]
    return hits
