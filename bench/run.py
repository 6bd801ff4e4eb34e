"""Run every benchmark (``make bench``) and print their figures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _postgres_answers() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except Exception:
        return False


def benches() -> list[tuple[str, ...]]:
    """Each bench with its arguments; the import's PostgreSQL figures where the server answers."""
    pg = _postgres_answers()
    if not pg:
        print(f"== PostgreSQL does not answer at {PG_URL}: the import runs on SQLite only")
    pg_command = [("bench_import.py", "--command", "--backend", "postgres", "--repeat", "3")]
    return [
        ("bench_startup.py",),
        ("bench_import.py", "--backend", "both" if pg else "sqlite"),
        ("bench_import.py", "--command", "--repeat", "3"),
        *(pg_command if pg else []),
        ("bench_sampling.py",),
        ("profile_calls.py",),
        ("bench_calls.py",),
        ("bench_ivr.py",),
        ("bench_pages.py",),
        ("bench_results_cpu.py",),
        ("profile_results.py",),
    ]


def main() -> int:
    status = 0
    for name, *args in benches():
        print(f"== {name} {' '.join(args)}".rstrip(), flush=True)
        status |= subprocess.call([sys.executable, str(HERE / name), *args])
    return status


if __name__ == "__main__":
    sys.exit(main())
