"""`stormline dispatch reindex` rebuilds the indexes that incidents stored before them lack."""

from __future__ import annotations

from quart.typing import TestClientProtocol as Client

from dispatch.reindex import rebuild
from incident.store import Store
from tests.dispatch.helpers import assign, call_at, crew, ticket_at


async def test_reindex_restores_work_load_duplicates_and_callers(store: Store, client: Client) -> None:
    """With the new indexes wiped (data from before an upgrade), a rebuild makes them whole again."""
    await crew(client, "crew-1")
    working = [await ticket_at(client, 42.93 + i / 100, -78.82) for i in range(2)]
    for ticket in working:
        await assign(client, ticket, "crew-1")
    open_one = await ticket_at(client, 42.90, -78.85, callback_number="716-555-0123")
    keys = store.keys
    await store.redis.delete(
        keys.crew_work("crew-1"),
        keys.crew_load,
        keys.open_geo("debris"),
        keys.by_caller("+17165550123"),
        keys.due,
    )
    before = await call_at(client, 42.90, -78.85, callback_number="716-555-0123")
    assert before["duplicates"] == {"nearby": [], "same_caller": []}
    # An incident cancelled with no index entry must not drive the load below zero either.
    await client.post(f"/api/v1/incidents/{working[0]}/transitions", json={"to": "cancelled"})
    counts = await rebuild(store)
    assert counts["crew_work"] == 1
    board = (await (await client.get("/api/v1/crews")).get_json())["items"]
    assert board[0]["load"] == 1
    after = await call_at(client, 42.90, -78.85, callback_number="716-555-0123")
    assert open_one in [n["ticket"] for n in after["duplicates"]["nearby"]]
    assert open_one in [n["ticket"] for n in after["duplicates"]["same_caller"]]
    assert counts["search_words"] > 0
    assert await store.redis.zscore(keys.due, open_one) is not None
