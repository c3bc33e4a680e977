"""Staff casework through the API: notes in the history, search by ticket, number and words, storms."""

from __future__ import annotations

from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident.auth.roles import Role
from incident.search_words import search_words
from tests.support import as_role

TREE = {"narrative": "Big maple fell across Crescent Ave, café owner says", "address": "Crescent & Hertel"}


async def _call(client: Client, **extra: object) -> str:
    made = await client.post("/api/v1/calls", json={**TREE, **extra})
    assert made.status_code == 201, await made.get_data(as_text=True)
    return str((await made.get_json())["ticket"])


def test_search_words_are_folded_whole_words_without_the_commonest() -> None:
    """Case and accents fold away, small common words drop out, each word once, in order."""
    assert search_words("The Café on MAIN St", "main st & the 14th") == ["cafe", "main", "st", "14th"]


async def test_a_note_lands_in_the_history_with_who_wrote_it(client: Client) -> None:
    """A note is an event in the incident's history with its author, and moves the version."""
    ticket = await _call(client)
    before = (await (await client.get(f"/api/v1/incidents/{ticket}")).get_json())["incident"]["version"]
    noted = await client.post(
        f"/api/v1/incidents/{ticket}/notes", json={"text": "  owner will move the car  "}
    )
    assert noted.status_code == 201
    assert (await noted.get_json())["version"] == before + 1
    history = (await (await client.get(f"/api/v1/incidents/{ticket}/history")).get_json())["events"]
    last = history[-1]["event"]
    assert (last["type"], last["text"], last["actor"]) == (
        "incident.note",
        "owner will move the car",
        "test-supervisor",
    )
    empty = await client.post(f"/api/v1/incidents/{ticket}/notes", json={"text": ""})
    assert empty.status_code == 422
    assert (await client.post("/api/v1/incidents/2026-999999/notes", json={"text": "x"})).status_code == 404


async def test_search_by_ticket_number_and_words(app: App, client: Client) -> None:
    """A ticket with a space, a callback number (for roles that see numbers), and all the words given."""
    first = await _call(client, callback_number="716-555-0199")
    second = await _call(client, narrative="limb down on Crescent, no cafe here")
    found = await (await client.get("/api/v1/search", query_string={"q": first.replace("-", " ")})).get_json()
    assert (found["by"], [i["ticket"] for i in found["items"]]) == ("ticket", [first])
    by_number = await (await client.get("/api/v1/search", query_string={"q": "(716) 555-0199"})).get_json()
    assert (by_number["by"], [i["ticket"] for i in by_number["items"]]) == ("callback number", [first])
    both = await (await client.get("/api/v1/search", query_string={"q": "Crescent CAFÉ"})).get_json()
    assert [i["ticket"] for i in both["items"]] == [second, first]  # newest first
    one = await (await client.get("/api/v1/search", query_string={"q": "maple crescent"})).get_json()
    assert [i["ticket"] for i in one["items"]] == [first]
    coordinator = await as_role(app, Role.COORDINATOR)
    blind = await (await coordinator.get("/api/v1/search", query_string={"q": "716-555-0199"})).get_json()
    assert (blind["by"], blind["items"]) == ("words", [])  # a coordinator does not look callers up by number
    assert (await client.get("/api/v1/search", query_string={"q": ""})).status_code == 422


async def test_storms_are_listed_newest_first(client: Client) -> None:
    """Each activation is listed, the running one without a stand-down time."""
    assert (await (await client.get("/api/v1/activations")).get_json())["items"] == []
    await client.post("/api/v1/mode", json={"mode": "incident", "name": "First Storm", "reason": "storm"})
    await client.post("/api/v1/mode", json={"mode": "normal", "reason": "storm over, all clear"})
    await client.post("/api/v1/mode", json={"mode": "incident", "name": "Second Storm", "reason": "storm"})
    storms = (await (await client.get("/api/v1/activations")).get_json())["items"]
    assert [(s["name"], s["stood_down_at"] is None) for s in storms] == [
        ("Second Storm", True),
        ("First Storm", False),
    ]
