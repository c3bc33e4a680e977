"""The supervisor's work list: priority then age, paged, with work waiting on others kept apart."""

from __future__ import annotations

from typing import Any

from quart.typing import TestClientProtocol as Client


async def _call(client: Client, **body: Any) -> str:
    base = {"narrative": "tree down", "category": "debris", "location": {"lat": 42.93, "lon": -78.83}}
    made = await client.post("/api/v1/calls", json={**base, **body})
    assert made.status_code == 201, await made.get_data(as_text=True)
    return str((await made.get_json())["ticket"])


async def _list(client: Client, **query: Any) -> dict[str, Any]:
    answer = await client.get("/api/v1/worklist", query_string=query)
    assert answer.status_code == 200, await answer.get_data(as_text=True)
    return dict(await answer.get_json())


async def test_waiting_work_comes_by_priority_then_oldest_and_is_paged(client: Client) -> None:
    """P1 before P3 whatever their age; within a priority the oldest first; pages of per_page."""
    old_p3 = await _call(client, priority="P3")
    p1 = await _call(client, priority="P1")
    new_p3 = await _call(client, priority="P3")
    first = await _list(client, per_page=2)
    assert [i["ticket"] for i in first["items"]] == [p1, old_p3]
    assert (first["page"], first["pages"], first["total"]) == (1, 2, 3)
    second = await _list(client, per_page=2, page=2)
    assert [i["ticket"] for i in second["items"]] == [new_p3]
    beyond = await _list(client, per_page=2, page=9)
    assert beyond["page"] == 2  # past the end: the last page


async def test_work_waiting_on_others_is_counted_apart(client: Client) -> None:
    """Unplaced, outside-city, referred and 911-held work each have their own list, not the waiting one."""
    waiting = await _call(client)
    unplaced = await _call(client, location=None, address="behind the old grain elevator by the creek")
    outside = await _call(client, location={"lat": 42.9073, "lon": -78.7542})  # Cheektowaga
    held = await _call(client, narrative="wire down and sparking, a man is not breathing", category=None)
    referred = await _call(client, narrative="no heat", category="shelter_transport")
    referral = {"service_id": "svc-211", "need": "heat help", "consent": {"given": True}}
    assert (await client.post(f"/api/v1/incidents/{referred}/referrals", json=referral)).status_code == 201
    listed = await _list(client)
    assert listed["counts"] == {"waiting": 1, "unplaced": 1, "outside": 1, "referred": 1, "held": 1}
    for view, ticket in (
        ("waiting", waiting),
        ("unplaced", unplaced),
        ("outside", outside),
        ("referred", referred),
        ("held", held),
    ):
        assert [i["ticket"] for i in (await _list(client, view=view))["items"]] == [ticket], view


async def test_filters_by_category_and_district(client: Client) -> None:
    """Category and council district narrow every view; the districts among the work are offered."""
    north = await _call(client, location={"lat": 42.9489, "lon": -78.8516})
    south = await _call(client, location={"lat": 42.8486, "lon": -78.8122})
    north_point = {"lat": 42.9489, "lon": -78.8516}
    await _call(client, narrative="no heat", category="shelter_transport", location=north_point)
    everything = await _list(client)
    assert len(everything["districts"]) >= 2
    debris = await _list(client, category="debris")
    assert {i["ticket"] for i in debris["items"]} == {north, south}
    district = next(i["zones"]["council_district"] for i in debris["items"] if i["ticket"] == south)
    narrowed = await _list(client, category="debris", district=district)
    assert [i["ticket"] for i in narrowed["items"]] == [south]
    assert narrowed["counts"]["waiting"] == 1
