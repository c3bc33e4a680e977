"""Every route × every role, generated from the app's own route table and the access table."""

from __future__ import annotations

import io
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from PIL import Image
from quart import Blueprint
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident import app as app_module
from incident import photos
from incident.auth import accounts, admin_pages
from incident.auth.policy import ACCESS
from incident.auth.roles import Role
from incident.store import Store
from incident.updates import follow_key, stop_key
from tests.incident.auth.helpers import csrf_in, make_user
from tests.incident.helpers import CALL, NENA
from tests.support import as_role, open_stream

Sample = Callable[[Client, dict[str, str]], Awaitable[Any]]
NENA_SAMPLE = json.loads((NENA / "sample-call-transfer-eido.json").read_text())


async def _form(client: Client, path: str, form: dict[str, str], page: str = "/login") -> Any:
    # Anonymous form posts need the CSRF token of a page we served; token-bearing ones do not.
    html = await (await client.get(page)).get_data(as_text=True)
    return await client.post(path, form={**form, "csrf_token": csrf_in(html)})


async def _review(client: Client) -> Any:
    # The mode sample (run before this one) may have stood the storm down: start one again, as the role.
    await client.post("/api/v1/mode", json={"mode": "incident", "name": "Matrix Storm Two", "reason": "test"})
    return await client.post("/api/v1/mode/review")


async def _delete_alias(client: Client) -> Any:
    # Samples run in name order, so the alias to delete is made first (by the same role, if it may).
    body = {"text": "the mill to forget", "point": {"lat": 42.9, "lon": -78.85}}
    await client.put("/api/v1/geo/aliases", json=body)
    return await client.delete("/api/v1/geo/aliases?text=the%20mill%20to%20forget")


RESIDENT = {
    "name": "Matrix Resident",
    "address": "Elmwood Ave & Forest Ave",
    "location": {"lat": 42.9247, "lon": -78.8768},
    "phone": "716-555-0142",
    "needs": ["oxygen"],
    "consent_date": "2026-10-01",
    "consent_source": "test",
}
CALLDOWN = {
    "name": "Matrix outage",
    "districts": [
        "Delaware",
        "Niagara",
        "North",
        "Ellicott",
        "Fillmore",
        "Lovejoy",
        "Masten",
        "South",
        "University",
    ],
}


CALLBACK = {"phone": "716-555-0177", "reason": "agent"}


async def _cancel_callback(client: Client, ctx: dict[str, str]) -> Any:
    made = await client.post("/api/v1/callbacks", json=CALLBACK)
    target = (await made.get_json())["id"] if made.status_code == 201 else ctx["callback"]
    return await client.post(f"/api/v1/callbacks/{target}/cancel")


async def _callback_attempt(client: Client, ctx: dict[str, str]) -> Any:
    # Recorded by the agent holding it: ask for one and take the next (where the role may).
    await client.post("/api/v1/callbacks", json=CALLBACK)
    taken = await client.post("/api/v1/callbacks/next")
    target = (await taken.get_json())["id"] if taken.status_code == 200 else ctx["callback"]
    return await client.post(f"/api/v1/callbacks/{target}/attempts", json={"outcome": "reached"})


async def _delete_resident(client: Client, ctx: dict[str, str]) -> Any:
    # Each role that may deletes its own; the others are refused on the shared one.
    made = await client.post("/api/v1/registry", json=RESIDENT)
    target = (await made.get_json())["id"] if made.status_code == 201 else ctx["resident"]
    return await client.delete(f"/api/v1/registry/{target}")


async def _attempt(client: Client, ctx: dict[str, str]) -> Any:
    # An attempt is recorded by the agent holding the resident: take one first (where the role may).
    taken = await client.post(f"/api/v1/calldowns/{ctx['calldown2']}/next")
    target = (await taken.get_json())["entry"]["resident"] if taken.status_code == 200 else ctx["resident"]
    path = f"/api/v1/calldowns/{ctx['calldown2']}/residents/{target}/attempts"
    return await client.post(path, json={"outcome": "safe"})


# One working request per endpoint; `ctx` holds a ticket and a revocable token name made beforehand.
SAMPLES: dict[str, Sample] = {
    "incidents_api.post_call": lambda c, ctx: c.post("/api/v1/calls", json=CALL),
    "incidents_api.get_incident": lambda c, ctx: c.get(f"/api/v1/incidents/{ctx['ticket']}"),
    "incidents_api.list_incidents": lambda c, ctx: c.get("/api/v1/incidents"),
    "incidents_api.post_transition": lambda c, ctx: c.post(
        f"/api/v1/incidents/{ctx['ticket']}/transitions", json={"to": "en_route"}
    ),
    "incidents_api.get_history": lambda c, ctx: c.get(f"/api/v1/incidents/{ctx['ticket']}/history"),
    "incidents_api.post_location": lambda c, ctx: c.post(
        f"/api/v1/incidents/{ctx['ticket']}/location", json={"point": {"lat": 42.93, "lon": -78.82}}
    ),
    "incidents_api.post_triage": lambda c, ctx: c.post(
        "/api/v1/triage", json={"text": "tree down on Elmwood"}
    ),
    "incidents_api.post_override": lambda c, ctx: c.post(
        f"/api/v1/incidents/{ctx['ticket']}/override", json={"priority": "P2", "reason": "caller is 90"}
    ),
    "incidents_api.post_handoff_step": lambda c, ctx: c.post(
        f"/api/v1/incidents/{ctx['handed']}/handoff", json={"step": "caller_released"}
    ),
    "incidents_api.post_handoff_release": lambda c, ctx: c.post(
        f"/api/v1/incidents/{ctx['handed']}/handoff/release", json={"reason": "crew already there"}
    ),
    "incidents_api.post_psap_status": lambda c, ctx: c.post(
        f"/api/v1/psap/incidents/{ctx['handed']}", json={"status": "accepted"}
    ),
    "incidents_api.post_psap_transfer": lambda c, ctx: c.post("/api/v1/psap/transfers", json=NENA_SAMPLE),
    "incidents_api.get_alarms": lambda c, ctx: c.get("/api/v1/alarms"),
    "registry_api.list_residents": lambda c, ctx: c.get("/api/v1/registry"),
    "registry_api.post_resident": lambda c, ctx: c.post("/api/v1/registry", json=RESIDENT),
    "registry_api.match_resident": lambda c, ctx: c.post(
        "/api/v1/registry/match", json={"phone": "716-555-0142"}
    ),
    "registry_api.import_residents": lambda c, ctx: c.post(
        "/api/v1/registry/import?source=matrix",
        data="name,address,consent_date,consent_source\nAl,Elmwood Ave & Forest Ave,2026-09-01,list\n",
        headers={"Content-Type": "text/csv"},
    ),
    "registry_api.get_resident": lambda c, ctx: c.get(f"/api/v1/registry/{ctx['resident']}"),
    "registry_api.patch_resident": lambda c, ctx: c.patch(
        f"/api/v1/registry/{ctx['resident']}", json={"notes": "side door"}
    ),
    "registry_api.delete_resident": lambda c, ctx: _delete_resident(c, ctx),
    "registry_api.post_calldown": lambda c, ctx: c.post("/api/v1/calldowns", json=CALLDOWN),
    "registry_api.list_calldowns": lambda c, ctx: c.get("/api/v1/calldowns"),
    "registry_api.get_calldown": lambda c, ctx: c.get(f"/api/v1/calldowns/{ctx['calldown']}"),
    "registry_api.calldown_map": lambda c, ctx: c.get(f"/api/v1/calldowns/{ctx['calldown']}/map"),
    "registry_api.take_next_resident": lambda c, ctx: c.post(f"/api/v1/calldowns/{ctx['calldown2']}/next"),
    "registry_api.post_attempt": lambda c, ctx: _attempt(c, ctx),
    "registry_api.close_calldown": lambda c, ctx: c.post(f"/api/v1/calldowns/{ctx['calldown']}/close"),
    "registry_pages.registry_page": lambda c, ctx: c.get("/registry"),
    "registry_pages.calldowns_page": lambda c, ctx: c.get("/calldowns"),
    "callbacks_api.post_callback": lambda c, ctx: c.post("/api/v1/callbacks", json=CALLBACK),
    "callbacks_api.list_callbacks": lambda c, ctx: c.get("/api/v1/callbacks"),
    "callbacks_api.take_next_callback": lambda c, ctx: c.post("/api/v1/callbacks/next"),
    "callbacks_api.post_callback_attempt": lambda c, ctx: _callback_attempt(c, ctx),
    "callbacks_api.cancel_callback": lambda c, ctx: _cancel_callback(c, ctx),
    "callbacks_api.post_call_event": lambda c, ctx: c.post(
        "/api/v1/telephony/events", json={"event": "ringing", "call_id": "pbx-9", "caller": "716-555-0142"}
    ),
    "exercise_api.start_exercise": lambda c, ctx: c.post("/api/v1/exercise", json={"name": "Matrix drill"}),
    "exercise_api.stop_exercise": lambda c, ctx: c.post("/api/v1/exercise/stop"),
    "exercise_api.list_exercises": lambda c, ctx: c.get("/api/v1/exercises"),
    "exercise_api.get_exercise": lambda c, ctx: c.get(f"/api/v1/exercises/{ctx['exercise']}"),
    "exercise_api.purge_exercise": lambda c, ctx: c.post(f"/api/v1/exercises/{ctx['exercise']}/purge"),
    "casework_api.search": lambda c, ctx: c.get("/api/v1/search?q=tree"),
    "casework_api.post_note": lambda c, ctx: c.post(
        f"/api/v1/incidents/{ctx['ticket']}/notes", json={"text": "called back: still no heat"}
    ),
    "casework_api.list_storms": lambda c, ctx: c.get("/api/v1/activations"),
    "casework_api.get_worklist": lambda c, ctx: c.get("/api/v1/worklist?view=held&per_page=5"),
    "partners_api.post_sharing": lambda c, ctx: c.post(
        f"/api/v1/incidents/{ctx['shared']}/partners", json={"shared": True, "headline": "Trees down"}
    ),
    "partners_api.cap_feed": lambda c, ctx: c.get("/api/v1/partners/cap"),
    "partners_api.cap_alert": lambda c, ctx: c.get(f"/api/v1/partners/cap/{ctx['shared']}.xml"),
    "exports_api.incidents_geojson": lambda c, ctx: c.get("/api/v1/exports/incidents.geojson"),
    "exports_api.incidents_csv": lambda c, ctx: c.get("/api/v1/exports/incidents.csv?status=open,assigned"),
    "geo_api.suggest": lambda c, ctx: c.get("/api/v1/geo/suggest?q=Bai"),
    "geo_api.geocode": lambda c, ctx: c.get("/api/v1/geo/geocode?q=Main%20%26%20Delavan"),
    "geo_api.reverse": lambda c, ctx: c.get("/api/v1/geo/reverse?lat=42.93&lon=-78.82"),
    "geo_api.list_aliases": lambda c, ctx: c.get("/api/v1/geo/aliases"),
    "geo_api.list_pins": lambda c, ctx: c.get("/api/v1/geo/pins"),
    "geo_api.put_alias": lambda c, ctx: c.put(
        "/api/v1/geo/aliases", json={"text": "the old mill", "point": {"lat": 42.9, "lon": -78.85}}
    ),
    "geo_api.delete_alias": lambda c, ctx: _delete_alias(c),
    "geo_pages.aliases_page": lambda c, ctx: c.get("/admin/aliases"),
    "incidents_api.get_me": lambda c, ctx: c.get("/api/v1/me"),
    "incidents_api.get_mode": lambda c, ctx: c.get("/api/v1/mode"),
    "incidents_api.get_surge": lambda c, ctx: c.get("/api/v1/surge"),
    "incidents_api.get_queues": lambda c, ctx: c.get("/api/v1/queues"),
    "report_api.report_json": lambda c, ctx: c.get(f"/api/v1/activations/{ctx['activation']}/report"),
    "report_api.report_csv": lambda c, ctx: c.get(f"/api/v1/activations/{ctx['activation']}/report.csv"),
    "report_pages.report_page": lambda c, ctx: c.get(f"/reports/{ctx['activation']}"),
    "incidents_api.post_mode": lambda c, ctx: c.post(
        "/api/v1/mode", json={"mode": "standby", "reason": "storm forecast tonight"}
    ),
    "public_api.get_status": lambda c, ctx: c.get("/api/v1/status"),
    "incidents_api.post_review": lambda c, ctx: _review(c),
    "incidents_api.get_audit": lambda c, ctx: c.get("/api/v1/audit"),
    "public_api.get_places": lambda c, ctx: c.get("/api/v1/public/places?q=elmw"),
    "public_api.get_ticket": lambda c, ctx: c.get(f"/api/v1/public/tickets/{ctx['ticket']}"),
    "public_api.get_ticket_photo": lambda c, ctx: c.get(
        f"/api/v1/public/tickets/{ctx['pictured']}/photo.jpg"
    ),
    "login_pages.login_page": lambda c, ctx: c.get("/login"),
    "login_pages.login": lambda c, ctx: _form(
        c, "/login", {"username": "matrix", "password": "correct horse battery staple"}
    ),
    "login_pages.logout": lambda c, ctx: c.post("/logout"),
    "admin_pages.tokens_page": lambda c, ctx: c.get("/admin/tokens"),
    "admin_pages.create_token": lambda c, ctx: c.post(
        "/admin/tokens", form={"name": ctx["new_token"], "role": "psap"}
    ),
    "admin_pages.revoke_token": lambda c, ctx: c.post(f"/admin/tokens/{ctx['victim']}/revoke"),
    "admin_pages.people_page": lambda c, ctx: c.get("/admin/people"),
    "admin_pages.create_person": lambda c, ctx: c.post(
        "/admin/people",
        form={"name": ctx["new_token"][:60], "role": "agent", "password": "a long enough passphrase"},
    ),
    "admin_pages.change_person": lambda c, ctx: c.post(
        "/admin/people/matrix", form={"password": "correct horse battery staple"}
    ),
    "crews_api.list_crews": lambda c, ctx: c.get("/api/v1/crews"),
    "crews_api.post_crew": lambda c, ctx: c.post(
        "/api/v1/crews", json={"id": ctx["victim"][:32], "name": "New crew", "kind": "streets"}
    ),
    "crews_api.get_crew": lambda c, ctx: c.get("/api/v1/crews/crew-1"),
    "crews_api.patch_crew": lambda c, ctx: c.patch("/api/v1/crews/crew-1", json={"size": 3}),
    "crews_api.post_position": lambda c, ctx: c.post(
        "/api/v1/crews/crew-1/position", json={"lat": 42.93, "lon": -78.82}
    ),
    "crews_api.get_route": lambda c, ctx: c.get("/api/v1/crews/crew-1/route"),
    "crews_api.get_feed": lambda c, ctx: c.get("/api/v1/crews/crew-1/feed"),
    "crews_api.post_feed_ack": lambda c, ctx: c.post("/api/v1/crews/crew-1/feed/ack", json={"ids": []}),
    "crews_api.post_mark": lambda c, ctx: c.post(
        f"/api/v1/crews/crew-1/work/{ctx['worked']}/mark", json={"mark": "on_scene"}
    ),
    "crews_api.get_recommendations": lambda c, ctx: c.get(f"/api/v1/incidents/{ctx['free']}/recommendations"),
    "crews_api.post_assignment": lambda c, ctx: c.post(
        f"/api/v1/incidents/{ctx['free']}/assignment", json={"crew_id": "crew-1", "force": True}
    ),
    "crews_api.post_unassignment": lambda c, ctx: c.post(
        f"/api/v1/incidents/{ctx['free']}/unassignment", json={}
    ),
    "crews_api.post_bulk_assignments": lambda c, ctx: c.post(
        "/api/v1/assignments",
        json={"assignments": [{"ticket": ctx["free2"], "crew_id": "crew-1"}], "force": True},
    ),
    "crews_api.post_plan": lambda c, ctx: c.post("/api/v1/dispatch/plan", json={}),
    "crews_api.list_jobs": lambda c, ctx: c.get("/api/v1/jobs"),
    "crews_api.post_job": lambda c, ctx: c.post("/api/v1/jobs", json={"tickets": ctx["groupable"].split()}),
    "crews_api.get_job_suggestions": lambda c, ctx: c.get("/api/v1/jobs/suggestions"),
    "crews_api.get_job": lambda c, ctx: c.get(f"/api/v1/jobs/{ctx['job']}"),
    "crews_api.post_job_dissolve": lambda c, ctx: c.post(f"/api/v1/jobs/{ctx['job']}/dissolve", json={}),
    "crews_api.post_duplicates": lambda c, ctx: c.post(
        "/api/v1/duplicates", json={"category": "debris", "location": {"lat": 42.93, "lon": -78.82}}
    ),
    "public_api.get_stations": lambda c, ctx: c.get("/api/v1/public/stations"),
    "shelter_api.list_stations": lambda c, ctx: c.get("/api/v1/stations"),
    "shelter_api.get_nearest_station": lambda c, ctx: c.get(
        "/api/v1/stations/nearest?lat=42.93&lon=-78.83&party=2"
    ),
    "shelter_api.post_station_open": lambda c, ctx: c.post(
        "/api/v1/stations/south_park/open", json={"capacity_day": 50, "capacity_overnight": 30}
    ),
    "shelter_api.patch_station": lambda c, ctx: c.patch(
        "/api/v1/stations/burgard", json={"hours": "24 hours"}
    ),
    "shelter_api.post_station_count": lambda c, ctx: c.post(
        "/api/v1/stations/burgard/count", json={"occupancy": 3}
    ),
    "shelter_api.post_station_check_in": lambda c, ctx: c.post(
        "/api/v1/stations/burgard/check-in", json={"people": 2}
    ),
    "shelter_api.post_station_check_out": lambda c, ctx: c.post(
        "/api/v1/stations/burgard/check-out", json={"people": 1}
    ),
    "shelter_api.post_station_close": lambda c, ctx: c.post("/api/v1/stations/riverside/close", json={}),
    "shelter_api.post_transport_request": lambda c, ctx: c.post(
        "/api/v1/transport/requests", json={"ticket": ctx["ride"], "party": 2}
    ),
    "shelter_api.list_transport_requests": lambda c, ctx: c.get("/api/v1/transport/requests"),
    "shelter_api.get_transport_request": lambda c, ctx: c.get(
        f"/api/v1/transport/requests/{ctx['scheduled']}"
    ),
    "shelter_api.post_transport_move": lambda c, ctx: c.post(
        f"/api/v1/transport/requests/{ctx['scheduled']}/picked_up", json={}
    ),
    "shelter_api.post_run": lambda c, ctx: c.post(
        "/api/v1/transport/runs", json={"crew_id": "van-2", "requests": [ctx["waiting"]]}
    ),
    "shelter_api.post_runs_auto": lambda c, ctx: c.post("/api/v1/transport/runs/auto"),
    "shelter_api.list_runs": lambda c, ctx: c.get("/api/v1/transport/runs"),
    "shelter_api.get_run": lambda c, ctx: c.get(f"/api/v1/transport/runs/{ctx['run']}"),
    "referral_api.list_agencies": lambda c, ctx: c.get("/api/v1/agencies"),
    "referral_api.get_agency": lambda c, ctx: c.get("/api/v1/agencies/svc-211"),
    "referral_api.patch_agency": lambda c, ctx: c.patch("/api/v1/agencies/svc-211", json={"capacity": 5}),
    "referral_api.post_agencies_import": lambda c, ctx: c.post(
        "/api/v1/agencies/import",
        json={
            "services": [
                {
                    "id": "svc-x",
                    "name": "X",
                    "organization": {"id": "o", "name": "O"},
                    "phones": [{"number": "716-555-0100"}],
                }
            ]
        },
    ),
    "referral_api.post_referral": lambda c, ctx: c.post(
        f"/api/v1/incidents/{ctx['ticket']}/referrals",
        json={"service_id": "svc-211", "need": "needs food", "consent": {"given": True}},
    ),
    "referral_api.list_referrals": lambda c, ctx: c.get("/api/v1/referrals"),
    "referral_api.get_suggested_agencies": lambda c, ctx: c.get(
        f"/api/v1/incidents/{ctx['ticket']}/agencies"
    ),
    "referral_api.get_referral": lambda c, ctx: c.get(f"/api/v1/referrals/{ctx['referral']}"),
    "referral_api.post_referral_status": lambda c, ctx: c.post(
        f"/api/v1/referrals/{ctx['referral']}/status", json={"status": "accepted"}
    ),
    "referral_api.get_link_json": lambda c, ctx: c.get(f"/api/v1/referral-links/{ctx['link']}"),
    "referral_api.post_link_json": lambda c, ctx: c.post(
        f"/api/v1/referral-links/{ctx['link']}", json={"status": "accepted"}
    ),
    "referral_pages.referral_page": lambda c, ctx: c.get(f"/referral/{ctx['link']}"),
    "map_pages.map_page": lambda c, ctx: c.get("/map"),
    "map_api.map_incidents": lambda c, ctx: c.get("/api/v1/map/incidents"),
    "console_pages.agent": lambda c, ctx: c.get("/agent"),
    "console_pages.crew": lambda c, ctx: c.get("/crew"),
    "console_pages.supervisor": lambda c, ctx: c.get("/supervisor"),
    "console_pages.coordinator": lambda c, ctx: c.get("/coordinator"),
    "console_pages.photo": lambda c, ctx: c.get(f"/photos/{ctx['photo']}.jpg"),
    "console_pages.incident_page": lambda c, ctx: c.get(f"/incidents/{ctx['ticket']}"),
    "console_pages.search_page": lambda c, ctx: c.get(f"/search?q={ctx['ticket']}"),
    "console_pages.locate_page": lambda c, ctx: c.get("/locate"),
    "console_pages.storms_page": lambda c, ctx: c.get("/storms"),
    "map_api.map_base": lambda c, ctx: c.get("/api/v1/map/base"),
    "map_pages.vendor": lambda c, ctx: c.get("/vendor/leaflet/dist/leaflet.css"),
    "public_pages.track": lambda c, ctx: c.get(f"/track?ticket={ctx['ticket']}"),
    "public_pages.stations_page": lambda c, ctx: c.get("/stations"),
    # The gateway's signature is the key (checked by the route, tests/incident/test_texts.py): no role
    # opens it, and this app has no gateway token, so every principal is refused alike.
    "sms_api.inbound": lambda c, ctx: c.post(
        "/api/v1/sms/inbound", form={"From": "+17165550142", "Body": "hi"}
    ),
    "public_pages.post_answer": lambda c, ctx: _form(
        c,
        "/track/answer",
        {"ticket": ctx["ticket"], "k": ctx["follow_key"], "answer": "still"},
        f"/track?ticket={ctx['ticket']}&k={ctx['follow_key']}",
    ),
    "public_pages.stop_page": lambda c, ctx: c.get(ctx["stop_path"]),
    "public_pages.post_stop": lambda c, ctx: _form(
        c,
        "/updates/stop",
        {"ticket": ctx["ticket"], "to": STOPPING, "k": ctx["stop_key"]},
        ctx["stop_path"],
    ),
    "public_pages.report_form": lambda c, ctx: c.get("/report"),
    "public_pages.post_report": lambda c, ctx: _form(
        c,
        "/report",
        {"category": "debris", "address": "400 Kensington Ave", "description": "limb down"},
        "/report",
    ),
    "live_api.stream": lambda c, ctx: open_stream(c, "/api/v1/events/stream"),
    "open311_api.discovery": lambda c, ctx: c.get("/open311/discovery.json"),
    "open311_api.services": lambda c, ctx: c.get("/open311/v2/services.xml"),
    "open311_api.service_definition": lambda c, ctx: c.get("/open311/v2/services/debris.json"),
    "open311_api.get_requests": lambda c, ctx: c.get("/open311/v2/requests.json"),
    "open311_api.get_request": lambda c, ctx: c.get(f"/open311/v2/requests/{ctx['ticket']}.xml"),
    "open311_api.get_token": lambda c, ctx: c.get(f"/open311/v2/tokens/{ctx['app_call']}.json"),
    "open311_api.post_request": lambda c, ctx: c.post(
        "/open311/v2/requests.json",
        form={"service_code": "debris", "lat": "42.93", "long": "-78.82", "description": "limb down"},
    ),
    "home_pages.index": lambda c, ctx: c.get("/"),
    "health_api.healthz": lambda c, ctx: c.get("/healthz"),
    "health_api.readyz": lambda c, ctx: c.get("/readyz"),
    "openapi": lambda c, ctx: c.get("/openapi.json"),
    "static": lambda c, ctx: c.get("/static/stormline.css"),
}

STOPPING = "r@example.org"  # the address whose "stop these emails" link the samples follow
PRINCIPALS: list[Role | None] = [None, *Role]


def test_access_table_and_samples_cover_every_route(app: App) -> None:
    """Each route the app serves has an access rule and a sample request here (so it is in the matrix)."""
    served = {rule.endpoint for rule in app.app.url_map.iter_rules()}
    assert served <= ACCESS.keys()
    assert served <= SAMPLES.keys(), f"add samples for: {sorted(served - SAMPLES.keys())}"


@pytest.mark.parametrize("role", PRINCIPALS, ids=lambda role: str(role or "anonymous"))
async def test_every_route_for_role(app: App, store: Store, role: Role | None) -> None:
    """Routes the table allows this role work (2xx/3xx); every other route answers 401 or 403."""
    await make_user(store, "matrix", Role.AGENT)
    supervisor = await as_role(app, Role.SUPERVISOR, name="matrix-setup")
    # crew-1 (the crew of crew tokens) is a van, so that it may work rides; debris goes to it by force.
    crew = await supervisor.post(
        "/api/v1/crews",
        json={"id": "crew-1", "name": "Van 1", "kind": "transport_van", "seats": 6, "wheelchair_spaces": 1},
    )
    assert crew.status_code == 201
    ticket = (await (await supervisor.post("/api/v1/calls", json=CALL)).get_json())["ticket"]
    # Assigned to the crew that as_role gives crew tokens, so a crew may see and move it.
    assigned = await supervisor.post(
        f"/api/v1/incidents/{ticket}/transitions", json={"to": "assigned", "crew_id": "crew-1"}
    )
    assert assigned.status_code == 200
    mode = await supervisor.post(
        "/api/v1/mode", json={"mode": "incident", "name": "Matrix Storm", "reason": "test"}
    )
    activation = (await mode.get_json())["state"]["activation"]["id"]
    # A second incident already transferred to 911, for the 911 center's callback and the release.
    handed = (await (await supervisor.post("/api/v1/calls", json=CALL)).get_json())["ticket"]
    started = await supervisor.post(f"/api/v1/incidents/{handed}/handoff", json={"step": "transfer_started"})
    assert started.status_code == 200
    free = [await _debris(supervisor, 42.9300 + i / 100, -78.8200) for i in range(2)]
    on_elmwood = [await _debris(supervisor, lat, -78.8768) for lat in (42.9247, 42.9253, 42.9249, 42.9251)]
    job = await supervisor.post("/api/v1/jobs", json={"tickets": on_elmwood[:2]})
    assert job.status_code == 201, await job.get_data(as_text=True)
    # The crew that crew tokens belong to works it, so a crew may see it.
    given = await supervisor.post(
        f"/api/v1/incidents/{on_elmwood[0]}/assignment", json={"crew_id": "crew-1", "force": True}
    )
    assert given.status_code == 200
    shelter = await _shelter(supervisor, ticket)
    # A call an app filed, for the Open311 token lookup.
    app_call = await supervisor.post("/api/v1/calls", json={**CALL, "channel": "open311"})
    shelter["app_call"] = (await app_call.get_json())["call_id"]
    shared = await _debris(supervisor, 42.9100, -78.8500)
    sharing = {"shared": True, "headline": "Trees down"}
    assert (await supervisor.post(f"/api/v1/incidents/{shared}/partners", json=sharing)).status_code == 200
    photo = await photos.keep(store, photos.clean(_jpeg()))
    pictured = {**CALL, "channel": "web", "media_url": f"http://localhost/photos/{photo}.jpg"}
    shelter["pictured"] = (await (await supervisor.post("/api/v1/calls", json=pictured)).get_json())["ticket"]
    shelter.update(await _registry(supervisor))
    stopping = stop_key(str(app.app.secret_key), ticket, STOPPING)
    failures = []
    for endpoint, sample in sorted(SAMPLES.items()):
        victim = f"victim-{endpoint.replace('.', '-').replace('_', '-')}"
        await accounts.create_token(store, victim, Role.PSAP, crew_id=None, actor="test")
        client = app.test_client() if role is None else await as_role(app, role, name=f"m-{role}-{victim}")
        ctx = {
            "ticket": ticket,
            "handed": handed,
            "activation": activation,
            "victim": victim,
            "new_token": f"new-{victim}",
            "free": free[0],
            "free2": free[1],
            "groupable": " ".join(on_elmwood[2:]),
            "job": (await job.get_json())["job"]["id"],
            "worked": on_elmwood[0],  # crew-1's, marked by the crew apart from `ticket`'s transitions
            "photo": photo,
            "follow_key": follow_key(str(app.app.secret_key), ticket),
            "stop_key": stopping,
            "stop_path": "/updates/stop?" + urlencode({"ticket": ticket, "to": STOPPING, "k": stopping}),
            "shared": shared,
            **shelter,
        }
        response = await sample(client, ctx)
        rule = ACCESS[endpoint]
        if rule.signed:
            if response.status_code != 403:
                failures.append(f"{endpoint}: unsigned, expected 403, got {response.status_code}")
            continue
        allowed = rule.public or (role is not None and rule.roles is not None and role in rule.roles)
        if allowed and not 200 <= response.status_code < 400:
            failures.append(f"{endpoint}: allowed for {role} but got {response.status_code}")
        if not allowed:
            expected = 401 if role is None and not rule.api_key else 403  # Open311: 403 for any key problem
            if role is None and rule.page and response.status_code == 303:
                # A page sends the visitor to sign in, and back after.
                expected = 303 if response.headers["Location"].startswith("/login?next=/") else -1
            if response.status_code != expected:
                failures.append(
                    f"{endpoint}: denied for {role}, expected {expected}, got {response.status_code}"
                )
    assert not failures, "\n".join(failures)


async def _registry(supervisor: Client) -> dict[str, str]:
    """Registered residents (enough for every role to take one), and two call-downs of them."""
    ids = []
    for i in range(12):
        point = {"lat": 42.9247 + i / 1000, "lon": -78.8768}
        made = await supervisor.post(
            "/api/v1/registry", json={**RESIDENT, "phone": f"716-555-01{i:02d}", "location": point}
        )
        assert made.status_code == 201, await made.get_data(as_text=True)
        ids.append((await made.get_json())["id"])
    lists = []
    for _ in range(2):
        built = await supervisor.post("/api/v1/calldowns", json=CALLDOWN)
        assert built.status_code == 201, await built.get_data(as_text=True)
        lists.append((await built.get_json())["calldown"]["id"])
    callback = await supervisor.post("/api/v1/callbacks", json=CALLBACK)
    assert callback.status_code == 201
    drill = await supervisor.post("/api/v1/exercise", json={"name": "Matrix setup drill"})
    assert drill.status_code == 201
    assert (await supervisor.post("/api/v1/exercise/stop")).status_code == 200
    return {
        "resident": ids[0],
        "calldown": lists[0],
        "calldown2": lists[1],
        "callback": (await callback.get_json())["id"],
        "exercise": (await drill.get_json())["id"],
    }


async def _shelter(supervisor: Client, ticket: str) -> dict[str, str]:
    """Open stations, rides (one waiting, one on a run of crew-1), a free van and a referral with its link."""
    van = {"id": "van-2", "name": "Van 2", "kind": "transport_van", "seats": 6}
    assert (await supervisor.post("/api/v1/crews", json=van)).status_code == 201
    for site in ("burgard", "riverside"):
        opened = await supervisor.post(
            f"/api/v1/stations/{site}/open",
            json={"capacity_day": 40, "capacity_overnight": 40, "amenities": {"accessible": True}},
        )
        assert opened.status_code == 200, await opened.get_data(as_text=True)
    rides = []
    for _ in range(3):
        body = {
            "narrative": "no heat, need a ride to a warming station",
            "location": {"lat": 42.93, "lon": -78.83},
        }
        rides.append((await (await supervisor.post("/api/v1/calls", json=body)).get_json())["ticket"])
    requests = []
    for ride in rides[1:]:
        made = await supervisor.post("/api/v1/transport/requests", json={"ticket": ride, "party": 1})
        assert made.status_code == 201, await made.get_data(as_text=True)
        requests.append((await made.get_json())["request"]["id"])
    run = await supervisor.post(
        "/api/v1/transport/runs", json={"crew_id": "crew-1", "requests": requests[:1]}
    )
    assert run.status_code == 201, await run.get_data(as_text=True)
    referral = await supervisor.post(
        f"/api/v1/incidents/{ticket}/referrals",
        json={"service_id": "svc-211", "need": "food and a warm place", "consent": {"given": True}},
    )
    assert referral.status_code == 201, await referral.get_data(as_text=True)
    made_referral = await referral.get_json()
    return {
        "ride": rides[0],
        "scheduled": requests[0],
        "waiting": requests[1],
        "run": (await run.get_json())["run"]["id"],
        "referral": made_referral["referral"]["id"],
        "link": made_referral["link"].rsplit("/", 1)[1],
    }


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(out, "JPEG")
    return out.getvalue()


async def _debris(client: Client, lat: float, lon: float) -> str:
    body = {**CALL, "address": None, "callback_number": None, "location": {"lat": lat, "lon": lon}}
    return str((await (await client.post("/api/v1/calls", json=body)).get_json())["ticket"])


def test_undeclared_route_stops_the_app(settings: Any, config: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """An app with a route missing from the access table refuses to be built."""
    rogue = Blueprint("rogue", __name__)
    rogue.add_url_rule("/rogue", "rogue_view", lambda: "open to all?")
    monkeypatch.setattr(admin_pages, "blueprint", rogue)
    with pytest.raises(RuntimeError, match=r"rogue\.rogue_view"):
        app_module.create_app(settings, config)
