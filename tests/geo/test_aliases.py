"""Aliases learnt from agents' pins (geo.aliases), against the real Redis the fixtures start."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from geo import aliases
from geo.point import Point
from geo.result import Method
from incident.pins import alias_keys
from incident.store import Store, connect
from incident.write_steps import open_store

MILL = Point(42.8801, -78.8501)
NEAR_MILL = Point(42.8803, -78.8503)  # about 27 m away
FAR_FROM_MILL = Point(42.8811, -78.8501)  # about 111 m away


@pytest.fixture
async def store(flushed: str) -> AsyncIterator[Store]:
    redis = connect(flushed)
    yield open_store(redis, "buffalo")
    await redis.aclose()


async def test_one_pin_waits_and_a_second_agent_within_50_m_makes_the_alias(store: Store) -> None:
    """The first pin is kept waiting; a second agent's within 50 m makes the alias, and it stops waiting."""
    keys = alias_keys(store)
    assert await aliases.record_pin(store.redis, keys, text="the old mill", point=MILL, by="ada") is None
    assert [p.by for p in await aliases.waiting_pins(store.redis, keys)] == ["ada"]
    learnt = await aliases.record_pin(store.redis, keys, text="The Old Mill.", point=NEAR_MILL, by="bo")
    assert learnt is not None
    assert learnt.learnt_from == ["ada", "bo"]
    assert await aliases.waiting_pins(store.redis, keys) == []
    found = await aliases.lookup(store.redis, keys.aliases, "the old mill, Buffalo, NY 14201")
    assert found is not None
    assert found.method is Method.ALIAS
    assert found.point == NEAR_MILL


async def test_the_same_agent_twice_or_two_agents_apart_teach_nothing(store: Store) -> None:
    """One agent pinning again replaces their pin; two agents 111 m apart do not agree."""
    keys = alias_keys(store)
    await aliases.record_pin(store.redis, keys, text="the old mill", point=MILL, by="ada")
    assert await aliases.record_pin(store.redis, keys, text="the old mill", point=NEAR_MILL, by="ada") is None
    assert (
        await aliases.record_pin(store.redis, keys, text="the old mill", point=FAR_FROM_MILL, by="bo") is None
    )
    assert await aliases.lookup(store.redis, keys.aliases, "the old mill") is None
    assert sorted(p.by for p in await aliases.waiting_pins(store.redis, keys)) == ["ada", "bo"]


async def test_a_supervisor_sets_moves_and_removes_an_alias(store: Store) -> None:
    """Set stands at once and ends the pins' wait; set again moves it; removed, it is gone."""
    keys = alias_keys(store)
    await aliases.record_pin(store.redis, keys, text="the old mill", point=MILL, by="ada")
    await aliases.set_alias(store.redis, keys, text="the old mill", point=MILL, by="sam")
    assert await aliases.waiting_pins(store.redis, keys) == []
    await aliases.set_alias(store.redis, keys, text="THE OLD MILL", point=FAR_FROM_MILL, by="sam")
    listed = await aliases.all_aliases(store.redis, keys.aliases)
    assert [(a.text, a.point) for a in listed] == [("THE OLD MILL", FAR_FROM_MILL)]
    assert await aliases.remove_alias(store.redis, keys, text="the old mill") is True
    assert await aliases.remove_alias(store.redis, keys, text="the old mill") is False
    assert await aliases.all_aliases(store.redis, keys.aliases) == []
