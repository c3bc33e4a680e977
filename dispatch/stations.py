"""Warming stations: opened by a coordinator at a config site, counted, filled, and closed.

A station's space is its capacity now (the overnight one at night) less the people in it and the
places held for rides on their way; at zero it is full and takes no more rides or referrals. Every
count says how fresh it is, and a count older than `warming.stale_minutes` is shown stale.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated, Literal

import msgspec

from dispatch.events import StationChanged
from geo.point import Point, distance_m
from incident.config import Site, SurgeConfig
from incident.events import Change, commit, retrying
from incident.kept import Kept, Plan
from incident.problems import Problem, invalid_field
from incident.store import Store

People = Annotated[int, msgspec.Meta(ge=1, le=2000)]
Capacity = Annotated[int, msgspec.Meta(ge=0, le=5000)]
Text = Annotated[str, msgspec.Meta(max_length=300)]


class Amenities(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    accessible: bool = False  # step-free, accessible toilets: wheelchairs
    pets: bool = False
    medical_power: bool = False  # outlets and backup power for oxygen concentrators and the like
    food: bool = False
    cots: bool = False


class Station(msgspec.Struct, kw_only=True):
    id: str
    name: str
    point: Point
    address: str | None
    status: Literal["open", "closed"] = "closed"
    capacity_day: int = 0
    capacity_overnight: int = 0
    amenities: Amenities = msgspec.field(default_factory=Amenities)
    hours: str = ""
    contact: str = ""
    occupancy: int = 0
    reserved: int = 0  # places held for rides on their way here
    counted_at: datetime | None = None  # when the occupancy was last confirmed
    checked_in_total: int = 0  # everyone who ever checked in (for the after-action report)
    peak: int = 0  # the most people in it at once
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    version: int = 0


class OpenIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    capacity_day: Capacity
    capacity_overnight: Capacity
    amenities: Amenities = msgspec.field(default_factory=Amenities)
    hours: Text = "24 hours"
    contact: Text = ""


class StationPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Changes to an open station; fields left out stay."""

    capacity_day: Capacity | None = None
    capacity_overnight: Capacity | None = None
    amenities: Amenities | None = None
    hours: Text | None = None
    contact: Text | None = None


class CountIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A head count: how many people are in the station now."""

    occupancy: Annotated[int, msgspec.Meta(ge=0, le=20_000)]


class PeopleIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    people: People = 1
    detail: Text | None = None


class CloseIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Close the station; if people are in it, say where they go (`move_to`, an open station)."""

    move_to: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    reason: Text | None = None


class Party(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Who needs a place: how many, and what the station must have for them."""

    size: People = 1
    wheelchair: bool = False
    oxygen: bool = False  # powered medical equipment
    pets: bool = False


class StationView(msgspec.Struct, kw_only=True):
    station: Station
    capacity_now: int  # the overnight capacity at night, else the day one
    space: int  # places left: capacity now less occupancy and reserved (never below 0)
    full: bool
    count_age_minutes: int | None
    stale: bool  # the count is older than warming.stale_minutes
    freshness: str  # "updated 40 min ago", as the board says it
    distance_m: float | None = None  # from the point asked about (nearest suitable)


def _kept(store: Store) -> Kept[Station]:
    return Kept(store, "station", Station, store.keys.station)


def site(config: SurgeConfig, site_id: str) -> Site:
    for candidate in config.warming.sites:
        if candidate.id == site_id:
            return candidate
    raise Problem(404, "Not Found", f"no warming site {site_id!r}", kind="unknown-station", id=site_id)


async def station(store: Store, config: SurgeConfig, site_id: str) -> Station:
    """The station at a config site (closed and empty if it was never opened)."""
    candidate = site(config, site_id)
    return await _kept(store).get(site_id) or _never_opened(candidate)


async def all_stations(store: Store, config: SurgeConfig) -> list[Station]:
    kept = {s.id: s for s in await _kept(store).many([c.id for c in config.warming.sites])}
    return [kept.get(c.id) or _never_opened(c) for c in config.warming.sites]


def view(config: SurgeConfig, found: Station, now: datetime, near: Point | None = None) -> StationView:
    capacity = capacity_now(config, found, now)
    space = max(0, capacity - found.occupancy - found.reserved)
    age = int((now - found.counted_at).total_seconds() // 60) if found.counted_at else None
    return StationView(
        station=found,
        capacity_now=capacity,
        space=space,
        full=found.status == "open" and space == 0,
        count_age_minutes=age,
        stale=found.status == "open" and (age is None or age > config.warming.stale_minutes),
        freshness=_freshness(age),
        distance_m=round(distance_m(near, found.point), 1) if near is not None else None,
    )


def capacity_now(config: SurgeConfig, found: Station, now: datetime) -> int:
    local = now.astimezone(config.zone).time()
    start = time.fromisoformat(config.warming.overnight_from)
    end = time.fromisoformat(config.warming.overnight_until)
    night = (local >= start or local < end) if start > end else (start <= local < end)
    return found.capacity_overnight if night else found.capacity_day


def suits(found: Station, party: Party) -> bool:
    amenities = found.amenities
    return (
        (not party.wheelchair or amenities.accessible)
        and (not party.oxygen or amenities.medical_power)
        and (not party.pets or amenities.pets)
    )


async def nearest(
    store: Store, config: SurgeConfig, point: Point, party: Party, *, limit: int = 5
) -> list[StationView]:
    """Open stations that suit the party and have room for it, nearest first."""
    now = datetime.now(UTC)
    views = [view(config, s, now, point) for s in await all_stations(store, config) if s.status == "open"]
    fitting = [v for v in views if suits(v.station, party) and v.space >= party.size]
    return sorted(fitting, key=lambda v: v.distance_m or 0.0)[:limit]


async def open_station(
    store: Store, config: SurgeConfig, site_id: str, data: OpenIn, actor: str | None
) -> Station:
    candidate = site(config, site_id)
    now = datetime.now(UTC)

    async def decide(current: Station) -> Plan[Station] | None:
        if current.status == "open":
            raise Problem(409, "Already open", f"station {site_id} is open", kind="station-open")
        opened = msgspec.structs.replace(
            current,
            status="open",
            capacity_day=data.capacity_day,
            capacity_overnight=data.capacity_overnight,
            amenities=data.amenities,
            hours=data.hours,
            contact=data.contact,
            occupancy=0,
            reserved=0,
            checked_in_total=0,  # counted afresh each time it opens (the report's figures)
            peak=0,
            counted_at=now,
            opened_at=now,
            closed_at=None,
        )
        return Plan(opened, _event(opened, "opened", actor, now))

    kept = _kept(store)
    if await kept.get(site_id) is None:  # first opening: the record is created
        plan = await decide(_never_opened(candidate))
        assert plan is not None, "a never-opened station always opens"
        first = Plan(msgspec.structs.replace(plan.record, version=1), plan.event)
        try:
            return await kept.create(first)
        except Problem as problem:
            if problem.status != 409:
                raise  # created by someone else just now: decide again on theirs, below
    return await kept.change(site_id, decide)


async def update_station(
    store: Store, config: SurgeConfig, site_id: str, data: StationPatch, actor: str | None
) -> Station:
    site(config, site_id)
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
    now = datetime.now(UTC)

    async def decide(current: Station) -> Plan[Station] | None:
        _must_be_open(current)
        updated = msgspec.structs.replace(current, **changes)
        return Plan(updated, _event(updated, "updated", actor, now, detail=", ".join(sorted(changes))))

    return await _kept(store).change(site_id, decide)


async def count(store: Store, config: SurgeConfig, site_id: str, data: CountIn, actor: str | None) -> Station:
    """A head count replaces the occupancy and makes it fresh."""
    site(config, site_id)
    now = datetime.now(UTC)

    async def decide(current: Station) -> Plan[Station] | None:
        _must_be_open(current)
        counted = msgspec.structs.replace(
            current, occupancy=data.occupancy, counted_at=now, peak=max(current.peak, data.occupancy)
        )
        return Plan(counted, _event(counted, "counted", actor, now))

    return await _kept(store).change(site_id, decide)


async def check(
    store: Store, config: SurgeConfig, site_id: str, data: PeopleIn, actor: str | None, *, arriving: bool
) -> Station:
    """People checked in (arriving) or out. Nobody is turned away at the door for being over capacity."""
    site(config, site_id)
    now = datetime.now(UTC)

    async def decide(current: Station) -> Plan[Station] | None:
        _must_be_open(current)
        if not arriving and data.people > current.occupancy:
            raise invalid_field("people", f"only {current.occupancy} are checked in at {site_id}")
        occupancy = current.occupancy + (data.people if arriving else -data.people)
        changed = msgspec.structs.replace(
            current,
            occupancy=occupancy,
            counted_at=now,
            peak=max(current.peak, occupancy),
            checked_in_total=current.checked_in_total + (data.people if arriving else 0),
        )
        action = "checked_in" if arriving else "checked_out"
        return Plan(changed, _event(changed, action, actor, now, people=data.people, detail=data.detail))

    return await _kept(store).change(site_id, decide)


async def close(store: Store, config: SurgeConfig, site_id: str, data: CloseIn, actor: str | None) -> Station:
    """Close a station. With people in it, they must go somewhere: `move_to` an open station with room."""
    site(config, site_id)
    kept = _kept(store)

    async def attempt() -> Station:
        now = datetime.now(UTC)
        current = await station(store, config, site_id)
        _must_be_open(current)
        if current.reserved:
            raise Problem(
                409,
                "Rides on their way",
                f"{current.reserved} places at {site_id} are held for rides on their way: send them"
                " elsewhere or cancel them before closing",
                kind="station-has-reservations",
            )
        target = None
        if current.occupancy:
            if data.move_to is None:
                options = await nearest(store, config, current.point, Party(size=current.occupancy))
                raise Problem(
                    409,
                    "Where do they go?",
                    f"{current.occupancy} people are in {current.name}: say where they go (move_to)",
                    kind="station-occupied",
                    occupancy=current.occupancy,
                    candidates=[
                        {"id": o.station.id, "name": o.station.name, "space": o.space}
                        for o in options
                        if o.station.id != site_id
                    ],
                )
            try:
                target = await station(store, config, data.move_to)
            except Problem:
                raise invalid_field("move_to", f"no warming site {data.move_to!r}") from None
            if target.id == site_id or target.status != "open":
                raise invalid_field("move_to", f"{data.move_to!r} is not another open station")
            room = view(config, target, now).space
            if room < current.occupancy:
                raise invalid_field("move_to", f"{target.name} has room for {room}, not {current.occupancy}")
        closed = msgspec.structs.replace(
            current, status="closed", occupancy=0, closed_at=now, version=current.version + 1
        )
        change = Change()
        kept.put(change, current, closed)
        if target is not None:
            moved = msgspec.structs.replace(
                target,
                occupancy=target.occupancy + current.occupancy,
                peak=max(target.peak, target.occupancy + current.occupancy),
                checked_in_total=target.checked_in_total + current.occupancy,
                counted_at=now,
                version=target.version + 1,
            )
            kept.put(change, target, moved)
        event = _event(closed, "closed", actor, now, people=current.occupancy, detail=data.reason)
        event.moved_to = target.id if target else None
        await commit(store.scripts.apply, change, event, store.keys.events)
        return closed

    return await retrying(attempt, f"station {site_id}")


def hold(
    change: Change, store: Store, config: SurgeConfig, current: Station, people: int, now: datetime
) -> Station:
    """Plan holding `people` places at an open station with room (a ride on its way); Problem if full."""
    _must_be_open(current)
    space = view(config, current, now).space
    if space < people:
        raise Problem(
            409,
            "Station full",
            f"{current.name} has room for {space}, not {people}",
            kind="station-full",
            station=current.id,
            space=space,
        )
    return _put_counts(change, store, current, reserved=current.reserved + people)


def release(
    change: Change, store: Store, current: Station, people: int, *, arrived: bool, now: datetime
) -> Station:
    """Plan giving back held places: as people checked in (arrived) or simply freed (no-show, cancel)."""
    reserved = max(0, current.reserved - people)
    if not arrived:
        return _put_counts(change, store, current, reserved=reserved)
    occupancy = current.occupancy + people
    return _put_counts(
        change,
        store,
        current,
        reserved=reserved,
        occupancy=occupancy,
        counted_at=now,
        peak=max(current.peak, occupancy),
        checked_in_total=current.checked_in_total + people,
    )


def _put_counts(change: Change, store: Store, current: Station, **counts: object) -> Station:
    updated = msgspec.structs.replace(current, **counts, version=current.version + 1)
    if current.version == 0:
        raise Problem(409, "Station closed", f"station {current.id} is not open", kind="station-closed")
    _kept(store).put(change, current, updated)
    return updated


def _must_be_open(current: Station) -> None:
    if current.status != "open":
        raise Problem(409, "Station closed", f"station {current.id} is not open", kind="station-closed")


def _never_opened(candidate: Site) -> Station:
    return Station(
        id=candidate.id,
        name=candidate.name,
        point=Point(candidate.lat, candidate.lon),
        address=candidate.address,
    )


def _event(
    found: Station,
    action: str,
    actor: str | None,
    now: datetime,
    *,
    people: int = 0,
    detail: str | None = None,
) -> StationChanged:
    return StationChanged(
        station_id=found.id,
        at=now,
        actor=actor,
        action=action,
        occupancy=found.occupancy,
        reserved=found.reserved,
        people=people,
        detail=detail,
    )


def _freshness(age: int | None) -> str:
    if age is None:
        return "never counted"
    if age < 1:
        return "updated just now"
    if age < 120:
        return f"updated {age} min ago"
    return f"updated {age // 60} h ago"
