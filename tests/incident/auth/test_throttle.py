"""Guessing is slowed down: a capped wait per login name, and rate limits per address."""

from __future__ import annotations

from typing import Any

import pytest
from quart.testing.app import TestApp as App

from incident import clock
from incident.auth.roles import Role
from incident.store import Store
from tests.incident.auth.helpers import make_user, sign_in

ATTACKER: dict[str, Any] = {"scope_base": {"client": ("203.0.113.66", 40000)}}
REAL_USER: dict[str, Any] = {"scope_base": {"client": ("198.51.100.7", 40001)}}


async def test_hundred_wrong_passwords_slow_down_but_never_lock_out(
    app: App, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """100 wrong passwords make tries wait longer and longer, capped; the real user gets in after the cap."""
    await make_user(store, "ana", Role.SUPERVISOR)
    now = clock.epoch()
    monkeypatch.setattr(clock, "epoch", lambda: now)
    attacker = app.test_client()
    waits: list[int] = []
    outcomes: dict[int, int] = {}
    for attempt in range(100):
        # Each try from a fresh address, so the per-address limit does not hide the per-name wait.
        where: dict[str, Any] = {"scope_base": {"client": (f"203.0.113.{attempt}", 40000)}}
        response = await sign_in(attacker, "ana", f"guess-{attempt}", **where)
        outcomes[response.status_code] = outcomes.get(response.status_code, 0) + 1
        if response.status_code == 429:
            waits.append(int(response.headers["Retry-After"]))
            now += int(response.headers["Retry-After"])  # the attacker waits out each delay
    assert set(outcomes) == {401, 429}, outcomes
    assert waits == sorted(waits), "the wait only grows"
    assert waits[0] <= 2
    assert max(waits) <= 61, "capped at login_max_delay_seconds"
    # The attacker stops; within the cap the real user signs in with the right password.
    now += 61
    response = await sign_in(app.test_client(), "ana", **REAL_USER)
    assert response.status_code == 303


async def test_wrong_name_and_wrong_password_look_the_same(app: App, store: Store) -> None:
    """An unknown name and a known name with a wrong password get the same status and message."""
    await make_user(store, "ana", Role.AGENT)
    known = await sign_in(app.test_client(), "ana", password="nope nope nope")
    unknown = await sign_in(app.test_client(), "nobody-here", password="nope nope nope")
    assert known.status_code == unknown.status_code == 401
    assert "Wrong name or password" in await known.get_data(as_text=True)
    assert "Wrong name or password" in await unknown.get_data(as_text=True)


async def test_public_lookup_is_rate_limited_with_retry_after(app: App) -> None:
    """Past the per-address limit a public route answers 429 with Retry-After, as a problem."""
    client = app.test_client()
    statuses = [(await client.get("/api/v1/public/tickets/2026-000001", **ATTACKER)) for _ in range(125)]
    limited = [response for response in statuses if response.status_code == 429]
    assert limited, "the limit was reached"
    assert [r.status_code for r in statuses[:120]] == [404] * 120
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert limited[0].content_type == "application/problem+json"
    other = await client.get("/api/v1/public/tickets/2026-000001", **REAL_USER)
    assert other.status_code == 404, "another address is not limited"
