"""The outbox: deliveries to partner systems, never lost, retried until taken.

Targets: `psap` (the 911 center's endpoint, with its token), `webhook` (an agency's URL, POSTed
JSON) and `email` (an agency's address, through the SMTP server in STORMLINE_SMTP_URL).

A delivery is appended to a Redis stream in the same atomic step as the change that causes it (see
`enqueue`), so a change is never without its delivery. Every worker runs `deliver_forever`: it reads
the stream as one consumer of a shared group, POSTs each delivery with its id as Idempotency-Key (the
receiver sees a retry as the same message), acknowledges it once the partner answers 2xx, and takes
over deliveries another worker left unacknowledged for `retry_seconds` (a crashed worker, a partner
that was down). A partner being down delays its deliveries; it never blocks a call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import smtplib
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import httpx
from redis.exceptions import RedisError, ResponseError

from incident.config import SurgeConfig
from incident.events import Change
from incident.outbound import GuardedTransport, Policy
from incident.store import Store

log = logging.getLogger("stormline.outbox")
GROUP = "deliveries"


def enqueue(
    change: Change, store: Store, target: str, body: bytes, *, address: str = "", exercise: str | None = None
) -> str:
    """Add a delivery to `change`; returns its id (also the Idempotency-Key the partner sees).

    `address` is where a webhook or email delivery goes (the 911 center's is in the config). A delivery
    about a drill's incident (`exercise`) never reaches a real partner: it goes to the config's
    `exercise.test_endpoint` (911 and webhooks), or nowhere.
    """
    delivery_id = f"d-{int(time.time() * 1000)}-{secrets.token_hex(4)}"
    drill = ["exercise", exercise] if exercise else []
    change.command(
        "XADD",
        store.keys.outbox,
        "*",
        "id",
        delivery_id,
        "target",
        target,
        "address",
        address,
        *drill,
        "body",
        body,
    )
    return delivery_id


@dataclass(frozen=True)
class Senders:
    """How deliveries leave: the 911 center's client (with its token), agencies' client, SMTP."""

    psap: httpx.AsyncClient
    agencies: httpx.AsyncClient
    smtp_url: str = ""
    smtp_from: str = "stormline@localhost"
    sms: httpx.AsyncClient | None = None  # the SMS gateway's client, when one is configured
    sms_url: str = ""
    sms_from: str = ""


async def deliver_forever(
    store: Store,
    config: SurgeConfig,
    psap_token: str,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    smtp_url: str = "",
    smtp_from: str = "stormline@localhost",
    sms_url: str = "",
    sms_from: str = "",
) -> None:
    """Deliver until cancelled. Safe to run in every worker at once."""
    consumer = f"{os.getpid()}-{secrets.token_hex(3)}"
    await _ensure_group(store)
    headers = {"Content-Type": "application/json"}
    if psap_token:
        headers["Authorization"] = f"Bearer {psap_token}"
    retry_ms = config.handoff.retry_seconds * 1000
    async with (
        httpx.AsyncClient(
            transport=transport, timeout=config.handoff.timeout_seconds, headers=headers
        ) as psap,
        # Agencies get no 911 token: their own client, their own timeout, and only the addresses the
        # outbound policy allows (a webhook URL is typed by a person or comes in an import).
        httpx.AsyncClient(
            transport=GuardedTransport(Policy.allowing(config.referrals.allow_private)),
            timeout=config.referrals.timeout_seconds,
            headers={"Content-Type": "application/json"},
            follow_redirects=False,
        ) as agencies,
        # The city's own SMS gateway (a configured URL, with its credentials in it).
        httpx.AsyncClient(timeout=config.referrals.timeout_seconds, follow_redirects=False) as sms,
    ):
        senders = Senders(psap, agencies, smtp_url, smtp_from, sms, sms_url, sms_from)
        # A partner that failed is tried again with one delivery per retry_seconds, not with every one
        # pending for it: in an outage at the peak, hundreds of doomed attempts a second would take
        # the CPU the calls and the live map need. Skipped deliveries stay pending and come back.
        failing: dict[tuple[bytes, bytes], float] = {}  # (target, address) → when to try it again
        while True:
            try:
                entries = await _next(store, consumer, retry_ms)
                for entry_id, fields in entries:
                    partner = (fields.get(b"target", b"psap"), fields.get(b"address", b""))
                    if failing.get(partner, 0.0) > time.monotonic():
                        continue
                    if await _deliver(store, config, senders, entry_id, fields):
                        failing.pop(partner, None)
                    else:
                        failing[partner] = time.monotonic() + config.handoff.retry_seconds
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:
                log.warning("outbox: %s; trying again", error)
                await asyncio.sleep(1)
            except Exception:  # the deliverer must outlive anything one entry does to it
                log.exception("outbox: unexpected error; going on")
                await asyncio.sleep(1)


async def _ensure_group(store: Store) -> None:
    try:
        await store.redis.xgroup_create(store.keys.outbox, GROUP, id="0", mkstream=True)
    except ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


async def _next(store: Store, consumer: str, retry_ms: int) -> list[tuple[bytes, dict[bytes, bytes]]]:
    # Deliveries left unacknowledged (failed, or their worker died) come back after retry_ms…
    claimed: list[Any] = await store.redis.xautoclaim(
        store.keys.outbox, GROUP, consumer, min_idle_time=retry_ms, start_id="0-0", count=10
    )
    if claimed[1]:
        return [(entry_id, fields) for entry_id, fields in claimed[1] if fields]
    # …and new ones are read as they arrive.
    fresh = cast(
        list[Any],
        await store.redis.xreadgroup(GROUP, consumer, {store.keys.outbox: ">"}, count=10, block=1000),
    )
    return [(entry_id, fields) for _, entries in fresh for entry_id, fields in entries] if fresh else []


async def _deliver(
    store: Store, config: SurgeConfig, senders: Senders, entry_id: bytes, fields: dict[bytes, bytes]
) -> bool:
    """Try one delivery; whether the partner took it."""
    delivery_id = fields[b"id"].decode()
    status_key = store.keys.delivery(delivery_id)
    await store.redis.hincrby(status_key, "attempts", 1)
    target = fields.get(b"target", b"psap").decode()
    address = fields.get(b"address", b"").decode()
    try:
        if b"exercise" in fields:
            test = config.exercise.test_endpoint
            json_body = target in ("psap", "webhook")
            sent = (
                await _post(senders.agencies, test, delivery_id, fields[b"body"])
                if test and json_body
                else None
            )
            error = sent
        elif target == "sms":
            error = await _text(store, senders, address, delivery_id, fields[b"body"])
        elif target in _LETTERS:
            timeout = config.referrals.timeout_seconds
            letter = _LETTERS[target](fields[b"body"])
            error = await _email(senders, address, delivery_id, letter, timeout)
        else:
            client = senders.psap if target == "psap" else senders.agencies
            endpoint = config.handoff.psap_endpoint if target == "psap" else address
            error = (
                await _post(client, endpoint, delivery_id, fields[b"body"])
                if endpoint
                else f"no {target} address"
            )
    except Exception:
        log.exception("outbox: delivery %s to %s failed", delivery_id, target)
        error = "not delivered: an unexpected error (see the server's log)"
    if error:
        # Stays pending and comes back after retry_seconds; for the 911 center, the acknowledgement
        # alarm tells supervisors meanwhile.
        await store.redis.hset(status_key, "error", error[:300])
        return False
    pipe = store.redis.pipeline(transaction=True)
    pipe.xack(store.keys.outbox, GROUP, entry_id)
    pipe.hset(status_key, mapping={"delivered_at": repr(time.time()), "error": ""})
    await pipe.execute()
    return True


async def _post(client: httpx.AsyncClient, url: str, delivery_id: str, body: bytes) -> str | None:
    """POST the body; None when the receiver took it (2xx), else what went wrong, in general terms.

    The detail (refused, reset, timed out, which port) goes to the log only: shown to the person who
    typed the URL, it would tell them what answers where.
    """
    try:
        response = await client.post(url, content=body, headers={"Idempotency-Key": delivery_id})
    except httpx.HTTPError as error:
        log.warning("outbox: delivery %s to %s: %s: %s", delivery_id, url, type(error).__name__, error)
        return "not delivered: the receiver could not be reached"
    if 200 <= response.status_code < 300:
        return None
    log.warning("outbox: delivery %s to %s: HTTP %s", delivery_id, url, response.status_code)
    return "not delivered: the receiver did not accept it"


async def _text(store: Store, senders: Senders, to: str, delivery_id: str, body: bytes) -> str | None:
    """Send a text through the gateway (Twilio's form: To, From, Body); never to a number that said STOP."""
    if await store.redis.sismember(store.keys.sms_stopped, to):
        return None  # STOP is honoured for every later message: this one is dropped, not retried
    if senders.sms is None or not senders.sms_url:
        return "no SMS gateway configured (STORMLINE_SMS_URL)"
    form = {"To": to, "From": senders.sms_from, "Body": str(json.loads(body)["text"])}
    try:
        response = await senders.sms.post(
            senders.sms_url, data=form, headers={"Idempotency-Key": delivery_id}
        )
    except httpx.HTTPError as error:
        log.warning("outbox: text %s: %s: %s", delivery_id, type(error).__name__, error)
        return "not delivered: the SMS gateway could not be reached"
    if 200 <= response.status_code < 300:
        return None
    log.warning("outbox: text %s: HTTP %s", delivery_id, response.status_code)
    return "not delivered: the SMS gateway did not accept it"


def _referral_letter(body: bytes) -> EmailMessage:
    """A referral to an agency: its fields in words, and the JSON attached for their systems."""
    message = EmailMessage()
    message["Subject"] = "Referral from the 311 center"
    message.set_content(_readable(body))
    message.add_attachment(body, maintype="application", subtype="json", filename="referral.json")
    return message


def _resident_letter(body: bytes) -> EmailMessage:
    """An update to a resident (incident/updates.py wrote it in their language): plain text only."""
    data = json.loads(body)
    message = EmailMessage()
    message["Subject"] = str(data["subject"])
    message.set_content(str(data["text"]))
    return message


_LETTERS = {"email": _referral_letter, "resident_email": _resident_letter}
"""The deliveries that go by email, and how each is written."""


async def _email(
    senders: Senders, to: str, delivery_id: str, message: EmailMessage, wait_s: float
) -> str | None:
    """Send the delivery as an email; its Message-ID is the delivery id, so a resend is recognisable."""
    if not senders.smtp_url:
        return "no SMTP server configured (STORMLINE_SMTP_URL)"
    if not to:
        return "no email address"
    message["From"], message["To"] = senders.smtp_from, to
    message["Message-ID"] = f"<{delivery_id}@stormline>"
    try:
        await asyncio.to_thread(_smtp_send, senders.smtp_url, message, wait_s)
    except (OSError, smtplib.SMTPException) as error:
        log.warning("outbox: email %s to %s: %s: %s", delivery_id, to, type(error).__name__, error)
        return "not delivered: the mail server could not take it"
    return None


def _smtp_send(url: str, message: EmailMessage, timeout: float) -> None:
    parts = urlsplit(url)
    secure = parts.scheme == "smtps"
    connect = smtplib.SMTP_SSL if secure else smtplib.SMTP
    with connect(
        parts.hostname or "localhost", parts.port or (465 if secure else 25), timeout=timeout
    ) as smtp:
        if not secure and smtp.has_extn("starttls"):
            smtp.starttls()  # a password, or a caller's details, never go in the clear when avoidable
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)


def _readable(body: bytes) -> str:
    """The email's text: the referral's fields one per line, and the link to answer it."""
    data = json.loads(body)
    lines = [f"{key.replace('_', ' ')}: {value}" for key, value in data.get("referral", {}).items() if value]
    return "\n".join([*lines, "", f"See and answer it here: {data.get('link', '')}"])
