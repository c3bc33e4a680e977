"""The mode banner on every screen follows a supervisor's switch within seconds, without a reload."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.pages.helpers import csp_violations
from tests.server import Server


def _sign_in(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("Name").fill("chief")
    page.get_by_label("Password").fill("a long enough passphrase")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("chief (admin)")).to_be_visible()


def test_banner_appears_and_clears_as_the_center_switches(page: Page, live: Server) -> None:
    """An open page shows the incident banner and name after the switch, and loses it at stand-down."""
    _sign_in(page)
    page.goto("/")
    banner = page.locator("#mode-banner")
    expect(banner).to_be_hidden()
    with live.client(live.token("supervisor")) as supervisor:
        switched = supervisor.post(
            "/api/v1/mode", json={"mode": "incident", "name": "October Storm", "reason": "lake-effect snow"}
        )
        assert switched.status_code == 200, switched.text
        expect(banner).to_be_visible(timeout=10_000)
        expect(banner).to_contain_text("INCIDENT MODE")
        expect(banner).to_contain_text("October Storm")
        assert banner.get_attribute("data-mode") == "incident"
        # A page opened now has it from the server: 1 s is sooner than banner.js first asks.
        page.goto("/admin/tokens")
        expect(page.locator("#mode-banner")).to_contain_text("October Storm", timeout=1_000)
        stood_down = supervisor.post("/api/v1/mode", json={"mode": "normal", "reason": "storm over"})
        assert stood_down.status_code == 200, stood_down.text
    expect(page.locator("#mode-banner")).to_be_hidden(timeout=10_000)
    assert csp_violations(page) == []


def test_sign_in_page_shows_the_banner_to_everyone(page: Page, live: Server) -> None:
    """People not signed in (the sign-in page) get the banner too, in the mode's words for the public."""
    with live.client(live.token("supervisor")) as supervisor:
        answer = supervisor.post("/api/v1/mode", json={"mode": "standby", "reason": "storm forecast"})
        assert answer.status_code == 200, answer.text
        public_message = supervisor.get("/api/v1/status").json()["public_message"]
    page.goto("/login")
    banner = page.locator("#mode-banner")
    expect(banner).to_contain_text(public_message)
    expect(banner).not_to_contain_text("STANDBY")  # staff wording is for staff pages
    assert banner.get_attribute("data-mode") == "standby"
    assert page.locator("script[src*='banner.js']").count() == 0
