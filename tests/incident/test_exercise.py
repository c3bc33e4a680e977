"""Drills: marked, nothing sent to a real partner, a scripted storm, a score sheet, then purged."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident.auth.roles import Role
from incident.config import SurgeConfig
from incident.settings import Settings
from incident.store import Store
from tests.incident.helpers import FakePsap, serving_with_psap, until
from tests.server import STORMLINE
from tests.support import as_role

EMERGENCY = {"narrative": "man trapped under a tree on Bailey, not moving", "address": "Bailey & Kensington"}


@pytest.fixture
def psap() -> FakePsap:
    return FakePsap()


@pytest.fixture
async def app(settings: Settings, config: SurgeConfig, psap: FakePsap) -> AsyncIterator[App]:
    """The app with a 911 endpoint configured (answered by `psap`)."""
    async with serving_with_psap(settings, config, psap) as test_app:
        yield test_app


async def _transfer(client: Client, drill: bool = False) -> str:
    made = await client.post("/api/v1/calls", json={**EMERGENCY, "drill": drill})
    ticket = str((await made.get_json())["ticket"])
    started = await client.post(f"/api/v1/incidents/{ticket}/handoff", json={"step": "transfer_started"})
    assert started.status_code == 200, await started.get_data(as_text=True)
    return ticket


async def _delivered(store: Store, ticket: str) -> bool:
    incident: Any = await store.redis.hget(store.keys.incident(ticket), "data")
    assert incident
    deliveries = await store.redis.keys(store.keys.delivery("*"))
    done = [await store.redis.hget(key, "delivered_at") for key in deliveries]
    return bool(done) and all(done)


async def test_a_drill_from_start_to_purge_sends_nothing_to_911(
    app: App, client: Client, store: Store, psap: FakePsap
) -> None:
    """A drill's 911 transfer goes nowhere, its CAP says Exercise; after it, a real one reaches 911."""
    started = await client.post("/api/v1/exercise", json={"name": "Blizzard drill"})
    assert started.status_code == 201, await started.get_data(as_text=True)
    drill = (await started.get_json())["id"]
    assert (await client.post("/api/v1/exercise", json={"name": "again"})).status_code == 409
    ticket = await _transfer(client, drill=True)
    beside = str(
        (await (await client.post("/api/v1/calls", json={"narrative": "limb down"})).get_json())["ticket"]
    )
    incident = (await (await client.get(f"/api/v1/incidents/{ticket}")).get_json())["incident"]
    assert incident["exercise"] == drill
    shared = await client.post(f"/api/v1/incidents/{ticket}/partners", json={"shared": True})
    assert shared.status_code == 200
    agency = await as_role(app, Role.AGENCY)
    cap = await (await agency.get(f"/api/v1/partners/cap/{ticket}.xml")).get_data(as_text=True)
    assert "<status>Exercise</status>" in cap
    await until(lambda: _delivered(store, ticket))  # taken off the outbox: sent nowhere
    assert psap.requests == []
    real_call = (await (await client.get(f"/api/v1/incidents/{beside}")).get_json())["incident"]
    assert real_call["exercise"] is None  # a real call during a drill stays real
    stopped = await (await client.post("/api/v1/exercise/stop")).get_json()
    assert (stopped["score"]["incidents"], stopped["score"]["calls"], stopped["score"]["life_safety"]) == (
        1,
        1,
        1,
    )
    late = await client.post("/api/v1/calls", json={**EMERGENCY, "drill": True})
    assert late.status_code == 409  # a drill's call after the drill is refused, not filed as real
    real = await _transfer(client)
    await until(lambda: _has(psap, 1))
    assert "Exercise" not in str(psap.taken())
    purged = await (await client.post(f"/api/v1/exercises/{drill}/purge")).get_json()
    assert purged["purged"] == 1
    assert (await client.get(f"/api/v1/incidents/{ticket}")).status_code == 404
    assert (await client.get(f"/api/v1/incidents/{real}")).status_code == 200
    assert (await client.get(f"/api/v1/incidents/{beside}")).status_code == 200
    assert not await store.redis.zscore(store.keys.all_incidents, ticket)
    found = await (await client.get("/api/v1/search", query_string={"q": "trapped Bailey"})).get_json()
    assert [i["ticket"] for i in found["items"]] == [real]
    kept = await (await client.get(f"/api/v1/exercises/{drill}")).get_json()
    assert kept["score"]["incidents"] == 1  # the score sheet outlives the purge


async def _has(psap: FakePsap, count: int) -> bool:
    return len(psap.taken()) >= count


async def test_a_scripted_storm_plays_its_callers_and_call_downs_and_is_scored(
    app: App, client: Client, store: Store
) -> None:
    """Three scripted callers and a call-down are played into the drill, scored at stop, then purged."""
    coordinator = await as_role(app, Role.COORDINATOR)
    resident = {
        "name": "Drill Resident",
        "address": "Elmwood Ave & Forest Ave",
        "location": {"lat": 42.9247, "lon": -78.8768},
        "needs": ["oxygen"],
        "consent_date": "2026-10-01",
        "consent_source": "test",
    }
    assert (await coordinator.post("/api/v1/registry", json=resident)).status_code == 201
    script = {
        "speed": 50,
        "calls": [
            {"at": 0, "narrative": "tree down across Delaware Ave", "address": "Delaware Ave & Forest Ave"},
            {"at": 10, "narrative": "no heat since last night, three kids", "phone": "716-555-0400"},
            {"at": 20, "narrative": "wires down on Hertel", "address": "Hertel Ave & Delaware Ave"},
        ],
        "calldowns": [{"at": 5, "name": "Drill outage", "districts": ["Delaware"], "needs": ["oxygen"]}],
    }
    started = await client.post("/api/v1/exercise", json={"name": "Scripted", "script": script})
    drill = (await started.get_json())["id"]

    async def played() -> bool:
        return await store.redis.zcard(store.keys.by_exercise(drill)) == 3

    await until(played)
    agent = await as_role(app, Role.AGENT)
    await agent.post("/api/v1/callbacks", json={"phone": "716-555-0401", "reason": "agent", "drill": True})
    stopped = await (await client.post("/api/v1/exercise/stop")).get_json()
    score = stopped["score"]
    assert (score["incidents"], score["calls"], score["calldowns"], score["callbacks"]) == (3, 3, 1, 1)
    assert score["calldown_residents"] == 1
    assert score["answer_seconds_median"] is not None
    await client.post(f"/api/v1/exercises/{drill}/purge")
    assert await store.redis.zcard(store.keys.by_exercise(drill)) == 0
    assert (await (await client.get("/api/v1/calldowns")).get_json())["items"] == []
    assert (await (await agent.get("/api/v1/callbacks")).get_json())["waiting"] == 0
    assert (await (await client.get("/api/v1/incidents")).get_json())["items"] == []


def test_the_command_plays_a_script_from_a_file_into_the_drill(tmp_path: Path) -> None:
    """`stormline drill run FILE` starts a drill, plays each step with progress; a bad file is named."""
    script = tmp_path / "blizzard.yaml"
    script.write_text(
        "speed: 100\n"
        "calls:\n"
        "  - {at: 0, narrative: tree down on Delaware, address: Delaware Ave & Forest Ave}\n"
        "  - {at: 5, narrative: no heat and a baby here, phone: 716-555-0500}\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORMLINE_")}
    env["STORMLINE_DATA_DIR"] = str(tmp_path / "data")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [STORMLINE, "drill", "run", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)

    refused = run(str(script))
    assert refused.returncode == 1
    assert "give --name" in refused.stderr
    first = run(str(script), "--name", "Blizzard drill")
    assert first.returncode == 0, first.stderr
    drill = first.stdout.split("into drill ")[1].split(";")[0]
    assert first.stdout.startswith("2 steps played")
    again = run(str(script))  # the drill still runs: the same script again makes nothing twice
    assert again.stdout.startswith(f"0 steps played into drill {drill};")
    broken = tmp_path / "broken.yaml"
    broken.write_text("calls: [{at: -1, narrative: x}]\n", encoding="utf-8")
    bad = run(str(broken))
    assert bad.returncode == 2
    assert str(broken) in bad.stderr


async def test_a_drill_call_joins_only_a_drill_incident_and_a_real_call_a_real_one(client: Client) -> None:
    """Attaching across drill and real is a 409 saying why; a second role-player joins the drill's."""
    await client.post("/api/v1/exercise", json={"name": "Attach drill"})
    limb = {"narrative": "limb down across the driveway", "address": "Bailey & Kensington"}
    drilled = (await (await client.post("/api/v1/calls", json={**limb, "drill": True})).get_json())["ticket"]
    real = (await (await client.post("/api/v1/calls", json=limb)).get_json())["ticket"]
    for ticket, drill in ((drilled, False), (real, True)):
        crossed = await client.post("/api/v1/calls", json={**limb, "ticket": ticket, "drill": drill})
        assert crossed.status_code == 409, await crossed.get_data(as_text=True)
        assert (await crossed.get_json())["type"].endswith("drill-mismatch")
    joined = await client.post("/api/v1/calls", json={**limb, "ticket": drilled, "drill": True})
    assert joined.status_code == 201, await joined.get_data(as_text=True)
    incident = (await (await client.get(f"/api/v1/incidents/{drilled}")).get_json())["incident"]
    assert len(incident["calls"]) == 2
    await client.post("/api/v1/exercise/stop")
