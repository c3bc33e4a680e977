"""Idempotency-Key handling: a retried request returns the first answer and creates nothing.

The first request with a key claims it (a short lease, so a crashed worker does not hold it for
ever); the claim is settled in the same atomic step as the change it guards (see `settle`), so the
answer is remembered exactly when the change is made. Concurrent retries with the same body wait for
that answer; the same key with another body is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from incident.events import Change

if TYPE_CHECKING:
    from incident.store import Store

# Claims the key for this body if nobody has, else reports its state: one atomic read-and-set.
# With an empty owner (ARGV[2]) it releases instead: deletes the key if ARGV[1] still owns it.
_CLAIM = """
if ARGV[2] == '' then
  if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then redis.call('DEL', KEYS[1]) end
  return {'released'}
end
local cur = redis.call('HMGET', KEYS[1], 'fingerprint', 'state', 'status', 'body')
if not cur[1] then
  redis.call('HSET', KEYS[1], 'fingerprint', ARGV[1], 'state', 'pending', 'owner', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'claimed'}
end
if cur[1] ~= ARGV[1] then return {'mismatch'} end
if cur[2] == 'done' then return {'done', cur[3], cur[4]} end
return {'pending'}
"""

LEASE_MS = 15_000  # longer than any intake takes; a crashed claimant's key frees itself after this
WAIT_S = 20.0  # a concurrent retry waits this long for the first request's answer


@dataclass(frozen=True, slots=True)
class Claim:
    key: str  # the Redis key
    owner: str  # random token proving this request holds the claim


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    body: bytes


class KeyReused(Exception):
    """The key was used before with a different request body."""


class StillProcessing(Exception):
    """The first request with this key has not finished in time; the client may retry later."""


def register(redis: Redis) -> AsyncScript:
    return redis.register_script(_CLAIM)


def fingerprint(route: str, canonical_body: bytes) -> str:
    """What makes two requests 'the same': the route and the decoded body, re-encoded canonically."""
    return hashlib.sha256(route.encode() + b"\0" + canonical_body).hexdigest()


async def claim(store: Store, key: str, print_: str) -> Claim | Replay:
    """Claim `key` for a request with fingerprint `print_`, or return the first answer."""
    redis_key = store.keys.idempotency(key)
    owner = secrets.token_hex(16)
    deadline = time.monotonic() + WAIT_S
    pause = 0.005
    while True:
        state, *rest = await store.claim(keys=[redis_key], args=[print_, owner, LEASE_MS])
        if state == b"claimed":
            return Claim(redis_key, owner)
        if state == b"mismatch":
            raise KeyReused(key)
        if state == b"done":
            return Replay(int(rest[0]), rest[1])
        if time.monotonic() > deadline:
            raise StillProcessing(key)
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.1)


def settle(change: Change, claim: Claim, status: int, body: bytes, ttl_seconds: int) -> Change:
    """Add to `change`: check the claim is still ours, and remember the answer for `ttl_seconds`."""
    return (
        change.guard(claim.key, "owner", claim.owner)
        .hset(claim.key, {"state": "done", "status": status, "body": body})
        .expire(claim.key, ttl_seconds)
    )


async def release(store: Store, claim: Claim) -> None:
    """Give the key up after a request that changed nothing, so a corrected retry may use it."""
    await store.claim(keys=[claim.key], args=[claim.owner, "", 0])
