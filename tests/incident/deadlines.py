"""Make an incident past due, as if its deadline had run out (the record and the due index together)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from incident.incidents import kept_incidents
from incident.kept import Plan
from incident.records import Incident, Requeued
from incident.store import Store


async def make_past_due(store: Store, ticket: str, minutes: int = 5) -> None:
    """Give `ticket` a due time `minutes` ago, through the real write path."""

    async def past_due(current: Incident) -> Plan[Incident]:
        late = datetime.now(UTC) - timedelta(minutes=minutes)
        updated = msgspec.structs.replace(current, due_at=late, version=current.version + 1)
        event = Requeued(
            ticket=ticket, at=late, actor="test", category=current.category, due_at=late,
            reason="test", version=updated.version,
        )  # fmt: skip
        return Plan(updated, event)

    await kept_incidents(store).change(ticket, past_due)
