"""Street-segment jobs: debris on one block face grouped, drawn as a line, assigned and cleared as one."""

from __future__ import annotations

from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident.auth.roles import Role
from tests.dispatch.helpers import ELMWOOD_EAST, ELMWOOD_WEST, assign, crew, ticket_at
from tests.support import as_role


async def _east_side(client: Client) -> list[str]:
    return [await ticket_at(client, lat, lon) for lat, lon in ELMWOOD_EAST]


async def test_incidents_on_one_block_face_become_one_job_drawn_as_a_line(client: Client) -> None:
    """Three debris calls on one side of an Elmwood block make one job, drawn as the block's line."""
    tickets = await _east_side(client)
    response = await client.post("/api/v1/jobs", json={"tickets": tickets})
    assert response.status_code == 201, await response.get_data(as_text=True)
    view = await response.get_json()
    assert view["job"]["label"] == "Elmwood Ave between Potomac Ave and Bird Ave, east side"
    line = view["feature"]["geometry"]
    assert line["type"] == "LineString"
    assert len(line["coordinates"]) == 2
    assert all(-78.878 < lon < -78.876 and 42.92 < lat < 42.93 for lon, lat in line["coordinates"])
    for ticket in tickets:
        incident = (await (await client.get(f"/api/v1/incidents/{ticket}")).get_json())["incident"]
        assert incident["job"] == view["job"]["id"]
        history = (await (await client.get(f"/api/v1/incidents/{ticket}/history")).get_json())["events"]
        assert history[-1]["event"]["type"] == "job.grouped"


async def test_the_other_side_of_the_street_or_assigned_work_cannot_join(client: Client) -> None:
    """A call on the west side is another block face; an assigned incident is not groupable: both 409."""
    east = await _east_side(client)
    west = await ticket_at(client, *ELMWOOD_WEST)
    across = await client.post("/api/v1/jobs", json={"tickets": [east[0], west]})
    assert across.status_code == 409
    assert "west side" in (await across.get_json())["detail"]
    await crew(client, "crew-1")
    await assign(client, east[1], "crew-1")
    busy = await client.post("/api/v1/jobs", json={"tickets": [east[0], east[1]]})
    assert busy.status_code == 409


async def test_suggestions_find_block_faces_with_several_open_calls(client: Client) -> None:
    """The east side's three calls are suggested as one job; a lone call elsewhere is not."""
    east = await _east_side(client)
    await ticket_at(client, *ELMWOOD_WEST)
    items = (await (await client.get("/api/v1/jobs/suggestions")).get_json())["items"]
    assert [sorted(item["tickets"]) for item in items] == [sorted(east)]


async def test_a_job_is_assigned_and_cleared_as_one_unit(app: App, client: Client) -> None:
    """Assigning one incident of a job assigns all in one event; the crew clearing it resolves all."""
    tickets = await _east_side(client)
    job = (await (await client.post("/api/v1/jobs", json={"tickets": tickets})).get_json())["job"]["id"]
    await crew(client, "crew-1")
    response = await assign(client, tickets[1], "crew-1")
    assert {i["ticket"] for i in (await response.get_json())["incidents"]} == set(tickets)
    events = [
        (await (await client.get(f"/api/v1/incidents/{t}/history")).get_json())["events"][-1] for t in tickets
    ]
    assert len({e["id"] for e in events}) == 1  # one event, in every history
    assert sorted(events[0]["event"]["tickets"]) == sorted(tickets)
    assert events[0]["event"]["job"] == job
    route = await (await client.get("/api/v1/crews/crew-1/route")).get_json()
    assert len(route["stops"]) == 1
    assert sorted(route["stops"][0]["tickets"]) == sorted(tickets)
    device = await as_role(app, Role.CREW, crew_id="crew-1")
    for mark in ("en_route", "on_scene", "cleared"):
        done = await device.post(f"/api/v1/crews/crew-1/work/{tickets[0]}/mark", json={"mark": mark})
        assert done.status_code == 200
    view = await (await client.get(f"/api/v1/jobs/{job}")).get_json()
    assert set(view["statuses"].values()) == {"resolved"}


async def test_dissolving_a_job_leaves_its_incidents_alone(client: Client) -> None:
    """After dissolving, each incident has no job and can be assigned by itself."""
    tickets = await _east_side(client)
    job = (await (await client.post("/api/v1/jobs", json={"tickets": tickets})).get_json())["job"]["id"]
    dissolved = await client.post(f"/api/v1/jobs/{job}/dissolve", json={"reason": "two were one tree"})
    assert (await dissolved.get_json())["job"]["dissolved"] is True
    await crew(client, "crew-1")
    (alone,) = (await (await assign(client, tickets[0], "crew-1")).get_json())["incidents"]
    assert alone["job"] is None
    assert (await (await client.get("/api/v1/jobs")).get_json())["items"] == []
    assert (await client.get("/api/v1/jobs/J999")).status_code == 404


async def test_a_cancelled_member_leaves_the_job_and_the_rest_go_on(client: Client) -> None:
    """One member cancelled by itself: the job is still assigned and cleared as the other two."""
    tickets = await _east_side(client)
    await client.post("/api/v1/jobs", json={"tickets": tickets})
    cancelled = await client.post(f"/api/v1/incidents/{tickets[0]}/transitions", json={"to": "cancelled"})
    assert cancelled.status_code == 200
    await crew(client, "crew-1")
    response = await assign(client, tickets[1], "crew-1")
    assert response.status_code == 200, await response.get_data(as_text=True)
    assert {i["ticket"] for i in (await response.get_json())["incidents"]} == set(tickets[1:])


async def test_a_jobs_incident_cannot_be_worked_alone_through_plain_transitions(
    app: App, client: Client
) -> None:
    """Plain transitions that would split a job (assign one, a crew clearing one) are refused."""
    tickets = await _east_side(client)
    await client.post("/api/v1/jobs", json={"tickets": tickets})
    await crew(client, "crew-1")
    await crew(client, "crew-2")
    split = await client.post(
        f"/api/v1/incidents/{tickets[0]}/transitions", json={"to": "assigned", "crew_id": "crew-2"}
    )
    assert split.status_code == 409
    assert (await split.get_json())["type"].endswith("part-of-job")
    await assign(client, tickets[0], "crew-1")
    device = await as_role(app, Role.CREW, crew_id="crew-1")
    alone = await device.post(f"/api/v1/incidents/{tickets[1]}/transitions", json={"to": "en_route"})
    assert alone.status_code == 409


async def test_a_crew_sees_only_its_own_jobs(app: App, client: Client) -> None:
    """Another crew's job is absent from a crew's list and 404 to it."""
    tickets = await _east_side(client)
    job = (await (await client.post("/api/v1/jobs", json={"tickets": tickets})).get_json())["job"]["id"]
    await crew(client, "crew-1")
    await crew(client, "crew-2")
    await assign(client, tickets[0], "crew-1")
    mine = await as_role(app, Role.CREW, crew_id="crew-1", name="phone-1")
    other = await as_role(app, Role.CREW, crew_id="crew-2", name="phone-2")
    assert [v["job"]["id"] for v in (await (await mine.get("/api/v1/jobs")).get_json())["items"]] == [job]
    assert (await (await other.get("/api/v1/jobs")).get_json())["items"] == []
    assert (await other.get(f"/api/v1/jobs/{job}")).status_code == 404
