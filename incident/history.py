"""An incident's history and the alarms, read back typed: the call center's events and dispatch's.

The one complete union of events lives here, above both domains (an incident's history holds a
crew's marks and its rides beside its calls), so each domain defines only its own.
"""

from __future__ import annotations

from typing import cast

import msgspec

from dispatch.events import DispatchEvent
from incident.events import decode_entries
from incident.records import IncidentEvent
from incident.store import Store

Event = IncidentEvent | DispatchEvent


class StoredEvent(msgspec.Struct):
    """An event as read back, with the id the stream gave it (resumable, ordered)."""

    id: str
    event: Event


unpack_event = msgspec.msgpack.Decoder(Event).decode


async def select_history(
    store: Store, ticket: str, *, after: str | None = None, limit: int = 100
) -> list[StoredEvent]:
    """The incident's events in order, after event id `after` (exclusive)."""
    start = f"({after}" if after else "-"
    entries = cast(
        list[tuple[bytes, dict[bytes, bytes]]],
        await store.redis.xrange(store.keys.history(ticket), min=start, max="+", count=limit),
    )
    return [
        StoredEvent(id=event_id, event=event) for event_id, event in decode_entries(entries, unpack_event)
    ]


async def select_alarms(
    store: Store, *, after: str | None = None, limit: int = 100, newest: bool = False
) -> list[StoredEvent]:
    """Alarms for supervisors, oldest first, after event id `after` (exclusive); or the `newest` ones."""
    start = f"({after}" if after else "-"
    if newest:
        latest = await store.redis.xrevrange(store.keys.alarms, max="+", min=start, count=limit)
        entries = list(reversed(cast(list[tuple[bytes, dict[bytes, bytes]]], latest)))
    else:
        entries = cast(
            list[tuple[bytes, dict[bytes, bytes]]],
            await store.redis.xrange(store.keys.alarms, min=start, max="+", count=limit),
        )
    pairs = decode_entries(entries, unpack_event)
    return [StoredEvent(id=event_id, event=event) for event_id, event in pairs]
