"""The one event writer: every change to a record is written together with the event announcing it.

A change is a small plan — guards to check, then writes — applied by one Lua script that ends by
appending the event to the jurisdiction's stream (and to the incident's history, with the same id).
Redis runs a script alone, so either the guards fail and nothing is written, or every write and the
event land together: nothing changes without its event, and no event announces a change that did not
happen.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
from redis.commands.core import AsyncScript

from geo.point import Point
from incident.problems import contention

T = TypeVar("T")
_pack = msgspec.msgpack.Encoder().encode


class Conflict(Exception):
    """A guard failed: the record changed (or the claim was lost) since the caller read it."""

    def __init__(self, key: str, actual: bytes) -> None:
        super().__init__(f"{key} changed (now {actual!r})")
        self.key, self.actual = key, actual


# One retry policy for every read-decide-write: a record that changed this often while we decided is
# contention (a 503 the client retries), not bad luck worth another lap.
RETRIES = 20


async def retrying(
    attempt: Callable[[], Awaitable[T]], what: str, *, retry_if: Callable[[Conflict], bool] | None = None
) -> T:
    """Run `attempt` (it reads, decides and commits) again each time its commit finds the record changed.

    `retry_if` narrows which conflicts mean "read and decide again" (the others propagate). After
    RETRIES laps the answer is one problem: 503 Busy, `what` is changing too fast.
    """
    for _ in range(RETRIES):
        try:
            return await attempt()
        except Conflict as conflict:
            if retry_if is not None and not retry_if(conflict):
                raise
    raise contention(what)


@dataclass
class Change:
    """A plan of writes to apply atomically with one event. Build it, then `commit` it."""

    _keys: list[str] = field(default_factory=list)
    _slots: dict[str, int] = field(default_factory=dict)
    guards: list[tuple[int, str, str]] = field(default_factory=list)
    ops: list[list[Any]] = field(default_factory=list)

    def _k(self, key: str) -> int:
        if key not in self._slots:
            self._keys.append(key)
            self._slots[key] = len(self._keys)  # Lua tables count from 1
        return self._slots[key]

    def guard(self, key: str, field_: str, expected: str) -> Change:
        """Require hash field `field_` of `key` to equal `expected` ('' = must not exist)."""
        self.guards.append((self._k(key), field_, expected))
        return self

    def command(self, name: str, key: str, *args: bytes | str | int) -> Change:
        """Any other single-key write command, e.g. `command("SADD", key, member)`."""
        self.ops.append([name, self._k(key), *args])
        return self

    def hset(self, key: str, mapping: Mapping[str, bytes | str | int]) -> Change:
        flat: list[Any] = []
        for name, value in mapping.items():
            flat += [name, value]
        self.ops.append(["HSET", self._k(key), *flat])
        return self

    def set(self, key: str, value: bytes) -> Change:
        self.ops.append(["SET", self._k(key), value])
        return self

    def zadd(self, key: str, score: int, member: str) -> Change:
        self.ops.append(["ZADD", self._k(key), str(score), member])
        return self

    def zrem(self, key: str, member: str) -> Change:
        self.ops.append(["ZREM", self._k(key), member])
        return self

    def geoadd(self, key: str, point: Point, member: str) -> Change:
        self.ops.append(["GEOADD", self._k(key), repr(point.lon), repr(point.lat), member])
        return self

    def expire(self, key: str, seconds: int) -> Change:
        self.ops.append(["EXPIRE", self._k(key), str(seconds)])
        return self


async def commit(apply: AsyncScript, change: Change, event: msgspec.Struct, stream: str, *also: str) -> str:
    """Apply `change` and append `event` (a tagged Struct) to `stream` and to each of `also`, one id.

    Every stream in `also` must take its ids only from `stream` (an incident's history takes them from
    the events stream), or a copy could be refused for an id behind the copy stream's last one.

    Returns the event id. Raises Conflict, having written nothing, when a guard fails.
    """
    fields: list[Any] = ["type", event.__struct_config__.tag, "data", _pack(event)]
    ticket = getattr(event, "ticket", None)
    if ticket:  # lets a reader of the raw stream pick an incident's events without decoding
        fields += ["ticket", ticket]
    args: list[Any] = [len(change.guards)]
    for key_index, field_, expected in change.guards:
        args += [key_index, field_, _scalar(expected)]
    args.append(len(change.ops))
    for name, key_index, *op_args in change.ops:
        args += [name, key_index, len(op_args), *(_scalar(a) for a in op_args)]
    args.append(change._k(stream))
    args += [len(also), *(change._k(key) for key in also)]
    args += [len(fields), *fields]
    blobs: list[bytes] = []
    for index, value in enumerate(args):
        if isinstance(value, bytes):
            blobs.append(value)
            args[index] = -len(blobs)
    ok, *rest = await apply(keys=change._keys, args=[_pack(args), *blobs])
    if not ok:
        key, actual = rest
        raise Conflict(key.decode(), actual)
    event_id: bytes = rest[0]
    return event_id.decode()


def _scalar(value: object) -> str | bytes:
    """A command argument as Redis takes it: text or bytes.

    Lua would print a large number in exponent form, and read a negative one as a reference to a
    binary argument; None or a bool is refused here, before anything is written.
    """
    if isinstance(value, bool) or value is None:
        raise TypeError(f"not a Redis argument: {value!r}")
    if isinstance(value, str | bytes):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    raise TypeError(f"not a Redis argument: {value!r}")


def decode_entries(
    entries: list[tuple[bytes, dict[bytes, bytes]]], decode: Callable[[bytes], T]
) -> list[tuple[str, T]]:
    """Decode stream entries as XRANGE/XREAD return them: (event id, event) pairs."""
    return [(entry_id.decode(), decode(fields[b"data"])) for entry_id, fields in entries]
