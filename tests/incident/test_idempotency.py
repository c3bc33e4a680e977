"""Idempotency-Key on POST /calls: retries are safe, even many at once."""

from __future__ import annotations

import asyncio

import redis
from quart.typing import TestClientProtocol as Client

from incident.embedded import EmbeddedRedis
from tests.incident.helpers import CALL, post_call


async def _count_incidents(client: Client) -> int:
    listing = await (await client.get("/api/v1/incidents?limit=500")).get_json()
    return len(listing["items"])


async def test_retry_returns_first_answer_and_creates_nothing(client: Client) -> None:
    """A second request with the same key and body gets the first answer, marked as replayed."""
    first = await post_call(client, CALL, **{"Idempotency-Key": "agent7-call-0001"})
    second = await post_call(client, CALL, **{"Idempotency-Key": "agent7-call-0001"})
    assert first.status_code == second.status_code == 201
    assert await first.get_data() == await second.get_data()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await _count_incidents(client) == 1


async def test_same_key_other_body_is_refused(client: Client) -> None:
    """Reusing a key for a different call is a 422 and stores nothing more."""
    await post_call(client, CALL, **{"Idempotency-Key": "k-1"})
    other = await post_call(client, {**CALL, "narrative": "a different call"}, **{"Idempotency-Key": "k-1"})
    assert other.status_code == 422
    assert (await other.get_json())["type"].endswith("idempotency-key-reused")
    assert await _count_incidents(client) == 1


async def test_different_keys_create_different_incidents(client: Client) -> None:
    """Two keys are two calls, even with identical bodies."""
    await post_call(client, CALL, **{"Idempotency-Key": "a"})
    await post_call(client, CALL, **{"Idempotency-Key": "b"})
    assert await _count_incidents(client) == 2


async def test_fifty_concurrent_retries_create_one_incident(
    client: Client, redis_server: EmbeddedRedis
) -> None:
    """50 simultaneous requests with one key create exactly one incident and all get its answer."""
    responses = await asyncio.gather(
        *(post_call(client, CALL, **{"Idempotency-Key": "storm-retry-50"}) for _ in range(50))
    )
    bodies = {await response.get_data() for response in responses}
    assert {response.status_code for response in responses} == {201}
    assert len(bodies) == 1
    assert await _count_incidents(client) == 1
    with redis.Redis(unix_socket_path=str(redis_server.socket_path)) as raw:
        # The directory of agencies loaded at start writes its own event; every other is the call's.
        entries = raw.xrange("sl:{buffalo}:events")
        assert [fields[b"type"] for _, fields in entries if fields[b"type"] != b"agency.saved"] == [
            b"incident.opened"
        ]  # one event: no second write slipped through


async def test_failed_request_releases_its_key(client: Client) -> None:
    """A request refused after claiming its key (unknown ticket) frees the key for a corrected retry."""
    refused = await post_call(client, {**CALL, "ticket": "2026-424242"}, **{"Idempotency-Key": "fix-me"})
    assert refused.status_code == 404
    corrected = await post_call(client, {**CALL, "ticket": "2026-424242"}, **{"Idempotency-Key": "fix-me"})
    assert corrected.status_code == 404  # same body, still unknown: not a stale replay of a success
    fine = await post_call(client, CALL, **{"Idempotency-Key": "fix-me"})
    assert fine.status_code == 201


async def test_attach_retries_are_idempotent_too(client: Client) -> None:
    """Retrying an attach with its key adds the call once."""
    ticket = (await (await post_call(client)).get_json())["ticket"]
    body = {"narrative": "me again", "ticket": ticket}
    answers = await asyncio.gather(
        *(post_call(client, body, **{"Idempotency-Key": "attach-1"}) for _ in range(10))
    )
    assert len({await answer.get_data() for answer in answers}) == 1
    detail = await (await client.get(f"/api/v1/incidents/{ticket}")).get_json()
    assert len(detail["calls"]) == 2


async def test_malformed_key_is_400(client: Client) -> None:
    """An over-long key is refused with a problem naming the header."""
    response = await post_call(client, CALL, **{"Idempotency-Key": "x" * 256})
    assert response.status_code == 400
    assert (await response.get_json())["errors"][0]["field"] == "Idempotency-Key"
