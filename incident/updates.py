"""Residents told when their request moves: a consumer of the event stream that writes to the outbox.

A resident who left an email (on the phone, the web or an app), or who texted, follows the ticket.
Each round reads the events after the last one told, and for every step worth a message (given to a
crew, a crew on the way, done, referred to an agency, a ride booked) puts one email or text per
follower in the outbox, in the follower's language, with a link to the request's page. The messages
and the cursor move in one atomic step guarded on the cursor, so however many workers run the round,
each change is told once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import cast
from urllib.parse import urlencode

import msgspec

from dispatch import agencies
from dispatch.events import CrewMarked, IncidentAssigned
from incident.events import Change, Conflict, commit
from incident.history import Event, unpack_event
from incident.history_text import PUBLIC_WORDS, PublicStep, public_step
from incident.i18n import N_, translations
from incident.outbox import enqueue
from incident.store import Store

BATCH = 200
MAX_BATCHES = 50  # 10,000 events a round at most
TOLD = frozenset(
    {
        PublicStep.ASSIGNED,
        PublicStep.ON_THE_WAY,
        PublicStep.DONE,
        PublicStep.REFERRED,
        PublicStep.AGENCY_DECLINED,
        PublicStep.RIDE_BOOKED,
    }
)
# The events that can carry one of those steps (others are not decoded at all).
_TYPES = frozenset(
    {
        b"incident.status_changed",
        b"incident.assigned",
        b"crew.marked",
        b"referral.changed",
        b"transport.changed",
    }
)
_encode = msgspec.json.Encoder().encode


class ResidentsTold(msgspec.Struct, kw_only=True, tag="updates.sent"):
    """A round's messages to residents went into the outbox (kept in their own stream, not the feed)."""

    at: datetime
    through: str  # the last event id read
    messages: int


class ResidentEmail(msgspec.Struct, kw_only=True):
    """An update's email, as the outbox sends it."""

    subject: str
    text: str


def _signed(secret: str, text: str) -> str:
    """A short key (128 bits of HMAC-SHA256) only a holder of the secret could have made for `text`."""
    mac = hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:16]).decode().rstrip("=")


def follow_key(secret: str, ticket: str) -> str:
    """The key in a follower's link to their request: with it, they may say whether they still need help."""
    return _signed(secret, f"follow:{ticket}")


def stop_key(secret: str, ticket: str, address: str) -> str:
    """The key in one follower's "stop these emails" link: it stops that address for that request only."""
    return _signed(secret, f"stop:{ticket}:{address}")


def photo_key(secret: str, photo_id: str) -> str:
    """The key a resident's photo id carries from one form to the next (the duplicate offer).

    Only an id this server handed out goes with a report, never one typed in.
    """
    return _signed(secret, f"photo:{photo_id}")


def stop_link(public_url: str, secret: str, ticket: str, address: str) -> str:
    query = urlencode({"ticket": ticket, "to": address, "k": stop_key(secret, ticket, address)})
    return f"{public_url}/updates/stop?{query}"


def follow_link(public_url: str, secret: str, ticket: str, language: str = "") -> str:
    """The request's public page, signed for its follower (`follow_key`), in their language."""
    lang = f"&lang={language.split('-')[0]}" if language else ""
    return f"{public_url}/track?ticket={ticket}{lang}&k={follow_key(secret, ticket)}"


async def tell_round(store: Store, public_url: str | None, secret: str = "") -> int:
    """Tell followers of every event since the last round; returns how many messages went out."""
    total = 0
    for _ in range(MAX_BATCHES):  # a storm's events are caught up within a round, not one batch a round
        told = await _tell_batch(store, public_url, secret)
        if told is None:
            break
        total += told
    return total


async def _tell_batch(store: Store, public_url: str | None, secret: str) -> int | None:
    """One batch of events told; None when there is nothing more to read (or another worker has it)."""
    keys = store.keys
    cursor = cast(bytes | None, await store.redis.hget(keys.updates, "cursor"))
    if cursor is None:  # the first round ever: start from now, not from the whole past
        last = cast(list[tuple[bytes, dict[bytes, bytes]]], await store.redis.xrevrange(keys.events, count=1))
        start = last[0][0].decode() if last else "0-0"
        await store.redis.hsetnx(keys.updates, "cursor", start)
        return None
    entries = cast(
        list[tuple[bytes, dict[bytes, bytes]]],
        await store.redis.xrange(keys.events, min=f"({cursor.decode()}", max="+", count=BATCH),
    )
    if not entries:
        return None
    told: list[tuple[str, PublicStep, str | None]] = []
    for _, fields in entries:
        if fields.get(b"type") not in _TYPES:
            continue
        moved = unpack_event(fields[b"data"])
        shown = public_step(moved)
        if shown is not None and shown[0] in TOLD:
            told += [(ticket, shown[0], shown[1]) for ticket in _tickets(moved)]
    followers = await _followers(store, sorted({ticket for ticket, _, _ in told}))
    services = await agencies.by_id(store, sorted({service for _, _, service in told if service}))
    change = Change().guard(keys.updates, "cursor", cursor.decode())
    through = entries[-1][0].decode()
    change.hset(keys.updates, {"cursor": through})
    messages = 0
    for ticket, step, service in told:
        for contact, language in followers.get(ticket, {}).items():
            agency = services[service].organization if service in services else None
            link = follow_link(public_url, secret, ticket, language) if public_url else None
            kind, _, address = contact.partition(":")
            stop = stop_link(public_url, secret, ticket, address) if public_url and kind == "email" else None
            email = _email(ticket, step, agency, language, link, stop)
            if kind == "sms":  # the subject is the whole news; the link fits a text
                text = f"{email.subject}. {link}" if link else email.subject
                enqueue(change, store, "sms", _encode({"text": text}), address=address)
            else:
                enqueue(change, store, "resident_email", _encode(email), address=address)
            messages += 1
    batch = ResidentsTold(at=datetime.now(UTC), through=through, messages=messages)
    try:
        await commit(store.scripts.apply, change, batch, keys.updates_sent)
    except Conflict:
        return None  # another worker told this batch first, and goes on from there
    return messages


def _tickets(event: Event) -> list[str]:
    if isinstance(event, IncidentAssigned | CrewMarked):
        return event.tickets
    return [str(getattr(event, "ticket", ""))] if getattr(event, "ticket", "") else []


async def _followers(store: Store, tickets: list[str]) -> dict[str, dict[str, str]]:
    """Each ticket's followers ("email:<address>", "sms:<number>") and their languages."""
    pipe = store.redis.pipeline(transaction=False)
    for ticket in tickets:
        pipe.hgetall(store.keys.followers(ticket))
    found: dict[str, dict[str, str]] = {}
    for ticket, contacts in zip(tickets, await pipe.execute(), strict=True):
        if contacts:
            found[ticket] = {key.decode(): language.decode() for key, language in contacts.items()}
    return found


def _email(
    ticket: str,
    step: PublicStep,
    agency: str | None,
    language: str,
    link: str | None,
    stop: str | None = None,
) -> ResidentEmail:
    """One update, in the follower's language (English where the catalogue has no words yet)."""
    say = translations(language.split("-")[0]).gettext
    words = say(PUBLIC_WORDS[step]).format(agency=agency or say(N_("an outside agency")))
    lines = [say(N_("Ticket %(ticket)s")) % {"ticket": ticket}, words, ""]
    if link:
        lines.append(f"{say(N_('Follow it step by step, or tell us if you still need help:'))} {link}")
    lines.append(say(N_("You get these messages because you left this address with your request.")))
    if stop:
        lines.append(f"{say(N_('To get no more emails about this request:'))} {stop}")
    subject = f"{say(N_('Ticket %(ticket)s')) % {'ticket': ticket}}: {words}"
    return ResidentEmail(subject=subject, text="\n".join(lines))
