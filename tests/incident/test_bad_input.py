"""Bad input gets a 4xx problem-details body naming what is wrong, never a 500, and stores nothing."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident.auth.roles import Role
from tests.incident.helpers import CALL
from tests.support import as_role

PROBLEM = "application/problem+json"


async def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, await response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    body: dict[str, Any] = await response.get_json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    return body


async def _raw(client: Client, body: bytes, content_type: str = "application/json") -> Any:
    return await client.post("/api/v1/calls", data=body, headers={"Content-Type": content_type})


async def test_malformed_json_is_400(client: Client) -> None:
    """Truncated JSON is a 400 saying the body is not valid JSON."""
    problem = await _problem(await _raw(client, b'{"narrative": "tree'), 400)
    assert "not valid JSON" in problem["detail"]


async def test_wrong_content_type_is_415(client: Client) -> None:
    """A form post to a JSON endpoint is a 415."""
    await _problem(await _raw(client, b"narrative=tree", "application/x-www-form-urlencoded"), 415)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"address": "Main & Delavan"}, "narrative"),
        ({**CALL, "narrative": 42}, "narrative"),
        ({**CALL, "narrative": ""}, "narrative"),
        ({**CALL, "channel": "carrier pigeon"}, "channel"),
        ({**CALL, "priority": "P0"}, "priority"),
        ({**CALL, "location": {"lat": 142.0, "lon": -78.8}}, "location.lat"),
        ({**CALL, "location": {"lat": 42.9}}, "location.lon"),
        ({**CALL, "callback_numbr": "716"}, "callback_numbr"),
        ({**CALL, "category": "snow-angels"}, "category"),
        ({**CALL, "narrative": "x" * 4001}, "narrative"),
        ({**CALL, "ticket": "ticket-12"}, "ticket"),
        ({**CALL, "received_at": "yesterday"}, "received_at"),
        ({**CALL, "received_at": "2099-01-01T00:00:00Z"}, "received_at"),
        ({**CALL, "received_at": "2026-01-01T00:00:00"}, "received_at"),
        ({**CALL, "language": "english please"}, "language"),
    ],
)
async def test_invalid_field_is_422_naming_it(client: Client, body: dict[str, Any], field: str) -> None:
    """Each wrong, missing or unknown field is a 422 whose errors name that field."""
    problem = await _problem(await client.post("/api/v1/calls", json=body), 422)
    assert problem["errors"][0]["field"] == field
    assert (await (await client.get("/api/v1/incidents")).get_json())["items"] == []


@pytest.mark.parametrize("body", [b"[]", b"null", b'"call"', b"42"])
async def test_body_that_is_not_an_object_is_422(client: Client, body: bytes) -> None:
    """Valid JSON that is not an object is refused as an invalid body."""
    await _problem(await _raw(client, body), 422)


async def test_oversized_body_is_413(client: Client) -> None:
    """A body over intake.max_body_bytes is a 413."""
    body = json.dumps({**CALL, "narrative": "x" * 70_000}).encode()
    await _problem(await _raw(client, body), 413)


async def test_unknown_ticket_and_route_are_404(client: Client) -> None:
    """Unknown tickets and unknown paths are 404 problems."""
    await _problem(await client.get("/api/v1/incidents/2026-123456"), 404)
    await _problem(await client.get("/api/v1/nothing-here"), 404)


async def test_wrong_method_is_405(client: Client) -> None:
    """DELETE on the calls collection is a 405 problem with an Allow header."""
    response = await client.delete("/api/v1/calls")
    await _problem(response, 405)
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
        ("status=melting", "status"),
        ("priority=urgent", "priority"),
        ("bbox=1,2,3", "bbox"),
        ("cursor=%%%", "cursor"),
        ("since=last-tuesday", "since"),
        ("since=2026-10-13T00:00:00", "since"),
        ("colour=red", "colour"),
    ],
)
async def test_bad_query_is_422_naming_parameter(client: Client, query: str, field: str) -> None:
    """Each bad list parameter is a 422 naming it."""
    problem = await _problem(await client.get(f"/api/v1/incidents?{query}"), 422)
    assert problem["errors"][0]["field"] == field


async def test_bad_transition_body_is_422(client: Client) -> None:
    """A transition to a status that does not exist names the `to` field."""
    ticket = (await (await client.post("/api/v1/calls", json=CALL)).get_json())["ticket"]
    problem = await _problem(
        await client.post(f"/api/v1/incidents/{ticket}/transitions", json={"to": "gone"}), 422
    )
    assert problem["errors"][0]["field"] == "to"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [*CALL, "ticket", "priority", "channel", "received_at", "language", "agent", "x"]
)
call_like = st.dictionaries(field_names, json_values, max_size=8)
garbage = st.binary(max_size=200).filter(lambda raw: not raw.strip().startswith(b"{"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        call_like.map(lambda d: json.dumps(d).encode()),
        garbage,
        json_values.map(lambda v: json.dumps(v).encode()),
    )
)
async def test_two_hundred_malformed_requests_get_4xx_problems(client: Client, body: bytes) -> None:
    """Random malformed bodies never cause a 5xx: each is a 4xx problem or a valid call."""
    response = await _raw(client, body)
    if response.status_code == 201:
        return  # hypothesis found a body that is a valid call; that is fine
    assert 400 <= response.status_code < 500, (body, await response.get_data(as_text=True))
    assert response.content_type == PROBLEM


# Found by fuzzing the API from its OpenAPI document (tests/test_fuzz_api.py): each of these was a 500.

EVENT_IDS_REDIS_REFUSES = [
    "99999999999999999999-0",  # past 64 bits
    "1-18446744073709551616",
    "18446744073709551615-18446744073709551615",  # the last id there can be: nothing comes after it
    "١٢-٣",  # digits, but not ASCII ones
]


@pytest.mark.parametrize("after", EVENT_IDS_REDIS_REFUSES)
@pytest.mark.parametrize("path", ["/api/v1/audit", "/api/v1/alarms", "/api/v1/incidents/{ticket}/history"])
async def test_an_event_id_redis_refuses_is_a_422_naming_after(client: Client, path: str, after: str) -> None:
    """An `after` that looks like an event id but that Redis refuses is a 422 naming it, not a 500."""
    if "{ticket}" in path:
        made = await (await client.post("/api/v1/calls", json=CALL)).get_json()
        path = path.format(ticket=made["ticket"])
    problem = await _problem(await client.get(f"{path}?after={quote(after)}"), 422)
    assert problem["errors"][0]["field"] == "after"


@pytest.mark.parametrize("after", ["99999999999999999999", "١", "1-99999999999999999999"])
async def test_an_event_stream_id_redis_refuses_is_a_422(client: Client, after: str) -> None:
    """The event stream refuses such an id before it starts (it broke off mid-stream, on Redis's error)."""
    problem = await _problem(await client.get(f"/api/v1/events/stream?after={quote(after)}"), 422)
    assert problem["errors"][0]["field"] == "Last-Event-ID"


# Found by sending times from the ends of the calendar (the fuzz test now sends such times too): an
# offset can carry 0001-01-01 or 9999-12-31 out of the calendar once the time is turned into UTC,
# which was a 500 where the time was stored. A time must be from 1970 to 9999, in UTC.
OUT_OF_CALENDAR = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1969-12-31T23:59:59Z"]


@pytest.mark.parametrize("moment", OUT_OF_CALENDAR)
async def test_a_call_received_outside_the_calendar_is_422(client: Client, moment: str) -> None:
    """A call's received_at must be a time from 1970 to 9999 in UTC (0001-01-01+14:00 was a 500)."""
    problem = await _problem(await client.post("/api/v1/calls", json={**CALL, "received_at": moment}), 422)
    assert problem["errors"][0]["field"] == "received_at"


@pytest.mark.parametrize("field", ["ready_from", "ready_until"])
@pytest.mark.parametrize("moment", OUT_OF_CALENDAR)
async def test_a_ride_ready_outside_the_calendar_is_422(client: Client, field: str, moment: str) -> None:
    """A ride's ready_from and ready_until are held to the calendar too (both were 500s)."""
    ride = {
        "narrative": "no heat, need a ride to a warming station",
        "location": {"lat": 42.93, "lon": -78.83},
    }
    ticket = (await (await client.post("/api/v1/calls", json=ride)).get_json())["ticket"]
    made = await client.post("/api/v1/transport/requests", json={"ticket": ticket, field: moment})
    problem = await _problem(made, 422)
    assert problem["errors"][0]["field"] == field


@pytest.mark.parametrize("moment", OUT_OF_CALENDAR)
async def test_a_position_fixed_outside_the_calendar_is_422(app: App, client: Client, moment: str) -> None:
    """A crew phone's fix time is held to the calendar (0001-01-01+14:00 was a 500)."""
    await client.post("/api/v1/crews", json={"id": "crew-1", "name": "Crew 1", "kind": "debris_forestry"})
    phone = await as_role(app, Role.CREW, crew_id="crew-1")
    fix = {"lat": 42.93, "lon": -78.83, "at": moment}
    problem = await _problem(await phone.post("/api/v1/crews/crew-1/position", json=fix), 422)
    assert problem["errors"][0]["field"] == "at"


@pytest.mark.parametrize("moment", OUT_OF_CALENDAR)
async def test_an_open311_date_outside_the_calendar_is_400_naming_it(client: Client, moment: str) -> None:
    """Open311's end_date is held to the calendar (0001-01-01 was a 500 working out the start)."""
    response = await client.get(f"/open311/v2/requests.json?end_date={quote(moment)}")
    assert response.status_code == 400
    assert (await response.get_json())[0]["description"].startswith("end_date:")


DEEP = b"[" * 985 + b"]" * 985


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/calls"),  # the intake lane's route, with a token: the lane hands it on
        ("POST", "/api/v1/triage"),
        ("PATCH", "/api/v1/agencies/svc-211"),
        ("POST", "/api/v1/mode"),
    ],
)
async def test_deeply_nested_json_is_400_with_headers(client: Client, method: str, path: str) -> None:
    """A 985-deep array (which made msgspec recurse out) is a 400, with the usual security headers."""
    send = client.post if method == "POST" else client.patch
    response = await send(path, data=DEEP, headers={"Content-Type": "application/json"})
    problem = await _problem(response, 400)
    assert "nests" in problem["detail"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    shallow_enough = b'{"narrative": "tree down", "x": ' + b"[" * 40 + b"]" * 40 + b"}"
    assert (await _problem(await _raw(client, shallow_enough), 400))["detail"].endswith("32 deep")


async def test_characters_xml_forbids_are_taken_out_where_text_enters(client: Client) -> None:
    """An address and a narrative with control characters are stored without them (once, at the edge)."""
    body = json.dumps({**CALL, "narrative": "tree\u0001 down\ufffe", "address": "12 Main St\u0001 rear"})
    answer = await (await _raw(client, body.encode())).get_json()
    incident = answer["incident"]
    call = (await (await client.get(f"/api/v1/incidents/{answer['ticket']}")).get_json())["calls"][0]
    assert call["narrative"] == "tree down"
    assert call["address"] == "12 Main St rear"
    assert "\u0001" not in json.dumps(incident)
