"""Records kept as a hash of `v` (version) and `data` (MessagePack), and the one way to change one.

Incidents, warming stations, rides and van runs, agency services and referrals are all kept so. A
writer reads the record, decides, and writes it guarded on the version it read, with its event, in one
atomic step (`events.commit`); if someone changed it meanwhile, it reads and decides again
(`events.retrying`, the one retry policy). What else a write of a kind keeps in step (an incident's
indexes and the steps its store was opened with) is given once, when the kind is described.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, cast

import msgspec

from incident.events import Change, Conflict, commit, retrying
from incident.problems import Problem
from incident.store import Store


class Record(Protocol):
    """A kept record: a msgspec Struct carrying its version."""

    @property
    def version(self) -> int: ...


T = TypeVar("T", bound=Record)
_pack = msgspec.msgpack.Encoder().encode


@dataclass
class Plan(Generic[T]):
    """What a decision about one record comes to: the record as it will be, its event, more writes."""

    record: T
    event: msgspec.Struct
    change: Change = field(default_factory=Change)
    histories: list[str] = field(default_factory=list)  # incidents (tickets) whose history gets the event


@dataclass
class Plans(Generic[T]):
    """A decision about several records of a kind under one event: (as read, as it will be) pairs."""

    pairs: list[tuple[T, T]]
    event: msgspec.Struct
    change: Change = field(default_factory=Change)


Keeping = Callable[[Change, T | None, T], None]
"""What else a write of `before` → `after` keeps in step, planned into the same change."""


def _unknown(kind: str) -> Callable[[str], Problem]:
    def missing(record_id: str) -> Problem:
        return Problem(404, "Not Found", f"no {kind} {record_id!r}", kind=f"unknown-{kind}", id=record_id)

    return missing


@functools.cache
def _decoder(type_: type[Any]) -> Callable[[bytes], Any]:
    return msgspec.msgpack.Decoder(type_).decode


class Kept(Generic[T]):
    """One kind of kept record in one store: where each is kept, how it is read, what a write keeps.

    `ident` is a record's id (its `id` unless said); `history` names a record's own history stream
    (incidents have one); `missing` is the problem for an unknown id; `keeping` plans what a write
    keeps in step besides the record; `stream` is where its events go (the events stream unless
    said: the registry's go to the audit stream, never the live feed).
    """

    def __init__(
        self,
        store: Store,
        kind: str,
        type_: type[T],
        key: Callable[[str], str],
        *,
        ident: Callable[[T], str] = operator.attrgetter("id"),
        history: Callable[[str], str] | None = None,
        missing: Callable[[str], Problem] | None = None,
        keeping: Keeping[T] | None = None,
        stream: str | None = None,
    ) -> None:
        self.store, self.kind, self.key, self.ident = store, kind, key, ident
        self.stream = stream or store.keys.events
        self._decode = cast(Callable[[bytes], T], _decoder(type_))
        self._history, self._keeping = history, keeping
        self._missing = missing or _unknown(kind)

    async def get(self, record_id: str) -> T | None:
        blob = cast(bytes | None, await self.store.redis.hget(self.key(record_id), "data"))
        return self._decode(blob) if blob else None

    async def many(self, ids: list[str]) -> list[T]:
        """The records with these ids (missing ones left out), in one round trip."""
        pipe = self.store.redis.pipeline(transaction=False)
        for record_id in ids:
            pipe.hget(self.key(record_id), "data")
        return [self._decode(blob) for blob in await pipe.execute() if blob]

    async def get_or_404(self, record_id: str) -> T:
        found = await self.get(record_id)
        if found is None:
            raise self._missing(record_id)
        return found

    def put(self, change: Change, current: T | None, updated: T) -> Change:
        """Plan the write of `updated`, guarded on `current`'s version (None: it must not exist yet)."""
        key = self.key(self.ident(updated))
        change.guard(key, "v", "" if current is None else str(current.version))
        change.hset(key, {"v": updated.version, "data": _pack(updated)})
        if self._keeping is not None:
            self._keeping(change, current, updated)
        return change

    async def commit(
        self, change: Change, event: msgspec.Struct, written: list[T], histories: list[str]
    ) -> str:
        """Apply `change` with `event`, into the history of the records written and of `histories`."""
        own = [self._history(self.ident(record)) for record in written] if self._history else []
        incidents = [self.store.keys.history(ticket) for ticket in histories]
        return await commit(self.store.scripts.apply, change, event, self.stream, *own, *incidents)

    async def create(self, plan: Plan[T]) -> T:
        """Write a new record (Problem 409 if one with its id exists)."""
        self.put(plan.change, None, plan.record)
        try:
            await self.commit(plan.change, plan.event, [plan.record], plan.histories)
        except Conflict as conflict:
            record_id = self.ident(plan.record)
            if conflict.key != self.key(record_id):
                raise
            raise Problem(
                409, "Exists", f"there is already a {self.kind} {record_id!r}", kind=f"{self.kind}-exists"
            ) from None
        return plan.record

    async def change(self, record_id: str, decide: Callable[[T], Awaitable[Plan[T] | None]]) -> T:
        """Read, decide, write guarded on the version read; read and decide again on a conflict.

        `decide` raises a Problem to refuse; None writes nothing. The version is counted here.
        """

        async def attempt() -> T:
            current = await self.get_or_404(record_id)
            plan = await decide(current)
            if plan is None:
                return current
            record = _next(current, plan.record)
            self.put(plan.change, current, record)
            await self.commit(plan.change, plan.event, [record], plan.histories)
            return record

        return await retrying(attempt, f"{self.kind} {record_id}")

    async def change_many(
        self,
        read: Callable[[], Awaitable[list[T]]],
        decide: Callable[[list[T]], Awaitable[Plans[T] | None]],
        what: str,
    ) -> list[T]:
        """The same for several records changed as one: read them all, decide, write them together."""

        async def attempt() -> list[T]:
            records = await read()
            plans = await decide(records)
            if plans is None:
                return records
            changed: dict[str, T] = {}
            for current, updated in plans.pairs:
                record = changed[self.ident(current)] = _next(current, updated)
                self.put(plans.change, current, record)
            await self.commit(plans.change, plans.event, list(changed.values()), [])
            return [changed.get(self.ident(record), record) for record in records]

        return await retrying(attempt, what)


def _next(current: T, updated: T) -> T:
    """`updated` at the version after `current`'s: each write counts one, whoever built the record."""
    return cast(T, msgspec.structs.replace(cast(msgspec.Struct, updated), version=current.version + 1))
