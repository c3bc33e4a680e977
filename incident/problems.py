"""RFC 9457 problem details: every error a client can cause, as `application/problem+json`.

Handlers are registered on the app for our own `Problem`, for request-validation errors (naming the
field), for every HTTP error Quart or Werkzeug raises (bad JSON, 404, 405, 413, 415), and for
anything unexpected, which becomes a 500 problem with no internals in it and a log line with them.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from quart import Quart, Response, has_request_context, request
from quart_schema import RequestSchemaValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from werkzeug.exceptions import HTTPException

from incident import georeport
from incident.validation import dotted, split_error

CONTENT_TYPE = "application/problem+json"
log = logging.getLogger("stormline.errors")
_encode = msgspec.json.Encoder().encode


class Problem(Exception):
    """An error the client can act on. `kind` becomes the problem type, `extra` extension members."""

    def __init__(self, status: int, title: str, detail: str, *, kind: str = "", **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.kind, self.extra = status, title, detail, kind, extra

    def body(self) -> dict[str, Any]:
        return {
            "type": f"urn:stormline:problem:{self.kind}" if self.kind else "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


def unknown_ticket(ticket: str) -> Problem:
    """The 404 for a ticket that does not exist (or that the asker may not know of)."""
    return Problem(
        404, "Not Found", f"no incident with ticket {ticket}", kind="unknown-ticket", ticket=ticket
    )


def contention(what: str) -> Problem:
    """Someone else's writes kept getting in between a read and its write: the client retries."""
    return Problem(503, "Busy", f"{what} is changing too fast; retry", kind="contention")


def invalid_field(field: str, detail: str) -> Problem:
    """A 422 naming the request field that is wrong."""
    return Problem(
        422,
        "Invalid request",
        f"{field}: {detail}",
        kind="invalid-field",
        errors=[{"field": field, "detail": detail}],
    )


def stale_version(what: str, version: int, expected: int) -> Problem:
    """The 412 for a write that named a version the record has moved past."""
    return Problem(
        412,
        "Changed meanwhile",
        f"{what} is at version {version}, not {expected}",
        kind="stale-version",
        version=version,
    )


def held_for_911(ticket: str) -> Problem:
    return Problem(
        409,
        "Held for 911",
        f"incident {ticket} is with 911: 311 does not dispatch it unless a supervisor releases it",
        kind="held-for-911",
    )


def illegal_transition(ticket: str, current: str, target: str, allowed: list[str]) -> Problem:
    return Problem(
        409,
        "Transition not allowed",
        f"incident {ticket} cannot move from {current} to {target}",
        kind="illegal-transition",
        **{"from": current, "to": target},
        allowed=allowed,
    )


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Response:
    if has_request_context() and request.path.startswith("/open311/"):
        # Open311 apps read only their spec's error list, whatever went wrong (404, 405, 429, 503…).
        answer = georeport.errors(georeport.format_of(request.path), problem.status, problem.detail)
        answer.headers.update(headers or {})
        return answer
    return Response(encode(problem), problem.status, headers, content_type=CONTENT_TYPE)


def encode(problem: Problem) -> bytes:
    return _encode(problem.body())


def register(app: Quart) -> None:
    """Install the handlers that turn every error into problem details."""

    @app.errorhandler(Problem)
    async def _problem(error: Problem) -> Response:
        return problem_response(error)

    @app.errorhandler(RequestSchemaValidationError)
    async def _invalid(error: RequestSchemaValidationError) -> Response:
        cause = error.validation_error
        if isinstance(cause, msgspec.ValidationError):
            path, message = split_error(cause)
            if path:
                return problem_response(invalid_field(dotted(path), message))
            return problem_response(
                Problem(
                    422, "Invalid request", f"the body must be a JSON object: {message}", kind="invalid-body"
                )
            )
        return problem_response(Problem(422, "Invalid request", str(cause), kind="invalid-body"))

    @app.errorhandler(HTTPException)
    async def _http(error: HTTPException) -> Response:
        status = error.code or 500
        detail = _HTTP_DETAILS.get(status) or error.description or error.name
        # Keep what the exception says in headers (Allow on 405, Retry-After on 429).
        headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
        return problem_response(Problem(status, error.name, detail), headers)

    @app.errorhandler(RedisConnectionError)
    @app.errorhandler(RedisTimeoutError)
    async def _storage_down(error: Exception) -> Response:
        return problem_response(*storage_down(error))

    @app.errorhandler(Exception)
    async def _unexpected(error: Exception) -> Response:
        return problem_response(unexpected(error))


STORAGE_DOWN = (RedisConnectionError, RedisTimeoutError)


def storage_down(error: Exception) -> tuple[Problem, dict[str, str]]:
    """The 503 for Redis restarting or out of reach past the client's retries.

    Nothing was acknowledged, and a retry (with the same Idempotency-Key) is safe: a 503 says so; a
    500 would say we broke.
    """
    if isinstance(error.__cause__, TimeoutError) and "No connection available" in str(error):
        # Redis answers, but every connection of this worker's pool was busy for the whole wait.
        log.warning("storage busy: no free connection in the pool within its wait")
        problem = Problem(503, "Service Unavailable", "too busy this moment; retry", kind="busy")
        return problem, {"Retry-After": "1"}
    log.warning("storage unavailable: %s", error)
    problem = Problem(503, "Service Unavailable", "storage is restarting; retry in a moment", kind="storage")
    return problem, {"Retry-After": "1"}


def unexpected(error: BaseException) -> Problem:
    """A 500 with no internals in it; the internals go to the log."""
    log.exception("unhandled error", exc_info=error)
    detail = "Stormline failed to handle this request; it has been logged."
    return Problem(500, "Internal Server Error", detail)


TOO_MANY = "Too many requests from this address; wait as Retry-After says."
_HTTP_DETAILS = {
    400: "The request body is not valid JSON.",
    413: "The request body is larger than this server accepts.",
    429: TOO_MANY,
    415: "Send the request body as JSON with Content-Type: application/json.",
}
