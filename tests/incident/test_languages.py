"""Residents' pages in their language: chosen from the browser, a menu and a cookie; catalogues kept whole."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po
from quart.testing.app import TestApp as App

from incident.auth.roles import Role
from incident.i18n import LOCALES, extract_config, languages
from incident.languages import gettext
from tests.support import ROOT, as_role

CALL = {"narrative": "tree down", "category": "debris", "location": {"lat": 42.93, "lon": -78.83}}


async def _ticket(app: App) -> str:
    supervisor = await as_role(app, Role.SUPERVISOR)
    return str((await (await supervisor.post("/api/v1/calls", json=CALL)).get_json())["ticket"])


async def test_a_spanish_browser_reads_track_in_spanish(app: App) -> None:
    """Accept-Language es-MX: the page, the status, its meaning and the steps are in Spanish."""
    ticket = await _ticket(app)
    spanish = {"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}
    response = await app.test_client().get(f"/track?ticket={ticket}", headers=spanish)
    page = await response.get_data(as_text=True)
    assert '<html lang="es" dir="ltr">' in page
    assert "¿Dónde está mi solicitud?" in page
    assert "Tenemos su solicitud y está esperando a un equipo o a una agencia." in page
    assert ">abierta</span>" in page
    assert "Solicitud recibida" in page
    answer = await app.test_client().get(f"/api/v1/public/tickets/{ticket}", headers=spanish)
    assert (await answer.get_json())["steps"][0]["words"] == "Solicitud recibida"


async def test_a_language_chosen_from_the_menu_is_kept(app: App) -> None:
    """?lang=ar answers right to left and sets a cookie that the next page (and the API) follow."""
    client = app.test_client()
    chosen = await client.get("/track?lang=ar", headers={"Accept-Language": "en"})
    assert '<html lang="ar" dir="rtl">' in await chosen.get_data(as_text=True)
    assert "stormline_lang=ar" in chosen.headers["Set-Cookie"]
    later = await client.get("/stations", headers={"Accept-Language": "en"})
    assert '<html lang="ar" dir="rtl">' in await later.get_data(as_text=True)
    menu = await (await client.get("/track?ticket=2026-000001&lang=es")).get_data(as_text=True)
    assert 'href="?ticket=2026-000001&amp;lang=bn"' in menu


async def test_an_unknown_language_reads_english(app: App) -> None:
    """A browser asking for a language with no catalogue (French) gets English, not an error."""
    page = await (await app.test_client().get("/track", headers={"Accept-Language": "fr-FR"})).get_data(
        as_text=True
    )
    assert '<html lang="en" dir="ltr">' in page
    assert "Where is my request?" in page


def test_the_template_holds_every_message_of_the_code(tmp_path: Path) -> None:
    """messages.pot is what pybabel extracts from the code today (a new message cannot slip past)."""
    fresh = tmp_path / "messages.pot"
    command = [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "N_"]
    command += ["-o", str(fresh), "--no-location", "--omit-header", "--sort-output", "."]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    assert _ids(fresh) == _ids(LOCALES / "messages.pot")


def test_every_catalogue_has_every_message_and_spanish_says_them_all() -> None:
    """Each language's catalogue lists every message (a city fills them in); Spanish has all of them."""
    template = _ids(LOCALES / "messages.pot")
    for code in set(languages()) - {"en"}:
        path = LOCALES / code / "LC_MESSAGES" / "messages.po"
        assert _ids(path) == template, code
    with (LOCALES / "es" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        untranslated = [
            m.id
            for m in read_po(po)
            if m.id and not all(m.string if isinstance(m.string, tuple) else [m.string])
        ]
    assert untranslated == []


def _ids(path: Path) -> set[str]:
    with path.open("rb") as po:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(po) if m.id}


async def test_whoever_calls_back_sees_the_language_the_caller_spoke(app: App) -> None:
    """A call taken in Spanish says so on the incident page, in words, beside the caller's number."""
    supervisor = await as_role(app, Role.SUPERVISOR)
    call = {**CALL, "language": "es-MX", "callback_number": "716-555-0142"}
    ticket = (await (await supervisor.post("/api/v1/calls", json=call)).get_json())["ticket"]
    page = await (await supervisor.get(f"/incidents/{ticket}")).get_data(as_text=True)
    assert '<span class="speaks">speaks Spanish (Mexico)</span>' in page
    english = (await (await supervisor.post("/api/v1/calls", json=CALL)).get_json())["ticket"]
    assert "speaks" not in await (await supervisor.get(f"/incidents/{english}")).get_data(as_text=True)


async def test_the_configs_words_reach_residents_in_their_language(app: App) -> None:
    """The storm's public message and a category's name come from the catalogue, as the config says them."""
    ticket = await _ticket(app)
    supervisor = await as_role(app, Role.SUPERVISOR, name="storm-chief")
    storm = {"mode": "incident", "name": "December Storm", "reason": "lake-effect snow"}
    assert (await supervisor.post("/api/v1/mode", json=storm)).status_code == 200
    spanish = {"Accept-Language": "es"}
    status = await (await app.test_client().get("/api/v1/status", headers=spanish)).get_json()
    assert status["public_message"].startswith("La ciudad está en operaciones de tormenta.")
    found = await (
        await app.test_client().get(f"/api/v1/public/tickets/{ticket}", headers=spanish)
    ).get_json()
    assert found["category"] == "Escombros, árboles y calles bloqueadas"
    english = await (await app.test_client().get(f"/api/v1/public/tickets/{ticket}")).get_json()
    assert english["category"] == "Debris, trees and blocked streets"


def test_the_extractor_reads_the_configs_words_with_their_lines() -> None:
    """Category names, questions, screen questions, scripts and public messages, each at its line."""
    with (ROOT / "surge_config.yaml").open("rb") as config:
        found = {text: line for line, _, text, _ in extract_config(config, None, None, None)}
    lines = (ROOT / "surge_config.yaml").read_text().splitlines()
    for text in (
        "Debris, trees and blocked streets",
        "Is anyone hurt?",
        "Is it on a house or a car?",
        "Is anyone hurt or trapped? Is a wire down with it? Is the street blocked?",
        "311 is running normally. For an emergency, call 911.",
    ):
        assert text in lines[found[text] - 1]
    assert "INCIDENT MODE: 24-hour storm operations." not in " ".join(found)  # the staff's banner is English


async def test_an_empty_message_stays_empty_in_every_language(app: App) -> None:
    """gettext("") is a catalogue's header: an empty public message must not show it to residents."""
    async with app.app.test_request_context("/track", headers={"Accept-Language": "es"}):
        assert gettext("") == ""
        assert gettext("Done") == "Terminada"
