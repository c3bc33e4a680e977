"""Warming stations: opening, counts and their freshness, full, nearest suitable, and closing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from dispatch import stations
from geo.point import Point
from incident.config import SurgeConfig
from incident.store import Store
from tests.dispatch.helpers import EVERYTHING, open_station


async def test_a_station_opens_at_a_config_site_with_its_capacity(client: Client) -> None:
    """Opening Burgard gives an open station with its real coordinates, fresh count and all its space."""
    view = await open_station(client, "burgard", 60, accessible=True)
    assert view["station"]["status"] == "open"
    assert view["station"]["point"] == {"lat": 42.9295, "lon": -78.8362}
    assert view["space"] == 60
    assert view["freshness"] == "updated just now"
    again = await client.post(
        "/api/v1/stations/burgard/open", json={"capacity_day": 1, "capacity_overnight": 1}
    )
    assert again.status_code == 409
    unknown = await client.post(
        "/api/v1/stations/mall/open", json={"capacity_day": 1, "capacity_overnight": 1}
    )
    assert unknown.status_code == 404
    board = (await (await client.get("/api/v1/stations")).get_json())["items"]
    assert {row["station"]["id"]: row["station"]["status"] for row in board}["riverside"] == "closed"


async def test_check_ins_fill_it_and_a_full_station_takes_no_more_rides(client: Client) -> None:
    """Check-ins and check-outs move the count; at capacity it is full and a ride to it is refused."""
    await open_station(client, "burgard", 3, **EVERYTHING)
    await client.post("/api/v1/stations/burgard/check-in", json={"people": 3})
    view = await (await client.post("/api/v1/stations/burgard/check-out", json={"people": 1})).get_json()
    assert view["station"]["occupancy"] == 2
    assert view["space"] == 1
    view = await (await client.post("/api/v1/stations/burgard/check-in", json={"people": 1})).get_json()
    assert view["full"] is True
    too_many = await client.post("/api/v1/stations/burgard/check-out", json={"people": 9})
    assert too_many.status_code == 422
    ticket = await _ride(client)
    refused = await client.post("/api/v1/transport/requests", json={"ticket": ticket, "station": "burgard"})
    assert refused.status_code == 409
    assert (await refused.get_json())["type"].endswith("station-full")


async def test_an_old_count_shows_stale(store: Store, config: SurgeConfig, client: Client) -> None:
    """A count older than warming.stale_minutes is shown stale, with its age in words."""
    await open_station(client, "burgard")
    found = await stations.station(store, config, "burgard")
    later = datetime.now(UTC) + timedelta(minutes=config.warming.stale_minutes + 40)
    shown = stations.view(config, found, later)
    assert shown.stale is True
    assert shown.freshness == "updated 100 min ago"  # 60 + 40
    assert stations.view(config, found, datetime.now(UTC) + timedelta(hours=3)).freshness == "updated 3 h ago"
    assert (
        stations.view(config, found, datetime.now(UTC) + timedelta(minutes=40)).freshness
        == "updated 40 min ago"
    )


async def test_overnight_capacity_applies_at_night(config: SurgeConfig) -> None:
    """Between warming.overnight_from and _until the overnight capacity is the one that counts."""
    found = stations.Station(
        id="x",
        name="X",
        point=Point(42.9, -78.8),
        address=None,
        capacity_day=80,
        capacity_overnight=25,
    )
    night = datetime(2026, 11, 22, 23, 0, tzinfo=config.zone)
    day = datetime(2026, 11, 22, 13, 0, tzinfo=config.zone)
    assert stations.capacity_now(config, found, night) == 25
    assert stations.capacity_now(config, found, day) == 80


async def test_nearest_suitable_station_fits_the_party(client: Client) -> None:
    """A wheelchair user with oxygen is sent to the nearest accessible station with medical power and room."""
    await open_station(client, "canisius", 40, accessible=True)  # nearest, but no medical power
    await open_station(client, "bennett", 40, accessible=True, medical_power=True)
    await open_station(client, "south_park", 40, **EVERYTHING)
    query = "lat=42.925&lon=-78.85&party=2&wheelchair=true&oxygen=true"
    items = (await (await client.get(f"/api/v1/stations/nearest?{query}")).get_json())["items"]
    assert [v["station"]["id"] for v in items] == ["bennett", "south_park"]
    assert items[0]["distance_m"] < items[1]["distance_m"]
    big = (await (await client.get("/api/v1/stations/nearest?lat=42.925&lon=-78.85&party=41")).get_json())[
        "items"
    ]
    assert big == []


async def test_closing_with_people_in_it_asks_where_they_go(client: Client) -> None:
    """Closing an occupied station is refused with candidates; with move_to the people go there."""
    await open_station(client, "burgard")
    await open_station(client, "bennett", 10)
    await client.post("/api/v1/stations/burgard/check-in", json={"people": 6})
    asked = await client.post("/api/v1/stations/burgard/close", json={})
    assert asked.status_code == 409
    problem = await asked.get_json()
    assert problem["occupancy"] == 6
    assert [c["id"] for c in problem["candidates"]] == ["bennett"]
    closed = await client.post(
        "/api/v1/stations/burgard/close", json={"move_to": "bennett", "reason": "no power"}
    )
    assert (await closed.get_json())["station"]["status"] == "closed"
    board = {
        r["station"]["id"]: r for r in (await (await client.get("/api/v1/stations")).get_json())["items"]
    }
    assert board["bennett"]["station"]["occupancy"] == 6


async def test_public_status_and_stations_show_open_ones_without_contacts(app: App, client: Client) -> None:
    """Anyone sees how many stations are open and where, with space left, but no contact person."""
    await open_station(client, "burgard")
    anonymous = app.test_client()
    status = await (await anonymous.get("/api/v1/status")).get_json()
    assert status["open_warming_stations"] == 1
    public = await (await anonymous.get("/api/v1/public/stations")).get_json()
    assert [s["id"] for s in public["items"]] == ["burgard"]
    assert "contact" not in public["items"][0]
    assert "Desk" not in msgspec.json.encode(public).decode()


async def _ride(client: Client) -> str:
    body = {
        "narrative": "no heat, need a ride to a warming station",
        "location": {"lat": 42.93, "lon": -78.83},
    }
    return str((await (await client.post("/api/v1/calls", json=body)).get_json())["ticket"])


async def test_reopening_counts_afresh_and_unknown_move_to_is_named(client: Client) -> None:
    """A station opened again counts from zero; closing toward a site that does not exist is a 422."""
    await open_station(client, "burgard")
    await client.post("/api/v1/stations/burgard/check-in", json={"people": 5})
    unknown = await client.post("/api/v1/stations/burgard/close", json={"move_to": "nowhere"})
    assert unknown.status_code == 422
    assert "move_to" in await unknown.get_data(as_text=True)
    await client.post("/api/v1/stations/burgard/check-out", json={"people": 5})
    await client.post("/api/v1/stations/burgard/close", json={})
    reopened = await open_station(client, "burgard")
    assert reopened["station"]["checked_in_total"] == 0
    assert reopened["station"]["peak"] == 0


async def test_concurrent_rides_never_overfill_a_station(client: Client) -> None:
    """Twelve rides asked for at once for a five-place station: five hold a place, the rest are refused."""

    await open_station(client, "burgard", 5, **EVERYTHING)
    body = {"narrative": "no heat, need a ride", "location": {"lat": 42.93, "lon": -78.83}}
    tickets = [
        (await (await client.post("/api/v1/calls", json=body)).get_json())["ticket"] for _ in range(12)
    ]
    answers = await asyncio.gather(
        *(
            client.post("/api/v1/transport/requests", json={"ticket": t, "station": "burgard"})
            for t in tickets
        )
    )
    assert sorted(a.status_code for a in answers) == [201] * 5 + [409] * 7
    board = {
        r["station"]["id"]: r for r in (await (await client.get("/api/v1/stations")).get_json())["items"]
    }
    assert board["burgard"]["station"]["reserved"] == 5
    assert board["burgard"]["full"] is True
