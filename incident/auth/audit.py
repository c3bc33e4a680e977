"""The audit stream: sign-ins, denials, every change to accounts and tokens, and the registry.

The registry of residents who need help is the most sensitive data Stormline keeps: every change to
it and every read of it (who, in what role, which residents, why) is an event here, never on the
live feed.

Written through the one event writer; an account change and its audit event are one atomic step.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

import msgspec

from incident.events import Change, commit, decode_entries
from incident.store import Store


class _Audit(msgspec.Struct, kw_only=True, tag_field="type"):
    at: datetime


class LoginSucceeded(_Audit, tag="auth.login"):
    user: str
    remote: str | None


class LoginFailed(_Audit, tag="auth.login_failed"):
    name: str | None  # the account tried, or None if no account has the name typed
    remote: str | None
    reason: str  # "credentials" (wrong name or password, or disabled) or "throttled"


class LoggedOut(_Audit, tag="auth.logout"):
    user: str


class AccessDenied(_Audit, tag="auth.denied"):
    principal: str | None
    role: str | None
    method: str
    path: str
    status: int
    reason: str
    remote: str | None


class UserCreated(_Audit, tag="account.user_created"):
    actor: str
    user: str
    role: str
    crew_id: str | None


class UserChanged(_Audit, tag="account.user_changed"):
    actor: str
    user: str
    change: str  # "role", "disabled", "enabled", "password"
    old_role: str | None = None
    new_role: str | None = None


class TokenCreated(_Audit, tag="account.token_created"):
    actor: str
    name: str
    role: str
    crew_id: str | None


class TokenRevoked(_Audit, tag="account.token_revoked"):
    actor: str
    name: str


class ModeSwitched(_Audit, tag="center.mode"):
    actor: str | None
    mode: str
    name: str | None  # the storm incident's, when one starts or stands down
    reason: str


class ResidentChanged(_Audit, tag="registry.changed"):
    actor: str | None
    resident: str  # the resident's id: no name, number or need is copied here
    change: str  # "registered", "updated", "imported", "removed"
    fields: list[str] = []  # which fields changed
    source: str | None = None  # an import's source


class RegistryRead(_Audit, tag="registry.read"):
    # Written by a script too (scripts.MATCH), which leaves out the fields that are None.
    purpose: str  # "list", "view", "stale", "match", "intake", "calldown", "screen_pop"
    residents: list[str]  # ids shown (for a list, those on the page)
    actor: str | None = None
    role: str | None = None
    count: int = 0  # how many matched, when more were counted than shown


AuditEvent = (
    LoginSucceeded
    | LoginFailed
    | LoggedOut
    | AccessDenied
    | UserCreated
    | UserChanged
    | TokenCreated
    | TokenRevoked
    | ModeSwitched
    | ResidentChanged
    | RegistryRead
)
_decode = msgspec.msgpack.Decoder(AuditEvent).decode


class StoredAudit(msgspec.Struct):
    id: str
    event: AuditEvent


async def record(store: Store, event: AuditEvent, change: Change | None = None) -> str:
    """Append `event` to the audit stream, together with `change` if there is one."""
    return await commit(store.scripts.apply, change or Change(), event, store.keys.audit)


async def select_audit(store: Store, *, after: str | None = None, limit: int = 100) -> list[StoredAudit]:
    """Audit events, oldest first, after event id `after` (exclusive)."""
    start = f"({after}" if after else "-"
    entries = cast(
        list[tuple[bytes, dict[bytes, bytes]]],
        await store.redis.xrange(store.keys.audit, min=start, max="+", count=limit),
    )
    return [StoredAudit(id=event_id, event=event) for event_id, event in decode_entries(entries, _decode)]
