"""City aliases learnt from agents' pins: the storm teaches the map.

When an agent places a call the gazetteer could not, the words of its address and the pin are kept.
When two different agents pin the same words within `AGREE_M`, or a supervisor confirms one pin,
the words become a city alias: every worker answers them with that point at once, because the
aliases live in Redis (as the gazetteer does) and are read on every look-up, not cached per process.

The caller passes the Redis key names (geo is the bottom layer and knows no key module), as
`AliasKeys`: `pins` is the prefix of one hash per text (agent → pin), `pinned` the sorted set of
texts with pins waiting (by the time of the last pin), `aliases` the hash of aliases (text → alias).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import msgspec
from redis.asyncio import Redis

from geo.gazetteer import MAX_QUERY, strip_tail
from geo.normalize import words
from geo.point import Point, distance_m
from geo.result import GeoResult, Method


@dataclass(frozen=True, slots=True)
class AliasKeys:
    pins: str  # prefix; completed by the digest of the words
    pinned: str
    aliases: str


AGREE_M = 50.0  # two agents' pins this close are the same place
ALIAS_CONFIDENCE = 0.97  # people of this center put it there: as sure as a named place


class Pin(msgspec.Struct, kw_only=True):
    text: str  # the address as the caller said it
    point: Point
    by: str
    at: datetime


class Alias(msgspec.Struct, kw_only=True):
    text: str  # as first said; looked up by its normalised words
    point: Point
    learnt_from: list[str]  # the agents whose pins agreed, or the supervisor who confirmed or edited it
    at: datetime


_encode = msgspec.msgpack.Encoder().encode
_decode_pin = msgspec.msgpack.Decoder(Pin).decode
_decode_alias = msgspec.msgpack.Decoder(Alias).decode


def normal(text: str) -> str:
    """The words that identify an alias: case, punctuation, spacing and ", Buffalo, NY" do not matter."""
    return " ".join(words(strip_tail(text[:MAX_QUERY])))


def _pins_key(pins: str, text: str) -> str:
    return pins + hashlib.sha256(normal(text).encode()).hexdigest()


async def record_pin(redis: Redis, keys: AliasKeys, *, text: str, point: Point, by: str) -> Alias | None:
    """Keep an agent's pin for words the gazetteer could not place; the alias if two agents now agree.

    One pin per agent per text (a later one replaces it). Two agents promoting the same words at the
    same moment both write an alias within `AGREE_M` of each other: the last one stands, which is as
    good as the first, so no lock is taken.
    """
    key = normal(text)
    if not key:
        return None
    now = datetime.now(UTC)
    pin = Pin(text=text, point=point, by=by, at=now)
    hash_key = _pins_key(keys.pins, text)
    pipe = redis.pipeline(transaction=True)
    pipe.hset(hash_key, by, _encode(pin))
    pipe.zadd(keys.pinned, {key: now.timestamp()})
    pipe.hgetall(hash_key)
    *_, raw = await pipe.execute()
    others = [
        _decode_pin(blob) for agent, blob in cast(dict[bytes, bytes], raw).items() if agent.decode() != by
    ]
    agreeing = [other for other in others if distance_m(other.point, point) <= AGREE_M]
    if not agreeing:
        return None
    alias = Alias(text=text, point=point, learnt_from=sorted({by, *(o.by for o in agreeing)}), at=now)
    await _stand(redis, keys, alias)
    return alias


async def set_alias(redis: Redis, keys: AliasKeys, *, text: str, point: Point, by: str) -> Alias:
    """A supervisor confirms a pin, adds an alias or moves one: it stands at once, for every worker."""
    alias = Alias(text=text, point=point, learnt_from=[by], at=datetime.now(UTC))
    await _stand(redis, keys, alias)
    return alias


async def _stand(redis: Redis, keys: AliasKeys, alias: Alias) -> None:
    # The alias and the end of its pins' wait, in one step: a page never lists both.
    pipe = redis.pipeline(transaction=True)
    pipe.hset(keys.aliases, normal(alias.text), _encode(alias))
    pipe.delete(_pins_key(keys.pins, alias.text))
    pipe.zrem(keys.pinned, normal(alias.text))
    await pipe.execute()


async def remove_alias(redis: Redis, keys: AliasKeys, *, text: str) -> bool:
    """Forget an alias; False if there was none by those words."""
    return bool(await redis.hdel(keys.aliases, normal(text)))


async def all_aliases(redis: Redis, aliases: str) -> list[Alias]:
    raw = cast(dict[bytes, bytes], await redis.hgetall(aliases))
    return sorted((_decode_alias(blob) for blob in raw.values()), key=lambda a: normal(a.text))


async def waiting_pins(redis: Redis, keys: AliasKeys, limit: int = 200) -> list[Pin]:
    """Pins not (yet) an alias, the most recently pinned words first, for a supervisor to review."""
    texts = cast(list[bytes], await redis.zrevrange(keys.pinned, 0, limit - 1))
    pipe = redis.pipeline(transaction=False)
    for text in texts:
        pipe.hgetall(_pins_key(keys.pins, text.decode()))
    found: list[Pin] = []
    for raw in await pipe.execute():
        found += sorted((_decode_pin(blob) for blob in raw.values()), key=lambda p: p.at)
    return found


async def lookup(redis: Redis, aliases: str, text: str) -> GeoResult | None:
    """The alias for these words as a geocoder's answer, or None."""
    blob = cast(bytes | None, await redis.hget(aliases, normal(text)))
    if blob is None:
        return None
    alias = _decode_alias(blob)
    return GeoResult(
        point=alias.point,
        method=Method.ALIAS,
        confidence=ALIAS_CONFIDENCE,
        label=alias.text,
        source="alias",
    )
