"""Browser sessions: cookie flags, CSRF, sign-out, idle and absolute expiry, and account changes."""

from __future__ import annotations

import pytest
from quart.testing.app import TestApp as App

from incident import clock
from incident.auth import accounts, sessions
from incident.auth.roles import Role
from incident.keys import digest
from incident.store import Store
from tests.incident.auth.helpers import csrf_in, make_user, sign_in
from tests.incident.helpers import CALL


async def test_sign_in_sets_a_private_session_cookie(app: App, store: Store) -> None:
    """Signing in sets an HttpOnly, SameSite cookie (Secure only over TLS) and the API knows who it is."""
    await make_user(store, "ana", Role.AGENT)
    client = app.test_client()
    response = await sign_in(client, "ana")
    assert response.status_code == 303
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(sessions.SESSION))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    me = await (await client.get("/api/v1/me")).get_json()
    assert me == {"name": "ana", "role": "agent", "crew_id": None, "via": "session"}


async def test_cookie_is_secure_and_host_bound_over_tls(app: App, store: Store) -> None:
    """Served over https, the session cookie is Secure and named __Host- (no other host may set it)."""
    await make_user(store, "ana", Role.AGENT)
    client = app.test_client()
    response = await sign_in(client, "ana", scheme="https")
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"__Host-{sessions.SESSION}=")
    )
    assert "Secure" in cookie
    assert "Path=/" in cookie
    assert "Domain" not in cookie
    me = await client.get("/api/v1/me", scheme="https")
    assert (await me.get_json())["name"] == "ana"


async def test_json_post_with_session_needs_csrf_header(app: App, store: Store) -> None:
    """A cookie-authenticated API write without X-CSRF-Token is 403; with the page's token it works."""
    await make_user(store, "ana", Role.AGENT)
    client = app.test_client()
    await sign_in(client, "ana")
    refused = await client.post("/api/v1/calls", json=CALL)
    assert refused.status_code == 403
    assert "CSRF" in (await refused.get_json())["detail"]
    token = csrf_in(await (await client.get("/")).get_data(as_text=True))
    accepted = await client.post("/api/v1/calls", json=CALL, headers={"X-CSRF-Token": token})
    assert accepted.status_code == 201


async def test_form_post_without_csrf_token_is_refused(app: App, store: Store) -> None:
    """The sign-in form posted without its CSRF token is refused, even with the right password."""
    await make_user(store, "ana", Role.AGENT)
    client = app.test_client()
    await client.get("/login")
    response = await client.post(
        "/login", form={"username": "ana", "password": "correct horse battery staple"}
    )
    assert response.status_code == 403
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_sign_out_ends_the_session(app: App, store: Store) -> None:
    """After sign-out the old session cookie no longer authenticates."""
    await make_user(store, "ana", Role.AGENT)
    client = app.test_client()
    await sign_in(client, "ana")
    token = csrf_in(await (await client.get("/")).get_data(as_text=True))
    response = await client.post("/logout", form={"csrf_token": token})
    assert response.status_code == 303
    assert (await client.get("/api/v1/me")).status_code == 401
    assert [k async for k in store.redis.scan_iter(match=store.keys.session("*"))] == []


async def test_idle_expiry_is_pushed_forward_by_use(app: App, store: Store) -> None:
    """The session's idle expiry in Redis is the configured idle time and each request renews it."""
    await make_user(store, "ana", Role.AGENT)
    client = app.test_client()
    await sign_in(client, "ana")
    (key,) = [k async for k in store.redis.scan_iter(match=store.keys.session("*"))]
    idle = app.app.extensions["stormline.config"].security.session_idle_minutes * 60
    await store.redis.expire(key, 5)
    await client.get("/api/v1/me")
    assert idle - 5 <= await store.redis.ttl(key) <= idle


async def test_absolute_expiry_ends_a_busy_session(
    app: App, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even a session in constant use ends once the shift length has passed since sign-in."""
    await make_user(store, "ana", Role.AGENT)
    client = app.test_client()
    await sign_in(client, "ana")
    assert (await client.get("/api/v1/me")).status_code == 200
    hours = app.app.extensions["stormline.config"].security.session_max_hours
    later = clock.epoch() + hours * 3600 + 1
    monkeypatch.setattr(clock, "epoch", lambda: later)
    assert (await client.get("/api/v1/me")).status_code == 401


@pytest.mark.parametrize("change", ["disable", "role", "password"])
async def test_account_change_ends_its_sessions(app: App, store: Store, change: str) -> None:
    """Disabling an account, changing its role or resetting its password ends its live sessions at once."""
    await make_user(store, "ana", Role.AGENT)
    client = app.test_client()
    await sign_in(client, "ana")
    if change == "disable":
        await accounts.change_user(store, "ana", actor="admin", disabled=True)
    elif change == "role":
        await accounts.change_user(store, "ana", actor="admin", role=Role.COORDINATOR)
    else:
        await accounts.change_user(store, "ana", actor="admin", password="another long passphrase")
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_disabled_account_cannot_sign_in_and_is_not_told_why(app: App, store: Store) -> None:
    """A disabled account gets the same answer as a wrong password."""
    await make_user(store, "ana", Role.AGENT)
    await accounts.change_user(store, "ana", actor="admin", disabled=True)
    response = await sign_in(app.test_client(), "ana")
    assert response.status_code == 401
    assert "Wrong name or password" in await response.get_data(as_text=True)


async def test_session_ids_are_stored_hashed(app: App, store: Store) -> None:
    """Redis holds only a digest of the session id, never the cookie value itself."""
    await make_user(store, "ana", Role.AGENT)
    response = await sign_in(app.test_client(), "ana")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(sessions.SESSION))
    session_id = cookie.split("=", 1)[1].split(";", 1)[0]
    assert await store.redis.exists(store.keys.session(digest(session_id))) == 1
    assert [k async for k in store.redis.scan_iter(match=f"*{session_id}*")] == []


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/admin/tokens", "/admin/tokens"),
        ("https://evil.example/", "/agent"),
        ("//evil.example/", "/agent"),
        ("/\t/evil.example/", "/agent"),
        ("/\\evil.example/", "/agent"),
        ("/\n/evil.example", "/agent"),
    ],
)
async def test_sign_in_returns_only_to_a_local_path(
    app: App, store: Store, target: str, expected: str
) -> None:
    """After sign-in the browser goes to `next` only if it is a path here; else to the role's console."""
    await make_user(store, "ana", Role.AGENT)
    client = app.test_client()
    page = await (await client.get("/login")).get_data(as_text=True)
    form = {
        "username": "ana",
        "password": "correct horse battery staple",
        "csrf_token": csrf_in(page),
        "next": target,
    }
    response = await client.post("/login", form=form)
    assert response.status_code == 303
    assert response.headers["Location"] == expected


async def test_session_begun_for_an_older_account_version_is_refused(app: App, store: Store) -> None:
    """A session started from an account read before a change (a race with disable) does not work."""
    await make_user(store, "ana", Role.AGENT)
    await accounts.change_user(store, "ana", actor="admin", disabled=True)  # version 1 → 2
    session_id = await sessions.begin(
        store,
        sessions.Session(
            user="ana", role=Role.AGENT, crew_id=None, signed_in_at=clock.epoch(), account_version=1
        ),
        idle_seconds=600,
        max_seconds=3600,
    )
    assert await sessions.resume(store, session_id, idle_seconds=600, max_seconds=3600) is None


async def test_other_authorization_schemes_leave_the_session_alone(app: App, store: Store) -> None:
    """A proxy's Basic credentials do not override a signed-in session."""
    await make_user(store, "ana", Role.AGENT)
    client = app.test_client()
    await sign_in(client, "ana")
    response = await client.get("/api/v1/me", headers={"Authorization": "Basic cHJveHk6cGFzcw=="})
    assert (await response.get_json())["name"] == "ana"


@pytest.mark.parametrize(
    "content_type", ["application/x-url-encoded", "text/plain", "multipart/form-data; boundary=x"]
)
async def test_sign_in_post_of_any_non_json_type_needs_the_csrf_token(
    app: App, store: Store, content_type: str
) -> None:
    """Whatever the body's declared type, a sign-in post without its CSRF token is refused."""
    await make_user(store, "ana", Role.AGENT)
    client = app.test_client()
    await client.get("/login")
    body = b"username=ana&password=correct+horse+battery+staple"
    response = await client.post("/login", data=body, headers={"Content-Type": content_type})
    assert response.status_code == 403


async def test_a_sign_in_form_from_an_ended_session_still_signs_in(app: App, store: Store) -> None:
    """A form rendered while a session lived still signs in once the server ended that session (no 403)."""
    await make_user(store, "ana", Role.AGENT)
    client = app.test_client()
    await sign_in(client, "ana")
    page = await (await client.get("/login")).get_data(as_text=True)  # rendered during the session
    await accounts.change_user(store, "ana", actor="admin", password="another long passphrase")  # ends it
    form = {"username": "ana", "password": "another long passphrase", "csrf_token": csrf_in(page)}
    response = await client.post("/login", form=form)
    assert response.status_code == 303, await response.get_data(as_text=True)
    assert (await (await client.get("/api/v1/me")).get_json())["name"] == "ana"


async def test_an_oversized_sign_in_form_is_413(app: App) -> None:
    """A sign-in form over the body limit is a 413, not a 500 (the rate limiter reads the form too)."""
    response = await app.test_client().post("/login", form={"username": "a" * 70_000, "password": "x"})
    assert response.status_code == 413
