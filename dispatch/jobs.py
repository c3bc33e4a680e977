"""Street-segment jobs: debris incidents on one block face grouped into one "clear this segment" job.

A job is drawn as the block's line and assigned, worked and cleared as one unit (`dispatch.units`).
Which block face an incident is on comes from the street data (`geo.blocks`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Annotated, Any, cast

import msgspec

from dispatch.events import JobDissolved, JobGrouped
from dispatch.units import Job, kept_jobs
from geo.blocks import BlockFace, blocks_of
from incident.config import SurgeConfig
from incident.events import Change, retrying
from incident.geocoding import GeoService
from incident.incidents import kept_incidents, select_many
from incident.kept import Plan
from incident.problems import Problem, invalid_field, unknown_ticket
from incident.records import Incident
from incident.status import Status
from incident.store import Store

Tickets = Annotated[
    list[Annotated[str, msgspec.Meta(max_length=20)]], msgspec.Meta(min_length=2, max_length=200)
]


class JobIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Open incidents on one block face to clear as one job."""

    tickets: Tickets


class DissolveIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


class JobView(msgspec.Struct, kw_only=True):
    job: Job
    statuses: dict[str, Status]  # of its incidents
    crew: str | None  # the crew working it, if assigned
    feature: dict[str, Any]  # GeoJSON Feature: the block as a LineString


class Suggestion(msgspec.Struct, kw_only=True):
    segment: str
    label: str
    line: list[tuple[float, float]]
    tickets: list[str]


def face_of(config: SurgeConfig, geo: GeoService, incident: Incident) -> BlockFace | None:
    if incident.location is None:
        return None
    return blocks_of(geo.gazetteer).face(incident.location, config.dispatch.segment_snap_m)


async def group(store: Store, config: SurgeConfig, geo: GeoService, data: JobIn, actor: str | None) -> Job:
    """Make a job of these incidents: open, of a category with segment jobs, on one block face."""
    tickets = list(dict.fromkeys(data.tickets))
    if len(tickets) < 2:
        raise invalid_field("tickets", "name at least two different incidents")

    async def attempt() -> Job:
        found = {i.ticket: i for i in await select_many(store, tickets)}
        for ticket in tickets:
            if ticket not in found:
                raise unknown_ticket(ticket)
        incidents = [found[t] for t in tickets]
        faces = {}
        for incident in incidents:
            category = config.category(incident.category)
            if category is None or not category.segment_jobs:
                raise _refuse(f"incident {incident.ticket} ({incident.category}) is not street-segment work")
            if incident.status is not Status.OPEN or incident.job is not None:
                raise _refuse(
                    f"incident {incident.ticket} is {incident.status}"
                    + (f" and in job {incident.job}" if incident.job else "")
                    + "; only open incidents not in a job can be grouped"
                )
            face = face_of(config, geo, incident)
            if face is None:
                raise _refuse(f"incident {incident.ticket} is not on any known block face")
            faces[incident.ticket] = face
        if len({face.id for face in faces.values()}) != 1 or len({i.category for i in incidents}) != 1:
            detail = "; ".join(f"{t}: {faces[t].label}" for t in tickets)
            raise _refuse(f"the incidents are not all on one block face and of one kind ({detail})")
        face = faces[tickets[0]]
        number = int(await store.redis.incr(store.keys.job_seq))
        now = datetime.now(UTC)
        job = Job(
            id=f"J{number}",
            segment=face.id,
            label=face.label,
            line=[(lon, lat) for lat, lon in face.block.coords],
            category=incidents[0].category,
            tickets=tickets,
            created_at=now,
            created_by=actor,
        )
        change = kept_jobs(store).put(Change(), None, job).zadd(store.keys.jobs, number, job.id)
        kept = kept_incidents(store)
        grouped = [
            msgspec.structs.replace(incident, job=job.id, updated_at=now, version=incident.version + 1)
            for incident in incidents
        ]
        for incident, updated in zip(incidents, grouped, strict=True):
            kept.put(change, incident, updated)
        event = JobGrouped(job=job.id, at=now, actor=actor, tickets=tickets, segment=face.id)
        await kept.commit(change, event, grouped, [])
        return job

    return await retrying(attempt, "the incidents")


async def dissolve(store: Store, job_id: str, reason: str | None, actor: str | None) -> Job:
    """Undo a job: its incidents go on (assigned or not) as separate incidents."""
    incidents = kept_incidents(store)

    async def decide(job: Job) -> Plan[Job] | None:
        if job.dissolved:
            return None
        now = datetime.now(UTC)
        members = [i for i in await select_many(store, job.tickets) if i.job == job.id]
        change = Change()
        for incident in members:
            incidents.put(
                change,
                incident,
                msgspec.structs.replace(incident, job=None, updated_at=now, version=incident.version + 1),
            )
        tickets = [i.ticket for i in members]
        event = JobDissolved(job=job.id, at=now, actor=actor, tickets=tickets, reason=reason)
        return Plan(msgspec.structs.replace(job, dissolved=True), event, change, tickets)

    return await kept_jobs(store).change(job_id, decide)


async def forget(store: Store, tickets: frozenset[str], actor: str | None) -> None:
    """Delete the jobs made only of these incidents; dissolve a job left with one real one (a drill's purge).

    A job with two real incidents or more goes on as it is (a job's reads skip incidents that are gone);
    a real incident left alone in one goes on by itself, its history saying why.
    """
    ids = [i.decode() for i in cast(list[bytes], await store.redis.zrange(store.keys.jobs, 0, -1))]
    for job in await kept_jobs(store).many(ids):
        real = [ticket for ticket in job.tickets if ticket not in tickets]
        if not real:
            pipe = store.redis.pipeline(transaction=True)
            pipe.delete(store.keys.job(job.id))
            pipe.zrem(store.keys.jobs, job.id)
            await pipe.execute()
        elif len(real) == 1 and not job.dissolved:  # a job has two calls or more: one was the drill's
            await dissolve(store, job.id, "its drill incidents were purged", actor)


async def job_or_404(store: Store, job_id: str) -> Job:
    return await kept_jobs(store).get_or_404(job_id)


async def view(store: Store, job: Job) -> JobView:
    members = [i for i in await select_many(store, job.tickets) if i.job == job.id]
    crews = {i.assigned_crew for i in members if i.assigned_crew}
    feature = {
        "type": "Feature",
        "id": job.id,
        "geometry": {"type": "LineString", "coordinates": [list(c) for c in job.line]},
        "properties": {"job": job.id, "label": job.label, "tickets": [i.ticket for i in members]},
    }
    return JobView(
        job=job,
        statuses={i.ticket: i.status for i in members},
        crew=next(iter(crews)) if len(crews) == 1 else None,
        feature=feature,
    )


async def list_jobs(store: Store, *, limit: int = 200) -> list[Job]:
    ids = cast(list[bytes], await store.redis.zrevrange(store.keys.jobs, 0, limit - 1))
    return await kept_jobs(store).many([job_id.decode() for job_id in ids])


async def suggestions(store: Store, config: SurgeConfig, geo: GeoService) -> list[Suggestion]:
    """Block faces with two or more open, ungrouped incidents of a segment-job category."""
    found: dict[str, Suggestion] = {}
    by_face: dict[str, list[str]] = defaultdict(list)
    for category in config.categories:
        if not category.segment_jobs:
            continue
        tickets = [
            t.decode()
            for t in cast(list[bytes], await store.redis.zrange(store.keys.open_geo(category.code), 0, -1))
        ]
        for incident in await select_many(store, tickets):
            if incident.status is not Status.OPEN or incident.job is not None:
                continue
            face = face_of(config, geo, incident)
            if face is None:
                continue
            key = f"{category.code}|{face.id}"
            by_face[key].append(incident.ticket)
            found.setdefault(
                key,
                Suggestion(
                    segment=face.id,
                    label=face.label,
                    line=[(lon, lat) for lat, lon in face.block.coords],
                    tickets=[],
                ),
            )
    out = []
    for key, tickets in by_face.items():
        if len(tickets) >= 2:
            out.append(msgspec.structs.replace(found[key], tickets=sorted(tickets)))
    return sorted(out, key=lambda s: -len(s.tickets))


def _refuse(detail: str) -> Problem:
    return Problem(409, "Cannot group", detail, kind="cannot-group")
