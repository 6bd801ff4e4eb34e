"""Benchmark of the command line's start-up: ``flask --app wsgi COMMAND`` against its floor.

Run from the project root::

    .venv/bin/python bench/bench_startup.py [--runs 10] [--compare OLD_TREE]

Times, in rounds (each round runs every command once, in turn, so that a
change of load hits them all alike), ``python -c pass``, ``python -c "import
flask"`` (Flask, werkzeug, click, jinja2: the floor of any ``flask`` command),
``clients check`` of a 3-row CSV, ``calls plan --json`` of a one-case file,
``flask --help``, and ``import wsgi`` (the web app, as gunicorn loads it). For
each: the median and best wall time, the median CPU time (user + system, from
the child's rusage) and the largest resident size; the commands' median wall
time as a ratio to the two floors measured in the same rounds. Target:
``clients check`` and ``calls plan`` under 0.5 s wall on a quiet machine.
A missed target is printed as MISSED TARGET and the run still exits 0 (a
shared machine is noisy: read the CPU times and the ratios there).

``--compare OLD_TREE`` (a checkout of older code, e.g. ``git worktree add
/tmp/old COMMIT``) runs its ``clients check`` in the same rounds. Both trees
get compiled bytecode first (``compileall``), as an installed service has.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 0.5


def _flask() -> list[str]:
    """The ``flask`` script beside this interpreter (as the README runs it)."""
    script = Path(sys.executable).with_name("flask")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from flask.cli import main; sys.exit(main())"]


def _commands(work: Path) -> dict[str, list[str]]:
    flask = [*_flask(), "--app", "wsgi"]
    return {
        "clients check": [*flask, "clients", "check", str(work / "list.csv")],
        "calls plan --json": [*flask, "calls", "plan", str(work / "case.json"), "--json"],
        "--help": [*flask, "--help"],
        "import wsgi (the web app)": [sys.executable, "-c", "import wsgi"],
    }


def _run_once(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and max RSS (KiB) of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{stderr}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def _env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SURVEY_INSTANCE_PATH=str(work / "instance"),
        SURVEY_DATA_KEY=base64.urlsafe_b64encode(b"b" * 32).decode(),
        SECRET_KEY="s" * 40,
        DATABASE_URL=f"sqlite:///{work / 'survey.sqlite'}",
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def compile_bytecode(tree: Path) -> None:
    """Compile the service's modules, as an installed service has them (pip compiles on install)."""
    targets = [
        str(tree / name) for name in ("survey_service", "sampling", "call_scripts", "wsgi.py")
    ]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *targets], check=True, stdout=subprocess.DEVNULL
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="Rounds (default 10).")
    parser.add_argument(
        "--compare", type=Path, help="An older tree whose clients check runs beside."
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        work = Path(tmp)
        (work / "list.csv").write_text(
            "姓名,电话\n张三,13800138000\n李四,13912345678\n王五,027-8765432\n", encoding="utf-8"
        )
        (work / "case.json").write_text(
            json.dumps({"client_kind": "群众", "now": "2017-06-05T19:00:00+08:00", "attempts": []})
        )
        env = _env(work)
        commands: dict[str, tuple[list[str], Path]] = {
            "python -c pass": ([sys.executable, "-c", "pass"], ROOT),
            "python -c 'import flask'": ([sys.executable, "-c", "import flask"], ROOT),
            **{name: (argv, ROOT) for name, argv in _commands(work).items()},
        }
        trees = [ROOT]
        if args.compare:
            old = args.compare.resolve()
            trees.append(old)
            commands[f"clients check ({old.name})"] = (
                [*_flask(), "--app", "wsgi", "clients", "check", str(work / "list.csv")],
                old,
            )
        for tree in trees:
            compile_bytecode(tree)
        for argv, cwd in commands.values():  # warm the file cache; the first run makes data.key
            _run_once(argv, cwd, env)
        samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, (argv, cwd) in commands.items():
                samples[name].append(_run_once(argv, cwd, env))

    load = os.getloadavg()
    print(f"start-up, {args.runs} rounds, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    medians = {name: statistics.median(s[0] for s in runs) for name, runs in samples.items()}
    floor_pass = medians["python -c pass"]
    floor_flask = medians["python -c 'import flask'"]
    print(
        f"{'command':32} {'wall med':>9} {'wall best':>9} {'CPU med':>8} {'RSS MiB':>8} "
        f"{'/flask':>7} {'/pass':>7}"
    )
    for name, runs in samples.items():
        wall = medians[name]
        best = min(s[0] for s in runs)
        cpu = statistics.median(s[1] for s in runs)
        rss = max(s[2] for s in runs) / 1024
        print(
            f"{name:32} {wall:9.3f} {best:9.3f} {cpu:8.3f} {rss:8.1f} "
            f"{wall / floor_flask:7.2f} {wall / floor_pass:7.1f}"
        )
    for name in ("clients check", "calls plan --json"):
        verdict = "met" if medians[name] < TARGET_SECONDS else "MISSED TARGET"
        print(f"{name}: median {medians[name]:.3f} s wall, target < {TARGET_SECONDS} s: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
