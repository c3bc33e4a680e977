"""Agency deliveries beside the 911 center's: no token leaks, and no bad entry stops the others."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import msgspec
import pytest
from quart.testing.app import TestApp as App

from incident import outbox
from incident.app import create_app
from incident.auth.roles import Role
from incident.config import SurgeConfig
from incident.events import Change, commit
from incident.records import AlarmRaised
from incident.settings import Settings
from tests.dispatch.receivers import Webhook
from tests.support import as_role


@pytest.fixture
async def psap_app(settings: Settings, config: SurgeConfig) -> AsyncIterator[tuple[App, list[httpx.Request]]]:
    """The app with a 911 endpoint and its secret token, retrying every second."""
    seen: list[httpx.Request] = []

    def psap(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    handoff = msgspec.structs.replace(
        config.handoff, psap_endpoint="https://psap.example/311", retry_seconds=1
    )
    quart_app = create_app(
        msgspec.structs.replace(settings, psap_token="secret-911-token"),
        msgspec.structs.replace(config, handoff=handoff),
    )
    quart_app.extensions["stormline.psap_transport"] = httpx.MockTransport(psap)
    async with quart_app.test_app() as test_app:
        yield test_app, seen  # type: ignore[misc]


async def _until(condition: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.1)


async def test_agencies_never_get_the_911_token(psap_app: tuple[App, list[httpx.Request]]) -> None:
    """A webhook referral reaches the agency without the bearer token the 911 center gets."""
    app, _ = psap_app
    supervisor = await as_role(app, Role.SUPERVISOR)
    with Webhook().running() as agency:
        await supervisor.patch(
            "/api/v1/agencies/svc-211", json={"method": "webhook", "webhook_url": agency.url}
        )
        body = {"narrative": "needs food", "location": {"lat": 42.93, "lon": -78.83}}
        ticket = (await (await supervisor.post("/api/v1/calls", json=body)).get_json())["ticket"]
        referral = {"service_id": "svc-211", "need": "food", "consent": {"given": True}}
        assert (
            await supervisor.post(f"/api/v1/incidents/{ticket}/referrals", json=referral)
        ).status_code == 201
        await _until(lambda: agency.deliveries)
    headers = {k.lower() for k in agency.deliveries[0][0]}
    assert "authorization" not in headers


async def test_a_broken_agency_entry_does_not_stop_911_deliveries(
    psap_app: tuple[App, list[httpx.Request]],
) -> None:
    """An outbox entry no sender can use is recorded as failing; the 911 handoff behind it goes out."""
    app, seen = psap_app
    store = app.app.extensions["stormline.store"]
    change = Change()
    poison = outbox.enqueue(change, store, "webhook", b"{}", address="http://[::1")
    await commit(
        store.scripts.apply,
        change,
        AlarmRaised(ticket="", at=datetime.now(UTC), kind="test", message="x"),
        store.keys.events,
    )
    supervisor = await as_role(app, Role.SUPERVISOR)
    body = {"narrative": "man trapped under a tree, not moving", "address": "Bailey & Kensington"}
    ticket = (await (await supervisor.post("/api/v1/calls", json=body)).get_json())["ticket"]
    await supervisor.post(f"/api/v1/incidents/{ticket}/handoff", json={"step": "transfer_started"})
    await _until(lambda: seen)
    assert seen[0].headers["Authorization"] == "Bearer secret-911-token"
    failed = await store.redis.hgetall(store.keys.delivery(poison))
    assert failed[b"error"].startswith(b"not delivered")


async def test_a_partner_that_is_down_is_probed_not_flooded(settings: Settings, config: SurgeConfig) -> None:
    """While 911 is down, one delivery is tried per retry period, not every pending one; all go after."""
    down = True
    seen: list[httpx.Request] = []

    def psap(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503 if down else 202)

    handoff = msgspec.structs.replace(
        config.handoff, psap_endpoint="https://psap.example/311", retry_seconds=1
    )
    quart_app = create_app(settings, msgspec.structs.replace(config, handoff=handoff))
    quart_app.extensions["stormline.psap_transport"] = httpx.MockTransport(psap)
    async with quart_app.test_app():
        store = quart_app.extensions["stormline.store"]
        change = Change()
        ids = {outbox.enqueue(change, store, "psap", b"{}") for _ in range(20)}
        event = AlarmRaised(ticket="", at=datetime.now(UTC), kind="test", message="x")
        await commit(store.scripts.apply, change, event, store.keys.events)
        await _until(lambda: seen)
        await asyncio.sleep(2.5)
        # The first attempt, then one each second: unchecked, 20 pending would mean 20 a second.
        assert 2 <= len(seen) <= 5, f"{len(seen)} attempts while down"
        down, before = False, len(seen)
        await _until(lambda: {r.headers["Idempotency-Key"] for r in seen[before:]} >= ids)
        delivered = [await store.redis.hget(store.keys.delivery(i), "delivered_at") for i in ids]
        assert all(delivered), "every delivery arrived once the partner was back"
