"""The after-action report of a storm incident, as JSON, CSV and a page with its chart."""

from __future__ import annotations

from quart import Blueprint, Response, render_template, request
from quart_schema import document_response, hide

from incident import charts
from incident.problems import Problem, invalid_field
from incident.report import TABLES, Report, build, kept, to_csv
from incident.web import json_response, store, surge_config

blueprint = Blueprint("report_api", __name__)
pages = Blueprint("report_pages", __name__)


async def _report(activation_id: str) -> Report:
    # The report kept at stand-down is the record; ?fresh=1 (or a storm still running) builds it anew.
    found = None if request.args.get("fresh") else await kept(store(), activation_id)
    found = found or await build(store(), activation_id, surge_config())
    if found is None:
        raise Problem(404, "Not Found", f"no storm incident {activation_id}", kind="unknown-activation")
    return found


@blueprint.get("/api/v1/activations/<activation_id>/report")
@document_response(Report)
async def report_json(activation_id: str) -> Response:
    """The after-action report of a storm incident.

    Calls and incidents by category, priority, zone and channel; calls per hour; time to the 911
    transfer, to dispatch and to resolution (median, p90); deadlines missed; warming stations used
    (checked in, most at once) and rides (by how they ended, people dropped off, van runs).
    """
    return json_response(await _report(activation_id))


@blueprint.get("/api/v1/activations/<activation_id>/report.csv")
@hide
async def report_csv(activation_id: str) -> Response:
    """The report's tables as CSV: all of them one after the other, or `?table=<name>` alone.

    One table is a clean sheet for a spreadsheet: its heading row, then its rows. The names are
    `summary`, `category`, `priority`, `council_district`, `channel`, `calls_per_hour`, `durations`,
    `warming_stations` and `rides`.
    """
    table = request.args.get("table")
    if table is not None and table not in TABLES:
        problem = invalid_field("table", f"no table {table!r}; the tables are {', '.join(TABLES)}")
        problem.extra["allowed"] = list(TABLES)
        raise problem
    body = to_csv(await _report(activation_id), table)
    name = f"after-action-{activation_id}" + (f"-{table}" if table else "")
    headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
    return Response(body, 200, headers, content_type="text/csv; charset=utf-8")


@pages.get("/reports/<activation_id>")
@hide
async def report_page(activation_id: str) -> str:
    """The report as a page, its charts drawn on the server (no script) with axes, times and units."""
    found = await _report(activation_id)
    zone = surge_config().zone
    return await render_template(
        "report.html",
        report=found,
        per_hour=charts.per_hour("Calls per hour", found.calls_per_hour, zone, "calls per hour"),
        by_category=charts.ranked(
            "Incidents by category", [(r.key, r.incidents) for r in found.by_category], "incidents"
        ),
    )
