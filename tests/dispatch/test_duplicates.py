"""Duplicate calls at intake: nearby open incidents of the same kind, repeat callers, raising priority."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from quart.typing import TestClientProtocol as Client

from geo.point import Point
from incident.config import SurgeConfig
from incident.duplicates import find
from incident.store import Store
from tests.dispatch.helpers import call_at, ticket_at
from tests.incident.helpers import move


async def test_a_second_call_nearby_lists_the_first_with_its_distance(client: Client) -> None:
    """A debris call 60 m from an open debris incident is shown it, nearest first, with the distance."""
    near = await ticket_at(client, 42.9300, -78.8200)
    nearer = await ticket_at(client, 42.93035, -78.8200)
    receipt = await call_at(client, 42.9304, -78.8200)
    nearby = receipt["duplicates"]["nearby"]
    assert [n["ticket"] for n in nearby] == [nearer, near]
    assert 3 < nearby[0]["distance_m"] < 10
    assert 40 < nearby[1]["distance_m"] < 50


async def test_other_kinds_far_ones_and_finished_ones_are_not_duplicates(client: Client) -> None:
    """Another category, an incident beyond the radius, and a cancelled one are not offered."""
    await ticket_at(client, 42.9300, -78.8200, category="utility", narrative="power out on the block")
    await ticket_at(client, 42.9320, -78.8200)  # 220 m north: beyond debris's 120 m
    cancelled = await ticket_at(client, 42.9301, -78.8200)
    assert (await move(client, cancelled, "cancelled")).status_code == 200
    receipt = await call_at(client, 42.9300, -78.8200)
    assert receipt["duplicates"]["nearby"] == []


async def test_a_repeat_caller_is_recognised_by_number_in_any_format(client: Client) -> None:
    """The same callback number, written differently, finds the caller's open incidents anywhere."""
    first = await ticket_at(client, 42.90, -78.85, callback_number="(716) 555-0199")
    receipt = await call_at(client, 42.95, -78.80, callback_number="716.555.0199")
    assert [n["ticket"] for n in receipt["duplicates"]["same_caller"]] == [first]
    assert receipt["duplicates"]["same_caller"][0]["distance_m"] is None


async def test_attached_callers_raise_the_priority_as_configured(client: Client) -> None:
    """Debris is P3; with five callers attached (raise_at {5: P2}) it becomes P2 and is re-dated."""
    opened = (await call_at(client, 42.9300, -78.8200))["incident"]
    ticket = opened["ticket"]
    for callers in range(2, 6):
        receipt = await call_at(client, 42.9300, -78.8200, ticket=ticket)
        assert len(receipt["incident"]["calls"]) == callers
        assert receipt["incident"]["priority"] == ("P2" if callers >= 5 else "P3"), callers
    stored = (await (await client.get(f"/api/v1/incidents/{ticket}")).get_json())["incident"]
    assert stored["priority"] == "P2"
    assert stored["due_at"] < opened["due_at"]  # due by P2's deadline from when it was opened


async def test_duplicates_endpoint_looks_up_an_address_while_the_call_is_taken(client: Client) -> None:
    """POST /duplicates with a typed corner finds an open incident there before anything is filed."""
    ticket = await ticket_at(client, 42.926058, -78.876906)  # Elmwood & Bird
    found = await client.post(
        "/api/v1/duplicates", json={"category": "debris", "address": "Elmwood and Bird"}
    )
    assert found.status_code == 200
    assert [n["ticket"] for n in (await found.get_json())["nearby"]] == [ticket]
    bad = await client.post("/api/v1/duplicates", json={"category": "trees"})
    assert bad.status_code == 422
    assert "category" in (await bad.get_data(as_text=True))


async def test_one_person_calling_again_and_again_is_one_caller(client: Client) -> None:
    """Five calls from one number (written differently) are one caller: debris stays P3."""
    ticket = await ticket_at(client, 42.93, -78.82, callback_number="716-555-0100")
    for number in ("(716) 555-0100", "7165550100", "+1 716 555 0100", "716.555.0100"):
        receipt = await call_at(client, 42.93, -78.82, ticket=ticket, callback_number=number)
    assert len(receipt["incident"]["calls"]) == 5
    assert receipt["incident"]["priority"] == "P3"


async def test_incidents_older_than_the_window_are_not_duplicates(
    store: Store, config: SurgeConfig, client: Client
) -> None:
    """Past the category's window_hours an open incident nearby is no longer offered."""
    ticket = await ticket_at(client, 42.93, -78.82)
    window = config.category("debris").duplicates.window_hours  # type: ignore[union-attr]
    point = Point(42.93, -78.82)
    soon = await find(
        store, config, category="debris", point=point, callback_e164=None, now=datetime.now(UTC)
    )
    later = datetime.now(UTC) + timedelta(hours=window + 1)
    past = await find(store, config, category="debris", point=point, callback_e164=None, now=later)
    assert [n.ticket for n in soon.nearby] == [ticket]
    assert past.nearby == []
