"""Callbacks: the queue's order, two agents at once, attempts, missed promises, CTI screen pops."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident import callbacks, clock
from incident.auth.roles import Role
from incident.store import Store
from tests.support import as_role


async def _ask(client: Client, phone: str, **extra: object) -> dict[str, object]:
    made = await client.post("/api/v1/callbacks", json={"phone": phone, "reason": "agent", **extra})
    assert made.status_code == 201, await made.get_data(as_text=True)
    return dict(await made.get_json())


async def test_the_queue_is_worked_by_priority_then_due_time_and_never_twice(app: App) -> None:
    """A P2 goes before older P3s; a promise for later waits; two agents at once get different callbacks."""
    agent = await as_role(app, Role.AGENT)
    first = await _ask(agent, "716-555-0301")
    second = await _ask(agent, "716-555-0302")
    urgent = await _ask(agent, "716-555-0303", priority="P2")
    later = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    await _ask(agent, "716-555-0304", promised_at=later)
    agents = [await as_role(app, Role.AGENT, name=f"cb-{i}") for i in range(4)]
    taken = await asyncio.gather(*(a.post("/api/v1/callbacks/next") for a in agents))
    got = [(await r.get_json())["id"] for r in taken if r.status_code == 200]
    assert sorted(r.status_code for r in taken) == [200, 200, 200, 204]
    assert sorted(got) == sorted(str(c["id"]) for c in (urgent, first, second))
    queue = await (await agent.get("/api/v1/callbacks")).get_json()
    assert queue["waiting"] == 1


async def test_no_answer_comes_back_and_three_tries_end_unreached(app: App) -> None:
    """Not reached, a callback goes back to the queue; after three tries it is closed as unreached."""
    agent = await as_role(app, Role.AGENT)
    asked = await _ask(agent, "716-555-0311")
    for attempt in range(3):
        taken = await agent.post("/api/v1/callbacks/next")
        assert (await taken.get_json())["id"] == asked["id"], attempt
        tried = await agent.post(f"/api/v1/callbacks/{asked['id']}/attempts", json={"outcome": "no_answer"})
        status = (await tried.get_json())["status"]
    assert status == "unreached"
    assert (await agent.post("/api/v1/callbacks/next")).status_code == 204
    other = await as_role(app, Role.AGENT, name="not-holding")
    mine = await _ask(agent, "716-555-0312")
    await agent.post("/api/v1/callbacks/next")
    refused = await other.post(f"/api/v1/callbacks/{mine['id']}/attempts", json={"outcome": "reached"})
    assert refused.status_code == 409


async def test_a_missed_promise_alarms_the_supervisor_once(
    app: App, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A callback promised for 3 pm and not made by then raises one callback_missed alarm."""
    agent = await as_role(app, Role.AGENT)
    promised = datetime.now(UTC) + timedelta(minutes=30)
    asked = await _ask(agent, "716-555-0321", promised_at=promised.isoformat())
    await callbacks.check_promises(store)
    supervisor = await as_role(app, Role.SUPERVISOR)
    assert (await (await supervisor.get("/api/v1/alarms")).get_json())["alarms"] == []
    monkeypatch.setattr(clock, "epoch", lambda: time.time() + 31 * 60)
    await callbacks.check_promises(store)
    await callbacks.check_promises(store)
    alarms = (await (await supervisor.get("/api/v1/alarms")).get_json())["alarms"]
    assert [(a["event"]["kind"], asked["id"] in a["event"]["message"]) for a in alarms] == [
        ("callback_missed", True)
    ]


async def test_the_resident_sees_their_place_in_the_queue(app: App) -> None:
    """The tracking page of a ticket with a waiting callback says where it is in the queue."""
    agent = await as_role(app, Role.AGENT)
    ticket = (await (await agent.post("/api/v1/calls", json={"narrative": "limb down"})).get_json())["ticket"]
    await _ask(agent, "716-555-0331")
    await _ask(agent, "716-555-0332", ticket=ticket)
    page = await (await app.test_client().get(f"/track?ticket={ticket}")).get_data(as_text=True)
    assert "you are number 2 in the queue" in page


async def test_the_phone_system_gets_a_screen_pop_and_an_abandoned_call_a_callback(app: App) -> None:
    """A registered caller's needs and open tickets pop; a hang-up joins the queue once, ahead as P2."""
    coordinator = await as_role(app, Role.COORDINATOR)
    resident = {
        "name": "Dorothy Pruitt",
        "address": "Elmwood Ave & Forest Ave",
        "phone": "716-555-0142",
        "needs": ["oxygen"],
        "consent_date": "2026-10-01",
        "consent_source": "test",
    }
    assert (await coordinator.post("/api/v1/registry", json=resident)).status_code == 201
    agent = await as_role(app, Role.AGENT)
    call = {"narrative": "no heat", "callback_number": "716-555-0142"}
    ticket = (await (await agent.post("/api/v1/calls", json=call)).get_json())["ticket"]
    phone = await as_role(app, Role.TELEPHONY)
    ringing = {"event": "ringing", "call_id": "pbx-1", "caller": "+17165550142"}
    pop = await (await phone.post("/api/v1/telephony/events", json=ringing)).get_json()
    assert [r["name"] for r in pop["registered"]] == ["Dorothy Pruitt"]
    assert [t["ticket"] for t in pop["open_tickets"]] == [ticket]
    assert pop["callback"] is None
    hung_up = {"event": "abandoned", "call_id": "pbx-1", "caller": "+17165550142"}
    first = await (await phone.post("/api/v1/telephony/events", json=hung_up)).get_json()
    again = await (await phone.post("/api/v1/telephony/events", json=hung_up)).get_json()
    assert first["callback"] == again["callback"] is not None
    queue = await (await agent.get("/api/v1/callbacks")).get_json()
    assert [(c["reason"], c["priority"], c["ticket"]) for c in queue["items"]] == [
        ("abandoned", "P2", ticket)
    ]
    bad = await phone.post("/api/v1/telephony/events", json={**ringing, "caller": "nobody"})
    assert bad.status_code == 422
    assert (await agent.post("/api/v1/telephony/events", json=ringing)).status_code == 403


async def test_a_callback_not_reached_goes_behind_the_others_and_keeps_no_missed_promise(
    app: App, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tried at its promised time and not reached: no alarm, and the next one waiting is taken first."""
    agent = await as_role(app, Role.AGENT)
    promised = datetime.now(UTC) - timedelta(minutes=5)
    kept = await _ask(agent, "716-555-0341", promised_at=promised.isoformat())
    other = await _ask(agent, "716-555-0342")
    taken = await (await agent.post("/api/v1/callbacks/next")).get_json()
    assert taken["id"] == kept["id"]  # promised earliest
    await agent.post(f"/api/v1/callbacks/{kept['id']}/attempts", json={"outcome": "no_answer"})
    assert (await (await agent.post("/api/v1/callbacks/next")).get_json())["id"] == other["id"]
    await callbacks.check_promises(store)
    supervisor = await as_role(app, Role.SUPERVISOR)
    assert (await (await supervisor.get("/api/v1/alarms")).get_json())["alarms"] == []
