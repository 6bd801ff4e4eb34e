"""Benchmark: import a generated GBK client list, beside the database's own bulk load.

    python bench/bench_import.py [--rows 1000000] [--backend sqlite|postgres|both]

The import runs the real service (list_import.import_client_list): the raw
file is kept in chunks and hashed, every row is validated (encoding,
header, phone normalisation to E.164), every accepted phone encrypted
(AES-GCM) and hashed (HMAC), and the rows inserted in one transaction.
Each import runs in a fresh child process so that its peak memory (max
RSS) is its own, and that of the helper process it starts to parse the
file is reported beside it; a 10x smaller file shows that memory does not
grow with the file. ``sqlite3 .import`` of the same file (no validation at
all) is the yardstick. This machine's speed wanders by 20% or more from
one minute to the next, so the two run in turns, ``--repeat`` times (5):
each import is compared with the ``.import`` just before it, and the
median of those ratios is the figure.

On PostgreSQL (``--backend postgres``, at ``BENCH_PG_URL``, by default the
local server as postgres) the yardstick is ``psql \\copy`` of the same
file into a table of six text columns, each pair in a fresh database, and
the import writes its rows with COPY (binary; ``--copy-format text`` for
the text format). A missed target is printed; the bench never fails on it.

``--command`` (SQLite) times the whole ``flask --app wsgi clients import``
command instead, start-up included, against ``.import`` of the same file,
for each mix of ``gen_clientlist.py`` (the default dresses; plain mobiles;
a quarter of the mobiles with spaces and an eighth 027- landlines); the
target there is 3× for every mix. ``--command --backend postgres`` does the
same on PostgreSQL (a fresh database per command) against ``psql \\copy``,
target 5×.

The service's own modules are compiled to bytecode first, as an installed
service has them (``bench_startup.py`` does the same): where the shell sets
``PYTHONDONTWRITEBYTECODE``, every command would otherwise compile the
sources it imports again, about a quarter of a second.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench_startup import compile_bytecode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
TARGET = 5.0
COMMAND_TARGET = 3.0
MIXES = ("mixed", "plain", "spaced")
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def generate(rows: int, mix: str = "mixed") -> Path:
    suffix = "" if mix == "mixed" else f"-{mix}"
    path = OUT / f"clientlist-{rows}-gbk{suffix}.csv"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                str(HERE / "gen_clientlist.py"),
                str(path),
                "--rows",
                str(rows),
                "--encoding",
                "gbk",
                "--seed",
                "1",
                "--mix",
                mix,
            ],
            check=True,
        )
    return path


def sqlite_import_seconds(path: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "plain.sqlite"
        start = time.perf_counter()
        subprocess.run(
            ["sqlite3", str(db), ".mode csv", f".import {path} t"], check=True, capture_output=True
        )
        return time.perf_counter() - start


def _psql(url: str, *commands: str) -> None:
    args = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url]
    for command in commands:
        args += ["-c", command]
    subprocess.run(args, check=True, capture_output=True)


def _pg_url(database: str) -> str:
    return PG_URL.rsplit("/", 1)[0] + "/" + database


def _pg_database() -> str:
    name = f"survey_bench_{uuid.uuid4().hex[:10]}"
    _psql(PG_URL, f"CREATE DATABASE {name}")
    return name


def _pg_drop(name: str) -> None:
    _psql(PG_URL, f"DROP DATABASE IF EXISTS {name}")


def psql_copy_seconds(path: Path) -> float:
    """``psql \\copy`` of the file into six text columns (no validation at all)."""
    name = _pg_database()
    try:
        url = _pg_url(name)
        columns = ", ".join(f"c{i} text" for i in range(6))
        _psql(url, f"CREATE TABLE t ({columns})")
        start = time.perf_counter()
        _psql(url, f"\\copy t from '{path}' with (format csv, encoding 'GBK')")
        return time.perf_counter() - start
    finally:
        _pg_drop(name)


def child(path: str, database_url: str | None = None, copy_format: str = "binary") -> None:
    """Run one import in this process and print its figures as JSON."""
    sys.path.insert(0, str(ROOT))
    from survey_service.lists import copy_writer

    copy_writer.BINARY = copy_format == "binary"
    from survey_service import create_app
    from survey_service.db import get_session, transaction
    from survey_service.lists.importing import import_client_list
    from survey_service.migrations import upgrade
    from survey_service.models import Unit
    from survey_service.privacy.vault import new_data_key
    from survey_service.setup.waves import open_wave

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SURVEY_INSTANCE_PATH"] = tmp
        app = create_app(
            {
                "DATABASE_URL": database_url or f"sqlite:///{tmp}/bench.sqlite",
                "SECRET_KEY": "bench",
                "SURVEY_DATA_KEY": new_data_key(),
            }
        )
        with app.app_context():
            upgrade(app.extensions["engine"])
            session = get_session()
            with transaction(session):
                unit = Unit(code="JC001", name="基准单位", category="基层站所")
                session.add(unit)
                wave = open_wave(session=session, name="2017", script_id="short_demo")
            start = time.perf_counter()
            with transaction(session):
                server = _ServerCpu(session)
                cl = import_client_list(
                    session=session,
                    unit=unit,
                    wave=wave,
                    content=Path(path),
                    filename=Path(path).name,
                    vault=app.extensions["phone_vault"],
                )
                server_cpu = server.seconds()
            seconds = time.perf_counter() - start
            result = {
                "cpu_server": server_cpu,
                "seconds": seconds,
                "accepted": cl.n_accepted,
                "rejected": cl.n_rejected,
                "skipped": cl.n_skipped,
                "encoding": cl.encoding,
                "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "helper_max_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                "cpu_self": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),
                "cpu_helper": sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2]),
            }
        app.extensions["engine"].dispose()
    print(json.dumps(result))


class _ServerCpu:
    """CPU seconds of the PostgreSQL backend serving the import, if it runs on this machine."""

    def __init__(self, session) -> None:
        connection = session.connection()
        self._pid = None
        if connection.dialect.name == "postgresql":
            self._pid = connection.exec_driver_sql("select pg_backend_pid()").scalar()
        self._start = self._read()

    def _read(self) -> float | None:
        try:
            with open(f"/proc/{self._pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, TypeError):
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def seconds(self) -> float | None:
        """CPU used since creation (before the commit), or None (SQLite, a remote server)."""
        end = self._read() if self._start is not None else None
        return None if end is None else end - self._start


def run_child(path: Path, database_url: str | None = None, copy_format: str = "binary") -> dict:
    args = [sys.executable, __file__, "--child", str(path), "--copy-format", copy_format]
    if database_url:
        args += ["--database-url", database_url]
    out = subprocess.run(args, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_pg_child(path: Path, copy_format: str) -> dict:
    """One import into a fresh, migrated PostgreSQL database, dropped afterwards."""
    name = _pg_database()
    try:
        url = _pg_url(name).replace("postgresql://", "postgresql+psycopg://", 1)
        return run_child(path, url, copy_format)
    finally:
        _pg_drop(name)


def command_env(tmp: str, database_url: str | None = None) -> dict:
    """An instance with a migrated database (SQLite by default), unit JC001 and an open wave."""
    env = dict(os.environ)
    env.update(
        SURVEY_INSTANCE_PATH=tmp,
        DATABASE_URL=database_url or f"sqlite:///{tmp}/bench.sqlite",
        SECRET_KEY="bench-" + uuid.uuid4().hex,
        SURVEY_DATA_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode(),
    )
    setup = (
        "from survey_service import create_app\n"
        "from survey_service.db import get_session, transaction\n"
        "from survey_service.migrations import upgrade\n"
        "from survey_service.models import Unit\n"
        "from survey_service.setup.waves import open_wave\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    upgrade(app.extensions['engine'])\n"
        "    session = get_session()\n"
        "    with transaction(session):\n"
        "        session.add(Unit(code='JC001', name='基准单位', category='基层站所'))\n"
        "        open_wave(session=session, name='2017', script_id='short_demo')\n"
    )
    subprocess.run([sys.executable, "-c", setup], cwd=ROOT, env=env, check=True)
    return env


def command_seconds(path: Path, database_url: str | None = None) -> tuple[float, float, str]:
    """Wall seconds and CPU seconds (with the helper) of ``clients import``, and its output."""
    flask = str(Path(sys.executable).with_name("flask"))
    with tempfile.TemporaryDirectory() as tmp:
        env = command_env(tmp, database_url)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        out = subprocess.run(
            [flask, "--app", "wsgi", "clients", "import", str(path), "--unit", "JC001"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, out.stdout.strip()


def pg_command_seconds(path: Path) -> tuple[float, float, str]:
    """:func:`command_seconds` into a fresh PostgreSQL database, dropped afterwards."""
    name = _pg_database()
    try:
        url = _pg_url(name).replace("postgresql://", "postgresql+psycopg://", 1)
        return command_seconds(path, url)
    finally:
        _pg_drop(name)


def command_bench(args) -> None:
    """The whole ``clients import`` command against ``.import`` (3×) or ``\\copy`` (5×), per mix."""
    postgres = args.backend == "postgres"
    yardstick, target = ("psql \\copy", TARGET) if postgres else (".import", COMMAND_TARGET)
    for mix in MIXES:
        path = generate(args.rows, mix)
        ratios, runs, plains = [], [], []
        for _ in range(args.repeat):
            if postgres:
                plain = psql_copy_seconds(path)
                seconds, cpu, output = pg_command_seconds(path)
            else:
                plain = sqlite_import_seconds(path)
                seconds, cpu, output = command_seconds(path)
            plains.append(plain)
            runs.append((seconds, cpu))
            ratios.append(seconds / plain)
        ratios.sort()
        median = ratios[len(ratios) // 2]
        verdict = "met" if median <= target else "MISSED"
        where = "PostgreSQL" if postgres else "SQLite"
        print(
            f"`clients import` command ({where}), {args.rows:,} rows GBK CSV, mix {mix}: {output}"
        )
        print(
            f"  ratio          : {median:7.2f} x {yardstick}  (target <= {target:g}x:"
            f" {verdict}; median of {args.repeat}: " + ", ".join(f"{r:.2f}" for r in ratios) + ")"
        )
        print(
            "  all runs       : command "
            + ", ".join(f"{s:.2f} s ({c:.1f} CPU-s)" for s, c in runs)
            + f"; {yardstick} "
            + ", ".join(f"{p:.2f}" for p in plains)
            + " s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--copy-format", choices=("binary", "text"), default="binary")
    parser.add_argument(
        "--command",
        action="store_true",
        help="time the whole clients import command (SQLite, or --backend postgres)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.database_url, args.copy_format)
        return
    compile_bytecode(ROOT)
    if args.command:
        command_bench(args)
        return
    big = generate(args.rows)
    if args.backend in ("sqlite", "both"):
        small = generate(args.rows // 10)
        small_run = run_child(small)
        plains, big_runs = [], []
        for _ in range(args.repeat):
            plains.append(sqlite_import_seconds(big))
            big_runs.append(run_child(big))
        report(args, big, "SQLite", "sqlite3 .import", plains, big_runs, small_run)
    if args.backend in ("postgres", "both"):
        plains, big_runs = [], []
        for _ in range(args.repeat):
            plains.append(psql_copy_seconds(big))
            big_runs.append(run_pg_child(big, args.copy_format))
        label = f"PostgreSQL (COPY {args.copy_format})"
        report(args, big, label, "psql \\copy", plains, big_runs, None)


def report(args, big: Path, backend: str, yardstick: str, plains, big_runs, small_run) -> None:
    ratios = sorted(r["seconds"] / p for r, p in zip(big_runs, plains, strict=True))
    median_ratio = ratios[len(ratios) // 2]
    plain = min(plains)
    big_run = min(big_runs, key=lambda r: r["seconds"])
    rows = big_run["accepted"] + big_run["rejected"]
    size_mib = big.stat().st_size / 2**20
    print(
        f"client-list import into {backend}, {args.rows:,} data rows GBK CSV ({size_mib:.0f} MiB)"
    )
    print(
        f"  service import : {big_run['seconds']:7.2f} s  {rows / big_run['seconds']:>9,.0f} rows/s"
        f"  ({big_run['accepted']:,} accepted, {big_run['rejected']:,} rejected,"
        f" encoding {big_run['encoding']})"
    )
    print(f"  {yardstick:<15}: {plain:7.2f} s  {args.rows / plain:>9,.0f} rows/s (no validation)")
    verdict = "met" if median_ratio <= TARGET else "MISSED"
    print(
        f"  ratio          : {median_ratio:7.2f} x  (target <= {TARGET:g}x: {verdict}; median of"
        f" {args.repeat} runs, each against the {yardstick} just before it: "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + ")"
    )
    print(
        "  all runs       : import "
        + ", ".join(f"{r['seconds']:.2f}" for r in big_runs)
        + f" s; {yardstick} "
        + ", ".join(f"{p:.2f}" for p in plains)
        + " s (the best of each is shown above)"
    )
    print(
        f"  CPU time       : importer {big_run['cpu_self']:.1f} s (with start-up),"
        f" parsing helper {big_run['cpu_helper']:.1f} s"
        + (
            f", PostgreSQL backend {big_run['cpu_server']:.1f} s (before the commit)"
            if big_run.get("cpu_server") is not None
            else ""
        )
    )
    print(
        f"  peak memory    : importer {big_run['max_rss_mb']:.0f} MiB + parsing helper "
        f"{big_run['helper_max_rss_mb']:.0f} MiB for {args.rows:,} rows"
    )
    if small_run:
        print(
            f"                   importer {small_run['max_rss_mb']:.0f} MiB + parsing helper "
            f"{small_run['helper_max_rss_mb']:.0f} MiB for {args.rows // 10:,} rows"
        )


if __name__ == "__main__":
    main()
