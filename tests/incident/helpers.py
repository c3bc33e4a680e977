"""Small helpers for API tests."""

from __future__ import annotations

from typing import Any

from quart.typing import TestClientProtocol as Client

CALL = {
    "narrative": "Big limb down across Bailey Ave near Kensington, street blocked",
    "address": "Bailey & Kensington",
    "category": "debris",
    "caller_name": "Pat Doe",
    "callback_number": "(716) 555-0142",
    "location": {"lat": 42.9346, "lon": -78.8163},
}


async def post_call(client: Client, body: dict[str, Any] | None = None, **headers: str) -> Any:
    """POST /api/v1/calls and return the response."""
    return await client.post("/api/v1/calls", json=body or CALL, headers=headers)


async def new_ticket(client: Client, **fields: Any) -> str:
    """Open an incident and return its ticket."""
    response = await post_call(client, {**CALL, **fields})
    assert response.status_code == 201, await response.get_data(as_text=True)
    return str((await response.get_json())["ticket"])


async def ensure_crew(client: Client, crew_id: str) -> None:
    """Make sure a (debris) crew with this id exists; `client` must be a supervisor's."""
    body = {"id": crew_id, "name": crew_id, "kind": "debris_forestry"}
    response = await client.post("/api/v1/crews", json=body)
    assert response.status_code in (201, 409), await response.get_data(as_text=True)


async def move(client: Client, ticket: str, to: str, **fields: Any) -> Any:
    """POST a transition and return the response; a move to assigned names crew-1 unless told otherwise."""
    if to == "assigned":
        fields.setdefault("crew_id", "crew-1")
        await ensure_crew(client, fields["crew_id"])
    return await client.post(f"/api/v1/incidents/{ticket}/transitions", json={"to": to, **fields})
