"""SQL statements and CPU per request of the agent's take-next and record-outcome.

The same district as ``bench_calls.py`` (PostgreSQL, 100 units, 10,000 open
cases by default), one agent through Flask's test client in this process, so
that every statement the two requests send is counted (an engine event) and
their CPU time measured (``time.process_time``, this process only: the
database server's work is not in it; the wall time has it). ``--sqlite`` runs it on a SQLite file
instead; ``--show`` prints the statements of one request of each kind;
``--profile`` prints both requests' cProfile (top 40 by ``PROFILE_SORT``,
cumulative by default; ``PROFILE_OUT`` names a file to dump it to). The
floor is the cheapest logged-in request (``GET /``: the session, the user,
a redirect home), measured the same way in the same rounds, so that the two
requests' CPU can be read against what any request costs here.

    python bench/profile_calls.py [--cases 10000] [--rounds 200] [--show]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadlib

PASSWORD = "bench-password-123"
CASE_URL = re.compile(r"/calls/case/(\d+)")


@contextlib.contextmanager
def sqlite_database():
    from survey_service import migrations
    from survey_service.db import make_engine

    folder = tempfile.mkdtemp(prefix="profile-calls-")
    url = f"sqlite:///{folder}/bench.sqlite"
    engine = make_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    yield url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--show", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if not args.sqlite and not loadlib.postgres_available():
        print("  skipped: PostgreSQL does not answer at", loadlib.PG_ADMIN_URL)
        return 0
    database = sqlite_database() if args.sqlite else loadlib.throwaway_database("profile_calls")
    with database as url:
        loadlib.seed_district(
            url,
            units=100,
            per_unit=args.cases // 100,
            agents=1,
            password=PASSWORD,
            script_id="standard_satisfaction",
        )

        from survey_service import create_app

        app = create_app({**loadlib.app_config(url), "WTF_CSRF_ENABLED": False})
        statements, timings = loadlib.record_statements(app.extensions["engine"])

        client = app.test_client()
        client.post("/auth/login", data={"username": "agent0", "password": PASSWORD})
        kinds = ("floor", "take-next", "record-outcome")
        counts: dict[str, list[int]] = {kind: [] for kind in kinds}
        cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
        wall: dict[str, list[float]] = {kind: [] for kind in kinds}
        shown: set[str] = set()
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)  # CPU, not waits

        def request(kind: str, path: str, data: dict[str, str] | None):
            statements.clear()
            timings.clear()
            profiled = profiler is not None and data is not None
            if profiled:
                profiler.enable()
            started, clock = time.process_time(), time.perf_counter()
            answer = client.get(path) if data is None else client.post(path, data=data)
            cpu[kind].append(time.process_time() - started)
            wall[kind].append(time.perf_counter() - clock)
            if profiled:
                profiler.disable()
            counts[kind].append(len(statements))
            if args.show and kind not in shown:
                shown.add(kind)
                print(f"--- {kind}: {len(statements)} statements")
                for sql, seconds in zip(statements, timings, strict=True):
                    print(f"    {seconds * 1000:6.1f} ms", " ".join(sql.split())[:300])
            return answer

        for _ in range(args.rounds):
            request("floor", "/", None)
            answer = request("take-next", "/calls/next", {})
            found = CASE_URL.search(answer.headers.get("Location", ""))
            if not found:
                break
            request("record-outcome", f"/calls/case/{found.group(1)}/end", {"outcome": "3.13"})
        backend = "SQLite" if args.sqlite else "PostgreSQL"
        print(f"  {backend}, {args.cases} cases, {len(counts['take-next'])} rounds")
        for kind in kinds:
            print(
                f"  {kind}: {max(counts[kind])} statements (max; median "
                f"{statistics.median(counts[kind]):g}), CPU median "
                f"{statistics.median(cpu[kind]) * 1000:.1f} ms, wall median "
                f"{statistics.median(wall[kind]) * 1000:.1f} ms"
            )
        pairs = [a + b for a, b in zip(cpu["take-next"], cpu["record-outcome"], strict=False)]
        pair, floor = statistics.median(pairs), statistics.median(cpu["floor"])
        print(
            f"  take-next + record-outcome: CPU median {pair * 1000:.1f} ms "
            f"(target < 8 ms), {pair / floor:.1f}x the floor's {floor * 1000:.2f} ms"
        )
        if profiler is not None:
            import pstats

            order = os.environ.get("PROFILE_SORT", "cumulative")
            if os.environ.get("PROFILE_OUT"):
                profiler.dump_stats(os.environ["PROFILE_OUT"])
            pstats.Stats(profiler).sort_stats(order).print_stats(40)
        app.extensions["engine"].dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
