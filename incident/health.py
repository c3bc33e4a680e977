"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

import asyncio

from quart import Blueprint, Response
from quart_schema import hide
from redis.exceptions import RedisError

from incident.problems import Problem, problem_response
from incident.web import json_response, store, surge_config

blueprint = Blueprint("health_api", __name__)


@blueprint.get("/healthz")
@hide
async def healthz() -> Response:
    """The process answers."""
    return json_response({"status": "ok"})


@blueprint.get("/readyz")
@hide
async def readyz() -> Response:
    """Redis answers within a second and the config is loaded: this worker can take calls."""
    try:
        await asyncio.wait_for(store().redis.ping(), timeout=1.0)
    except (RedisError, OSError, TimeoutError) as error:
        return problem_response(
            Problem(503, "Not ready", f"Redis does not answer: {type(error).__name__}", kind="not-ready")
        )
    return json_response({"status": "ready", "jurisdiction": surge_config().jurisdiction.id})
