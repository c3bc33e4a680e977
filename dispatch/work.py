"""A crew's work list in driving order: read, re-planned when work is added, and sent to its devices.

The work itself is the crew's index of incidents not done (kept by the incident writer, atomically
with every change); the stored route is only an order over it. Reading applies the order to the work
as it is now, so an incident cancelled or reassigned by anyone drops out at once, and one added by
a path that did not re-plan is shown last until the next re-plan.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import msgspec

from dispatch.crews import Crew, Position, unpack_position
from dispatch.driving import Stop, distances, length_m, order
from dispatch.events import CrewRouted
from dispatch.feed import route_notice
from geo.point import Point
from incident.config import Priority, SurgeConfig
from incident.events import Change, commit, retrying
from incident.incidents import select_many
from incident.problems import Problem
from incident.records import Incident, pack
from incident.status import Status
from incident.store import Store

_UNDER_WAY = frozenset({Status.EN_ROUTE, Status.ON_SCENE})
_unpack_route = msgspec.msgpack.Decoder(list[str]).decode


class RouteStop(msgspec.Struct, kw_only=True):
    """One place to drive to: an incident, or a street-segment job's incidents together."""

    tickets: list[str]
    job: str | None
    category: str
    priority: Priority
    status: Status
    address: str | None
    location: Point | None
    leg_m: float | None  # from the previous stop (or the crew's position)
    eta_minutes: float | None  # driving time from now at dispatch.speed_kmh, if nothing else held it up


class RouteView(msgspec.Struct, kw_only=True):
    crew_id: str
    start: Point | None  # where the route starts: the crew's fresh position, or its base
    stops: list[RouteStop]
    length_m: float


async def work_in_order(store: Store, crew_id: str) -> list[Incident]:
    """The crew's incidents not done, in its route's order (new ones not yet planned last)."""
    keys = store.keys
    pipe = store.redis.pipeline(transaction=False)
    pipe.zrange(keys.crew_work(crew_id), 0, -1)
    pipe.hget(keys.crew_route(crew_id), "data")
    members, blob = await pipe.execute()
    current = [t.decode() for t in cast(list[bytes], members)]
    planned = _unpack_route(blob) if blob else []
    order_of = {ticket: i for i, ticket in enumerate(planned)}
    ordered = sorted(current, key=lambda t: (order_of.get(t, len(order_of)), current.index(t)))
    return await select_many(store, ordered)


async def start_of(store: Store, config: SurgeConfig, crew: Crew) -> Point | None:
    """Where the crew is: its position if fresh, else its base, else unknown."""
    blob = cast(bytes | None, await store.redis.hget(store.keys.crew_positions, crew.id))
    return fresh_point(unpack_position(blob) if blob else None, config, crew)


def fresh_point(position: Position | None, config: SurgeConfig, crew: Crew) -> Point | None:
    if position is not None:
        age = (datetime.now(UTC) - position.at).total_seconds()
        if age <= config.dispatch.position_stale_minutes * 60:
            return position.point
    return crew.base


def stops_of(incidents: list[Incident]) -> list[tuple[Stop, list[Incident]]]:
    """Route stops: each incident alone, or a job's incidents as one stop at their middle."""
    groups: dict[str, list[Incident]] = {}
    for incident in incidents:
        groups.setdefault(f"job:{incident.job}" if incident.job else incident.ticket, []).append(incident)
    out = []
    for key, members in groups.items():
        points = [i.location for i in members if i.location is not None]
        middle = (
            Point(sum(p.lat for p in points) / len(points), sum(p.lon for p in points) / len(points))
            if points
            else None
        )
        fixed = any(i.status in _UNDER_WAY for i in members)
        out.append((Stop(key, middle, fixed), members))
    return out


async def replan(store: Store, config: SurgeConfig, crew: Crew, actor: str | None) -> list[str]:
    """Put the crew's work in driving order, keep it, and tell the crew's devices if it changed."""

    async def attempt() -> list[str]:
        keys = store.keys
        version = cast(bytes | None, await store.redis.hget(keys.crew_route(crew.id), "v"))
        incidents = await work_in_order(store, crew.id)
        start = await start_of(store, config, crew)
        grouped = stops_of(incidents)
        members = {stop.key: group for stop, group in grouped}
        ordered = order(start, [stop for stop, _ in grouped])
        route = [i.ticket for stop in ordered for i in members[stop.key]]
        if route == [i.ticket for i in incidents] and version is not None:
            return route
        now = datetime.now(UTC)
        new_version = int(version or 0) + 1
        change = Change().guard(keys.crew_route(crew.id), "v", version.decode() if version else "")
        change.hset(keys.crew_route(crew.id), {"v": new_version, "data": pack(route)})
        route_notice(change, store, crew.id, route, now)
        event = CrewRouted(
            crew_id=crew.id, at=now, actor=actor, route=route, length_m=length_m(start, ordered)
        )
        await commit(store.scripts.apply, change, event, keys.events)
        return route

    try:
        return await retrying(attempt, f"crew {crew.id}'s route")
    except Problem as problem:
        if problem.kind != "contention":
            raise
        # Whatever changed the work meanwhile replans it again; until then it keeps the order it has.
        return [i.ticket for i in await work_in_order(store, crew.id)]


async def route_view(store: Store, config: SurgeConfig, crew: Crew) -> RouteView:
    incidents = await work_in_order(store, crew.id)
    start = await start_of(store, config, crew)
    stops: list[RouteStop] = []
    previous, minutes, total = start, 0.0, 0.0
    metres_per_minute = config.dispatch.speed_kmh * 1000 / 60
    for stop, members in stops_of(incidents):
        leg = (
            float(distances([previous, stop.point])[0, 1])
            if previous is not None and stop.point is not None
            else None
        )
        if leg is not None:
            total += leg
            minutes += leg / metres_per_minute
        lead = members[0]
        stops.append(
            RouteStop(
                tickets=[i.ticket for i in members],
                job=lead.job,
                category=lead.category,
                priority=min((i.priority for i in members), key=list(Priority).index),
                status=lead.status,
                address=lead.address,
                location=stop.point,
                leg_m=round(leg, 1) if leg is not None else None,
                eta_minutes=round(minutes, 1) if leg is not None else None,
            )
        )
        previous = stop.point or previous
    return RouteView(crew_id=crew.id, start=start, stops=stops, length_m=round(total, 1))
