"""The live map's benchmark, in a real browser: `python -m bench.live_map`.

Starts `stormline serve` (two workers, its embedded Redis) with 20,000 open incidents, opens the live
map in headless Chromium and measures how long it takes to draw them all. Then, with 200 other clients
following the event stream, it files calls at 50 a second and measures how long each takes to reach
the open map (from the moment the call was sent, intake included, to the moment the page had it).
The baseline, measured in the same run, is the same for a bare event-stream client (no browser).
Prints the figures; `--json FILE` saves them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
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
from incident.store import connect
from incident.write_steps import open_store

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a long enough passphrase"  # noqa: S105 - a throwaway account on a throwaway server
BENCH_KEY = "bench-only-secret"
SOUTH, NORTH, WEST, EAST = 42.83, 42.96, -78.92, -78.80


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--incidents", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=200, help="other event-stream clients")
    parser.add_argument("--rate", type=float, default=50.0, help="calls per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long calls arrive")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        BenchServer(Path(folder), 2, STORMLINE_SECRET_KEY=BENCH_KEY) as server,
    ):
        asyncio.run(_load(server.redis_url, args.incidents))
        server.cli("users", "add", "bench", "--role", "supervisor", "--password-stdin", stdin=PASSWORD + "\n")
        figures = asyncio.run(_measure(server.url, server.token("supervisor"), args))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


async def _load(url: str, count: int) -> None:
    config = load_config(ROOT / "surge_config.yaml")
    store = open_store(connect(url), config.jurisdiction.id)
    rng = random.Random(2006)  # noqa: S311 - a reproducible city, not a secret
    now = datetime.now(UTC)
    categories = ["debris"] * 6 + ["utility"] * 2 + ["welfare_check", "shelter_transport"]
    for seq in tqdm(range(1, count + 1), desc="incidents", unit="incident"):
        ticket = f"2026-9{seq:05d}"
        point = Point(rng.uniform(SOUTH, NORTH), rng.uniform(WEST, EAST))
        incident = Incident(
            ticket=ticket,
            seq=seq,
            category=rng.choice(categories),
            priority=rng.choice([Priority.P2, Priority.P3, Priority.P4]),
            status=Status.OPEN,
            address=None,
            location=point,
            needs_location=False,
            calls=[f"B{seq}"],
            opened_at=now,
            updated_at=now,
        )
        call = Call(id=f"B{seq}", ticket=ticket, received_at=now, logged_at=now, channel=Channel.PHONE)
        await insert_incident(store, incident, call, "bench", Change())
    await store.redis.aclose()


async def _measure(base: str, token: str, args: argparse.Namespace) -> dict[str, object]:
    from playwright.async_api import async_playwright

    headers = {"Authorization": f"Bearer {token}"}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = await (await browser.new_context(base_url=base)).new_page()
        await page.goto("/login")
        await page.get_by_label("Name").fill("bench")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{base}/")
        started = time.perf_counter()
        await page.goto("/map")
        await page.wait_for_function(
            "(n) => document.getElementById('map-frame').dataset.ready === 'true' && "
            "window.stormlineMap.markers.size >= n",
            arg=args.incidents,
            timeout=60_000,
        )
        open_s = time.perf_counter() - started
        # Responsive: how long a pan and a zoom take to paint with everything drawn.
        started = time.perf_counter()
        await page.evaluate(
            "() => new Promise((done) => { const m = window[document.getElementById('map-frame')"
            ".dataset.map]; m.panBy([200, 120], {animate: false}); "
            "requestAnimationFrame(() => requestAnimationFrame(() => done(true))); })"
        )
        pan_ms = (time.perf_counter() - started) * 1000

        arrivals_bare: dict[str, float] = {}
        stop = asyncio.Event()
        async with httpx.AsyncClient(
            base_url=base,
            headers=headers,
            timeout=httpx.Timeout(30.0, read=None),  # streams stay open; requests do not
            limits=httpx.Limits(max_connections=args.clients + 20),
        ) as http:
            followers = [
                asyncio.create_task(_follow(http, stop, arrivals_bare if i == 0 else None))
                for i in range(args.clients)
            ]
            await asyncio.sleep(2)
            sent: dict[str, float] = {}
            total = int(args.rate * args.seconds)
            interval = 1 / args.rate
            progress = tqdm(total=total, desc=f"calls at {args.rate:g}/s", unit="call")
            tasks = []
            t0 = time.perf_counter()
            for n in range(total):
                await asyncio.sleep(max(0.0, t0 + n * interval - time.perf_counter()))
                tasks.append(asyncio.create_task(_call(http, sent, progress)))
            await asyncio.gather(*tasks)
            progress.close()
            await asyncio.sleep(3)
            stop.set()
            for follower in followers:
                follower.cancel()
            await asyncio.gather(*followers, return_exceptions=True)
        arrivals_page = dict(await page.evaluate("window.stormlineMap.arrivals"))
        await browser.close()
    page_ms = sorted(arrivals_page[t] - sent[t] for t in sent if t in arrivals_page)
    bare_ms = sorted(arrivals_bare[t] - sent[t] for t in sent if t in arrivals_bare)
    figures: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "open_incidents": args.incidents,
        "map_open_seconds": round(open_s, 2),
        "pan_ms": round(pan_ms, 1),
        "stream_clients": args.clients,
        "calls": len(sent),
        "calls_per_second": args.rate,
        "reached_map": len(page_ms),
        "map_event_ms": _stats(page_ms),
        "baseline_bare_client_ms": _stats(bare_ms),
    }
    print(json.dumps(figures, indent=2))
    return figures


async def _call(http: httpx.AsyncClient, sent: dict[str, float], progress: tqdm) -> None:  # type: ignore[type-arg]
    body = {
        "narrative": "tree down, street blocked",
        "category": "debris",
        "location": {"lat": random.uniform(SOUTH, NORTH), "lon": random.uniform(WEST, EAST)},  # noqa: S311
    }
    started = time.time() * 1000  # from the moment the call is sent: intake included
    answer = await http.post("/api/v1/calls", json=body)
    if answer.status_code == 201:
        sent[answer.json()["ticket"]] = started
    progress.update(1)


async def _follow(http: httpx.AsyncClient, stop: asyncio.Event, arrivals: dict[str, float] | None) -> None:
    async with http.stream("GET", "/api/v1/events/stream") as stream:
        kind = ""
        async for line in stream.aiter_lines():
            if stop.is_set():
                return
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and arrivals is not None and kind == "incident.opened":
                arrivals[json.loads(line[6:])["ticket"]] = time.time() * 1000


def _stats(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50": round(statistics.median(values), 1),
        "p99": round(values[max(0, int(len(values) * 0.99) - 1)], 1),
        "max": round(values[-1], 1),
    }


if __name__ == "__main__":
    main()
