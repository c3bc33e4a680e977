"""Helpers for sign-in tests."""

from __future__ import annotations

import re
from typing import Any

from quart.typing import TestClientProtocol as Client

from incident.auth import accounts
from incident.auth.roles import Role
from incident.store import Store

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def csrf_in(page: str) -> str:
    """The CSRF token in a rendered page's form."""
    match = _CSRF.search(page)
    assert match, "the page has a form with a CSRF token"
    return match.group(1)


async def make_user(store: Store, name: str, role: Role, crew_id: str | None = None) -> None:
    await accounts.create_user(store, name, role, PASSWORD, crew_id=crew_id, actor="test", min_length=12)


async def sign_in(
    client: Client, name: str, password: str = PASSWORD, *, scope_base: Any = None, **open_kwargs: Any
) -> Any:
    """Fetch the sign-in page (for its CSRF token) and post the form, as a browser does."""
    if scope_base is not None:
        open_kwargs["scope_base"] = scope_base
    page = await (await client.get("/login", **open_kwargs)).get_data(as_text=True)
    form = {"username": name, "password": password, "csrf_token": csrf_in(page), "next": "/"}
    return await client.post("/login", form=form, **open_kwargs)
