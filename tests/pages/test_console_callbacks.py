"""The agent console's registry match and callbacks in Chromium: said while the caller is on the line."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from tests.pages.helpers import ARTIFACTS, csp_violations, sign_in_as
from tests.server import Server

RESIDENT = {
    "name": "Rosa Parks",
    "address": "Elmwood Ave & Forest Ave",
    "location": {"lat": 42.9247, "lon": -78.8768},
    "phone": "716-555-0142",
    "needs": ["oxygen", "lives_alone"],
    "consent_date": "2026-10-01",
    "consent_source": "phone, test",
}


def _console(page: Page, live: Server) -> None:
    sign_in_as(page, live, "ada", "agent")
    page.goto("/agent")
    expect(page.locator("#map-frame")).to_have_attribute("data-ready", "true", timeout=10_000)
    expect(page.locator("#callbacks")).to_have_attribute("data-ready", "true", timeout=10_000)


def test_a_registered_caller_is_said_as_the_number_is_typed_and_on_the_receipt(
    page: Page, live: Server
) -> None:
    """The caller's number, as it is typed, shows their registered needs; the logged call's receipt too."""
    with live.client(live.token("supervisor")) as api:
        assert api.post("/api/v1/registry", json=RESIDENT).status_code == 201
    _console(page, live)
    registered = page.locator("#registered")
    assert registered.get_attribute("role") == "status"
    page.keyboard.type("the power is out and my oxygen machine stopped")
    page.locator("#callback_number").fill("(716) 555-0142")
    expect(registered).to_have_text(
        "Registered resident: Rosa Parks — needs: lives alone, oxygen (matched by number)", timeout=5_000
    )
    page.locator("#callback_number").fill("716-555-0199")
    expect(registered).to_be_empty(timeout=5_000)
    page.locator("#callback_number").fill("716-555-0142")
    expect(registered).to_contain_text("Rosa Parks", timeout=5_000)
    page.locator("#address").fill("Bailey & Kensington")
    page.keyboard.press("Enter")
    expect(page.locator("#located")).to_contain_text("BAILEY AVE & KENSINGTON AVE", timeout=5_000)
    page.keyboard.press("Control+Enter")
    expect(page.locator("#ticket-number")).to_have_text(re.compile(r"^\d{4}-\d{6}$"), timeout=5_000)
    expect(page.locator("#receipt")).to_contain_text(
        "Registered resident: Rosa Parks — needs: lives alone, oxygen"
    )
    page.keyboard.press("Escape")
    expect(registered).to_be_empty()
    assert csp_violations(page) == []


def test_the_agent_works_a_callback_and_promises_another(page: Page, live: Server) -> None:
    """Queue and overdue counts show; the next callback is taken and recorded; a promised call is queued."""
    with live.client(live.token("supervisor")) as api:
        asked = {
            "phone": "716-555-0177",
            "reason": "abandoned",
            "name": "Hung Up",
            "note": "waited 6 minutes",
        }
        assert api.post("/api/v1/callbacks", json=asked).status_code == 201
        late = {"phone": "716-555-0178", "reason": "ivr", "promised_at": "2026-01-01T10:00:00-05:00"}
        assert api.post("/api/v1/callbacks", json=late).status_code == 201
    _console(page, live)
    expect(page.locator("#callback-counts")).to_have_text("2 waiting · 1 overdue")
    page.get_by_role("button", name="Take next callback").click()
    expect(page.locator("#callback-phone a")).to_have_text("716-555-0178", timeout=5_000)  # promised earliest
    expect(page.locator("#callback-reason")).to_have_text("asked at the phone menu")
    expect(page.locator("#callback-phone a")).to_have_attribute("href", "tel:+17165550178")
    page.locator("#callbacks").get_by_role("button", name="No answer").click()
    expect(page.locator("#callback-result")).to_contain_text("goes back in the queue", timeout=5_000)
    expect(page.locator("#callback")).to_be_hidden()
    expect(page.locator("#callback-counts")).to_have_text("2 waiting · 0 overdue", timeout=5_000)  # tried
    page.get_by_role("button", name="Take next callback").click()  # not reached: behind the other now
    expect(page.locator("#callback-name")).to_have_text("Hung Up", timeout=5_000)
    expect(page.locator("#callback-about")).to_have_text("waited 6 minutes")
    page.locator("#callbacks").get_by_role("button", name="Reached").click()
    expect(page.locator("#callback-result")).to_have_text("Recorded: 716-555-0177 reached.", timeout=5_000)
    page.get_by_role("button", name="Take next callback").click()
    expect(page.locator("#callback-phone a")).to_have_text("716-555-0178", timeout=5_000)
    page.locator("#callbacks").get_by_role("button", name="Wrong number").click()
    expect(page.locator("#callback-result")).to_have_text(
        "Recorded: 716-555-0178 not reached; no more tries.", timeout=5_000
    )
    expect(page.locator("#callback-counts")).to_have_text("0 waiting · 0 overdue", timeout=5_000)
    page.get_by_role("button", name="Take next callback").click()
    expect(page.locator("#callback-result")).to_have_text("No callback is due now.", timeout=5_000)

    page.locator("#callback_number").fill("716-555-0123")
    page.locator("#caller_name").fill("Lou Reed")
    page.get_by_label("Number to call").focus()
    expect(page.get_by_label("Number to call")).to_have_value("716-555-0123")
    page.get_by_label("Promised time").fill("2030-12-24T15:00")
    page.get_by_role("button", name="Add to the callbacks").click()
    expect(page.locator("#later-result")).to_contain_text("716-555-0123 will be called back", timeout=5_000)
    expect(page.locator("#callback-counts")).to_have_text("1 waiting · 0 overdue", timeout=5_000)
    with live.client(live.token("supervisor")) as api:
        queue = api.get("/api/v1/callbacks").json()["items"]
    promised = [c for c in queue if c["reason"] == "agent"]
    assert [(c["phone"], c["name"]) for c in promised] == [("716-555-0123", "Lou Reed")]
    when = datetime.fromisoformat(promised[0]["promised_at"])
    assert when.tzinfo is not None
    assert when.astimezone(UTC).year == 2030
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "agent-callbacks.png"), full_page=True)
    assert csp_violations(page) == []
