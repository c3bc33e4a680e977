"""Small helpers for the dispatch tests: crews and located calls through the real API."""

from __future__ import annotations

from typing import Any

from quart.typing import TestClientProtocol as Client

# Elmwood Ave between Potomac Ave and Bird Ave (a block the shipped corners give): east side, and west.
ELMWOOD_EAST = [(42.9247, -78.8768), (42.9253, -78.8768), (42.9250, -78.8767)]
ELMWOOD_WEST = (42.9250, -78.8772)


async def crew(client: Client, crew_id: str, kind: str = "debris_forestry", **fields: Any) -> dict[str, Any]:
    """Create a crew and return its board view."""
    body = {"id": crew_id, "name": crew_id.replace("-", " ").title(), "kind": kind, **fields}
    response = await client.post("/api/v1/crews", json=body)
    assert response.status_code == 201, await response.get_data(as_text=True)
    return dict(await response.get_json())


async def call_at(
    client: Client, lat: float, lon: float, category: str = "debris", **fields: Any
) -> dict[str, Any]:
    """Log a call at a point and return the receipt."""
    body = {
        "narrative": fields.pop("narrative", "Large limb down, blocking the street"),
        "category": category,
        "location": {"lat": lat, "lon": lon},
        **fields,
    }
    response = await client.post("/api/v1/calls", json=body)
    assert response.status_code == 201, await response.get_data(as_text=True)
    return dict(await response.get_json())


async def ticket_at(client: Client, lat: float, lon: float, category: str = "debris", **fields: Any) -> str:
    return str((await call_at(client, lat, lon, category, **fields))["ticket"])


async def assign(client: Client, ticket: str, crew_id: str, **fields: Any) -> Any:
    return await client.post(f"/api/v1/incidents/{ticket}/assignment", json={"crew_id": crew_id, **fields})


EVERYTHING = {"accessible": True, "pets": True, "medical_power": True, "food": True, "cots": True}


async def open_station(client: Client, site: str, capacity: int = 40, **amenities: bool) -> dict[str, Any]:
    """Open a configured warming site through the API and return its board view."""
    body = {
        "capacity_day": capacity,
        "capacity_overnight": capacity,
        "amenities": amenities,
        "contact": "Desk",
    }
    response = await client.post(f"/api/v1/stations/{site}/open", json=body)
    assert response.status_code == 200, await response.get_data(as_text=True)
    return dict(await response.get_json())
