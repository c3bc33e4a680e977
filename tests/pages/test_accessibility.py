"""Every page checked by axe-core (WCAG 2.1 A and AA rules) in Chromium, as each role sees it."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Browser, Page

from tests.pages.helpers import sign_in_as
from tests.server import Server
from tests.support import ROOT

AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PAGES = {
    None: [
        "/",
        "/login",
        "/track",
        "/track?ticket={ticket}",
        "/stations",
        "/track?ticket={ticket}&lang=ar",
        "/stations?lang=es",
        "/report",
        "/report?lang=ar",
    ],
    "agent": ["/agent", "/locate", "/map", "/incidents/{ticket}", "/search?q=tree", "/calldowns"],
    "supervisor": [
        "/supervisor",
        "/coordinator",
        "/storms",
        "/reports/{activation}",
        "/registry",
        "/calldowns",
    ],
    "crew": ["/crew"],
    "admin": ["/admin/people", "/admin/tokens", "/admin/aliases"],
}


@pytest.fixture
def seeded(live: Server) -> dict[str, str]:
    """A storm, a call and its crew, an open station, a resident, a call-down, a callback: all shown."""
    with live.client(live.token("supervisor")) as api:
        storm = api.post("/api/v1/mode", json={"mode": "incident", "name": "Axe Storm", "reason": "test"})
        activation = storm.json()["state"]["activation"]["id"]
        call = {
            "narrative": "tree down on the car",
            "category": "debris",
            "location": {"lat": 42.93, "lon": -78.83},
        }
        ticket = api.post("/api/v1/calls", json=call).json()["ticket"]
        assert api.post(
            "/api/v1/crews", json={"id": "saw-1", "name": "Saw 1", "kind": "debris_forestry"}
        ).is_success
        assert api.post(f"/api/v1/incidents/{ticket}/assignment", json={"crew_id": "saw-1"}).is_success
        assert api.post(
            "/api/v1/stations/burgard/open", json={"capacity_day": 9, "capacity_overnight": 9}
        ).is_success
        resident = {
            "name": "Axe Resident",
            "address": "Elmwood Ave & Forest Ave",
            "location": {"lat": 42.9247, "lon": -78.8768},
            "needs": ["oxygen"],
            "consent_date": "2026-10-01",
            "consent_source": "test",
        }
        assert api.post("/api/v1/registry", json=resident).is_success
        assert api.post("/api/v1/calldowns", json={"name": "Axe list", "districts": ["Delaware"]}).is_success
        assert api.post("/api/v1/callbacks", json={"phone": "716-555-0177", "reason": "ivr"}).is_success
    return {"ticket": ticket, "activation": activation}


def _violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "(tags) => axe.run(document, { runOnly: { type: 'tag', values: tags } }).then((r) => r.violations)",
        WCAG_21_AA,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}" for v in found
    ]


@pytest.mark.parametrize("role", list(PAGES), ids=lambda role: role or "resident")
def test_every_page_passes_wcag_21_aa(
    browser: Browser, live: Server, seeded: dict[str, str], role: str | None
) -> None:
    """No WCAG 2.1 A/AA violation (axe-core) and one h1 on every page this role opens, phone and desk."""
    problems: dict[str, list[str]] = {}
    for width, height in ((1280, 900), (390, 844)):
        context = browser.new_context(
            base_url=live.url, bypass_csp=True, viewport={"width": width, "height": height}
        )
        page = context.new_page()
        if role == "admin":
            page.goto("/login")
            page.get_by_label("Name").fill("chief")
            page.get_by_label("Password").fill("a long enough passphrase")
            page.keyboard.press("Enter")
            page.wait_for_url("**/admin/people")
        elif role is not None:
            extra = ("--crew", "saw-1") if role == "crew" else ()
            sign_in_as(page, live, f"{role}-{width}", role, *extra)
        for path in PAGES[role]:
            page.goto(path.format(**seeded))
            page.wait_for_load_state("networkidle")
            found = _violations(page)
            if page.locator("h1").count() != 1:
                found.append("one h1 heading names the page")
            if found:
                problems[f"{path} at {width}px"] = found
        context.close()
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)
