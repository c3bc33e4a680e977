"""The SMS gateway's webhook: a resident's text in, the answer out as TwiML (Twilio's shape)."""

from __future__ import annotations

from typing import cast
from xml.sax.saxutils import escape

from quart import Blueprint, Response, current_app, g, request
from quart_schema import hide

from incident import texts
from incident.i18n import languages
from incident.incidents_api import log_call
from incident.languages import gettext
from incident.phone import to_e164
from incident.problems import Problem, invalid_field
from incident.public_api import ticket_status
from incident.status import MEANING
from incident.web import public_url, store, surge_config, triage_engine

blueprint = Blueprint("sms_api", __name__, url_prefix="/api/v1")


@blueprint.post("/sms/inbound")
@hide
async def inbound() -> Response:
    """A resident's text (form-encoded From and Body, signed with X-Twilio-Signature), answered in TwiML.

    Configure the gateway to POST here; STORMLINE_SMS_TOKEN is its auth token, which signs each request
    (refused with 403 when the signature does not match).
    """
    form = await request.form
    params = {key: form[key] for key in form}
    signed_url = (public_url() or request.host_url.rstrip("/")) + request.full_path.rstrip("?")
    token = str(current_app.extensions.get("stormline.sms_token") or "")
    if not texts.signature_valid(token, signed_url, params, request.headers.get("X-Twilio-Signature", "")):
        raise Problem(
            403, "Forbidden", "X-Twilio-Signature does not match this request", kind="bad-signature"
        )
    number = to_e164(params.get("From", ""), surge_config().jurisdiction.phone_region)
    if number is None:
        raise invalid_field("From", "not a phone number")
    body = params.get("Body", "")
    sid = params.get("MessageSid", "")[:64]  # the gateway's id for the text: its retry gets the same answer
    if sid:
        answered = cast(bytes | None, await store().redis.get(store().keys.sms_reply(sid)))
        if answered is not None:
            return _twiml(answered.decode() or None)
    reply = await _answer(number, body, sid)
    if sid:
        await store().redis.set(store().keys.sms_reply(sid), reply or "", ex=texts.FOLLOW_UP_S, nx=True)
    return _twiml(reply)


async def _answer(number: str, body: str, sid: str) -> str | None:
    """What Stormline texts back to `number` for `body` (None: nothing)."""
    config = surge_config()
    language = await texts.conversation_language(store(), number)
    g.language = languages().get(texts.language_of(language), languages()["en"])  # answers in theirs
    asked = texts.status_ticket(body)
    if asked is not None:
        if await texts.stopped(store(), number):
            return None
        found = await ticket_status(asked)
        unknown = gettext("No request has that number.")
        return f"{asked}: {gettext(MEANING[found.status])}" if found else unknown
    step = await texts.receive(store(), config, triage_engine(), number, body)
    if step is None or isinstance(step, texts.Reply):
        return step.text if step else None
    receipt = (await log_call(step.call, f"sms:{sid}" if sid else None)).receipt
    life_safety = receipt.transfer_to_911 or step.life_safety
    return await texts.filed(store(), number, language, receipt.ticket, life_safety, receipt.new_incident)


def _twiml(text: str | None) -> Response:
    message = f"<Message>{escape(text)}</Message>" if text else ""
    body = f'<?xml version="1.0" encoding="UTF-8"?><Response>{message}</Response>'
    return Response(body, 200, content_type="application/xml")
