"""First run: a fresh clone, ``make run``, until ``/health`` answers; and ``hotspots --help``'s start-up.

    .venv/bin/python bench/first_run.py [--repo .] [--port 8765] [--runs 5]

Clones the repository's committed HEAD into a temporary folder (so nothing of this checkout's venv or
``var/`` is reused: only pip's download cache is warm, as on a machine that installed once before), runs
``make run`` with its own port and store, and times each phase from the make output until
``GET /health`` answers 200. Then times ``hotspots --help`` in that venv beside ``python -c pass`` (the
interpreter's own start, the floor). Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

TARGET_S = 90.0
HELP_TARGET_S = 0.8


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def first_run(repo: Path, port: int, workdir: Path) -> dict[str, float]:
    clone = workdir / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    env = os.environ | {"HOTSPOTS_DATABASE_URL": f"sqlite:///{clone / 'var' / 'hotspots.db'}"}
    env.pop("VIRTUAL_ENV", None)
    t0 = time.perf_counter()
    make = subprocess.Popen(
        ["make", "run", f"PORT={port}"], cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    marks: dict[str, float] = {}

    def watch() -> None:  # when each make step starts, from its echoed command line
        assert make.stdout is not None
        for line in make.stdout:
            for step in ("demo-data", "import", "demo-measures", "compute", "demo-logins", "serve"):
                if f"hotspots {step}" in line and step not in marks:
                    marks[step] = time.perf_counter() - t0

    threading.Thread(target=watch, daemon=True).start()
    try:
        while not _healthy(port):
            if make.poll() is not None:
                raise SystemExit(f"make run ended with {make.returncode} before /health answered")
            time.sleep(0.2)
        marks["health"] = time.perf_counter() - t0
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=30)
    return marks


def startup(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        marks = first_run(args.repo, args.port, Path(tmp))
        venv = Path(tmp) / "clone" / ".venv" / "bin"
        help_s = startup([str(venv / "hotspots"), "--help"], args.runs)
        floor_s = startup([str(venv / "python"), "-c", "pass"], args.runs)
    print(f"fresh clone -> make run -> /health: {marks['health']:.1f} s (target <= {TARGET_S:.0f} s)")
    for step, at in marks.items():
        print(f"  {step:14s} started at {at:6.1f} s")
    print(f"hotspots --help: {help_s:.2f} s (target <= {HELP_TARGET_S}); python -c pass: {floor_s:.2f} s")
    print(
        json.dumps({"first_run_s": marks["health"], "phases_s": marks, "help_s": help_s, "python_s": floor_s})
    )


if __name__ == "__main__":
    sys.exit(main())
