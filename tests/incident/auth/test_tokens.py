"""API tokens: bearer authentication, scoped to a role, revoked at once."""

from __future__ import annotations

import pytest
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident.auth import accounts
from incident.auth.roles import Role
from incident.store import Store
from tests.support import as_role, with_token


async def test_revoked_token_stops_working_at_once(app: App, store: Store) -> None:
    """The request after a revocation is refused with 401."""
    _, secret = await accounts.create_token(store, "psap-buffalo", Role.PSAP, crew_id=None, actor="test")
    client = with_token(app.test_client(), secret)
    assert (await client.get("/api/v1/me")).status_code == 200
    await accounts.revoke_token(store, "psap-buffalo", actor="test")
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_token_is_scoped_to_its_role(app: App) -> None:
    """A crew token reads incidents but may not file calls."""
    crew = await as_role(app, Role.CREW, crew_id="forestry-3")
    assert (await crew.get("/api/v1/incidents")).status_code == 200
    assert (await crew.post("/api/v1/calls", json={"narrative": "x"})).status_code == 403
    me = await (await crew.get("/api/v1/me")).get_json()
    assert me["crew_id"] == "forestry-3"


@pytest.mark.parametrize(
    "header", ["Bearer", "Basic dXNlcjpwYXNz", "Bearer slt_made_up", "Bearer " + "x" * 500]
)
async def test_bad_authorization_header_is_401(app: App, header: str) -> None:
    """A malformed, foreign or unknown credential is 401, not anonymous access."""
    response = await app.test_client().get("/api/v1/incidents", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"


async def test_tokens_are_stored_as_digests(app: App, store: Store) -> None:
    """Nothing in Redis contains the token secret itself."""
    _, secret = await accounts.create_token(store, "script-1", Role.SUPERVISOR, crew_id=None, actor="test")
    for key in [k async for k in store.redis.scan_iter()]:
        assert secret.encode() not in key
        if await store.redis.type(key) == b"string":
            assert secret.encode() not in (await store.redis.get(key) or b"")


async def test_token_names_and_bindings_are_checked(store: Store) -> None:
    """Duplicate names, bad names and crew tokens without a crew are refused with a reason."""
    await accounts.create_token(store, "dup", Role.AGENCY, crew_id=None, actor="t")
    with pytest.raises(accounts.AccountError, match="already"):
        await accounts.create_token(store, "dup", Role.AGENCY, crew_id=None, actor="t")
    with pytest.raises(accounts.AccountError, match="name"):
        await accounts.create_token(store, "Has Spaces", Role.AGENCY, crew_id=None, actor="t")
    with pytest.raises(accounts.AccountError, match="crew"):
        await accounts.create_token(store, "van-7", Role.CREW, crew_id=None, actor="t")
    with pytest.raises(accounts.AccountError, match="no admin tokens"):
        await accounts.create_token(store, "root", Role.ADMIN, crew_id=None, actor="t")


async def test_admin_creates_and_revokes_tokens_in_the_ui(app: App) -> None:
    """The admin page shows a new token's secret once, and revoking it from the page disables it."""
    admin = await as_role(app, Role.ADMIN)
    created = await admin.post("/admin/tokens", form={"name": "agency-redcross", "role": "agency"})
    assert created.status_code == 201
    page = await created.get_data(as_text=True)
    secret = page.split('<code id="new-token">', 1)[1].split("</code>", 1)[0]
    partner = with_token(app.test_client(), secret)
    assert (await partner.get("/api/v1/me")).status_code == 200
    listing = await (await admin.get("/admin/tokens")).get_data(as_text=True)
    assert "agency-redcross" in listing
    assert secret not in listing
    assert (await admin.post("/admin/tokens/agency-redcross/revoke")).status_code == 303
    assert (await partner.get("/api/v1/me")).status_code == 401


@pytest.mark.parametrize("path", ["/login", "/", "/track", "/referral/forged.token"])
async def test_a_refused_token_on_a_public_page_is_401_not_a_redirect(client: Client, path: str) -> None:
    """A public page refusing a bearer token answers 401 in place, not a redirect to /login (which looped)."""
    # Found by fuzzing: a script keeping a revoked token was sent from /login to /login?next=/login forever.
    response = await client.get(path, headers={"Authorization": "Bearer slt_made_up"})
    assert response.status_code == 401
    assert "Location" not in response.headers
    assert "unknown or revoked token" in await response.get_data(as_text=True)


async def test_a_refused_token_on_a_staff_page_goes_to_sign_in_once(client: Client) -> None:
    """A staff page still sends a refused token to /login once; /login then answers 401, not another 303."""
    bad = {"Authorization": "Bearer slt_made_up"}
    response = await client.get("/map", headers=bad)
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=/map"
    assert (await client.get("/login?next=/map", headers=bad)).status_code == 401
