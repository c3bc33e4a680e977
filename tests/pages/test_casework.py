"""Staff casework pages in Chromium: the menu, an incident's page, search, the needs-location queue,
rides and referrals from the console, people and crews, and past storms with their report."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.pages.helpers import CSP_PROBE, PASSWORD, csp_violations, sign_in_as
from tests.server import Server

NO_HEAT = {
    "narrative": "no heat since last night, two of us, need a ride",
    "location": {"lat": 42.935, "lon": -78.835},
    "category": "shelter_transport",
    "callback_number": "(716) 555-0142",
    "answers": {"party_size": 2, "pets": "no"},
}


def test_sign_in_lands_on_the_role_console_with_its_menu(browser: Browser, live: Server) -> None:
    """An agent lands on the call console and a supervisor on the board; each menu lists its consoles."""
    for name, role, home, shown, hidden in (
        ("ada", "agent", "/agent", ["Calls", "Needs location", "Map"], ["Supervisor", "Past storms"]),
        ("sam", "supervisor", "/supervisor", ["Supervisor", "Coordinator", "Past storms"], ["My jobs"]),
    ):
        context = browser.new_context(base_url=live.url)
        context.add_init_script(CSP_PROBE)
        page = context.new_page()
        made = live.cli("users", "add", name, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")
        assert made.returncode == 0, made.stderr
        page.goto("/login")
        page.get_by_label("Name").fill(name)
        page.get_by_label("Password").fill(PASSWORD)
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(f"{home}$"))
        menu = page.get_by_role("navigation", name="Consoles")
        for label in shown:
            expect(menu.get_by_role("link", name=label, exact=True)).to_be_visible()
        for label in hidden:
            expect(menu.get_by_role("link", name=label, exact=True)).to_have_count(0)
        assert csp_violations(page) == []
        context.close()


def test_the_incident_page_shows_the_record_and_takes_a_note_a_pin_and_a_status(
    page: Page, live: Server
) -> None:
    """Calls, answers and history are shown; a note, a new point and Resolved are saved from the page."""
    with live.client(live.token("supervisor")) as api:
        ticket = api.post("/api/v1/calls", json=NO_HEAT).json()["ticket"]
    sign_in_as(page, live, "ada", "agent")
    page.goto(f"/incidents/{ticket}")
    expect(page.get_by_role("heading", name=f"Ticket {ticket}")).to_be_visible()
    expect(page.locator(".calls")).to_contain_text("no heat since last night")
    expect(page.locator(".calls")).to_contain_text("How many people would go, including you? 2")
    expect(page.locator(".calls")).to_contain_text("(716) 555-0142")
    page.get_by_label("Add a note").fill("called back: neighbour has a spare heater")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#history")).to_contain_text("Note: called back: neighbour has a spare heater")
    expect(page.locator("#history")).to_contain_text("ada")
    frame = page.locator("#map-frame")
    expect(frame).to_have_attribute("data-ready", "true", timeout=10_000)
    frame.locator(".leaflet-container").click(position={"x": 60, "y": 60})
    page.get_by_role("button", name="Save this point").click()
    expect(page.locator("#history")).to_contain_text("Placed at", timeout=5_000)
    page.get_by_label("Why").fill("neighbour took them in")
    page.get_by_role("button", name="Resolved").click()
    expect(page.locator("#incident-status")).to_contain_text("resolved", timeout=5_000)
    expect(page.locator("#history")).to_contain_text("open → resolved: neighbour took them in")
    assert csp_violations(page) == []


def test_the_search_box_finds_by_ticket_number_and_words(page: Page, live: Server) -> None:
    """A ticket typed with a space, the caller's number, or words: each finds the incident, linked."""
    with live.client(live.token("supervisor")) as api:
        ticket = api.post("/api/v1/calls", json=NO_HEAT).json()["ticket"]
        other = {"narrative": "big maple down on the porch", "location": {"lat": 42.93, "lon": -78.84}}
        assert api.post("/api/v1/calls", json={**other, "category": "debris"}).status_code == 201
    sign_in_as(page, live, "ada", "agent")
    page.goto("/agent")
    for query in (ticket.replace("-", " "), "716 555 0142", "heat ride"):
        box = page.get_by_role("searchbox", name="Find a ticket, number, address or words")
        box.fill(query)
        box.press("Enter")
        results = page.locator("#search-results")
        expect(results.get_by_role("link", name=ticket)).to_be_visible()
        expect(results).not_to_contain_text("maple")
    page.locator("#search-q").fill("nothing like this")
    page.locator("#search-q").press("Enter")
    expect(page.locator("#search-summary")).to_contain_text("Nothing found")
    page.goto(f"/search?q={ticket}")
    page.locator("#search-results").get_by_role("link", name=ticket).click()
    expect(page.get_by_role("heading", name=f"Ticket {ticket}")).to_be_visible()
    assert csp_violations(page) == []


def test_a_call_nobody_could_place_is_placed_from_the_queue(page: Page, live: Server) -> None:
    """A call the gazetteer cannot place waits in the queue; a click on the map places it."""
    with live.client(live.token("supervisor")) as api:
        lost = {"narrative": "tree on the wires", "address": "behind the old grain elevator by the creek"}
        ticket = api.post("/api/v1/calls", json={**lost, "category": "debris"}).json()["ticket"]
        assert api.get(f"/api/v1/incidents/{ticket}").json()["incident"]["needs_location"] is True
    sign_in_as(page, live, "ada", "agent")
    page.goto("/locate")
    expect(page.locator("#locate")).to_have_attribute("data-ready", "true", timeout=10_000)
    expect(page.locator("#locate-count")).to_have_text("1 not on the map")
    expect(page.locator("#map-frame")).to_have_attribute("data-ready", "true", timeout=10_000)
    page.get_by_role("button", name=re.compile(ticket)).click()
    expect(page.locator("#chosen-text")).to_contain_text("grain elevator")
    page.locator("#map-frame .leaflet-container").click(position={"x": 200, "y": 150})
    page.get_by_role("button", name="Place it here").click()
    expect(page.locator("#place-result")).to_have_text(f"{ticket} placed.")
    expect(page.locator("#locate-count")).to_have_text("Every call is placed.", timeout=5_000)
    with live.client(live.token("supervisor")) as api:
        placed = api.get(f"/api/v1/incidents/{ticket}").json()["incident"]
    assert placed["needs_location"] is False
    assert placed["located_by"]["method"] == "manual"
    assert csp_violations(page) == []


def test_a_street_only_suggestion_shows_the_stretch_it_may_be_on(page: Page, live: Server) -> None:
    """A queued call known only by its street shows the street's box on the map, not just a dot (issue 21)."""
    with live.client(live.token("supervisor")) as api:
        lost = {"narrative": "tree on the wires", "address": "1128 Elmwood apt 2", "category": "debris"}
        ticket = api.post("/api/v1/calls", json=lost).json()["ticket"]
    sign_in_as(page, live, "ada", "agent")
    page.goto("/locate")
    expect(page.locator("#locate")).to_have_attribute("data-ready", "true", timeout=10_000)
    expect(page.locator("#map-frame")).to_have_attribute("data-ready", "true", timeout=10_000)
    page.get_by_role("button", name=re.compile(ticket)).click()
    expect(page.locator("#chosen-candidates")).to_contain_text("ELMWOOD AVE")
    expect(page.locator("#map-frame path.candidate-extent").first).to_be_attached()
    assert csp_violations(page) == []


def test_the_agent_asks_for_a_ride_and_refers_by_phone_from_the_console(page: Page, live: Server) -> None:
    """After logging: a ride to the nearest suitable station, and a referral whose agency phone is shown."""
    with live.client(live.token("supervisor")) as api:
        for site, accessible in (("canisius", False), ("bennett", True)):
            body = {"capacity_day": 40, "capacity_overnight": 40, "amenities": {"accessible": accessible}}
            assert api.post(f"/api/v1/stations/{site}/open", json=body).status_code == 200
    sign_in_as(page, live, "ada", "agent")
    page.goto("/agent")
    expect(page.locator("#map-frame")).to_have_attribute("data-ready", "true", timeout=10_000)
    page.locator("#narrative").fill("no heat, my mother uses a wheelchair, we need a ride")
    page.locator("#category").select_option("shelter_transport")
    page.get_by_label("Does anyone use a wheelchair?").select_option("yes")
    page.get_by_label("How many people would go, including you?").fill("2")
    page.locator("#address").fill("Main St & Hertel Ave")
    page.locator("#address").press("Enter")
    expect(page.locator("#located")).to_contain_text("HERTEL", timeout=5_000)
    page.keyboard.press("Control+Enter")
    expect(page.locator("#ticket-number")).to_have_text(re.compile(r"^\d{4}-\d{6}$"), timeout=5_000)
    ticket = page.locator("#ticket-number").inner_text()
    followup = page.locator("#followup")
    expect(followup).to_be_visible()
    page.get_by_text("Request a ride to a warming station").click()
    expect(page.locator("#ride-party")).to_have_value("2")
    expect(page.locator("#ride-wheelchairs")).to_have_value("1")
    station = page.locator("#ride-station")
    expect(station.locator("option:checked")).to_contain_text("Bennett", timeout=5_000)  # accessible
    expect(station.locator("option:checked")).to_contain_text("nearest that suits")
    page.get_by_role("button", name="Request the ride").click()
    expect(page.locator("#followup-result")).to_contain_text("requested to bennett", timeout=5_000)
    expect(page.locator("#ticket-rides")).to_contain_text("requested")
    page.get_by_text("Refer to an agency").click()
    page.get_by_label("Find an agency").fill("senior")
    page.locator("#referral-agency").select_option("svc-erie-senior-services")
    expect(page.locator("#agency-how")).to_contain_text("By phone: call")
    page.get_by_label("The caller agreed").check()
    page.get_by_role("button", name="Refer", exact=True).click()
    expect(page.locator("#followup-result")).to_contain_text("call them now on", timeout=5_000)
    expect(page.locator("#ticket-referrals")).to_contain_text("by phone")
    with live.client(live.token("supervisor")) as api:
        history = api.get(f"/api/v1/incidents/{ticket}/history").json()["events"]
    kinds = [e["event"]["type"] for e in history]
    assert "transport.changed" in kinds
    assert "referral.changed" in kinds
    assert csp_violations(page) == []


def test_an_admin_makes_an_account_and_a_crew_on_the_page(page: Page, live: Server) -> None:
    """Accounts are made, reset and disabled, and crews made, from the page; the new account signs in."""
    page.goto("/login")
    page.get_by_label("Name").fill("chief")
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("/admin/people$"))
    form = page.locator("#new-person")
    form.get_by_label("Name").fill("kim")
    form.get_by_label("Role").select_option("crew")
    form.get_by_label("Crew (crew members only)").fill("saw-7")
    form.get_by_label("Password").fill("first passphrase here")
    form.get_by_role("button", name="Create account").click()
    expect(page.locator("#people-done")).to_contain_text("Account kim (crew) created.")
    row = page.locator("#people tr[data-user=kim]")
    row.get_by_label("New password for kim").fill("second passphrase here")
    row.get_by_role("button", name="Set password").click()
    expect(page.locator("#people-done")).to_contain_text("New password set for kim")
    crew = page.locator("#new-crew")
    crew.get_by_label("Id", exact=True).fill("saw-7")
    crew.get_by_label("Name", exact=True).fill("Saw 7")
    crew.get_by_label("Kind").select_option("debris_forestry")
    crew.get_by_label("line clearance").check()
    crew.get_by_label("Base latitude").fill("42.9")
    crew.get_by_label("Base longitude").fill("-78.85")
    crew.get_by_role("button", name="Create crew").click()
    expect(page.locator("#crews tr[data-crew=saw-7]")).to_contain_text("line clearance", timeout=5_000)
    page.locator("#people tr[data-user=kim]").get_by_role("button", name="Disable kim").click()
    expect(page.locator("#people tr[data-user=kim]")).to_contain_text("disabled")
    assert csp_violations(page) == []


def test_past_storms_list_their_reports_and_the_charts_have_axes(page: Page, live: Server) -> None:
    """The supervisor reaches the storm's report from the board; its charts have axes, times and units."""
    with live.client(live.token("supervisor")) as api:
        storm = {"mode": "incident", "name": "December Storm", "reason": "lake-effect snow"}
        assert api.post("/api/v1/mode", json=storm).status_code == 200
        for _ in range(3):
            assert api.post("/api/v1/calls", json=NO_HEAT).status_code == 201
    sign_in_as(page, live, "sam", "supervisor")
    page.goto("/supervisor")
    expect(page.locator("#supervisor")).to_have_attribute("data-ready", "true", timeout=10_000)
    page.get_by_role("link", name="Past storms and their reports").click()
    expect(page.locator("#storms")).to_contain_text("December Storm")
    expect(page.locator("#storms")).to_contain_text("still active")
    page.get_by_role("link", name="After-action report (so far)").click()
    expect(page.get_by_role("heading", name="After-action report: December Storm")).to_be_visible()
    chart = page.locator("#calls-per-hour")
    expect(chart.locator("text.axis-title")).to_have_text(
        ["Hour starting (America/New_York)", "calls per hour"]
    )
    assert chart.locator("text.tick").count() >= 3  # y ticks and at least one time label
    expect(page.locator("#by-category text.tick", has_text="shelter_transport")).to_have_count(1)
    assert csp_violations(page) == []
