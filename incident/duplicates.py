"""Is this call about something already reported? Nearby open incidents of its kind, and repeat callers.

After the October 2006 storm one blocked street was reported by dozens of callers. The agent is shown
the open incidents of the same category within the category's radius (opened within its window),
nearest first, so the caller can be attached to one instead of opening another; and the open
incidents the same callback number called about before.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

import msgspec

from geo.point import Point
from incident.config import Priority, SurgeConfig
from incident.records import Call
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


class _Candidate(msgspec.Struct, kw_only=True):
    """What a duplicate needs of a stored incident record.

    Decoding only these fields of the (up to 40) candidates costs a fraction of decoding whole
    incidents, on every call at intake.
    """

    ticket: str
    category: str
    priority: Priority
    status: Status
    address: str | None
    calls: list[str]
    opened_at: datetime
    job: str | None = None


_unpack_candidate = msgspec.msgpack.Decoder(_Candidate).decode


class Duplicates(msgspec.Struct, kw_only=True):
    nearby: list[Nearby] = []  # same category, within the radius and window, nearest first
    same_caller: list[Nearby] = []  # open incidents this callback number called about, newest first


def lookup(
    store: Store, config: SurgeConfig, *, category: str, point: Point | None, callback_e164: str | None
) -> tuple[list[str], list[str]]:
    """The keys and arguments of `nearby` in scripts.NEARBY for a call of `category` at `point`."""
    rule = (cat := config.category(category)) and cat.duplicates
    by_place = rule and point is not None
    keys = [
        store.keys.open_geo(category) if by_place else "",
        store.keys.by_caller(callback_e164) if callback_e164 else "",
    ]
    lon, lat = (repr(point.lon), repr(point.lat)) if point is not None else ("0", "0")
    radius = repr(float(rule.radius_m)) if rule else "0"
    args = [lon, lat, radius, str(NEARBY_LIMIT * 2), str(REPEAT_LIMIT * 2), store.keys.incident("")]
    return keys, args


def read(config: SurgeConfig, category: str, reply: list[Any], now: datetime) -> Duplicates:
    """The probable duplicates from what `nearby` in scripts.NEARBY answered."""
    near_rows, caller_rows, records = reply
    distances = {row[0].decode(): float(row[1]) for row in near_rows}
    incidents = {seen.ticket: seen for seen in map(_unpack_candidate, filter(None, records))}
    nearby = []
    rule = (cat := config.category(category)) and cat.duplicates
    if rule:
        since = now - timedelta(hours=rule.window_hours)
        for ticket, distance in distances.items():
            incident = incidents.get(ticket)
            if incident and incident.status not in _DONE and incident.opened_at >= since:
                nearby.append(_nearby(incident, distance))
    same_caller = [
        _nearby(incidents[ticket], distances.get(ticket))
        for ticket in (row.decode() for row in caller_rows)
        if ticket in incidents and incidents[ticket].status not in _DONE
    ]
    return Duplicates(nearby=nearby[:NEARBY_LIMIT], same_caller=same_caller[:REPEAT_LIMIT])


async def find(
    store: Store,
    config: SurgeConfig,
    *,
    category: str,
    point: Point | None,
    callback_e164: str | None,
    now: datetime,
) -> Duplicates:
    """The probable duplicates of a call of `category` at `point` from `callback_e164`, in one script."""
    keys, args = lookup(store, config, category=category, point=point, callback_e164=callback_e164)
    reply = await store.scripts.nearby(keys=keys, args=args)
    return read(config, category, cast(list[Any], reply), now)


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


def _nearby(incident: _Candidate, distance: float | None) -> Nearby:
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
