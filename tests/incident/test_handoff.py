"""The 911 handoff: steps, the dispatch hold, deliveries through the outbox, 911's answers, alarms.

The 911 center is the one outside service faked here, at the seam the real code uses: the outbox's
HTTP transport. Deliveries go through Redis for real.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from lxml import etree
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident.auth.roles import Role
from incident.config import SurgeConfig
from incident.handoff import check_deadlines
from incident.settings import Settings
from tests.incident.helpers import FakePsap, assert_eido, ensure_crew, serving_with_psap, until
from tests.support import ROOT, as_role

SCHEMAS = ROOT / "tests" / "schemas"
EMERGENCY = {"narrative": "man trapped under a tree on Bailey, not moving", "address": "Bailey & Kensington"}


@pytest.fixture
def psap() -> FakePsap:
    return FakePsap(failures=2)


@pytest.fixture
async def app(settings: Settings, config: SurgeConfig, psap: FakePsap) -> AsyncIterator[App]:
    """The app with a 911 endpoint configured, retrying every second."""
    async with serving_with_psap(settings, config, psap) as test_app:
        yield test_app


async def _emergency(client: Client) -> dict[str, Any]:
    response = await client.post("/api/v1/calls", json=EMERGENCY)
    assert response.status_code == 201
    receipt: dict[str, Any] = await response.get_json()
    return receipt


async def test_life_safety_call_says_transfer_now(client: Client) -> None:
    """A life-safety call answers "transfer to 911" with the steps, and starts its handoff screened."""
    receipt = await _emergency(client)
    assert receipt["transfer_to_911"] is True
    assert receipt["handoff_steps"][0].startswith("Tell the caller")
    handoff = receipt["incident"]["handoff"]
    assert [step["step"] for step in handoff["steps"]] == ["screened"]
    assert handoff["held"] is True


async def test_transfer_delivers_eido_and_cap_with_retries(client: Client, psap: FakePsap) -> None:
    """Transfer started: the documents reach 911 through the outbox, retried past failures, one key."""
    ticket = (await _emergency(client))["ticket"]
    await client.post(f"/api/v1/incidents/{ticket}/handoff", json={"step": "location_verified"})
    started = await client.post(f"/api/v1/incidents/{ticket}/handoff", json={"step": "transfer_started"})
    incident = await started.get_json()
    assert incident["status"] == "with_911"
    assert incident["handoff"]["delivery"]

    async def delivered() -> bool:
        return any(r for r in psap.requests[psap.failures :])

    await until(delivered)
    keys = {request.headers["Idempotency-Key"] for request in psap.requests}
    assert keys == {incident["handoff"]["delivery"]}, "every retry carries the same key"
    body = json.loads(psap.requests[-1].content)
    assert body["eido"]["$id"] == f"urn:emergency:uid:incidentid:{ticket}:311.buffalony.gov"
    assert body["eido"]["incidentComponent"]["internalIncidentId"] == ticket
    assert "urn:oasis:names:tc:emergency:cap:1.2" in body["cap"]


async def test_documents_are_valid_against_their_schemas(client: Client, psap: FakePsap) -> None:
    """The CAP alert validates against OASIS's CAP 1.2 XSD; the EIDO against NENA's schema and words."""
    ticket = (await _emergency(client))["ticket"]
    await client.post(f"/api/v1/incidents/{ticket}/handoff", json={"step": "transfer_started"})

    async def delivered() -> bool:
        return len(psap.requests) > psap.failures

    await until(delivered)
    body = json.loads(psap.requests[-1].content)
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "CAP-v1.2.xsd")))
    alert = etree.fromstring(body["cap"].encode())
    assert schema.validate(alert), schema.error_log
    assert_eido(body["eido"])


async def test_911_answers_and_a_rejection_alarms(app: App, client: Client) -> None:
    """911 accepts (a repeat changes nothing), or rejects with a reason: 311 gets it back, with an alarm."""
    psap_client = await as_role(app, Role.PSAP)
    accepted_ticket = (await _emergency(client))["ticket"]
    await client.post(f"/api/v1/incidents/{accepted_ticket}/handoff", json={"step": "transfer_started"})
    for _ in range(2):
        answer = await psap_client.post(
            f"/api/v1/psap/incidents/{accepted_ticket}",
            json={"status": "accepted", "psap_incident_id": "ECC-991"},
        )
        assert answer.status_code == 200
    handoff = (await answer.get_json())["handoff"]
    assert [s["step"] for s in handoff["steps"]].count("accepted") == 1
    assert handoff["psap_incident_id"] == "ECC-991"

    rejected_ticket = (await _emergency(client))["ticket"]
    await client.post(f"/api/v1/incidents/{rejected_ticket}/handoff", json={"step": "transfer_started"})
    rejected = await psap_client.post(
        f"/api/v1/psap/incidents/{rejected_ticket}", json={"status": "rejected", "reason": "not an emergency"}
    )
    incident = await rejected.get_json()
    assert incident["status"] == "open"
    assert incident["handoff"]["held"] is False
    alarms = (await (await client.get("/api/v1/alarms")).get_json())["alarms"]
    assert any(
        a["event"]["kind"] == "handoff_rejected" and a["event"]["ticket"] == rejected_ticket for a in alarms
    )
    agent = await as_role(app, Role.AGENT, name="not-psap")
    assert (
        await agent.post(f"/api/v1/psap/incidents/{rejected_ticket}", json={"status": "closed"})
    ).status_code == 403


async def test_dispatch_is_held_until_a_supervisor_releases(client: Client) -> None:
    """While 911 has it, 311 cannot assign a crew; a supervisor's release (with a reason) allows it."""
    ticket = (await _emergency(client))["ticket"]
    await ensure_crew(client, "forestry-2")
    held = await client.post(
        f"/api/v1/incidents/{ticket}/transitions", json={"to": "assigned", "crew_id": "forestry-2"}
    )
    assert held.status_code == 409
    assert (await held.get_json())["type"].endswith("held-for-911")
    released = await client.post(
        f"/api/v1/incidents/{ticket}/handoff/release", json={"reason": "911 asked us to cut the tree"}
    )
    assert released.status_code == 200
    assigned = await client.post(
        f"/api/v1/incidents/{ticket}/transitions", json={"to": "assigned", "crew_id": "forestry-2"}
    )
    assert assigned.status_code == 200


async def test_unacknowledged_transfer_raises_an_alarm(app: App, client: Client) -> None:
    """A transfer 911 does not acknowledge by its deadline raises one alarm for supervisors."""
    ticket = (await _emergency(client))["ticket"]
    await client.post(f"/api/v1/incidents/{ticket}/handoff", json={"step": "transfer_started"})
    store = app.app.extensions["stormline.store"]
    await store.redis.zadd(
        store.keys.handoff_deadlines, {ticket: int(time.time()) - 1}
    )  # the deadline passes

    async def alarmed() -> bool:
        alarms = (await (await client.get("/api/v1/alarms")).get_json())["alarms"]
        return any(a["event"]["kind"] == "handoff_unacknowledged" for a in alarms)

    await until(alarmed)
    history = await (await client.get(f"/api/v1/incidents/{ticket}/history")).get_json()
    kinds = [e["event"].get("kind") for e in history["events"] if e["event"]["type"] == "alarm.raised"]
    assert kinds.count("handoff_unacknowledged") == 1


async def test_a_life_safety_call_nobody_transfers_alarms_until_a_step(app: App, client: Client) -> None:
    """No handoff step on a life-safety call: an alarm at once, again each period, none once a step is in."""
    ticket = (await _emergency(client))["ticket"]
    store, config = app.app.extensions["stormline.store"], app.app.extensions["stormline.config"]
    repeat = config.handoff.unstarted_repeat_seconds

    async def raised() -> int:
        history = await (await client.get(f"/api/v1/incidents/{ticket}/history")).get_json()
        return sum(e["event"].get("kind") == "transfer_not_started" for e in history["events"])

    async def at_once() -> bool:
        return await raised() == 1

    await until(at_once)  # the watcher's next round, within seconds
    await check_deadlines(store, config, now=int(time.time()) + repeat)
    assert await raised() == 2  # and again a period later
    await client.post(f"/api/v1/incidents/{ticket}/handoff", json={"step": "location_verified"})
    await check_deadlines(store, config, now=int(time.time()) + 3 * repeat)
    assert await raised() == 2
    assert await store.redis.zscore(store.keys.handoff_unstarted, ticket) is None


async def test_step_order_and_kinds_are_checked(client: Client) -> None:
    """Releasing the caller before the transfer is a 409; an agent cannot record 911's answers."""
    ticket = (await _emergency(client))["ticket"]
    early = await client.post(f"/api/v1/incidents/{ticket}/handoff", json={"step": "caller_released"})
    assert early.status_code == 409
    wrong = await client.post(f"/api/v1/incidents/{ticket}/handoff", json={"step": "accepted"})
    assert wrong.status_code == 422
    assert (await wrong.get_json())["errors"][0]["field"] == "step"
