"""Recommendations for one incident, and whole plans for many."""

from __future__ import annotations

from typing import Any

from quart.typing import TestClientProtocol as Client

from tests.dispatch.helpers import assign, crew, ticket_at


async def _at(client: Client, crew_id: str, lat: float, lon: float, **fields: Any) -> None:
    await crew(client, crew_id, base={"lat": lat, "lon": lon}, **fields)


async def test_nearest_capable_crew_comes_first_with_the_reason(client: Client) -> None:
    """The nearest forestry crew ranks first; a streets crew (second choice) and a far one follow."""
    await _at(client, "near", 42.931, -78.82)
    await _at(client, "far", 42.99, -78.82)
    await _at(client, "streets", 42.931, -78.82, kind="streets")
    await _at(client, "van", 42.930, -78.82, kind="transport_van")
    ticket = await ticket_at(client, 42.93, -78.82)
    body = await (await client.get(f"/api/v1/incidents/{ticket}/recommendations")).get_json()
    ranked = [c["crew_id"] for c in body["candidates"]]
    assert ranked == ["near", "streets", "far"]
    first = body["candidates"][0]
    assert "first choice" in first["reason"]
    assert "0.1 km away" in first["reason"]
    assert 100 < first["distance_m"] < 130
    assert body["excluded"] == {"wrong kind": 1}


async def test_load_counts_against_a_crew(client: Client) -> None:
    """A nearer crew already carrying work ranks below a slightly farther idle one."""
    await _at(client, "busy", 42.930, -78.82)
    await _at(client, "idle", 42.935, -78.82)
    for i in range(3):
        given = await assign(client, await ticket_at(client, 42.88 + i / 100, -78.85), "busy")
        assert given.status_code == 200
    ticket = await ticket_at(client, 42.93, -78.82)
    body = await (await client.get(f"/api/v1/incidents/{ticket}/recommendations")).get_json()
    assert [c["crew_id"] for c in body["candidates"]] == ["idle", "busy"]
    assert body["candidates"][1]["load"] == 3


async def test_a_needed_capability_excludes_crews_without_it(client: Client) -> None:
    """A tree on a house needs a bucket truck: only the crew with one is recommended."""
    await _at(client, "saw", 42.93, -78.82, capabilities=["chainsaw"])
    await _at(client, "bucket", 42.96, -78.82, capabilities=["chainsaw", "bucket_truck"])
    ticket = await ticket_at(client, 42.93, -78.82, answers={"on_house_or_car": "yes"})
    body = await (await client.get(f"/api/v1/incidents/{ticket}/recommendations")).get_json()
    assert [c["crew_id"] for c in body["candidates"]] == ["bucket"]
    assert body["excluded"] == {"missing capability": 1}


async def test_a_plan_spreads_work_over_crews_each_near_its_own(client: Client) -> None:
    """Ten incidents in two clusters go to the crew based at each cluster, every one planned once."""
    await _at(client, "north", 42.95, -78.82)
    await _at(client, "south", 42.87, -78.82)
    north = [await ticket_at(client, 42.95 + i / 2000, -78.82 + i / 2000) for i in range(5)]
    south = [await ticket_at(client, 42.87 + i / 2000, -78.82 - i / 2000) for i in range(5)]
    plan = await (await client.post("/api/v1/dispatch/plan", json={})).get_json()
    by_crew = {a["crew_id"]: sorted(a["tickets"]) for a in plan["assignments"]}
    assert by_crew == {"north": sorted(north), "south": sorted(south)}
    assert plan["unassigned"] == {}
    apply = {"assignments": [{"ticket": t, "crew_id": c} for c, ts in by_crew.items() for t in ts]}
    results = (await (await client.post("/api/v1/assignments", json=apply)).get_json())["results"]
    assert all(r["ok"] for r in results)


async def test_when_crews_are_full_the_most_urgent_work_is_planned(client: Client) -> None:
    """With room for only some work, the P2 incident is planned and the P3 ones wait, with the reason."""
    await _at(client, "only", 42.93, -78.82)
    for i in range(12):  # max_jobs_per_crew is 12: fill all but one place
        if i < 11:
            given = await assign(client, await ticket_at(client, 42.87 + i / 500, -78.85), "only")
            assert given.status_code == 200
    low = [await ticket_at(client, 42.931 + i / 1000, -78.82) for i in range(2)]
    urgent = await ticket_at(client, 42.96, -78.82, priority="P2")
    plan = await (await client.post("/api/v1/dispatch/plan", json={})).get_json()
    assert [a["tickets"] for a in plan["assignments"]] == [[urgent]]
    assert set(plan["unassigned"]) == set(low)


async def test_a_plan_fills_the_crews_that_can_take_the_work(client: Client) -> None:
    """One forestry crew among vans: all ten debris incidents go to it, none is left as "full"."""
    await _at(client, "saw", 42.93, -78.82)
    await _at(client, "van-1", 42.93, -78.82, kind="transport_van")
    await _at(client, "van-2", 42.93, -78.82, kind="transport_van")
    debris = [await ticket_at(client, 42.93 + i / 2000, -78.82) for i in range(10)]
    ride = await ticket_at(
        client, 42.94, -78.82, category="shelter_transport", narrative="no heat, need a ride"
    )
    plan = await (await client.post("/api/v1/dispatch/plan", json={})).get_json()
    by_crew = {a["crew_id"]: sorted(a["tickets"]) for a in plan["assignments"]}
    assert by_crew["saw"] == sorted(debris)
    assert plan["unassigned"] == {}
    assert [c for c, ts in by_crew.items() if ride in ts] in (["van-1"], ["van-2"])
