"""Geocoders, one class per provider behind one interface, as geopy arranges them; and the chain.

The chain asks the offline gazetteer first, and only when it is not sure, and only where the config
enables them, the online providers in order: each through geopy, behind geopy's rate limiter, in a
worker thread, every answer cached in Redis. A provider that is down or slow costs a timeout, never a
call: intake uses the gazetteer alone and leaves the online ones for later (see incident.geocoding).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, cast
from urllib.parse import urlencode

import msgspec
from geopy.adapters import BaseSyncAdapter
from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import ArcGIS, Nominatim
from geopy.geocoders.base import DEFAULT_SENTINEL
from geopy.geocoders.base import Geocoder as GeopyGeocoder
from geopy.location import Location
from redis.asyncio import Redis
from redis.exceptions import RedisError

from geo.aliases import lookup
from geo.gazetteer import Gazetteer
from geo.point import Point
from geo.result import GeoResult, Method

log = logging.getLogger("stormline.geo")
ONLINE_CAP = 0.95  # of the accept bar: an online answer stays just below it, a candidate


class Geocoder(ABC):
    """Turns what people write into places.

    Raises nothing for "not found" (an empty list); a provider that fails raises GeocoderUnavailable.
    """

    name: str

    @abstractmethod
    async def geocode(self, query: str) -> list[GeoResult]:
        """Every plausible answer, best first."""


class GeocoderUnavailable(Exception):
    """An online provider did not answer (down, slow, refused)."""


class Offline(Geocoder):
    """The gazetteer, as a geocoder."""

    name = "gazetteer"

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer

    async def geocode(self, query: str) -> list[GeoResult]:
        return list(self.gazetteer.geocode(query))


class USCensus(GeopyGeocoder):  # type: ignore[misc]
    """The US Census Bureau's geocoder, written as a geopy geocoder (geopy has none for it).

    https://geocoding.geo.census.gov/geocoder/Geocoding_Services_API.html — one-line addresses,
    matched against the Census TIGER address ranges; no key needed.
    """

    api_path = "/geocoder/locations/onelineaddress"

    def __init__(
        self, *, domain: str = "geocoding.geo.census.gov", benchmark: str = "Public_AR_Current", **kwargs: Any
    ):
        super().__init__(scheme="https", **kwargs)
        self.api = f"{self.scheme}://{domain}{self.api_path}"
        self.benchmark = benchmark

    def geocode(self, query: str, *, exactly_one: bool = True, timeout: Any = DEFAULT_SENTINEL) -> Any:
        params = {"address": query, "benchmark": self.benchmark, "format": "json"}
        url = f"{self.api}?{urlencode(params)}"
        return self._call_geocoder(url, lambda page: self._parse(page, exactly_one), timeout=timeout)

    @staticmethod
    def _parse(page: Any, exactly_one: bool) -> Any:
        matches = (page or {}).get("result", {}).get("addressMatches") or []
        locations = [
            Location(match["matchedAddress"], (match["coordinates"]["y"], match["coordinates"]["x"]), match)
            for match in matches
        ]
        if not locations:
            return None
        return locations[0] if exactly_one else locations


class Online(Geocoder):
    """A geopy geocoder behind geopy's rate limiter, run in a worker thread."""

    def __init__(
        self,
        name: str,
        geocoder: GeopyGeocoder,
        *,
        min_delay_seconds: float,
        confidence: Callable[[Location], float],
    ):
        self.name = name
        self._geocoder = geocoder
        self._limited = RateLimiter(
            geocoder.geocode, min_delay_seconds=min_delay_seconds, max_retries=0, swallow_exceptions=False
        )
        self._confidence = confidence

    async def geocode(self, query: str) -> list[GeoResult]:
        try:
            found = await asyncio.to_thread(self._limited, query, exactly_one=False)
        except GeopyError as error:
            raise GeocoderUnavailable(f"{self.name}: {error}") from error
        return [
            GeoResult(
                point=Point(location.latitude, location.longitude),
                method=Method.PROVIDER,
                confidence=round(self._confidence(location), 3),
                label=location.address,
                source=self.name,
            )
            for location in found or []
        ]


def online(
    name: str, *, user_agent: str, timeout: float, min_delay_seconds: float, domain: str | None = None,
    adapter_factory: Callable[..., BaseSyncAdapter] | None = None,
) -> Online:  # fmt: skip
    """An online provider by its config name. `adapter_factory` is geopy's seam for the HTTP client."""
    common: dict[str, Any] = {"timeout": timeout}
    if adapter_factory is not None:
        common["adapter_factory"] = adapter_factory
    if name == "nominatim":
        extra = {"domain": domain} if domain else {}
        geocoder: GeopyGeocoder = Nominatim(user_agent=user_agent, **extra, **common)
        # Nominatim's importance is a relevance score, not a certainty; cap it below "sure".
        return Online(
            name,
            geocoder,
            min_delay_seconds=min_delay_seconds,
            confidence=lambda loc: min(0.85, 0.5 + float(loc.raw.get("importance", 0))),
        )
    if name == "arcgis":
        geocoder = ArcGIS(user_agent=user_agent, **common)
        return Online(
            name,
            geocoder,
            min_delay_seconds=min_delay_seconds,
            confidence=lambda loc: float(loc.raw.get("score", 0)) / 100 * 0.95,
        )
    if name == "census":
        geocoder = USCensus(user_agent=user_agent, **common)
        return Online(name, geocoder, min_delay_seconds=min_delay_seconds, confidence=lambda loc: 0.9)
    raise ValueError(f"no online geocoder named {name!r}")


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(list[GeoResult]).decode


class Chain:
    """The gazetteer, then the online providers (cached in Redis) while no answer is sure enough."""

    def __init__(
        self,
        offline: Offline,
        providers: Sequence[Online],
        *,
        accept: float,
        redis: Redis | None = None,
        cache_prefix: str = "",
        cache_seconds: int = 0,
        home: Callable[[Point], bool] | None = None,
        aliases_key: str | None = None,
    ) -> None:
        self.offline, self.providers, self.accept = offline, list(providers), accept
        self.aliases_key = aliases_key  # the city's learnt aliases (geo.aliases), asked first
        self.home = home
        self.redis, self.cache_prefix, self.cache_seconds = redis, cache_prefix, cache_seconds

    async def geocode(self, query: str, *, online: bool = True) -> list[GeoResult]:
        """Best answers first; the online providers are asked only if `online` and none is sure."""
        results = await self.offline.geocode(query)
        if self.redis is not None and self.aliases_key is not None:
            # Read from Redis on every look-up, so an alias learnt on one worker is served by all.
            try:
                alias = await lookup(self.redis, self.aliases_key, query)
            except (RedisError, OSError) as error:
                # Redis stumbling must not cost the gazetteer's answer: the aliases wait for it.
                log.warning("aliases not read (%s); answering from the gazetteer alone", error)
                alias = None
            if alias is not None:
                return [alias, *results]
        if not online or (results and results[0].confidence >= self.accept):
            return results
        for provider in self.providers:
            try:
                answers = await self._cached(provider, query)
            except GeocoderUnavailable as error:
                log.warning("%s", error)
                continue
            if self.home is not None:
                # An online geocoder knows every Elmwood Avenue in the country; one outside the
                # jurisdiction is at most a candidate, never where a Buffalo call is placed by itself.
                answers = [
                    a
                    if self.home(a.point)
                    else msgspec.structs.replace(a, confidence=round(a.confidence * 0.5, 3))
                    for a in answers
                ]
            # An online answer is a candidate until an agent confirms it: it never places a call by
            # itself, however sure the provider says it is (its data is not the city's).
            answers = [
                msgspec.structs.replace(
                    a,
                    confidence=min(a.confidence, round(self.accept * ONLINE_CAP, 3)),
                    warning=a.warning or "From an online geocoder: confirm it with the caller.",
                )
                for a in answers
            ]
            if answers:
                return sorted(results + answers, key=lambda result: -result.confidence)
        return sorted(results, key=lambda result: -result.confidence)

    async def _cached(self, provider: Online, query: str) -> list[GeoResult]:
        key = (
            f"{self.cache_prefix}{provider.name}:{hashlib.sha256(query.strip().lower().encode()).hexdigest()}"
        )
        if self.redis is not None:
            hit = cast(bytes | None, await self.redis.get(key))
            if hit is not None:
                return _decode(hit)
        answers = await provider.geocode(query)
        if self.redis is not None:
            await self.redis.set(key, _encode(answers), ex=self.cache_seconds)
        return answers
