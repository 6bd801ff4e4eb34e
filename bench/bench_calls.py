"""Call-centre load: agents claiming cases and recording outcomes over HTTP.

10,000 open cases on PostgreSQL, the app under gunicorn on loopback, 50
agents each looping take-next → record an outcome for a bounded time (60 s
by default; the logins come before the clock starts), while a statistician
loads the results page. Prints claims per
second, p50/p99 latency of each request kind, and double assignments (a case
held by two agents at once, counted from the stored attempts). A missed
target is reported, never raised.

Before the agents start, the same client threads with the same logged-in
sessions send the cheapest logged-in request of the app (``GET /``: the
session cookie, the user's row, a redirect home) for ``--floor-seconds``
against the same gunicorn: what this machine serves at all, in requests per
second. A claim is two requests (take-next, record-outcome), so the claims
per second are also printed as a share of half that floor.

    python bench/bench_calls.py [--agents 50] [--seconds 60] [--cases 10000]
                                [--floor-seconds 15]
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadlib
import requests

PASSWORD = "bench-password-123"
CASE_URL = re.compile(r"/calls/case/(\d+)")


def seed(url: str, *, cases: int, agents: int) -> None:
    """100 units with approved lists and ``cases`` released cases; the logins."""
    loadlib.seed_district(
        url,
        units=100,
        per_unit=cases // 100,
        agents=agents,
        password=PASSWORD,
        script_id="standard_satisfaction",
        statistician=True,
    )


class Agent(threading.Thread):
    """One agent's loop; logged in before the clock starts (a log-in hashes a password)."""

    def __init__(self, base: str, http, deadline: float, stats):
        super().__init__(daemon=True)
        self.base, self.http, self.deadline, self.stats = base, http, deadline, stats

    def run(self) -> None:
        http = self.http
        token = http.headers["X-CSRFToken"]
        while time.monotonic() < self.deadline:
            started = time.monotonic()
            answer = http.post(
                self.base + "/calls/next",
                data={"csrf_token": token},
                allow_redirects=False,
                timeout=30,
            )
            self.stats.add("take-next", time.monotonic() - started, answer.status_code)
            found = CASE_URL.search(answer.headers.get("Location", ""))
            if not found:
                self.stats.empty += 1
                break  # the queue is empty
            case_id = found.group(1)
            started = time.monotonic()
            answer = http.post(
                f"{self.base}/calls/case/{case_id}/end",
                data={"csrf_token": token, "outcome": "3.13"},
                allow_redirects=False,
                timeout=30,
            )
            self.stats.add("record-outcome", time.monotonic() - started, answer.status_code)


class Floor(threading.Thread):
    """The cheapest logged-in request, in a loop: ``GET /`` (a redirect home, not followed)."""

    def __init__(self, base: str, http, deadline: float, stats):
        super().__init__(daemon=True)
        self.base, self.http, self.deadline, self.stats = base, http, deadline, stats

    def run(self) -> None:
        http = self.http
        while time.monotonic() < self.deadline:
            started = time.monotonic()
            try:
                answer = http.get(self.base + "/", allow_redirects=False, timeout=30)
                status = answer.status_code if answer.status_code != 302 else 200
            except requests.ConnectionError:  # a kept-alive connection closed by gunicorn
                status = 599
            self.stats.add("floor", time.monotonic() - started, status)


def run_threads(threads: list[threading.Thread], seconds: float) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)


class Reader(threading.Thread):
    """A statistician loading the results page over and over."""

    def __init__(self, base: str, http, deadline: float, stats):
        super().__init__(daemon=True)
        self.base, self.http, self.deadline, self.stats = base, http, deadline, stats

    def run(self) -> None:
        http = self.http
        while time.monotonic() < self.deadline:
            started = time.monotonic()
            answer = http.get(self.base + "/statistics/results", timeout=60)
            self.stats.add("results-page", time.monotonic() - started, answer.status_code)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.empty = 0

    def add(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            self.latency[kind].append(seconds)
            if status >= 400:
                self.errors[kind] += 1


def doubles(url: str) -> int:
    """Cases whose agent attempts overlap in time (two agents holding one case at once)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(
            text(
                "SELECT count(*) FROM call_attempt a JOIN call_attempt b"
                " ON a.case_id = b.case_id AND a.id < b.id"
                " AND a.agent_id IS DISTINCT FROM b.agent_id"
                " AND b.started_at < coalesce(a.ended_at, 'infinity')"
                " AND a.started_at < coalesce(b.ended_at, 'infinity')"
            )
        ).scalar_one()
    engine.dispose()
    return int(count)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--floor-seconds", type=float, default=15)
    args = parser.parse_args()
    if not loadlib.postgres_available():
        print("  skipped: PostgreSQL does not answer at", loadlib.PG_ADMIN_URL)
        return 0
    with loadlib.throwaway_database("bench_calls") as url:
        seed(url, cases=args.cases, agents=args.agents)
        with loadlib.gunicorn(url, workers=args.workers) as base:
            stats = Stats()
            names = [f"agent{i}" for i in range(args.agents)] + ["statistician"]
            with ThreadPoolExecutor(4) as pool:
                sessions = list(pool.map(lambda n: loadlib.login(base, n, PASSWORD), names))
            floor_started = time.monotonic()
            deadline = floor_started + args.floor_seconds
            run_threads(
                [Floor(base, http, deadline, stats) for http in sessions[:-1]], args.floor_seconds
            )
            floor_elapsed = time.monotonic() - floor_started
            started = time.monotonic()
            deadline = started + args.seconds
            threads = [Agent(base, http, deadline, stats) for http in sessions[:-1]]
            threads.append(Reader(base, sessions[-1], deadline, stats))
            run_threads(threads, args.seconds)
            elapsed = time.monotonic() - started
        claims = len(stats.latency["take-next"]) - stats.empty
        print(
            f"  {args.agents} agents, {args.cases} cases, {elapsed:.1f} s, "
            f"gunicorn -w {args.workers}",
            flush=True,
        )
        loadlib.report(
            "claims per second", round(claims / elapsed, 1), ">= 300", claims / elapsed >= 300
        )
        floor = len(stats.latency["floor"]) / floor_elapsed if floor_elapsed else 0.0
        print(
            f"  floor (GET / logged in, {args.agents} threads, {floor_elapsed:.0f} s, no "
            f"statistician): {floor:.0f} requests/s; claims/s are "
            f"{claims / elapsed / (floor / 2) * 100 if floor else 0:.0f}% of half of it",
            flush=True,
        )
        for kind in ("floor", "take-next", "record-outcome", "results-page"):
            values = stats.latency[kind]
            p50 = loadlib.percentile(values, 0.5) * 1000
            p99 = loadlib.percentile(values, 0.99) * 1000
            print(
                f"  {kind}: {len(values)} requests, p50 {p50:.0f} ms, p99 {p99:.0f} ms, "
                f"errors {stats.errors[kind]}",
                flush=True,
            )
        p99 = loadlib.percentile(stats.latency["take-next"], 0.99) * 1000
        loadlib.report("take-next p99 ms", round(p99), "< 100", p99 < 100)
        found = doubles(url)
        loadlib.report("double assignments", found, "0", found == 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
