"""Moving an incident from one status to another, by the table in `incident.status`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec

from incident.events import Conflict
from incident.incidents import select_incident, update_status
from incident.problems import Problem
from incident.records import Incident
from incident.status import TRANSITIONS, Status, allowed
from incident.store import Store

_RETRIES = 20


class TransitionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A request to move an incident to another status."""

    to: Status
    reason: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    if_version: int | None = None  # refuse (412) if the incident is no longer at this version


async def change_status(store: Store, ticket: str, request: TransitionIn, actor: str | None) -> Incident:
    """Apply the move, or raise a Problem: 404 unknown ticket, 409 illegal move, 412 stale version."""
    for _ in range(_RETRIES):
        current = await select_incident(store, ticket)
        if current is None:
            raise Problem(
                404, "Not Found", f"no incident with ticket {ticket}", kind="unknown-ticket", ticket=ticket
            )
        if request.if_version is not None and request.if_version != current.version:
            raise Problem(
                412,
                "Incident has changed",
                f"incident {ticket} is at version {current.version}, not {request.if_version}",
                kind="stale-version",
                version=current.version,
            )
        if not allowed(current.status, request.to):
            raise Problem(
                409,
                "Transition not allowed",
                f"incident {ticket} cannot move from {current.status} to {request.to}",
                kind="illegal-transition",
                **{"from": current.status, "to": request.to},
                allowed=sorted(TRANSITIONS[current.status]),
            )
        now = datetime.now(UTC)
        updated = msgspec.structs.replace(
            current,
            status=request.to,
            updated_at=now,
            version=current.version + 1,
            resolved_at=now
            if request.to is Status.RESOLVED
            else (None if request.to is Status.OPEN else current.resolved_at),
            closed_at=now if request.to is Status.CLOSED else current.closed_at,
        )
        try:
            await update_status(store, current, updated, request.reason, actor)
        except Conflict:
            continue  # changed under us: re-read and decide again against the new status
        return updated
    raise Problem(503, "Busy", f"incident {ticket} is changing too fast; retry", kind="contention")
