"""Rides to warming stations: requests hold places, van runs group pickups, drop-offs check people in."""

from __future__ import annotations

from typing import Any

from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident.auth.roles import Role
from tests.dispatch.helpers import EVERYTHING, crew, open_station
from tests.support import as_role


async def _ride(client: Client, lat: float = 42.93, lon: float = -78.83, **request: Any) -> dict[str, Any]:
    body = {"narrative": "no heat, need a ride to a warming station", "location": {"lat": lat, "lon": lon}}
    ticket = (await (await client.post("/api/v1/calls", json=body)).get_json())["ticket"]
    made = await client.post("/api/v1/transport/requests", json={"ticket": ticket, **request})
    assert made.status_code == 201, await made.get_data(as_text=True)
    return dict((await made.get_json())["request"])


async def _station(client: Client, site: str) -> dict[str, Any]:
    rows = (await (await client.get("/api/v1/stations")).get_json())["items"]
    return next(row for row in rows if row["station"]["id"] == site)


async def test_a_request_holds_places_at_the_nearest_suitable_station(client: Client) -> None:
    """A party of three with a wheelchair goes to the nearest accessible station, which holds 3 places."""
    await open_station(client, "canisius", 20)  # nearest, not accessible
    await open_station(client, "bennett", 20, accessible=True)
    request = await _ride(client, 42.925, -78.85, party=3, wheelchairs=1)
    assert request["station"] == "bennett"
    assert request["status"] == "requested"
    bennett = await _station(client, "bennett")
    assert bennett["station"]["reserved"] == 3
    assert bennett["space"] == 17
    history = await (await client.get(f"/api/v1/incidents/{request['ticket']}/history")).get_json()
    assert history["events"][-1]["event"]["type"] == "transport.changed"


async def test_requests_need_a_ride_incident_and_a_station_with_room(client: Client) -> None:
    """A debris incident is not a ride (409); with no open station that fits, the request is refused."""
    body = {
        "narrative": "tree down across the street",
        "category": "debris",
        "location": {"lat": 42.9, "lon": -78.8},
    }
    debris = (await (await client.post("/api/v1/calls", json=body)).get_json())["ticket"]
    assert (await client.post("/api/v1/transport/requests", json={"ticket": debris})).status_code == 409
    await open_station(client, "burgard", 2)
    ride = {"narrative": "no heat, need a ride", "location": body["location"]}
    ticket = (await (await client.post("/api/v1/calls", json=ride)).get_json())["ticket"]
    refused = await client.post("/api/v1/transport/requests", json={"ticket": ticket, "party": 5})
    assert refused.status_code == 409
    assert (await refused.get_json())["type"].endswith("no-station")


async def test_a_run_groups_pickups_within_the_vans_room_in_driving_order(client: Client) -> None:
    """The longest-waiting ride and its neighbour within 3 km go together, nearest the van first."""
    await open_station(client, "burgard", 40, **EVERYTHING)
    await crew(
        client,
        "van-1",
        kind="transport_van",
        seats=6,
        wheelchair_spaces=1,
        base={"lat": 42.90, "lon": -78.83},
    )
    far = await _ride(client, 42.935, -78.83, party=2)
    near = await _ride(client, 42.905, -78.83, party=2, wheelchairs=1)
    middle = await _ride(client, 42.92, -78.83, party=3)
    runs = (await (await client.post("/api/v1/transport/runs/auto")).get_json())["items"]
    assert len(runs) == 1
    assert runs[0]["crew_id"] == "van-1"
    # `far` waited longest; `middle` is 1.7 km from it; `near` is 3.3 km from it, beyond group_radius_km.
    assert runs[0]["requests"] == [middle["id"], far["id"]]  # from the van's base at 42.90, northward
    view = await (await client.get(f"/api/v1/transport/runs/{runs[0]['id']}")).get_json()
    windows = [r["pickup_window"] for r in view["requests"]]
    assert all(w is not None for w in windows)
    assert windows[0][1] < windows[1][1]  # the later pickup ends later (starts are never before ready)
    waiting = await (await client.get(f"/api/v1/transport/requests/{near['id']}")).get_json()
    assert waiting["request"]["status"] == "requested"
    assert waiting["pickup_window"] is None
    incident = await (await client.get(f"/api/v1/incidents/{far['ticket']}")).get_json()
    assert incident["incident"]["assigned_crew"] == "van-1"


async def test_a_van_too_small_is_refused(client: Client) -> None:
    """Two wheelchairs do not fit a van with one wheelchair space."""
    await open_station(client, "burgard", 40, **EVERYTHING)
    await crew(client, "van-1", kind="transport_van", seats=6, wheelchair_spaces=1)
    request = await _ride(client, party=2, wheelchairs=2)
    refused = await client.post(
        "/api/v1/transport/runs", json={"crew_id": "van-1", "requests": [request["id"]]}
    )
    assert refused.status_code == 409
    assert (await refused.get_json())["type"].endswith("van-too-small")


async def test_pickup_and_drop_off_check_the_party_in(app: App, client: Client) -> None:
    """A van cannot clear a ride; picked up then dropped off turns held places into occupancy, resolved."""
    await open_station(client, "burgard", 40, **EVERYTHING)
    await crew(client, "van-1", kind="transport_van", seats=6, wheelchair_spaces=1)
    request = await _ride(client, party=3)
    await client.post("/api/v1/transport/runs", json={"crew_id": "van-1", "requests": [request["id"]]})
    van = await as_role(app, Role.CREW, crew_id="van-1")
    cleared = await van.post(f"/api/v1/crews/van-1/work/{request['ticket']}/mark", json={"mark": "cleared"})
    assert cleared.status_code == 409  # clearing would leave the ride scheduled and its places held
    assert (await cleared.get_json())["type"].endswith("ride-open")
    for step in ("picked_up", "dropped_off"):
        moved = await van.post(f"/api/v1/transport/requests/{request['id']}/{step}", json={})
        assert moved.status_code == 200, await moved.get_data(as_text=True)
    burgard = await _station(client, "burgard")
    assert burgard["station"]["reserved"] == 0
    assert burgard["station"]["occupancy"] == 3
    incident = await (await client.get(f"/api/v1/incidents/{request['ticket']}")).get_json()
    assert incident["incident"]["status"] == "resolved"
    runs = (await (await van.get("/api/v1/transport/runs")).get_json())["items"]
    assert runs[0]["status"] == "done"
    again = await van.post(f"/api/v1/transport/requests/{request['id']}/no_show", json={})
    assert again.status_code == 409


async def test_a_no_show_frees_the_places_reopens_and_alarms(app: App, client: Client) -> None:
    """Nobody at the pickup: the places are freed, the incident is open again and supervisors are told."""
    await open_station(client, "burgard", 40, **EVERYTHING)
    await crew(client, "van-1", kind="transport_van", seats=6)
    request = await _ride(client, party=2)
    await client.post("/api/v1/transport/runs", json={"crew_id": "van-1", "requests": [request["id"]]})
    van = await as_role(app, Role.CREW, crew_id="van-1")
    moved = await van.post(
        f"/api/v1/transport/requests/{request['id']}/no_show", json={"reason": "no answer"}
    )
    assert moved.status_code == 200
    assert (await _station(client, "burgard"))["station"]["reserved"] == 0
    incident = await (await client.get(f"/api/v1/incidents/{request['ticket']}")).get_json()
    assert incident["incident"]["status"] == "open"
    alarms = (await (await client.get("/api/v1/alarms")).get_json())["alarms"]
    assert any(a["event"]["kind"] == "transport_no_show" for a in alarms)


async def test_another_crew_cannot_touch_a_ride_and_a_crew_cannot_cancel(app: App, client: Client) -> None:
    """A ride on van-1 is 404 to van-2; van-1 itself may not cancel it (a coordinator may)."""
    await open_station(client, "burgard", 40, **EVERYTHING)
    await crew(client, "van-1", kind="transport_van", seats=6)
    await crew(client, "van-2", kind="transport_van", seats=6)
    request = await _ride(client)
    await client.post("/api/v1/transport/runs", json={"crew_id": "van-1", "requests": [request["id"]]})
    other = await as_role(app, Role.CREW, crew_id="van-2", name="van-2-phone")
    assert (await other.get(f"/api/v1/transport/requests/{request['id']}")).status_code == 404
    assert (
        await other.post(f"/api/v1/transport/requests/{request['id']}/picked_up", json={})
    ).status_code == 404
    mine = await as_role(app, Role.CREW, crew_id="van-1", name="van-1-phone")
    assert (
        await mine.post(f"/api/v1/transport/requests/{request['id']}/cancelled", json={})
    ).status_code == 403
    cancelled = await client.post(f"/api/v1/transport/requests/{request['id']}/cancelled", json={})
    assert cancelled.status_code == 200
    assert (await _station(client, "burgard"))["station"]["reserved"] == 0


async def test_the_after_action_report_counts_stations_and_rides(app: App, client: Client) -> None:
    """A storm's report lists the stations open in it (checked in, most at once) and its rides."""
    storm = await client.post(
        "/api/v1/mode", json={"mode": "incident", "name": "Test Storm", "reason": "test"}
    )
    activation = (await storm.get_json())["state"]["activation"]["id"]
    await open_station(client, "burgard", 40, **EVERYTHING)
    await client.post("/api/v1/stations/burgard/check-in", json={"people": 4})
    await crew(client, "van-1", kind="transport_van", seats=6)
    done = await _ride(client, party=3)
    missed = await _ride(client, party=1)
    await client.post(
        "/api/v1/transport/runs", json={"crew_id": "van-1", "requests": [done["id"], missed["id"]]}
    )
    for request, steps in ((done, ("picked_up", "dropped_off")), (missed, ("no_show",))):
        for step in steps:
            await client.post(f"/api/v1/transport/requests/{request['id']}/{step}", json={})
    report = await (await client.get(f"/api/v1/activations/{activation}/report?fresh=1")).get_json()
    (burgard,) = report["warming_stations"]
    assert burgard["checked_in"] == 7
    assert burgard["peak"] == 7
    assert report["transport"] == {
        "requests": 2,
        "by_status": {"dropped_off": 1, "no_show": 1},
        "people_dropped_off": 3,
        "runs": 1,
    }
    assert report["to_dispatch"]["count"] == 2  # a van's run is a dispatch too
    csv_text = await (await client.get(f"/api/v1/activations/{activation}/report.csv?fresh=1")).get_data(
        as_text=True
    )
    assert "Burgard High School" in csv_text


async def test_one_ride_per_incident_and_one_run_per_van(client: Client) -> None:
    """A second ride for the same incident (a double click) and a second run for a busy van are 409s."""
    await open_station(client, "burgard", 40, **EVERYTHING)
    await crew(client, "van-1", kind="transport_van", seats=4)
    first = await _ride(client, party=4)
    again = await client.post("/api/v1/transport/requests", json={"ticket": first["ticket"], "party": 4})
    assert again.status_code == 409
    assert (await again.get_json())["id"] == first["id"]
    assert (await _station(client, "burgard"))["station"]["reserved"] == 4
    second = await _ride(client, party=4)
    assert (
        await client.post("/api/v1/transport/runs", json={"crew_id": "van-1", "requests": [first["id"]]})
    ).status_code == 201
    busy = await client.post("/api/v1/transport/runs", json={"crew_id": "van-1", "requests": [second["id"]]})
    assert busy.status_code == 409
    assert (await busy.get_json())["type"].endswith("van-busy")


async def test_times_need_a_zone_and_an_order(client: Client) -> None:
    """A ready_from without a time zone, or a ready_until before it, is a 422 naming the field."""
    await open_station(client, "burgard", 40, **EVERYTHING)
    body = {"narrative": "no heat, need a ride", "location": {"lat": 42.93, "lon": -78.83}}
    ticket = (await (await client.post("/api/v1/calls", json=body)).get_json())["ticket"]
    naive = await client.post(
        "/api/v1/transport/requests", json={"ticket": ticket, "ready_from": "2026-11-22T20:00:00"}
    )
    assert naive.status_code == 422
    assert "ready_from" in await naive.get_data(as_text=True)
    backwards = {
        "ticket": ticket,
        "ready_from": "2026-11-22T20:00:00-05:00",
        "ready_until": "2026-11-22T19:00:00-05:00",
    }
    reversed_ = await client.post("/api/v1/transport/requests", json=backwards)
    assert reversed_.status_code == 422
    assert "ready_until" in await reversed_.get_data(as_text=True)


async def test_no_ride_for_an_incident_911_has(client: Client) -> None:
    """An incident held for 911 gets no ride from 311 (409)."""
    await open_station(client, "burgard", 40, **EVERYTHING)
    body = {
        "narrative": "no heat and she is not breathing",
        "category": "shelter_transport",
        "location": {"lat": 42.93, "lon": -78.83},
    }
    ticket = (await (await client.post("/api/v1/calls", json=body)).get_json())["ticket"]
    refused = await client.post("/api/v1/transport/requests", json={"ticket": ticket})
    assert refused.status_code == 409
    assert (await refused.get_json())["type"].endswith("not-rideable")


async def test_a_ride_picked_up_can_still_be_cancelled(client: Client) -> None:
    """The van broke down after the pickup: a coordinator cancels the ride and the places are freed."""
    await open_station(client, "burgard", 40, **EVERYTHING)
    await crew(client, "van-1", kind="transport_van", seats=6)
    request = await _ride(client, party=2)
    await client.post("/api/v1/transport/runs", json={"crew_id": "van-1", "requests": [request["id"]]})
    await client.post(f"/api/v1/transport/requests/{request['id']}/picked_up", json={})
    cancelled = await client.post(
        f"/api/v1/transport/requests/{request['id']}/cancelled", json={"reason": "van broke down"}
    )
    assert cancelled.status_code == 200
    assert (await _station(client, "burgard"))["station"]["reserved"] == 0
    closed = await client.post("/api/v1/stations/burgard/close", json={})
    assert closed.status_code == 200
