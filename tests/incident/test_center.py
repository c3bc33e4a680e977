"""The center's mode: switching, the storm incident, due times, stand-down and the public status."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import msgspec
import pytest
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident import center, intake, report
from incident.auth.roles import Role
from incident.center import check_review
from incident.config import SurgeConfig
from incident.incidents import insert_incident
from incident.kept import Kept, Plan
from incident.records import Incident
from tests.incident.deadlines import make_past_due
from tests.support import as_role

NO_HEAT = {"narrative": "no heat in the house since noon", "address": "Bailey & Kensington"}


def _minutes(incident: dict[str, str]) -> float:
    opened, due = (datetime.fromisoformat(incident[k]) for k in ("opened_at", "due_at"))
    return (due - opened).total_seconds() / 60


async def test_incident_mode_tags_calls_and_tightens_deadlines(client: Client) -> None:
    """In incident mode a call is tagged with the storm and due by the incident profile."""
    before = (await (await client.post("/api/v1/calls", json=NO_HEAT)).get_json())["incident"]
    assert before["activation"] is None
    assert _minutes(before) == 480  # normal: P2 in eight hours
    switched = await client.post(
        "/api/v1/mode",
        json={"mode": "incident", "name": "October Storm", "reason": "lake-effect snow, trees down"},
    )
    assert switched.status_code == 200
    view = await switched.get_json()
    assert view["state"]["mode"] == "incident"
    assert view["banner"].startswith("INCIDENT MODE")
    assert view["categories"][0] == "emergency"
    during = (await (await client.post("/api/v1/calls", json=NO_HEAT)).get_json())["incident"]
    assert during["activation"] == view["state"]["activation"]["id"]
    assert _minutes(during) == 90  # shelter transport P2 on a storm night
    redated = (await (await client.get(f"/api/v1/incidents/{before['ticket']}")).get_json())["incident"]
    assert _minutes(redated) == 90, "a switch re-dates open work"


async def test_stand_down_closes_the_storm_and_requeues(client: Client) -> None:
    """Stand-down moves the storm's released emergency work to the normal queue; older work stays."""
    gas = {"narrative": "smell gas in the basement"}
    earlier = (await (await client.post("/api/v1/calls", json=gas)).get_json())["incident"]
    await client.post("/api/v1/mode", json={"mode": "incident", "name": "October Storm", "reason": "storm"})
    emergency = (
        await (await client.post("/api/v1/calls", json={"narrative": "smell gas in the basement"})).get_json()
    )["incident"]
    assert emergency["category"] == "emergency"
    release = {"reason": "911 says it is ours"}  # held by 911 it would keep its label (see below)
    assert (
        await client.post(f"/api/v1/incidents/{emergency['ticket']}/handoff/release", json=release)
    ).status_code == 200
    stood = await client.post(
        "/api/v1/mode", json={"mode": "normal", "reason": "power restored, calls back to normal"}
    )
    assert (await stood.get_json())["state"]["activation"] is None
    after = (await (await client.get(f"/api/v1/incidents/{emergency['ticket']}")).get_json())["incident"]
    assert after["category"] == "general"
    kept = (await (await client.get(f"/api/v1/incidents/{earlier['ticket']}")).get_json())["incident"]
    assert kept["category"] == "emergency", "opened before the storm: not the storm's work"
    history = await (await client.get(f"/api/v1/incidents/{emergency['ticket']}/history")).get_json()
    assert history["events"][-1]["event"]["type"] == "incident.requeued"
    audit = await (await client.get("/api/v1/audit")).get_json()
    assert audit is not None


async def test_stand_down_leaves_work_911_or_an_agency_holds(app: App, client: Client) -> None:
    """Held by 911 or referred: stand-down keeps its label, and it is never a 311 deadline or alarm."""
    await client.post("/api/v1/mode", json={"mode": "incident", "name": "October Storm", "reason": "storm"})
    gas = {"narrative": "smell gas in the basement"}
    held, released = [
        (await (await client.post("/api/v1/calls", json=gas)).get_json())["ticket"] for _ in "ab"
    ]
    release = {"reason": "911 says it is ours"}
    assert (
        await client.post(f"/api/v1/incidents/{released}/handoff/release", json=release)
    ).status_code == 200
    referred = (await (await client.post("/api/v1/calls", json=NO_HEAT)).get_json())["ticket"]
    referral = {"service_id": "svc-211", "need": "food", "consent": {"given": True}}
    made = await client.post(f"/api/v1/incidents/{referred}/referrals", json=referral)
    assert made.status_code == 201, await made.get_data(as_text=True)
    accepted = {"status": "accepted"}
    rid = (await made.get_json())["referral"]["id"]
    assert (await client.post(f"/api/v1/referrals/{rid}/status", json=accepted)).status_code == 200
    await client.post(
        "/api/v1/mode", json={"mode": "normal", "reason": "power restored, calls back to normal"}
    )

    async def now(ticket: str) -> dict[str, Any]:
        return dict((await (await client.get(f"/api/v1/incidents/{ticket}")).get_json())["incident"])

    assert ((await now(held))["category"], (await now(released))["category"]) == ("emergency", "general")
    assert (await now(referred))["status"] == "referred"
    store = app.app.extensions["stormline.store"]
    for ticket in (held, released, referred):
        await make_past_due(store, ticket, minutes=5)
    listed = await (await client.get("/api/v1/incidents?overdue=true")).get_json()
    assert [item["ticket"] for item in listed["items"]] == [released]
    await center.check_overdue(store)
    alarms = (await (await client.get("/api/v1/alarms")).get_json())["alarms"]
    missed = {a["event"]["ticket"] for a in alarms if a["event"]["kind"] == "deadline_missed"}
    assert missed == {released}


async def test_only_a_supervisor_switches_and_a_name_is_needed(app: App, client: Client) -> None:
    """Agents cannot switch; incident mode needs a name; a second activation is refused."""
    agent = await as_role(app, Role.AGENT)
    assert (
        await agent.post("/api/v1/mode", json={"mode": "incident", "name": "X Storm", "reason": "because"})
    ).status_code == 403
    unnamed = await client.post("/api/v1/mode", json={"mode": "incident", "reason": "storm"})
    assert unnamed.status_code == 422
    assert (await unnamed.get_json())["errors"][0]["field"] == "name"
    await client.post("/api/v1/mode", json={"mode": "incident", "name": "October Storm", "reason": "storm"})
    again = await client.post(
        "/api/v1/mode", json={"mode": "incident", "name": "Another Storm", "reason": "storm"}
    )
    assert again.status_code == 409


async def test_public_status_follows_the_mode(app: App, client: Client) -> None:
    """The public status says the mode, the storm's name and the public message; no personal data."""
    anonymous = app.test_client()
    assert (await (await anonymous.get("/api/v1/status")).get_json())["mode"] == "normal"
    await client.post("/api/v1/mode", json={"mode": "incident", "name": "October Storm", "reason": "storm"})
    status = await (await anonymous.get("/api/v1/status")).get_json()
    assert (status["mode"], status["incident_name"]) == ("incident", "October Storm")
    assert "storm operations" in status["public_message"]


async def test_overdue_list_and_alarm(app: App, client: Client) -> None:
    """An overdue open incident is listed and alarmed once per due time; re-dated, it alarms again."""

    ticket = (await (await client.post("/api/v1/calls", json=NO_HEAT)).get_json())["ticket"]
    store = app.app.extensions["stormline.store"]

    await make_past_due(store, ticket, minutes=5)
    listed = await (await client.get("/api/v1/incidents?overdue=true")).get_json()
    assert [item["ticket"] for item in listed["items"]] == [ticket]
    deadline = time.monotonic() + 10
    while True:
        alarms = (await (await client.get("/api/v1/alarms")).get_json())["alarms"]
        missed = [a for a in alarms if a["event"]["kind"] == "deadline_missed"]
        if missed:
            break
        assert time.monotonic() < deadline, "no overdue alarm"
        await asyncio.sleep(0.2)
    await asyncio.sleep(6)  # another round of the watcher: still one alarm
    alarms = (await (await client.get("/api/v1/alarms")).get_json())["alarms"]
    assert len([a for a in alarms if a["event"]["kind"] == "deadline_missed"]) == 1
    await make_past_due(store, ticket, minutes=2)  # re-dated (as by a mode switch), and missed again
    deadline = time.monotonic() + 10
    while len([a for a in alarms if a["event"]["kind"] == "deadline_missed"]) < 2:
        assert time.monotonic() < deadline, "no alarm for the new due time"
        await asyncio.sleep(0.2)
        alarms = (await (await client.get("/api/v1/alarms")).get_json())["alarms"]
    resolved = await client.post(f"/api/v1/incidents/{ticket}/transitions", json={"to": "resolved"})
    assert resolved.status_code == 200
    assert (await (await client.get("/api/v1/incidents?overdue=true")).get_json())["items"] == []


async def test_mode_switch_is_in_the_audit(client: Client) -> None:
    """Each switch is an audit entry with who, which mode, the storm's name and why."""
    await client.post(
        "/api/v1/mode", json={"mode": "incident", "name": "October Storm", "reason": "trees down"}
    )
    events = [e["event"] for e in (await (await client.get("/api/v1/audit")).get_json())["events"]]
    switched = [e for e in events if e["type"] == "center.mode"]
    assert switched[-1]["mode"] == "incident"
    assert switched[-1]["name"] == "October Storm"
    assert switched[-1]["actor"] == "test-supervisor"


async def test_review_interval_asks_supervisors(app: App, client: Client) -> None:
    """Past the review interval supervisors are asked once whether the storm goes on; a review resets it."""

    await client.post("/api/v1/mode", json={"mode": "incident", "name": "October Storm", "reason": "storm"})
    config = app.app.extensions["stormline.config"]
    quick = msgspec.structs.replace(
        config,
        modes=msgspec.structs.replace(
            config.modes, incident=msgspec.structs.replace(config.modes.incident, review_minutes=1)
        ),
    )
    store = app.app.extensions["stormline.store"]
    state = await store.redis.hget(store.keys.center, "data")
    assert state is not None
    # As if the storm had started two minutes ago.

    current = await center.current(store)
    assert current.activation is not None
    earlier = msgspec.structs.replace(
        current.activation, activated_at=current.activation.activated_at - timedelta(minutes=2)
    )
    await store.redis.hset(
        store.keys.center,
        "data",
        msgspec.msgpack.encode(msgspec.structs.replace(current, activation=earlier)),
    )
    for _ in range(3):  # rounds in four workers at once, three times over: still one question
        await asyncio.gather(*(check_review(store, quick) for _ in range(4)))
    alarms = (await (await client.get("/api/v1/alarms")).get_json())["alarms"]
    assert len([a for a in alarms if a["event"]["kind"] == "review_due"]) == 1
    reviewed = await (await client.post("/api/v1/mode/review")).get_json()
    assert reviewed["state"]["reviewed_by"] == "test-supervisor"


async def test_stand_down_cut_short_is_finished_by_the_watcher(
    app: App, client: Client, config: SurgeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stand-down whose request dies after the switch is stored is finished: report kept, work moved."""
    store = app.app.extensions["stormline.store"]
    started = await client.post(
        "/api/v1/mode", json={"mode": "incident", "name": "October Storm", "reason": "storm"}
    )
    activation_id = (await started.get_json())["state"]["activation"]["id"]
    gas = {"narrative": "smell gas in the basement"}
    ticket = (await (await client.post("/api/v1/calls", json=gas)).get_json())["ticket"]
    release = {"reason": "911 says it is ours"}
    assert (await client.post(f"/api/v1/incidents/{ticket}/handoff/release", json=release)).status_code == 200

    real_requeue = center.requeue

    async def crash(*args: object, **kwargs: object) -> int:
        raise ConnectionError("worker killed mid stand-down")

    monkeypatch.setattr(center, "requeue", crash)
    try:
        cut = await client.post("/api/v1/mode", json={"mode": "normal", "reason": "storm over"})
        assert cut.status_code == 500
    except ConnectionError:
        pass  # the test app may hand the exception straight back
    monkeypatch.setattr(center, "requeue", real_requeue)
    assert (await center.current(store)).mode is center.Mode.NORMAL, "the switch itself was stored"
    moved = (await (await client.get(f"/api/v1/incidents/{ticket}")).get_json())["incident"]
    assert moved["category"] == "emergency", "not yet requeued"
    assert not await center.finish_pending(store, config, report.keep_once), (
        "a fresh note is left to its own request"
    )
    assert await center.finish_pending(store, config, report.keep_once, settle=0)
    moved = (await (await client.get(f"/api/v1/incidents/{ticket}")).get_json())["incident"]
    assert moved["category"] == "general"
    assert await report.kept(store, activation_id) is not None
    assert not await center.finish_pending(store, config, report.keep_once, settle=0), (
        "done once, the note is gone"
    )


async def test_a_call_racing_a_stand_down_lands_in_the_new_mode(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call whose intake read the mode just before a stand-down is tagged and dated for normal mode."""
    await client.post("/api/v1/mode", json={"mode": "incident", "name": "October Storm", "reason": "storm"})
    real = insert_incident
    raced = False

    async def stand_down_then_insert(*args: Any) -> str:
        nonlocal raced
        if not raced:  # the supervisor's stand-down lands between intake's read and its write
            raced = True
            stood = await client.post("/api/v1/mode", json={"mode": "normal", "reason": "stand down now"})
            assert stood.status_code == 200
        return await real(*args)

    monkeypatch.setattr(intake, "insert_incident", stand_down_then_insert)
    got = (await (await client.post("/api/v1/calls", json=NO_HEAT)).get_json())["incident"]
    assert raced
    assert got["activation"] is None, "not tagged with a storm already stood down"
    assert _minutes(got) == 480, "due by the normal profile"


async def test_a_switch_keeps_an_override_made_during_its_requeue(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A category override that lands while a switch re-dates work is kept, and dated by the new mode."""
    ticket = (await (await client.post("/api/v1/calls", json=NO_HEAT)).get_json())["ticket"]
    real = Kept.change
    overridden: list[str] = []

    async def override_first(
        kept: Kept[Incident], at: str, decide: Callable[[Incident], Awaitable[Plan[Incident] | None]]
    ) -> Incident:
        if not overridden:  # the switch's first write: the requeue of `ticket`
            overridden.append(at)
            done = await client.post(
                f"/api/v1/incidents/{at}/override",
                json={"category": "utility", "reason": "it is the gas line"},
            )
            assert done.status_code == 200
        return await real(kept, at, decide)

    monkeypatch.setattr(Kept, "change", override_first)
    await client.post("/api/v1/mode", json={"mode": "incident", "name": "October Storm", "reason": "storm"})
    monkeypatch.setattr(Kept, "change", real)
    assert overridden == [ticket]
    incident = (await (await client.get(f"/api/v1/incidents/{ticket}")).get_json())["incident"]
    assert incident["category"] == "utility"
    assert _minutes(incident) == 240, "utility P2 by the incident profile"


async def test_a_later_call_that_raises_the_incident_re_dates_it(client: Client) -> None:
    """A later call that makes it an emergency brings the due time to the P1 deadline from opening."""
    first = (await (await client.post("/api/v1/calls", json=NO_HEAT)).get_json())["incident"]
    assert _minutes(first) == 480
    later = {"narrative": "now he is not breathing", "ticket": first["ticket"]}
    raised = (await (await client.post("/api/v1/calls", json=later)).get_json())["incident"]
    assert (raised["category"], raised["priority"]) == ("emergency", "P1")
    assert _minutes(raised) == 60, "normal profile: P1 in an hour"


async def test_overdue_list_pages_newest_first(app: App, client: Client) -> None:
    """Only past-due open work is listed, newest first, and `next_cursor` pages through all of it."""
    store = app.app.extensions["stormline.store"]
    tickets = [
        (await (await client.post("/api/v1/calls", json=NO_HEAT)).get_json())["ticket"] for _ in range(3)
    ]

    for ticket in tickets[:2]:
        await make_past_due(store, ticket)
    first = await (await client.get("/api/v1/incidents?overdue=true&limit=1")).get_json()
    assert [item["ticket"] for item in first["items"]] == [tickets[1]]
    cursor = first["next_cursor"]
    second = await (await client.get(f"/api/v1/incidents?overdue=true&limit=1&cursor={cursor}")).get_json()
    assert [item["ticket"] for item in second["items"]] == [tickets[0]]
    assert second["next_cursor"] is None
