"""The exports' benchmark: `python -m bench.exports`. Prints figures; `--json FILE` saves them.

Starts `stormline serve` (one worker, its embedded Redis, in a temporary folder), loads incidents into
that private Redis through the real event writer, and streams each export (GeoJSON and CSV, all
incidents, and one filtered) through the real app over HTTP, reading every byte and parsing it. For
each export it measures the time, the time to the first byte, and the worker process's memory: its
resident set sampled every 10 ms during the export (the most seen), and the kernel's high-water mark
after it. The baselines, measured in the same run on the same worker: its memory idle, and the same
exports of the first 1,000 incidents. An export that held everything it sends would grow with the
count; a streamed one stays flat. As a control, the live map's snapshot of open work (built whole in
memory, as a JSON array) is measured the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import platform
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from tqdm import tqdm

from bench.server import BenchServer
from geo.point import Point
from incident.config import Priority, load_config
from incident.events import Change
from incident.incidents import insert_incident
from incident.records import Call, Channel, Incident
from incident.status import Status
from incident.store import Store, connect
from incident.write_steps import open_store

ROOT = Path(__file__).resolve().parent.parent
BENCH_KEY = "bench-only-secret"
SOUTH, NORTH, WEST, EAST = 42.83, 42.96, -78.92, -78.80
DISTRICTS = [
    "Delaware",
    "Ellicott",
    "Fillmore",
    "Lovejoy",
    "Masten",
    "Niagara",
    "North",
    "South",
    "University",
]
EXPORTS = {
    "geojson": "/api/v1/exports/incidents.geojson",
    "csv": "/api/v1/exports/incidents.csv",
    "geojson, category=debris&status=open": "/api/v1/exports/incidents.geojson?category=debris&status=open",
    # The control: a response built whole in memory (the live map's snapshot of open work), to show
    # that the measurement sees memory grow with the count where it does.
    "control: map snapshot, built whole": "/api/v1/map/incidents",
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=1_000, help="incidents in the baseline exports")
    parser.add_argument("--seed", type=int, default=2006)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        BenchServer(Path(folder), 1, STORMLINE_SECRET_KEY=BENCH_KEY) as server,
    ):
        rng = random.Random(args.seed)  # noqa: S311 - a reproducible city, not a secret
        worker = server.workers()[0]
        figures = asyncio.run(
            _run(server.url, server.token("supervisor"), server.redis_url, worker, args, rng)
        )
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


async def _run(
    base: str, token: str, url: str, worker: int, args: argparse.Namespace, rng: random.Random
) -> dict[str, object]:
    store = open_store(connect(url), load_config(ROOT / "surge_config.yaml").jurisdiction.id)
    figures: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "batch": 500,
    }
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=httpx.Timeout(600.0)
    ) as http:
        await _load(store, 1, args.baseline, rng)
        await http.get(
            "/api/v1/exports/incidents.csv?status=closed"
        )  # the routes' first use: imports, caches
        figures["worker_idle_rss_mib"] = _mib(_status(worker)["VmRSS"])
        for count in (args.baseline, args.incidents):
            if count > args.baseline:
                await _load(store, args.baseline + 1, count, rng)
                figures[f"worker_idle_rss_mib_after_loading_{count}"] = _mib(_status(worker)["VmRSS"])
            for name, path in EXPORTS.items():
                figures[f"{name} of {count}"] = await _export(http, path, worker, name)
    await store.redis.aclose()
    return figures


async def _export(http: httpx.AsyncClient, path: str, worker: int, name: str) -> dict[str, object]:
    """Stream one export, sampling the worker's memory meanwhile; parse what arrived."""
    peak = _status(worker)["VmRSS"]
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _status(worker)["VmRSS"])
            await asyncio.sleep(0.01)

    sampler = asyncio.create_task(sample())
    body = bytearray()
    started = time.perf_counter()
    first = None
    async with http.stream("GET", path) as response:
        response.raise_for_status()
        progress = tqdm(desc=name, unit="B", unit_scale=True)
        async for chunk in response.aiter_raw():
            first = first if first is not None else time.perf_counter() - started
            body += chunk
            progress.update(len(chunk))
        progress.close()
    seconds = time.perf_counter() - started
    done.set()
    await sampler
    text = body.decode()
    if "csv" in path:
        rows = len(list(csv.DictReader(io.StringIO(text, newline=""))))
    elif "geojson" in path:
        rows = len(json.loads(text)["features"])
    else:
        rows = len(json.loads(text))
    return {
        "incidents": rows,
        "seconds": round(seconds, 2),
        "first_byte_ms": round((first or seconds) * 1000, 1),
        "incidents_per_second": round(rows / seconds),
        "mib_sent": round(len(body) / 2**20, 1),
        "worker_peak_rss_mib": _mib(peak),
        "worker_high_water_mib": _mib(_status(worker)["VmHWM"]),
    }


async def _load(store: Store, first: int, last: int, rng: random.Random) -> None:
    """Incidents `first`..`last` through the real event writer, 50 at once (within the client's pool)."""
    now = datetime.now(UTC)
    categories = ["debris"] * 6 + ["utility"] * 2 + ["welfare_check", "shelter_transport"]
    statuses = [Status.OPEN] * 5 + [Status.ASSIGNED, Status.RESOLVED, Status.CLOSED]
    progress = tqdm(total=last - first + 1, desc="incidents", unit="incident")
    for start in range(first, last + 1, 50):
        writes = []
        for seq in range(start, min(start + 50, last + 1)):
            ticket = f"2026-{seq:06d}"
            placed = rng.random() > 0.05
            point = Point(rng.uniform(SOUTH, NORTH), rng.uniform(WEST, EAST)) if placed else None
            status = rng.choice(statuses)
            opened = now - timedelta(minutes=last - seq)
            incident = Incident(
                ticket=ticket,
                seq=seq,
                category=rng.choice(categories),
                priority=rng.choice([Priority.P2, Priority.P3, Priority.P4]),
                status=status,
                address=None,
                location=point,
                needs_location=not placed,
                zones={"council_district": rng.choice(DISTRICTS)} if placed else {},
                assigned_crew="crew-7" if status is Status.ASSIGNED else None,
                calls=[f"B{seq}"],
                opened_at=opened,
                updated_at=opened,
                resolved_at=opened if status in (Status.RESOLVED, Status.CLOSED) else None,
            )
            call = Call(
                id=f"B{seq}", ticket=ticket, received_at=opened, logged_at=opened, channel=Channel.PHONE
            )
            writes.append(insert_incident(store, incident, call, "bench", Change()))
        await asyncio.gather(*writes)
        progress.update(len(writes))
    progress.close()


def _status(pid: int) -> dict[str, int]:
    """The process's memory figures from /proc, in kB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0])
    return out


def _mib(kb: int) -> float:
    return round(kb / 1024, 1)


if __name__ == "__main__":
    main()
