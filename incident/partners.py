"""Sharing incidents with partner agencies, and the CAP 1.2 feed they read.

A supervisor shares an incident (and may stop). From then on every change partners would see is a new
message in the incident's CAP chain, written in the same atomic step as the change itself (`republish`
below, a step of every incident write): an Alert, Updates that refer to the message before, and a
Cancel when it is shared no longer or its work is over. The feed only reads those
chains, so every partner and every worker sees the same messages with the same identifiers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, cast
from xml.sax.saxutils import escape, quoteattr

import msgspec
import phonenumbers

from incident.config import SurgeConfig
from incident.documents import CANCELLED, cap, partner_alert_id, partner_headline, partner_state
from incident.events import Change
from incident.incidents import kept_incidents
from incident.kept import Plan
from incident.problems import Problem, invalid_field
from incident.records import (
    Incident,
    PartnerAlert,
    PartnersChanged,
    PartnerShare,
    pack,
    unpack_incident,
    unpack_partner_alert,
)
from incident.status import DONE
from incident.store import Store

ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_TYPE = "application/cap+xml"
_READ_BATCH = 200
_TICKET_LIKE = r"\d{4}-\d{4,9}"


class SharingIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Share the incident with partner agencies, or stop; the headline is the supervisor's own words.

    The body is the whole decision: a share without `headline` uses the default one (the kind of work
    and the neighbourhood).
    """

    shared: bool
    headline: Annotated[str, msgspec.Meta(min_length=3, max_length=160)] | None = None


async def share(
    store: Store, config: SurgeConfig, ticket: str, request: SharingIn, actor: str | None
) -> Incident:
    """Record the supervisor's decision with its event; partners' next message follows from it."""
    headline = request.headline.strip() if request.headline else None
    if headline and _has_phone_number(headline, config.jurisdiction.phone_region):
        raise invalid_field("headline", "partners are never sent a phone number: leave it out")
    if not request.shared and headline is not None:
        raise invalid_field("headline", "a headline goes with a share, not with stopping one")

    async def decide(current: Incident) -> Plan[Incident] | None:
        was = current.partners
        if not request.shared and (was is None or not was.shared):
            return None  # nothing partners see to take back
        if request.shared and current.status in DONE:
            raise Problem(
                409,
                "Work is over",
                f"incident {ticket} is {current.status}: there is nothing for partners to follow",
                kind="work-over",
                status_now=str(current.status),
            )
        kept = headline if request.shared else (was.headline if was else None)
        if was is not None and was.shared == request.shared and was.headline == kept:
            return None
        now = datetime.now(UTC)
        updated = msgspec.structs.replace(
            current,
            partners=PartnerShare(shared=request.shared, headline=kept, by=actor, at=now),
            updated_at=now,
            version=current.version + 1,
        )
        event = PartnersChanged(
            ticket=ticket, at=now, actor=actor, shared=request.shared, headline=kept, version=updated.version
        )
        return Plan(updated, event)

    return await kept_incidents(store).change(ticket, decide)


def _has_phone_number(text: str, region: str) -> bool:
    return any(
        not re.fullmatch(_TICKET_LIKE, found.raw_string)  # a ticket number is fine to name
        for found in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    )


@dataclass(frozen=True, slots=True)
class Shown:
    """One incident as partners see it now: its latest message, and the one before (its reference)."""

    incident: Incident
    message: PartnerAlert
    previous: PartnerAlert | None


async def feed(store: Store, config: SurgeConfig, *, now: datetime) -> list[Shown]:
    """Every shared incident's latest message, and Cancels of the last `cancelled_hours`; newest first."""
    keys = store.keys
    since = int((now - timedelta(hours=config.partners.cancelled_hours)).timestamp())
    pipe = store.redis.pipeline(transaction=False)
    pipe.zrevrangebyscore(keys.partners_shared, "+inf", "-inf", withscores=True)
    pipe.zrevrangebyscore(keys.partners_cancelled, "+inf", since, withscores=True)
    shared, cancelled = cast(list[list[tuple[bytes, float]]], await pipe.execute())
    tickets = [ticket.decode() for ticket, _ in sorted(shared + cancelled, key=lambda row: -row[1])]
    shown: list[Shown] = []
    for start in range(0, len(tickets), _READ_BATCH):
        shown += await _read(store, tickets[start : start + _READ_BATCH])
    return shown


async def shown(store: Store, ticket: str) -> Shown | None:
    """The incident's latest message to partners, or None if it was never shared."""
    found = await _read(store, [ticket])
    return found[0] if found else None


async def _read(store: Store, tickets: Iterable[str]) -> list[Shown]:
    keys = store.keys
    pipe = store.redis.pipeline(transaction=False)
    for ticket in tickets:
        pipe.hget(keys.incident(ticket), "data")
        pipe.lrange(keys.partner_alerts(ticket), -2, -1)
    replies = await pipe.execute()
    out = []
    for blob, chain in zip(replies[::2], replies[1::2], strict=True):
        if not blob or not chain:
            continue
        messages = [unpack_partner_alert(raw) for raw in chain]
        previous = messages[-2] if len(messages) == 2 else None
        out.append(Shown(incident=unpack_incident(blob), message=messages[-1], previous=previous))
    return out


def alert(config: SurgeConfig, entry: Shown) -> str:
    """The entry's CAP 1.2 alert, as XML."""
    return cap(
        config, entry.incident, sender=config.handoff.sender, partner=entry.message, previous=entry.previous
    )


def atom(config: SurgeConfig, entries: list[Shown], *, base_url: str, now: datetime) -> str:
    """An Atom feed (RFC 4287) whose entries carry the CAP alerts inline, newest first."""
    updated = max((entry.message.sent for entry in entries), default=now)
    city = config.jurisdiction.name
    parts = [
        "<?xml version='1.0' encoding='utf-8'?>\n",
        f'<feed xmlns="{ATOM_NS}">',
        f"<id>urn:stormline:{config.jurisdiction.id}:partners:cap</id>",
        f"<title>{escape(city)} 311: incidents shared with partner agencies</title>",
        f"<subtitle>{escape(config.partners.restriction)}</subtitle>",
        f"<updated>{_atom_time(updated)}</updated>",
        f"<author><name>{escape(city)} 311</name></author>",
        f'<link rel="self" href={quoteattr(base_url + "/api/v1/partners/cap")}/>',
    ]
    for entry in entries:
        ticket = entry.incident.ticket
        body = alert(config, entry).partition("?>\n")[2]  # the alert element, without its declaration
        href = f"{base_url}/api/v1/partners/cap/{ticket}.xml"
        parts += [
            "<entry>",
            f"<id>{escape(partner_alert_id(config, ticket, entry.message))}</id>",
            f"<title>{entry.message.msg_type}: {escape(partner_headline(config, entry.incident))}</title>",
            f"<updated>{_atom_time(entry.message.sent)}</updated>",
            f'<link rel="alternate" type="{CAP_TYPE}" href={quoteattr(href)}/>',
            f'<content type="{CAP_TYPE}">{body}</content>',
            "</entry>",
        ]
    parts.append("</feed>\n")
    return "".join(parts)


def _atom_time(at: datetime) -> str:
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


PARTNER_ALERTS_KEPT = 10  # the latest messages of a chain; a feed needs the last two (its <references>)


def republish(change: Change, store: Store, before: Incident | None, after: Incident) -> None:
    """A change partners would see is a new CAP message in the shared incident's chain, written with it."""
    old, new = partner_state(before), partner_state(after)
    if old == new or new is None or (old is None and new == CANCELLED):
        return
    keys, ticket = store.keys, after.ticket
    # A chain that was cancelled starts again with an Alert when shared again (or reopened).
    kind = "Cancel" if new == CANCELLED else "Alert" if old in (None, CANCELLED) else "Update"
    message = PartnerAlert(version=after.version, sent=after.updated_at, msg_type=kind)
    at = int(after.updated_at.timestamp())
    alerts = keys.partner_alerts(ticket)
    change.command("RPUSH", alerts, pack(message)).command("LTRIM", alerts, str(-PARTNER_ALERTS_KEPT), "-1")
    if kind == "Cancel":
        change.zadd(keys.partners_cancelled, at, ticket).zrem(keys.partners_shared, ticket)
    else:
        change.zadd(keys.partners_shared, at, ticket).zrem(keys.partners_cancelled, ticket)
