"""The audit stream records sign-ins, failures, sign-outs, denials and account changes."""

from __future__ import annotations

from quart.testing.app import TestApp as App

from incident.auth import accounts
from incident.auth.roles import Role
from incident.store import Store
from tests.incident.auth.helpers import csrf_in, make_user, sign_in
from tests.support import as_role


async def test_audit_records_who_did_what(app: App, store: Store) -> None:
    """Each security event appears, in order, with who and what, in GET /api/v1/audit."""
    await make_user(store, "ana", Role.AGENT)
    browser = app.test_client()
    await sign_in(browser, "ana", password="wrong wrong wrong")
    await sign_in(browser, "ana")
    await browser.post(
        "/logout", form={"csrf_token": csrf_in(await (await browser.get("/")).get_data(as_text=True))}
    )
    await app.test_client().get("/api/v1/incidents")  # anonymous: denied
    await accounts.change_user(store, "ana", actor="boss", role=Role.SUPERVISOR)
    supervisor = await as_role(app, Role.SUPERVISOR, name="auditor")
    events = [e["event"] for e in (await (await supervisor.get("/api/v1/audit")).get_json())["events"]]
    kinds = [e["type"] for e in events]
    for kind in ("account.user_created", "auth.login_failed", "auth.login", "auth.logout", "auth.denied",
                 "account.user_changed", "account.token_created"):  # fmt: skip
        assert kind in kinds, kind
    assert kinds.index("auth.login_failed") < kinds.index("auth.login") < kinds.index("auth.logout")
    changed = next(e for e in events if e["type"] == "account.user_changed")
    assert (changed["actor"], changed["old_role"], changed["new_role"]) == ("boss", "agent", "supervisor")
    denied = next(e for e in events if e["type"] == "auth.denied")
    assert (denied["status"], denied["path"]) == (401, "/api/v1/incidents")
    failed = next(e for e in events if e["type"] == "auth.login_failed")
    assert failed["name"] == "ana"
    assert "password" not in failed, "the guessed password is never recorded"


async def test_mistyped_name_is_not_recorded(app: App, store: Store) -> None:
    """A name that is no account (perhaps a password typed in the wrong field) is not written down."""
    await sign_in(app.test_client(), "hunter2-oops", password="whatever whatever")
    supervisor = await as_role(app, Role.SUPERVISOR, name="auditor")
    events = [e["event"] for e in (await (await supervisor.get("/api/v1/audit")).get_json())["events"]]
    failed = next(e for e in events if e["type"] == "auth.login_failed")
    assert failed["name"] is None
    assert "hunter2" not in str(events)


async def test_denial_floods_are_counted_not_stored(app: App) -> None:
    """Fifty denied requests from one address leave at most twenty audit entries, the last saying so."""
    anonymous = app.test_client()
    for _ in range(50):
        assert (await anonymous.get("/api/v1/incidents")).status_code == 401
    supervisor = await as_role(app, Role.SUPERVISOR, name="auditor")
    events = [
        e["event"] for e in (await (await supervisor.get("/api/v1/audit?limit=1000")).get_json())["events"]
    ]
    denials = [e for e in events if e["type"] == "auth.denied"]
    assert len(denials) == 20
    assert "not recorded" in denials[-1]["reason"]
