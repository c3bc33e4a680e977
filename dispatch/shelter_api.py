"""The JSON API for warming stations and rides to them, under /api/v1. Docstrings document each route."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, cast

import msgspec
from quart import Blueprint, Response
from quart_schema import document_response, validate_querystring, validate_request

from dispatch import stations, transport
from geo.point import Latitude, Longitude, Point
from incident.auth import access
from incident.incidents import select_incident
from incident.problems import Problem, invalid_field, unknown_ticket
from incident.web import json_response, store, surge_config

blueprint = Blueprint("shelter_api", __name__, url_prefix="/api/v1")


class StationList(msgspec.Struct, kw_only=True):
    items: list[stations.StationView]


class NearestQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Where (a point, or an incident's), and who needs places."""

    lat: Latitude | None = None
    lon: Longitude | None = None
    ticket: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    party: Annotated[int, msgspec.Meta(ge=1, le=2000)] = 1
    wheelchair: bool = False
    oxygen: bool = False
    pets: bool = False


class RequestList(msgspec.Struct, kw_only=True):
    items: list[transport.RequestView]


class RunView(msgspec.Struct, kw_only=True):
    run: transport.Run
    requests: list[transport.RequestView]


class RunList(msgspec.Struct, kw_only=True):
    items: list[transport.Run]


class RequestQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    status: str | None = None


# ---- stations ------------------------------------------------------------------------------------


@blueprint.get("/stations")
@document_response(StationList)
async def list_stations() -> Response:
    """Every candidate site: open or closed, capacity now, space left, full, and how fresh the count is."""
    now = datetime.now(UTC)
    found = await stations.all_stations(store(), surge_config())
    return json_response(StationList(items=[stations.view(surge_config(), s, now) for s in found]))


@blueprint.get("/stations/nearest")
@validate_querystring(NearestQuery)
@document_response(StationList)
async def get_nearest_station(query_args: NearestQuery) -> Response:
    """Open stations that suit the party and have room for it, nearest first.

    What the agent tells the caller, and where a ride goes. A wheelchair needs an accessible station,
    oxygen one with medical power, pets one that takes pets.
    """
    point = await _where(query_args)
    party = stations.Party(
        size=query_args.party,
        wheelchair=query_args.wheelchair,
        oxygen=query_args.oxygen,
        pets=query_args.pets,
    )
    return json_response(StationList(items=await stations.nearest(store(), surge_config(), point, party)))


@blueprint.post("/stations/<site_id>/open")
@validate_request(stations.OpenIn)
@document_response(stations.StationView)
async def post_station_open(site_id: str, data: stations.OpenIn) -> Response:
    """Open a warming station at a config site: day and overnight capacity, amenities, hours, contact."""
    opened = await stations.open_station(store(), surge_config(), site_id, data, access.current().name)
    return json_response(stations.view(surge_config(), opened, datetime.now(UTC)))


@blueprint.patch("/stations/<site_id>")
@validate_request(stations.StationPatch)
@document_response(stations.StationView)
async def patch_station(site_id: str, data: stations.StationPatch) -> Response:
    """Change an open station's capacity, amenities, hours or contact."""
    changed = await stations.update_station(store(), surge_config(), site_id, data, access.current().name)
    return json_response(stations.view(surge_config(), changed, datetime.now(UTC)))


@blueprint.post("/stations/<site_id>/count")
@validate_request(stations.CountIn)
@document_response(stations.StationView)
async def post_station_count(site_id: str, data: stations.CountIn) -> Response:
    """A head count: the occupancy now. Makes the count fresh."""
    counted = await stations.count(store(), surge_config(), site_id, data, access.current().name)
    return json_response(stations.view(surge_config(), counted, datetime.now(UTC)))


@blueprint.post("/stations/<site_id>/check-in")
@validate_request(stations.PeopleIn)
@document_response(stations.StationView)
async def post_station_check_in(site_id: str, data: stations.PeopleIn) -> Response:
    """People arrived (nobody is turned away at the door; a station over capacity shows full)."""
    changed = await stations.check(
        store(), surge_config(), site_id, data, access.current().name, arriving=True
    )
    return json_response(stations.view(surge_config(), changed, datetime.now(UTC)))


@blueprint.post("/stations/<site_id>/check-out")
@validate_request(stations.PeopleIn)
@document_response(stations.StationView)
async def post_station_check_out(site_id: str, data: stations.PeopleIn) -> Response:
    """People left."""
    changed = await stations.check(
        store(), surge_config(), site_id, data, access.current().name, arriving=False
    )
    return json_response(stations.view(surge_config(), changed, datetime.now(UTC)))


@blueprint.post("/stations/<site_id>/close")
@validate_request(stations.CloseIn)
@document_response(stations.StationView)
async def post_station_close(site_id: str, data: stations.CloseIn) -> Response:
    """Close a station.

    With people in it, name the open station they go to (`move_to`); without it the answer is 409 with the
    nearest stations that have room.
    """
    closed = await stations.close(store(), surge_config(), site_id, data, access.current().name)
    return json_response(stations.view(surge_config(), closed, datetime.now(UTC)))


# ---- transport -----------------------------------------------------------------------------------


@blueprint.post("/transport/requests")
@validate_request(transport.RequestIn)
@document_response(transport.RequestView, 201)
async def post_transport_request(data: transport.RequestIn) -> Response:
    """Turn a shelter-transport incident into a ride.

    It holds places at the destination station (the nearest open one that suits the party, unless `station` is
    given) in the same step.
    """
    made = await transport.create_request(store(), surge_config(), data, access.current().name)
    view = transport.request_view(surge_config(), made)
    return json_response(view, 201, {"Location": f"/api/v1/transport/requests/{made.id}"})


@blueprint.get("/transport/requests")
@validate_querystring(RequestQuery)
@document_response(RequestList)
async def list_transport_requests(query_args: RequestQuery) -> Response:
    """Rides, newest first; `status`: requested, scheduled, picked_up, dropped_off, no_show, cancelled."""
    found = await transport.list_requests(store(), status=query_args.status)
    own = access.own_crew()
    items = [transport.request_view(surge_config(), r) for r in found if own is None or r.crew_id == own]
    return json_response(RequestList(items=items))


@blueprint.get("/transport/requests/<request_id>")
@document_response(transport.RequestView)
async def get_transport_request(request_id: str) -> Response:
    """One ride, with the pickup window to tell the resident once it is scheduled."""
    found = await transport.get_request(store(), request_id)
    own = access.own_crew()
    if own is not None and found.crew_id != own:
        raise Problem(
            404, "Not Found", f"no transport request {request_id!r}", kind="unknown-transport-request"
        )
    return json_response(transport.request_view(surge_config(), found))


MOVES = "any(picked_up, dropped_off, no_show, cancelled)"


# `string:` spelled out: quart-schema's path pattern would otherwise read `<request_id>/<any(…):to>` as one
# parameter and document the route as /transport/requests/{to}.
@blueprint.post(f"/transport/requests/<string:request_id>/<{MOVES}:to>")
@validate_request(transport.MoveIn)
@document_response(transport.RequestView)
async def post_transport_move(request_id: str, to: str, data: transport.MoveIn) -> Response:
    """The van's word (or a coordinator's).

    `picked_up`, `dropped_off` (checks the party in at the station), `no_show` (frees the places, reopens the
    incident, alarms supervisors); a coordinator may also `cancelled` a ride.
    """
    own = access.own_crew()
    if own is not None and to == "cancelled":
        raise Problem(403, "Forbidden", "a crew may not cancel a ride", kind="access-denied")
    moved = await transport.move(
        store(),
        surge_config(),
        request_id,
        cast(transport.Move, to),  # the route only matches the four moves
        access.current().name,
        crew=own,
        reason=data.reason,
    )
    return json_response(transport.request_view(surge_config(), moved))


@blueprint.post("/transport/runs")
@validate_request(transport.RunIn)
@document_response(RunView, 201)
async def post_run(data: transport.RunIn) -> Response:
    """A van run for these requests, in driving order, with an estimated pickup time for each.

    One station per run, within the van's seats and wheelchair spaces.
    """
    run = await transport.schedule(store(), surge_config(), data, access.current().name)
    return json_response(await _run_view(run), 201, {"Location": f"/api/v1/transport/runs/{run.id}"})


@blueprint.post("/transport/runs/auto")
@document_response(RunList)
async def post_runs_auto() -> Response:
    """Runs for the waiting rides over the free vans.

    The longest-waiting first, with the nearby pickups for the same station that fit in the van.
    """
    return json_response(
        RunList(items=await transport.auto_runs(store(), surge_config(), access.current().name))
    )


@blueprint.get("/transport/runs")
@document_response(RunList)
async def list_runs() -> Response:
    """Van runs, newest first; a crew sees its own."""
    own = access.own_crew()
    return json_response(
        RunList(items=[r for r in await transport.list_runs(store()) if own in (None, r.crew_id)])
    )


@blueprint.get("/transport/runs/<run_id>")
@document_response(RunView)
async def get_run(run_id: str) -> Response:
    """One run: its pickups in order, each with its status and pickup window."""
    run = await transport.get_run(store(), run_id)
    own = access.own_crew()
    if own is not None and run.crew_id != own:
        raise Problem(404, "Not Found", f"no run {run_id!r}", kind="unknown-run")
    return json_response(await _run_view(run))


async def _run_view(run: transport.Run) -> RunView:
    found = {r.id: r for r in await transport.requests_of(store(), run)}
    views = [transport.request_view(surge_config(), found[i]) for i in run.requests if i in found]
    return RunView(run=run, requests=views)


async def _where(query: NearestQuery) -> Point:
    if query.ticket is not None:
        incident = await select_incident(store(), query.ticket)
        own = access.own_crew()
        if incident is None or (own is not None and incident.assigned_crew != own):
            raise unknown_ticket(query.ticket)  # a crew knows of its own incidents only
        if incident.location is None:
            raise invalid_field("ticket", f"incident {query.ticket} has no location yet")
        return incident.location
    if query.lat is None or query.lon is None:
        raise invalid_field("lat", "give lat and lon, or a ticket")
    return Point(query.lat, query.lon)
