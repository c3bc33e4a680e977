"""Exports of incidents as GeoJSON and CSV, streamed, filtered exactly as the incident list is."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from quart import Blueprint, Response
from quart_schema import validate_querystring

from incident import exports
from incident.config import SurgeConfig
from incident.incidents import stream_incidents
from incident.incidents_api import IncidentFilterQuery, incident_filter
from incident.records import Incident
from incident.web import store, surge_config

blueprint = Blueprint("exports_api", __name__, url_prefix="/api/v1/exports")
log = logging.getLogger("stormline.exports")

BATCH = 500  # incidents read, written and sent at a time: what an export holds in memory

Format = Callable[[SurgeConfig, AsyncIterator[list[Incident]]], AsyncIterator[bytes]]


@blueprint.get("/incidents.geojson")
@validate_querystring(IncidentFilterQuery)
async def incidents_geojson(query_args: IncidentFilterQuery) -> Response:
    """Incidents as a GeoJSON FeatureCollection (`application/geo+json`), newest first.

    The filters of `GET /api/v1/incidents` (`status`, `category`, `priority`, `since`, `bbox`,
    `needs_location`, `overdue`), without paging: every incident they keep, streamed.
    """
    return _streamed(query_args, exports.geojson, "application/geo+json", "geojson")


@blueprint.get("/incidents.csv")
@validate_querystring(IncidentFilterQuery)
async def incidents_csv(query_args: IncidentFilterQuery) -> Response:
    """Incidents as CSV, the same columns as the GeoJSON's properties plus `lat` and `lon`, streamed."""
    return _streamed(query_args, exports.csv_rows, "text/csv; charset=utf-8", "csv")


def _streamed(query: IncidentFilterQuery, write: Format, content_type: str, extension: str) -> Response:
    where = incident_filter(query)  # a bad filter is a 422 here, before anything is sent
    kept, config = store(), surge_config()  # the body is written after the request's context is gone

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in write(config, stream_incidents(kept, where, batch=BATCH)):
                yield chunk
        except Exception:
            # Too late for a problem response: the client sees a cut-off file, and the log says why.
            log.exception("export ended early")
            raise

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%MZ")
    response = Response(
        body(),
        200,
        {"Content-Disposition": f'attachment; filename="incidents-{stamp}.{extension}"'},
        content_type=content_type,
    )
    response.timeout = None  # a large export takes as long as it takes
    return response
