"""Crews: who they are, whether they are working, where they last were, and what they have.

A crew's record (name, kind, capabilities, shift) lives in one hash with every other crew's, so a
recommendation reads all crews in one round trip. Its status is not stored but read from its work:
a stored status would go stale the moment an agent cancelled one of its incidents.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any, TypeVar, cast

import msgspec

from dispatch.events import CrewPositioned, CrewSaved
from geo.point import Latitude, Longitude, Point
from incident.config import CrewKind, SurgeConfig
from incident.events import Change, Conflict, commit, retrying
from incident.incidents import select_many
from incident.problems import Problem, invalid_field, stale_version
from incident.status import Status
from incident.store import Store
from incident.validation import OUT_OF_CALENDAR, Identifier, in_calendar

CrewId = Identifier
HHMM = Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["07:00"])]
_pack = msgspec.msgpack.Encoder().encode
T = TypeVar("T")


class CrewStatus(enum.StrEnum):
    AVAILABLE = "available"
    ASSIGNED = "assigned"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    OFF_SHIFT = "off_shift"


class Crew(msgspec.Struct, kw_only=True):
    id: str
    name: str
    kind: CrewKind
    capabilities: list[str] = []
    size: int = 2  # people
    seats: int | None = None  # passenger seats, for vans
    wheelchair_spaces: int | None = None
    shift_start: str = "00:00"  # local time; start == end means round the clock
    shift_end: str = "00:00"
    on_duty: bool = True  # false: off shift whatever the clock says (sent home, truck down)
    base: Point | None = None  # the yard it starts from when its position is unknown
    created_at: datetime
    updated_at: datetime
    version: int = 1

    def shift_began(self, local: datetime) -> datetime | None:
        """When the shift under way at `local` began (None round the clock, or off shift)."""
        start, end = time.fromisoformat(self.shift_start), time.fromisoformat(self.shift_end)
        if start == end or not self.on_shift(local.time()):
            return None
        began = local.replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
        return began if began <= local else began - timedelta(days=1)

    def on_shift(self, local: time) -> bool:
        if not self.on_duty:
            return False
        start, end = time.fromisoformat(self.shift_start), time.fromisoformat(self.shift_end)
        if start == end:
            return True
        return start <= local < end if start < end else (local >= start or local < end)


class CrewIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new crew."""

    id: CrewId
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    kind: CrewKind
    capabilities: list[Annotated[str, msgspec.Meta(max_length=40)]] = []
    size: Annotated[int, msgspec.Meta(ge=1, le=50)] = 2
    seats: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None
    wheelchair_spaces: Annotated[int, msgspec.Meta(ge=0, le=20)] | None = None
    shift_start: HHMM = "00:00"
    shift_end: HHMM = "00:00"
    on_duty: bool = True
    base: Point | None = None


class CrewPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Changes to a crew; fields left out stay as they are."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)] | None = None
    kind: CrewKind | None = None
    capabilities: list[Annotated[str, msgspec.Meta(max_length=40)]] | None = None
    size: Annotated[int, msgspec.Meta(ge=1, le=50)] | None = None
    seats: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None
    wheelchair_spaces: Annotated[int, msgspec.Meta(ge=0, le=20)] | None = None
    shift_start: HHMM | None = None
    shift_end: HHMM | None = None
    on_duty: bool | None = None
    base: Point | None = None
    if_version: int | None = None


class Position(msgspec.Struct, kw_only=True):
    point: Point
    at: datetime  # when the device took the fix
    accuracy_m: float | None = None


class PositionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A fix from the crew's device."""

    lat: Latitude
    lon: Longitude
    at: datetime | None = None  # when the fix was taken (default: now); a late fix never replaces a newer one
    accuracy_m: Annotated[float, msgspec.Meta(ge=0, le=100_000)] | None = None


class PositionView(msgspec.Struct, kw_only=True):
    lat: float
    lon: float
    at: datetime
    age_seconds: int
    stale: bool
    accuracy_m: float | None


class CrewView(msgspec.Struct, kw_only=True):
    """A crew as the board shows it: the record, plus what is derived from its work and its device."""

    crew: Crew
    status: CrewStatus
    load: int  # jobs not done
    position: PositionView | None
    last_heard_at: datetime | None  # the device's last position, read or acknowledgement
    silent: bool  # on shift and not heard from for dispatch.silent_minutes


unpack_crew = msgspec.msgpack.Decoder(Crew).decode
unpack_position = msgspec.msgpack.Decoder(Position).decode


@dataclass(frozen=True, slots=True)
class Roster:
    """Every crew with its load, position and last contact, read in one round trip."""

    crews: dict[str, Crew]
    load: dict[str, int]
    positions: dict[str, Position]
    heard: dict[str, float]  # epoch seconds

    def view(self, crew: Crew, config: SurgeConfig, now: datetime, statuses: list[Status]) -> CrewView:
        position = self.positions.get(crew.id)
        heard = self.heard.get(crew.id)
        local = now.astimezone(config.zone)
        on_shift = crew.on_shift(local.time())
        # Silence counts from the last word from its devices, but never from before this shift began
        # or before the crew was last changed (put back on duty): a crew is not silent at 07:00 for
        # not having spoken overnight.
        began = crew.shift_began(local)
        contact = max(
            heard if heard is not None else 0.0,
            crew.updated_at.timestamp(),
            began.timestamp() if began else 0.0,
        )
        return CrewView(
            crew=crew,
            status=_status(on_shift, statuses),
            load=self.load.get(crew.id, 0),
            position=_position_view(position, config, now) if position else None,
            last_heard_at=datetime.fromtimestamp(heard, UTC) if heard is not None else None,
            silent=on_shift and now.timestamp() - contact > config.dispatch.silent_minutes * 60,
        )


async def roster(store: Store, *, with_heard: bool = True) -> Roster:
    """Every crew, in one round trip; `with_heard=False` skips last contact (recommendations)."""
    keys = store.keys
    pipe = store.redis.pipeline(transaction=False)
    pipe.hgetall(keys.crews)
    pipe.hgetall(keys.crew_load)
    pipe.hgetall(keys.crew_positions)
    if with_heard:
        pipe.zrange(keys.crew_seen, 0, -1, withscores=True)
    raw, load, positions, *heard = await pipe.execute()
    crews = {
        name.decode(): _decoded(blob, unpack_crew) for name, blob in cast(dict[bytes, bytes], raw).items()
    }
    return Roster(
        crews=crews,
        # Never below 0, even from data older than the index (see `stormline dispatch reindex`).
        load={k.decode(): int(v) for k, v in cast(dict[bytes, bytes], load).items() if int(v) > 0},
        positions={
            k.decode(): _decoded(v, unpack_position) for k, v in cast(dict[bytes, bytes], positions).items()
        },
        heard={k.decode(): float(v) for k, v in (heard[0] if heard else [])},
    )


_DECODED: dict[bytes, Any] = {}
_DECODED_MAX = 20_000


def _decoded(blob: bytes, decode: Callable[[bytes], T]) -> T:
    """Decode a stored record once per version, not once per read.

    Every recommendation reads every crew; most have not changed since the last read, so their
    decoded record is kept, keyed by the exact bytes (a changed crew is new bytes, decoded afresh).
    Records are never mutated in place (changes go through msgspec.structs.replace), so sharing is safe.
    """
    found = _DECODED.get(blob)
    if found is None:
        if len(_DECODED) >= _DECODED_MAX:
            _DECODED.clear()
        found = _DECODED[blob] = decode(blob)
    return cast(T, found)


async def select_crew(store: Store, crew_id: str) -> Crew | None:
    blob = cast(bytes | None, await store.redis.hget(store.keys.crews, crew_id))
    return unpack_crew(blob) if blob else None


async def crew_or_404(store: Store, crew_id: str) -> Crew:
    crew = await select_crew(store, crew_id)
    if crew is None:
        raise Problem(404, "Not Found", f"no crew {crew_id!r}", kind="unknown-crew", crew_id=crew_id)
    return crew


async def work_statuses(store: Store, crew_ids: list[str]) -> dict[str, list[Status]]:
    """The statuses of each crew's work not done (for its derived status)."""
    pipe = store.redis.pipeline(transaction=False)
    for crew_id in crew_ids:
        pipe.zrange(store.keys.crew_work(crew_id), 0, -1)
    lists = await pipe.execute()
    owner = {t.decode(): crew_id for crew_id, tickets in zip(crew_ids, lists, strict=True) for t in tickets}
    statuses: dict[str, list[Status]] = {crew_id: [] for crew_id in crew_ids}
    for incident in await select_many(store, list(owner)):
        statuses[owner[incident.ticket]].append(incident.status)
    return statuses


async def views(
    store: Store, config: SurgeConfig, crew_ids: list[str] | None = None, *, now: datetime | None = None
) -> list[CrewView]:
    """The crew board: every crew (or those named), by id, as it stands `now` (default: now)."""
    now = now or datetime.now(UTC)
    everyone = await roster(store)
    chosen = sorted(everyone.crews) if crew_ids is None else [c for c in crew_ids if c in everyone.crews]
    statuses = await work_statuses(store, chosen)
    return [everyone.view(everyone.crews[c], config, now, statuses[c]) for c in chosen]


async def create_crew(store: Store, config: SurgeConfig, data: CrewIn, actor: str | None) -> Crew:
    _check_capabilities(config, data.capabilities)
    now = datetime.now(UTC)
    crew = Crew(**msgspec.structs.asdict(data), created_at=now, updated_at=now)
    change = Change().guard(store.keys.crew_versions, crew.id, "")
    _put(change, store, crew)
    event = CrewSaved(crew_id=crew.id, at=now, actor=actor, version=1, changed=["created"])
    try:
        await commit(store.scripts.apply, change, event, store.keys.events)
    except Conflict:
        raise Problem(
            409, "Crew exists", f"there is already a crew {crew.id!r}", kind="crew-exists", crew_id=crew.id
        ) from None
    return crew


async def update_crew(
    store: Store, config: SurgeConfig, crew_id: str, patch: CrewPatch, actor: str | None
) -> Crew:
    if patch.capabilities is not None:
        _check_capabilities(config, patch.capabilities)
    changes = {
        name: value
        for name, value in msgspec.structs.asdict(patch).items()
        if value is not None and name != "if_version"
    }

    async def attempt() -> Crew:
        current = await crew_or_404(store, crew_id)
        if patch.if_version is not None and patch.if_version != current.version:
            raise stale_version(f"crew {crew_id}", current.version, patch.if_version)
        now = datetime.now(UTC)
        updated = msgspec.structs.replace(current, **changes, updated_at=now, version=current.version + 1)
        change = Change().guard(store.keys.crew_versions, crew_id, str(current.version))
        _put(change, store, updated)
        event = CrewSaved(
            crew_id=crew_id, at=now, actor=actor, version=updated.version, changed=sorted(changes)
        )
        await commit(store.scripts.apply, change, event, store.keys.events)
        return updated

    return await retrying(attempt, f"crew {crew_id}")


async def record_position(store: Store, crew_id: str, fix: PositionIn) -> bool:
    """Keep the fix (GEOADD and its time) unless a newer one is already kept; returns whether kept.

    Phones queue fixes while out of signal and send them late, out of order: the newest wins.
    """
    keys = store.keys
    now = datetime.now(UTC)
    at = fix.at or now
    if at.tzinfo is None:
        raise invalid_field("at", "give a time zone offset, e.g. 2026-10-13T02:15:00-04:00")
    if not in_calendar(at):
        raise invalid_field("at", OUT_OF_CALENDAR)
    at = min(at, now)  # a phone clock ahead of ours must not pin its position in the future
    point = Point(fix.lat, fix.lon)
    kept = _pack(Position(point=point, at=at, accuracy_m=fix.accuracy_m))

    async def attempt() -> bool:
        held = cast(bytes | None, await store.redis.hget(keys.crew_fixed, crew_id))
        if held is not None and datetime.fromisoformat(held.decode()) >= at:
            # Not kept, but the device spoke: it is not silent.
            await store.redis.zadd(keys.crew_seen, {crew_id: now.timestamp()}, gt=True)
            return False
        change = Change().guard(keys.crew_fixed, crew_id, held.decode() if held else "")
        change.geoadd(keys.crew_geo, point, crew_id)
        change.hset(keys.crew_positions, {crew_id: kept}).hset(keys.crew_fixed, {crew_id: at.isoformat()})
        heard(store, change, crew_id, now)
        event = CrewPositioned(crew_id=crew_id, at=at, lat=fix.lat, lon=fix.lon, accuracy_m=fix.accuracy_m)
        await commit(store.scripts.apply, change, event, store.keys.events)
        return True

    return await retrying(attempt, f"crew {crew_id}'s position")


def heard(store: Store, change: Change, crew_id: str, now: datetime) -> Change:
    """Plan "the crew's device was heard from now" (only ever moves forward)."""
    return change.command("ZADD", store.keys.crew_seen, "GT", str(now.timestamp()), crew_id)


def _put(change: Change, store: Store, crew: Crew) -> None:
    change.hset(store.keys.crews, {crew.id: _pack(crew)}).hset(
        store.keys.crew_versions, {crew.id: crew.version}
    )


def _check_capabilities(config: SurgeConfig, capabilities: list[str]) -> None:
    known = set(config.dispatch.capabilities)
    for index, capability in enumerate(capabilities):
        if capability not in known:
            raise invalid_field(
                f"capabilities[{index}]",
                f"unknown capability {capability!r}; one of: {', '.join(config.dispatch.capabilities)}",
            )


def _status(on_shift: bool, statuses: list[Status]) -> CrewStatus:
    if not on_shift:
        return CrewStatus.OFF_SHIFT
    if Status.ON_SCENE in statuses:
        return CrewStatus.ON_SCENE
    if Status.EN_ROUTE in statuses:
        return CrewStatus.EN_ROUTE
    return CrewStatus.ASSIGNED if statuses else CrewStatus.AVAILABLE


def _position_view(position: Position, config: SurgeConfig, now: datetime) -> PositionView:
    age = max(0, int((now - position.at).total_seconds()))
    return PositionView(
        lat=position.point.lat,
        lon=position.point.lon,
        at=position.at,
        age_seconds=age,
        stale=age > config.dispatch.position_stale_minutes * 60,
        accuracy_m=position.accuracy_m,
    )
