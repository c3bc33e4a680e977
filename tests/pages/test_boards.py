"""The supervisor's and the coordinator's boards in Chromium: they act, and they follow events live."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.pages.helpers import ARTIFACTS, csp_violations, sign_in_as
from tests.server import Server

RIDE = {"narrative": "no heat, need a ride to a warming station", "location": {"lat": 42.93, "lon": -78.83}}


def test_the_supervisor_switches_mode_and_watches_queues_and_alerts_live(page: Page, live: Server) -> None:
    """The mode switch works from the board; a new call and an alarm show on it without a reload."""
    sign_in_as(page, live, "sam", "supervisor")
    page.goto("/supervisor")
    expect(page.locator("#supervisor")).to_have_attribute("data-ready", "true", timeout=10_000)
    assert page.locator("#surge-chart").get_attribute("data-windows") == "96"
    page.locator("#mode").select_option("incident")
    page.locator("#mode-name").fill("November Storm")
    page.locator("#mode-reason").fill("lake-effect snow")
    page.get_by_role("button", name="Switch").click()
    expect(page.locator("#mode-now")).to_contain_text("November Storm", timeout=5_000)
    with live.client(live.token("supervisor")) as api:
        body = {"narrative": "tree down", "category": "debris", "location": {"lat": 42.93, "lon": -78.83}}
        ticket = api.post("/api/v1/calls", json=body).json()["ticket"]
        expect(page.locator("#queues tr[data-category=debris]")).to_contain_text("1", timeout=5_000)
        assert (
            api.post(
                "/api/v1/crews", json={"id": "saw-1", "name": "Saw 1", "kind": "debris_forestry"}
            ).status_code
            == 201
        )
        assert (
            api.post(f"/api/v1/incidents/{ticket}/assignment", json={"crew_id": "saw-1"}).status_code == 200
        )
        expect(page.locator("#crews")).to_contain_text("Saw 1", timeout=5_000)
        unable = api.post(
            f"/api/v1/crews/saw-1/work/{ticket}/mark", json={"mark": "unable", "reason": "wire down"}
        )
        assert unable.status_code == 200
    expect(page.locator("#alerts")).to_contain_text("crew_unable", timeout=5_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "supervisor.png"), full_page=True)
    assert csp_violations(page) == []


def test_the_coordinator_opens_a_station_and_follows_rides_and_referrals(page: Page, live: Server) -> None:
    """Opening a station from the board; a ride and a referral made elsewhere appear on it live."""
    sign_in_as(page, live, "cora", "coordinator")
    page.goto("/coordinator")
    expect(page.locator("#coordinator")).to_have_attribute("data-ready", "true", timeout=10_000)
    page.locator("#open-site").select_option("burgard")
    page.locator("#open-form").get_by_label("Day places").fill("60")
    page.locator("#open-form").get_by_label("Overnight").fill("40")
    page.get_by_role("button", name="Open station").click()
    expect(page.locator("#stations tr[data-station=burgard]")).to_contain_text("open", timeout=5_000)
    with live.client(live.token("supervisor")) as api:
        ticket = api.post("/api/v1/calls", json=RIDE).json()["ticket"]
        ride = api.post("/api/v1/transport/requests", json={"ticket": ticket, "party": 2})
        assert ride.status_code == 201, ride.text
        expect(page.locator("#rides")).to_contain_text(ticket, timeout=5_000)
        expect(page.locator("#stations tr[data-station=burgard]")).to_contain_text("0 / 2 / ", timeout=5_000)
        referral = {"service_id": "svc-211", "need": "food", "consent": {"given": True}}
        assert api.post(f"/api/v1/incidents/{ticket}/referrals", json=referral).status_code == 201
    referral_row = page.locator("#referrals tr", has_text="211 WNY")
    expect(referral_row).to_be_visible(timeout=5_000)
    referral_row.get_by_role("button", name="accepted").click()
    expect(referral_row).to_contain_text("accepted", timeout=5_000)
    page.once("dialog", lambda dialog: dialog.accept("family is taking them"))
    page.locator("#rides tr", has_text=ticket).get_by_role("button", name="Cancel ride").click()
    expect(page.locator("#rides tr", has_text=ticket)).to_contain_text("cancelled", timeout=5_000)
    expect(page.locator("#stations tr[data-station=burgard]")).to_contain_text("0 / 0 / ", timeout=5_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "coordinator.png"), full_page=True)
    assert csp_violations(page) == []


def test_planning_van_runs_works_and_a_failed_request_is_shown(page: Page, live: Server) -> None:
    """Plan van runs sends its CSRF token and plans the ride; a refused request is said on the page."""
    sign_in_as(page, live, "cody", "coordinator")
    with live.client(live.token("supervisor")) as api:
        van = {"id": "van-9", "name": "Van 9", "kind": "transport_van", "seats": 6}
        assert api.post("/api/v1/crews", json=van).status_code == 201
        assert (
            api.post(
                "/api/v1/stations/bennett/open", json={"capacity_day": 30, "capacity_overnight": 30}
            ).status_code
            == 200
        )
        ticket = api.post("/api/v1/calls", json=RIDE).json()["ticket"]
        assert api.post("/api/v1/transport/requests", json={"ticket": ticket, "party": 1}).status_code == 201
    page.goto("/coordinator")
    expect(page.locator("#coordinator")).to_have_attribute("data-ready", "true", timeout=10_000)
    expect(page.locator("#rides")).to_contain_text(ticket, timeout=5_000)
    page.get_by_role("button", name="Plan van runs for waiting rides").click()
    expect(page.locator("#rides tr", has_text=ticket)).to_contain_text("van-9", timeout=5_000)
    expect(page.locator("#request-error")).to_be_hidden()
    page.locator("#open-site").select_option("bennett")  # already open: the server refuses
    page.locator("#open-form").get_by_label("Day places").fill("60")
    page.locator("#open-form").get_by_label("Overnight").fill("40")
    page.get_by_role("button", name="Open station").click()
    expect(page.locator("#request-error")).to_be_visible(timeout=5_000)
    expect(page.locator("#request-error")).to_contain_text("Not done")
    assert csp_violations(page) == []


def test_closing_a_station_and_standing_down_ask_first_and_a_station_can_be_changed(
    page: Page, live: Server
) -> None:
    """A blank capacity is not 0; Edit changes an open station; Close and stand-down need a yes."""
    sign_in_as(page, live, "cora", "supervisor")
    page.goto("/coordinator")
    expect(page.locator("#coordinator")).to_have_attribute("data-ready", "true", timeout=10_000)
    row = page.locator("#stations tr[data-station=burgard]")
    page.locator("#open-site").select_option("burgard")
    page.locator("#open-form").get_by_label("Overnight").fill("40")
    page.get_by_role("button", name="Open station").click()  # day places left blank: the browser asks
    assert page.locator("#open-day").evaluate("(input) => input.validity.valueMissing")
    expect(row).to_contain_text("closed")
    page.locator("#open-form").get_by_label("Day places").fill("60")
    page.get_by_role("button", name="Open station").click()
    expect(row).to_contain_text("0 / 0 / ", timeout=5_000)
    row.get_by_role("button", name="Edit").click()
    dialog = page.locator("#edit-dialog")
    expect(dialog.get_by_label("Day places")).to_have_value("60")
    dialog.get_by_label("Day places").fill("75")
    dialog.get_by_label("Overnight places").fill("50")
    dialog.get_by_label("Hours").fill("8 am to 10 pm")
    dialog.get_by_role("button", name="Save").click()
    with live.client(live.token("supervisor")) as api:
        expect(page.locator("#station-result")).to_have_text(re.compile("changed"), timeout=5_000)
        station = next(
            v for v in api.get("/api/v1/stations").json()["items"] if v["station"]["id"] == "burgard"
        )
        assert (station["station"]["capacity_day"], station["station"]["hours"]) == (75, "8 am to 10 pm")
    page.once("dialog", lambda d: d.dismiss())
    row.get_by_role("button", name="Close").click()
    page.wait_for_timeout(500)
    expect(row).to_contain_text("open")
    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="Close").click()
    expect(row).to_contain_text("closed", timeout=5_000)

    page.goto("/supervisor")
    expect(page.locator("#supervisor")).to_have_attribute("data-ready", "true", timeout=10_000)
    page.locator("#mode").select_option("incident")
    page.locator("#mode-name").fill("November Storm")
    page.locator("#mode-reason").fill("lake-effect snow")
    page.get_by_role("button", name="Switch").click()
    expect(page.locator("#mode-now")).to_contain_text("November Storm", timeout=5_000)
    page.locator("#mode").select_option("normal")
    page.locator("#mode-reason").fill("storm over")
    page.once("dialog", lambda d: d.dismiss())
    page.get_by_role("button", name="Switch").click()
    page.wait_for_timeout(500)
    expect(page.locator("#mode-now")).to_contain_text("November Storm")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Switch").click()
    expect(page.locator("#mode-now")).to_have_attribute("data-mode", "normal", timeout=5_000)
    assert csp_violations(page) == []
