"""The JSON API for callbacks, and the phone system's (CTI) events with their screen pop."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_response, validate_request

from incident import callbacks, telephony
from incident.auth import access
from incident.registry import Registry
from incident.web import geo, json_response, store, surge_config

blueprint = Blueprint("callbacks_api", __name__, url_prefix="/api/v1")


@blueprint.post("/callbacks")
@validate_request(callbacks.CallbackIn)
@document_response(callbacks.Callback)
async def post_callback(data: callbacks.CallbackIn) -> Response:
    """Put a resident in the callback queue (an agent's "call back at 3 pm": give `promised_at`)."""
    made = await callbacks.request(store(), surge_config(), data, access.current().name)
    return json_response(made, 201)


@blueprint.get("/callbacks")
@document_response(callbacks.CallbackQueue)
async def list_callbacks() -> Response:
    """The callback queue in the order it is worked, with how many promised times have passed."""
    return json_response(await callbacks.queue(store()), headers={"Cache-Control": "no-store"})


@blueprint.post("/callbacks/next")
@document_response(callbacks.Callback)
async def take_next_callback() -> Response:
    """Hold the next callback that is due for the agent asking (204: none is due now)."""
    taken = await callbacks.take_next(store(), access.current().name or "?")
    if taken is None:
        return Response(status=204)
    return json_response(taken)


@blueprint.post("/callbacks/<callback_id>/attempts")
@validate_request(callbacks.CallbackAttemptIn)
@document_response(callbacks.Callback)
async def post_callback_attempt(callback_id: str, data: callbacks.CallbackAttemptIn) -> Response:
    """Record a callback made: reached, no answer (tried again later), message left, wrong number."""
    done = await callbacks.record_attempt(store(), callback_id, data, access.current().name or "?")
    return json_response(done, 201)


@blueprint.post("/callbacks/<callback_id>/cancel")
@document_response(callbacks.Callback)
async def cancel_callback(callback_id: str) -> Response:
    return json_response(await callbacks.cancel(store(), callback_id, access.current().name))


@blueprint.post("/telephony/events")
@validate_request(telephony.CallEvent)
@document_response(telephony.ScreenPop)
async def post_call_event(data: telephony.CallEvent) -> Response:
    """The phone system tells of a call; the answer is the screen pop (registry match, open tickets)."""
    registry = Registry(store(), surge_config(), geo())
    pop = await telephony.on_event(store(), surge_config(), registry, data, access.current().name)
    return json_response(pop, headers={"Cache-Control": "no-store"})
