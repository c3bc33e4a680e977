"""What 911 receives: the handoff as one NENA EIDO, and a new version of it at every change after.

Every document the 911 center takes here is checked against NENA's schema (the tests' own copy), its
vocabulary (no property the schema does not define) and its links (each `$ref` names a part of it).
The 911 center is faked at the outbox's HTTP transport; deliveries go through Redis for real.
"""

from __future__ import annotations

import filecmp
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from geo.point import Point
from incident import pidf
from incident.auth.roles import Role
from incident.config import SurgeConfig
from incident.eido_schema import PACKAGED, first_error, unknown_properties
from incident.settings import Settings
from tests.incident.helpers import NENA, FakePsap, assert_eido, serving_with_psap, until
from tests.support import as_role

AGENCY = "311.buffalony.gov"
TRAPPED = {
    "narrative": "man trapped under a tree on Bailey, not moving",
    "address": "Bailey & Kensington",
    "caller_name": "Pat Doe",
    "callback_number": "(716) 555-0142",
}


@pytest.fixture
def psap() -> FakePsap:
    return FakePsap()


@pytest.fixture
async def app(settings: Settings, config: SurgeConfig, psap: FakePsap) -> AsyncIterator[App]:
    async with serving_with_psap(settings, config, psap) as test_app:
        yield test_app


@pytest.fixture
async def agent(app: App) -> Client:
    return await as_role(app, Role.AGENT, name="maria")


async def _call(client: Client, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/calls", json={**TRAPPED, **fields})
    assert response.status_code == 201, await response.get_data(as_text=True)
    receipt: dict[str, Any] = await response.get_json()
    return receipt


async def _transferred(agent: Client, psap: FakePsap, ticket: str) -> dict[str, Any]:
    """Start the transfer and return the EIDO 911 takes."""
    started = await agent.post(f"/api/v1/incidents/{ticket}/handoff", json={"step": "transfer_started"})
    assert started.status_code == 200
    delivery = (await started.get_json())["handoff"]["delivery"]
    return await _delivered(psap, delivery)


async def _delivered(psap: FakePsap, delivery: str) -> dict[str, Any]:
    async def taken() -> bool:
        return delivery in psap.taken()

    await until(taken)
    document: dict[str, Any] = psap.taken()[delivery]["eido"]
    assert_eido(document)
    return document


def _by_id(document: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    return {component["$id"]: component for component in document[name]}


async def test_a_handoff_with_several_calls_is_one_linked_eido(agent: Client, psap: FakePsap) -> None:
    """Calls, callers (one per number), callbacks, location, notes, agency and agent, linked by $id."""
    ticket = (await _call(agent))["ticket"]
    await _call(agent, ticket=ticket, narrative="he is still under the tree, I can hear him")
    await _call(agent, ticket=ticket, narrative="a man is stuck under a tree", caller_name="Lee Roe",
                callback_number="716-555-0199")  # fmt: skip
    document = await _transferred(agent, psap, ticket)

    assert document["$id"] == f"urn:emergency:uid:incidentid:{ticket}:{AGENCY}"
    assert document["eidoVersion"] == "1.0"
    assert document["updatedByAgencyReference"] == {"$ref": AGENCY}
    incident = document["incidentComponent"]
    assert incident["internalIncidentId"] == ticket
    assert incident["incidentTypeCommonRegistryText"] == "PERUNCON"  # APCO's, of the first rule that fired
    assert incident["incidentPriorityInternalText"] == "P1"
    calls = document["callComponent"]
    assert len(calls) == 3
    assert [call["callStateRegistryText"] for call in calls] == ["callEnd", "callEnd", "callAnswered"]
    assert all(call["agentReference"] == [{"$ref": f"maria@{AGENCY}"}] for call in calls)
    people = _by_id(document, "personComponent")
    assert len(people) == 2, "the two calls from one number are one caller"
    pat = people[calls[0]["personReference"][0]["$ref"]]
    assert pat["callIdentifier"] == [calls[0]["$id"], calls[1]["$id"]]
    assert pat["ncPersonComponent"]["name"] == [{"personFullName": [{"value": "Pat Doe"}]}]
    callbacks = _by_id(document, "callbackComponent")
    assert callbacks[pat["callBackReference"]["$ref"]]["callBackInformationUri"] == ["tel:+17165550142"]
    location = _by_id(document, "locationComponent")[calls[0]["locationReference"][0]["$ref"]]
    place = pidf.read(location["locationByValue"])
    assert place.point is not None
    assert place.address is not None
    given = next(pidf.parse(location["locationByValue"]).iter(f"{{{pidf.CIVIC}}}LOC"))
    assert given.text == "Bailey & Kensington", "the address as the caller gave it"
    notes = " ".join(note["notesActionComments"] for note in document["notesComponent"])
    assert "I can hear him" in notes
    assert "311 triage: unconscious (not moving); entrapment (trapped, under tree)" in notes
    assert f"311 ticket {ticket}" in notes
    assert [agency["$id"] for agency in document["agencyComponent"]] == [AGENCY]
    assert [agent["$id"] for agent in document["agentComponent"]] == [f"maria@{AGENCY}"]


async def test_changes_after_the_transfer_send_new_versions(
    app: App, agent: Client, client: Client, psap: FakePsap
) -> None:
    """A later call, a corrected place, a note, an override: each a new version; 911's answers, none."""
    ticket = (await _call(agent))["ticket"]
    sent = [await _transferred(agent, psap, ticket)]

    later = await _call(agent, ticket=ticket, narrative="now he is not breathing")
    await agent.post(
        f"/api/v1/incidents/{ticket}/location", json={"point": {"lat": 42.9349, "lon": -78.8161}}
    )
    await agent.post(
        f"/api/v1/incidents/{ticket}/handoff",
        json={"step": "note", "detail": "Caller says the back door is open <b>unlocked</b>"},
    )
    await client.post(
        f"/api/v1/incidents/{ticket}/override", json={"priority": "P2", "reason": "911 says so"}
    )
    psap_client = await as_role(app, Role.PSAP)
    await psap_client.post(f"/api/v1/psap/incidents/{ticket}", json={"status": "accepted"})
    await psap_client.post(f"/api/v1/psap/incidents/{ticket}", json={"status": "dispatched"})
    incident = (await (await client.get(f"/api/v1/incidents/{ticket}")).get_json())["incident"]
    updates = incident["handoff"]["updates"]
    assert len(updates) == 4, "one version per change, none for 911's own answers"
    assert later["incident"]["handoff"]["updates"] == updates[:1]
    for delivery in updates:
        sent.append(await _delivered(psap, delivery))

    assert {document["$id"] for document in sent} == {f"urn:emergency:uid:incidentid:{ticket}:{AGENCY}"}
    times = [document["lastUpdateTimeStamp"] for document in sent]
    assert times == sorted(set(times)), "each version is later than the last"
    assert [len(document["callComponent"]) for document in sent] == [1, 2, 2, 2, 2]
    assert len(sent[1]["personComponent"]) == 1, "the same caller, calling again"
    moved = pidf.read(sent[2]["locationComponent"][0]["locationByValue"]).point
    assert moved == Point(42.9349, -78.8161)
    assert "&lt;b&gt;unlocked&lt;/b&gt;" in json.dumps(sent[3]["notesComponent"]), "a note's text, escaped"
    assert sent[4]["incidentComponent"]["incidentPriorityInternalText"] == "P2"
    assert len(psap.taken()) == 5


async def test_no_version_once_911_rejected(app: App, agent: Client, psap: FakePsap) -> None:
    """After 911 rejects the transfer, 311 has the incident back: a later change sends 911 nothing."""
    ticket = (await _call(agent))["ticket"]
    await _transferred(agent, psap, ticket)
    psap_client = await as_role(app, Role.PSAP)
    await psap_client.post(f"/api/v1/psap/incidents/{ticket}", json={"status": "rejected", "reason": "no"})
    later = await _call(agent, ticket=ticket, narrative="he got out from under it")
    assert later["incident"]["handoff"]["updates"] == []


async def test_a_note_needs_a_handoff_and_its_text(agent: Client) -> None:
    """A note for 911 without text is a 422 naming `detail`; on an incident 911 never had, a 409."""
    ticket = (await _call(agent))["ticket"]
    empty = await agent.post(f"/api/v1/incidents/{ticket}/handoff", json={"step": "note", "detail": " "})
    assert (await empty.get_json())["errors"][0]["field"] == "detail"
    quiet = (await _call(agent, narrative="branch down on my driveway", category="debris"))["ticket"]
    refused = await agent.post(f"/api/v1/incidents/{quiet}/handoff", json={"step": "note", "detail": "x"})
    assert refused.status_code == 409


def test_the_vocabulary_check_finds_what_validation_lets_through() -> None:
    """An invented or misspelt property passes NENA's schema; the vocabulary check names its path."""
    sample = json.loads((NENA / "sample-call-transfer-eido.json").read_text())
    assert first_error(sample, NENA) is None
    assert unknown_properties(sample, NENA) == []
    sample["callComponent"][0]["callbackNumber"] = "7165550142"
    sample["personComponent"][0]["ncPersonComponent"] = {"name": [{"personFulName": [{"value": "Pat"}]}]}
    assert first_error(sample, NENA) is None, "the schema leaves additionalProperties open"
    assert unknown_properties(sample, NENA) == [
        "callComponent[0].callbackNumber",
        "personComponent[0].ncPersonComponent.name[0].personFulName",
    ]


def test_numeric_bounds_written_as_text_still_bind() -> None:
    """NENA writes an agent's roles' minimum as '1,': read as 1, an agent with no role is refused."""
    sample = json.loads((NENA / "sample-call-transfer-eido.json").read_text())
    sample["agentComponent"][0]["agentRoleRegistryText"] = []
    assert first_error(sample, NENA) == (
        "agentComponent[0].agentRoleRegistryText",
        "[] should be non-empty",
    )


def test_the_server_ships_the_schema_the_tests_hold() -> None:
    """The package's copy of NENA's schema is the tests' copy, file for file."""
    for folder in (".", "NIEMComponents"):
        names = sorted(path.name for path in (PACKAGED / folder).glob("*.yaml"))
        assert names, folder
        _, mismatch, errors = filecmp.cmpfiles(PACKAGED / folder, NENA / folder, names, shallow=False)
        assert (mismatch, errors) == ([], []), folder
