"""The residents' pages in Chromium: a ticket looked up by keyboard, and the open stations on a map."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.pages.conftest import csp_violations
from tests.pages.test_live_map import ARTIFACTS
from tests.server import Server


def test_a_resident_looks_a_ticket_up_with_the_keyboard(page: Page, live: Server) -> None:
    """Type the number, press Enter: the status in plain words, and no caller's details."""
    call = {
        "narrative": "tree down on my street",
        "category": "debris",
        "caller_name": "Pat Doe",
        "callback_number": "716-555-0142",
        "location": {"lat": 42.93, "lon": -78.83},
    }
    with live.client(live.token("supervisor")) as api:
        ticket = api.post("/api/v1/calls", json=call).json()["ticket"]
    page.goto("/track")
    page.get_by_label("Ticket number").fill(ticket)
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_attribute("data-status", "open")
    expect(page.locator("#result")).to_contain_text("waiting for a crew")
    assert "Pat Doe" not in page.content()
    page.goto("/track?ticket=2026-999999")
    expect(page.locator("#result")).to_contain_text("No request has that number")
    assert csp_violations(page) == []


def test_open_stations_show_on_a_map_and_a_list_with_no_internet(page: Page, live: Server) -> None:
    """An open station is listed with its places and drawn on a map from Stormline's own files."""
    with live.client(live.token("supervisor")) as api:
        body = {"capacity_day": 60, "capacity_overnight": 40, "amenities": {"accessible": True, "pets": True}}
        assert api.post("/api/v1/stations/burgard/open", json=body).status_code == 200
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live.url) else outside.append(r.url))
    page.goto("/stations")
    station = page.locator("[data-station=burgard]")
    expect(station).to_contain_text("Burgard High School")
    expect(station).to_contain_text("places left")
    expect(station).to_contain_text("wheelchair accessible")
    expect(page.locator("#map-frame")).to_have_attribute("data-ready", "true", timeout=10_000)
    assert page.locator("path.leaflet-interactive[stroke='#0a7d3b']").count() == 1  # the station, not streets
    assert outside == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "stations.png"))
    assert csp_violations(page) == []
