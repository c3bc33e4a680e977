"""A crew's work list, load and device notices, kept in step with every write of an incident.

`keep_crew_work` is one of the steps the store runs in each incident's atomic change
(incident/write_steps.py), so no assignment happens without its message to the crew's phones.
"""

from __future__ import annotations

from dispatch.events import CrewNotice
from incident.events import Change
from incident.incidents import CREW_ACTIVE
from incident.records import Incident, pack
from incident.status import DONE
from incident.store import Store


def keep_crew_work(change: Change, store: Store, before: Incident | None, after: Incident) -> None:
    """Keep each crew's work list and load in step, and tell its devices what changed for them."""
    keys, ticket = store.keys, after.ticket

    def crew_of(incident: Incident | None) -> str | None:
        if incident is None or incident.status not in CREW_ACTIVE:
            return None
        return incident.assigned_crew

    old, new = crew_of(before), crew_of(after)
    if old is not None and old != new:
        change.zrem(keys.crew_work(old), ticket)
        change.command("HINCRBY", keys.crew_load, old, "-1")
        # Cleared or cancelled, it is done; moved to another crew or back to the queue, withdrawn.
        _notify(change, store, old, "done" if after.status in DONE else "withdrawn", after)
    if new is not None and old != new:
        change.zadd(keys.crew_work(new), after.seq, ticket)
        change.command("HINCRBY", keys.crew_load, new, "1")
        _notify(change, store, new, "assigned", after)
    elif new is not None and before is not None and _crew_sees_change(before, after):
        _notify(change, store, new, "updated", after)


def _crew_sees_change(before: Incident, after: Incident) -> bool:
    return (before.status, before.priority, before.location, before.address, before.job, before.category) != (
        after.status,
        after.priority,
        after.location,
        after.address,
        after.job,
        after.category,
    )


def _notify(change: Change, store: Store, crew_id: str, kind: str, incident: Incident) -> None:
    notice = CrewNotice(
        kind=kind,
        at=incident.updated_at,
        ticket=incident.ticket,
        status=incident.status,
        category=incident.category,
        priority=incident.priority,
        address=incident.address,
        location=incident.location,
        job=incident.job,
    )
    change.command("XADD", store.keys.crew_feed(crew_id), "*", "data", pack(notice))
