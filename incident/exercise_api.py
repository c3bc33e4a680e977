"""The JSON API for drills: start one (with a scripted storm), stop it with its score sheet, purge it."""

from __future__ import annotations

import asyncio
import functools

import msgspec
from quart import Blueprint, Response, current_app
from quart_schema import document_response, validate_request

from dispatch import drills
from incident import exercise
from incident.auth import access
from incident.web import geo, json_response, store, surge_config, triage_engine

blueprint = Blueprint("exercise_api", __name__, url_prefix="/api/v1")


class Exercises(msgspec.Struct, kw_only=True):
    items: list[exercise.Exercise]


@blueprint.post("/exercise")
@validate_request(exercise.StartIn)
@document_response(exercise.Exercise)
async def start_exercise(data: exercise.StartIn) -> Response:
    """Put the whole center in a drill; with a `script`, play its simulated callers and call-downs."""
    started = await exercise.start(store(), data.name, access.current().name)
    if data.script is not None:
        _play(data.script, started)
    return json_response(started, 201)


def _play(script: exercise.Script, drill: exercise.Exercise) -> None:
    """Run the script in this worker, in the background (kept alive until it ends or the drill stops)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    playing = exercise.play(
        store(app), surge_config(app), script, drill, geo=geo(app), triage=triage_engine(app)
    )
    task = asyncio.create_task(playing)
    tasks: set[asyncio.Task[int]] = app.extensions.setdefault("stormline.drills", set())
    tasks.add(task)
    task.add_done_callback(tasks.discard)


@blueprint.post("/exercise/stop")
@document_response(exercise.Exercise)
async def stop_exercise() -> Response:
    """End the drill: its score sheet is kept; what it made stays until purged."""
    return json_response(await exercise.stop(store(), access.current().name))


@blueprint.get("/exercises")
@document_response(Exercises)
async def list_exercises() -> Response:
    return json_response(Exercises(items=await exercise.listed(store())))


@blueprint.get("/exercises/<exercise_id>")
@document_response(exercise.Exercise)
async def get_exercise(exercise_id: str) -> Response:
    """A drill, with its score sheet once stopped."""
    return json_response(await exercise.get(store(), exercise_id))


@blueprint.post("/exercises/<exercise_id>/purge")
@document_response(exercise.Exercise)
async def purge_exercise(exercise_id: str) -> Response:
    """Delete everything a stopped drill made, its rides, referrals and jobs too (its score sheet stays)."""
    actor = access.current().name
    let_go = functools.partial(drills.let_go, store(), surge_config(), actor)
    return json_response(await exercise.purge(store(), exercise_id, actor, let_go))
