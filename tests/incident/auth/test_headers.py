"""Security headers on every kind of response."""

from __future__ import annotations

import pytest
from quart.testing.app import TestApp as App

from incident.auth.roles import Role
from tests.support import as_role


@pytest.mark.parametrize(
    "path", ["/", "/login", "/api/v1/incidents", "/api/v1/nope", "/healthz", "/static/stormline.css"]
)
async def test_security_headers_everywhere(app: App, path: str) -> None:
    """Pages, API answers, problems and static files all carry CSP, nosniff, frame and referrer rules."""
    response = await app.test_client().get(path)
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


async def test_no_store_on_data_and_hsts_over_tls(app: App) -> None:
    """API answers are not cached anywhere; over TLS, HSTS is sent."""
    client = app.test_client()
    assert (await client.get("/api/v1/incidents")).headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" in (await client.get("/healthz", scheme="https")).headers
    assert "Strict-Transport-Security" not in (await client.get("/healthz")).headers


async def test_page_scripts_carry_the_nonce_and_json_answers_none(app: App) -> None:
    """A page's CSP names the nonce its own scripts carry; a JSON answer's CSP lets no inline script run."""
    client = await as_role(app, Role.SUPERVISOR)
    page = await client.get("/map")
    csp = page.headers["Content-Security-Policy"]
    nonce = csp.split("'nonce-", 1)[1].split("'", 1)[0]
    assert f'nonce="{nonce}"' in await page.get_data(as_text=True)
    assert "nonce-" not in (await client.get("/healthz")).headers["Content-Security-Policy"]
