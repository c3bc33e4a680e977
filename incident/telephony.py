"""The seam to a city's phone system (CTI): what it tells Stormline of calls, and the screen pop back.

The phone system posts an event for each call it handles: a caller ringing or waiting, answered by
an agent, hanging up before anyone answered (an abandoned call), or pressing 1 for a callback. Each
answer is a screen pop: the caller's registry match (audited) and their open tickets, so the agent's
phone shows them before the first word. An abandoned call and a callback asked for at the IVR join
the callback queue (once per call of the phone system, however often it retries the event).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, cast

import msgspec

from incident import callbacks
from incident.config import Priority, SurgeConfig
from incident.incidents import select_many
from incident.phone import to_e164
from incident.problems import invalid_field
from incident.registry import CallerNeeds, Registry
from incident.status import DONE
from incident.store import Store

_OPEN_TICKETS = 10


class CallEvent(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    event: Literal["ringing", "answered", "abandoned", "callback_requested"]
    call_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]  # the phone system's id
    caller: Annotated[str, msgspec.Meta(min_length=3, max_length=40)]  # the calling number
    agent: Annotated[str, msgspec.Meta(max_length=200)] | None = None  # who answered, if anyone
    language: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")] = "en"


class OpenTicket(msgspec.Struct, kw_only=True):
    ticket: str
    category: str
    priority: Priority
    status: str
    opened_at: datetime


class ScreenPop(msgspec.Struct, kw_only=True):
    call_id: str
    caller: str  # E.164
    registered: list[CallerNeeds]
    open_tickets: list[OpenTicket]
    callback: str | None = None  # the callback request the event put in the queue


async def on_event(
    store: Store, config: SurgeConfig, registry: Registry, event: CallEvent, actor: str | None
) -> ScreenPop:
    e164 = to_e164(event.caller, config.jurisdiction.phone_region)
    if e164 is None:
        raise invalid_field("caller", f"{event.caller!r} is not a phone number")
    registered = await registry.match(e164, None, actor, "telephony", "screen_pop")
    tickets = cast(list[bytes], await store.redis.zrevrange(store.keys.by_caller(e164), 0, _OPEN_TICKETS * 3))
    found = await select_many(store, [t.decode() for t in tickets])
    open_tickets = [
        OpenTicket(
            ticket=i.ticket, category=i.category, priority=i.priority, status=i.status, opened_at=i.opened_at
        )
        for i in found
        if i.status not in DONE
    ][:_OPEN_TICKETS]
    made = None
    if event.event in ("abandoned", "callback_requested"):
        # A registered resident who could not wait goes ahead of the others.
        priority = Priority.P2 if registered else Priority.P3
        asked = callbacks.CallbackIn(
            phone=e164,
            reason="abandoned" if event.event == "abandoned" else "ivr",
            name=registered[0].name if registered else None,
            language=registered[0].language if registered else event.language,
            priority=priority,
            ticket=open_tickets[0].ticket if open_tickets else None,
            source_id=f"cti:{event.call_id}",
        )
        made = (await callbacks.request(store, config, asked, actor)).id
    return ScreenPop(
        call_id=event.call_id, caller=e164, registered=registered, open_tickets=open_tickets, callback=made
    )
