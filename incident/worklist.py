"""The supervisor's work list: 311's waiting work by priority then age.

Apart from it, each counted, the work that waits on something else: a point on the map, another
town, an agency, 911.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Literal, cast

import msgspec

from incident.incidents import select_many
from incident.records import Incident
from incident.status import Status
from incident.store import Store

View = Literal["waiting", "unplaced", "outside", "referred", "held"]
VIEWS: tuple[View, ...] = ("waiting", "unplaced", "outside", "referred", "held")
_ORDER = {"P1": 0, "P2": 1, "P3": 2, "P4": 3}
_BATCH = 500


def _held(i: Incident) -> bool:
    return i.handoff is not None and i.handoff.held


def view_of(incident: Incident) -> View | None:
    """Which list an incident waiting on the center is in (none once a crew has it or it is done)."""
    if incident.status is Status.REFERRED:
        return "referred"
    if incident.status is not Status.OPEN:
        return None
    if _held(incident):
        return "held"
    if incident.needs_location:
        return "unplaced"
    if incident.outside_jurisdiction:
        return "outside"
    return "waiting"


class WorkQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    view: View = "waiting"
    category: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    district: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    page: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1
    per_page: Annotated[int, msgspec.Meta(ge=1, le=200)] = 25


class WorkList(msgspec.Struct, kw_only=True):
    view: View
    counts: dict[str, int]  # per view, with the category and district filters applied
    districts: list[str]  # council districts among the work, for the filter
    page: int
    pages: int
    total: int
    items: list[Incident]  # by priority, then oldest first


async def work_list(store: Store, query: WorkQuery) -> WorkList:
    """One page of a view; every view's count beside it."""
    keys = store.keys
    pipe = store.redis.pipeline(transaction=False)
    pipe.zrange(keys.by_status(Status.OPEN), 0, -1)
    pipe.zrange(keys.by_status(Status.REFERRED), 0, -1)
    tickets = [t.decode() for part in cast(list[list[bytes]], await pipe.execute()) for t in part]
    keeps: list[Callable[[Incident], bool]] = []
    if query.category:
        keeps.append(lambda i: i.category == query.category)
    if query.district:
        keeps.append(lambda i: i.zones.get("council_district") == query.district)
    lists: dict[View, list[Incident]] = {view: [] for view in VIEWS}
    districts: set[str] = set()
    for start in range(0, len(tickets), _BATCH):
        for incident in await select_many(store, tickets[start : start + _BATCH]):
            view = view_of(incident)
            if view is None:
                continue
            if district := incident.zones.get("council_district"):
                districts.add(district)
            if all(keep(incident) for keep in keeps):
                lists[view].append(incident)
    chosen = sorted(lists[query.view], key=lambda i: (_ORDER.get(i.priority, 9), i.opened_at, i.seq))
    pages = max(1, math.ceil(len(chosen) / query.per_page))
    page = min(query.page, pages)
    first = (page - 1) * query.per_page
    return WorkList(
        view=query.view,
        counts={view: len(found) for view, found in lists.items()},
        districts=sorted(districts),
        page=page,
        pages=pages,
        total=len(chosen),
        items=chosen[first : first + query.per_page],
    )
