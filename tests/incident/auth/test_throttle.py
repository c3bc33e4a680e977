"""Guessing is slowed down: a capped wait per login name, and rate limits per address."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from quart.testing.app import TestApp as App

from incident import clock
from incident.auth.roles import Role
from incident.auth.throttle import TARPIT_S, PenaltyBox
from incident.store import Store
from tests.incident.auth.helpers import csrf_in, make_user, sign_in
from tests.server import Server

ATTACKER: dict[str, Any] = {"scope_base": {"client": ("203.0.113.66", 40000)}}
REAL_USER: dict[str, Any] = {"scope_base": {"client": ("198.51.100.7", 40001)}}


async def test_hundred_wrong_passwords_slow_down_but_never_lock_out(
    app: App, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """100 wrong passwords make each try wait longer, up to a cap; the real user is never locked out."""
    app.app.config["QUART_RATE_LIMITER_ENABLED"] = False  # this test is about the per-name wait alone
    await make_user(store, "ana", Role.SUPERVISOR)
    now = clock.epoch()
    monkeypatch.setattr(clock, "epoch", lambda: now)
    attacker = app.test_client()
    waits: list[int] = []
    outcomes: dict[int, int] = {}
    for attempt in range(100):
        response = await sign_in(attacker, "ana", f"guess-{attempt}", **ATTACKER)
        outcomes[response.status_code] = outcomes.get(response.status_code, 0) + 1
        if response.status_code == 429:
            waits.append(int(response.headers["Retry-After"]))
            now += int(response.headers["Retry-After"])  # the attacker waits out each delay
    assert set(outcomes) == {401, 429}, outcomes
    assert waits == sorted(waits), "the wait only grows"
    assert waits[0] <= 2
    assert max(waits) <= 61, "capped at login_max_delay_seconds"
    # Meanwhile the real user, elsewhere, signs in at once…
    assert (await sign_in(app.test_client(), "ana", **REAL_USER)).status_code == 303
    # …and even from the attacker's own address, after at most the cap.
    now += 61
    assert (await sign_in(app.test_client(), "ana", **ATTACKER)).status_code == 303


async def test_parallel_guesses_cannot_slip_past_the_count(
    app: App, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """40 wrong passwords at once: only the free attempts and the one that starts the wait are checked."""
    app.app.config["QUART_RATE_LIMITER_ENABLED"] = False
    now = clock.epoch()
    # The clock stands still: on a slow machine the 40 answers can take longer than the first
    # one-second wait, and a guess after that wait is fair, not one that slipped past the count.
    monkeypatch.setattr(clock, "epoch", lambda: now)
    await make_user(store, "ana", Role.SUPERVISOR)
    client = app.test_client()
    page = await (await client.get("/login", **ATTACKER)).get_data(as_text=True)
    form = {"username": "ana", "password": "wrong", "csrf_token": csrf_in(page), "next": "/"}
    answers = await asyncio.gather(*(client.post("/login", form=form, **ATTACKER) for _ in range(40)))
    checked = sum(1 for answer in answers if answer.status_code == 401)
    free = app.app.extensions["stormline.config"].security.login_free_attempts
    assert checked == free + 1, f"{checked} guesses were checked"
    assert all(answer.status_code in (401, 429) for answer in answers)


async def test_wrong_name_and_wrong_password_look_the_same(app: App, store: Store) -> None:
    """An unknown name and a known name with a wrong password get the same status and message."""
    await make_user(store, "ana", Role.AGENT)
    known = await sign_in(app.test_client(), "ana", password="nope nope nope")
    unknown = await sign_in(app.test_client(), "nobody-here", password="nope nope nope")
    assert known.status_code == unknown.status_code == 401
    assert "Wrong name or password" in await known.get_data(as_text=True)
    assert "Wrong name or password" in await unknown.get_data(as_text=True)


async def test_public_lookup_is_rate_limited_with_retry_after(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the per-address limit a public route answers 429 with Retry-After, as a problem."""
    now = clock.epoch()
    # The clock stands still: 120 lookups may take longer than the half second that earns one more.
    monkeypatch.setattr(clock, "epoch", lambda: now)
    client = app.test_client()
    statuses = [(await client.get("/api/v1/public/tickets/2026-000001", **ATTACKER)) for _ in range(125)]
    limited = [response for response in statuses if response.status_code == 429]
    assert limited, "the limit was reached"
    assert [r.status_code for r in statuses[:120]] == [404] * 120
    first = statuses[0].headers  # the limit, as the IETF RateLimit header fields say it
    assert (first["RateLimit-Limit"], first["RateLimit-Remaining"]) == ("120", "119")
    assert statuses[119].headers["RateLimit-Remaining"] == "0"
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert limited[0].content_type == "application/problem+json"
    other = await client.get("/api/v1/public/tickets/2026-000001", **REAL_USER)
    assert other.status_code == 404, "another address is not limited"


async def test_forwarded_for_header_does_not_dodge_the_limit(app: App) -> None:
    """A client that invents X-Forwarded-For on each request is still limited by its real address."""
    client = app.test_client()
    statuses = [
        (
            await client.get(
                "/api/v1/public/tickets/2026-000001",
                headers={"X-Forwarded-For": f"10.9.{n // 250}.{n % 250}"},
                **ATTACKER,
            )
        ).status_code
        for n in range(125)
    ]
    assert 429 in statuses


async def test_a_flood_of_concurrent_requests_gets_no_more_than_the_limit(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 lookups at once from one address: exactly the 120 a minute pass, the rest wait for their 429."""
    now = clock.epoch()
    monkeypatch.setattr(clock, "epoch", lambda: now)  # no new slot opens while they are answered
    client = app.test_client()
    answers = await asyncio.gather(
        *(client.get("/api/v1/public/tickets/2026-000001", **ATTACKER) for _ in range(300))
    )
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(404) == 120
    assert statuses.count(429) == 180


def test_a_robot_posting_the_web_form_is_refused_in_front_of_the_app_and_others_are_served(
    tmp_path: Path,
) -> None:
    """Over real HTTP: past the form's limit each post waits for a 429 problem; the form still opens."""
    server = Server(tmp_path).start()
    try:
        with server.client() as browser:
            form = browser.get("/report")
            token = csrf_in(form.text)
            report = {"csrf_token": token, "category": "debris", "address": "400 Elmwood Ave"}
            answers = [
                browser.post("/report", data={**report, "description": f"tree down, report {n}"})
                for n in range(13)
            ]
            statuses = [answer.status_code for answer in answers]
            assert all(200 <= status < 300 for status in statuses[:10])  # filed (or offered a duplicate)
            assert statuses[10:] == [429, 429, 429]
            refused = answers[-1]
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["status"] == 429
            assert int(refused.headers["retry-after"]) > 60  # the next report this address may send
            assert refused.headers["x-content-type-options"] == "nosniff"
            assert refused.elapsed.total_seconds() >= TARPIT_S  # a robot's loop slows down
            assert browser.get("/report").status_code == 200  # reading the form is not what was limited
            assert browser.get("/track").status_code == 200
    finally:
        server.stop()


async def test_a_robot_without_a_contact_meets_the_address_limit_and_is_then_refused_in_front(
    app: App,
) -> None:
    """Past 10 reports an hour from one address, the address is held in front of the app for the wait."""
    client = app.test_client()
    token = csrf_in(await (await client.get("/report", **ATTACKER)).get_data(as_text=True))
    form = {
        "csrf_token": token,
        "category": "debris",
        "address": "400 Elmwood Ave",
        "description": "limb down",
    }
    statuses = [(await client.post("/report", form=form, **ATTACKER)).status_code for _ in range(11)]
    assert statuses.count(429) == 1
    assert statuses[-1] == 429
    box = app.app.asgi_app
    assert isinstance(box, PenaltyBox)
    until = box.until[("203.0.113.66", "public_pages.post_report")]
    assert until - time.monotonic() > 300  # the next report this address may send is minutes away
    assert ("203.0.113.66", "public_pages.report_form") not in box.until  # reading the form is not limited


async def test_the_penalty_box_answers_for_the_limit_reads_the_body_and_forgets_when_the_wait_ends(
    app: App,
) -> None:
    """A held address gets the 429 problem without reaching the app; once its wait is over, the app again."""
    reached: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    box = PenaltyBox(app.app, inner)
    body = [
        {"type": "http.request", "body": b"a" * 100, "more_body": True},
        {"type": "http.request", "body": b""},
    ]
    sent: list[dict[str, Any]] = []

    async def call(path: str, address: str) -> int:
        messages = iter(list(body))
        sent.clear()

        async def receive() -> Any:
            return next(messages)

        async def send(message: Any) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": path, "scheme": "http", "client": (address, 1)}
        await box(scope, receive, send)  # type: ignore[arg-type]
        return int(sent[0]["status"])

    box.hold("198.51.100.9", "public_pages.post_report", 60)
    assert await call("/report", "198.51.100.9") == 429
    headers = dict(sent[0]["headers"])
    assert headers[b"content-type"] == b"application/problem+json"
    assert int(headers[b"retry-after"]) >= 59
    assert await call("/report", "192.0.2.1") == 200  # another address
    box.hold("198.51.100.9", "public_pages.post_report", -1)  # its wait is over
    assert await call("/report", "198.51.100.9") == 200
    assert reached == ["/report", "/report"]
    assert box.refused >= 1
