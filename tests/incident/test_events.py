"""The event writer: a change and its event land together or not at all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import cast

import pytest
from redis.asyncio import Redis

from incident.events import RETRIES, Change, Conflict, commit, retrying
from incident.keys import Keys
from incident.problems import Problem
from incident.records import StatusChanged
from incident.status import Status
from incident.store import Store, connect
from incident.write_steps import open_store

Entries = list[tuple[bytes, dict[bytes, bytes]]]


@pytest.fixture
async def store(flushed: str) -> AsyncIterator[Store]:
    redis: Redis = connect(flushed)
    yield open_store(redis, "testville")
    await redis.aclose()


def _event(ticket: str = "2026-000001") -> StatusChanged:
    return StatusChanged(
        ticket=ticket,
        at=datetime.now(UTC),
        actor="t",
        from_status=Status.OPEN,
        to_status=Status.ASSIGNED,
        reason=None,
        version=2,
    )


async def test_change_and_event_are_written_together(store: Store) -> None:
    """A commit writes the record and appends the event to the stream and the history, same id."""
    keys = store.keys
    change = (
        Change().guard(keys.incident("2026-000001"), "v", "").hset(keys.incident("2026-000001"), {"v": 1})
    )
    event_id = await commit(store.scripts.apply, change, _event(), keys.events, keys.history("2026-000001"))
    assert await store.redis.hget(keys.incident("2026-000001"), "v") == b"1"
    ((global_id, _),) = cast(Entries, await store.redis.xrange(keys.events))
    ((history_id, fields),) = cast(Entries, await store.redis.xrange(keys.history("2026-000001")))
    assert global_id.decode() == history_id.decode() == event_id
    assert fields[b"type"] == b"incident.status_changed"


async def test_failed_guard_writes_nothing(store: Store) -> None:
    """When a guard fails, no write is made and no event is appended."""
    keys = store.keys
    await store.redis.hset(keys.incident("2026-000001"), mapping={"v": "3"})
    change = (
        Change()
        .guard(keys.incident("2026-000001"), "v", "2")
        .hset(keys.incident("2026-000001"), {"v": 4})
        .zadd(keys.all_incidents, 1, "2026-000001")
    )
    with pytest.raises(Conflict) as caught:
        await commit(store.scripts.apply, change, _event(), keys.events)
    assert caught.value.actual == b"3"
    assert await store.redis.hget(keys.incident("2026-000001"), "v") == b"3"
    assert await store.redis.exists(keys.all_incidents, keys.events) == 0


async def test_keys_share_the_jurisdiction_hash_tag(store: Store) -> None:
    """Every key written carries the jurisdiction's hash tag, so a Cluster keeps them in one slot."""
    keys = store.keys
    change = Change().hset(keys.incident("2026-000009"), {"v": 1}).zadd(keys.by_status("open"), 9, "x")
    await commit(store.scripts.apply, change, _event("2026-000009"), keys.events, keys.history("2026-000009"))
    seeded = Keys("buffalo").gazetteer  # put there by the fixture, not by this commit
    written = [key.decode() async for key in store.redis.scan_iter() if key.decode() != seeded]
    assert written
    assert all("{testville}" in key for key in written), written


async def test_plan_values_keep_their_form_and_bad_ones_write_nothing(store: Store) -> None:
    """Large ints, negatives, floats and bytes arrive as written; a None is refused before any write."""
    key = store.keys.center_pending
    change = Change().command("HSET", key, "big", 10**17).command("HSET", key, "neg", -1.5)  # type: ignore[arg-type]
    change.command("HSET", key, "raw", b"\x00\xff").command("HSET", key, "empty", "")
    await commit(store.scripts.apply, change, _event(), store.keys.events)
    stored = await store.redis.hgetall(key)
    assert stored == {b"big": b"100000000000000000", b"neg": b"-1.5", b"raw": b"\x00\xff", b"empty": b""}
    bad = Change().command("SET", store.keys.center_pending_lock, "x")
    bad.command("HSET", key, "n", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await commit(store.scripts.apply, bad, _event(), store.keys.events)
    assert await store.redis.exists(store.keys.center_pending_lock) == 0


async def test_a_read_decide_write_is_retried_on_a_real_conflict_until_it_lands(store: Store) -> None:
    """Each lap reads again after another write got in; the lap that finds the record unchanged lands."""
    key, laps = "testville:counter", 0

    async def attempt() -> int:
        nonlocal laps
        laps += 1
        version = int(cast(bytes | None, await store.redis.hget(key, "v")) or 0)
        if laps < 3:  # someone else writes between our read and our write, twice
            await store.redis.hset(key, "v", version + 1)
        change = Change().guard(key, "v", str(version) if version else "").hset(key, {"v": version + 1})
        await commit(store.scripts.apply, change, _event(), store.keys.events)
        return version + 1

    assert await retrying(attempt, "the counter") == 3
    assert laps == 3


async def test_retries_running_out_is_one_problem(store: Store) -> None:
    """A record that changes under every lap is a 503 'contention' naming it, after RETRIES laps."""
    laps = 0

    async def attempt() -> None:
        nonlocal laps
        laps += 1
        raise Conflict("k", b"moved")

    with pytest.raises(Problem) as raised:
        await retrying(attempt, "crew C1")
    assert (raised.value.status, raised.value.kind) == (503, "contention")
    assert "crew C1 is changing too fast" in raised.value.detail
    assert laps == RETRIES


async def test_a_conflict_not_worth_a_lap_goes_to_the_caller(store: Store) -> None:
    """With retry_if, a conflict on another key is not retried: the caller gets it at once."""
    laps = 0

    async def attempt() -> None:
        nonlocal laps
        laps += 1
        raise Conflict("other", b"")

    with pytest.raises(Conflict):
        await retrying(attempt, "x", retry_if=lambda conflict: conflict.key == "mine")
    assert laps == 1
