"""Benchmark: import a generated GBK client list into SQLite, beside sqlite3's .import.

    python bench/bench_import.py [--rows 1000000]

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
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"


def generate(rows: int) -> Path:
    path = OUT / f"clientlist-{rows}-gbk.csv"
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


def child(path: str) -> None:
    """Run one import in this process and print its figures as JSON."""
    sys.path.insert(0, str(ROOT))
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
                "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite",
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
                cl = import_client_list(
                    session=session,
                    unit=unit,
                    wave=wave,
                    content=Path(path),
                    filename=Path(path).name,
                    vault=app.extensions["phone_vault"],
                )
            seconds = time.perf_counter() - start
            result = {
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


def run_child(path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    small = generate(args.rows // 10)
    big = generate(args.rows)
    small_run = run_child(small)
    plains, big_runs = [], []
    for _ in range(args.repeat):
        plains.append(sqlite_import_seconds(big))
        big_runs.append(run_child(big))
    ratios = sorted(r["seconds"] / p for r, p in zip(big_runs, plains, strict=True))
    median_ratio = ratios[len(ratios) // 2]
    plain = min(plains)
    big_run = min(big_runs, key=lambda r: r["seconds"])
    rows = big_run["accepted"] + big_run["rejected"]
    size_mib = big.stat().st_size / 2**20
    print(f"client-list import, {args.rows:,} data rows GBK CSV ({size_mib:.0f} MiB)")
    print(
        f"  service import : {big_run['seconds']:7.2f} s  {rows / big_run['seconds']:>9,.0f} rows/s"
        f"  ({big_run['accepted']:,} accepted, {big_run['rejected']:,} rejected,"
        f" encoding {big_run['encoding']})"
    )
    print(f"  sqlite3 .import: {plain:7.2f} s  {args.rows / plain:>9,.0f} rows/s (no validation)")
    print(
        f"  ratio          : {median_ratio:7.2f} x  (target <= 5x; median of {args.repeat}"
        f" runs, each against the .import just before it: "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + ")"
    )
    print(
        "  all runs       : import "
        + ", ".join(f"{r['seconds']:.2f}" for r in big_runs)
        + " s; .import "
        + ", ".join(f"{p:.2f}" for p in plains)
        + " s (the best of each is shown above)"
    )
    print(
        f"  CPU time       : importer {big_run['cpu_self']:.1f} s (with start-up),"
        f" parsing helper {big_run['cpu_helper']:.1f} s"
    )
    print(
        f"  peak memory    : importer {big_run['max_rss_mb']:.0f} MiB + parsing helper "
        f"{big_run['helper_max_rss_mb']:.0f} MiB for {args.rows:,} rows;"
    )
    print(
        f"                   importer {small_run['max_rss_mb']:.0f} MiB + parsing helper "
        f"{small_run['helper_max_rss_mb']:.0f} MiB for {args.rows // 10:,} rows"
    )


if __name__ == "__main__":
    main()
