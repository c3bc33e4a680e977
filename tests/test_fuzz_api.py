"""Schemathesis fuzzes every operation of /openapi.json against a real `stormline serve`: no 5xx, ever.

The server runs as a process on a loopback port with its own embedded Redis. Each operation is sent
with the token of the most powerful role the access table lets use it (supervisor where allowed,
else coordinator, crew, or the 911 center; none on the public ones), then again as a crew (whose
answers are filtered to its own work), an agent and a coordinator wherever they may use it too. A
few records are made first (calls, a crew with work, a van and its run, an open warming station, a
referral, a street job, an activation) and path parameters name them half the time, so that
requests reach real records and not only 404s; time fields get times from anywhere in the calendar.

Schemathesis makes valid and invalid requests (wrong types, missing and extra fields, boundary
values, odd unicode); any 4xx is fine. The checks: no response is a 5xx, and each answer the
document describes (the 2xx ones) matches its schema. The event stream (`GET /api/v1/events/stream`,
which never ends), the pages, Open311 and the health probes are not in the document, so they are not
fuzzed here. FUZZ_EXAMPLES sets the examples per operation (30; 200 digs deeper, in about 8 minutes).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from incident.app import create_app
from incident.auth.policy import ACCESS
from incident.auth.roles import Role
from incident.config import load_config
from incident.settings import Settings
from tests.server import Server, free_port
from tests.support import CONFIG

# Examples per operation and pass (schemathesis adds its own boundary cases); FUZZ_EXAMPLES=200 digs deeper.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
# Under pytest-xdist Schemathesis runs each of its tests as one item and a fraction of its requests:
# `make test` runs this module apart, with `-n 0`.
pytestmark = pytest.mark.skipif(
    "PYTEST_XDIST_WORKER" in os.environ, reason="run with -n 0 (make test does): one process fuzzes in full"
)
CREW = "fuzz-crew"
VAN = "fuzz-van"
# The role an operation is fuzzed as first: the first of these its rule allows.
# (Admins get no tokens; every API route an admin may use, a supervisor may use too.)
PREFERRED = (Role.SUPERVISOR, Role.COORDINATOR, Role.CREW, Role.PSAP, Role.AGENT, Role.TELEPHONY)
SENT: Counter[str] = Counter()  # requests sent, by the role they were sent as
REAL: dict[str, list[str]] = {}  # path parameter -> ids of records made by Fuzzed.seed


class Fuzzed:
    """The server under fuzzing, a token for each role, and the records made in it."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.tokens = {
            role: server.token(role.value, crew=CREW if role is Role.CREW else None) for role in PREFERRED
        }

    def seed(self) -> None:
        with self.server.client(self.tokens[Role.SUPERVISOR]) as client:

            def post(path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
                response = client.post(path, json=body)
                assert response.status_code == status, (path, response.text)
                return dict(response.json())

            def call(narrative: str, lat: float, lon: float, **fields: Any) -> str:
                body = {"narrative": narrative, "location": {"lat": lat, "lon": lon}, **fields}
                return str(post("/api/v1/calls", body, 201)["ticket"])

            post("/api/v1/crews", {"id": CREW, "name": "Fuzz Crew", "kind": "debris_forestry"}, 201)
            post("/api/v1/crews", {"id": VAN, "name": "Fuzz Van", "kind": "transport_van", "seats": 6}, 201)
            tickets = [
                call("Big limb down across Elmwood, street blocked", 42.9247, -78.8768, category="debris"),
                call("Another limb down on Elmwood", 42.9253, -78.8768, category="debris"),
                call("Wires and a tree down on Elmwood", 42.9250, -78.8767, category="debris"),
                call(
                    "my mother is 88, no heat and she needs her medicine delivered",
                    42.9295,
                    -78.8362,
                    caller_name="Pat Doe",
                    callback_number="716-555-0142",
                ),
            ]
            job = post("/api/v1/jobs", {"tickets": tickets[:2]}, 201)["job"]["id"]
            post(f"/api/v1/incidents/{tickets[2]}/assignment", {"crew_id": CREW})
            activation = post("/api/v1/mode", {"mode": "incident", "name": "Fuzz Storm", "reason": "fuzz"})
            post("/api/v1/stations/burgard/open", {"capacity_day": 40, "capacity_overnight": 40})
            ride = call("no heat, need a ride to a warming station", 42.93, -78.83)
            request = post("/api/v1/transport/requests", {"ticket": ride}, 201)["request"]["id"]
            run = post("/api/v1/transport/runs", {"crew_id": VAN, "requests": [request]}, 201)
            service = "svc-erie-senior-services"
            referral = post(
                f"/api/v1/incidents/{tickets[3]}/referrals",
                {"service_id": service, "need": "medicine", "consent": {"given": True, "how": "verbal"}},
                201,
            )
        REAL.update(
            {
                "ticket": [*tickets, ride],
                "crew_id": [CREW, VAN],
                "job_id": [job],
                "activation_id": [activation["state"]["activation"]["id"]],
                "site_id": ["burgard", "bennett"],
                "request_id": [request],
                "run_id": [run["run"]["id"]],
                "service_id": [service],
                "referral_id": [referral["referral"]["id"]],
                "token": [referral["link"].rsplit("/", 1)[1]],
            }
        )


def _document() -> dict[str, Any]:
    """Stormline's OpenAPI document, as /openapi.json serves it (the test checks that it is the same).

    Built in-process at collection, so that each operation is its own test: schemathesis's loader
    from a fixture, which would read it from the running server, does not work with pytest 9.
    """
    settings = Settings(redis_url="redis://unused", data_dir="unused", config=str(CONFIG), secret_key="x")
    app = create_app(settings, load_config(CONFIG))
    return dict(json.loads(json.dumps(app.extensions["QUART_SCHEMA"].openapi_provider.schema())))


def _tuples_loosened(node: Any) -> Any:
    """The document with each tuple (`prefixItems`) read as an array of any of its item types.

    Schemathesis 4.32 rewrites `prefixItems` in the draft-4 way (`items: [...]`) and then checks the
    response schema as OpenAPI 3.1, which refuses that: every response with a tuple in it (a ride's
    pickup window, the surge's history) was "Invalid Schema". The check is a little looser there.
    """
    if isinstance(node, list):
        return [_tuples_loosened(item) for item in node]
    if not isinstance(node, dict):
        return node
    loosened = {key: _tuples_loosened(value) for key, value in node.items()}
    if "prefixItems" in loosened:
        loosened["items"] = {"anyOf": loosened.pop("prefixItems")}
    return loosened


def _rfc3339(moment: datetime, offset_minutes: int) -> str:
    sign, minutes = "+-"[offset_minutes < 0], abs(offset_minutes)
    return f"{moment.isoformat()}{sign}{minutes // 60:02}:{minutes % 60:02}"


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(
    _tuples_loosened(DOCUMENT), config=schemathesis.Config.from_dict({"generation": {"database": "none"}})
)


# Times anywhere in the calendar, with any offset. msgspec documents a time as a plain string, so
# schemathesis sends no times at all; these go in the fields that take one.
TIME_FIELDS = {"received_at", "ready_from", "ready_until", "at", "since", "start_date", "end_date"}
EDGES = [
    "0001-01-01T00:00:00+14:00",  # before the calendar begins, in UTC
    "9999-12-31T23:59:59-14:00",  # after it ends
    "1969-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
]
MOMENTS = (
    st.sampled_from(EDGES)
    | st.builds(_rfc3339, st.datetimes(), st.integers(-14 * 60, 14 * 60))
    | st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat)
)


def _with_times(made_up: Any) -> st.SearchStrategy[Any]:
    """Half the time, each time field present holds a real time instead of whatever was made up."""
    if not isinstance(made_up, dict) or not TIME_FIELDS & made_up.keys():
        return st.just(made_up)
    return st.fixed_dictionaries(
        {
            name: st.just(value) | MOMENTS if name in TIME_FIELDS else st.just(value)
            for name, value in made_up.items()
        }
    )


# Characters XML 1.0 forbids, put into every text field of a body now and then (they once broke the
# CAP documents 911 and the partners read), and a body nested far deeper than any request needs (it
# once made the decoder recurse out: a 500).
FORBIDDEN = "\u0001\u000b\u001f\ufffe"
DEEP: Any = []
for _ in range(500):
    DEEP = [DEEP]


def _with_forbidden(value: Any) -> Any:
    if isinstance(value, str):
        return f"{value[:1]}{FORBIDDEN}{value[1:]}"
    if isinstance(value, list):
        return [_with_forbidden(item) for item in value]
    if isinstance(value, dict):
        return {key: _with_forbidden(item) for key, item in value.items()}
    return value


@schema.hook
def flatmap_body(context: Any, made_up: Any) -> st.SearchStrategy[Any]:
    """Real times in a body's time fields; sometimes forbidden characters in every text, or deep nesting."""
    return _with_times(made_up).flatmap(
        lambda body: st.sampled_from([body, body, _with_forbidden(body), DEEP])
    )


@schema.hook
def flatmap_query(context: Any, made_up: Any) -> st.SearchStrategy[Any]:
    """Real times in a query's time parameters."""
    return _with_times(made_up)


@schema.hook
def flatmap_path_parameters(context: Any, made_up: dict[str, Any] | None) -> st.SearchStrategy[Any]:
    """Half the time, a parameter that names a record names one that exists."""
    if not made_up:
        return st.just(made_up)
    return st.fixed_dictionaries(
        {
            name: st.sampled_from([value, *REAL[name]]) if REAL.get(name) else st.just(value)
            for name, value in made_up.items()
        }
    )


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Fuzzed]:
    """The server, seeded; at the end, how many requests the fuzzing sent is printed."""
    server = Server(tmp_path_factory.mktemp("fuzz"), port=free_port()).start()
    try:
        with server.client() as client:
            assert client.get("/openapi.json").json() == DOCUMENT
        made = Fuzzed(server)
        made.seed()
        started = time.monotonic()
        yield made
        took = time.monotonic() - started
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        assert capture is not None
        with capture.global_and_fixture_disabled():
            print(f"\nfuzzing sent {sum(SENT.values())} requests in {took:.0f} s: {dict(SENT)}")
    finally:
        server.stop()


def _endpoints() -> dict[str, str]:
    """Each access-table endpoint by its function's name, which quart-schema's operationId carries."""
    by_function: dict[str, str] = {}
    for endpoint in ACCESS:
        function = endpoint.rsplit(".", 1)[-1]
        assert function not in by_function, f"two endpoints named {function}: operationIds would clash"
        by_function[function] = endpoint
    return by_function


ENDPOINTS = _endpoints()


def _roles(operation: Any) -> frozenset[Role] | None:
    """Who may use an operation (None: anyone), from its operationId `<method>_<function>`."""
    function = operation.definition.raw["operationId"].split("_", 1)[1]
    return ACCESS[ENDPOINTS[function]].roles


def _first_role(operation: Any) -> Role | None:
    """The role an operation is fuzzed as in the first pass: the most powerful one it allows."""
    roles = _roles(operation)
    if roles is None:
        return None
    first = next((role for role in PREFERRED if role in roles), None)
    assert first is not None, f"{operation.label}: no role with a token may use it ({sorted(roles)})"
    return first


def _also(role: Role) -> Any:
    """Selects the operations `role` may use that the first pass fuzzed as another role."""
    return lambda context: (
        role in (_roles(context.operation) or ()) and _first_role(context.operation) != role
    )


def _send(case: Any, fuzzed: Fuzzed, role: Role | None, run: str) -> None:
    headers = {"Authorization": f"Bearer {fuzzed.tokens[role]}"} if role else {}
    SENT[run] += 1
    response = case.call(base_url=fuzzed.server.url, headers=headers, timeout=30)
    case.validate_response(response, checks=CHECKS, headers=headers)


# No 5xx; and a documented answer (the 2xx ones: errors are problem details, not in the document)
# must match its schema.
CHECKS = [not_a_server_error, response_schema_conformance]
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@FUZZ
def test_no_operation_answers_5xx(case: Any, fuzzed: Fuzzed) -> None:
    """Every operation, fuzzed as the most powerful role allowed to use it, never answers 5xx."""
    role = _first_role(case.operation)
    _send(case, fuzzed, role, role.value if role else "anyone")


@schema.include(_also(Role.CREW)).parametrize()
@FUZZ
def test_no_operation_answers_a_crew_5xx(case: Any, fuzzed: Fuzzed) -> None:
    """Every operation a crew may use, fuzzed with a crew's token (its own work only), never answers 5xx."""
    _send(case, fuzzed, Role.CREW, "crew")


@schema.include(_also(Role.AGENT)).parametrize()
@FUZZ
def test_no_operation_answers_an_agent_5xx(case: Any, fuzzed: Fuzzed) -> None:
    """Every operation an agent may use, fuzzed with an agent's token, never answers 5xx."""
    _send(case, fuzzed, Role.AGENT, "agent")


@schema.include(_also(Role.COORDINATOR)).parametrize()
@FUZZ
def test_no_operation_answers_a_coordinator_5xx(case: Any, fuzzed: Fuzzed) -> None:
    """Every operation a coordinator may use, fuzzed with a coordinator's token, never answers 5xx."""
    _send(case, fuzzed, Role.COORDINATOR, "coordinator")
