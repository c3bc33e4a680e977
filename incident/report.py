"""The after-action report of a storm incident: what came in, how fast it was handled, what slipped.

Figures come from the incidents tagged with the activation, their calls and their histories, so the
report counts exactly what was filed. It is computed on demand, and kept as it stood at stand-down.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import cast

import msgspec

from dispatch import stations, transport
from dispatch.events import IncidentAssigned, RunPlanned
from incident.center import Activation, activation
from incident.config import SurgeConfig
from incident.history import select_history
from incident.incidents import select_calls, select_many
from incident.records import Incident, StatusChanged, Step
from incident.status import Status
from incident.store import Store


class Row(msgspec.Struct, kw_only=True, array_like=False):
    key: str
    incidents: int
    calls: int


class Durations(msgspec.Struct, kw_only=True):
    """Minutes from opening, over the incidents that got that far."""

    count: int
    median_minutes: float | None
    p90_minutes: float | None


class StationUse(msgspec.Struct, kw_only=True):
    """A warming station open during the storm: how many came, and the most at once."""

    id: str
    name: str
    opened_at: datetime | None
    closed_at: datetime | None
    checked_in: int  # everyone who checked in since it last opened
    peak: int


class Rides(msgspec.Struct, kw_only=True):
    """Rides to warming stations requested during the storm, by how they ended; van runs."""

    requests: int
    by_status: dict[str, int]
    people_dropped_off: int
    runs: int


class Report(msgspec.Struct, kw_only=True):
    activation: Activation
    generated_at: datetime
    incidents: int
    calls: int
    by_category: list[Row]
    by_priority: list[Row]
    by_zone: list[Row]  # council district; "unplaced" and "outside the city" too
    by_channel: list[Row]
    calls_per_hour: list[tuple[str, int]]  # hour (ISO, UTC), calls received
    to_handoff: Durations  # opened → 911 transfer started
    to_dispatch: Durations  # opened → first assigned to a crew
    to_resolution: Durations  # opened → resolved
    deadlines_missed: int
    warming_stations: list[StationUse] = []
    transport: Rides | None = None


_pack = msgspec.msgpack.Encoder().encode
_unpack = msgspec.msgpack.Decoder(Report).decode


async def build(store: Store, activation_id: str, config: SurgeConfig) -> Report | None:
    record = await activation(store, activation_id)
    if record is None:
        return None
    tickets = [
        t.decode()
        for t in cast(list[bytes], await store.redis.zrange(store.keys.by_activation(activation_id), 0, -1))
    ]
    incidents: list[Incident] = []
    for start in range(0, len(tickets), 200):
        incidents += await select_many(store, tickets[start : start + 200])
    now = datetime.now(UTC)
    by: dict[str, Counter[str]] = {name: Counter() for name in ("category", "priority", "zone", "channel")}
    calls_by: dict[str, Counter[str]] = {
        name: Counter() for name in ("category", "priority", "zone", "channel")
    }
    hours: Counter[str] = Counter()
    handoff, dispatch, resolution = [], [], []
    missed = total_calls = 0
    for incident in incidents:
        calls = await select_calls(store, incident.calls)
        total_calls += len(calls)
        zone = _zone(incident)
        for name, key in (
            ("category", incident.category),
            ("priority", str(incident.priority)),
            ("zone", zone),
        ):
            by[name][key] += 1
            calls_by[name][key] += len(calls)
        channels = {call.channel.value for call in calls}
        for call in calls:
            calls_by["channel"][call.channel.value] += 1
            hours[call.received_at.astimezone(UTC).strftime("%Y-%m-%dT%H:00Z")] += 1
        for channel in channels:
            by["channel"][channel] += 1
        if incident.handoff is not None:
            started = next((s.at for s in incident.handoff.steps if s.step == Step.TRANSFER_STARTED), None)
            if started is not None:
                handoff.append(_minutes(incident.opened_at, started))
        assigned = await _first_assigned(store, incident.ticket)
        if assigned is not None:
            dispatch.append(_minutes(incident.opened_at, assigned))
        if incident.resolved_at is not None:
            resolution.append(_minutes(incident.opened_at, incident.resolved_at))
        if incident.status is Status.CANCELLED or (
            incident.status is Status.CLOSED and not incident.resolved_at
        ):
            continue  # withdrawn (a duplicate, a mistake): no deadline to meet
        if incident.due_at is not None and (incident.resolved_at or now) > incident.due_at:
            missed += 1
    return Report(
        activation=record,
        generated_at=now,
        incidents=len(incidents),
        calls=total_calls,
        by_category=_rows(by["category"], calls_by["category"]),
        by_priority=_rows(by["priority"], calls_by["priority"]),
        by_zone=_rows(by["zone"], calls_by["zone"]),
        by_channel=_rows(by["channel"], calls_by["channel"]),
        calls_per_hour=_every_hour(hours),
        to_handoff=_durations(handoff),
        to_dispatch=_durations(dispatch),
        to_resolution=_durations(resolution),
        deadlines_missed=missed,
        warming_stations=await _stations(store, config, record, now),
        transport=await _rides(store, record, now),
    )


async def _stations(store: Store, config: SurgeConfig, record: Activation, now: datetime) -> list[StationUse]:
    end = record.stood_down_at or now
    used = []
    for found in await stations.all_stations(store, config):
        if found.opened_at is None or found.opened_at > end:
            continue
        if found.status == "closed" and found.closed_at is not None and found.closed_at < record.activated_at:
            continue
        used.append(
            StationUse(
                id=found.id,
                name=found.name,
                opened_at=found.opened_at,
                closed_at=found.closed_at if found.status == "closed" else None,
                checked_in=found.checked_in_total,
                peak=found.peak,
            )
        )
    return used


async def _rides(store: Store, record: Activation, now: datetime) -> Rides:
    end = record.stood_down_at or now
    requests = [
        r
        for r in await transport.list_requests(store, since=record.activated_at, limit=100_000)
        if record.activated_at <= r.created_at <= end
    ]
    runs = [
        r
        for r in await transport.list_runs(store, limit=100_000)
        if record.activated_at <= r.created_at <= end
    ]
    return Rides(
        requests=len(requests),
        by_status=dict(Counter(r.status for r in requests)),
        people_dropped_off=sum(r.party for r in requests if r.status == "dropped_off"),
        runs=len(runs),
    )


async def keep(store: Store, activation_id: str, config: SurgeConfig) -> Report | None:
    """Build the report and keep it (at stand-down): the record of how the storm went."""
    report = await build(store, activation_id, config)
    if report is not None:
        await store.redis.set(store.keys.report(activation_id), _pack(report))
    return report


async def keep_once(store: Store, activation_id: str, config: SurgeConfig) -> None:
    """Keep the report unless it is kept already (a stand-down's follow-up may run twice)."""
    if await kept(store, activation_id) is None:
        await keep(store, activation_id, config)


async def kept(store: Store, activation_id: str) -> Report | None:
    data = cast(bytes | None, await store.redis.get(store.keys.report(activation_id)))
    return _unpack(data) if data else None


class Table(msgspec.Struct, kw_only=True, frozen=True):
    """One table of the report: its heading row and its rows, as they go into a spreadsheet."""

    heading: list[str]
    rows: list[list[object]]


def tables(report: Report) -> dict[str, Table]:
    """The report's tables by name, in the order the stacked CSV has them."""
    out = {
        "summary": Table(
            heading=["storm incident", "id", "incidents", "calls", "deadlines missed"],
            rows=[
                [
                    safe_cell(report.activation.name),
                    report.activation.id,
                    report.incidents,
                    report.calls,
                    report.deadlines_missed,
                ]
            ],
        )
    }
    for name, title, rows in (
        ("category", "category", report.by_category), ("priority", "priority", report.by_priority),
        ("council_district", "council district", report.by_zone), ("channel", "channel", report.by_channel),
    ):  # fmt: skip
        out[name] = Table(
            heading=[title, "incidents", "calls"],
            rows=[[safe_cell(row.key), row.incidents, row.calls] for row in rows],
        )
    out["calls_per_hour"] = Table(
        heading=["hour (UTC)", "calls"], rows=[[hour, count] for hour, count in report.calls_per_hour]
    )
    out["durations"] = Table(
        heading=["time from opening", "count", "median minutes", "p90 minutes"],
        rows=[
            [title, durations.count, durations.median_minutes, durations.p90_minutes]
            for title, durations in (
                ("to 911 transfer", report.to_handoff),
                ("to dispatch", report.to_dispatch),
                ("to resolution", report.to_resolution),
            )
        ],
    )
    stations = []
    for s in report.warming_stations:
        opened, closed = (t.isoformat() if t else "" for t in (s.opened_at, s.closed_at))
        stations.append([safe_cell(s.name), opened, closed, s.checked_in, s.peak])
    out["warming_stations"] = Table(
        heading=["warming station", "opened", "closed", "checked in", "most at once"], rows=stations
    )
    rides = report.transport
    out["rides"] = Table(
        heading=["rides", "requested", "people dropped off", "van runs"],
        rows=(
            [["all", rides.requests, rides.people_dropped_off, rides.runs]]
            + [[status, count] for status, count in sorted(rides.by_status.items())]
            if rides is not None
            else []
        ),
    )
    return out


TABLES = (
    "summary", "category", "priority", "council_district", "channel", "calls_per_hour", "durations",
    "warming_stations", "rides",
)  # fmt: skip
"""The names of the report's tables, for `report.csv?table=`."""


def to_csv(report: Report, table: str | None = None) -> str:
    """One table of the report (`table`), with its heading row; or all of them, one after the other."""
    out = io.StringIO()
    writer = csv.writer(out)
    found = tables(report)
    if table is not None:
        writer.writerow(found[table].heading)
        writer.writerows(found[table].rows)
        return out.getvalue()
    # Stacked, as it always was: the summary as two label-value rows, then each table after a blank row.
    writer.writerow(["storm incident", safe_cell(report.activation.name), report.activation.id])
    writer.writerow(
        ["incidents", report.incidents, "calls", report.calls, "deadlines missed", report.deadlines_missed]
    )
    for name in TABLES[1:]:
        if name == "rides" and report.transport is None:
            continue
        writer.writerow([])
        writer.writerow(found[name].heading)
        writer.writerows(found[name].rows)
    return out.getvalue()


def _every_hour(hours: Counter[str]) -> list[tuple[str, int]]:
    """Calls per hour from the first to the last, quiet hours included (a gap is news too)."""
    if not hours:
        return []
    first, last = (
        datetime.strptime(h, "%Y-%m-%dT%H:00Z").replace(tzinfo=UTC) for h in (min(hours), max(hours))
    )
    out = []
    while first <= last:
        key = first.strftime("%Y-%m-%dT%H:00Z")
        out.append((key, hours.get(key, 0)))
        first += timedelta(hours=1)
    return out


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """A spreadsheet cell: typed text starting like a formula would run in a spreadsheet, so make it text."""
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA) else value


def _zone(incident: Incident) -> str:
    if incident.location is None:
        return "unplaced"
    if incident.outside_jurisdiction:
        return "outside the city"
    return incident.zones.get("council_district", "unknown")


async def _first_assigned(store: Store, ticket: str) -> datetime | None:
    for stored in await select_history(store, ticket, limit=1000):
        event = stored.event
        if isinstance(event, StatusChanged) and event.to_status is Status.ASSIGNED:
            return event.at
        if isinstance(event, IncidentAssigned | RunPlanned):  # by dispatch: a crew, or a van's run
            return event.at
    return None


def _minutes(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 60)


def _durations(values: list[float]) -> Durations:
    if not values:
        return Durations(count=0, median_minutes=None, p90_minutes=None)
    ordered = sorted(values)
    return Durations(
        count=len(ordered),
        median_minutes=round(_quantile(ordered, 0.5), 1),
        p90_minutes=round(_quantile(ordered, 0.9), 1),
    )


def _quantile(ordered: list[float], q: float) -> float:
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _rows(incidents: Counter[str], calls: Counter[str]) -> list[Row]:
    return [
        Row(key=key, incidents=incidents[key], calls=calls[key])
        for key in sorted(incidents, key=lambda k: (-incidents[k], k))
    ]
