"""`stormline geo …`: build the gazetteer, import a city's address data, look something up."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import cast

import msgspec
from tqdm import tqdm

from geo import importers
from geo.build import Imported
from geo.gazetteer import Gazetteer
from incident.config import SurgeConfig
from incident.geocoding import open_service, rebuild
from incident.store import Store

_encode = msgspec.msgpack.Encoder().encode


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    geo = commands.add_parser("geo", help="the offline gazetteer").add_subparsers(
        dest="action", required=True
    )
    geo.add_parser("build", help="build the gazetteer from the shipped data and every import")
    points = geo.add_parser("import-points", help="import a CSV of address points, then rebuild")
    points.add_argument("file", type=Path)
    points.add_argument(
        "--name", help="a name for this import (default: the file's name); reusing it replaces it"
    )
    lines = geo.add_parser(
        "import-centerlines", help="import street centerlines with address ranges, then rebuild"
    )
    lines.add_argument(
        "file", type=Path, help="GeoJSON or shapefile, WGS 84, fields as in Buffalo's Streets layer"
    )
    lines.add_argument("--name")
    geo.add_parser("imports", help="list the imports that go into every build")
    lookup = geo.add_parser("lookup", help="show what the gazetteer answers for some text")
    lookup.add_argument("text")


async def run(args: argparse.Namespace, store: Store, config: SurgeConfig) -> int:
    if args.action in ("import-points", "import-centerlines"):
        path: Path = args.file
        name = args.name or path.name
        reader = importers.address_points if args.action == "import-points" else importers.centerlines
        with tqdm(desc=f"reading {path.name}", unit=" rows", file=sys.stderr) as bar:

            def tick(rows: int) -> None:
                bar.update(rows)

            batch = await asyncio.to_thread(reader, path, name, tick)
        await store.redis.hset(store.keys.geo_imports, name, _encode(batch))
        print(f"imported {name}: {len(batch.addresses)} address points, {len(batch.segments)} segments")
    if args.action in ("build", "import-points", "import-centerlines"):
        started = time.perf_counter()
        with tqdm(desc="building", unit=" items", file=sys.stderr) as bar:
            last: dict[str, int] = {}

            def progress(stage: str, done: int) -> None:
                bar.set_description(f"building: {stage}")
                bar.update(done - last.get(stage, 0))
                last[stage] = done

            data = await rebuild(store, config, progress)
        print(
            f"gazetteer built in {time.perf_counter() - started:.1f} s: {len(data.streets)} streets, "
            f"{len(data.corners)} corners, {len(data.places)} places, {len(data.addresses)} address points, "
            f"{len(data.segments)} segments (sources: {', '.join(data.sources)}); "
            "workers pick it up within a minute"
        )
        return 0
    if args.action == "imports":
        raw = cast(dict[bytes, bytes], await store.redis.hgetall(store.keys.geo_imports))
        decode = msgspec.msgpack.Decoder(Imported).decode
        for key, blob in sorted(raw.items()):
            batch = decode(blob)
            print(f"{key.decode()}\t{len(batch.addresses)} address points\t{len(batch.segments)} segments")
        return 0
    service = await open_service(store, config, Path("."))
    gazetteer: Gazetteer = service.gazetteer
    for result in gazetteer.geocode(args.text):
        zones = service.zones_of(result.point)
        print(
            f"{result.confidence:.2f}  {result.method:<13} {result.label}  "
            f"({result.point.lat:.6f}, {result.point.lon:.6f})  "
            f"{zones.get('neighborhood', 'outside the city')}"
        )
    return 0
