"""What every blueprint shares: the request class, JSON responses, and the app's store and config."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from quart import Quart, Request, Response, current_app, request

from incident.config import SurgeConfig

if TYPE_CHECKING:
    from incident.geocoding import GeoService
from incident.photos import MAX_UPLOAD_BYTES
from incident.problems import Problem
from incident.store import Store
from incident.triage import Engine
from incident.validation import cleaned, may_hold_forbidden

_encode = msgspec.json.Encoder().encode


# Routes whose body may be larger than the configured limit: a resident's report with a photo;
# The other: a registry list (a county's may have tens of thousands of rows).
LARGER_BODIES = {
    ("POST", "/report"): MAX_UPLOAD_BYTES + 64 * 1024,
    ("POST", "/api/v1/registry/import"): 8 * 1024 * 1024,
}


class StormlineRequest(Request):
    """Decodes JSON bodies with msgspec, and says exactly what is wrong with a bad one."""

    def __init__(self, method: str, scheme: str, path: str, *args: Any, **kwargs: Any) -> None:
        larger = LARGER_BODIES.get((method, path))
        if larger is not None:
            kwargs["max_content_length"] = larger
        super().__init__(method, scheme, path, *args, **kwargs)

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
            return decode_json(data)
        except Problem:
            if silent:
                return None
            raise


MAX_DEPTH = 32  # arrays and objects inside each other: no request of ours needs more than a few


def decode_json(data: bytes | str) -> Any:
    """A JSON body, or a 400 that says what is wrong with it: not JSON, or nested too deeply."""
    try:
        value = msgspec.json.decode(data)
    except msgspec.DecodeError as error:
        raise Problem(
            400, "Malformed JSON", f"the body is not valid JSON: {error}", kind="malformed-json"
        ) from None
    except RecursionError:
        value = None
    else:
        if not _too_deep(value):
            # \t and \n escapes are common; \u0001 and the like are stripped here, once, for good.
            return cleaned(value) if may_hold_forbidden(data) else value
    raise Problem(
        400,
        "Malformed JSON",
        f"the body nests arrays or objects more than {MAX_DEPTH} deep",
        kind="malformed-json",
    )


def _too_deep(value: Any) -> bool:
    level: list[Any] = [value]
    for _ in range(MAX_DEPTH + 1):
        level = [
            item
            for container in level
            if isinstance(container, dict | list)
            for item in (container.values() if isinstance(container, dict) else container)
            if isinstance(item, dict | list)
        ]
        if not level:
            return False
    return True


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


def public_url(app: Quart | None = None) -> str | None:
    """Where outsiders reach Stormline, as configured (STORMLINE_PUBLIC_URL); None when unset.

    Links that leave the building (to agencies, by webhook or email) are built from this alone: a
    request's Host header is the sender's to forge.
    """
    configured = (app or current_app).extensions.get("stormline.public_url")
    return str(configured).rstrip("/") if configured else None


def public_base_url() -> str:
    """For an answer to this request only: the configured address, else the one it came to."""
    return public_url() or request.host_url.rstrip("/")
