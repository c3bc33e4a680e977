"""Moving an incident from one status to another, by the table in `incident.status`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec

from incident.events import Change
from incident.incidents import kept_incidents
from incident.kept import Plan
from incident.problems import (
    Problem,
    held_for_911,
    illegal_transition,
    invalid_field,
    stale_version,
    unknown_ticket,
)
from incident.records import Incident, StatusChanged
from incident.status import TRANSITIONS, Status, allowed
from incident.store import Store
from incident.validation import Identifier

HELD = frozenset({Status.ASSIGNED, Status.EN_ROUTE, Status.ON_SCENE})  # what a 911 hold stops
# A crew hands work back only by marking it unable (with a reason, and an alarm), never as a plain move.
CREW_MOVES = frozenset({Status.EN_ROUTE, Status.ON_SCENE, Status.RESOLVED})
"""What a crew may do with its own incident: go, arrive, clear it, or hand it back (unable)."""
_JOB_MOVES = frozenset({Status.OPEN, Status.ASSIGNED, Status.EN_ROUTE, Status.ON_SCENE, Status.RESOLVED})
"""Moves a job's incident makes only with the rest of its job (cancelling one, or 911, is its own)."""
_KEEPS_CREW = frozenset({Status.ASSIGNED, Status.EN_ROUTE, Status.ON_SCENE, Status.RESOLVED, Status.CLOSED})


class TransitionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A request to move an incident to another status."""

    to: Status
    reason: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    crew_id: Identifier | None = None  # with "to": "assigned"
    if_version: int | None = None  # refuse (412) if the incident is no longer at this version


async def change_status(
    store: Store, ticket: str, request: TransitionIn, actor: str | None, *, crew: str | None = None
) -> Incident:
    """Apply the move, or raise a Problem: 404 unknown ticket, 409 illegal move, 412 stale version.

    `crew` is set when a crew asks: it may only move its own incidents, and only in CREW_MOVES.
    """
    if (request.to is Status.ASSIGNED) != (request.crew_id is not None):
        raise invalid_field("crew_id", "name the crew when, and only when, moving to assigned")
    if crew is not None and request.to not in CREW_MOVES:
        raise Problem(
            403, "Forbidden", f"a crew may not move an incident to {request.to}", kind="access-denied"
        )
    if request.crew_id is not None and not await store.redis.hexists(store.keys.crews, request.crew_id):
        raise invalid_field("crew_id", f"no crew {request.crew_id!r}")

    async def decide(current: Incident) -> Plan[Incident] | None:
        if crew is not None and current.assigned_crew != crew:
            raise unknown_ticket(ticket)  # another crew's incident does not exist, as far as this crew knows
        if current.job is not None and request.to in _JOB_MOVES:
            raise Problem(
                409,
                "Part of a job",
                f"incident {ticket} is part of street-segment job {current.job}, which is assigned and"
                " marked as one: use its assignment or mark routes, or dissolve the job",
                kind="part-of-job",
                job=current.job,
            )
        if request.if_version is not None and request.if_version != current.version:
            raise stale_version(f"incident {ticket}", current.version, request.if_version)
        if current.handoff is not None and current.handoff.held and request.to in HELD:
            raise held_for_911(ticket)
        if not allowed(current.status, request.to):
            raise illegal_transition(ticket, current.status, request.to, sorted(TRANSITIONS[current.status]))
        now = datetime.now(UTC)
        updated = msgspec.structs.replace(
            current,
            status=request.to,
            updated_at=now,
            version=current.version + 1,
            assigned_crew=request.crew_id or (current.assigned_crew if request.to in _KEEPS_CREW else None),
            resolved_at=_resolved_at(current, request.to, now),
            closed_at=now if request.to is Status.CLOSED else current.closed_at,
        )
        event = StatusChanged(
            ticket=ticket,
            at=now,
            actor=actor,
            from_status=current.status,
            to_status=updated.status,
            reason=request.reason,
            version=updated.version,
            crew_id=updated.assigned_crew,
        )
        return Plan(updated, event)

    return await kept_incidents(store).change(ticket, decide)


def move_along(
    change: Change,
    store: Store,
    incident: Incident | None,
    to: Status,
    now: datetime,
    *,
    crew_id: str | None = None,
) -> None:
    """Plan moving an incident along with a record that carries its work (a ride, a referral).

    Only where the status table allows, and never an incident 911 holds: the ride or referral goes on,
    but 311 does not move what 911 owns.
    """
    if incident is None or incident.status is to or not allowed(incident.status, to):
        return
    if incident.status is Status.WITH_911 or (incident.handoff is not None and incident.handoff.held):
        return
    updated = msgspec.structs.replace(
        incident,
        status=to,
        assigned_crew=crew_id or (incident.assigned_crew if to in _KEEPS_CREW else None),
        resolved_at=_resolved_at(incident, to, now),
        updated_at=now,
        version=incident.version + 1,
    )
    kept_incidents(store).put(change, incident, updated)


def _resolved_at(current: Incident, to: Status, now: datetime) -> datetime | None:
    if to is Status.RESOLVED:
        return now
    if to is Status.OPEN:
        return None  # reopened: no longer resolved
    return current.resolved_at
