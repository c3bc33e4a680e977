"""The crew's phone in Chromium: its jobs in order, one tap per step, its position shared."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.pages.helpers import ARTIFACTS, CSP_PROBE, csp_violations, sign_in_as
from tests.server import Server

PHONE: ViewportSize = {"width": 390, "height": 844}


def test_a_crew_works_its_jobs_from_the_phone(browser: Browser, live: Server) -> None:
    """Jobs in driving order; en route, on scene, cleared by tapping; unable with a reason; position sent."""
    with live.client(live.token("supervisor")) as api:
        assert (
            api.post(
                "/api/v1/crews",
                json={
                    "id": "saw-1",
                    "name": "Saw 1",
                    "kind": "debris_forestry",
                    "base": {"lat": 42.90, "lon": -78.85},
                },
            ).status_code
            == 201
        )
        tickets = []
        for lat in (42.93, 42.91):
            body = {
                "narrative": "tree down, street blocked",
                "category": "debris",
                "location": {"lat": lat, "lon": -78.85},
            }
            ticket = api.post("/api/v1/calls", json=body).json()["ticket"]
            assert (
                api.post(f"/api/v1/incidents/{ticket}/assignment", json={"crew_id": "saw-1"}).status_code
                == 200
            )
            tickets.append(ticket)
        context = browser.new_context(
            base_url=live.url,
            viewport=PHONE,
            geolocation={"latitude": 42.905, "longitude": -78.85},
            permissions=["geolocation"],
        )
        context.add_init_script(CSP_PROBE)
        page = context.new_page()
        sign_in_as(page, live, "kim", "crew", "--crew", "saw-1")
        page.goto("/crew")
        expect(page.locator("#crew")).to_have_attribute("data-ready", "true", timeout=10_000)
        jobs = page.locator("#jobs > li")
        expect(jobs).to_have_count(2)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "crew-phone.png"), full_page=True)
        # Driving order from the base at 42.90: the nearer job (42.91) first.
        assert jobs.nth(0).get_attribute("data-tickets") == tickets[1]
        first = jobs.nth(0)
        for step, status in (("En route", "en_route"), ("On scene", "on_scene")):
            first.get_by_role("button", name=step).click()
            expect(page.locator(f"#jobs > li[data-tickets='{tickets[1]}']")).to_have_attribute(
                "data-status", status
            )
        page.locator(f"#jobs > li[data-tickets='{tickets[1]}']").get_by_role("button", name="Cleared").click()
        expect(jobs).to_have_count(1)
        jobs.nth(0).get_by_role("button", name="Unable").click()
        page.locator("#unable-reason").select_option("Needs a bucket truck")
        page.get_by_role("button", name="Send").click()
        expect(page.locator("#crew-status")).to_have_text("No jobs right now.")
        expect(page.locator("#position-status")).to_contain_text("Position shared", timeout=10_000)
        assert api.get(f"/api/v1/incidents/{tickets[1]}").json()["incident"]["status"] == "resolved"
        back = api.get(f"/api/v1/incidents/{tickets[0]}").json()["incident"]
        assert back["status"] == "open"
        crew = api.get("/api/v1/crews/saw-1").json()
        assert crew["position"]["lat"] == 42.905
        assert csp_violations(page) == []
        context.close()


def _phone(browser: Browser, live: Server, name: str, crew: str) -> Page:
    """A crew member's phone, signed in to its crew."""
    context = browser.new_context(base_url=live.url, viewport=PHONE)
    context.add_init_script(CSP_PROBE)
    page = context.new_page()
    sign_in_as(page, live, name, "crew", "--crew", crew)
    page.goto("/crew")
    expect(page.locator("#crew")).to_have_attribute("data-ready", "true", timeout=10_000)
    return page


def test_a_van_driver_picks_up_and_drops_off_a_ride(browser: Browser, live: Server) -> None:
    """A van's card shows the party, window and station; picked up then dropped off checks them in."""
    with live.client(live.token("supervisor")) as api:
        van = {"id": "van-1", "name": "Van 1", "kind": "transport_van", "seats": 6, "wheelchair_spaces": 1}
        assert (
            api.post("/api/v1/crews", json={**van, "base": {"lat": 42.93, "lon": -78.84}}).status_code == 201
        )
        opened = {"capacity_day": 40, "capacity_overnight": 40, "amenities": {"accessible": True}}
        assert api.post("/api/v1/stations/bennett/open", json=opened).status_code == 200
        call = {
            "narrative": "no heat since last night, need a ride",
            "location": {"lat": 42.935, "lon": -78.835},
        }
        ticket = api.post("/api/v1/calls", json={**call, "category": "shelter_transport"}).json()["ticket"]
        ride = api.post("/api/v1/transport/requests", json={"ticket": ticket, "party": 3, "wheelchairs": 1})
        assert ride.status_code == 201, ride.text
        ride_id = ride.json()["request"]["id"]
        run = {"crew_id": "van-1", "requests": [ride_id]}
        assert api.post("/api/v1/transport/runs", json=run).status_code == 201
        phone = _phone(browser, live, "val", "van-1")
        card = phone.locator(f"#jobs > li[data-tickets='{ticket}']")
        expect(card).to_contain_text("3 people (1 wheelchair)")
        expect(card).to_contain_text("Pick up between")
        expect(card).to_contain_text("Take them to Lewis J Bennett High School")
        expect(card.get_by_role("button", name="Cleared")).to_have_count(0)
        card.get_by_role("button", name="Picked up").click()
        expect(card.get_by_role("button", name="Dropped off at Lewis J Bennett High School")).to_be_visible()
        expect(card.get_by_role("link", name="Navigate to Lewis J Bennett High School")).to_have_attribute(
            "href", re.compile(r"destination=42\.94")
        )
        card.get_by_role("button", name="Dropped off at Lewis J Bennett High School").click()
        expect(phone.locator("#crew-status")).to_have_text("No jobs right now.")
        assert api.get(f"/api/v1/transport/requests/{ride_id}").json()["request"]["status"] == "dropped_off"
        station = next(
            v for v in api.get("/api/v1/stations").json()["items"] if v["station"]["id"] == "bennett"
        )
        assert (station["station"]["occupancy"], station["station"]["reserved"]) == (3, 0)
        assert api.get(f"/api/v1/incidents/{ticket}").json()["incident"]["status"] == "resolved"
        assert csp_violations(phone) == []
        phone.context.close()


def test_a_crew_card_says_what_the_caller_said_and_the_job_under_way_comes_first(
    browser: Browser, live: Server
) -> None:
    """The card shows ticket, words, hazard answers and a Navigate link; en route moves a job to the top."""
    with live.client(live.token("supervisor")) as api:
        saw = {
            "id": "saw-2",
            "name": "Saw 2",
            "kind": "debris_forestry",
            "base": {"lat": 42.90, "lon": -78.85},
        }
        saw["capabilities"] = ["line_clearance"]
        assert api.post("/api/v1/crews", json=saw).status_code == 201
        tickets = []
        for lat, words in (
            (42.91, "branch on the sidewalk"),
            (42.95, "big limb across the road with a wire"),
        ):
            body = {"narrative": words, "category": "debris", "location": {"lat": lat, "lon": -78.85}}
            body["answers"] = {"wire_down": lat > 42.94, "blocking_street": True}
            ticket = api.post("/api/v1/calls", json=body).json()["ticket"]
            assert (
                api.post(f"/api/v1/incidents/{ticket}/assignment", json={"crew_id": "saw-2"}).status_code
                == 200
            )
            tickets.append(ticket)
        phone = _phone(browser, live, "sol", "saw-2")
        jobs = phone.locator("#jobs > li")
        far = phone.locator(f"#jobs > li[data-tickets='{tickets[1]}']")
        expect(jobs.nth(0)).to_have_attribute("data-tickets", tickets[0])  # nearer the base
        expect(far).to_contain_text(tickets[1])
        expect(far).to_contain_text("“big limb across the road with a wire”")
        expect(far).to_contain_text("Is there a wire down with it? Yes")
        expect(far.get_by_role("link", name="Navigate to the job")).to_have_attribute(
            "href", re.compile(r"destination=42\.95,-78\.85")
        )
        far.get_by_role("button", name="En route").click()
        expect(jobs.nth(0)).to_have_attribute("data-tickets", tickets[1])
        assert csp_violations(phone) == []
        phone.context.close()
