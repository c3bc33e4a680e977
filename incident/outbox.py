"""The outbox: deliveries to partner systems (the 911 center first), never lost, retried until taken.

A delivery is appended to a Redis stream in the same atomic step as the change that causes it (see
`enqueue`), so a change is never without its delivery. Every worker runs `deliver_forever`: it reads
the stream as one consumer of a shared group, POSTs each delivery with its id as Idempotency-Key (the
receiver sees a retry as the same message), acknowledges it once the partner answers 2xx, and takes
over deliveries another worker left unacknowledged for `retry_seconds` (a crashed worker, a partner
that was down). A partner being down delays its deliveries; it never blocks a call.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from typing import Any, cast

import httpx
from redis.exceptions import RedisError, ResponseError

from incident.config import SurgeConfig
from incident.events import Change
from incident.store import Store

log = logging.getLogger("stormline.outbox")
GROUP = "deliveries"


def enqueue(change: Change, store: Store, target: str, body: bytes) -> str:
    """Add a delivery to `change`; returns its id (also the Idempotency-Key the partner sees)."""
    delivery_id = f"d-{int(time.time() * 1000)}-{secrets.token_hex(4)}"
    change.command("XADD", store.keys.outbox, "*", "id", delivery_id, "target", target, "body", body)
    return delivery_id


async def deliver_forever(
    store: Store,
    config: SurgeConfig,
    psap_token: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """Deliver until cancelled. Safe to run in every worker at once."""
    consumer = f"{os.getpid()}-{secrets.token_hex(3)}"
    await _ensure_group(store)
    headers = {"Content-Type": "application/json"}
    if psap_token:
        headers["Authorization"] = f"Bearer {psap_token}"
    retry_ms = config.handoff.retry_seconds * 1000
    async with httpx.AsyncClient(
        transport=transport, timeout=config.handoff.timeout_seconds, headers=headers
    ) as client:
        while True:
            try:
                entries = await _next(store, consumer, retry_ms)
                for entry_id, fields in entries:
                    await _deliver(store, config, client, entry_id, fields)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:
                log.warning("outbox: %s; trying again", error)
                await asyncio.sleep(1)


async def _ensure_group(store: Store) -> None:
    try:
        await store.redis.xgroup_create(store.keys.outbox, GROUP, id="0", mkstream=True)
    except ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


async def _next(store: Store, consumer: str, retry_ms: int) -> list[tuple[bytes, dict[bytes, bytes]]]:
    # Deliveries left unacknowledged (failed, or their worker died) come back after retry_ms…
    claimed: list[Any] = await store.redis.xautoclaim(
        store.keys.outbox, GROUP, consumer, min_idle_time=retry_ms, start_id="0-0", count=10
    )
    if claimed[1]:
        return [(entry_id, fields) for entry_id, fields in claimed[1] if fields]
    # …and new ones are read as they arrive.
    fresh = cast(
        list[Any],
        await store.redis.xreadgroup(GROUP, consumer, {store.keys.outbox: ">"}, count=10, block=1000),
    )
    return [(entry_id, fields) for _, entries in fresh for entry_id, fields in entries] if fresh else []


async def _deliver(
    store: Store, config: SurgeConfig, client: httpx.AsyncClient, entry_id: bytes, fields: dict[bytes, bytes]
) -> None:
    delivery_id = fields[b"id"].decode()
    status_key = store.keys.delivery(delivery_id)
    await store.redis.hincrby(status_key, "attempts", 1)
    endpoint = config.handoff.psap_endpoint
    if not endpoint:
        await store.redis.hset(status_key, "error", "no psap_endpoint configured")
        return  # stays pending; the acknowledgement alarm tells supervisors
    try:
        response = await client.post(
            endpoint, content=fields[b"body"], headers={"Idempotency-Key": delivery_id}
        )
    except httpx.HTTPError as error:
        await store.redis.hset(status_key, "error", f"{type(error).__name__}: {error}"[:300])
        return
    if not 200 <= response.status_code < 300:
        await store.redis.hset(status_key, "error", f"HTTP {response.status_code}")
        return
    pipe = store.redis.pipeline(transaction=True)
    pipe.xack(store.keys.outbox, GROUP, entry_id)
    pipe.hset(status_key, mapping={"delivered_at": repr(time.time()), "error": ""})
    await pipe.execute()
