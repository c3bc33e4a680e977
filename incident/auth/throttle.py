"""Slowing down guessing: per-address rate limits in Redis, and a capped wait per login name.

The rate limiter is quart-rate-limiter's, with a store on Stormline's own Redis connection (keys
under the jurisdiction's hash tag, each expiring when it no longer matters), so the limits hold across
every worker. Wrong passwords for one name make each further try wait longer, doubling up to a cap:
an attacker can slow the real user down, never lock them out.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import cast

from quart_rate_limiter.store import RateLimiterStoreABC

from incident import clock
from incident.config import Security
from incident.store import Store
from incident.web import store as current_store


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


async def login_wait(store: Store, name: str) -> float:
    """Seconds before this login name may be tried again (0: now)."""
    until = cast(bytes | None, await store.redis.hget(store.keys.login_failures(name), "until"))
    return max(0.0, float(until) - clock.epoch()) if until else 0.0


async def login_failed(store: Store, name: str, security: Security) -> float:
    """Count a wrong password for `name`; returns the wait now imposed on it."""
    key = store.keys.login_failures(name)
    failures = await store.redis.hincrby(key, "failures", 1)
    extra = failures - security.login_free_attempts
    delay = 0.0 if extra <= 0 else float(min(2 ** (extra - 1), security.login_max_delay_seconds))
    pipe = store.redis.pipeline(transaction=True)
    pipe.hset(key, "until", repr(clock.epoch() + delay))
    pipe.expire(key, 3600)  # an hour without a wrong try forgets the count
    await pipe.execute()
    return delay


async def login_succeeded(store: Store, name: str) -> None:
    await store.redis.delete(store.keys.login_failures(name))
