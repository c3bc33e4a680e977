"""Staff casework on incidents: notes, finding an incident, and the list of past storms."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, cast

import msgspec

from incident import center
from incident.center import Activation
from incident.config import SurgeConfig
from incident.incidents import kept_incidents, select_incident, select_many
from incident.kept import Plan
from incident.phone import to_e164
from incident.records import Incident, NoteAdded
from incident.search_words import search_words
from incident.store import Store

_TICKET = re.compile(r"^\s*(\d{4})\s*[-– ]?\s*(\d{4,9})\s*$")  # "2026-000123", "2026 000123"
_WORD_HITS = 2000  # the newest this many per word are intersected: a storm's words are common


class NoteIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


async def add_note(store: Store, ticket: str, note: NoteIn, actor: str | None) -> Incident:
    """Keep a person's note in the incident's history (the incident's version moves with it)."""
    text = note.text.strip()

    async def decide(current: Incident) -> Plan[Incident] | None:
        now = datetime.now(UTC)
        updated = msgspec.structs.replace(current, updated_at=now, version=current.version + 1)
        return Plan(
            updated, NoteAdded(ticket=ticket, at=now, actor=actor, text=text, version=updated.version)
        )

    return await kept_incidents(store).change(ticket, decide)


class Found(msgspec.Struct, kw_only=True):
    by: str  # "ticket", "callback number" or "words"
    items: list[Incident]


async def search(store: Store, config: SurgeConfig, query: str, *, limit: int, by_number: bool) -> Found:
    """Incidents for what was typed: a ticket, a callback number (when allowed), or words, newest first."""
    if match := _TICKET.match(query):
        found = await select_incident(store, f"{match[1]}-{match[2]}")
        return Found(by="ticket", items=[found] if found else [])
    digits = sum(c.isdigit() for c in query)
    e164 = to_e164(query, config.jurisdiction.phone_region) if digits >= 7 else None
    if by_number and e164 is not None:
        tickets = cast(list[bytes], await store.redis.zrevrange(store.keys.by_caller(e164), 0, limit - 1))
        return Found(by="callback number", items=await select_many(store, [t.decode() for t in tickets]))
    words = search_words(query)
    if not words:
        return Found(by="words", items=[])
    pipe = store.redis.pipeline(transaction=False)
    for word in words:
        pipe.zrevrange(store.keys.by_word(word), 0, _WORD_HITS - 1, withscores=True)
    hits = cast(list[list[tuple[bytes, float]]], await pipe.execute())
    common = set.intersection(*({t for t, _ in each} for each in hits))
    newest = sorted(((s, t) for t, s in hits[0] if t in common), reverse=True)[:limit]
    return Found(by="words", items=await select_many(store, [t.decode() for _, t in newest]))


class StormList(msgspec.Struct, kw_only=True):
    items: list[Activation]  # newest first; one still running has no stood_down_at


async def storms(store: Store, limit: int = 100) -> StormList:
    ids = cast(list[bytes], await store.redis.zrevrange(store.keys.activations, 0, limit - 1))
    found = [a for a in [await center.activation(store, i.decode()) for i in ids] if a is not None]
    # The index scores whole seconds: two switches in one second are put in order here.
    return StormList(items=sorted(found, key=lambda a: a.activated_at, reverse=True))
