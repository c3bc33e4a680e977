"""Small helpers for API tests, and the 911 center's side of a handoff."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import msgspec
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident.app import create_app
from incident.auth.roles import Role
from incident.config import SurgeConfig
from incident.eido_schema import first_error, unknown_properties
from incident.settings import Settings
from tests.support import ROOT, as_role

NENA = ROOT / "tests" / "schemas" / "nena-eido"

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


class FakePsap:
    """The 911 center's endpoint: fails the first `failures` attempts, then takes every delivery."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if len(self.requests) <= self.failures:
            return httpx.Response(503)
        return httpx.Response(202, json={"received": request.headers["Idempotency-Key"]})

    def taken(self) -> dict[str, Any]:
        """The deliveries 911 took, by Idempotency-Key, in the order they first arrived."""
        bodies: dict[str, Any] = {}
        for request in self.requests[self.failures :]:
            bodies.setdefault(request.headers["Idempotency-Key"], msgspec.json.decode(request.content))
        return bodies


@asynccontextmanager
async def serving_with_psap(settings: Settings, config: SurgeConfig, psap: FakePsap) -> AsyncIterator[App]:
    """The app with a 911 endpoint configured (answered by `psap`), retrying every second."""
    handoff = msgspec.structs.replace(
        config.handoff, psap_endpoint="https://psap.example/311", retry_seconds=1
    )
    quart_app = create_app(settings, msgspec.structs.replace(config, handoff=handoff))
    quart_app.extensions["stormline.psap_transport"] = httpx.MockTransport(psap)
    async with quart_app.test_app() as test_app:
        yield test_app  # type: ignore[misc]


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 8.0) -> None:
    """Wait until `check` answers true; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "did not happen in time"
        await asyncio.sleep(0.1)


def assert_eido(document: dict[str, Any]) -> None:
    """A valid NENA EIDO, using only the schema's property names, each `$ref` naming one of its parts."""
    assert first_error(document, NENA) is None, first_error(document, NENA)
    assert unknown_properties(document, NENA) == [], unknown_properties(document, NENA)
    ids, refs = _ids_and_refs(document)
    assert len(ids) == len(set(ids)), f"an $id given twice: {sorted(ids)}"
    assert refs <= set(ids), f"references to nothing in the document: {refs - set(ids)}"


def _ids_and_refs(node: Any) -> tuple[list[str], set[str]]:
    ids: list[str] = []
    refs: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("$id"), str):
            ids.append(node["$id"])
        if isinstance(node.get("$ref"), str):
            refs.add(node["$ref"])
        children = list(node.values())
    else:
        children = list(node) if isinstance(node, list) else []
    for child in children:
        more_ids, more_refs = _ids_and_refs(child)
        ids += more_ids
        refs |= more_refs
    return ids, refs


# A box around the Elmwood Village (the outage), and one point inside it and one outside.
OUTAGE = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"hours_out": 20},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[-78.89, 42.91], [-78.86, 42.91], [-78.86, 42.94], [-78.89, 42.94], [-78.89, 42.91]]
                ],
            },
        }
    ],
}
INSIDE = [(42.9247, -78.8768), (42.9200, -78.8700), (42.9300, -78.8800), (42.9150, -78.8750)]
OUTSIDE = (42.9500, -78.8200)


def _registry_csv() -> str:
    rows = ["id,name,phone,address,lat,lon,needs,consent_date,consent_source"]
    needs = ["mobility", "oxygen;lives_alone", "dialysis", "oxygen"]
    for i, ((lat, lon), need) in enumerate(zip(INSIDE, needs, strict=True)):
        rows.append(
            f"U{i},Resident {i},716-555-02{i:02d},{i + 1} Elmwood Ave,{lat},{lon},{need},2026-09-01,utility"
        )
    rows.append(f"U9,Far Away,716-555-0299,9 Main St,{OUTSIDE[0]},{OUTSIDE[1]},oxygen,2026-09-01,utility")
    return "\n".join(rows) + "\n"


async def built_calldown(app: App) -> tuple[str, list[str], dict[str, str]]:
    """Five residents imported (four inside the outage), and a call-down built for the outage."""
    coordinator = await as_role(app, Role.COORDINATOR)
    sent = await coordinator.post(
        "/api/v1/registry/import?source=utility", data=_registry_csv(), headers={"Content-Type": "text/csv"}
    )
    assert (await sent.get_json())["registered"] == 5
    listed = await (await coordinator.get("/api/v1/registry")).get_json()
    names = {r["id"]: r["name"] for r in listed["items"]}
    built = await coordinator.post("/api/v1/calldowns", json={"name": "Elmwood outage", "area": OUTAGE})
    assert built.status_code == 201, await built.get_data(as_text=True)
    body = await built.get_json()
    return body["calldown"]["id"], body["first"], names
