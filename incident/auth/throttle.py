"""Slowing down guessing: per-address rate limits in Redis, and a capped wait per login name.

The rate limiter is quart-rate-limiter's (its decorators, keys and headers), its limits kept in
Stormline's Redis (keys under the jurisdiction's hash tag, each expiring when it no longer matters),
so they hold across every worker. Their check and their update are one Lua step (`Limiter`): read
and written apart, a flood of concurrent requests all passed before any was counted. A refused
request waits a second for its answer (while a worker holds fewer than 500 such waits). Wrong
passwords for one name make each further try wait longer, doubling up to a cap: an attacker can slow
the real user down, never lock them out.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict

import msgspec
from hypercorn.typing import ASGIFramework as ASGIApp
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope
from quart import Quart, Response, g, request
from quart_rate_limiter import RateLimit, RateLimiter, RateLimitExceeded
from werkzeug.exceptions import HTTPException

from incident import clock
from incident.config import Security
from incident.problems import CONTENT_TYPE, TOO_MANY, Problem
from incident.security import headers_for
from incident.store import Store
from incident.web import store as current_store


async def client_address() -> str:
    """The limiter's key: the address the connection came from.

    Not quart-rate-limiter's default, which believes the first X-Forwarded-For entry, a header any
    client can write. Behind trusted proxies, STORMLINE_PROXY_HOPS makes this the real client's.
    """
    return request.remote_addr or "unknown"


# A refused request waits this long for its 429 (sleeping costs a worker nothing): a robot that
# loops on its connections slows to one request a second on each instead of taking the workers' time
# from the phone lines. A worker holds at most TARPIT_HELD waits; beyond, it refuses at once.
TARPIT_S = 1.0
TARPIT_HELD = 500


PENALTIES_KEPT = 100_000  # (address, route) pairs a worker remembers as refused; the oldest go first
DRAIN_BYTES = 1024 * 1024  # a refused request's body read and dropped, at most (then the connection ends)
DRAIN_S = 5.0


async def _tarpit() -> None:
    if Limiter.held < TARPIT_HELD:
        Limiter.held += 1
        try:
            await asyncio.sleep(TARPIT_S)
        finally:
            Limiter.held -= 1


class PenaltyBox:
    """ASGI: an address a limit keyed on it has refused is refused here, before the app, until its wait.

    What a flood costs is what each refusal costs: in front of Quart, with no request context, no
    Redis and no session, a refusal is a route lookup and a sleep. The limit itself (Limiter, in
    Redis) stays the judge: this only repeats its last answer, per worker, for as long as it said.
    """

    def __init__(self, app: Quart, inner: ASGIApp) -> None:
        self.app, self.inner = app, inner
        self.until: OrderedDict[tuple[str, str], float] = OrderedDict()
        self.refused = 0  # answered here, for the tests and the curious

    def hold(self, address: str, endpoint: str, seconds: float) -> None:
        key = (address, endpoint)
        self.until.pop(key, None)
        self.until[key] = time.monotonic() + seconds
        while len(self.until) > PENALTIES_KEPT:
            self.until.popitem(last=False)

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] == "http" and self.until:
            client = scope.get("client")
            endpoint = self._endpoint(scope["path"], scope["method"])
            key = (client[0] if client else "unknown", endpoint or "")
            until = self.until.get(key) if endpoint else None
            if until is not None:
                wait = until - time.monotonic()
                if wait > 0:
                    if not await _drained(receive):
                        return  # gone, or a body too large to be worth reading: no answer owed
                    await _tarpit()
                    await self._refuse(scope["path"], scope["scheme"] == "https", send, wait)
                    self.refused += 1
                    return
                del self.until[key]
        await self.inner(scope, receive, send)

    def _endpoint(self, path: str, method: str) -> str | None:
        """The route a request goes to, as Quart will find it (so no spelling of the path gets past)."""
        try:
            endpoint, _ = self.app.url_map.bind("").match(path, method)
        except HTTPException:
            return None
        return str(endpoint)

    async def _refuse(self, path: str, secure: bool, send: ASGISendCallable, wait: float) -> None:
        problem = Problem(429, "Too Many Requests", TOO_MANY)
        body = msgspec.json.encode(problem.body())
        headers = headers_for(self.app, path, None, secure=secure)
        headers |= {"Content-Type": CONTENT_TYPE, "Retry-After": str(math.ceil(wait))}
        headers["Content-Length"] = str(len(body))
        raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
        await send({"type": "http.response.start", "status": 429, "headers": raw})
        await send({"type": "http.response.body", "body": body, "more_body": False})


async def _drained(receive: ASGIReceiveCallable) -> bool:
    """Read and drop a refused request's body (the server waits for it to be read); False: do not answer."""
    read = 0

    async def drain() -> bool:
        nonlocal read
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return False  # the client went away
            read += len(message.get("body", b""))
            if read > DRAIN_BYTES:
                return False
            if not message.get("more_body", False):
                return True

    try:
        return await asyncio.wait_for(drain(), DRAIN_S)
    except TimeoutError:
        return False


class Limiter(RateLimiter):
    """quart-rate-limiter's decorators and keys, with a request's limits checked and taken atomically.

    One Lua step (scripts.LIMIT) both decides and takes every limit of the request, and says what the
    RateLimit headers need, so a limited request costs one Redis round trip, not five. A refusal by a
    limit on the client's address is remembered in front of the app (PenaltyBox) for as long as it
    holds; Open311's routes answer in their spec's own format, so they are left to the app.
    """

    held = 0

    def __init__(self, app: Quart, box: PenaltyBox) -> None:
        super().__init__(app, key_function=client_address)  # its store is unused: the limits live in Redis
        self.box = box

    async def _raise_on_rejection(self, endpoint: str, rate_limits: list[RateLimit]) -> None:
        if not rate_limits:
            return
        kept = current_store()
        keys = [kept.keys.rate(await self._create_key(endpoint, limit)) for limit in rate_limits]
        args: list[str] = [repr(clock.epoch())]
        for limit in rate_limits:
            args += [repr(limit.inverse), repr(limit.period.total_seconds())]
        answer = [float(part) for part in await kept.scripts.limit(keys=keys, args=args)]
        if answer[0] > 0:
            refusing = rate_limits[int(answer[1]) - 1]
            on_address = refusing.key_function in (None, client_address)
            if on_address and request.endpoint and not request.path.startswith("/open311/"):
                self.box.hold(await client_address(), request.endpoint, answer[0])
            await _tarpit()
            raise RateLimitExceeded(math.ceil(answer[0]))
        # The headers speak of the limit that resets soonest, as quart-rate-limiter's own do.
        shortest = min(range(len(rate_limits)), key=lambda i: rate_limits[i].period)
        limit, separation = rate_limits[shortest], answer[shortest + 1]
        remaining = int((limit.period.total_seconds() - separation) / limit.inverse)
        g.stormline_rate = (limit.count, remaining, math.ceil(separation))

    async def _update_limits(self, endpoint: str, rate_limits: list[RateLimit]) -> None:
        return None  # taken with the check, above

    async def _after_request(self, response: Response) -> Response:
        shown = g.get("stormline_rate")
        if shown is not None:
            count, remaining, reset = shown
            response.headers["RateLimit-Limit"] = str(count)
            response.headers["RateLimit-Remaining"] = str(remaining)
            response.headers["RateLimit-Reset"] = str(reset)
        return response


async def login_attempt(store: Store, name: str, address: str, security: Security) -> float:
    """Reserve a sign-in attempt for `name` from `address`: 0 to go ahead, else seconds to wait.

    Wrong passwords from one address slow that address down after `login_free_attempts`; from
    anywhere, the name slows down only after `login_free_attempts_any_address`, so an attacker
    elsewhere cannot keep the real user waiting. The wait doubles, never beyond the configured cap.
    """
    keys = [store.keys.login_gate(name, address), store.keys.login_gate(name)]
    args: list[str | int] = [
        repr(clock.epoch()),
        security.login_free_attempts,
        security.login_free_attempts_any_address,
        security.login_max_delay_seconds,
    ]
    return float(await store.scripts.gate(keys=keys, args=args))


async def login_succeeded(store: Store, name: str, address: str) -> None:
    await store.redis.delete(store.keys.login_gate(name, address), store.keys.login_gate(name))
