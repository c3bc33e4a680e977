"""One call through every screen at once: agent, supervisor, crew phone, and the live map watching."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.pages.helpers import ARTIFACTS, CSP_PROBE, csp_violations, sign_in_as
from tests.server import Server


def _person(browser: Browser, live: Server, name: str, role: str, *extra: str) -> Page:
    """A person at their own browser, signed in."""
    context = browser.new_context(base_url=live.url)
    context.add_init_script(CSP_PROBE)
    page = context.new_page()
    sign_in_as(page, live, name, role, *extra)
    return page


def _status_on_map(watcher: Page, ticket: str, status: str) -> None:
    watcher.wait_for_function(
        "([t, s]) => window.stormlineMap.markers.get(t)?.data.status === s",
        arg=[ticket, status],
        timeout=20_000,
    )


def test_a_911_call_is_filed_released_assigned_and_cleared_while_the_map_watches(
    browser: Browser, live: Server
) -> None:
    """Agent files a 911 call; a supervisor releases and assigns it; the crew clears it; the map follows."""
    watcher = _person(browser, live, "wall", "supervisor")
    watcher.goto("/map")
    expect(watcher.locator("#map-frame")).to_have_attribute("data-ready", "true", timeout=15_000)
    agent = _person(browser, live, "ada", "agent")
    agent.goto("/agent")
    expect(agent.locator("#map-frame")).to_have_attribute("data-ready", "true", timeout=10_000)
    agent.keyboard.type("a tree fell on the car and the driver is trapped and not moving")
    expect(agent.locator("#transfer")).to_be_visible(timeout=5_000)
    agent.keyboard.press("Tab")
    agent.keyboard.type("Bailey & Kensington")
    agent.keyboard.press("Enter")
    expect(agent.locator("#located")).to_contain_text("KENSINGTON", timeout=5_000)
    agent.keyboard.press("Control+Enter")
    expect(agent.locator("#ticket-number")).to_have_text(re.compile(r"^\d{4}-\d{6}$"), timeout=5_000)
    ticket = agent.locator("#ticket-number").inner_text()
    _status_on_map(watcher, ticket, "open")

    with live.client(live.token("supervisor")) as api:
        crew = {
            "id": "saw-1",
            "name": "Saw 1",
            "kind": "debris_forestry",
            "base": {"lat": 42.93, "lon": -78.82},
        }
        assert api.post("/api/v1/crews", json=crew).status_code == 201
        # An emergency is 911's: told by 911 to clear the tree, the supervisor makes it debris (P1) for a
        # saw crew, then releases it from the 911 hold and assigns it from the dashboard.
        override = {"category": "debris", "priority": "P1", "reason": "911 asked us to cut the tree"}
        assert api.post(f"/api/v1/incidents/{ticket}/override", json=override).status_code == 200
    boss = _person(browser, live, "sam", "supervisor")
    boss.goto("/supervisor")
    expect(boss.locator("#supervisor")).to_have_attribute("data-ready", "true", timeout=10_000)
    row = boss.locator(f"#waiting tr[data-ticket='{ticket}']")
    expect(row).to_have_count(0)  # 911's work is not mixed into the waiting list
    boss.get_by_role("button", name=re.compile("Held for 911")).click()
    expect(row).to_contain_text("HELD FOR 911")
    boss.once("dialog", lambda dialog: dialog.accept("911 asked us to cut the tree"))
    row.get_by_role("button", name="Release from 911 hold").click()
    boss.get_by_role("button", name=re.compile("Waiting for a crew")).click()
    row.get_by_role("button", name="Recommend crews").click(timeout=8_000)
    row.get_by_role("button", name="Assign Saw 1").click()
    expect(boss.locator("#assign-result")).to_contain_text("assigned to Saw 1")
    _status_on_map(watcher, ticket, "assigned")

    phone = _person(browser, live, "kim", "crew", "--crew", "saw-1")
    phone.goto("/crew")
    job = phone.locator(f"#jobs > li[data-tickets='{ticket}']")
    expect(job).to_be_visible(timeout=10_000)
    for step, status in (("En route", "en_route"), ("On scene", "on_scene")):
        job.get_by_role("button", name=step).click()
        _status_on_map(watcher, ticket, status)
    job.get_by_role("button", name="Cleared").click()
    watcher.wait_for_function("(t) => !window.stormlineMap.markers.has(t)", arg=ticket, timeout=20_000)
    ARTIFACTS.mkdir(exist_ok=True)
    watcher.screenshot(path=str(ARTIFACTS / "storm-night-map.png"))
    for page in (watcher, agent, boss, phone):
        assert csp_violations(page) == []
        page.context.close()


STORM_PASSWORD = "a storm night passphrase"


def _signed_in(browser: Browser, live: Server, name: str, password: str = STORM_PASSWORD) -> Page:
    """A person at their own browser, signed in through the sign-in page."""
    context = browser.new_context(base_url=live.url)
    context.add_init_script(CSP_PROBE)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page


def _log_call(agent: Page, words: str, address: str, *, attach: bool = False) -> str:
    """The agent takes one call by keyboard and reads the ticket back; Esc is left to the caller."""
    agent.locator("#narrative").focus()
    agent.keyboard.type(words)
    expect(agent.locator("#triage-decision")).not_to_have_text("Type what the caller says.", timeout=5_000)
    agent.keyboard.press("Tab")
    agent.keyboard.type(address)
    agent.keyboard.press("Enter")
    expect(agent.locator("#located")).not_to_be_empty(timeout=5_000)
    if attach:
        expect(agent.locator("#nearby-list button").first).to_be_visible(timeout=5_000)
        agent.keyboard.press("Alt+1")
    agent.keyboard.press("Control+Enter")
    expect(agent.locator("#ticket-number")).to_have_text(re.compile(r"^\d{4}-\d{6}$"), timeout=5_000)
    return agent.locator("#ticket-number").inner_text()


def test_a_whole_storm_night_is_worked_from_the_pages_alone(browser: Browser, live: Server) -> None:
    """Accounts, crews, the storm, eight calls (911, a duplicate, an unplaced one, a ride, a phone
    referral), placing, van run and drop-off, a crew's job to cleared, stand-down and the report."""
    chief = _signed_in(browser, live, "chief", "a long enough passphrase")
    expect(chief).to_have_url(re.compile("/admin/people$"))
    for crew_id, name, kind, lat, lon, seats in (
        ("saw-1", "Saw 1", "debris_forestry", "42.94", "-78.83", ""),
        ("van-1", "Van 1", "transport_van", "42.92", "-78.85", "6"),
    ):
        form = chief.locator("#new-crew")
        form.get_by_label("Id", exact=True).fill(crew_id)
        form.get_by_label("Name", exact=True).fill(name)
        form.get_by_label("Kind").select_option(kind)
        form.get_by_label("Base latitude").fill(lat)
        form.get_by_label("Base longitude").fill(lon)
        if seats:
            form.get_by_label("Seats for riders (vans)").fill(seats)
            form.get_by_label("Wheelchair spaces (vans)").fill("1")
        form.get_by_role("button", name="Create crew").click()
        expect(chief.locator(f"#crews tr[data-crew='{crew_id}']")).to_be_visible(timeout=5_000)
    for person, role, crew in (
        ("sam", "supervisor", ""),
        ("ada", "agent", ""),
        ("cora", "coordinator", ""),
        ("kim", "crew", "saw-1"),
        ("val", "crew", "van-1"),
    ):
        form = chief.locator("#new-person")
        form.get_by_label("Name").fill(person)
        form.get_by_label("Role").select_option(role)
        form.get_by_label("Crew (crew members only)").fill(crew)
        form.get_by_label("Password").fill(STORM_PASSWORD)
        form.get_by_role("button", name="Create account").click()
        expect(chief.locator("#people-done")).to_contain_text(f"Account {person} ({role}) created.")

    boss = _signed_in(browser, live, "sam")
    expect(boss).to_have_url(re.compile("/supervisor$"))
    expect(boss.locator("#supervisor")).to_have_attribute("data-ready", "true", timeout=10_000)
    boss.locator("#mode").select_option("incident")
    boss.locator("#mode-name").fill("December Storm")
    boss.locator("#mode-reason").fill("lake-effect snow, trees and wires down")
    boss.get_by_role("button", name="Switch").click()
    expect(boss.locator("#mode-now")).to_contain_text("December Storm", timeout=5_000)

    coordinator = _signed_in(browser, live, "cora")
    expect(coordinator.locator("#coordinator")).to_have_attribute("data-ready", "true", timeout=10_000)
    coordinator.locator("#open-site").select_option("bennett")
    coordinator.locator("#open-form").get_by_label("Day places").fill("40")
    coordinator.locator("#open-form").get_by_label("Overnight").fill("40")
    coordinator.get_by_role("button", name="Open station").click()
    expect(coordinator.locator("#stations tr[data-station=bennett]")).to_contain_text("open", timeout=5_000)

    agent = _signed_in(browser, live, "ada")
    expect(agent.locator("#map-frame")).to_have_attribute("data-ready", "true", timeout=10_000)
    # 1. A life at risk: the supervisor is alarmed until the transfer starts, the agent records it.
    emergency = _log_call(agent, "a tree fell on the car and the driver is trapped", "Bailey & Kensington")
    expect(boss.locator("#alerts")).to_contain_text(f"life-safety call {emergency}", timeout=10_000)
    for key in ("Alt+l", "Alt+t", "Alt+r"):
        agent.keyboard.press(key)
        expect(agent.locator("#handoff-done")).to_contain_text("recorded", timeout=5_000)
    agent.keyboard.press("Escape")
    # 2–3. A tree down, and a second caller about it attached to the same report.
    tree = _log_call(agent, "big tree down blocking the street", "Main St & Hertel Ave")
    agent.keyboard.press("Escape")
    again = _log_call(agent, "another tree across the road here", "Main St & Hertel Ave", attach=True)
    assert again == tree
    expect(agent.locator("#receipt")).to_contain_text("Added to this report.")
    agent.keyboard.press("Escape")
    # 4. A place the gazetteer does not know: logged all the same, to be placed.
    lost = _log_call(agent, "branch hanging on the wires over the street", "behind the old grain elevator")
    expect(agent.locator("#receipt")).to_contain_text("needs-location queue")
    agent.keyboard.press("Escape")
    # 5. No heat: a ride to the open station, asked for while the caller is on the line.
    ride = _log_call(
        agent, "no heat since last night, we need a ride to a warming station", "Jefferson Ave & E Ferry St"
    )
    agent.get_by_text("Request a ride to a warming station").click()
    expect(agent.locator("#ride-station option:checked")).to_contain_text("Bennett", timeout=5_000)
    agent.get_by_role("button", name="Request the ride").click()
    expect(agent.locator("#followup-result")).to_contain_text("requested to bennett", timeout=5_000)
    agent.keyboard.press("Escape")
    # 6. Medication: referred to an agency reached by phone.
    referred = _log_call(
        agent,
        "my father ran out of his blood pressure pills and the pharmacy is closed",
        "Delaware Ave & Delavan Ave",
    )
    agent.get_by_text("Refer to an agency").click()
    agent.get_by_label("Find an agency").fill("older adults")
    agent.locator("#referral-agency").select_option("svc-erie-senior-services")
    agent.get_by_label("The caller agreed").check()
    agent.get_by_role("button", name="Refer", exact=True).click()
    expect(agent.locator("#followup-result")).to_contain_text("call them now on", timeout=5_000)
    agent.keyboard.press("Escape")
    # 7–8. Two more.
    _log_call(agent, "a limb came down on the sidewalk", "Elmwood Ave & Forest Ave")
    agent.keyboard.press("Escape")
    _log_call(agent, "the traffic light is out at the corner", "Broadway & Fillmore Ave")
    agent.keyboard.press("Escape")

    # The unplaced call, placed from the queue.
    agent.get_by_role("navigation", name="Consoles").get_by_role("link", name="Needs location").click()
    expect(agent.locator("#locate")).to_have_attribute("data-ready", "true", timeout=10_000)
    expect(agent.locator("#map-frame")).to_have_attribute("data-ready", "true", timeout=10_000)
    agent.get_by_role("button", name=re.compile(lost)).click()
    agent.locator("#map-frame .leaflet-container").click(position={"x": 200, "y": 150})
    agent.get_by_role("button", name="Place it here").click()
    expect(agent.locator("#place-result")).to_have_text(f"{lost} placed.")

    # The ride: planned on the coordinator's board, picked up and dropped off from the van's phone.
    ride_row = coordinator.locator("#rides tr", has_text=ride)
    expect(ride_row).to_contain_text("requested", timeout=5_000)
    coordinator.get_by_role("button", name="Plan van runs for waiting rides").click()
    expect(ride_row).to_contain_text("van-1", timeout=5_000)
    van = _signed_in(browser, live, "val")
    card = van.locator(f"#jobs > li[data-tickets='{ride}']")
    expect(card).to_contain_text("Take them to Lewis J Bennett High School", timeout=10_000)
    card.get_by_role("button", name="Picked up").click()
    card.get_by_role("button", name="Dropped off at Lewis J Bennett High School").click()
    expect(van.locator("#crew-status")).to_have_text("No jobs right now.", timeout=5_000)
    expect(coordinator.locator("#stations tr[data-station=bennett]")).to_contain_text(
        "1 / 0 / ", timeout=5_000
    )
    # The referral: the agency said yes on the phone.
    referral_row = coordinator.locator("#referrals tr", has_text=referred)
    referral_row.get_by_role("button", name="accepted").click()
    expect(referral_row).to_contain_text("accepted", timeout=5_000)

    # The tree: the supervisor sends the saw crew; the crew works it to cleared.
    row = boss.locator(f"#waiting tr[data-ticket='{tree}']")
    row.get_by_role("button", name="Recommend crews").click(timeout=10_000)
    row.get_by_role("button", name="Assign Saw 1").click()
    expect(boss.locator("#assign-result")).to_contain_text(f"{tree} assigned to Saw 1")
    saw = _signed_in(browser, live, "kim")
    job = saw.locator(f"#jobs > li[data-tickets='{tree}']")
    expect(job).to_contain_text("big tree down blocking the street", timeout=10_000)
    for step in ("En route", "On scene", "Cleared"):
        job.get_by_role("button", name=step).click()
    expect(saw.locator("#crew-status")).to_have_text("No jobs right now.", timeout=5_000)

    # Stand-down, and the storm's report from the board.
    boss.locator("#mode").select_option("normal")
    boss.locator("#mode-reason").fill("storm over, power back")
    boss.once("dialog", lambda dialog: dialog.accept())
    boss.get_by_role("button", name="Switch").click()
    expect(boss.locator("#mode-now")).to_have_attribute("data-mode", "normal", timeout=5_000)
    boss.get_by_role("link", name="December Storm: after-action report").click()
    expect(boss.get_by_role("heading", name="After-action report: December Storm")).to_be_visible()
    expect(boss.locator("main")).to_contain_text("7 incidents from 8 calls")
    expect(boss.locator("main")).to_contain_text("1 people dropped off")
    ARTIFACTS.mkdir(exist_ok=True)
    boss.screenshot(path=str(ARTIFACTS / "storm-night-report.png"), full_page=True)
    for page in (chief, boss, coordinator, agent, van, saw):
        assert csp_violations(page) == []
        page.context.close()
