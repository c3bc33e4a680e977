"""Browser sessions, kept in Redis: idle and absolute expiry, ended at logout or on any account change.

The cookie holds only a random id; Redis holds the session under the id's digest, with an expiry
that each request pushes forward (GETEX) up to the idle limit, and the sign-in time that caps it.
Because the session lives on the server, logging out or disabling an account ends it everywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import cast

import msgspec
from quart import Response

from incident import clock
from incident.auth.roles import Role
from incident.keys import digest
from incident.store import Store

SESSION = "stormline_session"
PRE_SESSION = "stormline_csrf"  # binds the CSRF token of a visitor not yet signed in


def cookie_name(base: str, secure: bool) -> str:
    """Over TLS, `__Host-` makes browsers refuse the cookie from any other host, even a sibling."""
    return f"__Host-{base}" if secure else base


class Session(msgspec.Struct, kw_only=True):
    user: str
    role: Role
    crew_id: str | None
    signed_in_at: float  # epoch seconds
    account_version: int  # a session of an account changed since (role, disabled, password) is over


_pack = msgspec.msgpack.Encoder().encode
_unpack = msgspec.msgpack.Decoder(Session).decode


async def begin(store: Store, session: Session, *, idle_seconds: int, max_seconds: int) -> str:
    """Store a new session and return its id (for the cookie)."""
    session_id = secrets.token_urlsafe(32)
    keys, key_digest = store.keys, digest(session_id)
    pipe = store.redis.pipeline(transaction=True)
    pipe.set(keys.session(key_digest), _pack(session), ex=idle_seconds)
    pipe.sadd(keys.user_sessions(session.user), key_digest)
    pipe.expire(keys.user_sessions(session.user), max_seconds)
    await pipe.execute()
    return session_id


async def resume(store: Store, session_id: str, *, idle_seconds: int, max_seconds: int) -> Session | None:
    """The live session for this id, its idle expiry pushed forward; None if expired or unknown."""
    if len(session_id) > 100:
        return None
    key = store.keys.session(digest(session_id))
    data = cast(bytes | None, await store.redis.getex(key, ex=idle_seconds))
    if data is None:
        return None
    session = _unpack(data)
    version = cast(bytes | None, await store.redis.hget(store.keys.user(session.user), "v"))
    if clock.epoch() - session.signed_in_at > max_seconds or version != str(session.account_version).encode():
        await store.redis.delete(key)
        return None
    return session


async def end(store: Store, session_id: str, user: str) -> None:
    key_digest = digest(session_id)
    pipe = store.redis.pipeline(transaction=True)
    pipe.delete(store.keys.session(key_digest))
    pipe.srem(store.keys.user_sessions(user), key_digest)
    pipe.incr(store.keys.auth_epoch)
    await pipe.execute()


async def end_all(store: Store, user: str) -> None:
    """End every session of an account (after a role change, a disable or a password reset)."""
    keys = store.keys
    digests = cast(set[bytes], await store.redis.smembers(keys.user_sessions(user)))
    pipe = store.redis.pipeline(transaction=True)
    for key_digest in digests:
        pipe.delete(keys.session(key_digest.decode()))
    pipe.delete(keys.user_sessions(user))
    pipe.incr(keys.auth_epoch)
    await pipe.execute()


def set_cookie(response: Response, base: str, value: str, *, secure: bool) -> None:
    response.set_cookie(
        cookie_name(base, secure), value, httponly=True, secure=secure, samesite="Lax", path="/"
    )


def clear_cookie(response: Response, base: str, *, secure: bool) -> None:
    response.delete_cookie(cookie_name(base, secure), httponly=True, secure=secure, samesite="Lax", path="/")


def read_cookie(cookies: Mapping[str, str], base: str, *, secure: bool) -> str | None:
    return cookies.get(cookie_name(base, secure))


def csrf_token(secret_key: str, binding: str) -> str:
    """The CSRF token for a session id (or pre-session cookie): an HMAC only this server can make."""
    return hmac.new(secret_key.encode(), b"csrf|" + binding.encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret_key: str, binding: str | None, presented: str | None) -> bool:
    if not binding or not presented or not presented.isascii():  # compare_digest refuses other text
        return False
    return hmac.compare_digest(csrf_token(secret_key, binding), presented)
