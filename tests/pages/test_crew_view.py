"""The crew's phone in Chromium: its jobs in order, one tap per step, its position shared."""

from __future__ import annotations

from playwright.sync_api import Browser, ViewportSize, expect

from tests.pages.conftest import CSP_PROBE, csp_violations, sign_in_as
from tests.pages.test_live_map import ARTIFACTS
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
