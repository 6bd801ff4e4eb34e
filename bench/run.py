"""Run every benchmark (``make bench``) and print their figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = (
    "bench_startup.py",
    "bench_import.py",
    "bench_sampling.py",
    "profile_calls.py",
    "bench_calls.py",
    "bench_ivr.py",
    "bench_pages.py",
    "bench_results_cpu.py",
    "profile_results.py",
)


def main() -> int:
    status = 0
    for name in BENCHES:
        print(f"== {name}", flush=True)
        status |= subprocess.call([sys.executable, str(HERE / name)])
    return status


if __name__ == "__main__":
    sys.exit(main())
