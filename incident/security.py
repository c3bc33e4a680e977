"""Security headers on every response, with a per-request nonce for the pages' own scripts."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from quart import Quart, Response, current_app, g, request


def _tile_origin() -> str:
    """The map tile server's origin, when STORMLINE_TILES names one (the map may load images from it)."""
    parts = urlsplit(str(current_app.extensions.get("stormline.tiles") or ""))
    if not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc.replace('{s}.', '*.')}"  # Leaflet's {s}: a, b, c subdomains


def csp_nonce() -> str:
    """This request's CSP nonce, for `<script nonce="…">` in templates."""
    nonce = getattr(g, "csp_nonce", None)
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(16)
    return str(nonce)


def install(app: Quart) -> None:
    app.after_request(_headers)
    app.context_processor(lambda: {"csp_nonce": csp_nonce})


async def _headers(response: Response) -> Response:
    nonce = csp_nonce()
    headers = response.headers
    headers["Content-Security-Policy"] = (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        f"style-src 'self' 'nonce-{nonce}'; "
        f"img-src 'self' data: {_tile_origin()}; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers.setdefault("Referrer-Policy", "same-origin")  # a route may ask for less (a token in its path)
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "geolocation=(self), camera=(), microphone=()"
    if request.path != "/static" and not request.path.startswith("/static/"):
        # Responses carry callers' details; no shared or browser cache should keep them (a route that
        # serves only public files, like the map libraries, says so itself).
        headers.setdefault("Cache-Control", "no-store")
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return response
