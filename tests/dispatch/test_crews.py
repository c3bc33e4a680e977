"""Crews: their records, derived status, positions with their age, and what a crew may see."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from dispatch.crews import PositionIn, record_position, views
from incident.auth.roles import Role
from incident.config import load_config
from incident.store import Store
from tests.dispatch.helpers import assign, crew, ticket_at
from tests.support import CONFIG, as_role


async def test_a_crew_is_created_with_its_record_and_starts_available(client: Client) -> None:
    """A new crew keeps kind, capabilities, size and seats; it is available with no work."""
    view = await crew(
        client, "van-2", kind="transport_van", capabilities=["wheelchair_lift"], seats=6, wheelchair_spaces=2
    )
    assert view["crew"]["kind"] == "transport_van"
    assert view["crew"]["seats"] == 6
    assert view["status"] == "available"
    assert view["load"] == 0
    assert view["position"] is None
    again = await client.post("/api/v1/crews", json={"id": "van-2", "name": "x", "kind": "streets"})
    assert again.status_code == 409


async def test_unknown_capability_and_bad_fields_are_named(client: Client) -> None:
    """A capability the config does not list, or a malformed shift, is a 422 naming the field."""
    response = await client.post(
        "/api/v1/crews", json={"id": "c1", "name": "C1", "kind": "streets", "capabilities": ["jetpack"]}
    )
    assert response.status_code == 422
    assert "capabilities[0]" in await response.get_data(as_text=True)
    shift = await client.post(
        "/api/v1/crews", json={"id": "c1", "name": "C1", "kind": "streets", "shift_start": "25:00"}
    )
    assert shift.status_code == 422
    assert "shift_start" in await shift.get_data(as_text=True)


async def test_status_follows_the_crews_work_and_its_shift(client: Client) -> None:
    """Assigned work makes a crew "assigned"; going off duty makes it "off_shift"."""
    await crew(client, "forestry-1")
    ticket = await ticket_at(client, 42.93, -78.82)
    assert (await assign(client, ticket, "forestry-1")).status_code == 200
    board = await (await client.get("/api/v1/crews")).get_json()
    (row,) = board["items"]
    assert row["status"] == "assigned"
    assert row["load"] == 1
    await client.post(f"/api/v1/incidents/{ticket}/unassignment", json={})
    off = await client.patch("/api/v1/crews/forestry-1", json={"on_duty": False})
    assert (await off.get_json())["status"] == "off_shift"
    assert (await (await client.get("/api/v1/crews/forestry-1")).get_json())["load"] == 0


async def test_position_is_kept_with_its_age_and_a_late_fix_does_not_replace_it(
    app: App, client: Client
) -> None:
    """The newest fix wins: one sent late (taken earlier) is not kept; the age is reported."""
    await crew(client, "crew-1")
    device = await as_role(app, Role.CREW, crew_id="crew-1")
    taken = datetime.now(UTC) - timedelta(minutes=2)
    first = await device.post(
        "/api/v1/crews/crew-1/position", json={"lat": 42.93, "lon": -78.82, "at": taken.isoformat()}
    )
    assert (await first.get_json())["kept"] is True
    late = await device.post(
        "/api/v1/crews/crew-1/position",
        json={"lat": 42.80, "lon": -78.90, "at": (taken - timedelta(minutes=5)).isoformat()},
    )
    assert (await late.get_json())["kept"] is False
    view = await (await client.get("/api/v1/crews/crew-1")).get_json()
    assert view["position"]["lat"] == 42.93
    assert 110 <= view["position"]["age_seconds"] <= 200
    assert view["position"]["stale"] is False
    assert view["last_heard_at"] is not None
    assert view["silent"] is False


async def test_a_crew_sees_and_reports_only_for_itself(app: App, client: Client) -> None:
    """Another crew's record, route and position are 404 to a crew; its board shows only itself."""
    await crew(client, "crew-1")
    await crew(client, "crew-2")
    device = await as_role(app, Role.CREW, crew_id="crew-1")
    assert (await device.get("/api/v1/crews/crew-2")).status_code == 404
    assert (await device.get("/api/v1/crews/crew-2/route")).status_code == 404
    spoof = await device.post("/api/v1/crews/crew-2/position", json={"lat": 42.9, "lon": -78.8})
    assert spoof.status_code == 404
    board = await (await device.get("/api/v1/crews")).get_json()
    assert [row["crew"]["id"] for row in board["items"]] == ["crew-1"]


async def test_out_of_range_input_is_a_422_not_a_500(app: App, client: Client) -> None:
    """A latitude beyond what a map (and Redis's geo index) holds, or a huge ack id, is named, not a crash."""
    await crew(client, "crew-1")
    device = await as_role(app, Role.CREW, crew_id="crew-1")
    polar = await device.post("/api/v1/crews/crew-1/position", json={"lat": 86.0, "lon": -78.8})
    assert polar.status_code == 422
    assert "lat" in await polar.get_data(as_text=True)
    dup = await client.post(
        "/api/v1/duplicates", json={"category": "debris", "location": {"lat": 86, "lon": 0}}
    )
    assert dup.status_code == 422
    huge = await device.post("/api/v1/crews/crew-1/feed/ack", json={"ids": ["99999999999999999999-0"]})
    assert huge.status_code == 422
    assert "ids[0]" in await huge.get_data(as_text=True)


async def test_fixes_sent_at_once_out_of_order_keep_the_newest(store: Store, client: Client) -> None:
    """Twenty queued fixes flushed concurrently, oldest last: the newest is the one kept."""
    await crew(client, "crew-1")
    base = datetime.now(UTC) - timedelta(minutes=30)
    fixes = [
        PositionIn(lat=42.90 + i / 1000, lon=-78.85, at=base + timedelta(seconds=10 * i)) for i in range(20)
    ]
    await asyncio.gather(*(record_position(store, "crew-1", fix) for fix in reversed(fixes)))
    (view,) = await views(store, load_config(CONFIG), ["crew-1"])
    assert view.position is not None
    assert view.position.lat == fixes[-1].lat
