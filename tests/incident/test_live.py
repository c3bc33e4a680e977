"""The live feed over a real server: events as they happen, and a reconnect that misses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from redis.typing import EncodableT, FieldT

from incident.live import Hub
from incident.store import Store
from tests.server import Server

CALL = {"narrative": "tree down on Elmwood", "category": "debris", "location": {"lat": 42.92, "lon": -78.87}}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path, workers=2).start()
    yield running
    running.stop()


def _events(stream: httpx.Response | Iterator[str], wanted: int) -> list[tuple[str, str, str]]:
    """Read SSE messages (id, event, data) until `wanted` of them have come."""
    found: list[tuple[str, str, str]] = []
    fields: dict[str, str] = {}
    for line in stream.iter_lines() if isinstance(stream, httpx.Response) else stream:
        if not line:
            if "id" in fields:
                found.append((fields["id"], fields.get("event", ""), fields.get("data", "")))
                if len(found) == wanted:
                    return found
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value
    return found


def test_events_stream_live_and_resume_from_the_last_id(server: Server) -> None:
    """A call shows on an open stream; reconnecting with Last-Event-ID sends only what came after."""
    token = server.token("supervisor")
    with server.client(token) as client:
        with client.stream("GET", "/api/v1/events/stream", timeout=20) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            first = client.post("/api/v1/calls", json=CALL).json()["ticket"]
            ((first_id, kind, data),) = _events(stream, 1)
        assert kind == "incident.opened"
        assert first in data
        second = client.post("/api/v1/calls", json=CALL).json()["ticket"]  # while no one is listening
        with client.stream(
            "GET", "/api/v1/events/stream", headers={"Last-Event-ID": first_id}, timeout=20
        ) as stream:
            ((second_id, kind, data),) = _events(stream, 1)
        assert kind == "incident.opened"
        assert second in data
        assert second_id > first_id
        with client.stream("GET", "/api/v1/events/stream", timeout=20) as stream:
            switched = client.post("/api/v1/mode", json={"mode": "standby", "reason": "storm forecast"})
            assert switched.status_code == 200
            ((_, kind, data),) = _events(stream, 1)
        assert kind == "center.mode_changed"  # events other modules define pass through too
        assert '"standby"' in data


def test_the_stream_is_for_staff_and_checks_its_id(server: Server) -> None:
    """Without a sign-in the stream is 401; a malformed Last-Event-ID is a 422 naming it."""
    with server.client() as anonymous:
        assert anonymous.get("/api/v1/events/stream").status_code == 401
    with server.client(server.token("agent")) as agent:
        bad = agent.get("/api/v1/events/stream", headers={"Last-Event-ID": "yesterday"})
        assert bad.status_code == 422
        assert "Last-Event-ID" in bad.text


def _signed_in(server: Server, name: str, role: str) -> httpx.Client:
    """A client signed in through the sign-in form, as a browser is."""
    made = server.cli(
        "users", "add", name, "--role", role, "--password-stdin", stdin="correct horse battery staple\n"
    )
    assert made.returncode == 0, made.stderr
    client = server.client()
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "the sign-in page has a CSRF token"
    form = {
        "username": name,
        "password": "correct horse battery staple",
        "csrf_token": token.group(1),
        "next": "/",
    }
    assert client.post("/login", data=form).status_code in (302, 303)
    return client


@pytest.mark.parametrize("how", ["revoke", "disable", "set-role"])
def test_an_open_stream_ends_when_its_credential_no_longer_holds(server: Server, how: str) -> None:
    """A revoked token, a disabled account or a role change ends the open stream before the next event."""
    name = f"night-{how}"
    if how == "revoke":
        client = server.client(server.token("supervisor", name=name))
    else:
        client = _signed_in(server, name, "supervisor")
    with contextlib.closing(client), server.client(server.token("agent")) as agent:
        with client.stream("GET", "/api/v1/events/stream", timeout=30) as stream:
            assert stream.status_code == 200
            lines = stream.iter_lines()
            agent.post("/api/v1/calls", json=CALL)
            assert _events(lines, 1)[0][1] == "incident.opened"
            done = {
                "revoke": ("tokens", "revoke", name),
                "disable": ("users", "disable", name),
                "set-role": ("users", "set-role", name, "crew", "--crew", "forestry-1"),
            }[how]
            assert server.cli(*done).returncode == 0
            ticket = agent.post("/api/v1/calls", json=CALL).json()["ticket"]
            rest = list(lines)  # the server ends the stream by itself
        assert "event: denied" in rest
        assert not any(ticket in line for line in rest)


async def test_an_event_written_between_two_reads_of_the_feed_still_reaches_an_open_map(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub reads on from the last id it had, so an event written while it was busy is not skipped."""
    hub = Hub(store)
    queue = hub.subscribe()
    real_xread = store.redis.xread
    reads = 0

    async def busy_between_reads(*args: Any, **kwargs: Any) -> Any:
        nonlocal reads
        reads += 1
        if reads == 1:  # the first read times out; meanwhile an agent files a call
            event: dict[FieldT, EncodableT] = {
                "type": "incident.opened",
                "data": msgspec.msgpack.encode({"ticket": "t-1"}),
            }
            await store.redis.xadd(store.keys.events, event)
            return None
        return await real_xread(*args, **{**kwargs, "block": 100})

    monkeypatch.setattr(store.redis, "xread", busy_between_reads)
    running = asyncio.create_task(hub.run())
    try:
        entry = await asyncio.wait_for(queue.get(), 5)
    finally:
        running.cancel()
    assert entry is not None
    assert b"event: incident.opened" in entry[1]
    assert b'"ticket":"t-1"' in entry[1]
