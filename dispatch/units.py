"""A unit of work is one incident, or every incident of its street-segment job: changed as one.

Assigning, unassigning and a crew's marks act on the unit in one atomic step with one event, which
goes into the history of every incident it touched (`change_unit`, through `Kept.change_many`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import msgspec

from incident.incidents import kept_incidents, select_incident, select_many
from incident.kept import Kept, Plans
from incident.problems import Problem, unknown_ticket
from incident.records import Incident
from incident.status import Status
from incident.store import Store

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


def kept_jobs(store: Store) -> Kept[Job]:
    """Jobs as kept records (they have no history of their own: their incidents' histories tell it)."""

    def missing(job_id: str) -> Problem:
        return Problem(404, "Not Found", f"no job {job_id!r}", kind="unknown-job", job=job_id)

    return Kept(store, "job", Job, store.keys.job, ident=lambda job: job.id, missing=missing)


async def read_unit(store: Store, ticket: str) -> list[Incident]:
    """The incident, or all its job's incidents (those still in the job), the named one first."""
    incident = await select_incident(store, ticket)
    if incident is None:
        raise unknown_ticket(ticket)
    if incident.job is None:
        return [incident]
    job = await kept_jobs(store).get(incident.job)
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
    store: Store, ticket: str, decide: Callable[[list[Incident]], Awaitable[Plans[Incident] | None]]
) -> list[Incident]:
    """Read the unit, let `decide` plan the change, write it; read and decide again on a conflict."""
    return await kept_incidents(store).change_many(
        lambda: read_unit(store, ticket), decide, f"incident {ticket}"
    )
