"""A unit of work is one incident, or every incident of its street-segment job: changed as one.

Assigning, unassigning and a crew's marks act on the unit in one atomic step with one event, which
goes into the history of every incident it touched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import cast

import msgspec

from dispatch.events import DispatchEvent
from incident.events import Change, commit, retrying
from incident.incidents import put_incident, select_incident, select_many
from incident.problems import unknown_ticket
from incident.records import Incident, IncidentEvent
from incident.status import Status
from incident.store import Store

Plan = tuple[list[tuple[Incident, Incident]], IncidentEvent | DispatchEvent, Change | None]
"""What a decision about a unit comes to: (current, updated) pairs, the event, and more writes."""

_LEFT = frozenset({Status.CANCELLED, Status.CLOSED, Status.WITH_911, Status.REFERRED})


class Job(msgspec.Struct, kw_only=True):
    """Debris incidents on one block face, cleared as one "clear this segment" job."""

    id: str
    segment: str  # the block face's id
    label: str  # "Elmwood Ave between Potomac Ave and Bird Ave, east side"
    line: list[tuple[float, float]]  # the block, as GeoJSON orders coordinates: (lon, lat)
    category: str
    tickets: list[str]
    created_at: datetime
    created_by: str | None = None
    dissolved: bool = False
    version: int = 1


unpack_job = msgspec.msgpack.Decoder(Job).decode


async def select_job(store: Store, job_id: str) -> Job | None:
    blob = cast(bytes | None, await store.redis.hget(store.keys.job(job_id), "data"))
    return unpack_job(blob) if blob else None


async def read_unit(store: Store, ticket: str) -> list[Incident]:
    """The incident, or all its job's incidents (those still in the job), the named one first."""
    incident = await select_incident(store, ticket)
    if incident is None:
        raise unknown_ticket(ticket)
    if incident.job is None:
        return [incident]
    job = await select_job(store, incident.job)
    if job is None or job.dissolved:
        return [incident]
    # A member cancelled or closed by itself has left the work; the rest go on as the job.
    others = [
        i
        for i in await select_many(store, job.tickets)
        if i.job == job.id and i.ticket != ticket and i.status not in _LEFT
    ]
    return [incident, *others]


async def change_unit(
    store: Store, ticket: str, decide: Callable[[list[Incident]], Awaitable[Plan | None]]
) -> list[Incident]:
    """Read the unit, let `decide` plan the change, write it; read and decide again on a conflict."""

    async def attempt() -> list[Incident]:
        unit = await read_unit(store, ticket)
        plan = await decide(unit)
        if plan is None:
            return unit
        pairs, event, change = plan
        change = change or Change()
        for current, updated in pairs:
            put_incident(change, store, current, updated)
        histories = [store.keys.history(updated.ticket) for _, updated in pairs]
        await commit(store.scripts.apply, change, event, store.keys.events, *histories)
        changed = {updated.ticket: updated for _, updated in pairs}
        return [changed.get(incident.ticket, incident) for incident in unit]

    return await retrying(attempt, f"incident {ticket}")
