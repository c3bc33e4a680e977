"""Text messages (SMS): a short scripted conversation that files a request, and the commands residents use.

What / where / confirm, one message each, in the resident's language (a Spanish keyword or Spanish
words switch it); "STATUS <ticket>" answers where a ticket stands; STOP ends every message to that
number, honoured for good (START undoes it). A life at risk is filed at once and answered "call 911".
After a request is filed, further texts from the number go to it as more calls for a day. The gateway
(Twilio's shape: form-encoded From and Body, signed with X-Twilio-Signature) is checked by the route.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import cast

import msgspec

from incident.config import SurgeConfig
from incident.i18n import N_, translations
from incident.intake import CallIn
from incident.records import Channel
from incident.store import Store
from incident.triage import Engine

CONVERSATION_S = 2 * 3600  # an unfinished conversation is forgotten after two hours
FOLLOW_UP_S = 24 * 3600  # texts after a filed request go to it for a day
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "ALTO", "PARAR"})
START_WORDS = frozenset({"START", "UNSTOP", "YES START"})
SPANISH_WORDS = frozenset({"ESPAÑOL", "ESPANOL", "HOLA", "AYUDA", "SPANISH"})
YES = frozenset({"YES", "Y", "SI", "SÍ", "OK"})
NO = frozenset({"NO", "N"})
_STATUS = re.compile(r"^(?:STATUS|ESTADO)\s+(\d{4})[\s-]*(\d{4,9})$", re.IGNORECASE)


class Conversation(msgspec.Struct, kw_only=True):
    """Where a number's conversation stands."""

    language: str = "en"
    step: str = "what"  # what, where, confirm, filed
    narrative: str = ""
    address: str = ""
    ticket: str = ""  # once filed


@dataclass(frozen=True)
class Reply:
    text: str


@dataclass(frozen=True)
class File:
    """File this call, then say `filed_text(ticket)`."""

    call: CallIn
    life_safety: bool


def signature_valid(token: str, url: str, params: dict[str, str], signature: str) -> bool:
    """Twilio's request signature: HMAC-SHA1 of the URL and the sorted parameters, base64."""
    if not token or not signature:
        return False
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    expected = base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()
    return hmac.compare_digest(expected, signature)


async def stopped(store: Store, number: str) -> bool:
    return bool(await store.redis.sismember(store.keys.sms_stopped, number))


async def receive(
    store: Store, config: SurgeConfig, engine: Engine, number: str, body: str
) -> Reply | File | None:
    """The next step of `number`'s conversation for `body`: a reply, a call to file, or None (silence)."""
    text = " ".join(body.split())[: config.intake.max_narrative_chars]
    word = text.upper().rstrip(".!")
    keys = store.keys
    state = await _state(store, number)
    if word in STOP_WORDS:
        await store.redis.sadd(keys.sms_stopped, number)
        await store.redis.delete(keys.sms_conversation(number))
        return Reply(_say(state, N_("You will get no more texts from 311. Text START to get them again.")))
    if word in START_WORDS:
        await store.redis.srem(keys.sms_stopped, number)
        return Reply(_say(state, N_("Texts from 311 are on again. What is the problem?")))
    if await stopped(store, number):
        return None  # a number that said STOP hears nothing more, whatever it sends
    if word in SPANISH_WORDS:
        state = msgspec.structs.replace(state, language="es")
        await _keep(store, number, state)
        if state.step == "what":
            return Reply(_say(state, N_("What is the problem? (For example: tree down, no heat.)")))
        return None
    if _STATUS.match(text):
        return None  # the route answers STATUS: it knows the public status
    if state.step == "filed" and state.ticket:
        follow_up = CallIn(
            narrative=text,
            channel=Channel.SMS,
            callback_number=number,
            ticket=state.ticket,
            language=state.language,
        )
        return File(follow_up, life_safety=engine.triage(text, {}).life_safety)
    if engine.triage(text, {}).life_safety or (
        state.narrative and engine.triage(f"{state.narrative} {text}", {}).life_safety
    ):
        said = f"{state.narrative} {text}".strip() if state.step != "what" else text
        return File(_call(number, state, said, state.address or None), life_safety=True)
    if state.step == "what":
        await _keep(store, number, msgspec.structs.replace(state, step="where", narrative=text))
        return Reply(_say(state, N_("Where is it? Send an address or a corner (like Bailey & Kensington).")))
    if state.step == "where":
        state = msgspec.structs.replace(state, step="confirm", address=text)
        await _keep(store, number, state)
        question = _say(state, N_('"%(what)s" at %(where)s. Reply YES to send it, or NO to start again.'))
        return Reply(question % {"what": state.narrative, "where": state.address})
    if word in YES:
        return File(_call(number, state, state.narrative, state.address), life_safety=False)
    if word in NO:
        await _keep(store, number, Conversation(language=state.language))
        return Reply(_say(state, N_("Let us start again. What is the problem?")))
    return Reply(_say(state, N_("Reply YES to send it, or NO to start again.")))


async def filed(store: Store, number: str, language: str, ticket: str, life_safety: bool, new: bool) -> str:
    """Remember the filed ticket for follow-ups; what to text back."""
    state = Conversation(language=language, step="filed", ticket=ticket)
    await store.redis.set(store.keys.sms_conversation(number), _encode(state), ex=FOLLOW_UP_S)
    if life_safety:
        said = N_("If anyone is in danger, call 911 now. We kept your report as %(ticket)s.")
    elif new:
        said = N_("Thank you. Your ticket is %(ticket)s. Text STATUS %(ticket)s to see where it stands.")
    else:
        said = N_("Added to your request %(ticket)s.")
    return _say(state, said) % {"ticket": ticket}


def language_of(state_language: str) -> str:
    return state_language.split("-")[0]


def status_ticket(body: str) -> str | None:
    """The ticket a "STATUS 2026-000123" asks about."""
    found = _STATUS.match(" ".join(body.split()))
    return f"{found.group(1)}-{found.group(2)}" if found else None


async def conversation_language(store: Store, number: str) -> str:
    return (await _state(store, number)).language


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(Conversation).decode


async def _state(store: Store, number: str) -> Conversation:
    blob = cast(bytes | None, await store.redis.get(store.keys.sms_conversation(number)))
    return _decode(blob) if blob else Conversation()


async def _keep(store: Store, number: str, state: Conversation) -> None:
    await store.redis.set(store.keys.sms_conversation(number), _encode(state), ex=CONVERSATION_S)


def _call(number: str, state: Conversation, narrative: str, address: str | None) -> CallIn:
    return CallIn(
        narrative=narrative or "(a text message)",
        channel=Channel.SMS,
        callback_number=number,
        address=address,
        language=state.language,
    )


def _say(state: Conversation, message: str) -> str:
    return translations(language_of(state.language)).gettext(message)
