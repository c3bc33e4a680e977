"""The supervisor's queues are kept counters that follow every change and can be rebuilt."""

from __future__ import annotations

from typing import Any

from quart.typing import TestClientProtocol as Client

from dispatch.reindex import rebuild
from incident.store import Store
from tests.dispatch.helpers import ticket_at


async def _queues(client: Client) -> dict[tuple[str, str, str], int]:
    response = await client.get("/api/v1/queues")
    assert response.status_code == 200
    rows: list[list[Any]] = (await response.get_json())["rows"]  # [category, priority, status, count]
    return {(category, priority, status): count for category, priority, status, count in rows}


async def test_queues_follow_status_category_and_priority_changes(client: Client) -> None:
    """Counts move with transitions and overrides, and finished work leaves the queues."""
    first = await ticket_at(client, 42.90, -78.85)
    await ticket_at(client, 42.95, -78.80)
    assert await _queues(client) == {("debris", "P3", "open"): 2}
    await client.post(
        f"/api/v1/incidents/{first}/override", json={"priority": "P1", "reason": "blocks a hospital"}
    )
    assert await _queues(client) == {("debris", "P3", "open"): 1, ("debris", "P1", "open"): 1}
    await client.post(f"/api/v1/incidents/{first}/transitions", json={"to": "cancelled"})
    assert await _queues(client) == {("debris", "P3", "open"): 1}


async def test_reindex_rebuilds_the_queue_counters(store: Store, client: Client) -> None:
    """Counters lost or wrong (data from before they existed) are rebuilt from the incidents."""
    await ticket_at(client, 42.90, -78.85)
    await ticket_at(client, 42.95, -78.80)
    await store.redis.delete(store.keys.queues)
    await store.redis.hset(store.keys.queues, "debris|P2|open", 7)
    assert await _queues(client) == {("debris", "P2", "open"): 7}
    counts = await rebuild(store)
    assert counts["queues"] == 2
    assert await _queues(client) == {("debris", "P3", "open"): 2}
