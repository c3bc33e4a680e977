"""The live feed: the events stream, as Server-Sent Events, for the map and the consoles.

Each worker reads the jurisdiction's events stream once (one blocking XREAD) and hands every event,
already encoded as JSON, to each open connection, so a hundred open maps cost one Redis reader, not a
hundred. A connection that comes back with `Last-Event-ID` (browsers send it by themselves when they
reconnect) is first sent what it missed, read from the stream by id, then joins the live feed: a
dropped connection loses nothing and needs no reload.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any, cast

import msgspec
from quart import Blueprint, Response, current_app, request
from quart_schema import hide
from redis.exceptions import RedisError
from redis.typing import KeyT, StreamIdT

from incident.auth import access
from incident.problems import invalid_field
from incident.store import Store
from incident.validation import is_stream_id
from incident.web import store, surge_config

blueprint = Blueprint("live_api", __name__)
log = logging.getLogger("stormline.live")
KEEPALIVE_S = 15.0
# A stream is authorised when it opens. Its credential is checked again at each keepalive, and before
# anything is sent after a revocation, a disabling, a role change or a sign-out anywhere (the hub
# reads the auth epoch with each batch of events): such a change ends the stream, with a `denied`
# event, before it sends one more event.
# Ending a stream after a while makes the browser reconnect (with Last-Event-ID, losing nothing).
STREAM_MAX_S = 600.0
BACKLOG = 5000  # events one slow connection may fall behind before it is dropped (it reconnects)
CATCH_UP = 10_000  # events sent at most on a reconnect; further back, the page reloads its data
_encode = msgspec.json.Encoder().encode
Entry = tuple[str, bytes]  # (event id, the SSE message)


class Hub:
    """One reader of the events stream per worker, fanning each event out to every open stream."""

    def __init__(self, store_: Store) -> None:
        self.store = store_
        self.subscribers: set[asyncio.Queue[Entry | None]] = set()
        self.epoch = b""  # the auth epoch as of the last batch read (keys.auth_epoch)

    def subscribe(self) -> asyncio.Queue[Entry | None]:
        queue: asyncio.Queue[Entry | None] = asyncio.Queue(maxsize=BACKLOG)
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Entry | None]) -> None:
        self.subscribers.discard(queue)

    async def run(self) -> None:
        # A concrete id, never "$" again after the first read: "$" means "after whatever is last when
        # this XREAD arrives", so an event written while the worker was busy between two reads (or
        # while it waited out an error) would fall into the gap and never reach an open map.
        newest = await self._read(partial(self.store.redis.xrevrange, self.store.keys.events, count=1))
        last = cast(list[tuple[bytes, object]], newest)[0][0].decode() if newest else "0-0"
        while True:
            since: dict[KeyT, StreamIdT] = {self.store.keys.events: last}
            # Blocks for less than the client's 5 s socket timeout: at 5 s an idle feed raced it, timed
            # out and logged a warning every few minutes.
            reply = await self._read(partial(self.store.redis.xread, since, count=500, block=4000))
            if reply and self.subscribers:
                # After the events are read: a revocation that came before any of them is seen now.
                try:
                    self.epoch = (
                        cast(bytes | None, await self.store.redis.get(self.store.keys.auth_epoch)) or b""
                    )
                except (RedisError, OSError) as error:
                    log.warning("live feed: auth epoch not read (%s)", error)
                    self.epoch = b"?"  # every stream checks again
            for _, entries in cast(list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]], reply or []):
                if not self.subscribers:  # nobody to tell: keep the place, spare the decoding
                    last = entries[-1][0].decode()
                    continue
                for entry_id, fields in entries:
                    last = entry_id.decode()
                    try:
                        self._publish((last, message(last, fields)))
                    except Exception:  # one unreadable entry must not stop every open map
                        log.exception("live feed: event %s skipped", last)

    @staticmethod
    async def _read(read: Callable[[], Awaitable[Any]]) -> Any:
        """One read of the stream, tried again each second while Redis does not answer (a restart)."""
        while True:
            try:
                return await read()
            except (RedisError, OSError) as error:
                log.warning("live feed: %s; reading again", error)
                await asyncio.sleep(1)

    def _publish(self, entry: Entry) -> None:
        for queue in list(self.subscribers):
            try:
                queue.put_nowait(entry)
            except asyncio.QueueFull:
                # Too slow to keep up: end its stream; the browser reconnects and catches up by id.
                self.subscribers.discard(queue)
                with contextlib.suppress(asyncio.QueueFull):
                    queue.get_nowait()
                    queue.put_nowait(None)


def message(entry_id: str, fields: dict[bytes, bytes]) -> bytes:
    """One event as an SSE message: its id, its type as the event name, the event as JSON."""
    kind = fields.get(b"type", b"message").decode()
    # Decoded without a type: the stream also carries events other modules define (the center's mode
    # changes), and a feed must pass on every one of them, not stop at one it does not know.
    data = _encode(msgspec.msgpack.decode(fields[b"data"]))
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (entry_id.encode(), kind.encode(), data)


# The last message of a stream whose credential no longer holds; the page stops following and says so.
DENIED = b"event: denied\ndata: {}\n\n"


def hub() -> Hub:
    return current_app.extensions["stormline.hub"]  # type: ignore[no-any-return]


def _newer(a: str, b: str) -> bool:
    ma, _, sa = a.partition("-")
    mb, _, sb = b.partition("-")
    return (int(ma), int(sa or 0)) > (int(mb), int(sb or 0))


@blueprint.get("/api/v1/events/stream")
@hide
async def stream() -> Response:
    """Every event as it happens (text/event-stream), resumable with `Last-Event-ID` (or `?after=`)."""
    after = request.headers.get("Last-Event-ID") or request.args.get("after")
    if after is not None and not is_stream_id(after, whole=False):
        raise invalid_field("Last-Event-ID", "an event id like 1700000000000-0")
    live = hub()
    kept = store()  # the generator runs after the request's context is gone
    config = surge_config()
    credential = access.held()
    queue = live.subscribe()  # before catching up, so nothing falls between the two

    async def events() -> AsyncIterator[bytes]:
        sent = after
        clock = asyncio.get_running_loop().time
        ends = clock() + STREAM_MAX_S
        epoch = live.epoch

        async def allowed() -> bool:
            try:
                return await access.still_holds(kept, config, credential)
            except (RedisError, OSError):
                return True  # Redis blinking is not a revocation; the next check decides

        try:
            yield b": connected\n\n"
            if after is not None:
                backlog = cast(
                    list[tuple[bytes, dict[bytes, bytes]]],
                    await kept.redis.xrange(kept.keys.events, min=f"({after}", max="+", count=CATCH_UP),
                )
                if len(backlog) == CATCH_UP:
                    # Too far behind to replay: the page takes a fresh snapshot and follows from now.
                    yield b"event: reset\ndata: {}\n\n"
                    backlog, sent = [], None
                for raw_id, fields in backlog:
                    sent = raw_id.decode()
                    yield message(sent, fields)
            while True:
                try:
                    entries = [await asyncio.wait_for(queue.get(), KEEPALIVE_S)]
                except TimeoutError:
                    if clock() > ends:
                        return  # the browser comes back at once, and is checked again
                    if not await allowed():  # a quiet stream is checked at every keepalive
                        yield DENIED
                        return
                    yield b": keepalive\n\n"  # keeps proxies from closing a quiet stream
                    continue
                if live.epoch != epoch:  # someone's access changed: is it this stream's?
                    epoch = live.epoch
                    if not await allowed():
                        yield DENIED
                        return
                # What arrived meanwhile goes out in the same write: at the peak, one send for a
                # clump of events rather than one each, per open map.
                while not queue.empty():
                    entries.append(queue.get_nowait())
                chunk = []
                for entry in entries:
                    if entry is None:
                        break  # fell too far behind: the browser reconnects with its last id
                    entry_id, body = entry
                    if sent is None or _newer(entry_id, sent):
                        sent = entry_id
                        chunk.append(body)
                if chunk:
                    yield b"".join(chunk)
                if None in entries:
                    return
        finally:
            live.unsubscribe(queue)

    response = Response(
        events(),
        content_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
    response.timeout = None  # a stream stays open as long as the page does
    return response
