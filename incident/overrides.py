"""A person's override of triage's category or priority, kept beside the original decision."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec

from incident import center
from incident.config import Priority, SurgeConfig
from incident.events import Change
from incident.handoff import update_911
from incident.incidents import kept_incidents
from incident.kept import Plan
from incident.problems import invalid_field
from incident.records import Incident, Override, TriageOverridden
from incident.store import Store


class OverrideIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new category and/or priority, and why (the reason is required: it is read in the review)."""

    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=1000)]
    category: str | None = None
    priority: Priority | None = None


async def override(
    store: Store, config: SurgeConfig, ticket: str, request: OverrideIn, actor: str | None
) -> Incident:
    if request.category is None and request.priority is None:
        raise invalid_field("category", "give a category, a priority, or both")
    if request.category is not None and config.category(request.category) is None:
        raise invalid_field("category", f"unknown category {request.category!r}")

    async def decide(current: Incident) -> Plan[Incident] | None:
        state = await center.current(store)
        now = datetime.now(UTC)
        decision = Override(
            by=actor,
            at=now,
            reason=request.reason,
            category=request.category or current.category,
            priority=request.priority or current.priority,
            triage_category=current.triage.category if current.triage else None,
            triage_priority=current.triage.priority if current.triage else None,
        )
        updated = msgspec.structs.replace(
            current,
            category=decision.category,
            priority=decision.priority,
            override=decision,
            due_at=center.due(config, state.mode, decision.category, decision.priority, current.opened_at),
            updated_at=now,
            version=current.version + 1,
        )
        change = center.unchanged(Change(), store, state)  # dated for the mode it lands in
        updated = await update_911(store, config, current, updated, change)
        event = TriageOverridden(
            ticket=ticket, at=now, actor=actor, override=decision, version=updated.version
        )
        return Plan(updated, event, change)

    return await kept_incidents(store).change(ticket, decide)
