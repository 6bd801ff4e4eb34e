"""IVR load: simultaneous simulated calls through the real webhooks over HTTP.

A throw-away PostgreSQL database with one open wave (script ``short_demo``),
the app under gunicorn on loopback, the IVR dialling ``--calls`` cases in one
round (now, or at ``--at``), then one thread per call playing it
with the simulated phone network: signed Twilio-style webhooks, numbered
status callbacks (some out of order, some twice), some key presses resent,
``--pause`` seconds between key presses, the calls starting over ``--ramp``
seconds. ``--agents`` agents can work the same wave through /calls/next
meanwhile. Everything is bounded by
``--seconds`` (calls still going then are abandoned) and stops by itself.

Prints p50/p99 latency per webhook kind (voice, gather, status) and the
answers stored against the answers sent (distinct item per call): nothing
lost, nothing stored twice. A missed target is reported, never raised.

    python bench/bench_ivr.py [--calls 500] [--seconds 60] [--agents 3]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadlib
from bench_calls import PASSWORD, Agent

KINDS = ("voice", "gather", "status")


def seed(url: str, *, cases: int, agents: int) -> None:
    """10 units with approved lists and a draw of ``cases`` released cases; agent logins."""
    loadlib.seed_district(
        url,
        units=10,
        per_unit=-(-cases // 10),
        agents=agents,
        password=PASSWORD,
        script_id="short_demo",
    )


def dial(url: str, base: str, *, calls: int, at: datetime | None = None):
    """One IVR dialling round of ``calls`` cases; the placed calls."""
    from survey_service import create_app
    from survey_service.calls import dialling
    from survey_service.calls.telephony.simulated import SimulatedProvider
    from survey_service.db import get_session, transaction

    app = create_app(loadlib.app_config(url))
    provider = SimulatedProvider.from_config(app.config, seed=15)
    with app.app_context():
        session = get_session()
        with transaction(session):
            dialling.dial_due_cases(
                session,
                provider=provider,
                vault=app.extensions["phone_vault"],
                limit=calls,
                # Now (the wave calls round the clock): a claim dated in the past would be
                # an idle claim at once, given back by the agents' next take-next mid-call.
                now=at or datetime.now(UTC),
                webhook_base=base,
                token_key=app.config["SECRET_KEY"],
            )
    app.extensions["engine"].dispose()
    return provider, provider.take_calls()


class TimedTransport:
    """HTTP posts timed per webhook kind; a think pause before each key press."""

    def __init__(self, stats, pause: tuple[float, float], deadline: float, rng: random.Random):
        from survey_service.calls.telephony.simulated import HttpTransport

        self._http = HttpTransport(timeout=30)
        self.stats, self.pause, self.deadline, self.rng = stats, pause, deadline, rng

    def post(self, url, params, headers):
        kind = next((k for k in KINDS if f"/{k}" in url), "other")
        if kind == "gather" and self.pause[1] > 0:
            time.sleep(self.rng.uniform(*self.pause))
        if time.monotonic() > self.deadline:
            raise TimeoutError("the benchmark's time is up")
        started = time.monotonic()
        status, body = self._http.post(url, params, headers)
        self.stats.add(kind, time.monotonic() - started, status)
        if status >= 400 and os.environ.get("BENCH_SHOW_ERRORS"):
            print(f"  {kind} {status} {url} {dict(params)} {body[:300]!r}", flush=True)
        if kind == "gather" and 200 <= status < 300 and params.get("Digits"):
            item = url.rstrip("/").split("/")[-2]
            with self.stats.lock:  # sent: the service acknowledged the key press
                self.stats.sent.add((params["CallSid"], item))
        return status, body


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.codes: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.sent: set[tuple[str, str]] = set()
        self.unfinished = 0
        self.empty = 0

    def add(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            self.latency[kind].append(seconds)
            if status >= 400:
                self.errors[kind] += 1
                self.codes[kind][status] += 1


def play(network_cls, settings, call, token, stats, pause, deadline, start_at):
    time.sleep(max(0.0, start_at - time.monotonic()))
    transport = TimedTransport(stats, pause, deadline, random.Random(call.call_id))
    network = network_cls(settings, transport, token)
    try:
        _plan, respondent = network.respondent(call)
        respondent.take(call)
    except Exception:
        with stats.lock:
            stats.unfinished += 1


def stored_answers(url: str) -> tuple[int, set[tuple[str, str]]]:
    """(answer rows, distinct (provider call id, item)) in the database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM answer")).scalar_one()
        keys = conn.execute(
            text(
                "SELECT DISTINCT a.provider_call_id, n.item_id FROM answer n"
                " JOIN call_attempt a ON a.id = n.attempt_id"
            )
        ).all()
    engine.dispose()
    return int(rows), {(call_id, item) for call_id, item in keys}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--pause", type=float, nargs=2, default=(5.0, 15.0))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds over which calls start")
    parser.add_argument(
        "--at",
        default=None,
        help="dial at this time (ISO with offset) instead of now, e.g. 2017-11-01T11:00:00+00:00",
    )
    args = parser.parse_args()
    if not loadlib.postgres_available():
        print("  skipped: PostgreSQL does not answer at", loadlib.PG_ADMIN_URL)
        return 0
    from survey_service.calls.telephony.simulated_network import SimulatedNetwork, parse_settings

    # Everyone answers every item (so sent and stored answers compare one to one);
    # the callbacks misbehave as on a real network.
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
    with loadlib.throwaway_database("bench_ivr") as url:
        seed(url, cases=args.calls + 20 * args.agents, agents=args.agents)
        with loadlib.gunicorn(url, workers=args.workers) as base:
            at = datetime.fromisoformat(args.at) if args.at else None
            provider, calls = dial(url, base, calls=args.calls, at=at)
            stats = Stats()
            # Agents log in before the clock starts (a log-in hashes a password).
            agent_sessions = [
                loadlib.login(base, f"agent{i}", PASSWORD) for i in range(args.agents)
            ]
            deadline = time.monotonic() + args.seconds
            threads = [
                threading.Thread(
                    target=play,
                    args=(
                        SimulatedNetwork,
                        settings,
                        call,
                        provider.auth_token,
                        stats,
                        args.pause,
                        deadline,
                        time.monotonic() + args.ramp * n / max(1, len(calls)),
                    ),
                    daemon=True,
                )
                for n, call in enumerate(calls)
            ]
            threads += [Agent(base, http, deadline, stats) for http in agent_sessions]
            started = time.monotonic()
            cpu_before = loadlib.server_cpu(base), loadlib.database_cpu(url), time.process_time()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(max(1.0, deadline - time.monotonic() + 60))
            elapsed = time.monotonic() - started
            server = loadlib.server_cpu(base) - cpu_before[0]
            database = loadlib.cpu_between(cpu_before[1], loadlib.database_cpu(url))
            client = time.process_time() - cpu_before[2]
        rows, stored = stored_answers(url)
    print(
        f"  {len(calls)} simultaneous IVR calls, {args.agents} agents, {elapsed:.1f} s, "
        f"started over {args.ramp:g} s, pause {args.pause[0]:g}-{args.pause[1]:g} s, "
        f"gunicorn -w {args.workers}, calls cut off by the time limit {stats.unfinished}",
        flush=True,
    )
    requests = sum(len(values) for values in stats.latency.values())
    print(
        f"  CPU during the run: gunicorn {server:.1f} s, PostgreSQL backends {database:.1f} s,"
        f" this client {client:.1f} s; per request ({requests}): gunicorn"
        f" {server / max(1, requests) * 1000:.1f} ms, PostgreSQL"
        f" {database / max(1, requests) * 1000:.1f} ms",
        flush=True,
    )
    worst = 0.0
    for kind in (*KINDS, "take-next", "record-outcome"):
        values = stats.latency[kind]
        if not values:
            continue
        p50 = loadlib.percentile(values, 0.5) * 1000
        p99 = loadlib.percentile(values, 0.99) * 1000
        if kind in KINDS:
            worst = max(worst, p99)
        print(
            f"  {kind}: {len(values)} requests, p50 {p50:.0f} ms, p99 {p99:.0f} ms, "
            f"errors {stats.errors[kind]}"
            + (f" (HTTP {dict(sorted(stats.codes[kind].items()))})" if stats.errors[kind] else ""),
            flush=True,
        )
    loadlib.report("worst webhook p99 ms", round(worst), "< 50", worst < 50)
    lost = len(stats.sent - stored)
    unacknowledged = len(stored - stats.sent)  # stored, but the reply came too late
    print(
        f"  answers sent (acknowledged) {len(stats.sent)}, stored {rows}, "
        f"stored without an acknowledged reply {unacknowledged}",
        flush=True,
    )
    loadlib.report("answers lost", lost, "0", lost == 0)
    loadlib.report("answers stored twice", rows - len(stored), "0", rows == len(stored))
    return 0


if __name__ == "__main__":
    sys.exit(main())
