"""The aliases page in Chromium: a supervisor reviews, corrects and removes what agents' pins taught."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.pages.helpers import csp_violations, sign_in_as
from tests.server import Server


def test_a_supervisor_reviews_corrects_and_removes_an_alias(page: Page, live: Server) -> None:
    """A learnt alias is listed; corrected, agents' look-ups follow it; removed, it is gone."""
    with live.client(live.token("supervisor")) as api:
        learnt = {"text": "Shoreline Deck", "point": {"lat": 42.904, "lon": -78.9016}}
        assert api.put("/api/v1/geo/aliases", json=learnt).is_success
    sign_in_as(page, live, "sam", "supervisor")
    page.goto("/admin/aliases")
    row = page.locator("#aliases tr[data-text='Shoreline Deck']")
    expect(row).to_contain_text("42.904000")
    row.get_by_role("button", name="Correct the alias Shoreline Deck").click()
    page.get_by_label("Latitude").fill("42.9041")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#alias-result")).to_have_text('Saved "Shoreline Deck".')
    expect(row).to_contain_text("42.904100")
    with live.client(live.token("agent")) as api:
        best = api.get("/api/v1/geo/geocode", params={"q": "shoreline deck"}).json()["results"][0]
        assert best["method"] == "alias"
        assert best["point"]["lat"] == 42.9041
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Remove the alias Shoreline Deck").click()
    expect(page.locator("#aliases")).to_contain_text("No aliases yet.")
    assert csp_violations(page) == []


def test_a_supervisor_confirms_an_agents_pin_and_it_becomes_an_alias(page: Page, live: Server) -> None:
    """One agent's pin waits on the page; the supervisor confirms it and every look-up answers it."""
    with live.client(live.token("agent")) as api:
        call = {
            "narrative": "tree down on the car",
            "category": "debris",
            "address": "behind the old grain elevator",
        }
        ticket = api.post("/api/v1/calls", json=call).json()["ticket"]
        pin = {"point": {"lat": 42.8701, "lon": -78.8702}}
        assert api.post(f"/api/v1/incidents/{ticket}/location", json=pin).is_success
    sign_in_as(page, live, "sam", "supervisor")
    page.goto("/admin/aliases")
    waiting = page.locator("#pins tr[data-text='behind the old grain elevator']")
    expect(waiting).to_contain_text("42.870100")
    waiting.get_by_role("button", name=re.compile("Confirm .* pin for behind the old grain elevator")).click()
    expect(page.locator("#aliases tr[data-text='behind the old grain elevator']")).to_be_visible()
    expect(page.locator("#pins")).to_contain_text("No pins waiting.")
    with live.client(live.token("agent")) as api:
        found = api.get("/api/v1/geo/geocode", params={"q": "Behind the old grain elevator"}).json()
        assert found["sure"] is True
        assert found["results"][0]["method"] == "alias"
    assert csp_violations(page) == []
