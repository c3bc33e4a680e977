"""Assigning, reassigning, unassigning and bulk-assigning work; the crew's marks; each an event."""

from __future__ import annotations

from typing import Any

from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident.auth.roles import Role
from tests.dispatch.helpers import assign, crew, ticket_at
from tests.support import as_role


async def _history(client: Client, ticket: str) -> list[dict[str, Any]]:
    body = await (await client.get(f"/api/v1/incidents/{ticket}/history")).get_json()
    return [entry["event"] for entry in body["events"]]


async def test_assignment_sets_the_crew_and_records_who_and_why(client: Client) -> None:
    """Assigning moves the incident to assigned with the crew; the history has the assignment event."""
    await crew(client, "forestry-1")
    ticket = await ticket_at(client, 42.93, -78.82)
    response = await assign(client, ticket, "forestry-1", reason="nearest saw crew")
    (incident,) = (await response.get_json())["incidents"]
    assert incident["status"] == "assigned"
    assert incident["assigned_crew"] == "forestry-1"
    event = (await _history(client, ticket))[-1]
    assert event["type"] == "incident.assigned"
    assert event["crew_id"] == "forestry-1"
    assert event["reason"] == "nearest saw crew"
    assert event["actor"] == "test-supervisor"


async def test_reassignment_moves_the_work_and_both_crews_hear(app: App, client: Client) -> None:
    """From crew 1 to crew 2: crew 1's device is told it is withdrawn, crew 2's that it is assigned."""
    await crew(client, "crew-1")
    await crew(client, "crew-2")
    ticket = await ticket_at(client, 42.93, -78.82)
    await assign(client, ticket, "crew-1")
    await assign(client, ticket, "crew-2", reason="crew 1 is stuck")
    event = (await _history(client, ticket))[-1]
    assert event["from_crew"] == "crew-1"
    assert event["crew_id"] == "crew-2"
    one = await as_role(app, Role.CREW, crew_id="crew-1", name="phone-1")
    two = await as_role(app, Role.CREW, crew_id="crew-2", name="phone-2")
    kinds_one = [(m["notice"]["kind"], m["notice"].get("ticket")) for m in await _messages(one, "crew-1")]
    kinds_two = [(m["notice"]["kind"], m["notice"].get("ticket")) for m in await _messages(two, "crew-2")]
    assert ("assigned", ticket) in kinds_one
    assert ("withdrawn", ticket) in kinds_one
    assert ("assigned", ticket) in kinds_two
    assert ("withdrawn", ticket) not in kinds_two
    board = {
        row["crew"]["id"]: row["load"]
        for row in (await (await client.get("/api/v1/crews")).get_json())["items"]
    }
    assert board == {"crew-1": 0, "crew-2": 1}


async def _messages(device: Client, crew_id: str) -> list[dict[str, Any]]:
    page = await (await device.get(f"/api/v1/crews/{crew_id}/feed")).get_json()
    return list(page["messages"])


async def test_wrong_kind_missing_capability_and_off_shift_are_refused(client: Client) -> None:
    """A van for debris, a crew without line clearance for a wire down, or an off-duty crew: 409."""
    await crew(client, "van-1", kind="transport_van")
    await crew(client, "saw-1", capabilities=["chainsaw"])
    await crew(client, "home-1", on_duty=False)
    ticket = await ticket_at(client, 42.93, -78.82, answers={"wire_down": "yes"})
    kinds = {}
    for crew_id in ("van-1", "saw-1", "home-1"):
        response = await assign(client, ticket, crew_id)
        assert response.status_code == 409, crew_id
        kinds[crew_id] = (await response.get_json())["type"].rsplit(":", 1)[1]
    assert kinds == {"van-1": "crew-kind-mismatch", "saw-1": "missing-capability", "home-1": "crew-off-shift"}
    forced = await assign(client, ticket, "saw-1", force=True, reason="utility has de-energised it")
    assert forced.status_code == 200


async def test_work_held_for_911_is_not_dispatched(client: Client) -> None:
    """An incident 911 has is refused until a supervisor releases it."""
    await crew(client, "crew-1")
    ticket = await ticket_at(
        client, 42.93, -78.82, narrative="tree fell on the car and the driver is trapped"
    )
    response = await assign(client, ticket, "crew-1", force=True)
    assert response.status_code == 409
    assert (await response.get_json())["type"].endswith("held-for-911")


async def test_unassignment_reopens_the_work(client: Client) -> None:
    """Taking work back makes it open and crewless; unassigning open work is a 409."""
    await crew(client, "crew-1")
    ticket = await ticket_at(client, 42.93, -78.82)
    await assign(client, ticket, "crew-1")
    back = await client.post(f"/api/v1/incidents/{ticket}/unassignment", json={"reason": "wrong street"})
    (incident,) = (await back.get_json())["incidents"]
    assert incident["status"] == "open"
    assert incident["assigned_crew"] is None
    assert (await _history(client, ticket))[-1]["type"] == "incident.unassigned"
    again = await client.post(f"/api/v1/incidents/{ticket}/unassignment", json={})
    assert again.status_code == 409


async def test_bulk_assignment_does_each_and_reports_each(client: Client) -> None:
    """A bulk assignment applies the good ones and reports the refused one with its problem."""
    await crew(client, "crew-1")
    good = [await ticket_at(client, 42.93 + i / 500, -78.82) for i in range(3)]
    body = {
        "assignments": [
            *({"ticket": t, "crew_id": "crew-1"} for t in good),
            {"ticket": "2026-999999", "crew_id": "crew-1"},
        ]
    }
    results = (await (await client.post("/api/v1/assignments", json=body)).get_json())["results"]
    assert [r["ok"] for r in results] == [True, True, True, False]
    assert results[3]["problem"]["status"] == 404
    route = await (await client.get("/api/v1/crews/crew-1/route")).get_json()
    assert sorted(t for stop in route["stops"] for t in stop["tickets"]) == sorted(good)


async def test_crew_marks_move_the_work_and_unable_needs_a_reason(app: App, client: Client) -> None:
    """Each mark is an event; "unable" needs a reason (422 without), reopens the work and alarms."""
    await crew(client, "crew-1")
    device = await as_role(app, Role.CREW, crew_id="crew-1")
    done, stuck = await ticket_at(client, 42.93, -78.82), await ticket_at(client, 42.94, -78.82)
    for ticket in (done, stuck):
        await assign(client, ticket, "crew-1")
    for mark, status in (("en_route", "en_route"), ("on_scene", "on_scene"), ("cleared", "resolved")):
        response = await device.post(f"/api/v1/crews/crew-1/work/{done}/mark", json={"mark": mark})
        assert response.status_code == 200, await response.get_data(as_text=True)
        assert (await response.get_json())["incidents"][0]["status"] == status
    marks = [e["mark"] for e in await _history(client, done) if e["type"] == "crew.marked"]
    assert marks == ["en_route", "on_scene", "cleared"]
    bare = await device.post(f"/api/v1/crews/crew-1/work/{stuck}/mark", json={"mark": "unable"})
    assert bare.status_code == 422
    assert "reason" in await bare.get_data(as_text=True)
    unable = await device.post(
        f"/api/v1/crews/crew-1/work/{stuck}/mark", json={"mark": "unable", "reason": "needs a bucket truck"}
    )
    assert (await unable.get_json())["incidents"][0]["status"] == "open"
    alarms = (await (await client.get("/api/v1/alarms")).get_json())["alarms"]
    assert any(a["event"]["kind"] == "crew_unable" and a["event"]["ticket"] == stuck for a in alarms)
    gone = await device.post(f"/api/v1/crews/crew-1/work/{stuck}/mark", json={"mark": "en_route"})
    assert gone.status_code == 404  # no longer this crew's
    told = [(m["notice"]["kind"], m["notice"].get("ticket")) for m in await _messages(device, "crew-1")]
    assert ("done", done) in told
    assert ("withdrawn", stuck) in told


async def test_a_plain_transition_to_an_unknown_crew_is_refused(client: Client) -> None:
    """The older transitions route may not give work to a crew that does not exist."""
    ticket = await ticket_at(client, 42.93, -78.82)
    response = await client.post(
        f"/api/v1/incidents/{ticket}/transitions", json={"to": "assigned", "crew_id": "ghost"}
    )
    assert response.status_code == 422
    assert "crew_id" in await response.get_data(as_text=True)
    assert await (await client.get("/api/v1/crews")).get_json() == {"items": [], "unacknowledged": {}}
