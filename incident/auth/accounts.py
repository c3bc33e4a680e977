"""Accounts for people and API tokens for machines: records, storage, and password hashing.

Passwords are hashed with argon2id (argon2-cffi's defaults). API tokens are long random secrets, so
a SHA-256 digest is enough to store them safely and to look them up in one Redis read; revoking a
token deletes that key, so it stops working on the next request.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from datetime import UTC, datetime
from typing import Annotated, cast

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from incident.auth import audit, sessions
from incident.auth.roles import PEOPLE, Role
from incident.events import Change, Conflict
from incident.keys import digest
from incident.store import Store

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,63}$"
Name = Annotated[str, msgspec.Meta(pattern=NAME_PATTERN)]
TOKEN_PREFIX = "slt_"  # noqa: S105 - a label, so leaked tokens are recognisable, not a secret

_hasher = PasswordHasher()


class User(msgspec.Struct, kw_only=True):
    name: Name
    role: Role
    crew_id: str | None = None
    password_hash: str
    disabled: bool = False
    created_at: datetime
    updated_at: datetime
    version: int = 1


class ApiToken(msgspec.Struct, kw_only=True):
    name: Name
    role: Role
    crew_id: str | None = None
    created_at: datetime
    created_by: str


class AccountError(Exception):
    """A request about accounts that cannot be done; `str()` says why, for a person."""


_pack = msgspec.msgpack.Encoder().encode
_unpack_user = msgspec.msgpack.Decoder(User).decode
_unpack_token = msgspec.msgpack.Decoder(ApiToken).decode


def check_name(name: str) -> str:
    """The account or token name, or AccountError saying what a name may be."""
    try:
        return msgspec.convert(name, Name)
    except msgspec.ValidationError:
        raise AccountError(
            f"{name!r}: a name is 2-64 characters: lowercase letters, digits, '.', '_' or '-'"
        ) from None


def check_binding(role: Role, crew_id: str | None) -> None:
    """A crew account or token is bound to one crew; no other role is."""
    if role is Role.CREW and not crew_id:
        raise AccountError("a crew account needs the crew it belongs to (--crew)")
    if role is not Role.CREW and crew_id:
        raise AccountError("only crew accounts belong to a crew")


async def hash_password(password: str) -> str:
    # argon2 takes tens of milliseconds by design: keep it off the event loop.
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash (no such user) spend the same time and answer False."""
    try:
        return await asyncio.to_thread(_hasher.verify, password_hash or _dummy_hash(), password) and bool(
            password_hash
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_hex(16))


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


async def create_user(
    store: Store, name: str, role: Role, password: str, *, crew_id: str | None, actor: str, min_length: int
) -> User:
    """Create an account; AccountError if the name is taken or a rule is broken."""
    name = check_name(name)
    if role not in PEOPLE:
        raise AccountError(f"{role} is a role for API tokens, not for a person's account")
    check_binding(role, crew_id)
    _check_password(password, min_length)
    now = datetime.now(UTC)
    user = User(
        name=name,
        role=role,
        crew_id=crew_id,
        password_hash=await hash_password(password),
        created_at=now,
        updated_at=now,
    )
    keys = store.keys
    change = (
        Change()
        .guard(keys.user(name), "v", "")
        .hset(keys.user(name), {"v": user.version, "data": _pack(user)})
        .command("SADD", keys.users, name)
    )
    event = audit.UserCreated(at=now, actor=actor, user=name, role=role, crew_id=crew_id)
    try:
        await audit.record(store, event, change)
    except Conflict:
        raise AccountError(f"there is already an account named {name!r}") from None
    return user


async def select_user(store: Store, name: str) -> User | None:
    data = cast(bytes | None, await store.redis.hget(store.keys.user(name), "data"))
    return _unpack_user(data) if data else None


async def list_users(store: Store) -> list[User]:
    names = sorted(name.decode() for name in cast(set[bytes], await store.redis.smembers(store.keys.users)))
    users = [await select_user(store, name) for name in names]
    return [user for user in users if user is not None]


async def change_user(
    store: Store,
    name: str,
    *,
    actor: str,
    role: Role | None = None,
    crew_id: str | None = None,
    disabled: bool | None = None,
    password: str | None = None,
    min_length: int = 12,
) -> User:
    """Change one thing about an account, audited; its sessions end so the change applies at once."""
    current = await select_user(store, name)
    if current is None:
        raise AccountError(f"no account named {name!r}")
    updated = msgspec.structs.replace(current, updated_at=datetime.now(UTC), version=current.version + 1)
    if role is not None:
        if role not in PEOPLE:
            raise AccountError(f"{role} is a role for API tokens, not for a person's account")
        check_binding(role, crew_id)
        updated = msgspec.structs.replace(updated, role=role, crew_id=crew_id)
        what = "role"
    elif disabled is not None:
        updated = msgspec.structs.replace(updated, disabled=disabled)
        what = "disabled" if disabled else "enabled"
    elif password is not None:
        _check_password(password, min_length)
        updated = msgspec.structs.replace(updated, password_hash=await hash_password(password))
        what = "password"
    else:
        raise AccountError("nothing to change")
    keys = store.keys
    change = (
        Change()
        .guard(keys.user(name), "v", str(current.version))
        .hset(keys.user(name), {"v": updated.version, "data": _pack(updated)})
        .command("INCR", keys.auth_epoch)
    )
    event = audit.UserChanged(
        at=updated.updated_at,
        actor=actor,
        user=name,
        change=what,
        old_role=current.role if role is not None else None,
        new_role=role,
    )
    try:
        await audit.record(store, event, change)
    except Conflict:
        raise AccountError(f"account {name!r} changed meanwhile; try again") from None
    await sessions.end_all(store, name)
    return updated


async def store_rehash(store: Store, user: User, password: str) -> User:
    """Re-hash a password with today's parameters after a successful sign-in (not audited: no change)."""
    rehashed = msgspec.structs.replace(
        user, password_hash=await hash_password(password), version=user.version + 1
    )
    keys = store.keys
    change = (
        Change()
        .guard(keys.user(user.name), "v", str(user.version))
        .hset(keys.user(user.name), {"v": rehashed.version, "data": _pack(rehashed)})
    )
    event = audit.UserChanged(at=datetime.now(UTC), actor="stormline", user=user.name, change="rehash")
    try:
        await audit.record(store, event, change)
    except Conflict:
        return user  # changed meanwhile: the next sign-in re-hashes, and this session is refused
    return rehashed


def _check_password(password: str, min_length: int) -> None:
    if len(password) < min_length:
        raise AccountError(f"a password needs at least {min_length} characters")


async def create_token(
    store: Store, name: str, role: Role, *, crew_id: str | None, actor: str
) -> tuple[ApiToken, str]:
    """Create an API token; returns the record and the secret, which is never stored or shown again."""
    name = check_name(name)
    check_binding(role, crew_id)
    if role is Role.ADMIN:
        raise AccountError("no admin tokens: administration is done signed in, or on the command line")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, role=role, crew_id=crew_id, created_at=datetime.now(UTC), created_by=actor)
    keys, token_digest = store.keys, digest(secret)
    change = (
        Change()
        .guard(keys.tokens, name, "")
        .set(keys.token(token_digest), _pack(token))
        .hset(keys.tokens, {name: token_digest})
    )
    event = audit.TokenCreated(at=token.created_at, actor=actor, name=name, role=role, crew_id=crew_id)
    try:
        await audit.record(store, event, change)
    except Conflict:
        raise AccountError(f"there is already a token named {name!r}") from None
    return token, secret


async def token_for(store: Store, secret: str) -> ApiToken | None:
    """The token record for a presented secret, or None (unknown or revoked)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    data = cast(bytes | None, await store.redis.get(store.keys.token(digest(secret))))
    return _unpack_token(data) if data else None


async def revoke_token(store: Store, name: str, *, actor: str) -> None:
    """Delete a token by name: it stops working on the next request."""
    keys = store.keys
    token_digest = cast(bytes | None, await store.redis.hget(keys.tokens, name))
    if token_digest is None:
        raise AccountError(f"no token named {name!r}")
    change = (
        Change()
        .guard(keys.tokens, name, token_digest.decode())
        .command("DEL", keys.token(token_digest.decode()))
        .command("HDEL", keys.tokens, name)
        .command("INCR", keys.auth_epoch)
    )
    try:
        await audit.record(store, audit.TokenRevoked(at=datetime.now(UTC), actor=actor, name=name), change)
    except Conflict:
        raise AccountError(f"token {name!r} changed meanwhile; try again") from None


async def list_tokens(store: Store) -> list[ApiToken]:
    digests = cast(dict[bytes, bytes], await store.redis.hgetall(store.keys.tokens))
    blobs = [
        cast(bytes | None, await store.redis.get(store.keys.token(d.decode()))) for d in digests.values()
    ]
    return sorted((_unpack_token(blob) for blob in blobs if blob), key=lambda token: token.name)
