"""Alarms for supervisors: 911, surge, the mode's review, overdue work, silent crews."""

from __future__ import annotations

from datetime import UTC, datetime

from incident.events import Change, Conflict, commit
from incident.records import AlarmRaised
from incident.store import Store


async def raise_alarm(
    store: Store, ticket: str | None, kind: str, message: str, *, once: str | None = None, ttl: int = 0
) -> bool:
    """An alarm for supervisors: in the alarms stream, and in the incident's history if it has one.

    With `once` (a marker key, kept `ttl` seconds), the alarm and its marker are written in one atomic
    step, and a second alarm with the same marker writes nothing: every worker may try, one alarms,
    and a failed write leaves no marker behind to silence the retry. Returns whether it alarmed.
    """
    event = AlarmRaised(ticket=ticket or "", at=datetime.now(UTC), kind=kind, message=message)
    change = Change()
    if once is not None:
        change.guard(once, "v", "").hset(once, {"v": 1}).expire(once, ttl)
    # Ids come from the one events stream; the history and the alarms stream take copies with the same
    # id (a stream's own clock could run behind the history's and refuse the copy).
    streams = (store.keys.alarms,) if ticket is None else (store.keys.history(ticket), store.keys.alarms)
    try:
        await commit(store.scripts.apply, change, event, store.keys.events, *streams)
    except Conflict as conflict:
        if conflict.key != once:
            raise
        return False
    return True
