"""Soak: mixed reads and writes from 50 clients against a served demo instance; errors, lost writes,
p50/p99 per kind, requests/s, the read p99 beside the same run's no-write baseline, and staleness.

    .venv/bin/python bench/soak.py [--seconds 60] [--baseline-seconds 20] [--clients 50] [--workers 2]
                                   [--weeks 26] [--write-share 0.2]
                                   [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Serves the seeded demo (``hotspots.demo.generate.write`` imported into a temporary SQLite store, or with
``--postgres`` a throwaway database on that loopback server, as ``bench/api_load.py`` does) with
``uvicorn --factory api.main:create_app`` and 2 workers on a free loopback port. Two phases in one run:

1. baseline (``--baseline-seconds``): the same clients, reads only;
2. soak (``--seconds``): each client keeps one HTTP/1.1 connection and, until the time is up, sends one of
   ``write`` (POST /reports with a unique source_id, share ``--write-share``), ``summary``
   (GET /statistics/summary), ``priorities`` (GET /priorities, JSON) or ``tile`` (one MVT tile of the
   cells layer over central Örebro), the reads equally.

Staleness: beside the clients a probe writes one report every ``--probe-every`` seconds, reads the
store's dataset version after the write is acknowledged, and polls the summary until its
``dataset_version`` reaches it; staleness = acknowledgement to that first answer (an upper bound: the
version read may include later writes). An answer other than the expected status, a dropped connection
or no answer within ``--timeout`` counts as an error. After the run the server is stopped and the store
is reconciled: lost writes = acknowledged (201) source_ids that are not stored. The last line is one JSON
object with every figure (``read_p99_ms``: every read under writes; ``baseline_read_p99_ms``: the same
reads without writes; ``max_staleness_s``; ``backend``). The server is always stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlencode

import httpx
import morecantile
import numpy as np
import sqlalchemy as sa
from api_load import (
    END,
    add_served_demo_options,
    free_port,
    http_exchange,
    prepare_store,
    start_server,
    throwaway_postgres,
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


def stored_soak_ids(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT source_id FROM reports WHERE source_id LIKE :prefix"),
                {"prefix": SOAK_PREFIX + "%"},
            )
            return {row[0] for row in rows}
    finally:
        engine.dispose()


def percentiles(latencies: list[float]) -> dict[str, float]:
    ms = np.asarray(latencies) * 1000.0
    if not len(ms):
        return {"n": 0}
    return {
        "n": len(ms),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
    }


def read_p99(tally: Tally) -> float:
    """p99 over every read of a phase, whatever its kind."""
    reads = [v for kind, values in tally.latencies.items() if kind != "write" for v in values]
    return round(float(np.percentile(np.asarray(reads) * 1000.0, 99)), 1) if reads else float("nan")


class Probe:
    """Staleness: one acknowledged write at a time, then the summary polled until it includes it."""

    def __init__(self, url: str, port: int, key: str, every_s: float, timeout_s: float) -> None:
        self.engine = sa.create_engine(url)
        self.port, self.key, self.every_s, self.timeout_s = port, key, every_s, timeout_s
        self.staleness: list[float] = []
        self.unseen = 0  # writes whose version no summary reached within timeout_s
        self.acknowledged: list[str] = []

    def store_version(self) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.text("SELECT value FROM store_meta WHERE key = 'dataset_version'")
            ).scalar()
        return int(value or 0)

    async def run(self, deadline: float, tally: Tally) -> None:
        rng = random.Random(-1)
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            for n in range(10_000):  # bounded: one probe per every_s until the deadline
                if time.monotonic() >= deadline:
                    break
                source_id = f"{SOAK_PREFIX}probe-{n}"
                raw = _raw("POST", "/reports", self.port, self.key, _report(source_id, rng))
                status, body = await http_exchange(reader, writer, raw)
                acknowledged = time.monotonic()
                if status != 201:
                    tally.error("probe", f"{status} {body[:120]!r}")
                    continue
                self.acknowledged.append(source_id)
                wanted = await asyncio.to_thread(self.store_version)
                await self._until_seen(reader, writer, wanted, acknowledged, tally)
                await asyncio.sleep(self.every_s)
        finally:
            writer.close()

    async def _until_seen(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        wanted: int,
        acknowledged: float,
        tally: Tally,
    ) -> None:
        while time.monotonic() - acknowledged < self.timeout_s:
            status, body = await http_exchange(
                reader, writer, _raw("GET", READS["summary"], self.port, self.key)
            )
            if status != 200:
                tally.error("probe", f"{status} {body[:120]!r}")
            elif json.loads(body)["dataset_version"] >= wanted:
                self.staleness.append(time.monotonic() - acknowledged)
                return
            await asyncio.sleep(0.05)
        self.unseen += 1


def warm_up(port: int, key: str, workers: int) -> None:
    """Every read a few times per worker before the clock starts: each worker's first analysis is start-up."""
    for _ in range(4 * workers):
        for target in READS.values():
            response = httpx.get(f"http://127.0.0.1:{port}{target}", headers={"X-API-Key": key}, timeout=120)
            response.raise_for_status()


def drive(
    port: int, key: str, seconds: float, write_share: float, args: argparse.Namespace, probe: Probe | None
) -> tuple[Tally, float]:
    """One phase: every client (and the probe) until ``seconds`` have passed; (tally, elapsed)."""
    tally = Tally()
    started = time.monotonic()
    deadline = started + seconds

    async def run() -> None:
        tasks = [
            client(i, port, key, deadline, write_share, args.timeout, tally) for i in range(args.clients)
        ]
        if probe is not None:
            tasks.append(probe.run(deadline, tally))
        await asyncio.gather(*tasks)

    asyncio.run(run())
    return tally, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the phase with writes")
    parser.add_argument("--baseline-seconds", type=float, default=20.0, help="length of the no-write phase")
    add_served_demo_options(parser)
    parser.add_argument("--write-share", type=float, default=0.2, help="share of requests that write")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds without an answer = error")
    parser.add_argument("--probe-every", type=float, default=0.5, help="seconds between staleness probes")
    parser.add_argument("--postgres", help="a loopback PostgreSQL server URL (default: SQLite)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, throwaway_postgres(args.postgres) as pg_url:
        url, key, reports = prepare_store(Path(tmp), args.weeks, pg_url)
        port = free_port()
        server = start_server(url, port, args.workers)
        probe = Probe(url, port, key, args.probe_every, timeout_s=30.0)
        try:
            wait_ready(f"http://127.0.0.1:{port}")
            warm_up(port, key, args.workers)
            baseline, _ = drive(port, key, args.baseline_seconds, 0.0, args, None)
            tally, elapsed = drive(port, key, args.seconds, args.write_share, args, probe)
        finally:
            server.terminate()
            server.wait(timeout=30)
            probe.engine.dispose()
        stored = stored_soak_ids(url)

    acknowledged = set(tally.acknowledged) | set(probe.acknowledged)
    lost = acknowledged - stored
    requests = sum(len(v) for v in tally.latencies.values()) + sum(tally.errors.values())
    errors = sum(tally.errors.values()) + sum(baseline.errors.values()) + probe.unseen
    figures: dict[str, object] = {
        "backend": "postgresql" if args.postgres else "sqlite",
        "seconds": round(elapsed, 1),
        "baseline_seconds": args.baseline_seconds,
        "clients": args.clients,
        "workers": args.workers,
        "reports_before": reports,
        "write_share": args.write_share,
        "requests": requests,
        "requests_per_s": round(requests / elapsed, 1),
        "errors": errors,
        "errors_by_kind": dict(tally.errors + baseline.errors)
        | ({"unseen_probe": probe.unseen} if probe.unseen else {}),
        "writes_attempted": tally.attempted + len(probe.acknowledged),
        "writes_acknowledged": len(acknowledged),
        "writes_stored": len(stored),
        "lost_writes": len(lost),
        "stored_but_not_acknowledged": len(stored - acknowledged),
        "read_p99_ms": read_p99(tally),
        "baseline_read_p99_ms": read_p99(baseline),
        "staleness_probes": len(probe.staleness),
        "median_staleness_s": round(float(np.median(probe.staleness)), 2) if probe.staleness else None,
        "max_staleness_s": round(max(probe.staleness), 2) if probe.staleness else None,
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
    print(f"reads p99 {figures['read_p99_ms']} ms under writes, {figures['baseline_read_p99_ms']} ms without")
    print(f"staleness: max {figures['max_staleness_s']} s over {len(probe.staleness)} probes")
    print(f"writes acknowledged {len(acknowledged)}, stored {len(stored)}, lost {len(lost)}")
    for example in (tally.error_examples + baseline.error_examples)[:10]:
        print("  error:", example)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
