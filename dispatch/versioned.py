"""Records kept as a hash of `v` (version) and `data` (MessagePack), changed read-decide-write.

Stations, transport requests and runs, agency services and referrals are all kept this way: a writer
reads the record, decides, and writes it guarded on the version it read, with its event, in one
atomic step (`incident.events.commit`); if someone changed it meanwhile, it reads and decides again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

import msgspec

from incident.events import Change, Conflict, commit, retrying
from incident.problems import Problem
from incident.store import Store

T = TypeVar("T", bound=msgspec.Struct)
_pack = msgspec.msgpack.Encoder().encode


@dataclass
class Plan(Generic[T]):
    """What a decision comes to: the record as it will be, its event, and anything else to write."""

    record: T
    event: msgspec.Struct
    change: Change = field(default_factory=Change)
    histories: list[str] = field(default_factory=list)  # incidents whose history gets the event


class Kept(Generic[T]):
    """One kind of versioned record: where it is kept and how it is decoded."""

    def __init__(self, kind: str, type_: type[T], key: Callable[[str], str]) -> None:
        self.kind, self.key = kind, key
        self._decode = msgspec.msgpack.Decoder(type_).decode

    async def get(self, store: Store, record_id: str) -> T | None:
        blob = cast(bytes | None, await store.redis.hget(self.key(record_id), "data"))
        return self._decode(blob) if blob else None

    async def many(self, store: Store, ids: list[str]) -> list[T]:
        pipe = store.redis.pipeline(transaction=False)
        for record_id in ids:
            pipe.hget(self.key(record_id), "data")
        return [self._decode(blob) for blob in await pipe.execute() if blob]

    async def get_or_404(self, store: Store, record_id: str) -> T:
        found = await self.get(store, record_id)
        if found is None:
            raise Problem(
                404, "Not Found", f"no {self.kind} {record_id!r}", kind=f"unknown-{self.kind}", id=record_id
            )
        return found

    def put(self, change: Change, record_id: str, record: T, version: int, *, new: bool = False) -> Change:
        """Plan the write of `record` at `version`, guarded on the version before it."""
        key = self.key(record_id)
        change.guard(key, "v", "" if new else str(version - 1))
        return change.hset(key, {"v": version, "data": _pack(record)})

    async def create(self, store: Store, record_id: str, plan: Plan[T]) -> T:
        """Write a new record (Problem 409 if one with this id exists)."""
        self.put(plan.change, record_id, plan.record, 1, new=True)
        try:
            await _commit(store, plan)
        except Conflict as conflict:
            if conflict.key != self.key(record_id):
                raise
            raise Problem(
                409, "Exists", f"there is already a {self.kind} {record_id!r}", kind=f"{self.kind}-exists"
            ) from None
        return plan.record

    async def change(
        self, store: Store, record_id: str, decide: Callable[[T], Awaitable[Plan[T] | None]]
    ) -> T:
        """Read, decide, write guarded on the version read; read and decide again on a conflict."""

        async def attempt() -> T:
            current = await self.get_or_404(store, record_id)
            plan = await decide(current)
            if plan is None:
                return current
            version = int(getattr(current, "version", 0)) + 1
            record = msgspec.structs.replace(plan.record, version=version)
            self.put(plan.change, record_id, record, version)
            await _commit(store, Plan(record, plan.event, plan.change, plan.histories))
            return record

        return await retrying(attempt, f"{self.kind} {record_id}")


async def _commit(store: Store, plan: Plan[Any]) -> str:
    histories = [store.keys.history(ticket) for ticket in plan.histories]
    return await commit(store.scripts.apply, plan.change, plan.event, store.keys.events, *histories)
