"""Work delivered to crews' phones, surviving flaky signal.

Every change to a crew's work is a message in the crew's Redis stream, written in the same atomic
step as the change itself (see `dispatch.work_lists.keep_crew_work`), so no assignment can happen
without its message. Each of the crew's devices reads through its own consumer group (so every phone
of the crew gets every message) and acknowledges what it has shown; a message a device has not
acknowledged within `dispatch.redeliver_seconds` is delivered to it again, and a crew whose devices
go quiet is flagged as silent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import msgspec
from redis.exceptions import ResponseError

from dispatch.crews import views
from dispatch.events import CrewNotice, unpack_notice
from incident.alarms import raise_alarm
from incident.config import SurgeConfig
from incident.events import Change
from incident.records import pack
from incident.store import Store

CONSUMER = "device"
BATCH = 100
SILENT_ALARM_TTL = 2 * 24 * 3600


class Delivered(msgspec.Struct, kw_only=True):
    id: str  # acknowledge with this
    notice: CrewNotice
    redelivered: bool  # sent before and not acknowledged in time


class FeedPage(msgspec.Struct, kw_only=True):
    messages: list[Delivered]
    unacknowledged: int  # delivered to the crew's devices and not yet acknowledged


class AckIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    ids: list[str]


async def read(store: Store, config: SurgeConfig, crew_id: str, device: str) -> FeedPage:
    """What the device should show now: messages overdue for acknowledgement again, then new ones."""
    keys = store.keys
    feed = keys.crew_feed(crew_id)
    group = await _ensure_group(store, feed, device)
    now = datetime.now(UTC)
    await store.redis.zadd(keys.crew_seen, {crew_id: now.timestamp()}, gt=True)
    # XAUTOCLAIM (Redis 6.2): take back messages delivered but unacknowledged for too long.
    reply = await store.redis.xautoclaim(
        feed,
        group,
        CONSUMER,
        min_idle_time=config.dispatch.redeliver_seconds * 1000,
        start_id="0-0",
        count=BATCH,
    )
    claimed = cast(list[tuple[bytes, dict[bytes, bytes]]], reply[1])
    fresh = await store.redis.xreadgroup(group, CONSUMER, {feed: ">"}, count=BATCH)
    messages = [_delivered(entry, True) for entry in claimed if entry and entry[1]]
    for _, entries in cast(list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]], fresh or []):
        messages += [_delivered(entry, False) for entry in entries]
    pending = await store.redis.xpending(feed, group)
    return FeedPage(messages=messages, unacknowledged=int(pending["pending"]))


async def acknowledge(store: Store, crew_id: str, device: str, ids: list[str]) -> int:
    """The device has shown these messages; returns how many were waiting for it."""
    keys = store.keys
    feed = keys.crew_feed(crew_id)
    group = await _ensure_group(store, feed, device)
    await store.redis.zadd(keys.crew_seen, {crew_id: datetime.now(UTC).timestamp()}, gt=True)
    return int(await store.redis.xack(feed, group, *ids)) if ids else 0


async def unacknowledged(store: Store, crew_ids: list[str]) -> dict[str, int]:
    """Messages each crew's devices have not acknowledged, read or not yet read."""
    pipe = store.redis.pipeline(transaction=False)
    for crew_id in crew_ids:
        pipe.xinfo_groups(store.keys.crew_feed(crew_id))
    replies = await pipe.execute(raise_on_error=False)
    # The crew's most up-to-date device: what it has not acknowledged, and (Redis 6.2 has no "lag")
    # what lies past the last message it was given.
    pipe = store.redis.pipeline(transaction=False)
    pending: dict[str, int] = {}
    for crew_id, groups in zip(crew_ids, replies, strict=True):
        ours = [g for g in groups if _name(g).startswith(_PREFIX)] if isinstance(groups, list) else []
        group = max(ours, key=lambda g: _stream_id(g["last-delivered-id"]), default=None)
        pending[crew_id] = int(group["pending"]) if group else 0
        last = group["last-delivered-id"] if group else b"0-0"
        last = last.decode() if isinstance(last, bytes) else str(last)
        pipe.xrange(store.keys.crew_feed(crew_id), min=f"({last}", max="+", count=10_000)
    unread = await pipe.execute(raise_on_error=False)
    return {
        crew_id: pending[crew_id] + (len(rows) if isinstance(rows, list) else 0)
        for crew_id, rows in zip(crew_ids, unread, strict=True)
    }


def _stream_id(value: object) -> tuple[int, int]:
    text = value.decode() if isinstance(value, bytes) else str(value)
    millis, _, sequence = text.partition("-")
    return int(millis), int(sequence or 0)


def _name(group: dict[str, object]) -> str:
    name = group.get("name")
    return name.decode() if isinstance(name, bytes) else str(name)


def route_notice(change: Change, store: Store, crew_id: str, route: list[str], now: datetime) -> Change:
    """Plan a message telling the crew its work's new driving order."""
    notice = CrewNotice(kind="route", at=now, route=route)
    return change.command("XADD", store.keys.crew_feed(crew_id), "*", "data", pack(notice))


async def check_silent(store: Store, config: SurgeConfig, *, now: datetime | None = None) -> None:
    """Alarm supervisors, once per silence, about crews on shift not heard from in time."""
    now = now or datetime.now(UTC)
    for view in await views(store, config, now=now):
        if not view.silent:
            continue
        since = view.last_heard_at or view.crew.updated_at
        minutes = int((now - since).total_seconds() // 60)
        await raise_alarm(
            store,
            None,
            "crew_silent",
            f"crew {view.crew.id} ({view.crew.name}) has not been heard from in {minutes} minutes",
            once=store.keys.crew_silent(view.crew.id, int(since.timestamp())),
            ttl=SILENT_ALARM_TTL,
        )


_PREFIX = "device:"


async def _ensure_group(store: Store, feed: str, device: str) -> str:
    """The device's consumer group, made at its first read from the start of the stream.

    So a new phone gets everything sent to the crew before it signed in.
    """
    group = _PREFIX + device
    try:
        await store.redis.xgroup_create(feed, group, id="0", mkstream=True)
    except ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise
    return group


def _delivered(entry: tuple[bytes, dict[bytes, bytes]], redelivered: bool) -> Delivered:
    entry_id, fields = entry
    return Delivered(id=entry_id.decode(), notice=unpack_notice(fields[b"data"]), redelivered=redelivered)
