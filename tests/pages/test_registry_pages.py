"""The registry and call-down pages in Chromium: registering, importing, building a list and working it."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

from playwright.sync_api import Browser, FilePayload, Page, expect

from tests.pages.helpers import ARTIFACTS, csp_violations, sign_in_as
from tests.server import Server

CSV = (
    "id,name,phone,address,lat,lon,needs,consent_date,consent_source\n"
    "u1,Ann Lee,716-555-0101,Elmwood Ave & Forest Ave,42.9247,-78.8768,"
    "oxygen;lives_alone,2026-06-05,utility\n"
    "u2,Bo Diaz,716-555-0102,Bailey & Kensington,,,dialysis,2026-06-05,utility\n"
    "u3,Cy Ng,716-555-0103,Main St & Delavan,,,oxygen,not-a-date,utility\n"
    "u4,Di Ro,716-555-0104,Main St & Utica,,,flying,2026-06-05,utility\n"
)
ELMWOOD = {"lat": 42.9247, "lon": -78.8768}


def _file(name: str, mime: str, text: str) -> FilePayload:
    return {"name": name, "mimeType": mime, "buffer": text.encode()}


def _resident(name: str, phone: str, needs: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "address": "Elmwood Ave & Forest Ave",
        "location": ELMWOOD,
        "phone": phone,
        "needs": needs,
        "consent_date": "2026-10-01",
        "consent_source": "phone, test",
        **extra,
    }


def test_a_coordinator_registers_imports_and_filters_the_registry(page: Page, live: Server) -> None:
    """The form registers a resident; an import says what it took and each refused row by line and column."""
    due = (date.today() + timedelta(days=10)).isoformat()
    with live.client(live.token("supervisor")) as api:
        soon = api.post("/api/v1/registry", json=_resident("Due Soon", "716-555-0190", [], reverify_by=due))
        assert soon.status_code == 201, soon.text
    sign_in_as(page, live, "cora", "coordinator")
    page.goto("/registry")
    expect(page.locator("#registry")).to_have_attribute("data-ready", "true", timeout=10_000)
    expect(page.locator("#residents-count")).to_have_text("1–1 of 1 registered")
    form = page.locator("#register")
    form.get_by_label("Name", exact=True).fill("Mae West")
    form.get_by_label("Address", exact=True).fill("Bailey & Kensington")
    form.get_by_label("Phone", exact=True).fill("716-555-0142")
    form.get_by_label("oxygen").check()
    form.get_by_label("lives alone").check()
    form.get_by_label("Consent given on").fill("2026-11-02")
    form.get_by_label("How consent was given").fill("phone, agent cora")
    form.get_by_role("button", name="Register").click()
    expect(page.locator("#register-result")).to_contain_text("Registered R", timeout=5_000)
    row = page.locator("#residents tbody tr", has_text="Mae West")
    expect(row).to_contain_text("lives alone, oxygen")
    expect(row).to_contain_text("716-555-0142")
    page.get_by_label("Source (the list's name)").fill("national-grid")
    page.get_by_label("CSV file").set_input_files(_file("medical.csv", "text/csv", CSV))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-result")).to_contain_text("2 registered, 0 updated", timeout=10_000)
    expect(page.locator("#import-result")).to_contain_text("2 refused")
    refused = page.locator("#refused tbody tr")
    expect(refused).to_have_count(2)
    expect(refused.nth(0)).to_contain_text(re.compile(r"^4\s*consent_date\s*'not-a-date' is not a date"))
    expect(refused.nth(1)).to_contain_text(re.compile(r"^5\s*needs\s*unknown need 'flying'"))
    expect(page.locator("#residents-count")).to_have_text("1–4 of 4 registered")
    page.get_by_label("Only those due to re-verify").check()
    expect(page.locator("#residents-count")).to_have_text("1–1 of 1 due to re-verify")
    expect(page.locator("#residents tbody tr")).to_have_count(1)
    expect(page.locator("#residents tbody tr")).to_contain_text("Due Soon")
    with live.client(live.token("supervisor")) as api:
        audit = api.get("/api/v1/audit?limit=1000").json()
    seen = [e["event"] for e in audit["events"] if e["event"]["type"] == "registry.read"]
    assert {(e["actor"], e["purpose"]) for e in seen} >= {("cora", "list"), ("cora", "stale")}
    assert ["R000001"] in [e["residents"] for e in seen if e["purpose"] == "stale"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "registry.png"), full_page=True)
    assert csp_violations(page) == []


def test_a_file_with_a_column_stormline_does_not_know_is_refused_whole(page: Page, live: Server) -> None:
    """A misspelt header refuses the file, said on the page as line 1, and registers nobody."""
    sign_in_as(page, live, "cole", "coordinator")
    page.goto("/registry")
    expect(page.locator("#registry")).to_have_attribute("data-ready", "true", timeout=10_000)
    page.get_by_label("Source (the list's name)").fill("clinic")
    bad = "name,adress,consent_date,consent_source\nA,B,2026-01-01,x\n"
    page.get_by_label("CSV file").set_input_files(_file("bad.csv", "text/csv", bad))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-result")).to_contain_text("Not imported", timeout=5_000)
    expect(page.locator("#refused tbody tr").first).to_contain_text("unknown column 'adress'")
    expect(page.locator("#residents-count")).to_have_text("Nobody is registered yet.")
    assert csp_violations(page) == []


def test_a_call_down_is_built_by_district_and_worked_by_an_agent_while_its_progress_follows(
    browser: Browser, page: Page, live: Server
) -> None:
    """Built from district boxes; the agent takes residents one by one; each outcome moves the bar live."""
    with live.client(live.token("supervisor")) as api:
        made = [
            api.post("/api/v1/registry", json=_resident(name, f"716-555-01{i:02d}", needs)).json()
            for i, (name, needs) in enumerate(
                [
                    ("Oxy Olsen", ["oxygen", "lives_alone"]),
                    ("Dee Alis", ["dialysis"]),
                    ("Mo Bility", ["mobility"]),
                ]
            )
        ]
    district = made[0]["zones"]["council_district"]
    sign_in_as(page, live, "cody", "coordinator")
    page.goto("/calldowns")
    expect(page.locator("#calldowns")).to_have_attribute("data-ready", "true", timeout=10_000)
    page.get_by_label("Name of the list").fill("Ice storm, Delaware")
    page.locator("#build").get_by_label(district, exact=True).check()
    page.get_by_label("Hours without power").fill("6")
    page.get_by_role("button", name="Build the list").click()
    expect(page.locator("#build-result")).to_contain_text("3 resident(s) to call", timeout=5_000)
    card = page.locator("#lists li", has_text="Ice storm, Delaware")
    expect(card.locator(".progress-text")).to_contain_text("0 of 3 done", timeout=5_000)
    expect(card.locator(".progress-text")).to_contain_text("3 waiting")
    points = page.locator("#map-frame .cd-mark[data-rank]")
    expect(points).to_have_count(3, timeout=10_000)
    expect(page.locator("#map-frame [data-rank='0']")).to_have_attribute("data-state", "waiting")
    expect(page.locator("#map-legend [data-state=waiting] .cd-count")).to_have_text("3")

    agent_context = browser.new_context(base_url=live.url, viewport={"width": 390, "height": 844})
    agent = agent_context.new_page()
    sign_in_as(agent, live, "ada", "agent")
    agent.goto("/calldowns")
    expect(agent.locator("#calldowns")).to_have_attribute("data-ready", "true", timeout=10_000)
    expect(agent.locator("#build")).to_have_count(0)  # agents work lists; they do not build them
    agent.locator("#lists li", has_text="Ice storm").get_by_role("button", name="Work this list").click()
    take = agent.get_by_role("button", name="Take the next resident")
    take.click()
    expect(agent.locator("#resident-name")).to_have_text("Oxy Olsen", timeout=5_000)  # the most at risk first
    expect(agent.locator("#resident-needs")).to_have_text("lives alone, oxygen")
    expect(agent.locator("#resident-phone a")).to_have_attribute("href", "tel:+17165550100")
    expect(card.locator(".progress-text")).to_contain_text("1 being called", timeout=10_000)
    agent.get_by_role("button", name="Safe").click()
    expect(agent.locator("#work-status")).to_contain_text("Oxy Olsen is safe", timeout=5_000)
    expect(card.locator(".progress-text")).to_contain_text("1 of 3 done: 1 safe", timeout=10_000)
    # The map follows the list live: the first resident's mark turns to safe, and the counts beside it.
    expect(page.locator("#map-frame [data-rank='0']")).to_have_attribute("data-state", "safe", timeout=10_000)
    expect(page.locator("#map-legend [data-state=safe] .cd-count")).to_have_text("1")
    expect(page.locator("#map-legend [data-state=waiting] .cd-count")).to_have_text("2")
    first = agent.locator("#map-frame [data-rank='0']")
    expect(first).to_have_attribute("data-state", "safe", timeout=10_000)

    take.click()
    expect(agent.locator("#resident-name")).to_have_text("Dee Alis", timeout=5_000)
    agent.get_by_role("button", name="Needs help").click()
    expect(agent.locator("#work-status")).to_contain_text("Say what the resident needs first")
    expect(agent.locator("#o-narrative")).to_be_focused()
    agent.locator("#o-narrative").fill("no heat since last night and her dialysis ride cannot get through")
    agent.get_by_role("button", name="Needs help").click()
    expect(agent.locator("#opened-ticket")).to_have_text(re.compile(r"^\d{4}-\d{6}$"), timeout=10_000)
    help_ticket = agent.locator("#opened-ticket").inner_text()

    take.click()
    expect(agent.locator("#resident-name")).to_have_text("Mo Bility", timeout=5_000)
    agent.get_by_role("button", name="Wrong number").click()
    expect(agent.locator("#work-status")).to_contain_text("door knock", timeout=10_000)
    knock_ticket = agent.locator("#opened-ticket").inner_text()
    assert knock_ticket != help_ticket
    take.click()
    expect(agent.locator("#work-status")).to_have_text("Nobody left to call now on this list.", timeout=5_000)
    expect(card.locator(".progress-text")).to_contain_text(
        "3 of 3 done: 1 safe, 1 need help, 1 door knock", timeout=10_000
    )
    with live.client(live.token("supervisor")) as api:
        opened = api.get(f"/api/v1/incidents/{help_ticket}").json()["incident"]
        assert opened["status"] == "open"
        assert api.get(f"/api/v1/incidents/{knock_ticket}").json()["incident"]["category"]
    ARTIFACTS.mkdir(exist_ok=True)
    agent.screenshot(path=str(ARTIFACTS / "calldown-agent-phone.png"), full_page=True)
    page.screenshot(path=str(ARTIFACTS / "calldowns.png"), full_page=True)
    assert csp_violations(page) == []
    agent_context.close()


def test_a_call_down_is_built_from_an_outage_file(page: Page, live: Server) -> None:
    """An outage GeoJSON file chosen on the page builds a list of the residents inside it."""
    with live.client(live.token("supervisor")) as api:
        assert api.post("/api/v1/registry", json=_resident("In Side", "716-555-0150", ["oxygen"])).is_success
        outside = {
            **_resident("Far Away", "716-555-0151", ["oxygen"]),
            "location": {"lat": 42.86, "lon": -78.80},
        }
        assert api.post("/api/v1/registry", json=outside).is_success
    box = [[-78.88, 42.92], [-78.87, 42.92], [-78.87, 42.93], [-78.88, 42.93], [-78.88, 42.92]]
    outage = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"hours_out": 12},
                "geometry": {"type": "Polygon", "coordinates": [box]},
            }
        ],
    }
    sign_in_as(page, live, "cass", "supervisor")
    page.goto("/calldowns")
    expect(page.locator("#calldowns")).to_have_attribute("data-ready", "true", timeout=10_000)
    page.get_by_label("Name of the list").fill("Grid outage 14")
    page.get_by_label("Or an outage area (GeoJSON file)").set_input_files(
        _file("outage.geojson", "application/geo+json", json.dumps(outage))
    )
    page.get_by_role("button", name="Build the list").click()
    expect(page.locator("#build-result")).to_contain_text("1 resident(s) to call", timeout=5_000)
    expect(page.locator("#lists li", has_text="Grid outage 14")).to_contain_text("outage area")
    assert csp_violations(page) == []


def test_the_supervisor_board_shows_each_open_call_down_and_follows_it(page: Page, live: Server) -> None:
    """The supervisor's Call-downs panel shows done/size, safe, help, unreached, waiting, and moves live."""
    with live.client(live.token("supervisor")) as api:
        made = [
            api.post("/api/v1/registry", json=_resident(name, f"716-555-03{i:02d}", ["oxygen"])).json()
            for i, name in enumerate(["Pat One", "Pat Two"])
        ]
        district = made[0]["zones"]["council_district"]
        built = api.post("/api/v1/calldowns", json={"name": "Wind, north", "districts": [district]}).json()
    calldown = built["calldown"]["id"]
    sign_in_as(page, live, "sue", "supervisor")
    page.goto("/supervisor")
    expect(page.locator("#supervisor")).to_have_attribute("data-ready", "true", timeout=10_000)
    row = page.locator(f"#calldown-progress tr[data-calldown='{calldown}']")
    expect(row).to_contain_text("Wind, north")
    expect(row.locator("td")).to_have_text(["Wind, north (" + calldown + ")", "0 / 2", "0", "0", "0", "2"])
    expect(page.get_by_role("link", name="Call-downs: build, work and map them")).to_have_attribute(
        "href", "/calldowns"
    )
    with live.client(live.token("agent")) as api:
        taken = api.post(f"/api/v1/calldowns/{calldown}/next").json()
        resident = taken["entry"]["resident"]
        done = api.post(
            f"/api/v1/calldowns/{calldown}/residents/{resident}/attempts", json={"outcome": "safe"}
        )
        assert done.status_code == 201, done.text
    expect(row.locator("td")).to_have_text(
        ["Wind, north (" + calldown + ")", "1 / 2", "1", "0", "0", "1"], timeout=10_000
    )
    assert csp_violations(page) == []
