"""Agents' pins, kept to teach the gazetteer (geo.aliases), with the key names it is given."""

from __future__ import annotations

from geo import aliases
from geo.point import Point
from incident.store import Store


def alias_keys(store: Store) -> aliases.AliasKeys:
    """Where geo.aliases keeps pins and aliases: key names from the one key module."""
    keys = store.keys
    return aliases.AliasKeys(pins=keys.geo_pins, pinned=keys.geo_pinned, aliases=keys.geo_aliases)


async def learn_from_pin(store: Store, address: str, point: Point, agent: str) -> aliases.Alias | None:
    """Keep an agent's pin for an address the gazetteer could not place; an alias once two agree."""
    return await aliases.record_pin(store.redis, alias_keys(store), text=address, point=point, by=agent)
