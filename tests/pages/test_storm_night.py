"""One call through every screen at once: agent, supervisor, crew phone, and the live map watching."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.pages.conftest import CSP_PROBE, csp_violations, sign_in_as
from tests.pages.test_live_map import ARTIFACTS
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
