"""The residents' pages in Chromium: a ticket looked up by keyboard, and the open stations on a map."""

from __future__ import annotations

import io
import re

from PIL import Image
from playwright.sync_api import FilePayload, Page, expect

from tests.pages.helpers import ARTIFACTS, csp_violations
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
    station_marker = page.locator("path.leaflet-interactive[stroke='#0a7d3b']")
    expect(station_marker).to_have_count(1)  # the station, not streets
    assert outside == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "stations.png"))
    assert csp_violations(page) == []


def test_public_pages_say_the_public_message_take_a_spaced_ticket_and_keep_current(
    page: Page, live: Server
) -> None:
    """The storm's public message (not the staff's); "2026 000001" works; status, steps, stations live."""
    page.clock.install()
    with live.client(live.token("supervisor")) as api:
        storm = {"mode": "incident", "name": "December Storm", "reason": "lake-effect snow"}
        assert api.post("/api/v1/mode", json=storm).status_code == 200
        call = {"narrative": "tree down", "category": "debris", "location": {"lat": 42.93, "lon": -78.83}}
        ticket = api.post("/api/v1/calls", json=call).json()["ticket"]
        page.goto("/track")
        banner = page.locator("#mode-banner")
        expect(banner).to_contain_text("The city is in storm operations")
        expect(banner).not_to_contain_text("INCIDENT MODE")  # the staff's instruction stays with staff
        page.get_by_label("Ticket number").fill(ticket.replace("-", " "))
        page.keyboard.press("Enter")
        expect(page.locator("#status")).to_have_attribute("data-status", "open")
        assert api.post(
            "/api/v1/crews", json={"id": "saw-1", "name": "Saw 1", "kind": "debris_forestry"}
        ).is_success
        assert api.post(f"/api/v1/incidents/{ticket}/assignment", json={"crew_id": "saw-1"}).is_success
        page.clock.fast_forward("00:31")
        expect(page.locator("#status")).to_have_attribute("data-status", "assigned", timeout=5_000)
        expect(page.locator("#meaning")).to_contain_text("A crew has your request on its list.")
        steps = page.locator("#steps li")
        expect(steps).to_have_count(2)
        expect(steps.nth(1)).to_contain_text("Given to a crew")
        assert "saw-1" not in page.locator("#steps").inner_text()
        page.goto("/stations")
        expect(page.locator("#none")).to_be_visible()
        body = {"capacity_day": 60, "capacity_overnight": 40}
        assert api.post("/api/v1/stations/bennett/open", json=body).status_code == 200
        page.clock.fast_forward("01:01")
        station = page.locator("[data-station=bennett]")
        expect(station).to_contain_text("Lewis J Bennett High School", timeout=5_000)
        expect(station).to_contain_text("Near ")  # no street address in the data: the nearest corner
        expect(station.get_by_role("link", name="Directions")).to_have_attribute("href", re.compile("42.94"))
        expect(page.locator("#none")).to_be_hidden()
    assert csp_violations(page) == []


def test_a_resident_reports_on_a_phone_and_a_life_at_risk_is_sent_to_911(page: Page, live: Server) -> None:
    """The form filled with the keyboard files a ticket; words of a life at risk answer "Call 911 now"."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/report")
    page.get_by_label("Debris, trees and blocked streets").check()
    page.get_by_label("Where?").press_sequentially("Elmwood")
    expect(page.locator("#address-options option").first).to_have_attribute("value", re.compile("^Elmwood"))
    page.get_by_label("Where?").fill("400 Kensington Ave")
    page.get_by_label("What happened?").fill("a big limb is down across the sidewalk")
    page.get_by_role("button", name="Send the report").press("Enter")
    expect(page.locator("#ticket")).to_have_text(re.compile(r"^\d{4}-\d{6}$"))
    page.get_by_role("link", name="Follow it step by step").click()
    expect(page.locator("#steps li")).to_contain_text(["Request received"])
    page.goto("/report")
    page.get_by_label("Debris, trees and blocked streets").check()
    page.get_by_label("Where?").fill("400 Kensington Ave")
    page.get_by_label("What happened?").fill(
        "the tree fell on the house and my father is trapped, not breathing"
    )
    page.get_by_role("button", name="Send the report").click()
    alarm = page.locator(".call-911")
    expect(alarm.get_by_role("heading", name="Call 911 now")).to_be_visible()
    expect(alarm.get_by_role("link", name="Call 911")).to_have_attribute("href", "tel:911")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-call-911.png"))
    assert csp_violations(page) == []


def _photo() -> bytes:
    """A small JPEG, as a phone's camera would send one."""
    out = io.BytesIO()
    Image.new("RGB", (320, 240), "green").save(out, "JPEG")
    return out.getvalue()


def test_a_resident_pins_the_place_sends_a_photo_and_adds_to_the_report_already_made(
    page: Page, live: Server
) -> None:
    """A pin tapped on the map places the report; the photo is kept; a nearby report is offered and joined."""
    point = {"lat": 42.9301, "lon": -78.8302}
    with live.client(live.token("supervisor")) as api:
        earlier = {"narrative": "limb down across the road", "category": "debris", "location": point}
        first = api.post("/api/v1/calls", json=earlier).json()["ticket"]
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/report")
    page.get_by_label("Debris, trees and blocked streets").check()
    frame = page.locator("#map-frame")
    expect(frame).to_have_attribute("data-ready", "true", timeout=10_000)  # the base layer is drawn
    # Tap the map where the earlier report is: where on the screen that place is, the map itself says.
    name = frame.get_attribute("data-map")
    frame.scroll_into_view_if_needed()
    page.evaluate(f"() => window['{name}'].setView([{point['lat']}, {point['lon']}], 18, {{animate: false}})")
    expect(page.get_by_role("region", name="Map: where it is")).to_be_visible()
    centre = page.get_by_role("button", name="Put the pin at the centre of the map")
    centre.focus()
    page.keyboard.press("Enter")  # by keyboard: the map was moved there, the pin goes to its centre
    expect(page.locator("#pin-said")).to_contain_text("The pin is on the map")
    assert abs(float(page.locator("#lat").input_value()) - point["lat"]) < 0.0002
    page.get_by_role("button", name="Take the pin away").press("Enter")
    expect(centre).to_be_focused()  # not lost to the page when its button goes
    expect(page.locator("#lat")).to_have_value("")
    spot = page.evaluate(f"() => window['{name}'].latLngToContainerPoint([{point['lat']}, {point['lon']}])")
    box = frame.locator(".leaflet-container").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + spot["x"], box["y"] + spot["y"])
    expect(page.locator("#pin-said")).to_contain_text("The pin is on the map")
    assert abs(float(page.locator("#lat").input_value()) - point["lat"]) < 0.0002
    assert abs(float(page.locator("#lon").input_value()) - point["lon"]) < 0.0002
    limb: FilePayload = {"name": "limb.jpg", "mimeType": "image/jpeg", "buffer": _photo()}
    page.get_by_label("A photo").set_input_files(files=[limb])
    page.get_by_label("What happened?").fill("a big limb is down across the road")
    page.get_by_role("button", name="Send the report").click()
    expect(page.get_by_role("heading", name="Is this already reported?")).to_be_visible()
    page.get_by_role("button", name=f"Yes, add my report to {first}").click()
    expect(page.locator("#ticket")).to_have_text(first)
    with live.client(live.token("supervisor")) as api:
        calls = api.get(f"/api/v1/incidents/{first}").json()["calls"]
        assert [c["channel"] for c in calls] == ["phone", "web"]
        photo = calls[1]["media_url"]
        assert photo.endswith(".jpg")
        shown = api.get(photo.removeprefix(live.url))
        assert shown.status_code == 200
        assert shown.headers["content-type"] == "image/jpeg"
    assert csp_violations(page) == []
