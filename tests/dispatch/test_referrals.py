"""Referrals to agencies: consent, delivery by webhook and email (real receivers), the agency's link."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import msgspec
import pytest
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from dispatch import referrals
from incident.app import create_app
from incident.auth.roles import Role
from incident.config import SurgeConfig
from incident.settings import Settings
from incident.store import Store
from tests.dispatch.receivers import Mailbox, Webhook
from tests.incident.auth.helpers import csrf_in
from tests.support import as_role

CALL = {
    "narrative": "my mother is 88, no heat and she needs her medicine delivered",
    "caller_name": "Pat Doe",
    "callback_number": "716-555-0142",
    "address": "400 Kensington Ave",
    "location": {"lat": 42.9295, "lon": -78.8362},
}
CONSENT = {"given": True, "how": "verbal"}


async def _ticket(client: Client) -> str:
    return str((await (await client.post("/api/v1/calls", json=CALL)).get_json())["ticket"])


async def _refer(
    client: Client, ticket: str, service: str = "svc-erie-senior-services", **fields: Any
) -> Any:
    body = {"service_id": service, "need": "medicine delivery and a heat check", "consent": CONSENT, **fields}
    return await client.post(f"/api/v1/incidents/{ticket}/referrals", json=body)


async def _wait_for(condition: Any, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.1)


async def _wait_for_async(condition: Any, seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := await condition()):
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.1)
    return found


async def test_a_phone_referral_is_kept_with_its_consent_and_waits_for_a_call(client: Client) -> None:
    """Referred by phone: the consent is recorded, the incident is referred, and the coordinator must call."""
    ticket = await _ticket(client)
    made = await _refer(client, ticket, share_contact=True)
    assert made.status_code == 201, await made.get_data(as_text=True)
    referral = (await made.get_json())["referral"]
    assert referral["consent"]["given"] is True
    assert referral["consent"]["recorded_by"] == "test-supervisor"
    assert referral["caller_name"] == "Pat Doe"
    assert referral["callback_number"] == "+17165550142"
    view = await (await client.get(f"/api/v1/referrals/{referral['id']}")).get_json()
    assert view["delivery"]["state"] == "call the agency"
    incident = await (await client.get(f"/api/v1/incidents/{ticket}")).get_json()
    assert incident["incident"]["status"] == "referred"


async def test_without_consent_no_personal_details_go(client: Client) -> None:
    """Asking to share contact or address without consent is a 422; without sharing, nothing personal goes."""
    ticket = await _ticket(client)
    refused = await _refer(client, ticket, consent={"given": False}, share_contact=True)
    assert refused.status_code == 422
    assert "share_contact" in await refused.get_data(as_text=True)
    bare = await _refer(client, ticket, consent={"given": False}, share_address=False)
    referral = (await bare.get_json())["referral"]
    assert (referral["caller_name"], referral["callback_number"], referral["address"]) == (None, None, None)


async def test_answers_move_the_referral_and_its_incident(client: Client) -> None:
    """Declining needs a reason and reopens the incident; completing another resolves it."""
    ticket = await _ticket(client)
    first = (await (await _refer(client, ticket)).get_json())["referral"]["id"]
    bare = await client.post(f"/api/v1/referrals/{first}/status", json={"status": "declined"})
    assert bare.status_code == 422
    declined = await client.post(
        f"/api/v1/referrals/{first}/status", json={"status": "declined", "reason": "outside our area"}
    )
    assert (await declined.get_json())["status"] == "declined"
    assert (await (await client.get(f"/api/v1/incidents/{ticket}")).get_json())["incident"][
        "status"
    ] == "open"
    again = await client.post(f"/api/v1/referrals/{first}/status", json={"status": "accepted"})
    assert again.status_code == 409
    second = (await (await _refer(client, ticket, service="svc-211")).get_json())["referral"]["id"]
    for status in ("accepted", "completed"):
        await client.post(f"/api/v1/referrals/{second}/status", json={"status": status})
    assert (await (await client.get(f"/api/v1/incidents/{ticket}")).get_json())["incident"][
        "status"
    ] == "resolved"
    history = (await (await client.get(f"/api/v1/incidents/{ticket}/history")).get_json())["events"]
    answers = [e["event"]["status"] for e in history if e["event"]["type"] == "referral.changed"]
    assert answers == ["sent", "declined", "sent", "accepted", "completed"]


async def test_unanswered_referrals_are_listed_for_follow_up(
    store: Store, config: SurgeConfig, client: Client
) -> None:
    """Unanswered past referrals.follow_up_hours, a referral is listed to chase; an answered one is not."""
    ticket = await _ticket(client)
    waiting = (await (await _refer(client, ticket)).get_json())["referral"]["id"]
    answered = (await (await _refer(client, ticket, service="svc-211")).get_json())["referral"]["id"]
    await client.post(f"/api/v1/referrals/{answered}/status", json={"status": "accepted"})
    assert (await (await client.get("/api/v1/referrals?follow_up=true")).get_json())["items"] == []
    later = datetime.now(UTC) + timedelta(hours=config.referrals.follow_up_hours, minutes=1)
    due = await referrals.listing(store, config, follow_up=True, now=later)
    assert [v.referral.id for v in due] == [waiting]
    assert due[0].follow_up is True


async def test_a_webhook_referral_is_retried_until_taken_and_answered_by_link(
    app: App, client: Client
) -> None:
    """The agency's webhook fails once and then takes it; through the link it accepts and completes."""
    with Webhook(fail_first=1).running() as agency:
        await client.patch(
            "/api/v1/agencies/svc-erie-senior-services", json={"method": "webhook", "webhook_url": agency.url}
        )
        ticket = await _ticket(client)
        made = await (await _refer(client, ticket, share_contact=True)).get_json()
        await _wait_for(lambda: agency.deliveries, seconds=20)
    headers, body = agency.deliveries[0]
    assert body["referral"]["id"] == made["referral"]["id"]
    assert body["referral"]["caller_name"] == "Pat Doe"
    # Signed where the delivery is written: its time stamp may be a second off the API's answer's.
    assert body["link"].startswith("http://localhost/referral/")
    named, _ = _link_names(app, body["link"])
    assert named == made["referral"]["id"]
    assert headers["Idempotency-Key"].startswith("d-")
    view = await (await client.get(f"/api/v1/referrals/{made['referral']['id']}")).get_json()
    assert view["delivery"]["state"] == "delivered"
    assert view["delivery"]["attempts"] == 2
    token = made["link"].rsplit("/", 1)[1]
    link = await (await client.get(f"/api/v1/referral-links/{token}")).get_json()
    assert link["need"] == "medicine delivery and a heat check"
    assert link["may_become"] == ["accepted", "declined"]
    for status in ("accepted", "completed"):
        answered = await client.post(f"/api/v1/referral-links/{token}", json={"status": status})
        assert answered.status_code == 200
    assert (await (await client.get(f"/api/v1/incidents/{ticket}")).get_json())["incident"][
        "status"
    ] == "resolved"


async def test_a_failed_delivery_tells_nothing_of_the_network(client: Client) -> None:
    """A webhook on a closed port fails with a general error: no exception, no 'connection refused'."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once the probe is closed
    saved = await client.patch(
        "/api/v1/agencies/svc-erie-senior-services",
        json={"method": "webhook", "webhook_url": f"http://127.0.0.1:{port}/hook"},
    )
    assert saved.status_code == 200
    ticket = await _ticket(client)
    made = await (await _refer(client, ticket)).get_json()

    async def failed() -> dict[str, Any]:
        view = await (await client.get(f"/api/v1/referrals/{made['referral']['id']}")).get_json()
        return view["delivery"] if view["delivery"].get("error") else {}

    delivery = await _wait_for_async(failed, seconds=20)
    assert delivery["error"] == "not delivered: the receiver could not be reached"


@pytest.fixture
async def mailed_app(settings: Settings, config: SurgeConfig) -> AsyncIterator[tuple[App, Mailbox]]:
    with Mailbox().running() as mailbox:
        smtp = msgspec.structs.replace(settings, smtp_url=mailbox.url, smtp_from="311@buffalony.gov")
        async with create_app(smtp, config).test_app() as app:
            yield app, mailbox  # type: ignore[misc]


async def test_an_email_referral_is_sent_through_smtp(mailed_app: tuple[App, Mailbox]) -> None:
    """An email service gets a message with the need, the link, and the referral as JSON."""
    app, mailbox = mailed_app
    client = await as_role(app, Role.COORDINATOR)
    supervisor = await as_role(app, Role.SUPERVISOR)
    await supervisor.patch(
        "/api/v1/agencies/svc-211", json={"method": "email", "email_to": "intake@211wny.example"}
    )
    ticket = str((await (await supervisor.post("/api/v1/calls", json=CALL)).get_json())["ticket"])
    made = await (await _refer(client, ticket, service="svc-211")).get_json()
    await _wait_for(lambda: mailbox.messages)
    message = mailbox.messages[0]
    assert message["To"] == "intake@211wny.example"
    assert message["From"] == "311@buffalony.gov"
    text = message.get_payload()[0].get_payload(decode=True).decode()  # type: ignore[index,union-attr]
    assert "medicine delivery and a heat check" in text
    # The link is signed when the message is written, so its time stamp may be a second past the API's.
    mailed = re.search(r"http://localhost/referral/\S+", text)
    assert mailed is not None
    named, _ = _link_names(app, mailed.group(0))
    assert named == made["referral"]["id"]


async def test_bad_or_expired_links_open_nothing(
    app: App, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forged token is 404; a token older than referrals.link_days is 410, and the page says so."""
    ticket = await _ticket(client)
    made = await (await _refer(client, ticket)).get_json()
    anonymous = app.test_client()
    assert (await anonymous.get("/api/v1/referral-links/forged.token")).status_code == 404
    secret = app.app.secret_key
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 8 * 86400)  # signed eight days ago
    old = referrals.link_token(str(secret), made["referral"]["id"])
    monkeypatch.setattr(time, "time", real)
    assert (await anonymous.get(f"/api/v1/referral-links/{old}")).status_code == 410
    page = await anonymous.get(f"/referral/{old}")
    assert page.status_code == 410
    assert "expired" in await page.get_data(as_text=True)


async def test_the_agency_answers_on_its_page(app: App, client: Client) -> None:
    """The link's page shows the referral and its buttons; declining there (with a note) is recorded."""
    ticket = await _ticket(client)
    made = await (await _refer(client, ticket, share_contact=True)).get_json()
    agency = app.test_client()
    page = await (await agency.get(f"/referral/{made['link'].rsplit('/', 1)[1]}")).get_data(as_text=True)
    assert "medicine delivery and a heat check" in page
    assert "Pat Doe" in page
    form = {"csrf_token": csrf_in(page), "status": "declined", "reason": "no drivers tonight"}
    answered = await agency.post(f"/referral/{made['link'].rsplit('/', 1)[1]}", form=form)
    assert "now declined" in await answered.get_data(as_text=True)
    view = await (await client.get(f"/api/v1/referrals/{made['referral']['id']}")).get_json()
    assert view["referral"]["status"] == "declined"
    assert view["referral"]["reason"] == "no drivers tonight"


async def test_the_agencies_triage_named_come_first(client: Client) -> None:
    """A wire down (triage refers to National Grid) lists National Grid's service first."""
    body = {"narrative": "power line down across the street", "location": {"lat": 42.93, "lon": -78.83}}
    ticket = (await (await client.post("/api/v1/calls", json=body)).get_json())["ticket"]
    items = (await (await client.get(f"/api/v1/incidents/{ticket}/agencies")).get_json())["items"]
    assert items[0]["id"] == "svc-national-grid-outage"
    assert len(items) == 8


async def test_only_the_consenting_callers_details_go(client: Client) -> None:
    """A neighbour reported first; the resident calls later and consents: the resident's details go."""
    neighbour = {**CALL, "caller_name": "Bob Neighbour", "callback_number": "716-555-0111"}
    ticket = (await (await client.post("/api/v1/calls", json=neighbour)).get_json())["ticket"]
    resident = await (await client.post("/api/v1/calls", json={**CALL, "ticket": ticket})).get_json()
    made = await (await _refer(client, ticket, share_contact=True)).get_json()
    assert made["referral"]["caller_name"] == "Pat Doe"
    assert made["referral"]["consent"]["call_id"] == resident["call_id"]
    wrong = await _refer(client, ticket, share_contact=True, call_id="C999999")
    assert wrong.status_code == 422


async def test_the_link_shows_no_details_without_consent_or_once_declined(app: App, client: Client) -> None:
    """Without consent the link shows no one's details; a declined referral's link shows them no more."""
    ticket = await _ticket(client)
    bare = await (await _refer(client, ticket, consent={"given": False}, share_address=False)).get_json()
    anonymous = app.test_client()
    token = bare["link"].rsplit("/", 1)[1]
    text = await (await anonymous.get(f"/api/v1/referral-links/{token}")).get_data(as_text=True)
    page = await (await anonymous.get(f"/referral/{token}")).get_data(as_text=True)
    for secret in ("Pat Doe", "555-0142", "5550142", "Kensington"):
        assert secret not in text
        assert secret not in page
    shared = await (await _refer(client, ticket, service="svc-211", share_contact=True)).get_json()
    token = shared["link"].rsplit("/", 1)[1]
    await anonymous.post(f"/api/v1/referral-links/{token}", json={"status": "declined", "reason": "full"})
    after = await anonymous.get(f"/api/v1/referral-links/{token}")
    assert "Pat Doe" not in await after.get_data(as_text=True)
    assert after.headers["Referrer-Policy"] == "no-referrer"


async def test_a_long_note_on_the_page_is_refused_in_words(app: App, client: Client) -> None:
    """A note longer than allowed is not recorded, and the page says why instead of failing."""
    ticket = await _ticket(client)
    made = await (await _refer(client, ticket)).get_json()
    token = made["link"].rsplit("/", 1)[1]
    agency = app.test_client()
    page = await (await agency.get(f"/referral/{token}")).get_data(as_text=True)
    form = {"csrf_token": csrf_in(page), "status": "declined", "reason": "x" * 1500}
    answered = await agency.post(f"/referral/{token}", form=form)
    assert answered.status_code == 200
    assert "Not recorded" in await answered.get_data(as_text=True)


def _link_names(app: App, link: str) -> tuple[str, datetime]:
    """The referral a link names (and when it expires), read as the link's page reads it."""
    config = app.app.extensions["stormline.config"]
    return referrals.read_token(str(app.app.secret_key), config, link.rsplit("/", 1)[1])


async def test_referral_links_come_from_the_configured_address_only(
    settings: Settings, config: SurgeConfig
) -> None:
    """Without STORMLINE_PUBLIC_URL a webhook referral is refused (409) and the board says why; a forged
    Host never makes the link."""
    unset = msgspec.structs.replace(settings, public_url="")
    async with create_app(unset, config).test_app() as test_app:
        app = cast(App, test_app)
        client = await as_role(app, Role.SUPERVISOR)
        await client.patch(
            "/api/v1/agencies/svc-erie-senior-services",
            json={"method": "webhook", "webhook_url": "https://intake.example.org/referrals"},
        )
        ticket = await _ticket(client)
        refused = await _refer(client, ticket)
        assert refused.status_code == 409
        assert "STORMLINE_PUBLIC_URL" in (await refused.get_json())["detail"]
        by_phone = await _refer(client, ticket, service="svc-211")
        assert by_phone.status_code == 201
        assert (await by_phone.get_json())["link"] is None
        board = await (await client.get("/coordinator")).get_data(as_text=True)
        assert 'id="no-public-url"' in board
    async with create_app(settings, config).test_app() as test_app:
        client = await as_role(cast(App, test_app), Role.SUPERVISOR, name="configured")
        ticket = await _ticket(client)
        made = await client.post(
            f"/api/v1/incidents/{ticket}/referrals",
            json={"service_id": "svc-211", "need": "a heat check", "consent": CONSENT},
            headers={"Host": "evil.example"},
        )
        assert (await made.get_json())["link"].startswith("http://localhost/referral/")
