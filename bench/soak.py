"""Soak: mixed reads and writes from 50 clients against a served demo instance for 60 s; errors, lost
writes, p50/p99 per kind and requests/s.

    .venv/bin/python bench/soak.py [--seconds 60] [--clients 50] [--workers 2] [--weeks 26] [--write-share 0.2]

Serves the seeded demo (``hotspots.demo.write`` imported into a temporary SQLite store, as
``bench/api_load.py`` does) with ``uvicorn --factory api.main:create_app`` and 2 workers on a free
loopback port. Each client keeps one HTTP/1.1 connection and, until the time is up, sends one of:

- ``write``: POST /reports with a unique source_id (share ``--write-share``);
- ``summary``: GET /statistics/summary; ``priorities``: GET /priorities (JSON); ``tile``: one MVT tile
  of the cells layer over central Örebro (the rest, equally).

Every write bumps the dataset version, so the next read in each worker recomputes its analysis: this
measures the service under a steady trickle of new reports, not a warm cache. An answer other than the
expected status, a dropped connection or no answer within ``--timeout`` counts as an error. After the
run the server is stopped and the store is reconciled: lost writes = acknowledged (201) source_ids that
are not stored. The last line is one JSON object with every figure. The server is always stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlencode

import morecantile
import numpy as np
from api_load import (
    END,
    add_served_demo_options,
    free_port,
    http_exchange,
    prepare_store,
    start_server,
    wait_ready,
)

QUERY = {"end": END.isoformat(), "window": "28d"}
#: Central Örebro (Stortorget): the tile every tile read asks for.
TILE = morecantile.tms.get("WebMercatorQuad").tile(15.2133, 59.2712, 13)
READS = {
    "summary": f"/statistics/summary?{urlencode(QUERY)}",
    "priorities": f"/priorities?{urlencode(QUERY)}",
    "tile": f"/tiles/cells/{TILE.z}/{TILE.x}/{TILE.y}.mvt?{urlencode(QUERY)}",
}
EXPECTED = {"write": {201}, "summary": {200}, "priorities": {200}, "tile": {200, 204}}
SOAK_PREFIX = "soak-"


def _raw(method: str, target: str, port: int, key: str, body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"X-API-Key: {key}"]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _report(source_id: str, rng: random.Random) -> bytes:
    return json.dumps(
        {
            "source": "police",
            "source_id": source_id,
            "occurred_at": f"{END.isoformat()}T{rng.randrange(8, 23):02d}:{rng.randrange(60):02d}:00+01:00",
            "category": "observed_dealing",
            "lat": round(59.255 + rng.random() * 0.04, 6),
            "lon": round(15.17 + rng.random() * 0.08, 6),
        }
    ).encode()


class Tally:
    """Latencies, statuses and errors per kind, and the acknowledged writes."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[str] = Counter()
        self.error_examples: list[str] = []
        self.acknowledged: list[str] = []
        self.attempted = 0

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] += 1
        if len(self.error_examples) < 10:
            self.error_examples.append(f"{kind}: {what}")


async def client(
    number: int, port: int, key: str, deadline: float, write_share: float, timeout: float, tally: Tally
) -> None:
    """One client: a keep-alive connection, reopened after an error, until the deadline."""
    rng = random.Random(number)
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    sent = 0
    while time.monotonic() < deadline:
        if connection is None:
            connection = await asyncio.open_connection("127.0.0.1", port)
        if rng.random() < write_share:
            kind, source_id = "write", f"{SOAK_PREFIX}{number}-{sent}"
            raw = _raw("POST", "/reports", port, key, _report(source_id, rng))
            tally.attempted += 1
        else:
            kind, source_id = rng.choice(list(READS)), ""
            raw = _raw("GET", READS[kind], port, key)
        sent += 1
        started = time.perf_counter()
        try:
            status, body = await asyncio.wait_for(http_exchange(*connection, raw), timeout)
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
            tally.error(kind, type(exc).__name__)
            connection[1].close()
            connection = None
            continue
        tally.latencies[kind].append(time.perf_counter() - started)
        if status not in EXPECTED[kind]:
            tally.error(kind, f"{status} {body[:120]!r}")
        elif kind == "write":
            tally.acknowledged.append(source_id)
    if connection is not None:
        connection[1].close()


def stored_soak_ids(database: Path) -> set[str]:
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT source_id FROM reports WHERE source_id LIKE ?", (SOAK_PREFIX + "%",))
        return {row[0] for row in rows}


def percentiles(latencies: list[float]) -> dict[str, float]:
    ms = np.asarray(latencies) * 1000.0
    if not len(ms):
        return {"n": 0}
    return {
        "n": len(ms),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the run")
    add_served_demo_options(parser)
    parser.add_argument("--write-share", type=float, default=0.2, help="share of requests that write")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds without an answer = error")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url, key, reports = prepare_store(Path(tmp), args.weeks)
        port = free_port()
        server = start_server(url, port, args.workers)
        tally = Tally()
        try:
            wait_ready(f"http://127.0.0.1:{port}")
            started = time.monotonic()
            deadline = started + args.seconds

            async def run() -> None:
                await asyncio.gather(
                    *(
                        client(i, port, key, deadline, args.write_share, args.timeout, tally)
                        for i in range(args.clients)
                    )
                )

            asyncio.run(run())
            elapsed = time.monotonic() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
        stored = stored_soak_ids(Path(tmp) / "bench.db")

    acknowledged = set(tally.acknowledged)
    lost = acknowledged - stored
    requests = sum(len(v) for v in tally.latencies.values()) + sum(tally.errors.values())
    figures: dict[str, object] = {
        "seconds": round(elapsed, 1),
        "clients": args.clients,
        "workers": args.workers,
        "reports_before": reports,
        "write_share": args.write_share,
        "requests": requests,
        "requests_per_s": round(requests / elapsed, 1),
        "errors": sum(tally.errors.values()),
        "errors_by_kind": dict(tally.errors),
        "writes_attempted": tally.attempted,
        "writes_acknowledged": len(acknowledged),
        "writes_stored": len(stored),
        "lost_writes": len(lost),
        "stored_but_not_acknowledged": len(stored - acknowledged),
    }
    for kind in EXPECTED:
        result = percentiles(tally.latencies[kind])
        figures[kind] = result
        if result["n"]:
            print(
                f"{kind:11s} n {result['n']:6d}   p50 {result['p50_ms']:8.1f} ms   p99 {result['p99_ms']:8.1f} ms"
            )
    print(
        f"requests {requests} in {elapsed:.1f} s = {figures['requests_per_s']} req/s; errors {figures['errors']}"
    )
    print(f"writes acknowledged {len(acknowledged)}, stored {len(stored)}, lost {len(lost)}")
    for example in tally.error_examples:
        print("  error:", example)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
