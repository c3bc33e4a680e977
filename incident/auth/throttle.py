"""Slowing down guessing: per-address rate limits in Redis, and a capped wait per login name.

The rate limiter is quart-rate-limiter's (its decorators, keys and headers), with a store on
Stormline's own Redis connection (keys under the jurisdiction's hash tag, each expiring when it no
longer matters), so the limits hold across every worker. Its check and its update are one Lua step
(`Limiter`): read and written apart, a flood of concurrent requests all passed before any was
counted. Wrong passwords for one name make each further try wait longer, doubling up to a cap:
an attacker can slow the real user down, never lock them out.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import cast

from quart import request
from quart_rate_limiter import RateLimit, RateLimiter, RateLimitExceeded
from quart_rate_limiter.store import RateLimiterStoreABC

from incident import clock
from incident.config import Security
from incident.store import Store
from incident.web import store as current_store


async def client_address() -> str:
    """The limiter's key: the address the connection came from.

    Not quart-rate-limiter's default, which believes the first X-Forwarded-For entry, a header any
    client can write. Behind trusted proxies, STORMLINE_PROXY_HOPS makes this the real client's.
    """
    return request.remote_addr or "unknown"


class Limiter(RateLimiter):
    """quart-rate-limiter, with a request's limits checked and taken in one atomic step."""

    async def _raise_on_rejection(self, endpoint: str, rate_limits: list[RateLimit]) -> None:
        if not rate_limits:
            return
        kept = current_store()
        keys = [kept.keys.rate(await self._create_key(endpoint, limit)) for limit in rate_limits]
        args: list[str] = [repr(clock.epoch())]
        for limit in rate_limits:
            args += [repr(limit.inverse), repr(limit.period.total_seconds())]
        wait = float(await kept.scripts.limit(keys=keys, args=args))
        if wait > 0:
            raise RateLimitExceeded(math.ceil(wait))

    async def _update_limits(self, endpoint: str, rate_limits: list[RateLimit]) -> None:
        return None  # taken with the check, above


class RedisLimits(RateLimiterStoreABC):
    """quart-rate-limiter's store, on the app's Redis."""

    async def before_serving(self) -> None:
        return None

    async def after_serving(self) -> None:
        return None

    async def get(self, key: str, default: datetime) -> datetime:
        value = cast(bytes | None, await current_store().redis.get(current_store().keys.rate(key)))
        return datetime.fromtimestamp(float(value), UTC) if value else default

    async def set(self, key: str, tat: datetime) -> None:
        ttl = max(1, math.ceil(tat.timestamp() - clock.epoch()) + 1)
        await current_store().redis.set(current_store().keys.rate(key), repr(tat.timestamp()), ex=ttl)


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
