"""What 911 sends: a non-emergency call transferred to 311 as a NENA EIDO, taken as every call is."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from geo.point import Point
from incident import pidf
from incident.auth.roles import Role
from tests.incident.helpers import NENA, new_ticket
from tests.support import as_role

PSAP = "psap.erie.ny.us"
SAMPLE = json.loads((NENA / "sample-call-transfer-eido.json").read_text())


def _prologue(component_id: str) -> dict[str, Any]:
    return {
        "$id": component_id,
        "lastUpdateTimeStamp": "2026-01-14T02:16:00-05:00",
        "updatedByAgencyReference": {"$ref": PSAP},
    }


LIMB = {
    **_prologue(f"urn:emergency:uid:incidentid:e4471:{PSAP}"),
    "eidoVersion": "1.0",
    "issuingElementIdentification": f"idx.{PSAP}",
    "agencyComponent": [
        {**_prologue(PSAP), "agencyRoleDescriptionRegistryText": ["CallReceiving"], "agencyType": ["psap"]}
    ],
    "callComponent": [
        {
            **_prologue(f"urn:emergency:uid:callid:c88:{PSAP}"),
            "callStateRegistryText": "callAnswered",
            "standardPrimaryCallType": "emergency",
            "direction": "incoming",
            "callStartTimestamp": "2026-01-14T02:14:00-05:00",
            "callBackReference": {"$ref": "callback-1"},
            "locationReference": [{"$ref": "location-1"}],
            "personReference": [{"$ref": "person-1"}],
            "notesReference": [{"$ref": "note-1"}],
        }
    ],
    "callbackComponent": [
        {**_prologue("callback-1"), "callBackInformationUri": ["sip:+17165550177@carrier.example"]}
    ],
    "personComponent": [
        {
            **_prologue("person-1"),
            "personIncidentRoleRegistryText": ["Caller"],
            "ncPersonComponent": {
                "name": [{"personGivenName": [{"value": "Ana"}], "personSurName": [{"value": "Ruiz"}]}],
                "primaryLanguage": [{"languageCode": [{"simpleType": "spa"}]}],
            },
        }
    ],
    "locationComponent": [
        {
            **_prologue("location-1"),
            "locationTypeDescriptionRegistryText": "Caller",
            "locationByValue": pidf.write(
                "pres:c88@psap.erie.ny.us",
                {"country": "US", "A1": "NY", "A3": "Buffalo", "RD": "Elmwood", "STS": "Ave", "HNO": "1100"},
                Point(42.9247, -78.8768),
                "Manual",
                datetime(2026, 1, 14, 7, 15, tzinfo=UTC),
            ),
        }
    ],
    "notesComponent": [
        {
            **_prologue("note-1"),
            "notesActionComments": "<p>Big limb down across Elmwood Ave, blocking the street.</p>"
            "<p>No one is hurt &amp; no wires.</p>",
        }
    ],
}


@pytest.fixture
async def psap(app: App) -> Client:
    return await as_role(app, Role.PSAP, name="erie-911")


async def _transfer(psap: Client, document: Any, status: int = 201, key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    response = await psap.post("/api/v1/psap/transfers", json=document, headers=headers)
    assert response.status_code == status, await response.get_data(as_text=True)
    return response


async def _detail(client: Client, ticket: str) -> dict[str, Any]:
    detail: dict[str, Any] = await (await client.get(f"/api/v1/incidents/{ticket}")).get_json()
    return detail


async def test_nenas_own_sample_is_taken(psap: Client, client: Client) -> None:
    """NENA's sample call transfer opens an incident with the caller's callback, place and words."""
    response = await _transfer(psap, SAMPLE)
    receipt = await response.get_json()
    assert receipt["new_incident"] is True
    assert response.headers["Location"] == f"/api/v1/incidents/{receipt['ticket']}"
    detail = await _detail(client, receipt["ticket"])
    call = detail["calls"][0]
    assert call["channel"] == "psap_transfer"
    assert call["narrative"] == "This is an example text."
    assert (call["callback_number"], call["callback_e164"]) == ("8195551212", "+18195551212")
    assert call["received_at"] == "2021-04-30T18:40:00Z"
    assert detail["incident"]["address"] == "42 W Cellular Street, Wilmington, DE"


async def test_a_transfer_is_triaged_and_placed_like_any_call(psap: Client, client: Client) -> None:
    """What the caller said is triaged; the point, callback, name and language are kept."""
    receipt = await (await _transfer(psap, LIMB)).get_json()
    assert receipt["incident"]["category"] == "debris"
    assert receipt["transfer_to_911"] is False
    detail = await _detail(client, receipt["ticket"])
    call = detail["calls"][0]
    said = "Big limb down across Elmwood Ave, blocking the street.\nNo one is hurt & no wires."
    assert call["narrative"] == said, "the notes as text, a paragraph a line"
    assert [call[key] for key in ("caller_name", "callback_e164", "language")] == [
        "Ana Ruiz",
        "+17165550177",
        "es",
    ]
    assert detail["incident"]["address"] == "1100 Elmwood Ave, Buffalo, NY"
    assert detail["incident"]["location"] == {"lat": 42.9247, "lon": -78.8768}
    assert detail["incident"]["zones"]["neighborhood"], "placed in its zones"


async def test_a_retried_transfer_opens_nothing_more(psap: Client, client: Client) -> None:
    """The same EIDO again (with 911's key, or without one: its $id and time) answers the first ticket."""
    first = await (await _transfer(psap, LIMB, key="e4471-1")).get_json()
    again = await _transfer(psap, LIMB, key="e4471-1")
    assert (await again.get_json())["ticket"] == first["ticket"]
    assert again.headers["Idempotent-Replayed"] == "true"
    keyless = {**LIMB, "lastUpdateTimeStamp": "2026-01-14T02:20:00-05:00"}
    second = await (await _transfer(psap, keyless)).get_json()
    replayed = await _transfer(psap, keyless)
    assert (await replayed.get_json())["ticket"] == second["ticket"]
    listed = await (await client.get("/api/v1/incidents")).get_json()
    assert len(listed["items"]) == 2


async def test_a_transfer_naming_a_311_incident_joins_it(psap: Client, client: Client) -> None:
    """An EIDO that links to a 311 incident's tracking id adds its call to that incident."""
    ticket = await new_ticket(client)
    link = {
        **_prologue("link-1"),
        "incidentTrackingIdentifier": f"urn:emergency:uid:incidentid:{ticket}:311.buffalony.gov",
        "linkDirectionCode": "RELATED",
    }
    receipt = await (await _transfer(psap, {**LIMB, "linkComponent": [link]})).get_json()
    assert (receipt["ticket"], receipt["new_incident"]) == (ticket, False)
    assert len((await _detail(client, ticket))["calls"]) == 2


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    def change(document: dict[str, Any]) -> Any:
        *parents, last = path.split(".")
        node: Any = document
        for step in parents:
            node = node[int(step)] if step.isdigit() else node[step]
        if value is None:
            del node[last]
        else:
            node[last] = value
        return document

    return change


CALL, PLACE = "callComponent[0]", "locationComponent[0]"
DOCTYPE = '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaa">]><presence>&a;</presence>'


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_set("eidoVersion", None), "eidoVersion"),
        (_set("callComponent.0.direction", "sideways"), f"{CALL}.direction"),
        (_set("callComponent.0.callStartTimestamp", "yesterday"), f"{CALL}.callStartTimestamp"),
        (_set("callComponent.0.callStartTimestamp", "2999-01-01T00:00:00Z"), f"{CALL}.callStartTimestamp"),
        (_set("callComponent.0.callBackReference", {"$ref": "nowhere"}), f"{CALL}.callBackReference.$ref"),
        (_set("locationComponent.0.locationByValue", DOCTYPE), f"{PLACE}.locationByValue"),
        (_set("locationComponent.0.locationByValue", "<presence"), f"{PLACE}.locationByValue"),
        (lambda document: [document], "(top level)"),
    ],
)  # fmt: skip
async def test_an_invalid_eido_is_refused_naming_its_path(
    psap: Client, client: Client, change: Callable[[dict[str, Any]], Any], field: str
) -> None:
    """A document that is not a valid EIDO, or cannot be read, is a 422 naming the path; nothing is stored."""
    response = await _transfer(psap, change(copy.deepcopy(LIMB)), 422)
    problem = await response.get_json()
    assert problem["errors"][0]["field"] == field
    assert (await (await client.get("/api/v1/incidents")).get_json())["items"] == []


async def test_only_the_911_center_transfers(app: App) -> None:
    """An agent's token may not use the 911 center's door."""
    agent = await as_role(app, Role.AGENT)
    assert (await agent.post("/api/v1/psap/transfers", json=SAMPLE)).status_code == 403
