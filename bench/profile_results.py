"""CPU seconds of one recomputation of a wave's figures (``results.computing.compute``), in-process.

Seeds a district on PostgreSQL (``seed_results``: ``--units`` units, 40 released
cases each) or reuses a database it seeded before (``--db NAME``: seeded into
``NAME`` when empty, kept afterwards; ``--drop`` drops it at the end), then runs
``compute()`` in this process: one warm-up run (imports, the script's first
load; printed, not counted) and ``--runs`` timed runs, each on a fresh session so
that no ORM object is reused. It prints each run's CPU seconds
(``time.process_time``: this process only, so the figures hold on a loaded
machine; the database server's work is not in them) and their median, and a
digest of the figures (every ``UnitResult`` field, floats by ``repr``) so that
two versions of the code can be checked to give the same figures to the last
bit. ``--pause-gc`` pauses Python's cycle collector during each run, as the
web app's results child does (``survey_service.collector.paused``). ``--profile`` prints
the cProfile (CPU clock) of the timed runs, the top ``--top`` functions by
cumulative and by own time.

    python bench/profile_results.py [--units 330] [--db NAME] [--drop] [--runs 3]
        [--pause-gc] [--profile] [--top 30]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import statistics
import sys
import time
from dataclasses import astuple
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadlib

PASSWORD = "bench-password-123"


def digest(data) -> str:
    """sha256 (first 16 hex digits) of every unit's figures, floats by their exact repr."""
    from survey_service.results import publication

    rows = publication.wave_results(None, data.wave, data=data)  # memoised by compute()
    h = hashlib.sha256()
    for row in rows:
        h.update(repr(astuple(row)).encode())
    return h.hexdigest()[:16]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=330)
    parser.add_argument("--db", metavar="NAME", help="seed into NAME if empty, keep, reuse")
    parser.add_argument("--drop", action="store_true", help="drop --db's database at the end")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pause-gc", action="store_true", help="as the results child does")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    if not loadlib.postgres_available():
        print("  skipped: PostgreSQL does not answer at", loadlib.PG_ADMIN_URL)
        return 0
    from seed_results import seed_results, seeded_ids

    from survey_service import create_app
    from survey_service.results import computing
    from survey_service.setup.waves import current_wave

    database = (
        loadlib.named_database(args.db, drop=args.drop)
        if args.db
        else loadlib.throwaway_database("profile_results")
    )
    with database as url:
        app = create_app(loadlib.app_config(url))
        ids = seeded_ids(url) if args.db else None
        if ids is None:
            started = time.perf_counter()
            ids = seed_results(app, units=args.units, password=PASSWORD)
            print(f"  seeded {args.units} units in {time.perf_counter() - started:.0f} s")
        else:
            print(f"  reusing database {args.db}")
        print(f"  {ids['cases']} cases, {ids['answers']} answers", flush=True)
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)  # CPU, not waits
        from survey_service.db import get_session

        cpu: list[float] = []
        digests = set()
        for run in range(args.runs + 1):
            with app.app_context():
                session = get_session()
                wave = current_wave(session)
                timed = run > 0
                if timed and profiler is not None:
                    profiler.enable()
                if args.pause_gc:
                    gc.disable()
                started = time.process_time()
                data = computing.compute(session, wave)
                seconds = time.process_time() - started
                gc.enable()
                if timed and profiler is not None:
                    profiler.disable()
                digests.add(digest(data))
                units = len(data.units)
                del data
            label = f"run {run}" if timed else "warm-up"
            print(f"  {label}: {seconds:.2f} CPU-s", flush=True)
            if timed:
                cpu.append(seconds)
        if cpu:
            paused = " (cycle collector paused)" if args.pause_gc else ""
            print(
                f"  compute() at {units} units{paused}:"
                f" median {statistics.median(cpu):.2f} CPU-s"
                f" (runs {', '.join(f'{s:.2f}' for s in cpu)}); figures digest"
                f" {', '.join(sorted(digests))}"
            )
        if profiler is not None:
            import pstats

            for order in ("cumulative", "tottime"):
                print(f"--- cProfile of the {args.runs} timed runs, by {order}")
                pstats.Stats(profiler).sort_stats(order).print_stats(args.top)
        app.extensions["engine"].dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
