"""``make run`` (bin/run): the web app and the worker as two processes; Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import DATA_KEY

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
PORT = "5106"


def _group(pgid: int) -> list[str]:
    out = subprocess.run(["pgrep", "-g", str(pgid), "-a"], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if line.strip()]


def _answers() -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/auth/login", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_run_starts_web_and_worker_and_ctrl_c_stops_both(tmp_path):
    flask = f"{sys.executable} -m flask --app wsgi"
    env = {
        **os.environ,
        "SURVEY_INSTANCE_PATH": str(tmp_path),
        "SECRET_KEY": "test-secret-key",
        "SURVEY_DATA_KEY": DATA_KEY,
        "FLASK": flask,
        "HOST": "127.0.0.1",
        "PORT": PORT,
    }
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [*flask.split(), "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    # A terminal's Ctrl-C is SIGINT to the foreground group; let the child receive it.
    log = (tmp_path / "run.log").open("w")
    run = subprocess.Popen(
        ["bin/run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not _answers():
            time.sleep(0.5)
        assert _answers(), "the web app never answered"
        processes = _group(run.pid)
        assert any("wsgi run" in p for p in processes)
        assert any("wsgi worker" in p for p in processes)
        os.killpg(run.pid, signal.SIGINT)
        assert run.wait(30) == 130
        time.sleep(1)
        assert _group(run.pid) == []
        assert not _answers()
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGTERM)
            run.wait(10)
        log.close()
