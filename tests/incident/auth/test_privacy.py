"""Personal data: only the roles whose work needs it see callers' names and numbers; the public never."""

from __future__ import annotations

from quart.testing.app import TestApp as App

from incident.auth.policy import ACCESS
from incident.auth.roles import Role
from tests.incident.helpers import CALL, ensure_crew
from tests.support import as_role

SECRET_CALL = {
    **CALL,
    "caller_name": "Zebulon Quartermaine",
    "callback_number": "716-555-0199",
    "narrative": "Zebulon says his insulin is in the fridge and the power is out",
    "address": "77 Secretwood Lane",
}
PERSONAL = ["Zebulon", "Quartermaine", "555-0199", "5550199", "insulin", "Secretwood"]


async def _open(app: App, crew: str = "forestry-1", **fields: object) -> str:
    """Open an incident from SECRET_CALL and assign it to `crew`."""
    agent = await as_role(app, Role.AGENT, name=f"agent-{len(fields)}-{crew}")
    await ensure_crew(await as_role(app, Role.SUPERVISOR, name=f"sup-{len(fields)}-{crew}"), crew)
    response = await agent.post("/api/v1/calls", json={**SECRET_CALL, **fields})
    ticket = str((await response.get_json())["ticket"])
    moved = await agent.post(
        f"/api/v1/incidents/{ticket}/transitions", json={"to": "assigned", "crew_id": crew}
    )
    assert moved.status_code == 200
    return ticket


async def test_public_routes_never_return_personal_data_or_free_text(app: App) -> None:
    """Every route the table makes public is fetched; none of the caller's details appear."""
    ticket = await _open(app)
    agent = await as_role(app, Role.AGENT, name="app-relay")
    filed = await agent.post("/api/v1/calls", json={**SECRET_CALL, "channel": "open311"})
    app_call = (await filed.get_json())["call_id"]
    anonymous = app.test_client()
    paths = {
        "public_api.get_ticket": f"/api/v1/public/tickets/{ticket}",
        "public_api.get_status": "/api/v1/status",
        "public_api.get_stations": "/api/v1/public/stations",
        "public_api.get_places": "/api/v1/public/places?q=secretw",
        "home_pages.index": "/",
        "login_pages.login_page": "/login",
        "health_api.healthz": "/healthz",
        "health_api.readyz": "/readyz",
        "openapi": "/openapi.json",
        "static": "/static/stormline.css",
        "map_pages.vendor": "/vendor/leaflet/dist/leaflet.css",
        "map_api.map_base": "/api/v1/map/base",
        "public_pages.track": f"/track?ticket={ticket}",
        "public_pages.stations_page": "/stations",
        "public_pages.report_form": "/report",
        "open311_api.discovery": "/open311/discovery.xml",
        "open311_api.services": "/open311/v2/services.json",
        "open311_api.service_definition": "/open311/v2/services/debris.xml",
        "open311_api.get_requests": "/open311/v2/requests.xml",
        "open311_api.get_request": f"/open311/v2/requests/{ticket}.json",
        "open311_api.get_token": f"/open311/v2/tokens/{app_call}.json",
    }
    public_gets = {
        endpoint
        for endpoint, rule in ACCESS.items()
        if rule.public
        and not rule.link
        and endpoint
        not in (
            "login_pages.login",
            "public_pages.post_report",
            "public_pages.post_answer",
            "public_pages.stop_page",  # only with one address's signed key (tests/incident/test_updates.py)
            "public_pages.post_stop",
            "sms_api.inbound",
            # a listed request's redrawn photo, no text (tests/incident/test_resident_report.py)
            "public_api.get_ticket_photo",
        )
    }
    assert public_gets == set(paths), "a new public route needs checking here"
    for endpoint, path in paths.items():
        response = await anonymous.get(path)
        assert response.status_code == 200, endpoint
        text = await response.get_data(as_text=True)
        for secret in PERSONAL:
            assert secret not in text, f"{endpoint} shows {secret!r}"


async def test_public_ticket_lookup_says_where_it_stands(app: App) -> None:
    """A resident's lookup gives the category's name and the status."""
    ticket = await _open(app)
    body = await (await app.test_client().get(f"/api/v1/public/tickets/{ticket}")).get_json()
    assert body["status"] == "assigned"
    assert body["category"] == "Debris, trees and blocked streets"
    assert set(body) == {"ticket", "category", "status", "opened_at", "updated_at", "resolved_at", "steps"}


async def test_agent_and_supervisor_see_the_caller(app: App) -> None:
    """Agents and supervisors see the caller's name and number."""
    ticket = await _open(app)
    for role in (Role.AGENT, Role.SUPERVISOR):
        client = await as_role(app, role, name=f"sees-{role}")
        (call,) = (await (await client.get(f"/api/v1/incidents/{ticket}")).get_json())["calls"]
        assert call["caller_name"] == "Zebulon Quartermaine"
        assert call["callback_e164"] == "+17165550199"


async def test_crew_sees_the_need_not_the_caller(app: App) -> None:
    """A crew sees what and where, but no name, and no number unless the incident says call ahead."""
    plain, call_ahead = await _open(app), await _open(app, call_ahead=True)
    crew = await as_role(app, Role.CREW, crew_id="forestry-1")
    (call,) = (await (await crew.get(f"/api/v1/incidents/{plain}")).get_json())["calls"]
    assert call["caller_name"] is None
    assert call["callback_number"] is None
    assert call["callback_e164"] is None
    assert call["address"] == "77 Secretwood Lane"
    assert "insulin" in call["narrative"]
    (ahead,) = (await (await crew.get(f"/api/v1/incidents/{call_ahead}")).get_json())["calls"]
    assert ahead["caller_name"] is None
    assert ahead["callback_e164"] == "+17165550199"


async def test_coordinator_sees_no_caller_details_yet(app: App) -> None:
    """A coordinator without a referral on the incident sees neither name nor number."""
    ticket = await _open(app)
    coordinator = await as_role(app, Role.COORDINATOR)
    (call,) = (await (await coordinator.get(f"/api/v1/incidents/{ticket}")).get_json())["calls"]
    assert call["caller_name"] is None
    assert call["callback_number"] is None


async def test_sensitive_category_is_not_named_publicly(app: App) -> None:
    """A medical-referral ticket looked up publicly reads as a plain service request."""
    ticket = await _open(app, category="medical_referral")
    body = await (await app.test_client().get(f"/api/v1/public/tickets/{ticket}")).get_json()
    assert body["category"] == "Service request"


async def test_public_lookup_takes_only_ticket_numbers(app: App) -> None:
    """Anything that is not a ticket number is a plain 404, never a 500 or another key's data."""
    ticket = await _open(app)
    for probe in (f"{ticket}:history", "*", "../admin", "2026-00000000000"):
        response = await app.test_client().get(f"/api/v1/public/tickets/{probe}")
        assert response.status_code == 404, probe
