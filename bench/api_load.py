"""API load: 50 concurrent clients against a served demo instance on loopback; p50/p99 latency and req/s.

    .venv/bin/python bench/api_load.py [--requests 2000] [--clients 50] [--workers 2] [--weeks 26]
                                       [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Writes the seeded demo (``hotspots.demo.generate.write``) into a temporary SQLite store (with ``--postgres``: a
throwaway database on that local server, dropped afterwards), imports it, creates an
admin key, starts ``uvicorn --factory api.main:create_app`` on 127.0.0.1 at a free port and drives it
with a minimal asyncio HTTP/1.1 client. Measured per endpoint after a warm-up (the first statistics call
per worker computes the analysis; afterwards each repeated request is replayed from the worker's response
cache, ``api.response_cache``, after one read of the store's versions: what the EST map and a phone
refreshing its list hit):

1. ``/health``: the framework floor (no auth, no database): the figure the others compare against.
2. ``/statistics/summary``: cached analysis; credential and store versions checked on every request.
3. ``/statistics/hotspots`` (JSON): the same for a larger body (every hot cell).
4. ``/statistics/summary`` with ``If-None-Match``: the 304 path.
5. ``/priorities``: the cached priority list a field team's phone fetches (the issue's p99 target).

The server is stopped when the run ends (or fails). The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import numpy as np
import sqlalchemy as sa

from hotspots.access import accounts
from hotspots.access.accounts import Role
from hotspots.config import Settings
from hotspots.demo import generate as demo
from hotspots.geo.areas import load_areas
from hotspots.ingest import pipeline as ingest
from hotspots.store.engine import open_store

T = TypeVar("T")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
END = date(2026, 11, 15)
QUERY = {"end": END.isoformat(), "window": "28d"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_store(directory: Path, weeks: int, url: str | None = None) -> tuple[str, str, int]:
    """(database URL, admin API key, reports imported) for a fresh demo store (default: SQLite)."""
    url = url or f"sqlite:///{directory / 'bench.db'}"
    settings = Settings(database_url=url)
    engine = open_store(settings)
    files = demo.write(directory / "demo", weeks=weeks, seed=1, end=END, density=demo.Density.DENSE)
    result = ingest.import_file(engine, files.reports, settings=settings, areas=load_areas(settings))
    accounts.add_user(engine, "bench", Role.ADMIN)
    key = accounts.create_key(engine, "bench")
    engine.dispose()
    return url, key, result.rows_added


@contextmanager
def throwaway_postgres(server_url: str | None) -> Iterator[str | None]:
    """A new, empty database on the PostgreSQL server at ``server_url`` (loopback only), dropped on exit;
    None without a server URL."""
    if server_url is None:
        yield None
        return
    url = sa.engine.make_url(server_url)
    if url.host not in LOOPBACK:
        raise SystemExit(f"--postgres must name a loopback host ({', '.join(LOOPBACK)}), not {url.host!r}")
    name = f"hotspots_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "HOTSPOTS_DATABASE_URL": url,
        "HOTSPOTS_SECRET_KEY": "bench-only-session-key-" + uuid.uuid4().hex,
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "api.main:create_app"]
    command += [
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, env=env, cwd=Path(__file__).resolve().parent.parent)


def wait_ready(base: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/ready", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server at {base} not ready after {timeout_s} s")


async def http_exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> tuple[int, bytes]:
    """One keep-alive HTTP/1.1 exchange on an open connection: (status, body)."""
    writer.write(raw)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length) if length else b""


async def drive(
    port: int, path: str, headers: dict[str, str], requests: int, clients: int, expect: int
) -> dict[str, float]:
    """``requests`` GETs over ``clients`` concurrent keep-alive connections; latency percentiles and rate.

    A minimal asyncio HTTP/1.1 client: httpx's async pool costs more CPU per request than the server's
    handler on this 2-core machine, and would measure the client instead of the API.
    """
    target = f"{path}?{urlencode(QUERY)}"
    lines = [f"GET {target} HTTP/1.1", f"Host: 127.0.0.1:{port}", *(f"{k}: {v}" for k, v in headers.items())]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    remaining = iter(range(requests))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for _ in remaining:
                started = time.perf_counter()
                status, body = await http_exchange(reader, writer, raw)
                latencies.append(time.perf_counter() - started)
                if status != expect:
                    raise RuntimeError(f"{path}: {status} {body[:200]!r}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    ms = np.asarray(latencies) * 1000.0
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "rps": round(len(ms) / elapsed, 1),
    }


def bounded(phase: Coroutine[Any, Any, T], timeout_s: float) -> T:
    """Run one phase; a server that stops answering ends the benchmark instead of hanging it."""
    return asyncio.run(asyncio.wait_for(phase, timeout_s))


def add_served_demo_options(parser: argparse.ArgumentParser) -> None:
    """The options of a run against a served demo (this benchmark and ``bench/soak.py``)."""
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--weeks", type=int, default=26, help="weeks of demo data")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per endpoint")
    add_served_demo_options(parser)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds any one phase may take")
    parser.add_argument("--postgres", metavar="URL", help="a local PostgreSQL server instead of SQLite")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, throwaway_postgres(args.postgres) as pg_url:
        url, key, reports = prepare_store(Path(tmp), args.weeks, pg_url)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(url, port, args.workers)
        try:
            wait_ready(base)
            auth = {"X-API-Key": key}
            etag = httpx.get(f"{base}/statistics/summary", params=QUERY, headers=auth, timeout=300).headers[
                "etag"
            ]
            runs = {
                "health": ("/health", {}, 200),
                "summary": ("/statistics/summary", auth, 200),
                "hotspots": ("/statistics/hotspots", auth, 200),
                "summary_304": ("/statistics/summary", auth | {"If-None-Match": etag}, 304),
                "priorities": ("/priorities", auth, 200),
            }
            # Warm-up over `clients` concurrent connections, so that every worker (the kernel hands each
            # connection to one) computes its analysis and fills its caches before anything is measured.
            warm = time.perf_counter()
            for path, headers, expect in runs.values():
                bounded(drive(port, path, headers, 4 * args.clients, args.clients, expect), args.timeout)
            warm_s = time.perf_counter() - warm
            figures: dict[str, object] = {
                "reports": reports,
                "clients": args.clients,
                "workers": args.workers,
                "store": sa.engine.make_url(url).get_backend_name(),
                "requests_per_endpoint": args.requests,
                "warmup_s": round(warm_s, 2),
            }
            for name, (path, headers, expect) in runs.items():
                result = bounded(
                    drive(port, path, headers, args.requests, args.clients, expect), args.timeout
                )
                print(
                    f"{name:12s} p50 {result['p50_ms']:8.2f} ms   p99 {result['p99_ms']:8.2f} ms   {result['rps']:8.1f} req/s"
                )
                figures[name] = result
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
