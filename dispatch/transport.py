"""Rides to warming stations: requests that hold places, van runs that group pickups, and their ends.

A shelter-transport incident becomes a request (pickup, party, wheelchairs, oxygen, pets, when the
resident can be ready) that holds places at a suitable open station in the same atomic step. Vans
(transport_van crews, with seats and wheelchair spaces) get runs: nearby pickups for one station,
within the van's room, in driving order, each with an estimated pickup time the resident can be told.
Statuses: requested → scheduled → picked_up → dropped_off (the party is checked in: held places
become occupancy) or no_show (the places are freed, the incident reopens and supervisors are told).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, cast

import msgspec

from dispatch import stations
from dispatch.crews import Crew, crew_or_404, roster
from dispatch.driving import Stop, distances, order
from dispatch.events import RunPlanned, TransportChanged
from dispatch.work import fresh_point, replan
from geo.point import Point, distance_m
from incident.alarms import raise_alarm
from incident.config import CrewKind, SurgeConfig
from incident.events import Change, Conflict, commit, retrying
from incident.incidents import select_incident, select_many
from incident.kept import Kept
from incident.problems import Problem, invalid_field, unknown_ticket
from incident.status import Status
from incident.store import Store
from incident.transitions import move_along
from incident.validation import OUT_OF_CALENDAR, Identifier, in_calendar

RequestStatus = Literal["requested", "scheduled", "picked_up", "dropped_off", "no_show", "cancelled"]
log = logging.getLogger("stormline.transport")
FINAL = frozenset({"dropped_off", "no_show", "cancelled"})
Text = Annotated[str, msgspec.Meta(max_length=500)]
Id = Annotated[str, msgspec.Meta(max_length=40)]


class TransportRequest(msgspec.Struct, kw_only=True):
    id: str
    ticket: str
    status: RequestStatus = "requested"
    station: str
    pickup: Point
    address: str | None
    party: int
    wheelchairs: int = 0
    oxygen: bool = False
    pets: bool = False
    ready_from: datetime
    ready_until: datetime | None = None
    run: str | None = None
    crew_id: str | None = None
    eta: datetime | None = None  # planned pickup time
    created_at: datetime
    updated_at: datetime
    created_by: str | None = None
    version: int = 1


class RequestIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A ride for the people of a shelter-transport incident."""

    ticket: Annotated[str, msgspec.Meta(max_length=20)]
    party: Annotated[int, msgspec.Meta(ge=1, le=60)] = 1
    wheelchairs: Annotated[int, msgspec.Meta(ge=0, le=20)] = 0
    oxygen: bool = False
    pets: bool = False
    station: Id | None = None  # default: the nearest open station that suits the party and has room
    pickup: Point | None = None  # default: the incident's location
    ready_from: Annotated[datetime, msgspec.Meta(tz=True)] | None = None  # default: now
    ready_until: Annotated[datetime, msgspec.Meta(tz=True)] | None = None


class RequestView(msgspec.Struct, kw_only=True):
    request: TransportRequest
    pickup_window: tuple[datetime, datetime] | None  # what to tell the resident, once scheduled


class Run(msgspec.Struct, kw_only=True):
    id: str
    crew_id: str
    station: str
    requests: list[str]  # pickups in driving order; then the station
    status: Literal["scheduled", "done"] = "scheduled"
    created_at: datetime
    created_by: str | None = None
    version: int = 1


class RunIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    crew_id: Identifier
    requests: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=30)]


class MoveIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: Text | None = None


Move = Literal["picked_up", "dropped_off", "no_show", "cancelled"]
_FROM: dict[str, frozenset[str]] = {
    "picked_up": frozenset({"scheduled"}),
    "dropped_off": frozenset({"picked_up"}),
    "no_show": frozenset({"scheduled"}),
    "cancelled": frozenset({"requested", "scheduled", "picked_up"}),  # picked up: the van broke down
}
_RIDEABLE = frozenset({Status.OPEN, Status.ASSIGNED})
_INCIDENT_AFTER: dict[str, Status] = {
    "picked_up": Status.ON_SCENE,
    "dropped_off": Status.RESOLVED,
    "no_show": Status.OPEN,
    "cancelled": Status.OPEN,
}


def _requests(store: Store) -> Kept[TransportRequest]:
    return Kept(store, "transport-request", TransportRequest, store.keys.transport)


def _runs(store: Store) -> Kept[Run]:
    return Kept(store, "run", Run, store.keys.run)


async def get_request(store: Store, request_id: str) -> TransportRequest:
    return await _requests(store).get_or_404(request_id)


async def get_run(store: Store, run_id: str) -> Run:
    return await _runs(store).get_or_404(run_id)


def request_view(config: SurgeConfig, request: TransportRequest) -> RequestView:
    window = None
    if request.eta is not None and request.status == "scheduled":
        spread = timedelta(minutes=config.transport.window_minutes)
        window = (max(request.eta - spread, request.ready_from), request.eta + spread)  # not before ready
    return RequestView(request=request, pickup_window=window)


async def list_requests(
    store: Store, *, status: str | None = None, since: datetime | None = None, limit: int = 500
) -> list[TransportRequest]:
    low = int(since.timestamp()) if since else "-inf"  # scores are whole seconds
    ids = cast(list[bytes], await store.redis.zrevrangebyscore(store.keys.transports, "+inf", low, 0, limit))
    found = await _requests(store).many([i.decode() for i in ids])
    return [r for r in found if status is None or r.status == status]


async def ride_of(store: Store, ticket: str) -> TransportRequest | None:
    """The incident's ride not yet ended, if it has one."""
    found = cast(bytes | None, await store.redis.hget(store.keys.ride_of(ticket), "id"))
    return await _requests(store).get(found.decode()) if found else None


async def requests_of(store: Store, run: Run) -> list[TransportRequest]:
    return await _requests(store).many(run.requests)


async def list_runs(store: Store, *, limit: int = 200) -> list[Run]:
    ids = cast(list[bytes], await store.redis.zrevrange(store.keys.runs, 0, limit - 1))
    return await _runs(store).many([i.decode() for i in ids])


async def create_request(
    store: Store, config: SurgeConfig, data: RequestIn, actor: str | None
) -> TransportRequest:
    incident = await select_incident(store, data.ticket)
    if incident is None:
        raise unknown_ticket(data.ticket)
    category = config.category(incident.category)
    if category is None or CrewKind.TRANSPORT_VAN not in category.crews:
        raise Problem(
            409,
            "Not a ride",
            f"incident {data.ticket} is {incident.category}, not work for a transport van",
            kind="not-transport",
        )
    if data.wheelchairs > data.party:
        raise invalid_field("wheelchairs", "more wheelchairs than people in the party")
    for name, moment in (("ready_from", data.ready_from), ("ready_until", data.ready_until)):
        if moment is not None and not in_calendar(moment):
            raise invalid_field(name, OUT_OF_CALENDAR)
    if data.ready_until is not None and data.ready_until < (data.ready_from or datetime.now(UTC)):
        raise invalid_field("ready_until", "is before the resident is ready (ready_from, or now)")
    if incident.status not in _RIDEABLE or (incident.handoff is not None and incident.handoff.held):
        raise Problem(
            409,
            "Not for a ride",
            f"incident {data.ticket} is {incident.status}"
            + (" and held for 911" if incident.handoff is not None and incident.handoff.held else ""),
            kind="not-rideable",
        )
    pickup = data.pickup or incident.location
    if pickup is None:
        raise invalid_field("pickup", f"incident {data.ticket} has no location yet: give the pickup point")
    party = stations.Party(
        size=data.party, wheelchair=data.wheelchairs > 0, oxygen=data.oxygen, pets=data.pets
    )
    number = int(await store.redis.incr(store.keys.seq("transport")))
    request_id = f"T{number}"

    async def attempt() -> TransportRequest:
        now = datetime.now(UTC)
        if data.station is not None:
            try:
                destination = await stations.station(store, config, data.station)
            except Problem:
                raise invalid_field("station", f"no warming site {data.station!r}") from None
            if not stations.suits(destination, party):
                raise invalid_field("station", f"{destination.name} does not suit this party")
        else:
            options = await stations.nearest(store, config, pickup, party, limit=1)
            if not options:
                raise Problem(
                    409,
                    "No station",
                    "no open warming station suits this party and has room for it",
                    kind="no-station",
                )
            destination = options[0].station
        change = Change()
        stations.hold(change, store, config, destination, data.party, now)
        request = TransportRequest(
            id=request_id,
            ticket=data.ticket,
            station=destination.id,
            pickup=pickup,
            address=incident.address,
            party=data.party,
            wheelchairs=data.wheelchairs,
            oxygen=data.oxygen,
            pets=data.pets,
            ready_from=data.ready_from or now,
            ready_until=data.ready_until,
            created_at=now,
            updated_at=now,
            created_by=actor,
        )
        _requests(store).put(change, None, request)
        change.zadd(store.keys.transports, int(now.timestamp()), request_id)
        # One ride at a time per incident: a double click must not hold the places twice.
        change.guard(store.keys.ride_of(data.ticket), "id", "").hset(
            store.keys.ride_of(data.ticket), {"id": request_id}
        )
        event = TransportChanged(
            request_id=request_id,
            ticket=data.ticket,
            at=now,
            actor=actor,
            status="requested",
            station=destination.id,
        )
        try:
            await commit(
                store.scripts.apply, change, event, store.keys.events, store.keys.history(data.ticket)
            )
        except Conflict as conflict:
            if conflict.key == store.keys.ride_of(data.ticket):
                raise Problem(
                    409,
                    "Ride exists",
                    f"incident {data.ticket} already has ride {conflict.actual.decode()}",
                    kind="ride-exists",
                    id=conflict.actual.decode(),
                ) from None
            raise  # the station changed meanwhile: look again
        return request

    return await retrying(attempt, "the stations")


async def schedule(store: Store, config: SurgeConfig, data: RunIn, actor: str | None) -> Run:
    """A van run for these requests: checked against the van's room, put in driving order, dated."""
    crew = await crew_or_404(store, data.crew_id)
    if crew.kind is not CrewKind.TRANSPORT_VAN:
        raise invalid_field("crew_id", f"crew {crew.id} is {crew.kind}, not a transport van")
    if not crew.on_shift(datetime.now(UTC).astimezone(config.zone).time()):
        raise Problem(409, "Crew off shift", f"crew {crew.id} is off shift", kind="crew-off-shift")
    ids = list(dict.fromkeys(data.requests))
    number = int(await store.redis.incr(store.keys.seq("run")))
    run_id = f"R{number}"

    async def attempt() -> Run:
        requests = {r.id: r for r in await _requests(store).many(ids)}
        for request_id in ids:
            if request_id not in requests:
                raise Problem(
                    404, "Not Found", f"no transport request {request_id!r}", kind="unknown-transport-request"
                )
            if requests[request_id].status != "requested":
                raise Problem(
                    409,
                    "Already on its way",
                    f"request {request_id} is {requests[request_id].status}",
                    kind="transport-not-requested",
                )
        chosen = [requests[i] for i in ids]
        incidents = {i.ticket: i for i in await select_many(store, [r.ticket for r in chosen])}
        for request in chosen:
            incident = incidents.get(request.ticket)
            if incident is None or incident.status not in _RIDEABLE:
                raise Problem(
                    409,
                    "Not for a ride",
                    f"request {request.id}'s incident {request.ticket} is"
                    f" {incident.status if incident else 'gone'}: cancel the ride",
                    kind="not-rideable",
                )
        if len({r.station for r in chosen}) != 1:
            raise invalid_field("requests", "a run goes to one station: these go to several")
        _check_room(crew, chosen)
        start = fresh_point((await roster(store, with_heard=False)).positions.get(crew.id), config, crew)
        ordered = [s.key for s in order(start, [Stop(r.id, r.pickup) for r in chosen])]
        etas = _etas(config, start, [requests[i] for i in ordered], datetime.now(UTC))
        now = datetime.now(UTC)
        change = Change()
        run = Run(
            id=run_id,
            crew_id=crew.id,
            station=chosen[0].station,
            requests=ordered,
            created_at=now,
            created_by=actor,
        )
        _runs(store).put(change, None, run)
        # One run at a time per van: its room and its pickup times are for this run alone.
        change.guard(store.keys.van_run(crew.id), "run", "").hset(
            store.keys.van_run(crew.id), {"run": run_id}
        )
        change.zadd(store.keys.runs, int(now.timestamp()), run_id)
        for request_id in ordered:
            request = requests[request_id]
            scheduled = msgspec.structs.replace(
                request,
                status="scheduled",
                run=run_id,
                crew_id=crew.id,
                eta=etas[request_id],
                updated_at=now,
                version=request.version + 1,
            )
            _requests(store).put(change, request, scheduled)
            move_along(change, store, incidents.get(request.ticket), Status.ASSIGNED, now, crew_id=crew.id)
        event = RunPlanned(
            run_id=run_id, at=now, actor=actor, crew_id=crew.id, requests=ordered, station=run.station
        )
        tickets = [requests[i].ticket for i in ordered]
        try:
            await commit(
                store.scripts.apply,
                change,
                event,
                store.keys.events,
                *(store.keys.history(t) for t in tickets),
            )
        except Conflict as conflict:
            if conflict.key == store.keys.van_run(crew.id):
                raise Problem(
                    409,
                    "Van busy",
                    f"van {crew.id} is on run {conflict.actual.decode()}: plan this one when it is done",
                    kind="van-busy",
                ) from None
            raise
        await replan(store, config, crew, actor)
        return run

    return await retrying(attempt, "the transport requests")


async def auto_runs(store: Store, config: SurgeConfig, actor: str | None) -> list[Run]:
    """Runs for waiting requests over the free vans: the longest-waiting first, with its neighbours."""
    everyone = await roster(store, with_heard=False)
    local = datetime.now(UTC).astimezone(config.zone).time()
    busy = {run.crew_id for run in await list_runs(store) if run.status == "scheduled"}
    vans = [
        c
        for c in everyone.crews.values()
        if c.kind is CrewKind.TRANSPORT_VAN
        and c.on_shift(local)
        and c.id not in busy
        and (c.seats or c.wheelchair_spaces)
    ]
    waiting = sorted(await list_requests(store, status="requested"), key=lambda r: r.ready_from)
    runs = []
    while waiting and vans:
        seed = waiting[0]
        van = min(vans, key=lambda c: _km(fresh_point(everyone.positions.get(c.id), config, c), seed.pickup))
        group = _group(config, van, seed, waiting)
        if not group:
            waiting.remove(seed)  # no free van has room for it: it waits for a bigger one
            continue
        runs.append(
            await schedule(store, config, RunIn(crew_id=van.id, requests=[r.id for r in group]), actor)
        )
        vans.remove(van)
        waiting = [r for r in waiting if r not in group]
    return runs


async def move(
    store: Store,
    config: SurgeConfig,
    request_id: str,
    to: Move,
    actor: str | None,
    *,
    crew: str | None = None,
    reason: str | None = None,
) -> TransportRequest:
    """Picked up, dropped off (checked in at the station), no-show, or cancelled."""
    kept = _requests(store)

    async def attempt() -> TransportRequest:
        now = datetime.now(UTC)
        request = await kept.get_or_404(request_id)
        if crew is not None and request.crew_id != crew:
            raise Problem(
                404, "Not Found", f"no transport request {request_id!r}", kind="unknown-transport-request"
            )
        if request.status not in _FROM[to]:
            raise Problem(
                409,
                "Not allowed",
                f"request {request_id} is {request.status}: it cannot be {to.replace('_', ' ')}",
                kind="illegal-transition",
            )
        change = Change()
        moved = msgspec.structs.replace(request, status=to, updated_at=now, version=request.version + 1)
        kept.put(change, request, moved)
        if to in FINAL:
            change.command("HDEL", store.keys.ride_of(request.ticket), "id")
            destination = await stations.station(store, config, request.station)
            if destination.status == "open":
                stations.release(
                    change, store, destination, request.party, arrived=to == "dropped_off", now=now
                )
        incident = await select_incident(store, request.ticket)
        crew_after = request.crew_id if to == "picked_up" else None
        move_along(change, store, incident, _INCIDENT_AFTER[to], now, crew_id=crew_after)
        if request.run and to in FINAL:
            await _finish_run(change, store, request, now)
        event = TransportChanged(
            request_id=request_id,
            ticket=request.ticket,
            at=now,
            actor=actor,
            status=to,
            station=request.station,
            run=request.run,
            detail=reason,
        )
        await commit(
            store.scripts.apply, change, event, store.keys.events, store.keys.history(request.ticket)
        )
        if to == "no_show":
            await raise_alarm(
                store,
                request.ticket,
                "transport_no_show",
                f"no one was at the pickup for {request.ticket} ({request.party} people): check on them",
            )
        return moved

    return await retrying(attempt, f"request {request_id}")


async def cancel_rides_of(store: Store, config: SurgeConfig, tickets: list[str], actor: str | None) -> None:
    """Cancel these incidents' rides not yet ended, giving back their held places and their vans."""
    pipe = store.redis.pipeline(transaction=False)
    for ticket in tickets:
        pipe.hget(store.keys.ride_of(ticket), "id")
    found = [ride.decode() for ride in cast(list[bytes | None], await pipe.execute()) if ride]
    for ride in await _requests(store).many(found):
        if ride.status in FINAL:
            continue
        try:
            await move(store, config, ride.id, "cancelled", actor, reason="the drill was purged")
        except Problem as problem:  # its station gone from the config, or ended meanwhile: delete it anyway
            log.warning("drill purge: ride %s not cancelled: %s", ride.id, problem.detail)


async def forget(store: Store, tickets: frozenset[str]) -> None:
    """Delete these incidents' rides, and the van runs made only of them (a drill's purge).

    Rides not yet ended are cancelled first (`cancel_rides_of`), so their places and vans are given back.
    """
    if not tickets:  # an empty drill, or one purged again: nothing to delete (DEL takes one key or more)
        return
    keys = store.keys
    ids = [i.decode() for i in cast(list[bytes], await store.redis.zrange(keys.transports, 0, -1))]
    gone = {request.id for request in await _requests(store).many(ids) if request.ticket in tickets}
    run_ids = [i.decode() for i in cast(list[bytes], await store.redis.zrange(keys.runs, 0, -1))]
    emptied = [run.id for run in await _runs(store).many(run_ids) if set(run.requests) <= gone]
    pipe = store.redis.pipeline(transaction=True)
    pipe.delete(*(keys.ride_of(ticket) for ticket in tickets))
    for request_id in gone:
        pipe.delete(keys.transport(request_id))
        pipe.zrem(keys.transports, request_id)
    for run_id in emptied:
        pipe.delete(keys.run(run_id))
        pipe.zrem(keys.runs, run_id)
    await pipe.execute()


async def _finish_run(change: Change, store: Store, request: TransportRequest, now: datetime) -> None:
    assert request.run is not None
    run = await _runs(store).get(request.run)
    if run is None or run.status == "done":
        return
    others = [r for r in await _requests(store).many(run.requests) if r.id != request.id]
    if all(r.status in FINAL for r in others):
        done = msgspec.structs.replace(run, status="done", version=run.version + 1)
        _runs(store).put(change, run, done)
        change.command("HDEL", store.keys.van_run(run.crew_id), "run")


def _check_room(crew: Crew, requests: list[TransportRequest]) -> None:
    seated = sum(r.party - r.wheelchairs for r in requests)
    chairs = sum(r.wheelchairs for r in requests)
    if seated > (crew.seats or 0) or chairs > (crew.wheelchair_spaces or 0):
        raise Problem(
            409,
            "Van too small",
            f"{crew.id} has {crew.seats or 0} seats and {crew.wheelchair_spaces or 0} wheelchair spaces;"
            f" these pickups need {seated} and {chairs}",
            kind="van-too-small",
        )


def _group(
    config: SurgeConfig, van: Crew, seed: TransportRequest, waiting: list[TransportRequest]
) -> list[TransportRequest]:
    """The seed and its nearest waiting neighbours for the same station, as far as the van has room."""
    seats, chairs = van.seats or 0, van.wheelchair_spaces or 0
    group: list[TransportRequest] = []
    candidates = sorted(
        (r for r in waiting if r.station == seed.station),
        key=lambda r: distance_m(seed.pickup, r.pickup),
    )
    for request in candidates:
        if distance_m(seed.pickup, request.pickup) > config.transport.group_radius_km * 1000:
            break
        need_seats, need_chairs = request.party - request.wheelchairs, request.wheelchairs
        if need_seats <= seats and need_chairs <= chairs:
            group.append(request)
            seats, chairs = seats - need_seats, chairs - need_chairs
    return group if seed in group else []


def _etas(
    config: SurgeConfig, start: Point | None, ordered: list[TransportRequest], now: datetime
) -> dict[str, datetime]:
    """Planned pickup times: driving at dispatch.speed_kmh, transport.stop_minutes at each pickup."""
    metres_per_minute = config.dispatch.speed_kmh * 1000 / 60
    clock, here, etas = now, start, {}
    for request in ordered:
        if here is not None:
            clock += timedelta(minutes=float(distances([here, request.pickup])[0, 1]) / metres_per_minute)
        clock = max(clock, request.ready_from)
        etas[request.id] = clock
        clock += timedelta(minutes=config.transport.stop_minutes)
        here = request.pickup
    return etas


def _km(a: Point | None, b: Point) -> float:
    return distance_m(a, b) / 1000 if a is not None else 1e6
