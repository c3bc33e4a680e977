"""Storage of incidents and calls: small typed functions that take the Store first.

Incidents are kept records (`incident.kept`): every write goes through `kept_incidents(store)`, whose
`keeping` step is `_reindex`, so a record, its indexes and its event always change together.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import msgspec

from geo.point import BBox
from incident.config import Priority
from incident.events import Change
from incident.kept import Kept
from incident.problems import unknown_ticket
from incident.records import (
    Call,
    CallAttached,
    Channel,
    Incident,
    IncidentOpened,
    pack,
    unpack_call,
)
from incident.search_words import search_words
from incident.status import Status
from incident.store import Store
from incident.triage import TriageResult

_SCAN_BATCH = 200
_DONE = frozenset({Status.RESOLVED, Status.CLOSED, Status.CANCELLED})
CALLER_MEMORY_S = 30 * 24 * 3600  # how long a number's tickets are remembered after its last call
CREW_ACTIVE = frozenset({Status.ASSIGNED, Status.EN_ROUTE, Status.ON_SCENE})
"""The statuses in which an incident is on its crew's work list."""
_ELSEWHERE = frozenset({Status.REFERRED, Status.WITH_911})


def held_elsewhere(incident: Incident) -> bool:
    """911 or an outside agency has the work: its clock is theirs, not a 311 deadline."""
    return incident.status in _ELSEWHERE or (incident.handoff is not None and incident.handoff.held)


def on_the_clock(incident: Incident) -> bool:
    """311's own open work with a due time: what the due index holds (and overdue alarms watch)."""
    return incident.due_at is not None and incident.status not in _DONE and not held_elsewhere(incident)


def kept_incidents(store: Store) -> Kept[Incident]:
    """Incidents as kept records: each write keeps its indexes and the store's steps, and its history."""
    return Kept(
        store,
        "incident",
        Incident,
        store.keys.incident,
        ident=lambda incident: incident.ticket,
        history=store.keys.history,
        missing=unknown_ticket,
        keeping=lambda change, before, after: _reindex(change, store, before, after),
    )


async def select_incident(store: Store, ticket: str) -> Incident | None:
    return await kept_incidents(store).get(ticket)


async def select_calls(store: Store, call_ids: list[str]) -> list[Call]:
    if not call_ids:
        return []
    blobs = cast(
        list[bytes | None], await store.redis.mget([store.keys.call(call_id) for call_id in call_ids])
    )
    return [unpack_call(blob) for blob in blobs if blob]


async def insert_incident(
    store: Store, incident: Incident, call: Call, actor: str | None, change: Change
) -> str:
    """Store a new incident with its first call; `change` may carry more guarded writes."""
    kept = kept_incidents(store)
    kept.put(change, None, incident)
    change.set(store.keys.call(call.id), pack(call))
    _index_caller(change, store, incident, call)
    event = IncidentOpened(
        ticket=incident.ticket, at=incident.opened_at, actor=actor, call_id=call.id, incident=incident
    )
    return await kept.commit(change, event, [incident], [])


async def attach_call(
    store: Store,
    current: Incident,
    updated: Incident,
    call: Call,
    actor: str | None,
    change: Change,
    triage: TriageResult | None = None,
) -> str:
    """Store `call` on an existing incident; Conflict if it changed since `current` was read."""
    kept = kept_incidents(store)
    kept.put(change, current, updated)
    change.set(store.keys.call(call.id), pack(call))
    _index_caller(change, store, updated, call)
    event = CallAttached(
        ticket=updated.ticket,
        at=updated.updated_at,
        actor=actor,
        call_id=call.id,
        calls=len(updated.calls),
        triage=triage,
        priority=updated.priority,
        life_safety=updated.life_safety,
    )
    return await kept.commit(change, event, [updated], [])


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    """What `select_incidents` keeps. Empty fields do not filter."""

    statuses: frozenset[Status] = frozenset()
    category: str | None = None
    priority: Priority | None = None
    since: datetime | None = None  # opened at or after
    bbox: BBox | None = None
    crew: str | None = None  # only incidents assigned to this crew
    needs_location: bool | None = None  # only those waiting for a point (True), or only located
    overdue_at: datetime | None = None  # only open ones due before this time

    def keeps(self, incident: Incident) -> bool:
        return (
            (not self.statuses or incident.status in self.statuses)
            and (self.crew is None or incident.assigned_crew == self.crew)
            and (self.needs_location is None or incident.needs_location == self.needs_location)
            and (
                self.overdue_at is None
                or (
                    incident.due_at is not None
                    and incident.due_at < self.overdue_at
                    and incident.status not in _DONE
                )
            )
            and (self.category is None or incident.category == self.category)
            and (self.priority is None or incident.priority == self.priority)
            and (self.since is None or incident.opened_at >= self.since)
            and (
                self.bbox is None or (incident.location is not None and self.bbox.contains(incident.location))
            )
        )


async def select_incidents(
    store: Store, where: IncidentFilter, *, before: int | None, limit: int
) -> tuple[list[Incident], int | None]:
    """Newest first, those with order below `before`; returns (page, cursor for the next page)."""
    page: list[Incident] = []
    async for incident in _matching(store, where, before):
        if len(page) == limit:
            return page, page[-1].seq
        page.append(incident)
    return page, None


async def stream_incidents(
    store: Store, where: IncidentFilter, *, batch: int = _SCAN_BATCH
) -> AsyncIterator[list[Incident]]:
    """Every incident the filter keeps, newest first, in lists of up to `batch`.

    For exports of any size: only one batch of incidents is in memory at a time (a `bbox` or `overdue`
    filter also holds the tickets it starts from). An incident that changes meanwhile is as it was when
    its batch was read.
    """
    chunk: list[Incident] = []
    async for incident in _matching(store, where, None):
        chunk.append(incident)
        if len(chunk) == batch:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _matching(store: Store, where: IncidentFilter, before: int | None) -> AsyncIterator[Incident]:
    """The incidents `where` keeps, newest first, with order below `before`."""
    if where.bbox is not None:
        candidates = _page_from_box(store, where, before)
    elif where.overdue_at is not None:
        # The overdue are few beside all the open work: start from the due index, not a scan.
        overdue = cast(
            list[bytes],
            await store.redis.zrangebyscore(store.keys.due, "-inf", f"({int(where.overdue_at.timestamp())}"),
        )
        candidates = _page_from_members(store, overdue, before)
    else:
        candidates = _page_from_index(store, where, before)
    async for incident in candidates:
        if where.since is not None and incident.opened_at < where.since:
            return  # newest first: everything after this is older still
        if where.keeps(incident):
            yield incident


async def _page_from_index(
    store: Store, where: IncidentFilter, before: int | None
) -> AsyncIterator[Incident]:
    index = await _smallest_index(store, where)
    upper: str = f"({before}" if before is not None else "+inf"
    while True:
        rows = cast(
            list[tuple[bytes, float]],
            await store.redis.zrevrangebyscore(
                index, upper, "-inf", start=0, num=_SCAN_BATCH, withscores=True
            ),
        )
        if not rows:
            return
        for incident in await select_many(store, [ticket.decode() for ticket, _ in rows]):
            yield incident
        upper = f"({int(rows[-1][1])}"
        if len(rows) < _SCAN_BATCH:
            return


async def _page_from_box(store: Store, where: IncidentFilter, before: int | None) -> AsyncIterator[Incident]:
    box = where.bbox
    assert box is not None, "only called with a box"
    keys = store.keys
    center = box.center
    # GEOSEARCH takes a box in metres around a centre; ask for one that covers the whole lat/lon box
    # (its widest row is the one nearest the equator) and keep exact membership to `keeps`.
    widest = min(abs(box.south), abs(box.north)) if box.south * box.north > 0 else 0.0
    width = (box.east - box.west) * 111_320 * math.cos(math.radians(widest)) * 1.01 + 2
    height = (box.north - box.south) * 111_320 * 1.01 + 2
    members = cast(
        list[bytes],
        await store.redis.geosearch(
            keys.incident_geo, longitude=center.lon, latitude=center.lat, width=width, height=height, unit="m"
        ),
    )
    async for incident in _page_from_members(store, members, before):
        yield incident


async def _page_from_members(
    store: Store, members: list[bytes], before: int | None
) -> AsyncIterator[Incident]:
    """These tickets' incidents, newest first, those with order below `before`."""
    keys = store.keys
    if not members:
        return
    scores: list[float | None] = await store.redis.zmscore(keys.all_incidents, members)  # type: ignore[arg-type]
    ordered = sorted(
        (
            (int(score), member.decode())
            for member, score in zip(members, scores, strict=True)
            if score is not None
        ),
        reverse=True,
    )
    tickets = [ticket for seq, ticket in ordered if before is None or seq < before]
    for start in range(0, len(tickets), _SCAN_BATCH):
        for incident in await select_many(store, tickets[start : start + _SCAN_BATCH]):
            yield incident


async def _smallest_index(store: Store, where: IncidentFilter) -> str:
    keys = store.keys
    options = []
    if len(where.statuses) == 1:
        options.append(keys.by_status(next(iter(where.statuses))))
    if where.category is not None:
        options.append(keys.by_category(where.category))
    if where.priority is not None:
        options.append(keys.by_priority(where.priority))
    if where.crew is not None:
        options.append(keys.by_crew(where.crew))
    if where.needs_location:
        options.append(keys.needs_location)
    if not options:
        return keys.all_incidents
    pipe = store.redis.pipeline(transaction=False)
    for option in options:
        pipe.zcard(option)
    sizes = await pipe.execute()
    return min(zip(sizes, options, strict=True))[1]


async def select_many(store: Store, tickets: Iterable[str]) -> list[Incident]:
    """The incidents with these tickets (missing ones left out), in one round trip."""
    return await kept_incidents(store).many(list(tickets))


def _index_caller(change: Change, store: Store, incident: Incident, call: Call) -> None:
    """Remember which tickets a callback number called about, the words each call said, who follows it."""
    if call.callback_e164:
        key = store.keys.by_caller(call.callback_e164)
        change.zadd(key, incident.seq, incident.ticket).expire(key, CALLER_MEMORY_S)
    for word in search_words(call.narrative, call.address):
        change.zadd(store.keys.by_word(word), incident.seq, incident.ticket)
    # They are told, in their language, when the request moves (incident/updates.py): by email if they
    # gave one, by text if they texted (a phone caller did not ask for texts).
    follows = {f"email:{call.email.lower()}": call.language} if call.email else {}
    if call.channel is Channel.SMS and call.callback_e164:
        follows[f"sms:{call.callback_e164}"] = call.language
    if follows and not incident.exercise:  # a drill's callers are never written to
        change.hset(store.keys.followers(incident.ticket), follows)


def _reindex(change: Change, store: Store, before: Incident | None, after: Incident) -> None:
    """Move the ticket between index sets where status, category, priority, crew or location changed."""
    keys, ticket, seq = store.keys, after.ticket, after.seq
    if before is None:
        change.zadd(keys.all_incidents, seq, ticket)
        if after.activation:
            change.zadd(keys.by_activation(after.activation), seq, ticket)
        if after.exercise:
            change.zadd(keys.by_exercise(after.exercise), seq, ticket)

    def crew_index(incident: Incident | None) -> str | None:
        return keys.by_crew(incident.assigned_crew) if incident and incident.assigned_crew else None

    pairs = [
        (before and keys.by_status(before.status), keys.by_status(after.status)),
        (before and keys.by_category(before.category), keys.by_category(after.category)),
        (before and keys.by_priority(before.priority), keys.by_priority(after.priority)),
        (crew_index(before), crew_index(after)),
    ]
    for old, new in pairs:
        if old != new:
            if old:
                change.zrem(old, ticket)
            if new:
                change.zadd(new, seq, ticket)
    if after.location is not None and (before is None or before.location != after.location):
        change.geoadd(keys.incident_geo, after.location, ticket)
    # 311's own open work with a due time is in the due index (for overdue lists and alarms).
    was_due = before is not None and on_the_clock(before)
    if on_the_clock(after) and after.due_at is not None:
        if not was_due or before is None or before.due_at != after.due_at:
            change.zadd(keys.due, int(after.due_at.timestamp()), ticket)
    elif was_due:
        change.zrem(keys.due, ticket)
    if after.needs_location and (before is None or not before.needs_location):
        change.zadd(keys.needs_location, seq, ticket)
    elif before is not None and before.needs_location and not after.needs_location:
        change.zrem(keys.needs_location, ticket)
    _recount_queues(change, store, before, after)
    _reindex_open_geo(change, store, before, after)
    # What else a write keeps in step lives with what it is about (partners' chain, crews' work);
    # the store was opened with those steps (incident/write_steps.py lists them).
    for step in store.steps:
        step(change, store, before, after)


def forget(change: Change, store: Store, incident: Incident, calls: list[Call]) -> None:
    """Plan an incident's removal, with its calls, history and every index it is in (a drill's purge).

    It is first moved as if cancelled, so the steps that keep crews' work, the queues and partners'
    chains in step let go of it; then what a cancelled incident is still in goes too.
    """
    keys, ticket = store.keys, incident.ticket
    gone = msgspec.structs.replace(incident, status=Status.CANCELLED, needs_location=False)
    _reindex(change, store, incident, gone)
    for key in (
        keys.all_incidents,
        keys.by_status(gone.status),
        keys.by_category(gone.category),
        keys.by_priority(gone.priority),
        keys.incident_geo,
        keys.needs_location,
        keys.due,
        keys.handoff_deadlines,
        keys.handoff_unstarted,
        keys.partners_shared,
        keys.partners_cancelled,
    ):
        change.zrem(key, ticket)
    if incident.assigned_crew:
        change.zrem(keys.by_crew(incident.assigned_crew), ticket)
    if incident.activation:
        change.zrem(keys.by_activation(incident.activation), ticket)
    if incident.exercise:
        change.zrem(keys.by_exercise(incident.exercise), ticket)
    for call in calls:
        if call.callback_e164:
            change.zrem(keys.by_caller(call.callback_e164), ticket)
        for word in search_words(call.narrative, call.address):
            change.zrem(keys.by_word(word), ticket)
        change.command("DEL", keys.call(call.id))
    for key in (
        keys.incident(ticket),
        keys.history(ticket),
        keys.followers(ticket),
        keys.partner_alerts(ticket),
    ):
        change.command("DEL", key)


def queue_field(incident: Incident) -> str | None:
    """The queue counter an incident counts in, or None once its work is done."""
    if incident.status in _DONE:
        return None
    return f"{incident.category}|{incident.priority}|{incident.status}"


def _recount_queues(change: Change, store: Store, before: Incident | None, after: Incident) -> None:
    """Kept counters, so the supervisor's queues cost one HGETALL however many incidents are open."""
    old, new = before and queue_field(before), queue_field(after)
    if old != new:
        if old:
            change.command("HINCRBY", store.keys.queues, old, "-1")
        if new:
            change.command("HINCRBY", store.keys.queues, new, "1")


def _reindex_open_geo(change: Change, store: Store, before: Incident | None, after: Incident) -> None:
    """Located work not yet done is in its category's geo set: where intake looks for duplicates."""
    keys, ticket = store.keys, after.ticket

    def place(incident: Incident | None) -> tuple[str, float, float] | None:
        # A drill's incidents are never offered to a real caller as "already reported".
        if incident is None or incident.location is None or incident.status in _DONE or incident.exercise:
            return None
        return incident.category, incident.location.lat, incident.location.lon

    old, new = place(before), place(after)
    if old == new:
        return
    if old is not None and (new is None or old[0] != new[0]):
        change.zrem(keys.open_geo(old[0]), ticket)
    if new is not None and after.location is not None:
        change.geoadd(keys.open_geo(new[0]), after.location, ticket)
