"""Open311 GeoReport v2 under /open311/v2/: residents' apps list services, file and follow requests.

Follows the published spec (wiki.open311.org/GeoReport_v2), JSON and XML alike. A request filed here
goes through the same intake as a phone call (geocoding, triage, duplicates, the 911 screen); one that
triage says puts a life at risk is answered with a notice to call 911. What anyone may read is the
public view: no names, numbers, narratives or caller-typed addresses, and requests of sensitive
categories (medical needs, welfare checks, rides) are never listed and show only their status.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from quart import Blueprint, Response, request
from quart_rate_limiter import rate_limit
from quart_schema import hide
from werkzeug.datastructures import MultiDict

from geo.gazetteer import pretty_street
from geo.point import Point
from geo.result import Method
from incident.config import Category, Question, SurgeConfig, vocabulary
from incident.georeport import Format, Open311Error, errors, format_of, render, render_one
from incident.incidents import IncidentFilter, select_calls, select_incident, select_incidents, select_many
from incident.incidents_api import TICKET, idempotency_key, log_call
from incident.intake import CallIn, CallReceipt
from incident.problems import Problem
from incident.public_api import LOOKUPS_PER_ADDRESS
from incident.public_view import listed
from incident.records import Channel, Incident
from incident.status import MEANING, Status
from incident.validation import xml_safe
from incident.web import geo, public_base_url, store, surge_config

blueprint = Blueprint("open311_api", __name__, url_prefix="/open311")

SPEC = "http://wiki.open311.org/GeoReport_v2"
FMT = "<any(json, xml):fmt>"
MAX_RESULTS = 1000  # the spec's suggested most per answer
DEFAULT_DAYS = 90  # the spec's default window, and the longest one a query may span
MAX_SCANNED = 20_000  # incidents one query may read: a busy storm day, and no more
FILINGS_PER_ADDRESS = 600  # a minute
_SCAN = 500
_CLOSED = frozenset({Status.RESOLVED, Status.CLOSED, Status.CANCELLED})
NOTICE_911 = (
    "If anyone is hurt or in danger, call 911 now. This report was logged with 311 but does not reach 911."
)
_DANGER_NOTICE = (
    "CALL 911 NOW: what you reported sounds like a life may be at risk. An app report does not reach 911; "
    "311 has logged it and will follow up, but call 911 yourself now."
)


@blueprint.errorhandler(Open311Error)
async def _open311_error(error: Open311Error) -> Response:
    return errors(format_of(request.path), error.status, error.description)


@blueprint.errorhandler(Problem)
async def _problem(problem: Problem) -> Response:
    # Intake's own checks (a narrative too long, an answer of the wrong kind) in the spec's format,
    # naming the field as the app sent it.
    detail = problem.detail
    for ours, theirs in _FIELDS.items():
        if detail.startswith(ours):
            detail = theirs + detail[len(ours) :]
            break
    return errors(format_of(request.path), 400 if problem.status == 422 else problem.status, detail)


_FIELDS = {  # intake's field names, and the spec's
    "narrative": "description",
    "callback_number": "phone",
    "caller_name": "first_name",
    "location": "lat and long",
    "address": "address_string",
    "answers.": "attribute.",
}


@blueprint.get(f"/discovery.{FMT}")
@hide
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
async def discovery(fmt: Format) -> Response:
    """The service discovery document: where the GeoReport v2 endpoint is, in which formats."""
    config = surge_config()
    base = public_base_url()
    return render_one(
        fmt,
        "discovery",
        {
            "changeset": _when(config, STARTED),
            "contact": f"{config.jurisdiction.name} 311",
            "key_service": "Ask the 311 center for an api_key (a token with the open311 role).",
            "endpoints": [
                {
                    "specification": SPEC,
                    "url": f"{base}/open311/v2",
                    "changeset": _when(config, STARTED),
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        },
    )


@blueprint.get(f"/v2/services.{FMT}")
@hide
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
async def services(fmt: Format) -> Response:
    """The services (categories) an app may file, each flagged when it has attributes to ask."""
    config = surge_config()
    _check_jurisdiction(config)
    records = [
        {
            "service_code": category.code,
            "service_name": category.name,
            "description": category.name,
            "metadata": True,  # every service asks at least the 911 screen
            "type": "realtime",
            "keywords": ",".join(_keywords(config, category.code)),
            "group": config.open311.group,
        }
        for category in _offered(config)
    ]
    return render(fmt, "services", "service", records)


@blueprint.get(f"/v2/services/<code>.{FMT}")
@hide
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
async def service_definition(code: str, fmt: Format) -> Response:
    """A service's attributes: the 911 screen and the category's own questions, in the order agents ask."""
    config = surge_config()
    _check_jurisdiction(config)
    category = _service(config, code, status=404)
    attributes: list[dict[str, Any]] = [
        {
            "variable": False,  # shown, not asked
            "code": "call_911",
            "datatype": "string",
            "required": False,
            "datatype_description": None,
            "order": 1,
            "description": NOTICE_911,
        }
    ]
    for order, question in enumerate(_questions(config, category), start=2):
        attributes.append(_attribute(question, order))
    return render_one(fmt, "service_definition", {"service_code": category.code, "attributes": attributes})


@blueprint.post(f"/v2/requests.{FMT}")
@hide
@rate_limit(FILINGS_PER_ADDRESS, timedelta(minutes=1))  # app keys ship inside apps: they are no secret
async def post_request(fmt: Format) -> Response:
    """File a service request (form-encoded, as the spec has it): the same intake as a phone call."""
    config = surge_config()
    form = await request.form
    _check_jurisdiction(config, form)
    category = _service(config, _required(form, "service_code"), status=404)
    answers = _answers(config, category, form)
    point = _point(form)
    address = _text(form, "address_string", 300)
    address_id = _text(form, "address_id", 300)
    if address_id is not None:
        point, address = _address_by_id(address_id)
    if point is None and address is None:
        raise Open311Error(400, "lat and long, address_string or address_id: give one, to say where")
    description = _text(form, "description", config.intake.max_narrative_chars)
    names = " ".join(n for n in (_text(form, "first_name", 99), _text(form, "last_name", 99)) if n)
    # Every field is checked before intake: once the call is stored, the app must hear it was taken.
    account_id = _text(form, "account_id", 100)
    _text(form, "device_id", 200)
    try:
        call = msgspec.convert(
            {
                "narrative": description or f"{category.name} (reported through an Open311 app)",
                "channel": Channel.OPEN311,
                "category": category.code,
                "address": address,
                "location": None if point is None else {"lat": point.lat, "lon": point.lon},
                "caller_name": names or None,
                "callback_number": _text(form, "phone", 40),
                "email": _text(form, "email", 254),
                "media_url": _text(form, "media_url", 2000),
                "answers": answers,
            },
            CallIn,
        )
    except msgspec.ValidationError as error:
        raise _problem_of(error) from None
    receipt = (await log_call(call, idempotency_key())).receipt
    # The request id is known at once, so no token is given (the spec: one or the other).
    record = {
        "service_request_id": receipt.ticket,
        "service_notice": _notice(receipt),
        "account_id": account_id,
    }
    return render(fmt, "service_requests", "request", [record], 201)


@blueprint.get(f"/v2/requests.{FMT}")
@hide
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
async def get_requests(fmt: Format) -> Response:
    """Requests, newest first: by ids, or by service code, dates and status (the last 90 days by default)."""
    config = surge_config()
    args = request.args
    _check_jurisdiction(config, args)
    ids = _list(args, "service_request_id")
    if ids:  # the spec: ids given, the other filters are ignored
        found = await select_many(store(), [t for t in ids[:MAX_RESULTS] if TICKET.match(t)])
        shown = [_record(config, i) for i in found if listed(config, i)]
        return render(fmt, "service_requests", "request", shown)
    codes = _list(args, "service_code")
    for code in codes:
        _service(config, code, status=400)
    statuses = _statuses(_list(args, "status"))
    start, end = _window(_date(args, "start_date"), _date(args, "end_date"))
    where = IncidentFilter(statuses=statuses, category=codes[0] if len(codes) == 1 else None, since=start)
    records: list[Incident] = []
    before: int | None = None
    scanned = 0
    # Newest first back to the window's start; a public read may cost only so much however it is asked.
    while len(records) < MAX_RESULTS and scanned < MAX_SCANNED:
        page, before = await select_incidents(store(), where, before=before, limit=_SCAN)
        scanned += len(page)
        records += [
            incident
            for incident in page
            if incident.opened_at <= end
            and (not codes or incident.category in codes)
            and listed(config, incident)
        ]
        if before is None:
            break
    return render(fmt, "service_requests", "request", [_record(config, i) for i in records[:MAX_RESULTS]])


@blueprint.get(f"/v2/requests/<request_id>.{FMT}")
@hide
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
async def get_request(request_id: str, fmt: Format) -> Response:
    """One request, by its id (the ticket number): where it stands."""
    config = surge_config()
    _check_jurisdiction(config)
    incident = await select_incident(store(), request_id) if TICKET.match(request_id) else None
    if incident is None:
        raise Open311Error(404, f"service_request_id: no request {request_id}")
    if listed(config, incident):
        return render(fmt, "service_requests", "request", [_record(config, incident)])
    return render(fmt, "service_requests", "request", [_private_record(config, incident)])


@blueprint.get(f"/v2/tokens/<token_id>.{FMT}")
@hide
@rate_limit(LOOKUPS_PER_ADDRESS, timedelta(minutes=1))
async def get_token(token_id: str, fmt: Format) -> Response:
    """The request id a token (from filing) stands for."""
    _check_jurisdiction(surge_config())
    calls = await select_calls(store(), [token_id]) if token_id[:1] == "C" and token_id[1:].isdigit() else []
    if not calls or calls[0].channel is not Channel.OPEN311:
        raise Open311Error(404, f"token: no request was filed with token {token_id}")
    return render(
        fmt, "service_requests", "request", [{"service_request_id": calls[0].ticket, "token": token_id}]
    )


STARTED = datetime.now(UTC)


def _offered(config: SurgeConfig) -> list[Category]:
    return [c for code in config.open311.services if (c := config.category(code)) is not None]


def _service(config: SurgeConfig, code: str, *, status: int, field: str = "service_code") -> Category:
    if code in config.open311.services and (category := config.category(code)) is not None:
        return category
    known = ", ".join(config.open311.services)
    raise Open311Error(status, f"{field}: no service {code!r}; services: {known}")


def _questions(config: SurgeConfig, category: Category) -> list[Question]:
    return [*config.triage.screen, *category.questions]


def _attribute(question: Question, order: int) -> dict[str, Any]:
    record: dict[str, Any] = {
        "variable": True,
        "code": question.id,
        "datatype": {"yes_no": "singlevaluelist", "number": "number", "text": "string"}[question.kind],
        "required": False,  # an app's user may not know; an agent follows up
        "datatype_description": "a number" if question.kind == "number" else None,
        "order": order,
        "description": question.ask,
    }
    if question.kind == "yes_no":
        record["values"] = [{"key": "yes", "name": "Yes"}, {"key": "no", "name": "No"}]
    return record


def _keywords(config: SurgeConfig, code: str) -> list[str]:
    """Words triage listens for in this category, so an app's search finds the service."""
    terms = {concept.id: concept.terms.get("en", []) for concept in vocabulary(config.triage).concepts}
    words: list[str] = []
    for rule in config.triage.rules:
        if rule.category == code and not rule.life_safety:
            for group in rule.when:
                words += [term for concept in group for term in terms[concept][:3] if term not in words]
    return words[:12]


def _answers(config: SurgeConfig, category: Category, form: Mapping[str, str]) -> dict[str, str | float]:
    asked = {q.id: q for q in _questions(config, category)}
    answers: dict[str, str | float] = {}
    for name, value in form.items():
        if not name.startswith("attribute["):
            continue
        code = name[len("attribute[") :].removesuffix("[]").rstrip("]")
        question = asked.get(code)
        if question is None:
            continue  # an app's cached definition may be older than the config: the report still counts
        value = value.strip()
        if not value:
            continue
        if question.kind == "yes_no":
            if value.lower() not in {"yes", "no", "true", "false"}:
                raise Open311Error(400, f"{name}: one of yes, no")
            answers[code] = "yes" if value.lower() in {"yes", "true"} else "no"
        elif question.kind == "number":
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                raise Open311Error(400, f"{name}: a number")
            answers[code] = number
        else:
            answers[code] = value[:300]
    return answers


def _point(form: Mapping[str, str]) -> Point | None:
    lat, lon = form.get("lat", "").strip(), form.get("long", "").strip()
    if not lat and not lon:
        return None
    if not lat or not lon:
        raise Open311Error(400, "lat and long: give both, or neither")
    try:
        return msgspec.convert({"lat": float(lat), "lon": float(lon)}, Point)
    except ValueError:
        raise Open311Error(400, "lat and long: decimal degrees (WGS84)") from None
    except msgspec.ValidationError as error:
        raise Open311Error(400, "lat and long: " + str(error).partition(" - at")[0]) from None


def _address_by_id(address_id: str) -> tuple[Point, str]:
    """An address id is a place's label in Stormline's gazetteer (what requests list as address_id)."""
    located = geo().locate(address_id)
    best = located.best
    if best is None or best.label.casefold() != address_id.strip().casefold():
        raise Open311Error(400, f"address_id: no address has the id {address_id!r}")
    return best.point, best.label


def _notice(receipt: CallReceipt) -> str | None:
    if receipt.transfer_to_911:
        return _DANGER_NOTICE
    if receipt.outside_referral:
        return receipt.outside_referral
    if receipt.incident.needs_location:
        return "We could not find this address on the map; a 311 call-taker will place it."
    if receipt.duplicates is not None and receipt.duplicates.nearby:
        return "Others have reported a problem like this nearby; your report is counted with theirs."
    return None


def _record(config: SurgeConfig, incident: Incident) -> dict[str, Any]:
    category = config.category(incident.category)
    # Where, but not whose door: a corner or a named place as the gazetteer names it, a house number's
    # street only, never the text a caller typed; the point rounded to about 100 m.
    placed = incident.located_by
    shared = placed is not None and placed.method in (Method.INTERSECTION, Method.NAMED_PLACE)
    address = (
        placed.label
        if placed and shared
        else (pretty_street(placed.street) if placed and placed.street else None)
    )
    return {
        "service_request_id": incident.ticket,
        "status": "closed" if incident.status in _CLOSED else "open",
        "status_notes": MEANING[incident.status],
        "service_name": category.name if category else incident.category,
        "service_code": incident.category,
        "description": None,  # what callers said is theirs: never on a public list
        "agency_responsible": config.jurisdiction.name,
        "service_notice": None,
        "requested_datetime": _when(config, incident.opened_at),
        "updated_datetime": _when(config, incident.updated_at),
        "expected_datetime": _when(config, incident.due_at) if incident.status not in _CLOSED else None,
        "address": address,
        "address_id": placed.label if placed and shared and placed.source == "gazetteer" else None,
        "zipcode": placed.zip if placed else None,
        "lat": round(incident.location.lat, 3) if incident.location else None,
        "long": round(incident.location.lon, 3) if incident.location else None,
        "media_url": _media_url(incident),
    }


def _media_url(incident: Incident) -> str | None:
    """A listed request's photo: one Stormline keeps, served publicly, or an app's own URL as given."""
    photo = incident.photo
    if photo is None:
        return None
    return (
        f"{public_base_url()}/api/v1/public/tickets/{incident.ticket}/photo.jpg" if photo.kept else photo.url
    )


def _private_record(config: SurgeConfig, incident: Incident) -> dict[str, Any]:
    """A sensitive request: where it stands, and nothing that says who needed what, or where."""
    withheld = dict.fromkeys(_record(config, incident), None)
    return {
        **withheld,
        "service_request_id": incident.ticket,
        "status": "closed" if incident.status in _CLOSED else "open",
        "status_notes": MEANING[incident.status],
        "service_name": "Service request",
        "requested_datetime": _when(config, incident.opened_at),
        "updated_datetime": _when(config, incident.updated_at),
    }


def _when(config: SurgeConfig, moment: datetime | None) -> str | None:
    return moment.astimezone(config.zone).isoformat(timespec="seconds") if moment else None


def _check_jurisdiction(config: SurgeConfig, params: Mapping[str, str] | None = None) -> None:
    given = (params if params is not None else request.args).get("jurisdiction_id")
    if given and given != config.open311.jurisdiction_id:
        raise Open311Error(404, f"jurisdiction_id: this endpoint serves {config.open311.jurisdiction_id}")


def _required(form: Mapping[str, str], name: str) -> str:
    value = xml_safe(form.get(name, "")).strip()
    if not value:
        raise Open311Error(400, f"{name}: required")
    return value


def _text(form: Mapping[str, str], name: str, longest: int) -> str | None:
    value = xml_safe(form.get(name, "")).strip()
    if len(value) > longest:
        raise Open311Error(400, f"{name}: longer than {longest} characters")
    return value or None


def _list(args: MultiDict[str, str], name: str) -> list[str]:
    """A comma-separated parameter, also when given more than once (`a=1&a=2`)."""
    return [part.strip() for given in args.getlist(name) for part in given.split(",") if part.strip()]


def _statuses(given: list[str]) -> frozenset[Status]:
    if not given:
        return frozenset()
    if any(s not in {"open", "closed"} for s in given):
        raise Open311Error(400, "status: open, closed, or both separated by a comma")
    chosen: set[Status] = set()
    if "open" in given:
        chosen |= set(Status) - _CLOSED
    if "closed" in given:
        chosen |= _CLOSED
    return frozenset(chosen) if len(chosen) < len(Status) else frozenset()


def _window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The dates asked for, as the spec bounds them: 90 days at most, the last 90 by default."""
    span = timedelta(days=DEFAULT_DAYS)
    if start is None and end is None:
        end = datetime.now(UTC)
    if start is None:
        assert end is not None
        return end - span, end
    if end is None:
        return start, start + span
    if end < start:
        raise Open311Error(400, "end_date: before start_date")
    if end - start > span:
        raise Open311Error(400, f"start_date and end_date: at most {DEFAULT_DAYS} days apart")
    return start, end


def _date(args: Mapping[str, str], name: str) -> datetime | None:
    # An offset's "+" sent unencoded arrives as a space.
    text = args.get(name, "").strip().replace(" ", "+")
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(
            400, f"{name}: an ISO 8601 date and time, e.g. 2026-10-13T00:00:00-04:00"
        ) from None
    if moment.tzinfo is None:
        raise Open311Error(400, f"{name}: give a time zone (Z or an offset like -04:00)")
    if not 2000 <= moment.year <= 2100:
        raise Open311Error(400, f"{name}: a date between the years 2000 and 2100")
    return moment


def _problem_of(error: msgspec.ValidationError) -> Problem:
    """msgspec's "Expected …, got … - at `$.field`" as a 400 naming the field (renamed by `_problem`)."""
    detail, _, where = str(error).partition(" - at `$.")
    return Problem(400, "Bad Request", f"{where.rstrip('`')}: {detail}" if where else detail)
