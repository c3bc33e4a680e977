"""A crew sees and moves only the incidents assigned to it."""

from __future__ import annotations

from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident.auth.roles import Role
from tests.incident.helpers import CALL, ensure_crew
from tests.support import as_role


async def _assigned(supervisor: Client, crew: str) -> str:
    await ensure_crew(supervisor, crew)
    ticket = (await (await supervisor.post("/api/v1/calls", json=CALL)).get_json())["ticket"]
    response = await supervisor.post(
        f"/api/v1/incidents/{ticket}/transitions", json={"to": "assigned", "crew_id": crew}
    )
    assert response.status_code == 200
    return str(ticket)


async def test_crew_sees_only_its_own_incidents(app: App, client: Client) -> None:
    """Another crew's incident is a 404 to this crew, and absent from its list."""
    mine, theirs = await _assigned(client, "forestry-1"), await _assigned(client, "forestry-2")
    unassigned = (await (await client.post("/api/v1/calls", json=CALL)).get_json())["ticket"]
    crew = await as_role(app, Role.CREW, crew_id="forestry-1")
    assert (await crew.get(f"/api/v1/incidents/{mine}")).status_code == 200
    assert (await crew.get(f"/api/v1/incidents/{theirs}")).status_code == 404
    assert (await crew.get(f"/api/v1/incidents/{unassigned}")).status_code == 404
    listing = await (await crew.get("/api/v1/incidents")).get_json()
    assert [item["ticket"] for item in listing["items"]] == [mine]


async def test_crew_works_its_incident_but_cannot_assign_or_touch_others(app: App, client: Client) -> None:
    """A crew goes en route, arrives and clears its own incident; it may not assign, nor move another's."""
    mine, theirs = await _assigned(client, "forestry-1"), await _assigned(client, "forestry-2")
    crew = await as_role(app, Role.CREW, crew_id="forestry-1")
    for status in ("en_route", "on_scene", "resolved"):
        response = await crew.post(f"/api/v1/incidents/{mine}/transitions", json={"to": status})
        assert response.status_code == 200, status
    assert (
        await crew.post(f"/api/v1/incidents/{theirs}/transitions", json={"to": "en_route"})
    ).status_code == 404
    grab = await crew.post(
        f"/api/v1/incidents/{theirs}/transitions", json={"to": "assigned", "crew_id": "forestry-1"}
    )
    assert grab.status_code == 403
    cancel = await crew.post(f"/api/v1/incidents/{mine}/transitions", json={"to": "cancelled"})
    assert cancel.status_code == 403


async def test_a_crew_hands_work_back_only_by_marking_it_unable(app: App, client: Client) -> None:
    """A plain move back to open is refused to a crew; "unable", with its reason, hands it back and alarms."""
    mine = await _assigned(client, "forestry-1")
    crew = await as_role(app, Role.CREW, crew_id="forestry-1")
    plain = await crew.post(f"/api/v1/incidents/{mine}/transitions", json={"to": "open", "reason": "meh"})
    assert plain.status_code == 403
    unable = await crew.post(
        f"/api/v1/crews/forestry-1/work/{mine}/mark",
        json={"mark": "unable", "reason": "needs a bucket truck"},
    )
    assert unable.status_code == 200, await unable.get_data(as_text=True)
    incident = (await (await client.get(f"/api/v1/incidents/{mine}")).get_json())["incident"]
    assert (incident["status"], incident["assigned_crew"]) == ("open", None)
    assert (await crew.get(f"/api/v1/incidents/{mine}")).status_code == 404
    alarms = (await (await client.get("/api/v1/alarms?newest=true")).get_json())["alarms"]
    assert any(a["event"]["kind"] == "crew_unable" and a["event"]["ticket"] == mine for a in alarms)


async def test_assigning_names_the_crew(client: Client) -> None:
    """Moving to assigned without a crew, or naming a crew for another move, is a 422 naming crew_id."""
    ticket = (await (await client.post("/api/v1/calls", json=CALL)).get_json())["ticket"]
    missing = await client.post(f"/api/v1/incidents/{ticket}/transitions", json={"to": "assigned"})
    assert missing.status_code == 422
    assert (await missing.get_json())["errors"][0]["field"] == "crew_id"
    stray = await client.post(
        f"/api/v1/incidents/{ticket}/transitions", json={"to": "resolved", "crew_id": "x"}
    )
    assert stray.status_code == 422
