"""The intake lane: the ordinary call answered without Quart, everything else handed on, alike."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

from hypercorn.typing import ASGIReceiveCallable, ASGIReceiveEvent, ASGISendCallable, Scope
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident.auth import accounts, audit
from incident.auth.audit import select_audit
from incident.auth.roles import Role
from incident.lane import IntakeLane
from tests.conftest import as_role
from tests.incident.auth.helpers import csrf_in, make_user, sign_in
from tests.incident.helpers import CALL, post_call


def _handed_on(app: App) -> list[str]:
    """Record each request the lane hands to the Quart app (by method and path)."""
    lane = app.app.asgi_app
    assert isinstance(lane, IntakeLane)
    inner, seen = lane.inner, []

    async def recording(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] == "http":
            seen.append(f"{scope['method']} {scope['path']}")
        await inner(scope, receive, send)

    lane.inner = recording
    return seen


async def test_lane_takes_the_ordinary_call_and_hands_on_a_bad_one(app: App, client: Client) -> None:
    """A valid call with a token is answered by the lane; a bad body goes to Quart, which names the field."""
    handed_on = _handed_on(app)
    taken = await post_call(client)
    assert taken.status_code == 201
    assert handed_on == []
    refused = await post_call(client, {"address": "Bailey & Kensington"})
    assert refused.status_code == 422
    assert (await refused.get_json())["errors"][0]["field"] == "narrative"
    assert handed_on == ["POST /api/v1/calls"]


async def test_both_doors_answer_alike(app: App, client: Client) -> None:
    """The same call through the lane and through the Quart route gets the same status, headers and fields."""
    handed_on = _handed_on(app)
    answers = []
    for kind in ("application/json", "application/merge-patch+json"):  # Quart reads both as JSON
        headers = {"Content-Type": kind, "Idempotency-Key": kind}
        response = await client.post("/api/v1/calls", data=json.dumps(CALL).encode(), headers=headers)
        assert response.status_code == 201, await response.get_data(as_text=True)
        answers.append(response)
    assert handed_on == ["POST /api/v1/calls"]  # only the second
    lane, quart = answers
    varying = {"content-security-policy", "location", "content-length"}  # the nonce, the ticket
    assert _fixed_headers(lane, varying) == _fixed_headers(quart, varying)
    assert lane.headers["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self' 'nonce-")
    first, second = await lane.get_json(), await quart.get_json()
    assert first.keys() == second.keys()
    assert first["incident"].keys() == second["incident"].keys()
    assert {k: v for k, v in first["incident"].items() if k not in _PER_INCIDENT} == {
        k: v for k, v in second["incident"].items() if k not in _PER_INCIDENT
    }


async def test_replayed_call_is_marked_by_the_lane(app: App, client: Client) -> None:
    """A retry with the same Idempotency-Key gets the first answer, marked as replayed, from the lane too."""
    handed_on = _handed_on(app)
    first = await post_call(client, None, **{"Idempotency-Key": "retry-1"})
    again = await post_call(client, None, **{"Idempotency-Key": "retry-1"})
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await again.get_data() == await first.get_data()
    assert handed_on == []


async def test_signed_in_agent_needs_the_csrf_token(app: App) -> None:
    """An agent's session logs a call with the page's CSRF token; without it the call is refused (403)."""
    store = app.app.extensions["stormline.store"]
    await make_user(store, "agent-ann", Role.AGENT)
    browser = app.test_client()
    await sign_in(browser, "agent-ann")
    csrf = csrf_in(await (await browser.get("/")).get_data(as_text=True))
    handed_on = _handed_on(app)
    for wrong in (None, "0" * 64, "é" * 64):  # none, another's, not even ASCII: each a 403, never a 500
        headers = {"X-CSRF-Token": wrong} if wrong else {}
        refused = await browser.post("/api/v1/calls", json=CALL, headers=headers)
        assert refused.status_code == 403, await refused.get_data(as_text=True)
    assert handed_on == ["POST /api/v1/calls"] * 3
    taken = await browser.post("/api/v1/calls", json=CALL, headers={"X-CSRF-Token": csrf})
    assert taken.status_code == 201
    assert (await taken.get_json())["incident"]["calls"]
    assert len(handed_on) == 3  # the last was the lane's
    detail = await (await browser.get(f"/api/v1/incidents/{(await taken.get_json())['ticket']}")).get_json()
    assert detail["calls"][0]["agent"] == "agent-ann"  # the signed-in agent, as the Quart route records


async def test_roles_that_may_not_log_calls_are_refused(app: App) -> None:
    """A crew's token is refused (403) and an unknown token is 401, by the Quart route, which audits both."""
    store = app.app.extensions["stormline.store"]
    crew = await as_role(app, Role.CREW)
    handed_on = _handed_on(app)
    assert (await post_call(crew)).status_code == 403
    stranger = app.test_client()
    response = await post_call(stranger, None, Authorization="Bearer slt_not-a-token")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert handed_on == ["POST /api/v1/calls"] * 2
    denials = [e.event for e in await select_audit(store) if isinstance(e.event, audit.AccessDenied)]
    assert [(d.path, d.status) for d in denials[-2:]] == [("/api/v1/calls", 403), ("/api/v1/calls", 401)]


async def test_a_body_declared_too_big_is_handed_on_unread(app: App, client: Client) -> None:
    """A Content-Length over intake.max_body_bytes gets Quart's 413 problem."""
    handed_on = _handed_on(app)
    too_big = b'{"narrative": "' + b"x" * app.app.config["MAX_CONTENT_LENGTH"] + b'"}'
    response = await client.post("/api/v1/calls", data=too_big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"
    assert handed_on == ["POST /api/v1/calls"]


async def test_a_body_too_big_mid_stream_is_handed_on_whole(app: App) -> None:
    """A body that grows past the limit is handed on with every chunk read so far, then the rest, in order."""
    lane = app.app.asgi_app
    assert isinstance(lane, IntakeLane)
    limit = app.app.config["MAX_CONTENT_LENGTH"]
    _, secret = await accounts.create_token(
        app.app.extensions["stormline.store"], "desk-big", Role.AGENT, crew_id=None, actor="test"
    )
    chunks: list[ASGIReceiveEvent] = [
        {"type": "http.request", "body": b"x" * limit, "more_body": True},
        {"type": "http.request", "body": b"y" * 10, "more_body": True},
        {"type": "http.request", "body": b"z", "more_body": False},
    ]
    sent_in = list(chunks)
    received: list[Any] = []
    left_when_handed_on: list[int] = []

    async def receive() -> ASGIReceiveEvent:
        return sent_in.pop(0)

    async def inner(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        left_when_handed_on.append(len(sent_in))
        while True:
            event = await receive()
            received.append(event)
            if not event.get("more_body"):
                return

    async def send(_: Any) -> None:
        raise AssertionError("the lane must not answer a body too big")

    scope: Any = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/calls",
        "scheme": "http",
        "headers": [(b"content-type", b"application/json"), (b"authorization", f"Bearer {secret}".encode())],
    }
    await IntakeLane(lane.app, inner)(scope, receive, send)
    assert left_when_handed_on == [1]  # the lane had read two chunks (past the limit) before handing on
    assert received == chunks


_PER_INCIDENT = {"ticket", "seq", "calls", "opened_at", "updated_at", "due_at", "handoff"}


def _fixed_headers(response: Any, varying: set[str]) -> dict[str, str]:
    return {name.lower(): value for name, value in response.headers.items() if name.lower() not in varying}


_latin1 = st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f")  # what HTTP carries
_header_text = st.text(_latin1, max_size=60)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    authorization=st.one_of(st.none(), _header_text, _header_text.map("Bearer ".__add__)),
    cookie=st.one_of(
        st.none(), st.just("SESSION"), _header_text, _header_text.map("stormline_session=".__add__)
    ),
    csrf=st.one_of(st.none(), st.just("CSRF"), _header_text, _header_text.map("CSRF".__add__)),
    key=st.one_of(st.none(), _header_text),
    content_type=st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", ""]),
    token_kept=st.booleans(),
)
async def test_hostile_headers_never_cause_a_5xx(
    app: App,
    authorization: str | None,
    cookie: str | None,
    csrf: str | None,
    key: str | None,
    content_type: str,
    token_kept: bool,
) -> None:
    """Odd credentials, cookies, CSRF tokens, keys, content types: a 201 or a 4xx problem, at either door."""
    headers = {"Content-Type": content_type}
    if token_kept:  # a real token beside the odd headers, so the lane's own checks are reached too
        store = app.app.extensions["stormline.store"]
        name = f"desk-{uuid4().hex[:12]}"
        _, secret = await accounts.create_token(store, name, Role.AGENT, crew_id=None, actor="test")
        headers["Authorization"] = f"Bearer {secret}"
    # SESSION and CSRF stand for a signed-in agent's real cookie and token, so the CSRF check is reached.
    session, token = await _agent_session(app)
    cookie = cookie and cookie.replace("SESSION", session)
    csrf = csrf and csrf.replace("CSRF", token)
    for name, value in (("Authorization", authorization), ("Cookie", cookie), ("X-CSRF-Token", csrf)):
        if value is not None:
            headers[name] = value
    if key is not None:
        headers["Idempotency-Key"] = key
    response = await app.test_client().post("/api/v1/calls", data=json.dumps(CALL).encode(), headers=headers)
    assert response.status_code < 500, (headers, await response.get_data(as_text=True))
    if response.status_code >= 400:
        assert response.content_type == "application/problem+json"


async def _agent_session(app: App) -> tuple[str, str]:
    """A signed-in agent's session cookie and CSRF token, made once per app (signing in hashes a password)."""
    made: tuple[str, str] | None = app.app.extensions.get("test.agent_session")
    if made is None:
        await make_user(app.app.extensions["stormline.store"], "agent-fuzz", Role.AGENT)
        browser = app.test_client()
        await sign_in(browser, "agent-fuzz")
        csrf = csrf_in(await (await browser.get("/")).get_data(as_text=True))
        jar = browser.cookie_jar
        assert jar is not None
        (session,) = [f"{c.name}={c.value}" for c in jar if c.name == "stormline_session"]
        made = app.app.extensions["test.agent_session"] = (session, csrf)
    return made
