"""The agent console in Chromium, by keyboard alone: a 911 transfer, and a caller attached to a report."""

from __future__ import annotations

import re

from playwright.sync_api import Dialog, Page, expect

from tests.pages.helpers import ARTIFACTS, csp_violations, sign_in_as
from tests.server import Server


def _sign_in_agent(page: Page, live: Server) -> None:
    sign_in_as(page, live, "ada", "agent")
    page.goto("/agent")
    expect(page.locator("#map-frame")).to_have_attribute("data-ready", "true", timeout=10_000)


def test_a_life_safety_call_shows_the_transfer_panel_and_gets_a_ticket(page: Page, live: Server) -> None:
    """Typed without the mouse: the red 911 panel appears as triage sees it; Ctrl+Enter gives the ticket."""
    _sign_in_agent(page, live)
    expect(page.locator("#narrative")).to_be_focused()
    page.keyboard.type("a tree fell on the car and the driver is trapped and not moving")
    expect(page.locator("#transfer")).to_be_visible(timeout=5_000)
    expect(page.locator("#triage-decision")).to_contain_text("LIFE SAFETY")
    page.keyboard.press("Tab")
    page.keyboard.type("Bailey & Kensington")
    page.keyboard.press("Enter")
    expect(page.locator("#located")).to_contain_text("BAILEY AVE & KENSINGTON AVE", timeout=5_000)
    page.keyboard.press("Control+Enter")
    ticket = page.locator("#ticket-number")
    expect(ticket).to_have_text(re.compile(r"^\d{4}-\d{6}$"), timeout=5_000)
    for key in ("Alt+l", "Alt+t", "Alt+r"):  # the handoff steps, recorded as they happen
        page.keyboard.press(key)
        expect(page.locator("#handoff-done")).to_contain_text("recorded", timeout=5_000)
    with live.client(live.token("supervisor")) as api:
        incident = api.get(f"/api/v1/incidents/{ticket.inner_text()}").json()["incident"]
    steps = [s["step"] for s in incident["handoff"]["steps"]]
    assert steps[-3:] == ["location_verified", "transfer_started", "caller_released"]
    assert incident["category"] == "emergency"
    assert incident["life_safety"] is True
    assert incident["location"] is not None
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "agent-911.png"))
    assert csp_violations(page) == []


def test_a_second_caller_is_attached_to_the_open_report_by_keyboard(page: Page, live: Server) -> None:
    """The open report at the same corner is offered; Alt+1 attaches the call to it, Ctrl+Enter logs it."""
    first = {
        "narrative": "tree down blocking Elmwood",
        "category": "debris",
        "address": "Elmwood & Bird",
        "location": {"lat": 42.926058, "lon": -78.876906},
    }
    with live.client(live.token("supervisor")) as api:
        existing = api.post("/api/v1/calls", json=first).json()["ticket"]
        _sign_in_agent(page, live)
        page.keyboard.type("big tree down across the road, street blocked")
        page.keyboard.press("Tab")
        page.keyboard.type("Elmwood and Bird")
        page.keyboard.press("Enter")
        offered = page.locator(f"#nearby-list button[data-ticket='{existing}']")
        expect(offered).to_be_visible(timeout=5_000)
        page.keyboard.press("Alt+1")
        expect(page.locator("#log-call")).to_have_text(f"Log the call on {existing}")
        page.keyboard.press("Control+Enter")
        expect(page.locator("#ticket-number")).to_have_text(existing, timeout=5_000)
        expect(page.locator("#receipt")).to_contain_text("Added to this report")
        calls = api.get(f"/api/v1/incidents/{existing}").json()["incident"]["calls"]
    assert len(calls) == 2
    page.keyboard.press("Escape")
    expect(page.locator("#narrative")).to_be_focused()
    expect(page.locator("#receipt")).to_be_hidden()
    assert csp_violations(page) == []


def test_an_unsettled_medical_call_puts_the_screen_questions_first(page: Page, live: Server) -> None:
    """A medical word no rule settles shows 'ask the life-safety questions first', not a P4 'general'."""
    _sign_in_agent(page, live)
    page.keyboard.type("my mother feels sick and the heat is out")
    expect(page.locator("#triage-first")).to_be_visible(timeout=5_000)
    expect(page.locator("#triage-first")).to_contain_text("ask the life-safety questions first")
    expect(page.locator("#triage-first")).to_contain_text("sick")
    expect(page.locator("#triage-decision")).not_to_contain_text("general")
    expect(page.locator("#screen")).to_have_class(re.compile(r"\bask-first\b"))
    expect(page.locator("#screen-first")).to_be_visible()
    expect(page.locator("#transfer")).to_be_hidden()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "agent-ask-first.png"))
    page.locator("#narrative").fill("tree limb down on the sidewalk")
    expect(page.locator("#triage-first")).to_be_hidden(timeout=5_000)
    expect(page.locator("#screen")).not_to_have_class(re.compile(r"\bask-first\b"))
    assert csp_violations(page) == []


def test_the_learnt_model_puts_the_screen_questions_first_with_its_words(page: Page, live: Server) -> None:
    """A call no rule settles but the model weighs as life safety asks first, naming its weightiest words."""
    _sign_in_agent(page, live)
    page.keyboard.type(
        "Not knowing if we're going to have power to supply my ability to breathe is terrifying."
    )
    expect(page.locator("#triage-first")).to_be_visible(timeout=5_000)
    expect(page.locator("#triage-first")).to_contain_text("Like earlier life-safety calls")
    expect(page.locator("#triage-first")).to_contain_text("breathe")
    expect(page.locator("#triage-decision")).to_contain_text("Ask the life-safety questions first · P4")
    expect(page.locator("#transfer")).to_be_hidden()
    assert csp_violations(page) == []


def test_an_unsure_location_stays_unconfirmed_until_the_agent_confirms(page: Page, live: Server) -> None:
    """A guessed point is not sent as certain: the call waits to be placed, with the candidate kept."""
    _sign_in_agent(page, live)
    page.keyboard.type("big limb down on the sidewalk")
    page.locator("#address").fill("123 Hertel Ave")
    page.locator("#address").press("Enter")
    expect(page.locator("#located")).to_contain_text("not sure", timeout=5_000)
    expect(page.locator("#confirm-place")).to_be_visible()
    page.keyboard.press("Control+Enter")
    ticket = page.locator("#ticket-number")
    expect(ticket).to_have_text(re.compile(r"^\d{4}-\d{6}$"), timeout=5_000)
    expect(page.locator("#receipt")).to_contain_text("needs-location queue")
    with live.client(live.token("supervisor")) as api:
        guessed = api.get(f"/api/v1/incidents/{ticket.inner_text()}").json()["incident"]
    assert guessed["needs_location"] is True
    assert guessed["location"] is None
    assert guessed["location_candidates"], "the candidate is kept for whoever places it"
    page.keyboard.press("Escape")
    page.keyboard.type("big limb down on the sidewalk")
    page.locator("#address").fill("123 Hertel Ave")
    page.locator("#address").press("Enter")
    expect(page.locator("#confirm-place")).to_be_visible(timeout=5_000)
    page.keyboard.press("Alt+p")  # confirmed with the caller
    page.keyboard.press("Control+Enter")
    expect(ticket).to_have_text(re.compile(r"^\d{4}-\d{6}$"), timeout=5_000)
    with live.client(live.token("supervisor")) as api:
        placed = api.get(f"/api/v1/incidents/{ticket.inner_text()}").json()["incident"]
    assert placed["needs_location"] is False
    assert placed["location"] is not None


def test_a_logged_call_shows_its_ticket_where_the_agent_is_and_cannot_be_filed_twice(
    page: Page, live: Server
) -> None:
    """The ticket shows by the Log button, in view; the form locks; a second Ctrl+Enter files nothing."""
    _sign_in_agent(page, live)
    page.keyboard.type("tree down blocking Elmwood, nobody hurt")
    page.keyboard.press("Control+Enter")
    ticket = page.locator("#ticket-number")
    expect(ticket).to_have_text(re.compile(r"^\d{4}-\d{6}$"), timeout=5_000)
    expect(ticket).to_be_in_viewport()
    box, button = ticket.bounding_box(), page.locator("#log-call").bounding_box()
    assert box is not None
    assert button is not None
    assert 0 <= box["y"] - button["y"] < 300, "the ticket is right below the button the agent pressed"
    expect(page.locator("#narrative")).to_be_disabled()
    with live.client(live.token("supervisor")) as api:
        before = len(api.get("/api/v1/incidents?limit=200").json()["items"])
        page.keyboard.press("Control+Enter")
        page.wait_for_timeout(1_000)
        assert len(api.get("/api/v1/incidents?limit=200").json()["items"]) == before
    page.keyboard.press("Escape")
    expect(page.locator("#narrative")).to_be_enabled()
    expect(page.locator("#narrative")).to_be_focused()
    expect(page.locator("#receipt")).to_be_hidden()


def test_an_outside_city_call_is_said_before_logging_and_assigning_it_asks_first(
    page: Page, live: Server
) -> None:
    """The outside-city notice shows as the address is found; assigning a city crew asks first.

    Without the town the corner is only a candidate (the agent is told to ask which town); with it,
    it is sure (issue 21).
    """
    _sign_in_agent(page, live)
    page.keyboard.type("big tree down across the road")
    page.locator("#address").fill("Walden & Union")  # a corner in Cheektowaga
    page.locator("#address").press("Enter")
    notice = page.locator("#outside")
    expect(notice).to_be_visible(timeout=5_000)
    expect(notice).to_contain_text("outside the City of Buffalo")
    expect(page.locator("#located")).to_contain_text("ask which town")
    expect(page.locator("#receipt")).to_be_hidden()  # said while the caller is still on the line
    page.locator("#map-frame .leaflet-container").click(position={"x": 150, "y": 100})  # a pin in the city
    with live.client(live.token("supervisor")) as api:
        city = api.get("/api/v1/geo/reverse", params={"lat": 42.9, "lon": -78.85}).json()
        assert city["outside_jurisdiction"] is False
    page.locator("#address").fill("Walden & Union, Cheektowaga")
    page.locator("#address").press("Enter")
    expect(notice).to_be_visible(timeout=5_000)
    page.locator("#category").select_option("debris")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#ticket-number")).to_have_text(re.compile(r"^\d{4}-\d{6}$"), timeout=5_000)
    ticket = page.locator("#ticket-number").inner_text()
    with live.client(live.token("supervisor")) as api:
        crew = {
            "id": "saw-1",
            "name": "Saw 1",
            "kind": "debris_forestry",
            "base": {"lat": 42.9, "lon": -78.8},
        }
        assert api.post("/api/v1/crews", json=crew).status_code == 201
        refused = api.post(f"/api/v1/incidents/{ticket}/assignment", json={"crew_id": "saw-1"})
        assert refused.status_code == 409
        assert refused.json()["type"].endswith("outside-jurisdiction")
    boss = page.context.browser.new_context(base_url=live.url).new_page()  # type: ignore[union-attr]
    sign_in_as(boss, live, "sam", "supervisor")
    boss.goto("/supervisor")
    boss.get_by_role("button", name=re.compile("Outside the city")).click()  # not mixed in with the city's
    row = boss.locator(f"#waiting tr[data-ticket='{ticket}']")
    expect(row).to_contain_text("OUTSIDE THE CITY")
    row.get_by_role("button", name="Recommend crews").click(timeout=10_000)
    messages: list[str] = []

    def refuse(dialog: Dialog) -> None:
        messages.append(dialog.message)
        dialog.dismiss()

    boss.once("dialog", refuse)
    row.get_by_role("button", name="Assign Saw 1").click()
    expect(boss.locator("#assign-result")).to_have_text(f"{ticket} not assigned.")
    assert "outside the city" in messages[0]
    boss.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="Recommend crews").click(timeout=10_000)
    row.get_by_role("button", name="Assign Saw 1").click()
    expect(boss.locator("#assign-result")).to_have_text(f"{ticket} assigned to Saw 1.")
    assert csp_violations(page) == []
    boss.context.close()


def test_the_console_speaks_the_agents_words_skips_the_map_and_esc_clears_the_last_call(
    page: Page, live: Server
) -> None:
    """Reasons read as sentences; Tab goes from the address to the questions; Esc leaves nothing behind."""
    _sign_in_agent(page, live)
    page.keyboard.type("a tree fell on the car and the driver is trapped")
    reasons = page.locator("#triage-reasons")
    expect(reasons).to_contain_text("“trapped”: Emergency (transfer to 911) P1", timeout=5_000)
    expect(reasons).not_to_contain_text("entrapment")
    expect(page.locator("#handoff-hint")).to_be_visible()  # the step buttons come once it is logged
    page.keyboard.press("Tab")
    page.keyboard.type("Bailey & Kensington")
    page.keyboard.press("Enter")
    expect(page.locator("#located")).to_contain_text("KENSINGTON", timeout=5_000)
    stops = []
    for _ in range(4):
        page.keyboard.press("Tab")
        stops.append(
            page.evaluate(
                "document.activeElement.id || document.activeElement.name || document.activeElement.tagName"
            )
        )
    assert "category" in stops[:2], stops
    assert "answer" in stops, f"the first question is within four Tabs of the address: {stops}"
    assert not any(s in ("DIV", "A", "IMG") for s in stops), stops  # nothing inside the map
    page.keyboard.press("Control+Enter")
    expect(page.locator("#ticket-number")).to_have_text(re.compile(r"^\d{4}-\d{6}$"), timeout=5_000)
    expect(page.locator("#handoff-hint")).to_be_hidden()
    expect(page.locator("#handoff-steps")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#narrative")).to_be_focused()
    for cleared in ("#located", "#triage-reasons", "#triage-ask", "#handoff-done"):
        expect(page.locator(cleared)).to_have_text("")
    expect(page.locator("#triage-decision")).to_have_text("Type what the caller says.")
    for hidden in ("#transfer", "#receipt", "#outside", "#followup"):
        expect(page.locator(hidden)).to_be_hidden()
    assert csp_violations(page) == []


def test_a_street_alone_is_drawn_as_its_stretch_in_the_city(page: Page, live: Server) -> None:
    """A house number with no address data draws the street's stretch, and stays unsure (issue 21)."""
    _sign_in_agent(page, live)
    page.locator("#address").fill("1128 Elmwood")
    page.locator("#address").press("Enter")
    expect(page.locator("#located")).to_contain_text("ELMWOOD AVE", timeout=5_000)
    expect(page.locator("#located")).to_contain_text("not sure")
    expect(page.locator("#map-frame path.street-stretch")).to_have_count(1)
    page.keyboard.press("Escape")
    expect(page.locator("#map-frame path.street-stretch")).to_have_count(0)
    assert csp_violations(page) == []


def test_a_spanish_speaking_caller_is_asked_in_spanish_and_the_call_says_so(page: Page, live: Server) -> None:
    """With the caller's language set to Spanish the questions and script show in Spanish; the call is es."""
    _sign_in_agent(page, live)
    page.keyboard.press("Shift+Tab")  # from the words to the caller's language, just above them
    expect(page.get_by_label("Caller's language")).to_be_focused()
    page.get_by_label("Caller's language").select_option("es")
    screen = page.locator("#screen")
    expect(screen.get_by_text("¿Hay alguien herido?")).to_be_visible()
    expect(screen.get_by_text("Is anyone hurt?")).to_be_visible()  # the agent reads both
    page.locator("#narrative").focus()
    page.keyboard.type("un árbol cayó y bloquea la calle, tree down blocking the street")
    page.get_by_label("Category").select_option("debris")
    expect(page.locator("fieldset.questions[data-category=debris]")).to_contain_text("¿Bloquea la calle")
    page.get_by_label("Address, corner or place").fill("Bailey & Kensington")
    page.get_by_label("Address, corner or place").press("Enter")
    expect(page.locator("#located")).to_contain_text("KENSINGTON", timeout=5_000)
    page.keyboard.press("Control+Enter")
    ticket = page.locator("#ticket-number")
    expect(ticket).to_have_text(re.compile(r"^\d{4}-\d{6}$"), timeout=5_000)
    with live.client(live.token("supervisor")) as api:
        (call,) = api.get(f"/api/v1/incidents/{ticket.inner_text()}").json()["calls"]
    assert call["language"] == "es"
    page.keyboard.press("Escape")  # the next caller starts in English again
    expect(page.get_by_label("Caller's language")).to_have_value("en")
    expect(screen.get_by_text("¿Hay alguien herido?")).to_be_hidden()
    assert csp_violations(page) == []


def test_during_a_drill_a_call_ticked_as_the_drills_is_filed_to_it(page: Page, live: Server) -> None:
    """While a drill runs the console says so and offers "a drill call"; only a ticked call is the drill's."""
    with live.client(live.token("supervisor")) as api:
        drill = api.post("/api/v1/exercise", json={"name": "Console drill"}).json()["id"]
    _sign_in_agent(page, live)
    expect(page.locator("#drill-banner")).to_contain_text("Drill running: Console drill")
    page.keyboard.type("limb down on the sidewalk on Elmwood")
    page.locator("#drill").check()
    page.locator("#log-call").click()
    ticket = page.locator("#ticket-number")
    expect(ticket).to_have_text(re.compile(r"^\d{4}-\d{6}$"), timeout=5_000)
    drilled = ticket.inner_text()
    page.keyboard.press("Escape")
    expect(page.locator("#drill")).not_to_be_checked()  # each drill call is ticked by itself
    page.keyboard.type("another limb down on Bailey")
    page.keyboard.press("Control+Enter")
    expect(ticket).to_have_text(re.compile(r"^\d{4}-\d{6}$"), timeout=5_000)
    with live.client(live.token("supervisor")) as api:
        assert api.get(f"/api/v1/incidents/{drilled}").json()["incident"]["exercise"] == drill
        assert api.get(f"/api/v1/incidents/{ticket.inner_text()}").json()["incident"]["exercise"] is None
        api.post("/api/v1/exercise/stop")
    expect(page.locator("#drill-banner")).to_be_hidden(timeout=10_000)  # banner.js polls every 3 s
    expect(page.locator("#drill")).to_be_hidden()
