"""The JSON API for calls and incidents, under /api/v1. Each route's docstring is its documentation."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from typing import Annotated, cast

import msgspec
from quart import Blueprint, Response, request
from quart_schema import document_request, document_response, validate_querystring, validate_request

from geo.point import BBox
from incident import center, report
from incident.auth import access
from incident.auth.audit import StoredAudit, select_audit
from incident.auth.privacy import SEES_CALLER_NEEDS, visible_call
from incident.auth.roles import Role
from incident.center import CenterState, ModeIn
from incident.config import Priority, Shift
from incident.handoff import (
    PsapStatusIn,
    ReleaseIn,
    StepIn,
    check_agent_step,
    check_psap_status,
    record_step,
)
from incident.history import StoredEvent, select_alarms, select_history
from incident.idempotency import KeyReused, StillProcessing
from incident.incidents import IncidentFilter, select_calls, select_incident, select_incidents
from incident.intake import Answer, CallIn, CallReceipt, check_answers, take_call
from incident.location import LocationIn, place_from_request
from incident.overrides import OverrideIn, override
from incident.pins import learn_from_pin
from incident.problems import Problem, invalid_field, unknown_ticket
from incident.psap_transfer import EidoIn, call_from_eido, transfer_key
from incident.records import Call, Incident, Step
from incident.registry import Registry
from incident.status import Status
from incident.surge import Reading
from incident.surge import history as surge_history
from incident.surge import readings as surge_readings
from incident.transitions import TransitionIn, change_status
from incident.triage import TriageResult
from incident.validation import is_stream_id
from incident.web import geo, json_response, store, surge_config, triage_engine

blueprint = Blueprint("incidents_api", __name__, url_prefix="/api/v1")


class IncidentDetail(msgspec.Struct, kw_only=True):
    incident: Incident
    calls: list[Call]


class IncidentFilterQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Which incidents: the filters of the incident list, shared by every route that lists them."""

    status: str | None = None  # one status, or several separated by commas
    category: str | None = None
    priority: Priority | None = None
    since: datetime | None = None  # opened at or after (ISO 8601 with offset)
    bbox: str | None = None  # west,south,east,north in degrees
    needs_location: bool | None = None  # true: the queue of calls waiting for a point
    overdue: bool | None = None  # true: open incidents past their due time


class IncidentQuery(IncidentFilterQuery, kw_only=True, forbid_unknown_fields=True):
    cursor: str | None = None  # from the previous page's next_cursor
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 50


class IncidentPage(msgspec.Struct, kw_only=True):
    items: list[Incident]
    next_cursor: str | None


class HistoryQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    after: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,20}-[0-9]{1,20}$")] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100

    def checked_after(self) -> str | None:
        """`after`, refused with a 422 if Redis would refuse it (a part past 64 bits): not a 500."""
        if self.after is not None and not is_stream_id(self.after):
            raise invalid_field("after", "an event id like 1700000000000-0")
        return self.after


class History(msgspec.Struct, kw_only=True):
    ticket: str
    events: list[StoredEvent]


@blueprint.post("/calls")
@validate_request(CallIn)
@document_response(CallReceipt, 201)
async def post_call(data: CallIn) -> Response:
    """Log a call: open a new incident, or attach the call to `ticket`.

    Send an `Idempotency-Key` header (any unique text up to 255 characters) so a retry after a
    timeout is safe: the same key with the same body returns the first answer and creates nothing;
    the same key with a different body is refused with 422.
    """
    return call_response(await log_call(data, idempotency_key()))


def valid_idempotency_key(key: str | None) -> bool:
    return key is None or (0 < len(key) <= 255 and key.isascii() and key.isprintable())


def idempotency_key() -> str | None:
    """The request's Idempotency-Key, if it sent one; a 400 if it is not one."""
    key = request.headers.get("Idempotency-Key")
    if not valid_idempotency_key(key):
        raise Problem(
            400,
            "Invalid Idempotency-Key",
            "Idempotency-Key: 1 to 255 printable ASCII characters",
            kind="invalid-header",
            errors=[{"field": "Idempotency-Key", "detail": "1 to 255 printable ASCII characters"}],
        )
    return key


async def log_call(data: CallIn, key: str | None) -> Answer:
    """Take a call for whoever is asking, by any door (the JSON API, Open311, 911's transfers).

    The one place a call meets intake: the agent recorded, a reused or pending Idempotency-Key turned
    into its problem (Open311's paths show it in their own error list).
    """
    principal = access.current()
    if data.agent is None and principal.role is Role.AGENT:
        data = msgspec.structs.replace(data, agent=principal.name)
    try:
        return await take_call(
            store(),
            surge_config(),
            data,
            idempotency_key=key,
            actor=principal.name,
            geo=geo(),
            triage=triage_engine(),
            registry=Registry(store(), surge_config(), geo())
            if principal.role in SEES_CALLER_NEEDS
            else None,
        )
    except KeyReused:
        raise Problem(
            422,
            "Idempotency-Key reused",
            "Idempotency-Key: already used with a different request body",
            kind="idempotency-key-reused",
        ) from None
    except StillProcessing:
        raise Problem(
            409,
            "Request in progress",
            "Idempotency-Key: a request with this key is still being processed; retry shortly",
            kind="idempotency-in-progress",
        ) from None


def call_response(answer: Answer) -> Response:
    """The JSON answer to a call: the receipt as intake encoded it, where the incident is, if replayed."""
    headers = {"Location": f"/api/v1/incidents/{answer.receipt.ticket}"}
    if answer.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(answer.body, answer.status, headers)


@blueprint.get("/incidents/<ticket>")
@document_response(IncidentDetail)
async def get_incident(ticket: str) -> Response:
    """One incident with its calls. The ETag is the incident's version.

    Callers' names and numbers are shown only to roles whose work needs them; a crew sees only the
    incidents assigned to it.
    """
    incident = await _incident_or_404(ticket)
    if access.own_crew() not in (None, incident.assigned_crew):
        raise unknown_ticket(ticket)
    role = access.current().role
    calls = [visible_call(call, role, incident) for call in await select_calls(store(), incident.calls)]
    return json_response(
        IncidentDetail(incident=incident, calls=calls), headers={"ETag": f'"{incident.version}"'}
    )


@blueprint.get("/incidents")
@validate_querystring(IncidentQuery)
@document_response(IncidentPage)
async def list_incidents(query_args: IncidentQuery) -> Response:
    """Incidents, newest first, filtered; follow `next_cursor` for the next page.

    A crew gets only the incidents assigned to it.
    """
    items, last = await select_incidents(
        store(), incident_filter(query_args), before=_cursor(query_args.cursor), limit=query_args.limit
    )
    next_cursor = base64.urlsafe_b64encode(str(last).encode()).decode() if last is not None else None
    return json_response(IncidentPage(items=items, next_cursor=next_cursor))


def incident_filter(query: IncidentFilterQuery) -> IncidentFilter:
    """The filter the query asks for; a crew's is narrowed to the incidents assigned to it."""
    if query.since is not None and query.since.tzinfo is None:
        raise invalid_field("since", "give a time zone offset, e.g. 2026-10-13T00:00:00-04:00")
    return IncidentFilter(
        crew=access.own_crew(),
        statuses=_statuses(query.status),
        category=query.category,
        priority=query.priority,
        since=query.since,
        bbox=_bbox(query.bbox),
        needs_location=query.needs_location,
        overdue_at=datetime.now(UTC) if query.overdue else None,
    )


@blueprint.post("/incidents/<ticket>/transitions")
@validate_request(TransitionIn)
@document_response(Incident)
async def post_transition(ticket: str, data: TransitionIn) -> Response:
    """Move the incident to another status. Illegal moves get 409 naming both statuses.

    Send `If-Match: "<version>"` (the ETag of GET) or `if_version` to refuse the move with 412 if
    someone changed the incident since you read it.
    """
    if_match = request.headers.get("If-Match")
    if if_match and data.if_version is None:
        try:
            data = msgspec.structs.replace(
                data, if_version=int(if_match.strip().removeprefix("W/").strip('"'))
            )
        except ValueError:
            raise Problem(
                400, "Invalid If-Match", 'If-Match: expected "<version>"', kind="invalid-header"
            ) from None
    incident = await change_status(store(), ticket, data, access.current().name, crew=access.own_crew())
    return _versioned(incident)


class TriageIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What the caller said so far, and the answers to the questions asked."""

    text: Annotated[str, msgspec.Meta(max_length=20_000)]
    answers: dict[Annotated[str, msgspec.Meta(max_length=40)], str | int | float | bool] = {}


@blueprint.post("/triage")
@validate_request(TriageIn)
@document_response(TriageResult)
async def post_triage(data: TriageIn) -> Response:
    """Triage without filing anything: the console calls this as the agent types.

    The result carries `category`, `categories`, `priority`, `life_safety` (transfer to 911 now),
    the `reasons` (rule, words, answer), what was `ignored` and why, the `questions` still worth
    asking, and the agencies to `refer` to. Intake stores the same result on the incident.
    """
    check_answers(surge_config(), data.answers)
    return json_response(triage_engine().triage(data.text, data.answers))


@blueprint.post("/incidents/<ticket>/override")
@validate_request(OverrideIn)
@document_response(Incident)
async def post_override(ticket: str, data: OverrideIn) -> Response:
    """Change triage's category or priority, with a reason; the original decision stays beside it."""
    await _incident_or_404(ticket)
    incident = await override(store(), surge_config(), ticket, data, access.current().name)
    return _versioned(incident)


@blueprint.post("/incidents/<ticket>/handoff")
@validate_request(StepIn)
@document_response(Incident)
async def post_handoff_step(ticket: str, data: StepIn) -> Response:
    """Record the agent's 911 handoff step: `location_verified`, `transfer_started`, `caller_released`.

    Or a `note` for 911, its text in `detail`, as many as needed.

    `transfer_started` sends the incident as a NENA EIDO, with the CAP alert, to the 911 center through
    the outbox, and starts the clock for 911's acknowledgement. After it, a note (like a later call or a
    corrected location) sends 911 a new version of the EIDO.
    """
    check_agent_step(data.step, data.detail)
    return _versioned(await _step(ticket, data.step, data.detail))


@blueprint.post("/incidents/<ticket>/handoff/release")
@validate_request(ReleaseIn)
@document_response(Incident)
async def post_handoff_release(ticket: str, data: ReleaseIn) -> Response:
    """A supervisor lets 311 dispatch an incident that 911 has (with the reason)."""
    return _versioned(await _step(ticket, Step.RELEASED, data.reason))


@blueprint.post("/psap/incidents/<ticket>")
@validate_request(PsapStatusIn)
@document_response(Incident)
async def post_psap_status(ticket: str, data: PsapStatusIn) -> Response:
    """The 911 center's callback: `accepted`, `rejected` (with a reason), `dispatched`, `on_scene`, `closed`.

    Authenticated with a `psap` token. A repeated status is accepted and changes nothing.
    """
    check_psap_status(data.status)
    return json_response(
        await _step(ticket, data.status, data.reason, psap_incident_id=data.psap_incident_id)
    )


@blueprint.post("/psap/transfers")
@document_request(EidoIn)
@document_response(CallReceipt, 201)
async def post_psap_transfer() -> Response:
    """The 911 center transfers a non-emergency call to 311, as one NENA EIDO.

    Authenticated with a `psap` token. The body is an EmergencyIncidentDataObjectType, validated against
    NENA's schema: one that is not valid is a 422 naming the path of its first error, and nothing is
    stored. The call (what the caller said, their callback, where) is taken as every call is: triaged,
    checked for duplicates, placed in its zones; it opens an incident, or joins the 311 incident the
    EIDO names (its tracking id as the EIDO's `$id` or in a `linkComponent`). The answer is the one
    POST /calls gives: 201 with the 311 ticket.

    Send an `Idempotency-Key` header so that a retry opens nothing more; without one, the EIDO's `$id`
    and `lastUpdateTimeStamp` serve as the key.
    """
    key = idempotency_key()
    document = await request.get_json()
    call = call_from_eido(surge_config(), document)
    return call_response(await log_call(call, transfer_key(key, document)))


class Alarms(msgspec.Struct, kw_only=True):
    alarms: list[StoredEvent]


class AlarmsQuery(HistoryQuery, kw_only=True, forbid_unknown_fields=True):
    newest: bool = False  # the latest `limit` alarms (still oldest first), not the first after `after`


@blueprint.get("/alarms")
@validate_querystring(AlarmsQuery)
@document_response(Alarms)
async def get_alarms(query_args: AlarmsQuery) -> Response:
    """Alarms for supervisors (911, surge, overdue, silent crews…), oldest first; resume with `after`."""
    alarms = await select_alarms(
        store(), after=query_args.checked_after(), limit=query_args.limit, newest=query_args.newest
    )
    return json_response(Alarms(alarms=alarms))


@blueprint.post("/incidents/<ticket>/location")
@validate_request(LocationIn)
@document_response(Incident)
async def post_location(ticket: str, data: LocationIn) -> Response:
    """Set where the incident is: a `point` from the map, or an `address` to look up again.

    The incident leaves the needs-location queue and gets its zones. An address the geocoders are not
    sure of is a 422 listing the candidates.
    """
    before = await _incident_or_404(ticket)
    incident = await place_from_request(store(), geo(), ticket, data, access.current().name)
    if data.point is not None and before.needs_location and before.address:
        # An address the gazetteer could not place, pinned by hand: what the storm teaches the map.
        await learn_from_pin(store(), before.address, data.point, access.current().name or "?")
    return _versioned(incident)


@blueprint.get("/incidents/<ticket>/history")
@validate_querystring(HistoryQuery)
@document_response(History)
async def get_history(ticket: str, query_args: HistoryQuery) -> Response:
    """Every event of the incident, oldest first; pass the last event id as `after` for more."""
    await _incident_or_404(ticket)
    events = await select_history(store(), ticket, after=query_args.checked_after(), limit=query_args.limit)
    return json_response(History(ticket=ticket, events=events))


class ModeView(msgspec.Struct, kw_only=True):
    """The center's mode and what it means for the people working in it."""

    state: CenterState
    banner: str
    categories: list[str]
    scripts: dict[str, str]
    deadline_minutes: dict[str, int]
    review_minutes: int
    roster: list[Shift]


def _mode_view(state: CenterState) -> ModeView:
    shown = center.profile(surge_config(), state.mode)
    return ModeView(
        state=state,
        banner=shown.banner,
        categories=shown.categories,
        scripts=dict(shown.scripts),
        deadline_minutes={str(k): v for k, v in shown.deadline_minutes.items()},
        review_minutes=shown.review_minutes,
        roster=shown.roster,
    )


@blueprint.get("/mode")
@document_response(ModeView)
async def get_mode() -> Response:
    """The center's mode, its storm incident if any, and the profile in force (banner, offer, scripts)."""
    return json_response(_mode_view(await center.current(store())))


@blueprint.post("/mode")
@validate_request(ModeIn)
@document_response(ModeView)
async def post_mode(data: ModeIn) -> Response:
    """Switch the center: to `incident` with a `name`, or back to `standby` or `normal`.

    Standing down closes the storm incident and moves its open work back to the normal queues; any
    switch re-dates open work for the new mode's deadlines.
    """
    state = await center.switch(
        store(), surge_config(), data, access.current().name, keep_report=report.keep_once
    )
    return json_response(_mode_view(state))


@blueprint.post("/mode/review")
@document_response(ModeView)
async def post_review() -> Response:
    """A supervisor confirms the storm incident is still active; the review clock starts again."""
    return json_response(_mode_view(await center.review(store(), access.current().name)))


class SurgeView(msgspec.Struct, kw_only=True):
    window_minutes: int
    readings: list[Reading]
    history: list[tuple[datetime, int]]  # all calls per window, the last 24 hours of windows, oldest first


@blueprint.get("/surge")
@document_response(SurgeView)
async def get_surge() -> Response:
    """Calls in the current window, overall and per category, against their rolling baselines."""
    config = surge_config()
    found = await surge_readings(store(), config)
    minutes = config.modes.surge.window_minutes
    past = await surge_history(store(), config, 24 * 60 // minutes)
    return json_response(SurgeView(window_minutes=minutes, readings=found, history=past))


class QueueRow(msgspec.Struct, kw_only=True, array_like=True):
    category: str
    priority: Priority
    status: Status
    count: int


class Queues(msgspec.Struct, kw_only=True):
    rows: list[QueueRow]  # work not done, by category, priority and status


@blueprint.get("/queues")
@document_response(Queues)
async def get_queues() -> Response:
    """Work not done, counted by category, priority and status: the supervisor's queues."""
    kept = cast(dict[bytes, bytes], await store().redis.hgetall(store().keys.queues))
    rows = []
    for field, value in sorted(kept.items()):
        category, priority, status = field.decode().split("|")
        if int(value) > 0:  # a counter that fell to zero stays as a field; it is no queue
            rows.append(
                QueueRow(
                    category=category, priority=Priority(priority), status=Status(status), count=int(value)
                )
            )
    return json_response(Queues(rows=rows))


class Me(msgspec.Struct, kw_only=True):
    name: str | None
    role: Role | None
    crew_id: str | None
    via: str


@blueprint.get("/me")
@document_response(Me)
async def get_me() -> Response:
    """Who the request is authenticated as."""
    principal = access.current()
    return json_response(
        Me(name=principal.name, role=principal.role, crew_id=principal.crew_id, via=principal.via)
    )


class AuditPage(msgspec.Struct, kw_only=True):
    events: list[StoredAudit]


@blueprint.get("/audit")
@validate_querystring(HistoryQuery)
@document_response(AuditPage)
async def get_audit(query_args: HistoryQuery) -> Response:
    """The audit trail (sign-ins, denials, account and token changes), oldest first; resume with `after`."""
    return json_response(
        AuditPage(
            events=await select_audit(store(), after=query_args.checked_after(), limit=query_args.limit)
        )
    )


TICKET = re.compile(r"^\d{4}-\d{4,9}$")


async def _incident_or_404(ticket: str) -> Incident:
    incident = await select_incident(store(), ticket) if TICKET.match(ticket) else None
    if incident is None:
        raise unknown_ticket(ticket)
    return incident


def _statuses(text: str | None) -> frozenset[Status]:
    if not text:
        return frozenset()
    try:
        return frozenset(Status(part.strip()) for part in text.split(","))
    except ValueError:
        raise invalid_field("status", f"one or more of: {', '.join(Status)}") from None


def _bbox(text: str | None) -> BBox | None:
    if text is None:
        return None
    try:
        return BBox.parse(text)
    except ValueError as error:
        raise invalid_field("bbox", str(error)) from None


def _cursor(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(base64.urlsafe_b64decode(text.encode()).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid_field("cursor", "not a cursor this API returned") from None


async def _step(
    ticket: str, step: Step, detail: str | None, *, psap_incident_id: str | None = None
) -> Incident:
    """A handoff step by whoever is asking (the agent, 911, a supervisor); 404 for an unknown ticket."""
    await _incident_or_404(ticket)
    return await record_step(
        store(),
        surge_config(),
        ticket,
        step,
        access.current().name,
        detail,
        psap_incident_id=psap_incident_id,
    )


def _versioned(incident: Incident) -> Response:
    """The incident as JSON, its version as the ETag (for a later If-Match)."""
    return json_response(incident, headers={"ETag": f'"{incident.version}"'})
