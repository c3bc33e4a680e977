"""POST /api/v1/calls answered straight from ASGI: the one request a storm sends by the thousand.

Quart's machinery around a request (its context, hooks, request and response objects, the schema
wrapper) cost a worker about a fifth of its CPU per call (BENCHMARKS.md). The lane answers the
ordinary call itself: from a bearer token, or a signed-in session with its CSRF token, that the
access table lets log calls; a JSON body within the size limit that decodes as a CallIn; a
well-formed Idempotency-Key if any. Who is asking is settled from the headers before the body is
read. Everything else (no or a refused credential, a bad body or key, a body too big) it hands,
body and all, to the Quart route, which answers it as it answers every request: audited, in problem
details naming the field.

Nothing is decided twice in two ways: both doors take the call in `api.log_call`, read credentials
with `access.from_credentials`, send `security.headers_for`, and turn errors into problems with
`problems`.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from hypercorn.typing import ASGIReceiveCallable, ASGIReceiveEvent, ASGISendCallable, Scope
from quart import Quart
from werkzeug.exceptions import RequestTimeout
from werkzeug.http import parse_cookie

from incident import problems
from incident.api import log_call, valid_idempotency_key
from incident.auth import access, sessions
from incident.auth.policy import ACCESS
from incident.intake import CallIn
from incident.security import headers_for
from incident.web import decode_json, store, surge_config

PATH = "/api/v1/calls"
ASGIApp = Callable[[Scope, ASGIReceiveCallable, ASGISendCallable], Awaitable[None]]
Answer = tuple[int, bytes, str, dict[str, str]]  # status, body, content type, headers


class IntakeLane:
    """ASGI middleware in front of the app: takes the ordinary call, passes everything else on."""

    def __init__(self, app: Quart, inner: ASGIApp) -> None:
        self.app, self.inner = app, inner
        roles = ACCESS["api.post_call"].roles
        assert roles is not None, "logging a call needs a role"
        self.roles = roles

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != PATH
            or scope["method"] != "POST"
            or "stormline.store" not in self.app.extensions  # not serving yet
        ):
            await self.inner(scope, receive, send)
            return
        head = _request_headers(scope["headers"])
        secure = scope["scheme"] == "https"
        # Who is asking is settled before the body is read: a refused request costs no body.
        try:
            principal = await self._ordinary_caller(head, secure=secure)
        except problems.STORAGE_DOWN as error:
            await self._send(send, _problem(*problems.storage_down(error)), secure=secure)
            return
        if principal is None:
            await self.inner(scope, receive, send)
            return
        try:
            received, body = await asyncio.wait_for(
                _read_body(receive, head, self.app.config["MAX_CONTENT_LENGTH"]),
                self.app.config["BODY_TIMEOUT"],
            )
        except TimeoutError:
            late = RequestTimeout()
            await self._send(
                send, _problem(problems.Problem(408, late.name, late.description or ""), {}), secure=secure
            )
            return
        answer = await self._take(principal, head, body) if body is not None else None
        if answer is None:
            await self.inner(scope, _replay(received, receive), send)
            return
        await self._send(send, answer, secure=secure)

    async def _send(self, send: ASGISendCallable, answer: Answer, *, secure: bool) -> None:
        status, payload, content_type, extra = answer
        headers = {
            **headers_for(self.app, PATH, secrets.token_urlsafe(16), secure=secure),
            **extra,
            "Content-Type": content_type,
            "Content-Length": str(len(payload)),
        }
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (name.lower().encode(), value.encode("latin-1")) for name, value in headers.items()
                ],
                "trailers": False,
            }
        )
        await send({"type": "http.response.body", "body": payload, "more_body": False})

    async def _ordinary_caller(self, head: dict[str, str], *, secure: bool) -> access.Principal | None:
        """Who is asking, if the headers make an ordinary call; None to let the Quart route answer."""
        if head.get("content-type", "").partition(";")[0].strip().lower() != "application/json":
            return None
        if not valid_idempotency_key(head.get("idempotency-key")):
            return None
        scheme, _, secret = head.get("authorization", "").partition(" ")
        try:
            principal, stale = await access.from_credentials(
                store(self.app),
                surge_config(self.app),
                scheme,
                secret,
                parse_cookie(head.get("cookie", "")),
                secure=secure,
            )
        except problems.STORAGE_DOWN:
            raise
        except Exception:  # refused, or odd: the Quart route answers it (and audits a refusal)
            return None
        if stale or principal.role not in self.roles:
            return None
        if principal.via == "session" and not sessions.csrf_valid(
            str(self.app.secret_key), principal.session_id, head.get("x-csrf-token")
        ):
            return None
        return principal

    async def _take(self, principal: access.Principal, head: dict[str, str], body: bytes) -> Answer | None:
        """The answer to the call in `body`, or None to let the Quart route answer a body it cannot read."""
        try:
            # As the Quart route reads it (quart-schema converts the decoded JSON leniently).
            call = msgspec.convert(decode_json(body), CallIn, strict=False)
        except (problems.Problem, msgspec.ValidationError, TypeError, ValueError):
            return None  # the route says what is wrong with it
        # From here the call may be stored: whatever happens is answered here, never handed on.
        try:
            status, payload, headers = await log_call(self.app, call, head.get("idempotency-key"), principal)
            return status, payload, "application/json", headers
        except problems.Problem as problem:
            return _problem(problem, {})
        except problems.STORAGE_DOWN as error:
            return _problem(*problems.storage_down(error))
        except Exception as error:
            return _problem(problems.unexpected(error), {})


def _problem(problem: problems.Problem, headers: dict[str, str]) -> Answer:
    return problem.status, problems.encode(problem), problems.CONTENT_TYPE, headers


def _request_headers(raw: Any) -> dict[str, str]:
    """The request's headers by lower-case name: the first of each, as Quart's `headers.get`.

    Every Cookie header is joined, as Quart's `cookies` reads them (HTTP/2 browsers may send one per
    cookie).
    """
    head: dict[str, str] = {}
    cookies = []
    for raw_name, raw_value in raw:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name == "cookie":
            cookies.append(value)
        else:
            head.setdefault(name, value)
    if cookies:
        head["cookie"] = "; ".join(cookies)
    return head


async def _read_body(
    receive: ASGIReceiveCallable, head: dict[str, str], limit: int | None
) -> tuple[list[ASGIReceiveEvent], bytes | None]:
    """The events read and the whole body; no body when it is too big or the client went away."""
    declared = head.get("content-length", "")
    if limit is not None and declared.isdigit() and int(declared) > limit:
        return [], None  # not read at all: Quart answers 413
    received: list[ASGIReceiveEvent] = []
    size = 0
    while True:
        event = await receive()
        received.append(event)
        if event["type"] != "http.request":
            return received, None
        size += len(event.get("body", b""))
        if limit is not None and size > limit:
            return received, None
        if not event.get("more_body", False):
            return received, b"".join(e.get("body", b"") for e in received)  # type: ignore[misc]


def _replay(received: list[ASGIReceiveEvent], receive: ASGIReceiveCallable) -> ASGIReceiveCallable:
    """`receive` as if nothing had been read from it yet."""
    pending = list(received)

    async def replayed() -> ASGIReceiveEvent:
        return pending.pop(0) if pending else await receive()

    return replayed
