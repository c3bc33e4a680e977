"""A request followed step by step: the public timeline a resident sees, and nothing of the staff's."""

from __future__ import annotations

from typing import Any

from quart.testing.app import TestApp as App

from incident.auth.roles import Role
from tests.incident.helpers import ensure_crew
from tests.support import as_role

CALL = {
    "narrative": "a big limb is down across my driveway, Pat Doe here",
    "caller_name": "Pat Doe",
    "callback_number": "716-555-0142",
    "address": "400 Kensington Ave",
    "location": {"lat": 42.9295, "lon": -78.8362},
    "category": "debris",
}
CONSENT = {"given": True, "how": "verbal"}


async def _public(app: App, ticket: str) -> Any:
    response = await app.test_client().get(f"/api/v1/public/tickets/{ticket}")
    assert response.status_code == 200
    return await response.get_json()


async def test_a_crews_work_shows_as_steps_without_the_crew(app: App) -> None:
    """Received, given to a crew, on the way, there, done: each once, in order, with no crew or caller."""
    supervisor = await as_role(app, Role.SUPERVISOR)
    await ensure_crew(supervisor, "forestry-7")
    ticket = (await (await supervisor.post("/api/v1/calls", json=CALL)).get_json())["ticket"]
    again = await supervisor.post("/api/v1/calls", json={"narrative": "still there", "ticket": ticket})
    assert again.status_code == 201
    assigned = await supervisor.post(
        f"/api/v1/incidents/{ticket}/assignment", json={"crew_id": "forestry-7", "force": True}
    )
    assert assigned.status_code == 200, await assigned.get_data(as_text=True)
    crew = await as_role(app, Role.CREW, crew_id="forestry-7")
    for mark in ("en_route", "on_scene", "cleared"):
        marked = await crew.post(f"/api/v1/crews/forestry-7/work/{ticket}/mark", json={"mark": mark})
        assert marked.status_code == 200, await marked.get_data(as_text=True)
    body = await _public(app, ticket)
    assert [step["step"] for step in body["steps"]] == [
        "received", "another_report", "assigned", "on_the_way", "on_scene", "done"
    ]  # fmt: skip
    assert body["steps"][3]["words"] == "A crew is on the way"
    text = str(body)
    for secret in ("forestry-7", "Pat Doe", "555-0142", "Kensington", "limb"):
        assert secret not in text


async def test_a_referral_names_the_agency(app: App) -> None:
    """A referral's steps say which agency has it, and that it came back when the agency declined."""
    supervisor = await as_role(app, Role.SUPERVISOR)
    call = {**CALL, "narrative": "my mother is 88 with no heat", "category": None}
    ticket = (await (await supervisor.post("/api/v1/calls", json=call)).get_json())["ticket"]
    body = {"service_id": "svc-erie-senior-services", "need": "a heat check", "consent": CONSENT}
    referral = await supervisor.post(f"/api/v1/incidents/{ticket}/referrals", json=body)
    assert referral.status_code == 201, await referral.get_data(as_text=True)
    referral_id = (await referral.get_json())["referral"]["id"]
    declined = await supervisor.post(
        f"/api/v1/referrals/{referral_id}/status", json={"status": "declined", "reason": "outside our area"}
    )
    assert declined.status_code == 200
    words = [step["words"] for step in (await _public(app, ticket))["steps"]]
    assert words[1:] == [
        "Referred to Erie County Department of Senior Services",
        "Erie County Department of Senior Services could not take it; back with 311",
    ]
    assert "outside our area" not in str(words)


async def test_the_track_page_lists_the_steps(app: App) -> None:
    """/track shows the steps as an ordered list, readable without script."""
    supervisor = await as_role(app, Role.SUPERVISOR)
    ticket = (await (await supervisor.post("/api/v1/calls", json=CALL)).get_json())["ticket"]
    page = await (await app.test_client().get(f"/track?ticket={ticket}")).get_data(as_text=True)
    assert '<ol class="steps" id="steps"' in page
    assert 'data-step="received"' in page
    assert "Request received" in page
