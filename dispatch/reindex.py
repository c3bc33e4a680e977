"""`stormline dispatch reindex`: rebuild the indexes dispatch, duplicates and search read.

The incident writer keeps them in step with every change, but incidents stored before they existed
(an upgrade) are in none of them: crews' work lists and loads, the open-work geo sets per category,
the callers' index, the search words, the due index (311's own work only) and the supervisor's queue
counters. This rebuilds them from the incidents themselves. Run it once after upgrading, before the
center takes calls; it is safe to run again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import cast

from incident.incidents import CREW_ACTIVE, on_the_clock, queue_field, select_calls, select_many
from incident.search_words import search_words
from incident.status import Status
from incident.store import Store

_BATCH = 500
_DONE = frozenset({Status.RESOLVED, Status.CLOSED, Status.CANCELLED})


async def rebuild(store: Store, tick: Callable[[int], None] | None = None) -> dict[str, int]:
    """Rebuild the indexes; returns how many entries each kind got."""
    keys = store.keys
    work: dict[str, list[tuple[int, str]]] = defaultdict(list)
    open_geo: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    queues: dict[str, int] = defaultdict(int)
    due: dict[str, float] = {}
    callers = words = 0
    start = 0
    while True:
        tickets = cast(list[bytes], await store.redis.zrange(keys.all_incidents, start, start + _BATCH - 1))
        if not tickets:
            break
        start += len(tickets)
        incidents = await select_many(store, [t.decode() for t in tickets])
        pipe = store.redis.pipeline(transaction=False)
        for incident in incidents:
            if (field := queue_field(incident)) is not None:
                queues[field] += 1
            if incident.status in CREW_ACTIVE and incident.assigned_crew:
                work[incident.assigned_crew].append((incident.seq, incident.ticket))
            if incident.location is not None and incident.status not in _DONE:
                point = incident.location
                open_geo[incident.category].append((point.lon, point.lat, incident.ticket))
            if on_the_clock(incident) and incident.due_at is not None:
                due[incident.ticket] = int(incident.due_at.timestamp())
            for call in await select_calls(store, incident.calls):
                if call.callback_e164:
                    pipe.zadd(keys.by_caller(call.callback_e164), {incident.ticket: incident.seq})
                    callers += 1
                for word in search_words(call.narrative, call.address):
                    pipe.zadd(keys.by_word(word), {incident.ticket: incident.seq})
                    words += 1
        await pipe.execute()
        if tick:
            tick(len(tickets))
    stale = [key async for key in store.redis.scan_iter(match=keys.crew_work("*"), count=1000)]
    stale += [key async for key in store.redis.scan_iter(match=keys.open_geo("*"), count=1000)]
    pipe = store.redis.pipeline(transaction=True)  # one MULTI: readers see the old or the new
    for key in stale:
        pipe.delete(key)
    pipe.delete(keys.crew_load, keys.queues, keys.due)
    if due:
        pipe.zadd(keys.due, due)
    for field, count in queues.items():
        pipe.hset(keys.queues, field, count)
    for crew_id, members in work.items():
        pipe.zadd(keys.crew_work(crew_id), {ticket: seq for seq, ticket in members})
        pipe.hset(keys.crew_load, crew_id, len(members))
    for category, points in open_geo.items():
        flat: list[float | str] = [value for point in points for value in point]
        pipe.geoadd(keys.open_geo(category), flat)
    await pipe.execute()
    return {
        "crew_work": sum(len(m) for m in work.values()),
        "open_geo": sum(len(p) for p in open_geo.values()),
        "callers": callers,
        "search_words": words,
        "due": len(due),
        "queues": sum(queues.values()),
    }
