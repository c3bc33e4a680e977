"""Call-downs end to end: an outage polygon in risk order, two agents at once, no-answer door knocks, 911."""

from __future__ import annotations

import asyncio
import time

import pytest
from quart.testing.app import TestApp as App

from incident import clock
from incident.auth.roles import Role
from tests.incident.helpers import OUTAGE, built_calldown
from tests.support import as_role


async def test_a_call_down_lists_the_outage_area_in_order_of_risk(app: App) -> None:
    """Only residents inside the polygon, ordered: oxygen and alone, oxygen, dialysis, mobility."""
    calldown, first, names = await built_calldown(app)
    assert [names[i] for i in first] == ["Resident 1", "Resident 3", "Resident 2", "Resident 0"]
    supervisor = await as_role(app, Role.SUPERVISOR)
    nowhere = {"name": "No Place", "address": "99999 Nowhere Lane", "consent_date": "2026-09-01"}
    assert (
        await supervisor.post("/api/v1/registry", json={**nowhere, "consent_source": "tests"})
    ).status_code == 201
    counted = await supervisor.post("/api/v1/calldowns", json={"name": "again", "area": OUTAGE})
    assert (await counted.get_json())["unplaced"] == 1  # on no area's list: the coordinator is told
    progress = await (await supervisor.get(f"/api/v1/calldowns/{calldown}")).get_json()
    assert (progress["size"], progress["waiting"], progress["done"]) == (4, 4, 0)
    oxygen_only = await supervisor.post(
        "/api/v1/calldowns", json={"name": "oxygen", "area": OUTAGE, "needs": ["oxygen"]}
    )
    assert [names[i] for i in (await oxygen_only.get_json())["first"]] == ["Resident 1", "Resident 3"]
    point = await supervisor.post(
        "/api/v1/calldowns", json={"name": "bad", "area": {"type": "Point", "coordinates": [-78.8, 42.9]}}
    )
    assert point.status_code == 422
    assert "area" in (await point.get_json())["detail"]


async def test_two_agents_working_at_once_never_take_the_same_resident(app: App) -> None:
    """Eight agents ask for the next resident at the same moment: four get one each, all different."""
    calldown, first, _ = await built_calldown(app)
    agents = [await as_role(app, Role.AGENT, name=f"agent-{i}") for i in range(8)]
    answers = await asyncio.gather(*(a.post(f"/api/v1/calldowns/{calldown}/next") for a in agents))
    taken = [(await r.get_json())["entry"]["resident"] for r in answers if r.status_code == 200]
    assert sorted(taken) == sorted(first)
    assert sorted(r.status_code for r in answers) == [200] * 4 + [204] * 4
    holder = next(i for i, r in enumerate(answers) if r.status_code == 200)
    idle = next(i for i, r in enumerate(answers) if r.status_code == 204)
    again = await agents[holder].post(f"/api/v1/calldowns/{calldown}/next")  # a reload: the same one
    assert (await again.get_json())["entry"]["resident"] == (await answers[holder].get_json())["entry"][
        "resident"
    ]
    assert (await agents[idle].post(f"/api/v1/calldowns/{calldown}/next")).status_code == 204


async def test_unanswered_calls_become_a_door_knock_and_safe_and_help_are_counted(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No answer three times over the mode's hour sends an outreach crew; safe is counted; others wait."""
    calldown, first, _ = await built_calldown(app)
    agent = await as_role(app, Role.AGENT, name="caller-1")
    supervisor = await as_role(app, Role.SUPERVISOR)
    now = time.time()
    monkeypatch.setattr(clock, "epoch", lambda: now)
    top = first[0]
    for attempt in range(3):
        taken = await agent.post(f"/api/v1/calldowns/{calldown}/next")
        assert (await taken.get_json())["entry"]["resident"] == top, attempt
        done = await agent.post(
            f"/api/v1/calldowns/{calldown}/residents/{top}/attempts", json={"outcome": "no_answer"}
        )
        assert done.status_code == 201, await done.get_data(as_text=True)
        entry = await done.get_json()
        if attempt < 2:
            assert entry["state"] == "later"
            # Not before the spacing (normal mode: 60 minutes over three calls) has passed.
            soon = await (await agent.post(f"/api/v1/calldowns/{calldown}/next")).get_json()
            assert soon["entry"]["resident"] != top
            await agent.post(
                f"/api/v1/calldowns/{calldown}/residents/{soon['entry']['resident']}/attempts",
                json={"outcome": "safe"},
            )
            now += 31 * 60
    assert (entry["state"], entry["outcome"]) == ("done", "unreached")
    knock = await (await supervisor.get(f"/api/v1/incidents/{entry['ticket']}")).get_json()
    assert (knock["incident"]["category"], knock["incident"]["priority"]) == ("welfare_check", "P1")
    assert "Door knock" in knock["calls"][0]["narrative"]
    safe = await agent.post(f"/api/v1/calldowns/{calldown}/next")
    second = (await safe.get_json())["entry"]["resident"]
    await agent.post(f"/api/v1/calldowns/{calldown}/residents/{second}/attempts", json={"outcome": "safe"})
    progress = await (await supervisor.get(f"/api/v1/calldowns/{calldown}")).get_json()
    assert (progress["done"], progress["safe"], progress["unreached"], progress["waiting"]) == (4, 3, 1, 0)


async def test_a_life_safety_answer_goes_to_911_through_the_handoff(app: App) -> None:
    """A resident who says they cannot breathe: the attempt opens an emergency with a 911 handoff."""
    calldown, _, _ = await built_calldown(app)
    agent = await as_role(app, Role.AGENT, name="caller-2")
    taken = await (await agent.post(f"/api/v1/calldowns/{calldown}/next")).get_json()
    resident = taken["entry"]["resident"]
    assert taken["resident"]["needs"]  # the agent sees what the call needs
    helped = await agent.post(
        f"/api/v1/calldowns/{calldown}/residents/{resident}/attempts",
        json={"outcome": "help", "narrative": "oxygen machine stopped, she can't breathe"},
    )
    entry = await helped.get_json()
    assert (entry["outcome"], entry["state"]) == ("help", "done")
    supervisor = await as_role(app, Role.SUPERVISOR)
    incident = (await (await supervisor.get(f"/api/v1/incidents/{entry['ticket']}")).get_json())["incident"]
    assert (incident["life_safety"], incident["category"]) == (True, "emergency")
    assert incident["handoff"] is not None
    # Recording for a resident another agent holds is refused, naming why.
    other = await as_role(app, Role.AGENT, name="caller-3")
    held = (await (await agent.post(f"/api/v1/calldowns/{calldown}/next")).get_json())["entry"]["resident"]
    refused = await other.post(
        f"/api/v1/calldowns/{calldown}/residents/{held}/attempts", json={"outcome": "safe"}
    )
    assert refused.status_code == 409
    assert (await refused.get_json())["type"] == "urn:stormline:problem:not-held"
