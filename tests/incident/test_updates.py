"""Residents told when their request moves: once per change, in their language, by real SMTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast
from urllib.parse import unquote

import msgspec
import pytest
from quart.testing.app import TestApp as App

from incident.app import create_app
from incident.auth.roles import Role
from incident.config import SurgeConfig
from incident.settings import Settings
from incident.store import Store
from incident.updates import BATCH, tell_round
from tests.dispatch.receivers import Mailbox
from tests.incident.auth.helpers import csrf_in
from tests.incident.helpers import ensure_crew
from tests.support import as_role

PUBLIC = "https://311.example.gov"


@pytest.fixture
async def mailed(settings: Settings, config: SurgeConfig) -> AsyncIterator[tuple[App, Mailbox]]:
    with Mailbox().running() as mailbox:
        smtp = msgspec.structs.replace(
            settings, smtp_url=mailbox.url, smtp_from="311@buffalony.gov", public_url=PUBLIC
        )
        async with create_app(smtp, config).test_app() as app:
            yield app, mailbox  # type: ignore[misc]


async def _mail(mailbox: Mailbox, count: int) -> None:
    for _ in range(150):
        if len(mailbox.messages) >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{len(mailbox.messages)} messages, not {count}")


async def test_a_resident_hears_each_step_once_in_spanish(mailed: tuple[App, Mailbox]) -> None:
    """Given to a crew, on the way, done: one email each, in Spanish, with the request's page."""
    app, mailbox = mailed
    store: Store = app.app.extensions["stormline.store"]
    await tell_round(store, PUBLIC)  # the first round starts from now (it may have run already)
    resident = app.test_client()
    spanish = {"Accept-Language": "es"}
    token = csrf_in(await (await resident.get("/report", headers=spanish)).get_data(as_text=True))
    form = {
        "category": "debris",
        "address": "400 Kensington Ave",
        "description": "una rama grande en la acera",
        "email": "Vecina@Example.org",
        "csrf_token": token,
    }
    page = await (await resident.post("/report", form=form, headers=spanish)).get_data(as_text=True)
    ticket = page.split('<strong id="ticket">')[1].split("<")[0]
    supervisor = await as_role(app, Role.SUPERVISOR)
    await ensure_crew(supervisor, "forestry-9")
    assigned = await supervisor.post(
        f"/api/v1/incidents/{ticket}/assignment", json={"crew_id": "forestry-9", "force": True}
    )
    assert assigned.status_code == 200
    crew = await as_role(app, Role.CREW, crew_id="forestry-9")
    for mark in ("en_route", "on_scene", "cleared"):
        assert (await crew.post(f"/api/v1/crews/forestry-9/work/{ticket}/mark", json={"mark": mark})).is_json
    told = await tell_round(store, PUBLIC)
    assert await tell_round(store, PUBLIC) == 0, "each change is told once"
    await _mail(mailbox, told)
    ours = [m for m in mailbox.messages if m["To"] == "vecina@example.org"]
    assert [m["Subject"] for m in ours] == [
        f"Solicitud {ticket}: Asignada a un equipo",
        f"Solicitud {ticket}: Un equipo va en camino",
        f"Solicitud {ticket}: Terminada",
    ]
    text = ours[0].get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert f"{PUBLIC}/track?ticket={ticket}&lang=es" in text
    assert "Recibe estos mensajes porque dejó esta dirección con su solicitud." in text
    assert len({m["Message-ID"] for m in ours}) == 3


async def test_a_storm_of_events_is_caught_up_in_one_round(mailed: tuple[App, Mailbox]) -> None:
    """More events than one batch since the last round: the round reads them all, and tells the last."""
    app, mailbox = mailed
    store: Store = app.app.extensions["stormline.store"]
    await tell_round(store, PUBLIC)
    supervisor = await as_role(app, Role.SUPERVISOR)
    call = {"narrative": "tree down", "category": "debris", "location": {"lat": 42.93, "lon": -78.83}}
    for _ in range(BATCH + 20):  # opened incidents: events nobody is told of
        assert (await supervisor.post("/api/v1/calls", json=call)).status_code == 201
    followed = {**call, "email": "last@example.org"}
    ticket = (await (await supervisor.post("/api/v1/calls", json=followed)).get_json())["ticket"]
    await ensure_crew(supervisor, "forestry-8")
    await supervisor.post(
        f"/api/v1/incidents/{ticket}/assignment", json={"crew_id": "forestry-8", "force": True}
    )
    await tell_round(store, PUBLIC)
    await _mail(mailbox, 1)
    assert [m["To"] for m in mailbox.messages] == ["last@example.org"]
    cursor = await store.redis.hget(store.keys.updates, "cursor")
    latest = cast(list[tuple[bytes, object]], await store.redis.xrevrange(store.keys.events, count=1))[0][0]
    assert cursor == latest


async def test_the_link_lets_the_resident_say_they_still_need_help(mailed: tuple[App, Mailbox]) -> None:
    """The emailed link opens the page with two answers; "still need help" after done alarms supervisors."""
    app, mailbox = mailed
    store: Store = app.app.extensions["stormline.store"]
    await tell_round(store, PUBLIC)
    supervisor = await as_role(app, Role.SUPERVISOR)
    call = {"narrative": "tree down", "category": "debris", "location": {"lat": 42.93, "lon": -78.83}}
    ticket = (
        await (await supervisor.post("/api/v1/calls", json={**call, "email": "r@example.org"})).get_json()
    )["ticket"]
    await ensure_crew(supervisor, "forestry-4")
    given = {"crew_id": "forestry-4", "force": True}
    assert (await supervisor.post(f"/api/v1/incidents/{ticket}/assignment", json=given)).status_code == 200
    assert (await supervisor.post(f"/api/v1/incidents/{ticket}/transitions", json={"to": "resolved"})).is_json
    await tell_round(store, PUBLIC, str(app.app.secret_key))
    await _mail(mailbox, 2)
    text = mailbox.messages[-1].get_payload(decode=True).decode()  # type: ignore[union-attr]
    link = text.split(f"{PUBLIC}")[1].split()[0]
    resident = app.test_client()
    page = await (await resident.get(link)).get_data(as_text=True)
    assert "I still need help" in page
    answer = {"ticket": ticket, "k": link.split("k=")[1], "answer": "still", "csrf_token": csrf_in(page)}
    answered = await resident.post("/track/answer", form=answer)
    assert answered.status_code == 303
    alarms = (await (await supervisor.get("/api/v1/alarms")).get_json())["alarms"]
    said = [a["event"] for a in alarms if a["event"]["kind"] == "resident-answer"]
    assert [(a["ticket"], a["message"]) for a in said] == [(ticket, "The resident says they still need help")]
    forged = {**answer, "k": "not-the-key", "csrf_token": csrf_in(page)}
    assert (await resident.post("/track/answer", form=forged)).status_code == 403
    without = await (await resident.get(f"/track?ticket={ticket}")).get_data(as_text=True)
    assert "I still need help" not in without


async def test_one_follower_stops_the_emails_and_the_others_still_hear(mailed: tuple[App, Mailbox]) -> None:
    """The stop link asks first (a scanner stops nothing), then stops that address for that request."""
    app, mailbox = mailed
    store: Store = app.app.extensions["stormline.store"]
    await tell_round(store, PUBLIC)
    supervisor = await as_role(app, Role.SUPERVISOR)
    call = {"narrative": "tree down", "category": "debris", "location": {"lat": 42.93, "lon": -78.83}}
    opened = await supervisor.post("/api/v1/calls", json={**call, "email": "one@example.org"})
    ticket = (await opened.get_json())["ticket"]
    await supervisor.post("/api/v1/calls", json={**call, "ticket": ticket, "email": "two@example.org"})
    await ensure_crew(supervisor, "forestry-3")
    given = {"crew_id": "forestry-3", "force": True}
    assert (await supervisor.post(f"/api/v1/incidents/{ticket}/assignment", json=given)).status_code == 200
    await tell_round(store, PUBLIC, str(app.app.secret_key))
    await _mail(mailbox, 2)
    (first,) = [m for m in mailbox.messages if m["To"] == "one@example.org"]
    text = first.get_payload(decode=True).decode()  # type: ignore[union-attr]
    stop = text.split(f"{PUBLIC}/updates/stop")[1].split()[0]
    resident = app.test_client()
    page = await (await resident.get(f"/updates/stop{stop}")).get_data(as_text=True)
    assert "one@example.org will get no more emails" in page
    assert await store.redis.hexists(store.keys.followers(ticket), "email:one@example.org")
    form = dict(pair.split("=", 1) for pair in stop.lstrip("?").split("&"))
    form = {k: unquote(v) for k, v in form.items()}
    forged = await resident.post(
        "/updates/stop", form={**form, "to": "two@example.org", "csrf_token": csrf_in(page)}
    )
    assert forged.status_code == 403
    done = await resident.post("/updates/stop", form={**form, "csrf_token": csrf_in(page)})
    assert done.status_code == 200
    assert (await supervisor.post(f"/api/v1/incidents/{ticket}/transitions", json={"to": "resolved"})).is_json
    await tell_round(store, PUBLIC, str(app.app.secret_key))
    await _mail(mailbox, 3)
    await asyncio.sleep(1)
    assert [m["To"] for m in mailbox.messages].count("one@example.org") == 1
    assert [m["To"] for m in mailbox.messages].count("two@example.org") == 2
