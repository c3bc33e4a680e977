"""A scripted storm, as the issue checks it: activate, a few hundred calls over simulated hours, the
surge alarm, due times, stand-down, and an after-action report whose figures equal the calls filed."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident import surge
from incident.config import SurgeConfig
from incident.report import keep_once
from incident.triage.evaluate import WRITTEN_HERE, load

CHANNELS = ["phone"] * 7 + ["web", "app", "walk_in"]


async def test_scripted_storm(app: App, client: Client, config: SurgeConfig) -> None:
    """300 calls in a storm: surge alarmed once, due times by the incident profile, report matches."""
    store = app.app.extensions["stormline.store"]
    now = time.time()
    window = surge.window_of(now, config)
    for past in range(window - 96, window):  # an ordinary day before: two calls a window
        await store.redis.set(store.keys.surge_count(past, "all"), 2)

    mode = await (
        await client.post(
            "/api/v1/mode", json={"mode": "incident", "name": "October Storm", "reason": "surge"}
        )
    ).get_json()
    activation = mode["state"]["activation"]["id"]
    rng = random.Random(2006)  # noqa: S311 - a reproducible script, not a secret
    texts = [call.text for call in load(WRITTEN_HERE)]
    start = datetime.now(UTC) - timedelta(hours=10)
    filed: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    hours: Counter[str] = Counter()
    for n in range(300):
        received = start + timedelta(minutes=2 * n)  # the storm's ten hours, simulated
        channel = rng.choice(CHANNELS)
        body = {"narrative": rng.choice(texts), "channel": channel, "received_at": received.isoformat()}
        response = await client.post("/api/v1/calls", json=body)
        assert response.status_code == 201
        incident = (await response.get_json())["incident"]
        assert incident["activation"] == activation
        opened, due = (datetime.fromisoformat(incident[k]) for k in ("opened_at", "due_at"))
        expected = config.modes.incident.deadline(incident["category"], incident["priority"])
        assert due - opened == timedelta(minutes=expected)
        filed[incident["category"]] += 1
        channels[channel] += 1
        hours[received.strftime("%Y-%m-%dT%H:00Z")] += 1

    for _ in range(3):  # rounds in four workers at once, three times over
        await asyncio.gather(*(surge.check(store, config, keep_once) for _ in range(4)))
    alarms = (await (await client.get("/api/v1/alarms")).get_json())["alarms"]
    assert len([a for a in alarms if a["event"]["kind"] == "surge"]) == 1

    assert (
        await client.post("/api/v1/mode", json={"mode": "normal", "reason": "storm over"})
    ).status_code == 200
    report = await (await client.get(f"/api/v1/activations/{activation}/report")).get_json()
    assert report["incidents"] == report["calls"] == 300
    assert {row["key"]: row["incidents"] for row in report["by_category"]} == dict(filed)
    assert {row["key"]: row["calls"] for row in report["by_channel"]} == dict(channels)
    assert dict(report["calls_per_hour"]) == dict(hours)
    assert report["activation"]["stood_down_at"] is not None
