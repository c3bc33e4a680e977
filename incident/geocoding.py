"""Geography as the running system uses it: the shared gazetteer, zones, the geocoder chain.

The built gazetteer is kept in Redis so that every worker on every host answers from the same data;
a worker that finds none builds it (in about a second from the shipped data) and stores it. A city's
imported address points and centerlines are kept in Redis too and go into every build.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, cast

import msgspec
from redis.exceptions import RedisError

from geo.build import GazetteerData, Imported, Place, Progress, build, decode, encode
from geo.gazetteer import Gazetteer
from geo.geocoders import Chain, Offline, online
from geo.point import Point
from geo.result import GeoResult
from geo.zones import LayerSource, Zones
from incident.config import SurgeConfig
from incident.store import Store

REDIS_WAIT_S = 3.0

log = logging.getLogger("stormline.geo")
_decode_import = msgspec.msgpack.Decoder(Imported).decode


@dataclass(frozen=True, slots=True)
class Located:
    """What intake learns from an address: the point if sure, else the candidates to choose from."""

    best: GeoResult | None  # sure enough to place the call
    candidates: list[GeoResult]
    zones: dict[str, str] = field(default_factory=dict)
    outside: bool = False
    town: str | None = None


class GeoService:
    def __init__(
        self, config: SurgeConfig, gazetteer: Gazetteer, zones: Zones, chain: Chain, digest: str
    ) -> None:
        self.config, self.gazetteer, self.zones, self.chain = config, gazetteer, zones, chain
        self.digest = digest  # of the gazetteer blob this service answers from
        self._later: set[asyncio.Task[None]] = set()

    def locate(self, address: str) -> Located:
        """Offline only (microseconds): what intake uses while the caller is on the line."""
        # What intake keeps goes into the incident and its events: a street's whole line would make
        # every unplaced call tens of kilobytes, so candidates keep their extent and lose the line.
        results = [
            msgspec.structs.replace(r, line=None) if r.line else r
            for r in self.gazetteer.geocode(address)[:5]
        ]
        best = results[0] if results and results[0].confidence >= self.config.geo.accept_confidence else None
        if best is None:
            return Located(None, results)
        return self.place(best, results)

    def place(self, result: GeoResult, candidates: list[GeoResult] | None = None) -> Located:
        """Zones and jurisdiction for a chosen result."""
        zones = self.zones.of(result.point)
        outside = "city" not in zones
        return Located(result, candidates or [result], zones, outside, result.town if outside else None)

    def zones_of(self, point: Point) -> dict[str, str]:
        return self.zones.of(point)

    def later(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background, kept alive until it ends (online geocoding after intake)."""
        task = asyncio.create_task(work)
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    async def settled(self) -> None:
        """Wait for the background work started so far (what a test, or a clean stop, waits for)."""
        await asyncio.gather(*self._later)


_INDEXED: dict[str, Gazetteer] = {}


async def _indexed(blob: bytes, zones: Zones) -> Gazetteer:
    """The index of a built gazetteer; kept per process by content, so a reload of the same data is free."""
    digest = hashlib.sha256(blob).hexdigest()
    if digest not in _INDEXED:
        _INDEXED.clear()  # one gazetteer per process at a time
        _INDEXED[digest] = await asyncio.to_thread(
            partial(Gazetteer, areas=zones.areas()), decode(blob), zones.inside, zones.hints()
        )
    return _INDEXED[digest]


def config_places(config: SurgeConfig) -> tuple[list[Place], dict[str, list[str]]]:
    """The config's places: new ones (with a point), and aliases for shipped ones (without)."""
    new, aliases = [], {}
    for entry in config.geo.places:
        if entry.lat is not None and entry.lon is not None:
            new.append(
                Place(
                    name=entry.name,
                    kind=entry.kind,
                    lat=entry.lat,
                    lon=entry.lon,
                    aliases=list(entry.aliases),
                )
            )
        else:
            aliases[entry.name] = list(entry.aliases)
    return new, aliases


async def imports(store: Store) -> list[Imported]:
    raw = cast(dict[bytes, bytes], await store.redis.hgetall(store.keys.geo_imports))
    return [_decode_import(blob) for _, blob in sorted(raw.items())]


async def rebuild(store: Store, config: SurgeConfig, progress: Progress | None = None) -> GazetteerData:
    """Build from the shipped data, the config's places and every import, and share it."""
    new, aliases = config_places(config)
    data = await asyncio.to_thread(
        build, extra_places=new, aliases=aliases, imported=await imports(store), progress=progress
    )
    await _share(store, encode(data))
    return data


async def _share(store: Store, blob: bytes) -> None:
    pipe = store.redis.pipeline(transaction=True)
    pipe.set(store.keys.gazetteer, blob)
    pipe.set(store.keys.gazetteer_digest, hashlib.sha256(blob).hexdigest())
    await pipe.execute()


async def shared_digest(store: Store) -> str | None:
    """The digest of the gazetteer in Redis, or None (none there, or Redis not answering)."""
    try:
        value = cast(
            bytes | None, await asyncio.wait_for(store.redis.get(store.keys.gazetteer_digest), REDIS_WAIT_S)
        )
    except (RedisError, OSError, TimeoutError):
        return None
    return value.decode() if value else None


async def refresh(store: Store, config: SurgeConfig, config_dir: Path, service: GeoService) -> GeoService:
    """A new service if Redis now holds another gazetteer than `service` answers from, else `service`."""
    digest = await shared_digest(store)
    if digest is None or digest == service.digest:
        return service
    fresh = await open_service(store, config, config_dir)
    # open_service falls back to the shipped data when Redis stumbles; a refresh must not swap that in
    # for a service that has the city's imports.
    return fresh if fresh.digest == digest else service


async def open_service(store: Store, config: SurgeConfig, config_dir: Path) -> GeoService:
    """The service for one worker: the shared gazetteer (built if there is none yet), zones, chain."""
    imported: list[Imported] | None = []
    try:
        blob = cast(bytes | None, await asyncio.wait_for(store.redis.get(store.keys.gazetteer), REDIS_WAIT_S))
        if blob is None:
            imported = await asyncio.wait_for(imports(store), REDIS_WAIT_S)
    except (RedisError, OSError, TimeoutError) as error:
        # Redis is down as this worker starts: answer from the shipped data (without the city's imports)
        # rather than not at all; /readyz says not ready until Redis is back, and `refresh` catches up.
        log.warning("gazetteer not loaded from Redis (%r); using the shipped data until it answers", error)
        blob, imported = None, None
    if blob is None:
        # Only the Redis calls are timed: a build takes seconds on a busy machine, and one cut short by
        # Redis's wait was built again from the shipped data and never shared.
        new, aliases = config_places(config)
        data = await asyncio.to_thread(build, extra_places=new, aliases=aliases, imported=imported or [])
        blob = encode(data)
        if imported is not None:  # a new install: share what was built, or keep it if Redis stumbles now
            try:
                await asyncio.wait_for(_share(store, blob), REDIS_WAIT_S)
            except (RedisError, OSError, TimeoutError) as error:
                log.warning("the built gazetteer was not shared (%r); `refresh` will catch up", error)
    extra = tuple(
        LayerSource(layer.name, (config_dir / layer.path).resolve(), layer.property)
        for layer in config.geo.zone_layers
    )
    zones = await asyncio.to_thread(Zones, config.jurisdiction.name, extra)
    gazetteer = await _indexed(blob, zones)
    digest = hashlib.sha256(blob).hexdigest()
    providers = [
        online(
            p.name,
            user_agent=p.user_agent,
            timeout=p.timeout_seconds,
            min_delay_seconds=p.min_delay_seconds,
            domain=p.domain,
        )
        for p in config.geo.providers
    ]
    chain = Chain(
        Offline(gazetteer),
        providers,
        accept=config.geo.accept_confidence,
        redis=store.redis,
        cache_prefix=store.keys.geo_cache,
        cache_seconds=config.geo.provider_cache_hours * 3600,
        home=zones.inside,
        aliases_key=store.keys.geo_aliases,
    )
    return GeoService(config, gazetteer, zones, chain, digest)
