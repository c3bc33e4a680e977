"""POST /api/v1/calls, the one door calls come in by: who may, with what, and never a 5xx."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident.auth import accounts, audit
from incident.auth.audit import select_audit
from incident.auth.roles import Role
from tests.incident.auth.helpers import csrf_in, make_user, sign_in
from tests.incident.helpers import CALL, post_call
from tests.support import as_role


async def test_a_call_is_taken_and_a_bad_one_names_its_field(client: Client) -> None:
    """A valid call with a token gets 201 with its Location; a bad body a 422 naming the field."""
    taken = await post_call(client)
    assert taken.status_code == 201
    assert taken.headers["Location"] == f"/api/v1/incidents/{(await taken.get_json())['ticket']}"
    refused = await post_call(client, {"address": "Bailey & Kensington"})
    assert refused.status_code == 422
    assert (await refused.get_json())["errors"][0]["field"] == "narrative"


async def test_json_content_types_are_taken_alike(client: Client) -> None:
    """application/json and a +json type are both read as JSON, with the same headers and fields."""
    answers = []
    for kind in ("application/json", "application/merge-patch+json"):
        headers = {"Content-Type": kind, "Idempotency-Key": kind}
        response = await client.post("/api/v1/calls", data=json.dumps(CALL).encode(), headers=headers)
        assert response.status_code == 201, await response.get_data(as_text=True)
        answers.append(response)
    plain, plus = answers
    varying = {"location", "content-length"}  # the ticket
    assert _fixed_headers(plain, varying) == _fixed_headers(plus, varying)
    assert plain.headers["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self'; ")
    first, second = await plain.get_json(), await plus.get_json()
    assert first.keys() == second.keys()
    assert {k: v for k, v in first["incident"].items() if k not in _PER_INCIDENT} == {
        k: v for k, v in second["incident"].items() if k not in _PER_INCIDENT
    }


async def test_replayed_call_is_marked(client: Client) -> None:
    """A retry with the same Idempotency-Key gets the first answer byte for byte, marked as replayed."""
    first = await post_call(client, None, **{"Idempotency-Key": "retry-1"})
    again = await post_call(client, None, **{"Idempotency-Key": "retry-1"})
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await again.get_data() == await first.get_data()
    assert again.headers["Location"] == first.headers["Location"]


async def test_signed_in_agent_needs_the_csrf_token(app: App) -> None:
    """An agent's session logs a call with the page's CSRF token; without it the call is refused (403)."""
    store = app.app.extensions["stormline.store"]
    await make_user(store, "agent-ann", Role.AGENT)
    browser = app.test_client()
    await sign_in(browser, "agent-ann")
    csrf = csrf_in(await (await browser.get("/")).get_data(as_text=True))
    for wrong in (None, "0" * 64, "é" * 64):  # none, another's, not even ASCII: each a 403, never a 500
        headers = {"X-CSRF-Token": wrong} if wrong else {}
        refused = await browser.post("/api/v1/calls", json=CALL, headers=headers)
        assert refused.status_code == 403, await refused.get_data(as_text=True)
    taken = await browser.post("/api/v1/calls", json=CALL, headers={"X-CSRF-Token": csrf})
    assert taken.status_code == 201
    assert (await taken.get_json())["incident"]["calls"]
    detail = await (await browser.get(f"/api/v1/incidents/{(await taken.get_json())['ticket']}")).get_json()
    assert detail["calls"][0]["agent"] == "agent-ann"  # the signed-in agent is recorded as the agent


async def test_roles_that_may_not_log_calls_are_refused(app: App) -> None:
    """A crew's token is refused (403) and an unknown token is 401, and both refusals are audited."""
    store = app.app.extensions["stormline.store"]
    crew = await as_role(app, Role.CREW)
    assert (await post_call(crew)).status_code == 403
    stranger = app.test_client()
    response = await post_call(stranger, None, Authorization="Bearer slt_not-a-token")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    denials = [e.event for e in await select_audit(store) if isinstance(e.event, audit.AccessDenied)]
    assert [(d.path, d.status) for d in denials[-2:]] == [("/api/v1/calls", 403), ("/api/v1/calls", 401)]


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
    """Odd credentials, cookies, CSRF tokens, keys, content types: a 201 or a 4xx problem, never a 5xx."""
    headers = {"Content-Type": content_type}
    if token_kept:  # a real token beside the odd headers, so the checks after it are reached too
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
