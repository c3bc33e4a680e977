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
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from incident.events import Change

if TYPE_CHECKING:
    from incident.store import Store


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


def fingerprint(route: str, canonical_body: bytes) -> str:
    """What makes two requests 'the same': the route and the decoded body, re-encoded canonically."""
    return hashlib.sha256(route.encode() + b"\0" + canonical_body).hexdigest()


def new_owner() -> str:
    """A random token that proves a request holds its claim."""
    return secrets.token_hex(16)


def outcome(redis_key: str, owner: str, reply: list[bytes]) -> Claim | Replay | None:
    """What `claim` in scripts.FIRST_READ answered: ours, the first answer, or None while it is pending."""
    state, *rest = reply
    if state == b"claimed":
        return Claim(redis_key, owner)
    if state == b"mismatch":
        raise KeyReused(redis_key)
    if state == b"done":
        return Replay(int(rest[0]), rest[1])
    return None


async def patience(key: str) -> AsyncIterator[None]:
    """Turns to ask again while the first request with `key` is pending, pausing longer each time."""
    deadline = time.monotonic() + WAIT_S
    pause = 0.005
    while True:
        yield
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
    await store.scripts.release(keys=[claim.key], args=[claim.owner])
