"""The partner agencies' CAP 1.2 feed: what a supervisor shares, as valid, restricted, coarse alerts."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest
from lxml import etree
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident import documents
from incident.auth.roles import Role
from incident.incidents import select_incident
from tests.incident.helpers import CALL, move, new_ticket
from tests.support import ROOT, as_role

CAP = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM = "http://www.w3.org/2005/Atom"
NS = {"cap": CAP, "atom": ATOM}
SCHEMA = etree.XMLSchema(etree.parse(str(ROOT / "tests" / "schemas" / "CAP-v1.2.xsd")))

# A call full of things partners must never read.
PRIVATE: dict[str, Any] = {
    **CALL,
    "narrative": "Huge maple fell on Zanzibar Quenton's porch, his wife Ophelia is scared",
    "address": "1187 Kensington Ave",
    "caller_name": "Zanzibar Quenton",
    "callback_number": "(716) 555-0199",
    "location": {"lat": 42.93462, "lon": -78.81637},
}


@pytest.fixture
async def agency(app: App) -> Client:
    """A partner agency's token."""
    return await as_role(app, Role.AGENCY, name="red-cross")


async def _share(client: Client, ticket: str, **body: Any) -> Any:
    response = await client.post(f"/api/v1/incidents/{ticket}/partners", json={"shared": True, **body})
    assert response.status_code == 200, await response.get_data(as_text=True)
    return await response.get_json()


async def _feed(client: Client) -> tuple[str, list[etree._Element]]:
    """The feed's text and its alerts, each checked against the OASIS CAP 1.2 schema."""
    response = await client.get("/api/v1/partners/cap")
    assert response.status_code == 200, await response.get_data(as_text=True)
    assert response.content_type.startswith("application/atom+xml")
    text = await response.get_data(as_text=True)
    feed = etree.fromstring(text.encode())
    assert feed.tag == f"{{{ATOM}}}feed"
    alerts = feed.findall("atom:entry/atom:content/cap:alert", NS)
    assert len(alerts) == len(feed.findall("atom:entry", NS)), "every entry carries its alert"
    for alert in alerts:
        assert SCHEMA.validate(etree.fromstring(etree.tostring(alert))), SCHEMA.error_log
    return text, alerts


def _of(alerts: list[etree._Element], ticket: str) -> etree._Element:
    found = [a for a in alerts if a.findtext("cap:incidents", namespaces=NS) == ticket]
    assert len(found) == 1, f"one alert for {ticket} in the feed, found {len(found)}"
    return found[0]


def _text(alert: etree._Element, path: str) -> str:
    return alert.findtext(path, namespaces=NS) or ""


async def test_a_shared_incident_is_a_restricted_alert_valid_against_the_schema(
    client: Client, agency: Client
) -> None:
    """Shared: partners get an Alert (Actual, Restricted, with its restriction) valid against CAP 1.2."""
    ticket = await new_ticket(client, **PRIVATE)
    await new_ticket(client)  # not shared: not in the feed
    await _share(client, ticket)
    _, alerts = await _feed(agency)
    assert len(alerts) == 1
    alert = _of(alerts, ticket)
    assert _text(alert, "cap:status") == "Actual"
    assert _text(alert, "cap:msgType") == "Alert"
    assert _text(alert, "cap:scope") == "Restricted"
    assert "partner agencies" in _text(alert, "cap:restriction")
    assert alert.find("cap:references", NS) is None
    assert _text(alert, "cap:sender") == "311@buffalony.gov"
    description = _text(alert, "cap:info/cap:description")
    assert "Debris" in description
    assert "P3" in description
    assert "1 call " in description
    single = await agency.get(f"/api/v1/partners/cap/{ticket}.xml")
    assert single.status_code == 200
    assert single.content_type.startswith("application/cap+xml")
    alone = etree.fromstring(await single.get_data())
    assert SCHEMA.validate(alone), SCHEMA.error_log
    assert _text(alone, "cap:identifier") == _text(alert, "cap:identifier")


async def test_the_place_is_coarse_and_named_by_neighbourhood(client: Client, agency: Client) -> None:
    """The area is a few hundred metres around a rounded point, named by neighbourhood and district."""
    ticket = await new_ticket(client, **PRIVATE)
    zones = (await _share(client, ticket))["zones"]
    _, alerts = await _feed(agency)
    area = _of(alerts, ticket).find("cap:info/cap:area", NS)
    assert area is not None
    desc = _text(area, "cap:areaDesc")
    assert zones["neighborhood"] in desc
    assert zones["council_district"] in desc
    centre, radius = _text(area, "cap:circle").split(" ")
    lat, lon = (float(part) for part in centre.split(","))
    assert centre == f"{lat:.3f},{lon:.3f}", "three decimals, no more"
    assert 0.2 <= float(radius) <= 1.0
    true = PRIVATE["location"]
    assert (lat, lon) != (true["lat"], true["lon"])
    away_km = math.dist(
        (lat * 111.32, lon * 111.32 * math.cos(math.radians(lat))),
        (true["lat"] * 111.32, true["lon"] * 111.32 * math.cos(math.radians(lat))),
    )
    assert away_km < float(radius), "the circle holds the true point"


async def test_nothing_a_caller_said_or_is_reaches_partners(client: Client, agency: Client) -> None:
    """No narrative, address, name or phone number anywhere in the feed, whatever happens to the incident."""
    ticket = await new_ticket(client, **PRIVATE)
    await _share(client, ticket, headline="Large tree down, street blocked")
    again = {**PRIVATE, "ticket": ticket, "narrative": "Quenton again, the limb is sparking near Ophelia"}
    assert (await client.post("/api/v1/calls", json=again)).status_code in (200, 201)
    await move(client, ticket, "assigned")
    text, alerts = await _feed(agency)
    single = await (await agency.get(f"/api/v1/partners/cap/{ticket}.xml")).get_data(as_text=True)
    for shown in (text, single):
        for secret in (
            "Zanzibar",
            "Quenton",
            "Ophelia",
            "maple",
            "porch",
            "sparking",
            "1187",
            "Kensington Ave",
        ):
            assert secret not in shown, secret
        for number in ("555-0199", "5550199", "555 0199", "716"):
            assert number not in shown, number
        for exact in ("42.9346", "78.8163"):
            assert exact not in shown, "never the exact point"
    assert "2 calls" in _text(_of(alerts, ticket), "cap:info/cap:description")


async def test_a_change_partners_see_is_an_update_referring_to_the_message_before(
    client: Client, agency: Client
) -> None:
    """A change partners would see is an Update whose references name the previous message exactly."""
    ticket = await new_ticket(client)
    await _share(client, ticket)
    _, alerts = await _feed(agency)
    first = _of(alerts, ticket)
    override = {"priority": "P2", "reason": "blocking an ambulance route"}
    assert (await client.post(f"/api/v1/incidents/{ticket}/override", json=override)).status_code == 200
    _, alerts = await _feed(agency)
    update = _of(alerts, ticket)
    assert _text(update, "cap:msgType") == "Update"
    assert _text(update, "cap:identifier") != _text(first, "cap:identifier")
    expected = ",".join(_text(first, f"cap:{part}") for part in ("sender", "identifier", "sent"))
    assert _text(update, "cap:references") == expected
    assert "Priority P2" in _text(update, "cap:info/cap:description")
    await move(client, ticket, "assigned")
    _, alerts = await _feed(agency)
    later = _of(alerts, ticket)
    assert _text(later, "cap:msgType") == "Update"
    assert _text(later, "cap:references").split(",")[1] == _text(update, "cap:identifier")


async def test_unsharing_leaves_a_cancel_in_the_feed(client: Client, agency: Client) -> None:
    """Unshared, the incident stays in the feed as a Cancel referring to the last message; then reshared."""
    ticket = await new_ticket(client)
    await _share(client, ticket)
    _, alerts = await _feed(agency)
    before = _text(_of(alerts, ticket), "cap:identifier")
    stopped = await client.post(f"/api/v1/incidents/{ticket}/partners", json={"shared": False})
    assert stopped.status_code == 200
    assert (await stopped.get_json())["partners"]["shared"] is False
    _, alerts = await _feed(agency)
    cancel = _of(alerts, ticket)
    assert _text(cancel, "cap:msgType") == "Cancel"
    assert _text(cancel, "cap:references").split(",")[1] == before
    assert _text(cancel, "cap:info/cap:responseType") == "AllClear"
    # Changes while unshared tell partners nothing more.
    await move(client, ticket, "assigned")
    _, alerts = await _feed(agency)
    assert _text(_of(alerts, ticket), "cap:identifier") == _text(cancel, "cap:identifier")
    await _share(client, ticket)
    _, alerts = await _feed(agency)
    again = _of(alerts, ticket)
    assert _text(again, "cap:msgType") == "Alert", "shared again: a new chain"
    assert again.find("cap:references", NS) is None


async def test_work_done_or_cancelled_is_a_cancel(client: Client, agency: Client) -> None:
    """Resolving or cancelling a shared incident sends partners a Cancel; done work cannot be shared."""
    resolved, withdrawn = await new_ticket(client), await new_ticket(client)
    for ticket in (resolved, withdrawn):
        await _share(client, ticket)
    await move(client, resolved, "resolved")
    await move(client, withdrawn, "cancelled", reason="duplicate")
    _, alerts = await _feed(agency)
    for ticket in (resolved, withdrawn):
        assert _text(_of(alerts, ticket), "cap:msgType") == "Cancel"
    await move(client, resolved, "closed")
    _, alerts = await _feed(agency)
    assert _text(_of(alerts, resolved), "cap:msgType") == "Cancel", "still one Cancel, not another"
    late = await client.post(f"/api/v1/incidents/{resolved}/partners", json={"shared": True})
    assert late.status_code == 409
    assert (await late.get_json())["type"].endswith("work-over")


async def test_sharing_is_an_event_in_the_history(client: Client) -> None:
    """Sharing and unsharing are events in the incident's history; repeating a decision writes nothing."""
    ticket = await new_ticket(client)
    await _share(client, ticket, headline="Trees down on Bailey")
    await _share(client, ticket, headline="Trees down on Bailey")
    await client.post(f"/api/v1/incidents/{ticket}/partners", json={"shared": False})
    history = await (await client.get(f"/api/v1/incidents/{ticket}/history")).get_json()
    shared = [e["event"] for e in history["events"] if e["event"]["type"] == "incident.partners"]
    assert [(e["shared"], e["headline"], e["actor"]) for e in shared] == [
        (True, "Trees down on Bailey", "test-supervisor"),
        (False, "Trees down on Bailey", "test-supervisor"),
    ]


async def test_bad_sharing_requests_name_the_field(client: Client) -> None:
    """A phone number in the headline, a missing `shared`, an unknown ticket: 4xx problems, never a 500."""
    ticket = await new_ticket(client)
    phone = await client.post(
        f"/api/v1/incidents/{ticket}/partners", json={"shared": True, "headline": "Call 716-555-0142 now"}
    )
    assert phone.status_code == 422
    assert (await phone.get_json())["errors"][0]["field"] == "headline"
    missing = await client.post(f"/api/v1/incidents/{ticket}/partners", json={"headline": "Trees"})
    assert missing.status_code == 422
    assert (await missing.get_json())["errors"][0]["field"] == "shared"
    unknown = await client.post("/api/v1/incidents/2026-999999/partners", json={"shared": True})
    assert unknown.status_code == 404
    named = await client.post(
        f"/api/v1/incidents/{ticket}/partners", json={"shared": True, "headline": f"Ticket {ticket}"}
    )
    assert named.status_code == 200, "a ticket number is no phone number"


async def test_unshared_incidents_do_not_exist_for_partners(client: Client, agency: Client) -> None:
    """An incident never shared is a 404 to partners, and an empty feed is still a valid Atom feed."""
    ticket = await new_ticket(client)
    assert (await agency.get(f"/api/v1/partners/cap/{ticket}.xml")).status_code == 404
    assert (await agency.get("/api/v1/partners/cap/nonsense.xml")).status_code == 404
    _, alerts = await _feed(agency)
    assert alerts == []


async def test_an_unchanged_feed_answers_304(client: Client, agency: Client) -> None:
    """Partners polling with If-None-Match get 304 until a message is added."""
    ticket = await new_ticket(client)
    await _share(client, ticket)
    tag = (await agency.get("/api/v1/partners/cap")).headers["ETag"]
    assert (await agency.get("/api/v1/partners/cap", headers={"If-None-Match": tag})).status_code == 304
    await move(client, ticket, "assigned")
    assert (await agency.get("/api/v1/partners/cap", headers={"If-None-Match": tag})).status_code == 200


async def test_xml_forbidden_characters_never_break_cap(app: App, client: Client, agency: Client) -> None:
    """A headline with a control character is cleaned where it enters; the writer cleans whatever is left."""
    ticket = await new_ticket(client)
    await _share(client, ticket, headline="Trees\u0001 down on Bailey\ufffe")
    _, alerts = await _feed(agency)  # parses, and each alert is valid CAP 1.2
    assert _of(alerts, ticket).findtext("cap:info/cap:headline", namespaces=NS) == "Trees down on Bailey"
    store = app.app.extensions["stormline.store"]
    config = app.app.extensions["stormline.config"]
    incident = await select_incident(store, ticket)
    assert incident is not None
    broken = msgspec.structs.replace(incident, address="12 Main St\u0001 rear\u000b")  # as if it got in
    alert = etree.fromstring(documents.cap(config, broken, sender="311@buffalo").encode())
    assert SCHEMA.validate(alert), SCHEMA.error_log
