"""Referrals to outside agencies, followed to their end.

A referral goes from an incident to one agency service with the least the agency needs: what is
needed, the category, and — only as the caller agreed (the consent is recorded) — the address and the
caller's name and number. It is delivered through the outbox by the service's method (webhook or
email, retried until taken; by phone, the coordinator calls), and carries a link with a signed,
expiring token through which the agency sees that one referral and answers it without an account.
Statuses: sent → accepted / declined (with the reason) → completed; a referral not answered within
`referrals.follow_up_hours` is listed for follow-up.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, cast

import msgspec
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from dispatch import agencies
from dispatch.events import ReferralChanged
from geo.point import Point
from incident import outbox
from incident.config import Priority, SurgeConfig
from incident.events import Change, commit, retrying
from incident.incidents import select_calls, select_incident
from incident.kept import Kept, Plan
from incident.problems import Problem, invalid_field, unknown_ticket
from incident.status import Status
from incident.store import Store
from incident.transitions import move_along

ReferralStatus = Literal["sent", "accepted", "declined", "completed", "cancelled"]
NEXT: dict[str, frozenset[str]] = {
    "sent": frozenset({"accepted", "declined", "cancelled"}),
    "accepted": frozenset({"completed", "declined", "cancelled"}),
    "declined": frozenset(),
    "completed": frozenset(),
    "cancelled": frozenset(),
}
ANSWERED = frozenset({"accepted", "declined", "cancelled", "completed"})
_SALT = "stormline-referral-link"
_encode = msgspec.json.Encoder().encode


class ConsentIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    given: bool  # the caller agreed to their details going to the agency
    how: Literal["verbal", "written", "on_behalf"] = "verbal"
    note: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class Consent(msgspec.Struct, kw_only=True):
    given: bool
    how: str
    note: str | None
    recorded_by: str | None
    at: datetime
    call_id: str | None = None  # whose consent: the call of the person who gave it


class ReferralIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    service_id: Annotated[str, msgspec.Meta(max_length=80)]
    need: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]  # what the agency is asked to do
    consent: ConsentIn
    share_contact: bool = False  # the caller's name and number (needs consent)
    # Whose details and consent: that call's caller (default: the incident's latest call). An incident
    # gathers calls from different people; only the one who agreed is shared.
    call_id: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    share_address: bool = True  # the address and point (needs consent)


class Referral(msgspec.Struct, kw_only=True):
    id: str
    ticket: str
    service_id: str
    service: str  # "<organization>: <service>", as it was when sent
    method: str
    status: ReferralStatus = "sent"
    need: str
    category: str
    priority: Priority
    consent: Consent
    caller_name: str | None = None
    callback_number: str | None = None
    address: str | None = None
    location: Point | None = None
    reason: str | None = None  # why declined, or the agency's note
    delivery: str | None = None  # the outbox delivery (webhook, email)
    created_at: datetime
    created_by: str | None = None
    answered_at: datetime | None = None
    completed_at: datetime | None = None
    updated_at: datetime
    version: int = 1


class StatusIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    status: Literal["accepted", "declined", "completed", "cancelled"]
    reason: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


class Delivery(msgspec.Struct, kw_only=True):
    state: Literal["delivered", "waiting", "call the agency"]
    attempts: int = 0
    error: str | None = None
    delivered_at: datetime | None = None


class ReferralView(msgspec.Struct, kw_only=True):
    referral: Referral
    delivery: Delivery
    follow_up: bool  # sent and not answered within referrals.follow_up_hours


class AgencyView(msgspec.Struct, kw_only=True):
    """What the agency sees through its link: the referral, nothing else of the center's."""

    id: str
    ticket: str
    service: str
    status: str
    need: str
    category: str
    priority: Priority
    consent_given: bool
    caller_name: str | None
    callback_number: str | None
    address: str | None
    location: Point | None
    reason: str | None
    created_at: datetime
    link_expires_at: datetime
    may_become: list[str]


def _kept(store: Store) -> Kept[Referral]:
    return Kept(store, "referral", Referral, store.keys.referral)


def serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def link_token(secret_key: str, referral_id: str) -> str:
    return serializer(secret_key).dumps(referral_id)


def read_token(secret_key: str, config: SurgeConfig, token: str) -> tuple[str, datetime]:
    """The referral id a link names, and when the link expires; 404 for a bad or expired token."""
    try:
        referral_id, signed_at = serializer(secret_key).loads(
            token, max_age=config.referrals.link_days * 86400, return_timestamp=True
        )
    except SignatureExpired:
        raise Problem(
            410, "Link expired", "this referral link has expired; ask the 311 center", kind="link-expired"
        ) from None
    except BadSignature:
        raise Problem(404, "Not Found", "no such referral link", kind="unknown-link") from None
    expires = cast(datetime, signed_at).astimezone(UTC) + timedelta(days=config.referrals.link_days)
    return str(referral_id), expires


async def get(store: Store, referral_id: str) -> Referral:
    return await _kept(store).get_or_404(referral_id)


async def create(
    store: Store,
    config: SurgeConfig,
    ticket: str,
    data: ReferralIn,
    actor: str | None,
    *,
    secret_key: str,
    base_url: str | None,
) -> Referral:
    """Refer the incident to a service; delivered by its method in the same atomic step.

    A webhook or email referral carries a link to Stormline, built only from the configured public
    address (`base_url`); without one it is refused, and a referral by phone still works.
    """
    if (data.share_contact or data.share_address) and not data.consent.given:
        field = "share_contact" if data.share_contact else "share_address"
        raise invalid_field(field, "the caller's details go to an agency only with their consent")
    service = await agencies.get(store, data.service_id)
    if service.method in ("webhook", "email") and not base_url:
        raise Problem(
            409,
            "No public address",
            "referral links go to agencies only from STORMLINE_PUBLIC_URL, which is not set: an "
            "administrator sets it (where agencies reach this center), or the referral is made by phone",
            kind="no-public-url",
        )
    number = int(await store.redis.incr(store.keys.seq("referral")))
    referral_id = f"F{number}"

    async def attempt() -> Referral:
        incident = await select_incident(store, ticket)
        if incident is None:
            raise unknown_ticket(ticket)
        now = datetime.now(UTC)
        if data.call_id is not None and data.call_id not in incident.calls:
            raise invalid_field("call_id", f"no call {data.call_id!r} on incident {ticket}")
        chosen = data.call_id or incident.calls[-1]
        found = await select_calls(store, [chosen]) if data.share_contact else []
        caller = found[0] if found else None
        referral = Referral(
            id=referral_id,
            ticket=ticket,
            service_id=service.id,
            service=f"{service.organization}: {service.name}",
            method=service.method,
            need=data.need,
            category=incident.category,
            priority=incident.priority,
            consent=Consent(
                given=data.consent.given,
                how=data.consent.how,
                note=data.consent.note,
                recorded_by=actor,
                at=now,
                call_id=chosen,
            ),
            caller_name=caller.caller_name if caller else None,
            callback_number=(caller.callback_e164 or caller.callback_number) if caller else None,
            address=incident.address if data.share_address else None,
            location=incident.location if data.share_address else None,
            created_at=now,
            created_by=actor,
            updated_at=now,
        )
        change = Change()
        if service.method in ("webhook", "email"):
            link = f"{(base_url or '').rstrip('/')}/referral/{link_token(secret_key, referral_id)}"
            target, address = (
                ("webhook", service.webhook_url or "")
                if service.method == "webhook"
                else ("email", service.email_to or service.email or "")
            )
            body = _encode({"referral": _agency_payload(referral), "link": link})
            referral.delivery = outbox.enqueue(
                change, store, target, body, address=address, exercise=incident.exercise
            )
        _kept(store).put(change, None, referral)
        change.zadd(store.keys.referrals, int(now.timestamp()), referral_id)
        change.zadd(store.keys.unanswered_referrals, int(now.timestamp()), referral_id)
        if incident.status is Status.OPEN:  # waiting on no one else: the agency has it now
            move_along(change, store, incident, Status.REFERRED, now)
        event = ReferralChanged(
            referral_id=referral_id, ticket=ticket, at=now, actor=actor, status="sent", service_id=service.id
        )
        await commit(store.scripts.apply, change, event, store.keys.events, store.keys.history(ticket))
        return referral

    return await retrying(attempt, f"incident {ticket}")


async def forget(store: Store, tickets: frozenset[str]) -> None:
    """Delete the referrals of these incidents (a drill's purge: what was sent went to the test endpoint)."""
    keys = store.keys
    ids = [i.decode() for i in cast(list[bytes], await store.redis.zrange(keys.referrals, 0, -1))]
    pipe = store.redis.pipeline(transaction=True)
    for referral in await _kept(store).many(ids):
        if referral.ticket in tickets:
            pipe.delete(keys.referral(referral.id))
            pipe.zrem(keys.referrals, referral.id)
            pipe.zrem(keys.unanswered_referrals, referral.id)
    await pipe.execute()


async def answer(store: Store, referral_id: str, data: StatusIn, actor: str | None) -> Referral:
    """The agency's (or a coordinator's) answer: accepted, declined (why), completed; or cancelled."""
    if data.status == "declined" and not (data.reason and data.reason.strip()):
        raise invalid_field("reason", "say why the referral is declined")
    now = datetime.now(UTC)

    async def decide(current: Referral) -> Plan[Referral] | None:
        if data.status == current.status:
            return None
        if data.status not in NEXT[current.status]:
            raise Problem(
                409,
                "Not allowed",
                f"referral {referral_id} is {current.status}: it cannot become {data.status}",
                kind="illegal-transition",
                allowed=sorted(NEXT[current.status]),
            )
        updated = msgspec.structs.replace(
            current,
            status=data.status,
            reason=data.reason or current.reason,
            answered_at=current.answered_at or now,
            completed_at=now if data.status == "completed" else current.completed_at,
            updated_at=now,
        )
        change = Change().zrem(store.keys.unanswered_referrals, referral_id)
        incident = await select_incident(store, current.ticket)
        if incident is not None and incident.status is Status.REFERRED:
            after = {"declined": Status.OPEN, "cancelled": Status.OPEN, "completed": Status.RESOLVED}
            if data.status in after:
                move_along(change, store, incident, after[data.status], now)
        event = ReferralChanged(
            referral_id=referral_id,
            ticket=current.ticket,
            at=now,
            actor=actor,
            status=data.status,
            service_id=current.service_id,
            reason=data.reason,
        )
        return Plan(updated, event, change, [current.ticket])

    return await _kept(store).change(referral_id, decide)


async def view(store: Store, config: SurgeConfig, referral: Referral) -> ReferralView:
    return (await views(store, config, [referral]))[0]


async def views(
    store: Store, config: SurgeConfig, found: list[Referral], *, now: datetime | None = None
) -> list[ReferralView]:
    pipe = store.redis.pipeline(transaction=False)
    for referral in found:
        pipe.hgetall(store.keys.delivery(referral.delivery or "-"))
    states = await pipe.execute()
    due = (now or datetime.now(UTC)) - timedelta(hours=config.referrals.follow_up_hours)
    out = []
    for referral, raw in zip(found, states, strict=True):
        fields = {k.decode(): v.decode() for k, v in cast(dict[bytes, bytes], raw).items()}
        if referral.delivery is None:
            delivery = Delivery(state="call the agency")
        else:
            delivered = fields.get("delivered_at")
            delivery = Delivery(
                state="delivered" if delivered else "waiting",
                attempts=int(fields.get("attempts", 0)),
                error=fields.get("error") or None,
                delivered_at=datetime.fromtimestamp(float(delivered), UTC) if delivered else None,
            )
        follow_up = referral.status == "sent" and referral.created_at <= due
        out.append(ReferralView(referral=referral, delivery=delivery, follow_up=follow_up))
    return out


async def listing(
    store: Store,
    config: SurgeConfig,
    *,
    status: str | None = None,
    service_id: str | None = None,
    follow_up: bool = False,
    limit: int = 200,
    now: datetime | None = None,
) -> list[ReferralView]:
    """Referrals newest first, by status and agency; `follow_up`: unanswered past follow_up_hours."""
    now = now or datetime.now(UTC)
    if follow_up:
        due = now - timedelta(hours=config.referrals.follow_up_hours)
        raw = await store.redis.zrangebyscore(store.keys.unanswered_referrals, "-inf", int(due.timestamp()))
    else:
        raw = await store.redis.zrevrange(store.keys.referrals, 0, 4999)
    ids = [i.decode() for i in cast(list[bytes], raw)]
    found = [
        r
        for r in await _kept(store).many(ids)
        if (status is None or r.status == status) and (service_id is None or r.service_id == service_id)
    ]
    return await views(store, config, found[:limit], now=now)


def agency_view(referral: Referral, expires: datetime) -> AgencyView:
    payload = _agency_payload(referral)
    if referral.status in ("declined", "cancelled"):
        # No longer the agency's: its link shows where it stands, and no one's details any more.
        payload.update(caller_name=None, callback_number=None, address=None, location=None)
    return AgencyView(
        **payload, link_expires_at=expires, may_become=sorted(NEXT[referral.status] - {"cancelled"})
    )


def _agency_payload(referral: Referral) -> dict[str, Any]:
    return {
        "id": referral.id,
        "ticket": referral.ticket,
        "service": referral.service,
        "status": referral.status,
        "need": referral.need,
        "category": referral.category,
        "priority": referral.priority,
        "consent_given": referral.consent.given,
        "caller_name": referral.caller_name,
        "callback_number": referral.callback_number,
        "address": referral.address,
        "location": referral.location,
        "reason": referral.reason,
        "created_at": referral.created_at,
    }
