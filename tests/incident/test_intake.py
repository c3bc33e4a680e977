"""Call intake through the real app: new incidents, attached calls, and what is stored."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from typing import Any

import msgspec
from quart.typing import TestClientProtocol as Client

from incident.config import SurgeConfig
from incident.incidents import select_incident
from incident.intake import CallIn, take_call
from incident.store import connect
from incident.write_steps import open_store
from tests.incident.helpers import CALL, new_ticket, post_call


async def test_new_call_opens_incident_with_ticket(client: Client) -> None:
    """A call opens an incident whose human ticket is YEAR-NNNNNN and which holds the call."""
    response = await post_call(client)
    assert response.status_code == 201
    body = await response.get_json()
    year = datetime.now(UTC).year
    assert re.fullmatch(rf"{year}-\d{{6}}", body["ticket"])
    assert response.headers["Location"] == f"/api/v1/incidents/{body['ticket']}"
    assert body["new_incident"] is True
    incident = body["incident"]
    assert incident["status"] == "open"
    assert incident["category"] == "debris"
    assert incident["priority"] == "P3"  # debris' default in the shipped config
    assert incident["calls"] == [body["call_id"]]
    assert incident["needs_location"] is False


async def test_tickets_are_sequential(client: Client) -> None:
    """Consecutive calls get consecutive ticket numbers."""
    first, second = await new_ticket(client), await new_ticket(client)
    assert int(second.split("-")[1]) == int(first.split("-")[1]) + 1


async def test_stored_call_keeps_what_the_caller_gave(client: Client) -> None:
    """GET returns the call with its narrative, address as given, and a normalised callback number."""
    ticket = await new_ticket(client)
    detail = await (await client.get(f"/api/v1/incidents/{ticket}")).get_json()
    (call,) = detail["calls"]
    assert call["narrative"] == CALL["narrative"]
    assert call["address"] == "Bailey & Kensington"
    assert call["callback_number"] == "(716) 555-0142"
    assert call["callback_e164"] == "+17165550142"
    assert call["channel"] == "phone"
    assert call["language"] == "en"


async def test_defaults_and_unlocated_call(client: Client) -> None:
    """A call no triage rule recognises gets the default category and priority, and needs a location."""
    response = await post_call(client, {"narrative": "Caller wants to say the crews are doing great work"})
    incident = (await response.get_json())["incident"]
    assert incident["category"] == "general"
    assert incident["priority"] == "P4"
    assert incident["location"] is None
    assert incident["needs_location"] is True


async def test_unreadable_callback_number_is_kept_not_refused(client: Client) -> None:
    """A callback number that cannot be read is stored as given, without an E.164 form."""
    response = await post_call(client, {**CALL, "callback_number": "ask for Mrs. K at the corner store"})
    ticket = (await response.get_json())["ticket"]
    (call,) = (await (await client.get(f"/api/v1/incidents/{ticket}")).get_json())["calls"]
    assert call["callback_number"] == "ask for Mrs. K at the corner store"
    assert call["callback_e164"] is None


async def test_attach_call_to_existing_ticket(client: Client) -> None:
    """A call naming a ticket is added to that incident; no new incident is opened."""
    ticket = await new_ticket(client)
    response = await post_call(client, {"narrative": "Same limb, now a car cannot pass", "ticket": ticket})
    assert response.status_code == 201
    body = await response.get_json()
    assert body["new_incident"] is False
    assert body["ticket"] == ticket
    assert len(body["incident"]["calls"]) == 2
    assert body["incident"]["version"] == 2
    listing = await (await client.get("/api/v1/incidents")).get_json()
    assert [item["ticket"] for item in listing["items"]] == [ticket]


async def test_attach_to_unknown_ticket_is_404(client: Client) -> None:
    """Attaching to a ticket that does not exist is a 404 naming it, and stores nothing."""
    response = await post_call(client, {**CALL, "ticket": "2026-999999"})
    assert response.status_code == 404
    assert "2026-999999" in (await response.get_json())["detail"]
    assert (await (await client.get("/api/v1/incidents")).get_json())["items"] == []


async def test_attach_to_closed_incident_is_409(client: Client) -> None:
    """A closed incident takes no more calls: 409 telling the agent to open a new one."""
    ticket = await new_ticket(client)
    for status in ("resolved", "closed"):
        assert (
            await client.post(f"/api/v1/incidents/{ticket}/transitions", json={"to": status})
        ).status_code == 200
    response = await post_call(client, {**CALL, "ticket": ticket})
    assert response.status_code == 409
    assert (await response.get_json())["incident_status"] == "closed"


async def test_backdated_call_keeps_received_time(client: Client) -> None:
    """A call logged after the fact keeps the time it was received, apart from when it was logged."""
    response = await post_call(
        client, {**CALL, "received_at": "2026-10-13T02:15:00-04:00", "channel": "field"}
    )
    ticket = (await response.get_json())["ticket"]
    (call,) = (await (await client.get(f"/api/v1/incidents/{ticket}")).get_json())["calls"]
    assert call["received_at"] == "2026-10-13T06:15:00Z"
    assert call["logged_at"] > call["received_at"]
    assert call["channel"] == "field"


async def test_write_whose_reply_was_lost_is_still_a_success(flushed: str, config: SurgeConfig) -> None:
    """If the intake write runs twice (a retry after a lost reply), the call is reported stored, once."""
    redis = connect(flushed)
    store = open_store(redis, config.jurisdiction.id)
    real_apply = store.scripts.apply
    calls = 0

    async def apply_twice(**kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        await real_apply(**kwargs)  # applied, but pretend the reply never came back
        return await real_apply(**kwargs)

    twice = dataclasses.replace(store, scripts=dataclasses.replace(store.scripts, apply=apply_twice))  # type: ignore[arg-type]
    call = CallIn(narrative="tree on wires", category="debris")
    answer = await take_call(twice, config, call, idempotency_key=None, actor=None)
    ticket = msgspec.json.decode(answer.body)["ticket"]
    attached = await take_call(
        twice, config, CallIn(narrative="again", ticket=ticket), idempotency_key=None, actor=None
    )
    assert answer.status == attached.status == 201
    incident = await select_incident(store, ticket)
    assert incident is not None
    assert len(incident.calls) == 2
    assert calls == 2
    await redis.aclose()
