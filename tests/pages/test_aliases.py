"""The aliases page in Chromium: a supervisor reviews, corrects and removes what agents' pins taught."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.pages.conftest import csp_violations, sign_in_as
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
