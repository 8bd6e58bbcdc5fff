"""Two API hosts on one PostgreSQL: separate processes on separate loopback addresses (127.0.0.2 and
127.0.0.3), each with its own caches, as two machines behind a load balancer would run.

- a write through host A shows in host B's derived answers within the staleness bound, and the
  deployment spends one analysis computation on it (the store's ``analysis_computations`` counter), not
  one per host;
- the host holding a computation's lock is killed (SIGKILL) mid-job: its session, and with it the
  advisory lock, dies; host B takes the job over and answers with the new data.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotspots.access import accounts
from hotspots.access.accounts import Role
from hotspots.analysis.snapshots import computations
from hotspots.config import Settings
from hotspots.geo.areas import Areas
from hotspots.ingest import pipeline as ingest
from hotspots.store.engine import dataset_version, open_store
from tests.reliability.conftest import write_reports_csv

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
HOSTS = ("127.0.0.2", "127.0.0.3")
MAX_STALENESS_S = 2.0
#: One analysis of the test's store takes well under this on a busy two-core machine.
COMPUTE_SLACK_S = 10.0
SUMMARY = "/statistics/summary?window=28d"


class Host(NamedTuple):
    url: str
    process: subprocess.Popen[bytes]


class Deployment(NamedTuple):
    engine: Engine
    settings: Settings
    key: str
    hosts: tuple[Host, Host]


def _free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        port: int = sock.getsockname()[1]
        return port


def _start(address: str, database_url: str, log: Path) -> Host:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(log.parent),
        "HOTSPOTS_DATABASE_URL": database_url,
        "HOTSPOTS_SECRET_KEY": os.environ["HOTSPOTS_SECRET_KEY"],
        "HOTSPOTS_PERMUTATIONS": "99",
        "HOTSPOTS_MAX_STALENESS_S": str(MAX_STALENESS_S),
    }
    port = _free_port(address)
    command = [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory", "--log-level", "warning"]
    command += ["--host", address, "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://{address}:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return Host(url, process)
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def deployment(pg_database: str, tmp_path: Path, areas: Areas) -> Iterator[Deployment]:
    for address in HOSTS:  # Linux routes all of 127/8 to lo; elsewhere these addresses may not exist
        try:
            _free_port(address)
        except OSError as exc:
            pytest.skip(f"loopback address {address} not usable: {exc}")
    with sa.create_engine(pg_database, poolclass=sa.pool.NullPool).begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    settings = Settings(database_url=pg_database, permutations=99)
    engine = open_store(settings)
    csv = write_reports_csv(tmp_path / "reports.csv", 6000, prefix="base", days=20)
    ingest.import_file(engine, csv, settings=settings, areas=areas)
    accounts.add_user(engine, "multihost-analyst", Role.ANALYST)  # writes reports, reads statistics
    key = accounts.create_key(engine, "multihost-analyst")
    started: list[Host] = []
    try:
        for n, address in enumerate(HOSTS):
            started.append(_start(address, pg_database, tmp_path / f"host{n}.log"))
        yield Deployment(engine, settings, key, (started[0], started[1]))
    finally:
        for host in started:
            _stop(host.process)
        engine.dispose()


def _version_served(host: Host, key: str) -> int:
    response = httpx.get(host.url + SUMMARY, headers={"X-API-Key": key}, timeout=60)
    assert response.status_code == 200, response.text
    assert int(response.headers["X-Dataset-Version"]) == response.json()["dataset_version"]
    return int(response.json()["dataset_version"])


def _until_served(host: Host, key: str, version: int, within_s: float) -> float:
    """Seconds until ``host`` answers with ``version`` or newer (fails after ``within_s``)."""
    began = time.monotonic()
    while _version_served(host, key) < version:
        assert time.monotonic() - began < within_s, f"{host.url} still serves an older version"
        time.sleep(0.1)
    return time.monotonic() - began


def _write(deployment: Deployment, host: Host, source_id: str) -> int:
    """One report POSTed to ``host``; the dataset version it committed."""
    report = {
        "source": "police",
        "source_id": source_id,
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 3600)),
        "category": "observed_dealing",
        "lat": 59.2712,
        "lon": 15.2133,
    }
    response = httpx.post(
        host.url + "/reports", json=report, headers={"X-API-Key": deployment.key}, timeout=60
    )
    assert response.status_code == 201, response.text
    return dataset_version(deployment.engine)


def test_a_write_through_one_host_shows_on_the_other_after_one_computation(deployment: Deployment) -> None:
    a, b = deployment.hosts
    first = _version_served(a, deployment.key)
    assert _version_served(b, deployment.key) == first
    assert computations(deployment.engine) == 1  # B loaded what A computed

    for n in range(3):
        version = _write(deployment, a, f"multihost-{n}")
        seen = _until_served(b, deployment.key, version, MAX_STALENESS_S + COMPUTE_SLACK_S)
        assert seen <= MAX_STALENESS_S + COMPUTE_SLACK_S
        _until_served(a, deployment.key, version, MAX_STALENESS_S + COMPUTE_SLACK_S)
        assert computations(deployment.engine) == 1 + (n + 1)  # one per write, for both hosts


def test_killing_the_host_that_computes_lets_the_other_take_over(deployment: Deployment) -> None:
    a, b = deployment.hosts
    _version_served(a, deployment.key)
    _version_served(b, deployment.key)
    before = computations(deployment.engine)
    version = _write(deployment, b, "multihost-kill")  # written through B; only A is asked to compute

    holding = sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")
    httpx.get(a.url + SUMMARY, headers={"X-API-Key": deployment.key}, timeout=60)  # starts A's refresh
    deadline = time.monotonic() + 30
    with deployment.engine.connect() as conn:
        while not conn.execute(holding).scalar():
            assert time.monotonic() < deadline, "host A never took the computation lock"
            time.sleep(0.005)
    os.kill(a.process.pid, signal.SIGKILL)
    a.process.wait(10)
    assert computations(deployment.engine) == before  # A died before storing anything

    _until_served(b, deployment.key, version, MAX_STALENESS_S + COMPUTE_SLACK_S)
    assert computations(deployment.engine) == before + 1
    with deployment.engine.connect() as conn:
        assert conn.execute(holding).scalar() == 0
