"""What every blueprint shares: the request class, JSON responses, and the app's store and config."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from quart import Quart, Request, Response, current_app, request

from incident.config import SurgeConfig

if TYPE_CHECKING:
    from geo.service import GeoService
from incident.problems import Problem
from incident.store import Store
from incident.triage import Engine

_encode = msgspec.json.Encoder().encode


class StormlineRequest(Request):
    """Decodes JSON bodies with msgspec, and says exactly what is wrong with a bad one."""

    async def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        if not (force or self.is_json):
            if silent:
                return None
            raise Problem(
                415,
                "Unsupported Media Type",
                "send the request body as JSON with Content-Type: application/json",
            )
        data = await self.get_data(cache=cache)
        try:
            return msgspec.json.decode(data)
        except msgspec.DecodeError as error:
            if silent:
                return None
            raise Problem(
                400, "Malformed JSON", f"the body is not valid JSON: {error}", kind="malformed-json"
            ) from None


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = value if isinstance(value, bytes) else _encode(value)
    return Response(body, status, headers, content_type="application/json")


def store(app: Quart | None = None) -> Store:
    """The current app's Store (opened while the app serves)."""
    return (app or current_app).extensions["stormline.store"]  # type: ignore[no-any-return]


def geo(app: Quart | None = None) -> GeoService:
    """The current app's geography service (opened while the app serves)."""
    return (app or current_app).extensions["stormline.geo"]  # type: ignore[no-any-return]


def triage_engine(app: Quart | None = None) -> Engine:
    """The current app's triage rules, compiled once."""
    return (app or current_app).extensions["stormline.triage"]  # type: ignore[no-any-return]


def surge_config(app: Quart | None = None) -> SurgeConfig:
    return (app or current_app).extensions["stormline.config"]  # type: ignore[no-any-return]


def public_base_url() -> str:
    """Where outsiders reach Stormline (STORMLINE_PUBLIC_URL), else the address this request came to."""
    return str(current_app.extensions.get("stormline.public_url") or request.host_url).rstrip("/")
