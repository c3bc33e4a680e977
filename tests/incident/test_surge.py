"""Surge detection: calls per window against the rolling baseline, alarmed once per window."""

from __future__ import annotations

import asyncio
import time

import msgspec
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident import report, surge
from incident.config import SurgeConfig
from incident.store import Store


async def test_calls_are_counted_per_window_and_category(
    client: Client, config: SurgeConfig, store: Store
) -> None:
    """Each call taken, new or attached, counts in the current window, overall and in its category."""
    first = await (
        await client.post("/api/v1/calls", json={"narrative": "tree down across Elmwood"})
    ).get_json()
    await client.post("/api/v1/calls", json={"narrative": "same tree", "ticket": first["ticket"]})
    await client.post("/api/v1/calls", json={"narrative": "no heat in the house"})
    readings = {r.category: r for r in await surge.readings(store, config)}
    assert readings["all"].calls == 3
    assert readings["debris"].calls == 2
    assert readings["shelter_transport"].calls == 1
    shown = await (await client.get("/api/v1/surge")).get_json()
    assert shown["window_minutes"] == 15


async def test_surge_against_baseline(config: SurgeConfig, store: Store) -> None:
    """Three times the baseline (and the minimum) is a surge; the same count on a busy baseline is not."""
    now = time.time()
    window = surge.window_of(now, config)
    await store.redis.set(store.keys.surge_count(window, "all"), 60)
    for past in range(window - 96, window):
        await store.redis.set(store.keys.surge_count(past, "all"), 10)
    quiet = {r.category: r for r in await surge.readings(store, config, now)}
    assert quiet["all"].baseline == 10
    assert quiet["all"].surging
    for past in range(window - 96, window):
        await store.redis.set(store.keys.surge_count(past, "all"), 40)
    busy = {r.category: r for r in await surge.readings(store, config, now)}
    assert not busy["all"].surging


async def test_surge_alarm_once_per_window_and_auto_switch_when_allowed(
    app: App, config: SurgeConfig, store: Store, client: Client
) -> None:
    """A surging window raises one alarm; with auto_switch the center goes to incident mode by itself."""
    allowed = msgspec.structs.replace(
        config,
        modes=msgspec.structs.replace(
            config.modes, surge=msgspec.structs.replace(config.modes.surge, auto_switch=True)
        ),
    )
    window = surge.window_of(time.time(), config)
    await store.redis.set(store.keys.surge_count(window, "all"), 500)
    for _ in range(3):  # rounds in four workers at once, three times over
        await asyncio.gather(*(surge.check(store, allowed, report.keep_once) for _ in range(4)))
    alarms = (await (await client.get("/api/v1/alarms")).get_json())["alarms"]
    assert len([a for a in alarms if a["event"]["kind"] == "surge"]) == 1
    mode = await (await client.get("/api/v1/mode")).get_json()
    assert mode["state"]["mode"] == "incident"
    assert mode["state"]["activation"]["name"].startswith("Surge")
