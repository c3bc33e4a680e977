"""A call-down on a map: where each resident on it is and how their call went, and nothing about who."""

from __future__ import annotations

import json

from quart.testing.app import TestApp as App

from incident.auth.roles import Role
from tests.incident.helpers import OUTAGE, built_calldown
from tests.support import as_role


async def test_the_map_shows_states_and_ranks_only_and_is_audited(app: App) -> None:
    """Points carry only state and rank (no name, phone, need or id), the area is drawn, the read audited."""
    calldown, first, names = await built_calldown(app)
    agent = await as_role(app, Role.AGENT, name="mapper")
    held = (await (await agent.post(f"/api/v1/calldowns/{calldown}/next")).get_json())["entry"]["resident"]
    assert held == first[0]
    await agent.post(f"/api/v1/calldowns/{calldown}/residents/{held}/attempts", json={"outcome": "safe"})
    second = (await (await agent.post(f"/api/v1/calldowns/{calldown}/next")).get_json())["entry"]["resident"]
    await agent.post(
        f"/api/v1/calldowns/{calldown}/residents/{second}/attempts", json={"outcome": "no_answer"}
    )
    await agent.post(f"/api/v1/calldowns/{calldown}/next")  # the third, held now
    answer = await agent.get(f"/api/v1/calldowns/{calldown}/map")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    drawn = await answer.get_json()
    assert drawn["type"] == "FeatureCollection"
    area = [f for f in drawn["features"] if f["properties"] == {"kind": "area"}]
    given = json.loads(json.dumps(OUTAGE))
    assert [f["geometry"] for f in area] == [f["geometry"] for f in given["features"]]
    points = [f for f in drawn["features"] if f["geometry"]["type"] == "Point"]
    assert all(set(f["properties"]) == {"state", "rank"} for f in points)
    assert [(f["properties"]["rank"], f["properties"]["state"]) for f in points] == [
        (0, "safe"),
        (1, "calling_again"),
        (2, "held"),
        (3, "waiting"),
    ]
    text = json.dumps(drawn)
    for word in [*names.values(), *names, "716-555", "oxygen", "dialysis", "mobility", "Elmwood"]:
        assert word not in text, word
    supervisor = await as_role(app, Role.SUPERVISOR)
    audit = await (await supervisor.get("/api/v1/audit?limit=1000")).get_json()
    reads = [
        e["event"]
        for e in audit["events"]
        if e["event"]["type"] == "registry.read" and e["event"]["purpose"] == "calldown_map"
    ]
    assert [(r["actor"], r["count"], sorted(r["residents"])) for r in reads] == [("mapper", 4, sorted(first))]


async def test_a_list_nobody_has_is_not_found(app: App) -> None:
    """The map of a list that does not exist is a 404."""
    coordinator = await as_role(app, Role.COORDINATOR)
    assert (await coordinator.get("/api/v1/calldowns/CD9999/map")).status_code == 404
