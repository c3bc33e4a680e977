"""The live map in Chromium: it draws from Stormline's own Leaflet, and follows events without reload."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.pages.helpers import ARTIFACTS, csp_violations, sign_in_as
from tests.server import Server

CALL = {
    "narrative": "tree down blocking Elmwood",
    "category": "debris",
    "location": {"lat": 42.9242, "lon": -78.8770},
}


def _has(page: Page, ticket: str) -> bool:
    return bool(page.evaluate("(t) => window.stormlineMap.markers.has(t)", ticket))


def test_the_map_follows_a_call_from_filing_to_clearing_without_reload(page: Page, live: Server) -> None:
    """A filed call shows on the open map, turns assigned, leaves when cleared: no reload, no CSP error."""
    token = live.token("supervisor")
    with live.client(token) as api:
        before = api.post("/api/v1/calls", json=CALL).json()["ticket"]
        sign_in_as(page, live, "sam", "supervisor")
        page.goto("/map")
        expect(page.locator("#map-frame")).to_have_attribute("data-ready", "true", timeout=15_000)
        assert _has(page, before)  # drawn from the snapshot
        expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=10_000)
        page.evaluate("window.__loaded = performance.timeOrigin")
        ticket = api.post("/api/v1/calls", json=CALL).json()["ticket"]
        page.wait_for_function("(t) => window.stormlineMap.markers.has(t)", arg=ticket, timeout=5_000)
        assert (
            api.post(
                "/api/v1/crews", json={"id": "saw-1", "name": "Saw 1", "kind": "debris_forestry"}
            ).status_code
            == 201
        )
        assert (
            api.post(f"/api/v1/incidents/{ticket}/assignment", json={"crew_id": "saw-1"}).status_code == 200
        )
        page.wait_for_function(
            "(t) => window.stormlineMap.markers.get(t)?.data.status === 'assigned'", arg=ticket, timeout=5_000
        )
        assert api.post(f"/api/v1/incidents/{ticket}/transitions", json={"to": "resolved"}).status_code == 200
        page.wait_for_function("(t) => !window.stormlineMap.markers.has(t)", arg=ticket, timeout=5_000)
    assert page.evaluate("window.__loaded === performance.timeOrigin")  # the same page throughout
    assert page.locator("#incident-count").inner_text() == "1"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "live-map.png"))
    assert csp_violations(page) == []


def test_the_map_loads_with_no_internet(page: Page, live: Server) -> None:
    """Every request the map makes goes to Stormline itself: Leaflet, its plugins and the base layer."""
    outside: list[str] = []
    page.on(
        "request", lambda request: None if request.url.startswith(live.url) else outside.append(request.url)
    )
    sign_in_as(page, live, "sam", "supervisor")
    page.goto("/map")
    expect(page.locator("#map-frame")).to_have_attribute("data-ready", "true", timeout=15_000)
    assert page.evaluate("typeof L.markerClusterGroup") == "function"
    assert page.evaluate("window.stormlineMap.baseFeatures") > 1000  # streets and zones, drawn offline
    # Zone layers to switch: council districts shown; police districts and neighbourhoods on demand.
    overlays = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert [o.strip() for o in overlays] == [
        "Incidents",
        "Street-segment jobs",
        "Streets",
        "Council districts",
        "Neighbourhoods",
        "Police districts",
    ]
    assert page.locator(".leaflet-overlay-pane canvas").count() == 1
    assert outside == []


def test_the_map_draws_work_placed_late_reopened_or_reclassified(page: Page, live: Server) -> None:
    """An incident placed after filing appears; a reopened one returns; an override recolours it."""
    sign_in_as(page, live, "sam", "supervisor")
    page.goto("/map")
    expect(page.locator("#map-frame")).to_have_attribute("data-ready", "true", timeout=15_000)
    with live.client(live.token("supervisor")) as api:
        unplaced = api.post(
            "/api/v1/calls", json={"narrative": "tree down somewhere near the park", "category": "debris"}
        )
        ticket = unplaced.json()["ticket"]
        placed = api.post(
            f"/api/v1/incidents/{ticket}/location", json={"point": {"lat": 42.93, "lon": -78.86}}
        )
        assert placed.status_code == 200, placed.text
        page.wait_for_function("(t) => window.stormlineMap.markers.has(t)", arg=ticket, timeout=10_000)
        assert api.post(f"/api/v1/incidents/{ticket}/transitions", json={"to": "resolved"}).status_code == 200
        page.wait_for_function("(t) => !window.stormlineMap.markers.has(t)", arg=ticket, timeout=10_000)
        assert api.post(f"/api/v1/incidents/{ticket}/transitions", json={"to": "open"}).status_code == 200
        page.wait_for_function("(t) => window.stormlineMap.markers.has(t)", arg=ticket, timeout=10_000)
        override = {"priority": "P1", "reason": "a school bus route"}
        assert api.post(f"/api/v1/incidents/{ticket}/override", json=override).status_code == 200
        page.wait_for_function(
            "(t) => window.stormlineMap.markers.get(t)?.data.priority === 'P1'", arg=ticket, timeout=10_000
        )
    assert csp_violations(page) == []


def test_the_map_resumes_from_the_last_event_after_the_server_restarts(page: Page, live: Server) -> None:
    """Calls filed while the map was cut off arrive on reconnect from Last-Event-ID: no reload or snapshot."""
    token = live.token("supervisor")
    snapshots: list[str] = []
    page.on("request", lambda r: snapshots.append(r.url) if "/api/v1/map/incidents" in r.url else None)
    sign_in_as(page, live, "sam", "supervisor")
    page.goto("/map")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=15_000)
    page.evaluate("window.__loaded = performance.timeOrigin")
    with live.client(token) as api:
        seen = api.post("/api/v1/calls", json=CALL).json()["ticket"]
    page.wait_for_function("(t) => window.stormlineMap.markers.has(t)", arg=seen, timeout=5_000)
    assert len(snapshots) == 1
    # Cut the browser off, restart Stormline (its Redis keeps the data), and file calls it cannot see yet.
    page.context.set_offline(True)
    live.stop()
    live.start()
    with live.client(token) as api:
        missed = [api.post("/api/v1/calls", json=CALL).json()["ticket"] for _ in range(3)]
    assert not any(_has(page, ticket) for ticket in missed)
    page.context.set_offline(False)
    for ticket in missed:
        page.wait_for_function("(t) => window.stormlineMap.markers.has(t)", arg=ticket, timeout=20_000)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=5_000)
    assert page.evaluate("window.__loaded === performance.timeOrigin")  # the same page throughout
    assert len(snapshots) == 1  # resumed from the last event id, not redrawn from a fresh snapshot
    assert csp_violations(page) == []


def test_the_map_has_a_legend_counts_unplaced_calls_and_marks_other_towns_work(
    page: Page, live: Server
) -> None:
    """Legend, calls not on the map counted, clusters in their worst colour, other towns dashed, names."""
    with live.client(live.token("supervisor")) as api:
        for priority in ("P4", "P1", "P3"):  # three in one spot: one cluster, coloured P1
            assert api.post("/api/v1/calls", json={**CALL, "priority": priority}).status_code == 201
        away = {**CALL, "location": {"lat": 42.9073, "lon": -78.7542}}  # Cheektowaga
        outside = api.post("/api/v1/calls", json=away).json()["ticket"]
        lost = {"narrative": "limb down", "category": "debris", "address": "behind the old grain elevator"}
        assert api.post("/api/v1/calls", json=lost).status_code == 201
        crew = {"id": "saw-1", "name": "Saw 1", "kind": "debris_forestry"}
        assert api.post("/api/v1/crews", json=crew).status_code == 201
        device = live.token("crew", crew="saw-1")
    with live.client(device) as phone:
        fix = {"lat": 42.92, "lon": -78.87}
        assert phone.post("/api/v1/crews/saw-1/position", json=fix).status_code == 200
    sign_in_as(page, live, "sam", "supervisor")
    page.goto("/map")
    expect(page.locator("#map-frame")).to_have_attribute("data-ready", "true", timeout=15_000)
    expect(page.locator(".legend")).to_contain_text("dashed and pale: outside the city")
    expect(page.locator("#unplaced-count")).to_have_text("1 not on the map", timeout=5_000)
    expect(page.locator(".cluster.cluster-P1").first).to_contain_text("3")
    dash = page.evaluate("(t) => window.stormlineMap.markers.get(t).marker.options.dashArray", outside)
    assert dash == "3 3"
    expect(page.locator(".crew-name")).to_have_text("Saw 1")
    map_name = page.locator("#map-frame").get_attribute("data-map")
    page.evaluate(f"window['{map_name}'].setView([42.9242, -78.8770], 17) && null")
    expect(page.locator(".street-name", has_text="Elmwood Ave").first).to_be_visible(timeout=5_000)
    assert csp_violations(page) == []
