"""Giving work to crews, taking it back, and the crews' own marks: each one atomic step and event.

A unit (an incident, or a street-segment job's incidents) moves as one (`dispatch.units`). The crew's
devices hear of it through the same write (`dispatch.work_lists.keep_crew_work`), and its route is
re-planned after.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from dispatch import transport
from dispatch.crews import Crew, crew_or_404, select_crew
from dispatch.events import CrewMarked, IncidentAssigned, IncidentUnassigned
from dispatch.units import change_unit
from dispatch.work import replan
from incident.alarms import raise_alarm
from incident.config import SurgeConfig
from incident.incidents import CREW_ACTIVE
from incident.kept import Plans
from incident.problems import (
    Problem,
    held_for_911,
    illegal_transition,
    invalid_field,
    stale_version,
    unknown_ticket,
)
from incident.records import Incident
from incident.status import TRANSITIONS, Status, allowed
from incident.store import Store
from incident.validation import Identifier

Reason = Annotated[str, msgspec.Meta(max_length=1000)]


class AssignIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Give the incident (with its job, if it has one) to a crew; from another crew, it is a reassignment."""

    crew_id: Identifier
    reason: Reason | None = None
    force: bool = False  # outside the city, a crew of another kind or without a capability goes all the same
    if_version: int | None = None  # refuse (412) if the incident is no longer at this version


class UnassignIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: Reason | None = None


class BulkItem(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    ticket: Annotated[str, msgspec.Meta(max_length=20)]
    crew_id: Identifier


class BulkIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Many assignments at once (a plan, applied). Each is done or refused on its own."""

    assignments: Annotated[list[BulkItem], msgspec.Meta(min_length=1, max_length=1000)]
    reason: Reason | None = None
    force: bool = False


class BulkResult(msgspec.Struct, kw_only=True):
    ticket: str
    crew_id: str
    ok: bool
    problem: dict[str, Any] | None = None  # why it was refused (problem details)


class Mark(enum.StrEnum):
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    CLEARED = "cleared"
    UNABLE = "unable"


MARK_STATUS = {
    Mark.EN_ROUTE: Status.EN_ROUTE,
    Mark.ON_SCENE: Status.ON_SCENE,
    Mark.CLEARED: Status.RESOLVED,
    Mark.UNABLE: Status.OPEN,
}


class MarkIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    mark: Mark
    reason: Reason | None = None  # required with "unable": what stopped the crew


async def assign(
    store: Store, config: SurgeConfig, ticket: str, data: AssignIn, actor: str | None
) -> list[Incident]:
    crew = await crew_or_404(store, data.crew_id)
    now = datetime.now(UTC)
    if not crew.on_shift(now.astimezone(config.zone).time()):
        raise Problem(409, "Crew off shift", f"crew {crew.id} is off shift", kind="crew-off-shift")
    previous: set[str] = set()

    async def decide(unit: list[Incident]) -> Plans[Incident] | None:
        lead = unit[0]
        if data.if_version is not None and data.if_version != lead.version:
            raise stale_version(f"incident {ticket}", lead.version, data.if_version)
        if not data.force:
            _check_fit(config, crew, unit)
        pairs = []
        for incident in unit:
            _check_dispatchable(incident, Status.ASSIGNED)
            if incident.assigned_crew == crew.id and incident.status in CREW_ACTIVE:
                continue
            if incident.assigned_crew and incident.status in CREW_ACTIVE:
                previous.add(incident.assigned_crew)
            pairs.append(
                (
                    incident,
                    msgspec.structs.replace(
                        incident,
                        status=Status.ASSIGNED,
                        assigned_crew=crew.id,
                        updated_at=now,
                        version=incident.version + 1,
                    ),
                )
            )
        if not pairs:
            return None  # already this crew's: nothing to do
        from_crews = {c.assigned_crew for c, _ in pairs if c.assigned_crew and c.status in CREW_ACTIVE}
        event = IncidentAssigned(
            tickets=[u.ticket for _, u in pairs],
            at=now,
            actor=actor,
            crew_id=crew.id,
            from_crew=next(iter(from_crews)) if len(from_crews) == 1 else None,
            job=lead.job,
            reason=data.reason,
        )
        return Plans(pairs, event)

    unit = await change_unit(store, ticket, decide)
    await _replan(store, config, {crew.id, *previous}, actor)
    return unit


async def unassign(
    store: Store, config: SurgeConfig, ticket: str, data: UnassignIn, actor: str | None
) -> list[Incident]:
    now = datetime.now(UTC)
    crews: set[str] = set()

    async def decide(unit: list[Incident]) -> Plans[Incident] | None:
        pairs = []
        for incident in unit:
            if incident.assigned_crew is None or incident.status not in CREW_ACTIVE:
                continue
            crews.add(incident.assigned_crew)
            pairs.append(
                (
                    incident,
                    msgspec.structs.replace(
                        incident,
                        status=Status.OPEN,
                        assigned_crew=None,
                        updated_at=now,
                        version=incident.version + 1,
                    ),
                )
            )
        if not pairs:
            raise Problem(
                409, "Not assigned", f"incident {ticket} is not assigned to a crew", kind="not-assigned"
            )
        crew_id = pairs[0][0].assigned_crew or ""
        event = IncidentUnassigned(
            tickets=[u.ticket for _, u in pairs],
            at=now,
            actor=actor,
            crew_id=crew_id,
            job=unit[0].job,
            reason=data.reason,
        )
        return Plans(pairs, event)

    unit = await change_unit(store, ticket, decide)
    await _replan(store, config, crews, actor)
    return unit


async def bulk_assign(store: Store, config: SurgeConfig, data: BulkIn, actor: str | None) -> list[BulkResult]:
    results = []
    for item in data.assignments:
        try:
            await assign(
                store,
                config,
                item.ticket,
                AssignIn(crew_id=item.crew_id, reason=data.reason, force=data.force),
                actor,
            )
        except Problem as problem:
            results.append(
                BulkResult(ticket=item.ticket, crew_id=item.crew_id, ok=False, problem=problem.body())
            )
        else:
            results.append(BulkResult(ticket=item.ticket, crew_id=item.crew_id, ok=True))
    return results


async def mark(
    store: Store, config: SurgeConfig, crew_id: str, ticket: str, data: MarkIn, actor: str | None
) -> list[Incident]:
    """A crew's word on its own work: the incident (with its job) moves, and the route follows."""
    if data.mark is Mark.UNABLE and not (data.reason and data.reason.strip()):
        raise invalid_field("reason", "say what stopped the crew (blocked road, needs a bucket truck, …)")
    crew = await crew_or_404(store, crew_id)
    target = MARK_STATUS[data.mark]
    now = datetime.now(UTC)
    if data.mark is Mark.CLEARED and await transport.ride_of(store, ticket) is not None:
        # Clearing would resolve the incident and leave the ride scheduled and its places held.
        raise Problem(
            409,
            "A ride is not cleared",
            f"{ticket} is a ride: mark it picked up, dropped off or no-show",
            kind="ride-open",
        )

    async def decide(unit: list[Incident]) -> Plans[Incident] | None:
        mine = [i for i in unit if i.assigned_crew == crew_id and i.status in CREW_ACTIVE]
        if not mine:
            raise unknown_ticket(ticket)  # not this crew's work (any more): as far as it knows, none such
        pairs = []
        for incident in mine:
            if incident.status is target:
                continue
            _check_dispatchable(incident, target)
            pairs.append(
                (
                    incident,
                    msgspec.structs.replace(
                        incident,
                        status=target,
                        assigned_crew=None if target is Status.OPEN else crew_id,
                        resolved_at=now if target is Status.RESOLVED else incident.resolved_at,
                        updated_at=now,
                        version=incident.version + 1,
                    ),
                )
            )
        if not pairs:
            return None
        event = CrewMarked(
            tickets=[u.ticket for _, u in pairs],
            at=now,
            actor=actor,
            crew_id=crew_id,
            mark=data.mark,
            job=unit[0].job,
            to_status=target,
            reason=data.reason,
        )
        return Plans(pairs, event)

    unit = await change_unit(store, ticket, decide)
    if data.mark is Mark.UNABLE:
        await raise_alarm(
            store,
            ticket,
            "crew_unable",
            f"crew {crew_id} cannot do {ticket}: {data.reason}; it is open again",
        )
    await replan(store, config, crew, actor)  # under way moves to the top; done drops out
    return unit


async def _replan(store: Store, config: SurgeConfig, crew_ids: set[str], actor: str | None) -> None:
    """Re-plan these crews' routes, after the change is stored: nothing here may fail the request."""
    for crew_id in sorted(crew_ids):
        crew = await select_crew(store, crew_id)
        if crew is not None:  # a crew named by old data may no longer exist: its route does not matter
            await replan(store, config, crew, actor)


def _check_fit(config: SurgeConfig, crew: Crew, unit: list[Incident]) -> None:
    outside = [i for i in unit if i.outside_jurisdiction]
    if outside:
        where = f" ({outside[0].town})" if outside[0].town else ""
        raise Problem(
            409,
            "Outside the city",
            f"{outside[0].ticket} is outside the city{where}: its own town's services usually have it;"
            " send force: true to send a city crew all the same",
            kind="outside-jurisdiction",
        )
    category = config.category(unit[0].category)
    kinds = category.crews if category else []
    if crew.kind not in kinds:
        raise Problem(
            409,
            "Wrong kind of crew",
            f"a {crew.kind} crew does not work {unit[0].category} (kinds: {', '.join(kinds) or 'none'});"
            " send force: true to send it all the same",
            kind="crew-kind-mismatch",
        )
    missing = sorted({n for i in unit for n in i.needs} - set(crew.capabilities))
    if missing:
        raise Problem(
            409,
            "Crew lacks a capability",
            f"crew {crew.id} lacks {', '.join(missing)}; send force: true to send it all the same",
            kind="missing-capability",
            missing=missing,
        )


def _check_dispatchable(incident: Incident, target: Status) -> None:
    if incident.handoff is not None and incident.handoff.held and target in CREW_ACTIVE:
        raise held_for_911(incident.ticket)
    reassigning = target is Status.ASSIGNED and incident.status in CREW_ACTIVE
    if incident.status is not target and not allowed(incident.status, target) and not reassigning:
        raise illegal_transition(
            incident.ticket, incident.status, target, sorted(TRANSITIONS[incident.status])
        )
