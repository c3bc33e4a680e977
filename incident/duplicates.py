"""Is this call about something already reported? Nearby open incidents of its kind, and repeat callers.

After the October 2006 storm one blocked street was reported by dozens of callers. The agent is shown
the open incidents of the same category within the category's radius (opened within its window),
nearest first, so the caller can be attached to one instead of opening another; and the open
incidents the same callback number called about before.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

import msgspec

from geo.point import Point
from incident.config import Priority, SurgeConfig
from incident.incidents import select_many
from incident.records import Call, Incident
from incident.status import FINAL, Status
from incident.store import Store

NEARBY_LIMIT = 10
REPEAT_LIMIT = 10
_DONE = FINAL | {Status.RESOLVED, Status.CANCELLED}


class Nearby(msgspec.Struct, kw_only=True):
    """An open incident the call may be about."""

    ticket: str
    category: str
    priority: Priority
    status: Status
    address: str | None
    distance_m: float | None  # None for a repeat caller's incident found by number, not by place
    calls: int
    opened_at: datetime
    job: str | None = None


class Duplicates(msgspec.Struct, kw_only=True):
    nearby: list[Nearby] = []  # same category, within the radius and window, nearest first
    same_caller: list[Nearby] = []  # open incidents this callback number called about, newest first


async def find(
    store: Store,
    config: SurgeConfig,
    *,
    category: str,
    point: Point | None,
    callback_e164: str | None,
    now: datetime,
) -> Duplicates:
    """The probable duplicates of a call of `category` at `point` from `callback_e164`.

    One GEOSEARCH and one ZREVRANGE, then the few incidents they name in one round trip.
    """
    rule = (cat := config.category(category)) and cat.duplicates
    pipe = store.redis.pipeline(transaction=False)
    if rule and point is not None:
        pipe.geosearch(
            store.keys.open_geo(category),
            longitude=point.lon,
            latitude=point.lat,
            radius=rule.radius_m,
            unit="m",
            sort="ASC",
            count=NEARBY_LIMIT * 2,
            withdist=True,
        )
    if callback_e164:
        pipe.zrevrange(store.keys.by_caller(callback_e164), 0, REPEAT_LIMIT * 2 - 1)
    replies = await pipe.execute()
    near_rows = cast(list[list[bytes | float]], replies.pop(0)) if rule and point is not None else []
    caller_rows = cast(list[bytes], replies.pop(0)) if callback_e164 else []
    distances = {cast(bytes, row[0]).decode(): float(cast(float, row[1])) for row in near_rows}
    tickets = list(distances) + [t.decode() for t in caller_rows if t.decode() not in distances]
    incidents = {incident.ticket: incident for incident in await select_many(store, tickets)}
    nearby = []
    if rule:
        since = now - timedelta(hours=rule.window_hours)
        for ticket, distance in distances.items():
            incident = incidents.get(ticket)
            if incident and incident.status not in _DONE and incident.opened_at >= since:
                nearby.append(_nearby(incident, distance))
    same_caller = [
        _nearby(incidents[t.decode()], distances.get(t.decode()))
        for t in caller_rows
        if t.decode() in incidents and incidents[t.decode()].status not in _DONE
    ]
    return Duplicates(nearby=nearby[:NEARBY_LIMIT], same_caller=same_caller[:REPEAT_LIMIT])


def callers(calls: list[Call]) -> int:
    """How many people called: calls from one callback number are one caller; each unnumbered call one."""
    numbers = {call.callback_e164 or call.callback_number for call in calls} - {None}
    return len(numbers) + sum(1 for call in calls if not (call.callback_e164 or call.callback_number))


def raised_priority(config: SurgeConfig, category_code: str, caller_count: int) -> Priority | None:
    """The priority that many callers call for under the category's `raise_at`, if any."""
    category = config.category(category_code)
    if category is None or category.duplicates is None:
        return None
    reached = [priority for at, priority in category.duplicates.raise_at.items() if caller_count >= at]
    return min(reached, key=list(Priority).index) if reached else None


def _nearby(incident: Incident, distance: float | None) -> Nearby:
    return Nearby(
        ticket=incident.ticket,
        category=incident.category,
        priority=incident.priority,
        status=incident.status,
        address=incident.address,
        distance_m=round(distance, 1) if distance is not None else None,
        calls=len(incident.calls),
        opened_at=incident.opened_at,
        job=incident.job,
    )
