"""CPU the web process spends on a recomputation of the results, by ``RESULTS_COMPUTE``.

Seeds a district on PostgreSQL (``seed_results``, 330 units by default),
serves it under gunicorn (one worker), and for each mode stores a new
interview, loads the results page (cold) and polls it once a second until it
shows figures that include the interview. It prints the CPU seconds (user +
system, from /proc) that the gunicorn worker and its results child spent on
that, the polls' own cost (a warm page's, measured after) taken off; the
cold page's latency; and, in this process, the size of the pickled figures
and signals the child sends back and the CPU to pickle and to unpickle them.
CPU time, not wall-clock latency, so the figures hold on a loaded machine.

    python bench/bench_results_cpu.py [--units 330] [--runs 3] [--modes thread,process]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadlib
from bench_pages import new_interview
from seed_results import seed_results

PASSWORD = "bench-password-123"
TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float]:
    """(parent pid, CPU seconds user + system) of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if _stat(int(entry.name))[0] == pid:
                    found.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
    return found


def _worker_and_child() -> tuple[int, int | None]:
    """The gunicorn worker (grandchild of this process) and its results child, if any."""
    (master,) = [p for p in _children(os.getpid()) if "gunicorn" in _cmdline(p)]
    (worker,) = _children(master)
    spawned = [p for p in _children(worker) if "spawn_main" in _cmdline(p)]
    return worker, (spawned[0] if spawned else None)


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _cpu(pid: int | None) -> float:
    return 0.0 if pid is None else _stat(pid)[1]


def measure_mode(url: str, ids: dict, *, mode: str, runs: int) -> None:
    env = {"RESULTS_COMPUTE": mode, "RESULTS_WAIT_SECONDS": "0"}
    with loadlib.gunicorn(url, workers=1, threads=4, timeout=300, extra_env=env) as base:
        http = loadlib.login(base, "statistician", PASSWORD)
        # the first figures: answered 202 (正在计算…) until they are there
        while http.get(base + "/statistics/results", timeout=600).status_code == 202:
            time.sleep(0.2)
        worker, child = _worker_and_child()
        warm = []
        for _ in range(3):
            before = _cpu(worker)
            http.get(base + "/statistics/results", timeout=600)
            warm.append(_cpu(worker) - before)
        warm_cpu = statistics.median(warm)
        web, apart, cold, waited = [], [], [], []
        for _ in range(runs):
            new_interview(url, ids)
            before_web, before_child = _cpu(worker), _cpu(child)
            started = time.perf_counter()
            page = http.get(base + "/statistics/results", timeout=600).text
            cold.append(time.perf_counter() - started)
            polls = 0
            while "stale-note" in page:
                time.sleep(1.0)
                page = http.get(base + "/statistics/results", timeout=600).text
                polls += 1
            waited.append(time.perf_counter() - started)
            web.append(_cpu(worker) - before_web - polls * warm_cpu)
            apart.append(_cpu(child) - before_child)
        print(
            f"  RESULTS_COMPUTE={mode}: web process {statistics.median(web):.2f} CPU-s per"
            f" recomputation (warm page {warm_cpu * 1000:.0f} ms CPU, taken off per poll),"
            f" child {statistics.median(apart):.2f} CPU-s; cold results page"
            f" {statistics.median(cold) * 1000:.0f} ms, new figures shown after"
            f" {statistics.median(waited):.1f} s (medians of {runs})",
            flush=True,
        )


def measure_transfer(app) -> None:
    """Size and CPU of the child's reply (figures, signals, chart panels) at this size."""
    from survey_service.blueprints.results_charts import prepare_charts
    from survey_service.results import computing

    with app.app_context():
        from survey_service.db import get_session
        from survey_service.setup.waves import current_wave

        session = get_session()
        wave = current_wave(session)
        computed = computing.compute_wave(
            session, wave.id, figures=True, with_signals=True, prepare=prepare_charts
        )
        started = time.process_time()
        payload = computing.pack(("done", computed))
        packed = time.process_time() - started
        started = time.process_time()
        computing.unpack(payload)
        unpacked = time.process_time() - started
        print(
            f"  reply {len(payload) / 1e6:.1f} MB: pickled in {packed * 1000:.0f} ms CPU"
            f" (child), unpickled in {unpacked * 1000:.0f} ms CPU (web process); the"
            f" computation itself {computed.cpu_seconds:.2f} CPU-s in one process",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=330)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modes", default="thread,process")
    args = parser.parse_args()
    if not loadlib.postgres_available():
        print("  PostgreSQL does not answer: results CPU bench skipped")
        return 0
    from survey_service import create_app

    with loadlib.throwaway_database("bench_results_cpu") as url:
        app = create_app(loadlib.app_config(url))
        ids = seed_results(app, units=args.units, password=PASSWORD)
        print(f"-- {args.units} units: {ids['cases']} cases, {ids['answers']} answers", flush=True)
        measure_transfer(app)
        app.extensions["engine"].dispose()
        for mode in args.modes.split(","):
            measure_mode(url, ids, mode=mode, runs=args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
