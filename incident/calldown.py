"""Call-downs: welfare checks of registered residents in an area, in order of risk, shared by agents.

A coordinator builds a list for an area (a drawn polygon, council districts, or a power-outage area
imported as GeoJSON) and a need filter. The list is ordered by risk (incident/registry.risk) and kept
as a sorted set; agents take the next resident one at a time. Taking is a guarded write on the
resident's entry, so two agents never hold the same resident; a hold lapses after
`registry.hold_minutes` and the resident goes back to the list.

An attempt is recorded with its outcome. "safe" ends it; "help" opens an incident through intake (the
same door as any call: triage, and the 911 handoff when a life is at risk); "no_answer" puts the
resident back for a later call, and after the mode's `calldown_attempts` unanswered calls spaced over
`calldown_minutes` the resident becomes a door knock: a welfare-check incident for the outreach crews.
"wrong_number" goes to a door knock at once.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, cast

import msgspec
import numpy as np
import shapely
from shapely.geometry import shape

from incident import center, clock
from incident.config import Need, Priority, SurgeConfig
from incident.events import Change
from incident.geocoding import GeoService
from incident.idempotency import KeyReused, StillProcessing
from incident.intake import CallIn, take_call
from incident.kept import Kept, Plan
from incident.problems import Problem, invalid_field
from incident.records import CallDownChanged, Channel
from incident.registry import Registry, Resident, risk
from incident.store import Store
from incident.triage import Engine

Outcome = Literal["safe", "help", "no_answer", "wrong_number"]
State = Literal["held", "later", "done"]
MapState = Literal["waiting", "held", "calling_again", "safe", "help", "unreached", "removed"]
_ZADD_CHUNK = 500  # members per ZADD: Lua's unpack stops at a few thousand arguments
_PASSES = 5


class CallDownIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What a coordinator asks for: an area, the needs that put someone on it, hours without power.

    The area is a GeoJSON geometry, Feature or FeatureCollection, and/or council districts; no needs
    means everyone registered there.
    """

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    area: dict[str, Any] | None = None
    districts: list[Annotated[str, msgspec.Meta(max_length=40)]] = []
    needs: list[Need] = []
    hours_without_power: Annotated[float, msgspec.Meta(ge=0, le=24 * 30)] = 0.0
    drill: bool = False  # a drill's list: its help and door knocks are the drill's too


class CallDown(msgspec.Struct, kw_only=True):
    id: str
    name: str
    built_at: datetime
    built_by: str | None
    needs: list[Need]
    districts: list[str]
    area: dict[str, Any] | None  # as given, to draw it
    size: int
    attempts: int  # unanswered calls before a door knock (the mode's, when built)
    spacing_minutes: float  # between those calls
    closed_at: datetime | None = None
    exercise: str | None = None  # built during a drill: purged with it
    version: int = 1


class CallDownAttempt(msgspec.Struct, kw_only=True):
    at: datetime
    agent: str | None
    outcome: Outcome
    note: str = ""


class CallDownEntry(msgspec.Struct, kw_only=True):
    """One resident's place on a call-down: who holds it, the attempts, how it ended."""

    calldown: str
    resident: str
    rank: int  # place in risk order, from 0
    state: State
    agent: str | None = None
    held_until: datetime | None = None
    call_again_at: datetime | None = None
    attempts: list[CallDownAttempt] = []
    outcome: str | None = None  # "safe", "help", "unreached" (door knock), when done
    ticket: str | None = None  # the incident opened for help or a door knock
    version: int = 1


class CallDownAttemptIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    outcome: Outcome
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    # With "help": what the resident needs, in their words (triage reads it), and the category if known.
    narrative: Annotated[str, msgspec.Meta(max_length=4000)] | None = None
    category: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class CallDownContact(msgspec.Struct, kw_only=True):
    """What an agent calling a resident sees: how to reach them and what they need (not the consent)."""

    id: str
    name: str
    phone: str | None
    phone_e164: str | None
    address: str
    needs: list[Need]
    dialysis_schedule: str | None
    language: str
    contact_name: str | None
    contact_phone: str | None
    notes: str


class CallDownTaken(msgspec.Struct, kw_only=True):
    """The resident an agent is to call now, with what the call needs."""

    entry: CallDownEntry
    resident: CallDownContact


class CallDownProgress(msgspec.Struct, kw_only=True):
    calldown: CallDown
    size: int
    done: int
    safe: int
    help: int
    unreached: int  # sent a door knock
    waiting: int  # not yet called
    calling_again: int
    held: int


class CallDownBuilt(msgspec.Struct, kw_only=True):
    calldown: CallDown
    first: list[str]  # the first residents in order (ids), to show
    # Registered residents with no point yet (their address not placed): on no area's list until a
    # coordinator places them, so the coordinator is told how many.
    unplaced: int = 0


def _kept_lists(store: Store) -> Kept[CallDown]:
    return Kept(store, "calldown", CallDown, store.keys.calldown)


def _kept_entries(store: Store, calldown_id: str) -> Kept[CallDownEntry]:
    return Kept(
        store,
        "calldown entry",
        CallDownEntry,
        lambda resident: store.keys.calldown_entry(calldown_id, resident),
        ident=lambda entry: entry.resident,
    )


async def build(
    store: Store,
    config: SurgeConfig,
    registry: Registry,
    data: CallDownIn,
    actor: str | None,
    role: str | None = None,
) -> CallDownBuilt:
    """Build and order a call-down list (one atomic write however long it is)."""
    polygon, parts = _area(config, data)
    if polygon is None and not data.districts:
        raise invalid_field("area", "give an area (GeoJSON) or council districts")
    briefs = await registry.briefs()
    wanted = set(data.needs)
    ids = [i for i, b in briefs.items() if not wanted or wanted.intersection(b.needs)]
    inside = np.zeros(len(ids), dtype=bool)
    hours = np.full(len(ids), data.hours_without_power)
    if polygon is not None and ids:
        lons = np.fromiter((briefs[i].lon for i in ids), float, len(ids))
        lats = np.fromiter((briefs[i].lat for i in ids), float, len(ids))
        for geometry, feature_hours in parts:
            hit = shapely.contains_xy(geometry, lons, lats)
            if feature_hours is not None:
                hours = np.where(hit, np.maximum(hours, feature_hours), hours)
            inside |= hit
    if data.districts:
        districts = set(data.districts)
        inside |= np.fromiter((briefs[i].district in districts for i in ids), bool, len(ids))
    scored = [
        (-risk(config, briefs[i].needs, float(h)), i)
        for i, h, keep in zip(ids, hours, inside, strict=True)
        if keep
    ]
    ordered = [i for _, i in sorted(scored)]
    state = await center.current(store)
    profile = getattr(config.modes, state.mode)
    drill = center.drill_of(state, data.drill, "list")
    attempts = profile.calldown_attempts
    number = await store.redis.incr(store.keys.seq("calldown"))
    calldown = CallDown(
        id=f"CD{number:04d}",
        name=data.name,
        built_at=datetime.now(UTC),
        built_by=actor,
        needs=sorted(wanted),
        districts=sorted(set(data.districts)),
        area=data.area,
        size=len(ordered),
        attempts=attempts,
        spacing_minutes=profile.calldown_minutes / max(attempts - 1, 1),
        exercise=drill,
    )
    change = Change()
    if drill:
        change.command("SADD", store.keys.exercise_made(drill), f"calldown:{calldown.id}")
    todo = store.keys.calldown_todo(calldown.id)
    for start in range(0, len(ordered), _ZADD_CHUNK):
        pairs: list[str] = []
        for rank, resident in enumerate(ordered[start : start + _ZADD_CHUNK], start):
            pairs += [str(rank), resident]
        change.command("ZADD", todo, *pairs)
        change.command("ZADD", store.keys.calldown_all(calldown.id), *pairs)
    change.command("ZADD", store.keys.calldowns, str(number), calldown.id)
    event = CallDownChanged(
        calldown=calldown.id, at=calldown.built_at, actor=actor, step="built", size=calldown.size
    )
    await _kept_lists(store).create(Plan(calldown, event, change))
    await registry.audit_read(actor, role, "calldown", ordered[:50], count=len(ordered))
    unplaced = await store.redis.zcard(store.keys.residents) - len(briefs)
    return CallDownBuilt(calldown=calldown, first=ordered[:50], unplaced=unplaced)


def _area(config: SurgeConfig, data: CallDownIn) -> tuple[Any, list[tuple[Any, float | None]]]:
    """The area's union, and each polygon with the hours without power its feature says (if any)."""
    if data.area is None:
        return None, []
    given = data.area
    features = given.get("features") if given.get("type") == "FeatureCollection" else [given]
    if not isinstance(features, list) or not features:
        raise invalid_field("area", "a FeatureCollection needs features")
    parts: list[tuple[Any, float | None]] = []
    key = config.registry.outage_hours_property
    for index, feature in enumerate(features):
        where = f"area.features[{index}]" if given.get("type") == "FeatureCollection" else "area"
        if not isinstance(feature, dict):
            raise invalid_field(where, "is not a GeoJSON object")
        geometry = feature.get("geometry") if feature.get("type") == "Feature" else feature
        properties = feature.get("properties") or {} if feature.get("type") == "Feature" else {}
        try:
            polygon = shape(cast(dict[str, Any], geometry))
        except (AttributeError, KeyError, TypeError, ValueError, shapely.errors.GEOSException) as error:
            raise invalid_field(where, f"not a GeoJSON geometry ({error})") from None
        if polygon.geom_type not in {"Polygon", "MultiPolygon"} or polygon.is_empty:
            raise invalid_field(where, f"must be a Polygon or MultiPolygon, not {polygon.geom_type}")
        if not polygon.is_valid:
            polygon = shapely.make_valid(polygon)
        hours = properties.get(key) if isinstance(properties, dict) else None
        if hours is not None and (not isinstance(hours, int | float) or isinstance(hours, bool) or hours < 0):
            raise invalid_field(f"{where}.properties.{key}", "must be a number of hours")
        shapely.prepare(polygon)
        parts.append((polygon, float(hours) if hours is not None else None))
    return shapely.union_all([p for p, _ in parts]), parts


async def take_next(
    store: Store,
    config: SurgeConfig,
    registry: Registry,
    calldown_id: str,
    agent: str,
    role: str | None = None,
) -> CallDownTaken | None:
    """Hold the next resident for `agent`: one due to be called again, else the next in risk order.

    None when nobody is left to call now. An agent holding one already gets that one back.
    """
    calldown = await _kept_lists(store).get_or_404(calldown_id)
    if calldown.closed_at is not None:
        raise Problem(409, "Closed", f"call-down {calldown_id} is closed", kind="calldown-closed")
    keys = store.keys
    entries = _kept_entries(store, calldown_id)
    held_ids = [
        h.decode()
        for h in cast(list[bytes], await store.redis.zrange(keys.calldown_held(calldown_id), 0, -1))
    ]
    for mine in await entries.many(held_ids):  # a reload or a second click: the one already held
        if mine.agent == agent and mine.state == "held" and mine.held_until and mine.held_until > clock.now():
            taken = await _taken(store, registry, entries, calldown, mine, agent, role)
            if taken is not None:
                return taken
    for _ in range(_PASSES):  # others may take every candidate read: read again, a few times
        now = clock.now()
        pipe = store.redis.pipeline(transaction=False)
        pipe.zrangebyscore(keys.calldown_later(calldown_id), "-inf", int(now.timestamp()), start=0, num=5)
        pipe.zrangebyscore(keys.calldown_held(calldown_id), "-inf", int(now.timestamp()), start=0, num=5)
        pipe.zrange(keys.calldown_todo(calldown_id), 0, 4)
        later, lapsed, todo = cast(list[list[bytes]], await pipe.execute())
        candidates = list(dict.fromkeys(c.decode() for c in [*later, *lapsed, *todo]))
        if not candidates:
            return None
        for resident_id in candidates:
            held = await _hold(store, config, entries, calldown, resident_id, agent, now)
            if held is not None:
                taken = await _taken(store, registry, entries, calldown, held, agent, role)
                if taken is not None:
                    return taken
    return None


async def _taken(
    store: Store,
    registry: Registry,
    entries: Kept[CallDownEntry],
    calldown: CallDown,
    held: CallDownEntry,
    agent: str,
    role: str | None,
) -> CallDownTaken | None:
    """The held resident with their record; one taken off the registry meanwhile is done, as removed."""
    try:
        resident = await registry.view(held.resident, agent, role)
    except Problem as problem:
        if problem.status != 404:
            raise
        await _finish(store, entries, calldown, held.resident, "removed", agent)
        return None
    seen = CallDownContact(
        id=resident.id,
        name=resident.name,
        phone=resident.phone,
        phone_e164=resident.phone_e164,
        address=resident.address,
        needs=resident.needs,
        dialysis_schedule=resident.dialysis_schedule,
        language=resident.language,
        contact_name=resident.contact_name,
        contact_phone=resident.contact_phone,
        notes=resident.notes,
    )
    return CallDownTaken(entry=held, resident=seen)


async def _finish(
    store: Store, entries: Kept[CallDownEntry], calldown: CallDown, resident_id: str, outcome: str, actor: str
) -> None:
    now = clock.now()

    async def decide(current: CallDownEntry) -> Plan[CallDownEntry] | None:
        if current.state == "done":
            return None
        change = Change().zrem(store.keys.calldown_held(calldown.id), resident_id)
        change.zrem(store.keys.calldown_later(calldown.id), resident_id)
        change.command("HINCRBY", store.keys.calldown_tally(calldown.id), outcome, 1)
        updated = msgspec.structs.replace(current, state="done", held_until=None, outcome=outcome)
        event = CallDownChanged(calldown=calldown.id, at=now, actor=actor, step=outcome, resident=resident_id)
        return Plan(updated, event, change)

    await entries.change(resident_id, decide)


async def _hold(
    store: Store,
    config: SurgeConfig,
    entries: Kept[CallDownEntry],
    calldown: CallDown,
    resident_id: str,
    agent: str,
    now: datetime,
) -> CallDownEntry | None:
    keys = store.keys
    # Whole seconds, as the sorted sets score them: a time the set says has come has come here too.
    until = (now + timedelta(minutes=config.registry.hold_minutes)).replace(microsecond=0)
    event = CallDownChanged(calldown=calldown.id, at=now, actor=agent, step="taken", resident=resident_id)

    def moves(change: Change) -> Change:
        change.zrem(keys.calldown_todo(calldown.id), resident_id)
        change.zrem(keys.calldown_later(calldown.id), resident_id)
        change.zadd(keys.calldown_held(calldown.id), int(until.timestamp()), resident_id)
        return change

    rank = await store.redis.zscore(keys.calldown_todo(calldown.id), resident_id)
    existing = await entries.get(resident_id)
    if existing is None:
        if rank is None:
            return None  # taken (and its entry written) since the list was read
        entry = CallDownEntry(
            calldown=calldown.id,
            resident=resident_id,
            rank=int(rank),
            state="held",
            agent=agent,
            held_until=until,
        )
        try:
            return await entries.create(Plan(entry, event, moves(Change())))
        except Problem as problem:
            if problem.status == 409:
                return None
            raise

    async def decide(current: CallDownEntry) -> Plan[CallDownEntry] | None:
        free = current.state == "later" and (current.call_again_at or now) <= now
        lapsed = current.state == "held" and current.held_until is not None and current.held_until <= now
        if not (free or lapsed):
            return None
        updated = msgspec.structs.replace(current, state="held", agent=agent, held_until=until)
        return Plan(updated, event, moves(Change()))

    changed = await entries.change(resident_id, decide)
    return (
        changed
        if changed.state == "held" and changed.agent == agent and changed.held_until == until
        else None
    )


async def record_attempt(
    store: Store,
    config: SurgeConfig,
    registry: Registry,
    calldown_id: str,
    resident_id: str,
    attempt: CallDownAttemptIn,
    agent: str,
    *,
    geo: GeoService | None = None,
    triage: Engine | None = None,
    role: str | None = None,
) -> CallDownEntry:
    """Record one call to a held resident, and what follows from its outcome."""
    calldown = await _kept_lists(store).get_or_404(calldown_id)
    entries = _kept_entries(store, calldown_id)
    entry = await entries.get_or_404(resident_id)
    if entry.state != "held" or entry.agent != agent:
        raise Problem(
            409, "Not yours", f"{resident_id} is not held by {agent} on {calldown_id}", kind="not-held"
        )
    if attempt.outcome == "help" and not attempt.narrative:
        raise invalid_field("narrative", "say what the resident needs")
    now = clock.now()
    unanswered = sum(a.outcome == "no_answer" for a in entry.attempts) + (attempt.outcome == "no_answer")
    door_knock = attempt.outcome == "wrong_number" or (
        attempt.outcome == "no_answer" and unanswered >= calldown.attempts
    )
    ticket: str | None = None
    if attempt.outcome == "help" or door_knock:
        try:
            resident = await registry.view(resident_id, agent, role)
        except Problem as problem:
            if problem.status == 404:
                await _finish(store, entries, calldown, resident_id, "removed", agent)
            raise
        ticket = await _open(
            store, config, calldown, entry, resident, attempt, agent, door_knock, geo, triage
        )

    async def decide(current: CallDownEntry) -> Plan[CallDownEntry] | None:
        if current.state != "held" or current.agent != agent:
            raise Problem(409, "Not yours", f"{resident_id} is no longer held by {agent}", kind="not-held")
        tried = [
            *current.attempts,
            CallDownAttempt(at=now, agent=agent, outcome=attempt.outcome, note=attempt.note),
        ]
        change = Change().zrem(store.keys.calldown_held(calldown_id), resident_id)
        tally = store.keys.calldown_tally(calldown_id)
        if attempt.outcome == "no_answer" and not door_knock:
            again = (now + timedelta(minutes=calldown.spacing_minutes)).replace(microsecond=0)
            change.zadd(store.keys.calldown_later(calldown_id), int(again.timestamp()), resident_id)
            updated = msgspec.structs.replace(
                current, state="later", agent=None, held_until=None, call_again_at=again, attempts=tried
            )
        else:
            outcome = "unreached" if door_knock else attempt.outcome
            change.command("HINCRBY", tally, outcome, 1)
            updated = msgspec.structs.replace(
                current, state="done", held_until=None, attempts=tried, outcome=outcome, ticket=ticket
            )
        step = "door_knock" if door_knock else attempt.outcome
        event = CallDownChanged(
            calldown=calldown_id, at=now, actor=agent, step=step, resident=resident_id, ticket=ticket
        )
        return Plan(updated, event, change)

    return await entries.change(resident_id, decide)


async def _open(
    store: Store,
    config: SurgeConfig,
    calldown: CallDown,
    entry: CallDownEntry,
    resident: Resident,
    attempt: CallDownAttemptIn,
    agent: str,
    door_knock: bool,
    geo: GeoService | None,
    triage: Engine | None,
) -> str:
    """Open the incident an attempt calls for, through intake (a retry of the attempt opens no other)."""
    needs = ", ".join(n.replace("_", " ") for n in resident.needs) or "none recorded"
    if door_knock:
        tries = len(entry.attempts) + 1
        narrative = (
            f"Door knock (call-down {calldown.id}): registered resident not reached by phone after "
            f"{tries} call(s){' (wrong number)' if attempt.outcome == 'wrong_number' else ''}. "
            f"Needs: {needs}."
        )
        category: str | None = config.registry.door_knock_category
        priority: Priority | None = config.registry.door_knock_priority
    else:
        narrative = f"{attempt.narrative} (call-down {calldown.id}; registered needs: {needs})"
        category, priority = attempt.category, None
    call = CallIn(
        narrative=narrative,
        channel=Channel.PHONE,
        agent=agent,
        caller_name=resident.name,
        callback_number=resident.phone,
        language=resident.language,
        address=resident.address,
        location=resident.location,
        category=category,
        priority=priority,
        drill=calldown.exercise is not None,
    )
    key = hashlib.sha256(f"calldown|{calldown.id}|{resident.id}|{len(entry.attempts)}".encode()).hexdigest()
    try:
        answer = await take_call(
            store, config, call, idempotency_key=key, actor=agent, geo=geo, triage=triage
        )
    except (KeyReused, StillProcessing):
        raise Problem(
            409,
            "Already being recorded",
            "this attempt was sent before with other words, or is still being recorded; look again",
            kind="attempt-in-progress",
        ) from None
    return answer.receipt.ticket


async def close(store: Store, calldown_id: str, actor: str | None) -> CallDown:
    """Close a call-down: nobody more is taken from it (what was recorded stays)."""

    async def decide(current: CallDown) -> Plan[CallDown] | None:
        if current.closed_at is not None:
            return None
        now = datetime.now(UTC)
        event = CallDownChanged(calldown=calldown_id, at=now, actor=actor, step="closed")
        return Plan(msgspec.structs.replace(current, closed_at=now), event)

    return await _kept_lists(store).change(calldown_id, decide)


async def tally(store: Store, calldown_id: str) -> tuple[int, int]:
    """A list's size and how many on it are done (a drill's score sheet)."""
    listed = await _kept_lists(store).get(calldown_id)
    counts = cast(dict[bytes, bytes], await store.redis.hgetall(store.keys.calldown_tally(calldown_id)))
    return (listed.size if listed else 0), sum(int(v) for v in counts.values())


async def forget(store: Store, calldown_id: str) -> None:
    """Delete a list and everything of it (a drill's purge)."""
    keys = store.keys
    everyone = cast(list[bytes], await store.redis.zrange(keys.calldown_all(calldown_id), 0, -1))
    entries = [keys.calldown_entry(calldown_id, m.decode()) for m in everyone]
    await store.redis.delete(
        keys.calldown(calldown_id),
        keys.calldown_all(calldown_id),
        keys.calldown_todo(calldown_id),
        keys.calldown_later(calldown_id),
        keys.calldown_held(calldown_id),
        keys.calldown_tally(calldown_id),
        *entries,
    )
    await store.redis.zrem(keys.calldowns, calldown_id)


async def progress(store: Store, calldown_id: str) -> CallDownProgress:
    calldown = await _kept_lists(store).get_or_404(calldown_id)
    keys = store.keys
    pipe = store.redis.pipeline(transaction=False)
    pipe.hgetall(keys.calldown_tally(calldown_id))
    pipe.zcard(keys.calldown_todo(calldown_id))
    pipe.zcard(keys.calldown_later(calldown_id))
    pipe.zcard(keys.calldown_held(calldown_id))
    tally_raw, waiting, later, held = await pipe.execute()
    tally = {k.decode(): int(v) for k, v in cast(dict[bytes, bytes], tally_raw).items()}
    return CallDownProgress(
        calldown=calldown,
        size=calldown.size,
        done=sum(tally.values()),
        safe=tally.get("safe", 0),
        help=tally.get("help", 0),
        unreached=tally.get("unreached", 0),
        waiting=waiting,
        calling_again=later,
        held=held,
    )


async def map_of(store: Store, registry: Registry, calldown_id: str) -> tuple[dict[str, Any], list[str]]:
    """A list's residents as GeoJSON points with only their state and rank, and its area (if drawn).

    No name, number, need or id goes out: the ids shown are returned beside it, for the audit.
    """
    calldown = await _kept_lists(store).get_or_404(calldown_id)
    keys = store.keys
    pipe = store.redis.pipeline(transaction=False)
    pipe.zrange(keys.calldown_todo(calldown_id), 0, -1, withscores=True)
    pipe.zrange(keys.calldown_later(calldown_id), 0, -1)
    pipe.zrange(keys.calldown_held(calldown_id), 0, -1)
    pipe.zrange(keys.calldown_all(calldown_id), 0, -1)
    todo, later, held, everyone = cast(
        tuple[list[tuple[bytes, float]], list[bytes], list[bytes], list[bytes]], await pipe.execute()
    )
    states: dict[str, tuple[MapState, int]] = {m.decode(): ("waiting", int(rank)) for m, rank in todo}
    moving: dict[str, MapState] = {m.decode(): "calling_again" for m in later}
    moving |= {m.decode(): "held" for m in held}
    taken = [m.decode() for m in everyone if m.decode() not in states]  # entries exist for these
    entries = _kept_entries(store, calldown_id)
    for start in range(0, len(taken), _ZADD_CHUNK):
        for entry in await entries.many(taken[start : start + _ZADD_CHUNK]):
            if entry.resident in states:
                continue
            state: MapState | None = moving.get(entry.resident)
            if state is None:
                if entry.state == "done":
                    state = cast(MapState, entry.outcome) if entry.outcome in _DONE else "removed"
                else:
                    state = "calling_again" if entry.state == "later" else "held"
            states[entry.resident] = (state, entry.rank)
    briefs = await registry.briefs()
    shown = sorted((rank, who, state) for who, (state, rank) in states.items() if who in briefs)
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [briefs[resident].lon, briefs[resident].lat]},
            "properties": {"state": state, "rank": rank},
        }
        for rank, resident, state in shown
    ]
    return {"type": "FeatureCollection", "features": _area_features(calldown.area) + features}, [
        resident for _, resident, _ in shown
    ]


_DONE = {"safe", "help", "unreached", "removed"}


def _area_features(area: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The area as given, each polygon a feature of kind "area" (its own properties left out)."""
    if not area:
        return []
    given = area.get("features") if area.get("type") == "FeatureCollection" else [area]
    found: list[dict[str, Any]] = []
    for feature in given if isinstance(given, list) else []:
        if not isinstance(feature, dict):
            continue
        geometry = feature.get("geometry") if feature.get("type") == "Feature" else feature
        if isinstance(geometry, dict):
            found.append({"type": "Feature", "geometry": geometry, "properties": {"kind": "area"}})
    return found


async def lists(store: Store, limit: int = 50) -> list[CallDown]:
    ids = [
        i.decode() for i in cast(list[bytes], await store.redis.zrevrange(store.keys.calldowns, 0, limit - 1))
    ]
    return await _kept_lists(store).many(ids)
