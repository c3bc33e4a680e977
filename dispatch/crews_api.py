"""The JSON API for crews, assignments, routes, street-segment jobs and duplicates, under /api/v1.

Each route's docstring is its documentation. Role checks are in `incident.auth.policy`; a crew may
only see and act on its own crew (another crew's is 404 to it, as if it did not exist).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec
from quart import Blueprint, Response
from quart_schema import document_response, validate_request

from dispatch import assign, cards, feed, jobs, recommend
from dispatch.crews import (
    Crew,
    CrewIn,
    CrewPatch,
    CrewView,
    PositionIn,
    create_crew,
    crew_or_404,
    record_position,
    update_crew,
    views,
)
from dispatch.units import read_unit
from geo.point import Point
from incident import duplicates
from incident.auth import access
from incident.config import SurgeConfig
from incident.incidents import CREW_ACTIVE, IncidentFilter, select_incidents, select_many
from incident.phone import to_e164
from incident.problems import Problem, invalid_field
from incident.records import Incident
from incident.status import Status
from incident.validation import is_stream_id
from incident.web import geo, json_response, store, surge_config

blueprint = Blueprint("crews_api", __name__, url_prefix="/api/v1")


class CrewList(msgspec.Struct, kw_only=True):
    items: list[CrewView]
    unacknowledged: dict[str, int]  # per crew: work messages its devices have not acknowledged


class PositionKept(msgspec.Struct, kw_only=True):
    kept: bool  # false: a newer fix was already kept (this one came late)


class Acked(msgspec.Struct, kw_only=True):
    acknowledged: int


class UnitView(msgspec.Struct, kw_only=True):
    incidents: list[Incident]  # the incident, and the rest of its job if it has one


class BulkView(msgspec.Struct, kw_only=True):
    results: list[assign.BulkResult]


TicketText = Annotated[str, msgspec.Meta(max_length=20)]


class PlanIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Which open incidents to plan: those named, or every open, unassigned, located piece of crew work."""

    tickets: (
        Annotated[list[Annotated[str, msgspec.Meta(max_length=20)]], msgspec.Meta(max_length=5000)] | None
    ) = None
    category: str | None = None


class JobList(msgspec.Struct, kw_only=True):
    items: list[jobs.JobView]


class SuggestionList(msgspec.Struct, kw_only=True):
    items: list[jobs.Suggestion]


class DuplicatesIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A call being taken: where, what kind, and the callback number, to look for what it repeats."""

    category: str
    location: Point | None = None
    address: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    callback_number: Annotated[str, msgspec.Meta(max_length=40)] | None = None


# ---- crews ---------------------------------------------------------------------------------------


@blueprint.get("/crews")
@document_response(CrewList)
async def list_crews() -> Response:
    """The crew board: each crew's status (from its work), load, position and its age, silence.

    A crew sees only itself.
    """
    own = access.own_crew()
    items = await views(store(), surge_config(), [own] if own else None)
    counts = await feed.unacknowledged(store(), [v.crew.id for v in items])
    return json_response(CrewList(items=items, unacknowledged=counts))


@blueprint.post("/crews")
@validate_request(CrewIn)
@document_response(CrewView, 201)
async def post_crew(data: CrewIn) -> Response:
    """Add a crew: id, name, kind, capabilities, size, seats and wheelchair spaces (vans), shift, base."""
    crew = await create_crew(store(), surge_config(), data, access.current().name)
    (view,) = await views(store(), surge_config(), [crew.id])
    return json_response(view, 201, {"Location": f"/api/v1/crews/{crew.id}"})


@blueprint.get("/crews/<crew_id>")
@document_response(CrewView)
async def get_crew(crew_id: str) -> Response:
    """One crew as the board shows it."""
    await _crew(crew_id)
    (view,) = await views(store(), surge_config(), [crew_id])
    return json_response(view)


@blueprint.patch("/crews/<crew_id>")
@validate_request(CrewPatch)
@document_response(CrewView)
async def patch_crew(crew_id: str, data: CrewPatch) -> Response:
    """Change a crew (send only what changes): put it off shift with `on_duty: false`, and so on."""
    await update_crew(store(), surge_config(), crew_id, data, access.current().name)
    (view,) = await views(store(), surge_config(), [crew_id])
    return json_response(view)


@blueprint.post("/crews/<crew_id>/position")
@validate_request(PositionIn)
@document_response(PositionKept)
async def post_position(crew_id: str, data: PositionIn) -> Response:
    """A GPS fix from the crew's device. A fix older than the one kept is not kept (phones send late)."""
    await _crew(crew_id)
    return json_response(PositionKept(kept=await record_position(store(), crew_id, data)))


@blueprint.get("/crews/<crew_id>/route")
@document_response(cards.CardRoute)
async def get_route(crew_id: str) -> Response:
    """The crew's work in driving order, from where it is: each stop with its leg and time.

    Each stop carries its card: what the first caller said, the answers to the key questions, the
    callback number when the crew should call ahead, and for a van its ride (party, pickup window,
    destination station). Work under way comes first.
    """
    crew = await _crew(crew_id)
    return json_response(await cards.crew_cards(store(), surge_config(), crew))


@blueprint.get("/crews/<crew_id>/feed")
@document_response(feed.FeedPage)
async def get_feed(crew_id: str) -> Response:
    """For the crew's device: work messages to show, new ones and those not acknowledged in time.

    Acknowledge each with POST …/feed/ack once shown; unacknowledged ones come again after
    `dispatch.redeliver_seconds`. Reading counts as the device being heard from.
    """
    await _crew(crew_id)
    device = access.current().name or crew_id
    return json_response(await feed.read(store(), surge_config(), crew_id, device))


@blueprint.post("/crews/<crew_id>/feed/ack")
@validate_request(feed.AckIn)
@document_response(Acked)
async def post_feed_ack(crew_id: str, data: feed.AckIn) -> Response:
    """The device has shown these messages (ids from GET …/feed)."""
    await _crew(crew_id)
    for index, message_id in enumerate(data.ids):
        if not is_stream_id(message_id):
            raise invalid_field(f"ids[{index}]", "a message id from the feed, like 1700000000000-0")
    device = access.current().name or crew_id
    return json_response(Acked(acknowledged=await feed.acknowledge(store(), crew_id, device, data.ids)))


@blueprint.post("/crews/<crew_id>/work/<ticket>/mark")
@validate_request(assign.MarkIn)
@document_response(UnitView)
async def post_mark(crew_id: str, ticket: str, data: assign.MarkIn) -> Response:
    """The crew marks its job: `en_route`, `on_scene`, `cleared`, or `unable` (with a reason).

    A ride is not `cleared`: the van marks it picked up, dropped off or no-show under
    /transport/requests (409 `ride-open`). `unable` puts the work back in the open queue and alarms
    supervisors. A job's incidents move together.
    """
    await _crew(crew_id)
    unit = await assign.mark(store(), surge_config(), crew_id, ticket, data, access.current().name)
    return json_response(UnitView(incidents=unit))


# ---- assignment ----------------------------------------------------------------------------------


@blueprint.get("/incidents/<ticket>/recommendations")
@document_response(recommend.Recommendation)
async def get_recommendations(ticket: str) -> Response:
    """The best crews for the incident, each with the reason, and why the others cannot go.

    Ranked by kind, capability, shift, distance and load.
    """
    unit = await read_unit(store(), ticket)
    # A job goes as one: the crew must bring what any of its incidents needs.
    needs = sorted({need for incident in unit for need in incident.needs})
    incident = msgspec.structs.replace(unit[0], needs=needs)
    return json_response(await recommend.recommend(store(), surge_config(), incident))


@blueprint.post("/incidents/<ticket>/assignment")
@validate_request(assign.AssignIn)
@document_response(UnitView)
async def post_assignment(ticket: str, data: assign.AssignIn) -> Response:
    """Assign (or reassign) the incident, with its job, to a crew.

    The crew's route is re-planned and its devices are sent the work.
    """
    unit = await assign.assign(store(), surge_config(), ticket, data, access.current().name)
    return json_response(UnitView(incidents=unit))


@blueprint.post("/incidents/<ticket>/unassignment")
@validate_request(assign.UnassignIn)
@document_response(UnitView)
async def post_unassignment(ticket: str, data: assign.UnassignIn) -> Response:
    """Take the incident (with its job) back from its crew: open again, and the crew is told."""
    unit = await assign.unassign(store(), surge_config(), ticket, data, access.current().name)
    return json_response(UnitView(incidents=unit))


@blueprint.post("/assignments")
@validate_request(assign.BulkIn)
@document_response(BulkView)
async def post_bulk_assignments(data: assign.BulkIn) -> Response:
    """Many assignments at once, each done or refused on its own (with the problem): apply a plan."""
    results = await assign.bulk_assign(store(), surge_config(), data, access.current().name)
    return json_response(BulkView(results=results))


@blueprint.post("/dispatch/plan")
@validate_request(PlanIn)
@document_response(recommend.Plan)
async def post_plan(data: PlanIn) -> Response:
    """A whole assignment plan for open incidents over the crews on shift.

    Each crew's share comes in driving order. Nothing is assigned: apply it with
    POST /api/v1/assignments.
    """
    config = surge_config()
    if data.category is not None and config.category(data.category) is None:
        raise invalid_field("category", f"unknown category {data.category!r}")
    if data.tickets is not None:
        incidents = await select_many(store(), data.tickets)
    else:
        incidents, _ = await select_incidents(
            store(),
            IncidentFilter(statuses=frozenset({Status.OPEN}), category=data.category),
            before=None,
            limit=5000,
        )
    planned = [i for i in incidents if _plannable(config, i)]
    return json_response(await recommend.plan(store(), config, planned))


# ---- street-segment jobs -------------------------------------------------------------------------


@blueprint.get("/jobs")
@document_response(JobList)
async def list_jobs() -> Response:
    """Street-segment jobs, newest first, each with its block as a GeoJSON LineString."""
    items = [await jobs.view(store(), job) for job in await jobs.list_jobs(store())]
    own = access.own_crew()
    # A crew sees its own jobs only, as it sees only its own incidents.
    kept = [v for v in items if not v.job.dissolved and (own is None or v.crew == own)]
    return json_response(JobList(items=kept))


@blueprint.post("/jobs")
@validate_request(jobs.JobIn)
@document_response(jobs.JobView, 201)
async def post_job(data: jobs.JobIn) -> Response:
    """Group open incidents on one block face into one "clear this segment" job."""
    job = await jobs.group(store(), surge_config(), geo(), data, access.current().name)
    return json_response(await jobs.view(store(), job), 201, {"Location": f"/api/v1/jobs/{job.id}"})


@blueprint.get("/jobs/suggestions")
@document_response(SuggestionList)
async def get_job_suggestions() -> Response:
    """Block faces with two or more open, ungrouped incidents that could be one job, largest first."""
    return json_response(SuggestionList(items=await jobs.suggestions(store(), surge_config(), geo())))


@blueprint.get("/jobs/<job_id>")
@document_response(jobs.JobView)
async def get_job(job_id: str) -> Response:
    """One job: its incidents' statuses, its crew, and its block as a GeoJSON Feature."""
    view = await jobs.view(store(), await jobs.job_or_404(store(), job_id))
    own = access.own_crew()
    if own is not None and view.crew != own:
        raise Problem(404, "Not Found", f"no job {job_id!r}", kind="unknown-job", job=job_id)
    return json_response(view)


@blueprint.post("/jobs/<job_id>/dissolve")
@validate_request(jobs.DissolveIn)
@document_response(jobs.JobView)
async def post_job_dissolve(job_id: str, data: jobs.DissolveIn) -> Response:
    """Undo a job: its incidents go on separately, as they are."""
    job = await jobs.dissolve(store(), job_id, data.reason, access.current().name)
    return json_response(await jobs.view(store(), job))


# ---- duplicates ----------------------------------------------------------------------------------


@blueprint.post("/duplicates")
@validate_request(DuplicatesIn)
@document_response(duplicates.Duplicates)
async def post_duplicates(data: DuplicatesIn) -> Response:
    """While a call is taken: what it may repeat.

    Open incidents of its kind nearby (nearest first, with distance) and the open incidents its
    callback number called about; attach the call to one with `ticket` on POST /calls.
    """
    config = surge_config()
    if config.category(data.category) is None:
        raise invalid_field("category", f"unknown category {data.category!r}")
    point = data.location
    if point is None and data.address:
        located = geo().locate(data.address)
        point = located.best.point if located.best else None
    number = data.callback_number
    e164 = to_e164(number, config.jurisdiction.phone_region) if number else None
    found = await duplicates.find(
        store(), config, category=data.category, point=point, callback_e164=e164, now=datetime.now(UTC)
    )
    return json_response(found)


# ---- helpers -------------------------------------------------------------------------------------


async def _crew(crew_id: str) -> Crew:
    own = access.own_crew()
    if own is not None and own != crew_id:
        raise Problem(404, "Not Found", f"no crew {crew_id!r}", kind="unknown-crew", crew_id=crew_id)
    return await crew_or_404(store(), crew_id)


def _plannable(config: SurgeConfig, incident: Incident) -> bool:
    category = config.category(incident.category)
    return (
        category is not None
        and bool(category.crews)
        and incident.status is Status.OPEN
        and incident.status not in CREW_ACTIVE
        and not (incident.handoff is not None and incident.handoff.held)
    )
