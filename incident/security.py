"""Security headers on every response, with a per-request nonce for the pages' own scripts."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from quart import Quart, Response, current_app, g, request


def _tile_origin(tiles: str) -> str:
    """The map tile server's origin, when STORMLINE_TILES names one (the map may load images from it)."""
    parts = urlsplit(tiles)
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


def headers_for(app: Quart, path: str, nonce: str | None, *, secure: bool) -> dict[str, str]:
    """The security headers of a response to `path`; `nonce` if the response has scripts of its own."""
    own = f" 'nonce-{nonce}'" if nonce else ""
    headers = {
        "Content-Security-Policy": (
            "default-src 'self'; "
            f"script-src 'self'{own}; "
            f"style-src 'self'{own}; "
            f"img-src 'self' data: {_tile_origin(str(app.extensions.get('stormline.tiles') or ''))}; "
            "connect-src 'self'; font-src 'self'; object-src 'none'; "
            "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
    }
    if path != "/static" and not path.startswith("/static/"):
        # Responses carry callers' details; no shared or browser cache should keep them (a route that
        # serves only public files, like the map libraries, says so itself).
        headers["Cache-Control"] = "no-store"
    if secure:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


# A route may ask for less: no referrer for a token in its path, caching for public files.
_ROUTE_MAY_CHOOSE = frozenset({"Referrer-Policy", "Cache-Control"})


async def _headers(response: Response) -> Response:
    headers = response.headers
    # Only a page that asked for a nonce has inline scripts; a JSON answer needs none (and the random
    # bytes are a system call on the busiest path).
    nonce = getattr(g, "csp_nonce", None)
    for name, value in headers_for(current_app, request.path, nonce, secure=request.is_secure).items():
        if name in _ROUTE_MAY_CHOOSE:
            headers.setdefault(name, value)
        else:
            headers[name] = value
    return response
