"""The residents' pages: report a need, follow a ticket, find an open warming station. No sign-in."""

from __future__ import annotations

import hmac
import re
from datetime import UTC, datetime, timedelta

import msgspec
from quart import Blueprint, Response, current_app, render_template, request
from quart_rate_limiter import rate_limit
from quart_schema import hide

from geo.point import Point
from incident import callbacks, duplicates, photos
from incident.alarms import raise_alarm
from incident.auth.throttle import client_address
from incident.config import Category, SurgeConfig
from incident.duplicates import Nearby
from incident.incidents_api import log_call
from incident.intake import CallIn
from incident.languages import current as current_language
from incident.languages import gettext, ngettext
from incident.maps import CENTER, StormlineMap, map_parts
from incident.phone import to_e164
from incident.problems import Problem, invalid_field
from incident.public_api import LOOKUPS_PER_ADDRESS, normal_ticket, open_stations, ticket_status
from incident.records import Channel
from incident.status import MEANING, NAME
from incident.updates import follow_key, photo_key, stop_key
from incident.web import geo, public_base_url, store, surge_config, triage_engine

blueprint = Blueprint("public_pages", __name__)


@blueprint.get("/track")
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
@hide
async def track() -> tuple[str, int]:
    """Look a ticket up by its number: where it stands, in plain words. Nothing personal is shown."""
    ticket = normal_ticket(request.args.get("ticket") or "")
    found = await ticket_status(ticket) if ticket else None
    page = await render_template(
        "track.html",
        public_page=True,
        ticket=ticket,
        found=found,
        key=request.args.get("k", "") if found and _follows(ticket, request.args.get("k", "")) else "",
        answered=request.args.get("answered") == "1",
        callback_place=await callbacks.place_of(store(), found.ticket) if found else None,
        meaning=gettext(MEANING[found.status]) if found else None,
        meanings={status.value: gettext(words) for status, words in MEANING.items()},
        names={status.value: gettext(name) for status, name in NAME.items()},
    )
    return page, 404 if ticket and found is None else 200


@blueprint.post("/track/answer")
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
@hide
async def post_answer() -> Response:
    """The resident answers from their signed link: still in need, or no longer; supervisors hear of it.

    Said after the work is done ("still need help"), or before it is ("no longer need help"), it is an
    alarm on the incident; either way it goes into the incident's history. Once an hour per answer.
    """
    form = await request.form
    ticket = normal_ticket(form.get("ticket") or "")
    answer = form.get("answer") or ""
    if answer not in ("still", "done") or not _follows(ticket, form.get("k") or ""):
        raise Problem(403, "Forbidden", "this link does not let you answer for that request", kind="bad-link")
    found = await ticket_status(ticket)
    if found is None:
        raise Problem(404, "Not Found", "no such ticket", kind="unknown-ticket")
    message = (
        "The resident says they still need help"
        if answer == "still"
        else "The resident says they no longer need help"
    )
    once = store().keys.resident_answer(ticket, answer)
    await raise_alarm(store(), ticket, "resident-answer", message, once=once, ttl=3600)
    # 303: after a form post, the browser follows with a GET of the page, thanked.
    return Response("", 303, {"Location": f"/track?ticket={ticket}&k={form.get('k')}&answered=1"})


@blueprint.get("/updates/stop")
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
@hide
async def stop_page() -> tuple[str, int]:
    """From an update's "stop" link: asks to confirm (a mail scanner following links stops nothing)."""
    ticket, address, key = (request.args.get(name, "") for name in ("ticket", "to", "k"))
    valid = _may_stop(ticket, address, key)
    page = await render_template(
        "resident_stop.html",
        public_page=True,
        ticket=ticket,
        address=address,
        key=key,
        valid=valid,
        done=False,
    )
    return page, 200 if valid else 403


@blueprint.post("/updates/stop")
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
@hide
async def post_stop() -> tuple[str, int]:
    """Stop the emails about one request to one address; the others who follow it still hear."""
    form = await request.form
    ticket, address, key = (form.get(name) or "" for name in ("ticket", "to", "k"))
    if not _may_stop(ticket, address, key):
        raise Problem(403, "Forbidden", "this link does not stop those emails", kind="bad-link")
    await store().redis.hdel(store().keys.followers(ticket), f"email:{address}")
    page = await render_template(
        "resident_stop.html", public_page=True, ticket=ticket, address=address, key=key, valid=True, done=True
    )
    return page, 200


def _may_stop(ticket: str, address: str, key: str) -> bool:
    secret = str(current_app.secret_key or "")
    return bool(ticket and address and key) and hmac.compare_digest(key, stop_key(secret, ticket, address))


def _follows(ticket: str, key: str) -> bool:
    """Whether `key` is the one the request's followers were sent (updates.follow_key)."""
    secret = str(current_app.secret_key or "")
    return bool(key) and hmac.compare_digest(key, follow_key(secret, ticket))


@blueprint.get("/stations")
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
@hide
async def stations_page() -> str:
    """Open warming stations on a map and as a list: where, hours, what they have, places left."""
    # The list is drawn here (it reads without script); public.js draws the markers and keeps both
    # current from /api/v1/public/stations.
    figure = StormlineMap(location=CENTER, zoom_start=12, tiles=None, control_scale=True)
    return await render_template(
        "stations.html",
        public_page=True,
        items=await open_stations(),
        words=_station_words(),
        **map_parts(figure),
    )


def _station_words() -> dict[str, str]:
    """What public.js writes when it redraws the list, in the page's language ({n}, {place}: filled in)."""
    return {
        "full": gettext("Full"),
        "one_place": ngettext("%(num)d place left", "%(num)d places left", 1) % {"num": 1},
        "places": ngettext("%(num)d place left", "%(num)d places left", 2).replace("%(num)d", "{n}"),
        "near": gettext("Near %(place)s").replace("%(place)s", "{place}"),
        "directions": gettext("Directions"),
        "hours": gettext("Hours: %(hours)s").replace("%(hours)s", "{hours}"),
        "accessible": gettext("wheelchair accessible"),
        "pets": gettext("pets welcome"),
        "medical_power": gettext("power for medical equipment"),
        "food": gettext("food"),
        "cots": gettext("cots"),
    }


REPORTS_PER_ADDRESS = 10  # an hour, from one network address
REPORTS_PER_CONTACT = 5  # an hour, from one phone number or email, wherever it is typed
HONEYPOT = "website"  # a field no person sees or fills; a form robot fills every field it finds


async def _contact() -> str:
    """The rate limiter's key for a report that leaves a phone number or an email: that contact."""
    form = await request.form
    return "contact:" + (form.get("phone") or form.get("email") or "").strip().lower()


async def _no_contact() -> bool:
    """A report with no contact is limited by its network address alone (the limit the robot meets)."""
    form = await request.form
    return not (form.get("phone") or form.get("email") or "").strip()


@blueprint.get("/report")
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
@hide
async def report_form() -> str:
    """A resident reports a need on the web: what, where, what happened, how to reach them."""
    return await _render_form(_offered_to_residents(surge_config()), {}, None)


@blueprint.post("/report")
@rate_limit(REPORTS_PER_ADDRESS, timedelta(hours=1), key_function=client_address)
@rate_limit(REPORTS_PER_CONTACT, timedelta(hours=1), key_function=_contact, skip_function=_no_contact)
@hide
async def post_report() -> tuple[str, int]:
    """File the report through the same intake as a phone call (triage, duplicates, zones), channel `web`.

    When triage hears a life at risk, the answer is a full-width "Call 911 now", and the report is
    kept, flagged for an agent as any life-safety call is.
    """
    config = surge_config()
    offered = _offered_to_residents(config)
    form = await request.form
    if form.get(HONEYPOT):
        return await _render_form(offered, {}, gettext("This form could not be sent. Please call 311.")), 400
    fields = {name: (form.get(name) or "").strip() for name in _REPORT_FIELDS}
    try:
        taken_at = await _keep_photo(fields)
        call = _report_call(config, offered, fields, taken_at)
        nearby = await _nearby(config, call)
        if nearby and not form.get("new") and form.get("ticket") not in {n.ticket for n in nearby}:
            # Someone may have reported this already: offer it before filing another ticket.
            offer = await render_template(
                "resident_duplicate.html",
                public_page=True,
                fields=fields,
                nearby=nearby,
                now=datetime.now(UTC),
            )
            return offer, 200
        if form.get("ticket") in {n.ticket for n in nearby}:
            call = msgspec.structs.replace(call, ticket=form.get("ticket"))
        receipt = (await log_call(call, None)).receipt
    except Problem as problem:
        return await _render_form(offered, fields, _said(problem)), problem.status
    place = await _call_me_back(config, fields, receipt.ticket) if fields["call_me"] else None
    page = await render_template(
        "resident_reported.html",
        public_page=True,
        receipt=receipt,
        life_safety=receipt.transfer_to_911,
        callback_place=place,
    )
    return page, 201


_REPORT_FIELDS = ("category", "address", "lat", "lon", "description", "phone", "email", "photo_id", "call_me")


async def _call_me_back(config: SurgeConfig, fields: dict[str, str], ticket: str) -> int | None:
    """A resident who asked to be called: in the callback queue (once per ticket); their place in it."""
    if not fields["phone"] or to_e164(fields["phone"], config.jurisdiction.phone_region) is None:
        return None  # the report stands; without a number there is no one to call
    asked = callbacks.CallbackIn(
        phone=fields["phone"],
        reason="web",
        language=str(current_language()),
        ticket=ticket,
        source_id=f"web:{ticket}",
    )
    await callbacks.request(store(), config, asked, None)
    return await callbacks.place_of(store(), ticket)


async def _keep_photo(fields: dict[str, str]) -> Point | None:
    """Keep an uploaded photo, cleaned (its id goes in `fields`); where it was taken, if it says."""
    upload = (await request.files).get("photo")
    data = upload.read() if upload is not None else b""
    secret = str(current_app.secret_key or "")
    if not data:
        # Carried by the duplicate offer's form as "<id>.<key>": only an id this server handed out.
        photo_id, _, key = fields["photo_id"].partition(".")
        valid = re.fullmatch(photos.PHOTO_ID, photo_id) and hmac.compare_digest(
            key, photo_key(secret, photo_id)
        )
        if not valid:
            fields["photo_id"] = ""
        return None
    cleaned = photos.clean(data)
    photo_id = await photos.keep(store(), cleaned)
    fields["photo_id"] = f"{photo_id}.{photo_key(secret, photo_id)}"
    return cleaned.taken_at


OFFERED_DUPLICATES = 3  # the nearest open reports of the same kind a resident is shown


async def _nearby(config: SurgeConfig, call: CallIn) -> list[Nearby]:
    """Open reports of the same kind near the place, nearest first; none when a life may be at risk."""
    if call.category is None or triage_engine().triage(call.narrative, call.answers).life_safety:
        return []  # 911 first: nothing stands between the resident and that answer
    point = call.location
    if point is None and call.address:
        located = geo().locate(call.address)
        point = located.best.point if located.best else None
    if point is None:
        return []
    found = await duplicates.find(
        store(), config, category=call.category, point=point, callback_e164=None, now=datetime.now(UTC)
    )
    return found.nearby[:OFFERED_DUPLICATES]


def _offered_to_residents(config: SurgeConfig) -> list[Category]:
    """What residents may report: the public services, in the order the mode's profile offers them."""
    public = set(config.open311.services)
    return [c for c in config.categories if c.code in public and not c.sensitive] or [
        c for c in config.categories if c.code in public
    ]


def _report_call(
    config: SurgeConfig, offered: list[Category], fields: dict[str, str], taken_at: Point | None
) -> CallIn:
    """The form as a call, every field checked before intake (a report is stored whole or not at all)."""
    if fields["category"] not in {c.code for c in offered}:
        raise invalid_field("category", gettext("Choose what you are reporting."))
    if not fields["description"]:
        raise invalid_field("description", gettext("Say in a few words what happened."))
    point = None
    if fields["lat"] or fields["lon"]:
        try:
            point = {"lat": float(fields["lat"]), "lon": float(fields["lon"])}
        except ValueError:
            raise invalid_field(
                "location", gettext("Your location could not be read; type the address.")
            ) from None
    if point is None and not fields["address"] and taken_at is not None:
        point = {"lat": taken_at.lat, "lon": taken_at.lon}  # where the photo says it was taken
    if point is None and not fields["address"]:
        raise invalid_field("address", gettext("Give an address or a corner, or use your location."))
    try:
        return msgspec.convert(
            {
                "narrative": fields["description"][: config.intake.max_narrative_chars],
                "channel": Channel.WEB,
                "category": fields["category"],
                "address": fields["address"] or None,
                "location": point,
                "callback_number": fields["phone"] or None,
                "email": fields["email"] or None,
                "media_url": _photo_url(fields["photo_id"].partition(".")[0]),
                "language": current_language().code,
            },
            CallIn,
        )
    except msgspec.ValidationError as error:
        field = str(error).rpartition("at `$.")[2].rstrip("`").split(".")[0] or "form"
        raise invalid_field(field, gettext("Check this field.")) from None


def _photo_url(photo_id: str) -> str | None:
    """Where staff open the report's photo (an absolute URL, as Open311's media_url is)."""
    return f"{public_base_url()}/photos/{photo_id}.jpg" if photo_id else None


def _said(problem: Problem) -> str:
    """A refusal in the resident's words: the field's own message, else the problem's."""
    errors = problem.extra.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("detail") or problem.detail)
    return str(problem.detail)


async def _render_form(offered: list[Category], fields: dict[str, str], error: str | None) -> str:
    # The pin map: the offline base layer, no tiles a resident's browser would fetch from elsewhere.
    figure = StormlineMap(location=CENTER, zoom_start=12, tiles=None, control_scale=True)
    return await render_template(
        "resident_report.html",
        **map_parts(figure),
        public_page=True,
        offered=offered,
        fields=fields,
        error=error,
        honeypot=HONEYPOT,
        max_chars=surge_config().intake.max_narrative_chars,
    )
