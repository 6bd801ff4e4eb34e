"""SQL statements and CPU per IVR webhook (voice, gather, status), one call at a time.

The district of ``bench_ivr.py`` (PostgreSQL by default, ``--sqlite`` for a
SQLite file): ``--calls`` IVR calls dialled in one round at ``--at`` (default:
now; e.g. ``2017-11-01T11:00:00+00:00`` for the bench's old fixed evening),
then played one after another through Flask's test client in this process by
the simulated phone network (every respondent answers every item; status
callbacks out of order and twice, some presses resent, as in the bench). Per
webhook kind it prints the statements (an engine event), the CPU time of this
process (``time.process_time``: the database server's work is not in it) and
the wall time (which has it) as medians and maxima, and the PostgreSQL
backends' CPU per request (all kinds together). ``--show`` prints the
statements of the first request of each kind; ``--profile`` a cProfile of all
requests (top ``PROFILE_LINES``, 40, by ``PROFILE_SORT``, cumulative by default;
``PROFILE_FILTER`` keeps the functions whose path matches; ``PROFILE_KIND``
profiles only the requests of that kind).

``--count`` adds the Python and C function calls per request (median; a
measure of the work that other processes on the machine do not change).

    python bench/profile_ivr.py [--calls 200] [--at ISO] [--sqlite] [--show] [--profile] [--count]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadlib
from profile_calls import PASSWORD, sqlite_database

KINDS = ("voice", "gather", "status", "recording")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--at", default=None, help="the dialling time (ISO, with offset)")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--show", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--count",
        action="store_true",
        help="also count the Python and C function calls per request (load-independent)",
    )
    args = parser.parse_args()
    if not args.sqlite and not loadlib.postgres_available():
        print("  skipped: PostgreSQL does not answer at", loadlib.PG_ADMIN_URL)
        return 0
    at = datetime.fromisoformat(args.at) if args.at else datetime.now(UTC)
    database = sqlite_database() if args.sqlite else loadlib.throwaway_database("h2_profile_ivr")
    with database as url:
        loadlib.seed_district(
            url,
            units=10,
            per_unit=-(-args.calls // 10),
            agents=0,
            password=PASSWORD,
            script_id="short_demo",
        )

        from survey_service import create_app
        from survey_service.calls import dialling
        from survey_service.calls.telephony.simulated import (
            FlaskClientTransport,
            SimulatedProvider,
        )
        from survey_service.calls.telephony.simulated_network import (
            SimulatedNetwork,
            parse_settings,
        )
        from survey_service.db import get_session, transaction

        app = create_app(loadlib.app_config(url))
        provider = SimulatedProvider.from_config(app.config, seed=15)
        app.extensions["telephony"] = provider
        with app.app_context():
            session = get_session()
            with transaction(session):
                dialling.dial_due_cases(
                    session,
                    provider=provider,
                    vault=app.extensions["phone_vault"],
                    limit=args.calls,
                    now=at,
                    webhook_base="http://localhost",
                    token_key=app.config["SECRET_KEY"],
                )
        calls = provider.take_calls()

        statements, timings = loadlib.record_statements(app.extensions["engine"])

        counts: dict[str, list[int]] = defaultdict(list)
        functions: dict[str, list[int]] = defaultdict(list)
        called = [0]

        def count_calls(_frame, event, _arg):
            if event in ("call", "c_call"):
                called[0] += 1

        cpu: dict[str, list[float]] = defaultdict(list)
        wall: dict[str, list[float]] = defaultdict(list)
        shown: set[str] = set()
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)  # CPU, not waits
        only_kind = os.environ.get("PROFILE_KIND", "")  # profile only this webhook kind

        class Measured(FlaskClientTransport):
            def post(self, url, params, headers):
                kind = next((k for k in KINDS if f"/{k}" in url), "other")
                statements.clear()
                timings.clear()
                profiled = profiler is not None and kind.startswith(only_kind)
                if profiled:
                    profiler.enable()
                called[0] = 0
                if args.count:
                    sys.setprofile(count_calls)
                started, clock = time.process_time(), time.perf_counter()
                answer = super().post(url, params, headers)
                cpu[kind].append(time.process_time() - started)
                wall[kind].append(time.perf_counter() - clock)
                if args.count:
                    sys.setprofile(None)
                    functions[kind].append(called[0])
                if profiled:
                    profiler.disable()
                counts[kind].append(len(statements))
                if args.show and kind not in shown:
                    shown.add(kind)
                    print(f"--- {kind}: {len(statements)} statements")
                    for sql, seconds in zip(statements, timings, strict=True):
                        print(f"    {seconds * 1000:6.1f} ms", " ".join(sql.split())[:300])
                return answer

        settings = parse_settings(
            {
                "seed": 15,
                "behaviour": {"answer": 1},
                "callbacks": {
                    "swap_early": 0.2,
                    "late_early": 0.15,
                    "repeat_end": 0.2,
                    "resend_press": 0.05,
                },
            }
        )
        network = SimulatedNetwork(settings, Measured(app.test_client()), provider.auth_token)
        database_before = {} if args.sqlite else loadlib.database_cpu(url)
        for call in calls:
            network.play(call)
        database = (
            None if args.sqlite else loadlib.cpu_between(database_before, loadlib.database_cpu(url))
        )
        backend = "SQLite" if args.sqlite else "PostgreSQL"
        print(f"  {backend}, {len(calls)} calls dialled at {at.isoformat(timespec='seconds')}")
        if database is not None:
            total = sum(len(values) for values in counts.values())
            print(
                f"  PostgreSQL backends' CPU {database:.2f} s, {database / total * 1000:.2f} ms"
                f" per request ({total})"
            )
        for kind in KINDS:
            if not counts[kind]:
                continue
            print(
                f"  {kind}: {len(counts[kind])} requests, statements median "
                f"{statistics.median(counts[kind]):g} (max {max(counts[kind])}), CPU median "
                f"{statistics.median(cpu[kind]) * 1000:.2f} ms (mean "
                f"{statistics.mean(cpu[kind]) * 1000:.2f}), wall median "
                f"{statistics.median(wall[kind]) * 1000:.2f} ms"
                + (
                    f", function calls median {statistics.median(functions[kind]):g}"
                    if functions[kind]
                    else ""
                )
            )
        if profiler is not None:
            import pstats

            order = os.environ.get("PROFILE_SORT", "cumulative")
            only = os.environ.get("PROFILE_FILTER", "")  # a regular expression of paths
            lines = int(os.environ.get("PROFILE_LINES", "40"))
            pstats.Stats(profiler).sort_stats(order).print_stats(only, lines)
        app.extensions["engine"].dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
