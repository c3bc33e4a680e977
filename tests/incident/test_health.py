"""Liveness, readiness, the OpenAPI document and the front page."""

from __future__ import annotations

import re
from pathlib import Path

from quart.testing.app import TestApp as ServingApp
from quart.typing import TestClientProtocol as Client

from incident.app import create_app
from incident.config import SurgeConfig
from incident.settings import Settings
from tests.support import CONFIG


async def test_healthz_and_readyz(client: Client) -> None:
    """With Redis up, the process is alive and ready."""
    assert (await client.get("/healthz")).status_code == 200
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert (await ready.get_json())["jurisdiction"] == "buffalo"


async def test_readyz_is_503_when_redis_is_gone(tmp_path: Path, config: SurgeConfig) -> None:
    """Pointed at a Redis that does not answer, readyz says 503 while healthz still says 200."""
    settings = Settings(
        redis_url=f"unix://{tmp_path}/nobody.sock", data_dir=str(tmp_path), config=str(CONFIG), secret_key="t"
    )
    app = create_app(settings, config)
    # With Redis gone the worker builds the gazetteer from the shipped data: seconds, not Quart's six.
    async with ServingApp(app, startup_timeout=60) as test_app:
        client = test_app.test_client()
        assert (await client.get("/healthz")).status_code == 200
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.content_type == "application/problem+json"


async def test_openapi_documents_every_api_route(client: Client) -> None:
    """/openapi.json describes each /api/v1 route with its request schema."""
    document = await (await client.get("/openapi.json")).get_json()
    paths = document["paths"]
    assert {"/api/v1/calls", "/api/v1/incidents", "/api/v1/incidents/{ticket}"} <= set(paths)
    assert "post" in paths["/api/v1/incidents/{ticket}/transitions"]
    call_schema = paths["/api/v1/calls"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "narrative" in str(call_schema) or "$ref" in call_schema
    assert "/healthz" not in paths


async def test_each_documented_path_names_its_path_parameters(client: Client) -> None:
    """Every {placeholder} of a path is one of its path parameters and every path parameter is in the path."""
    # Found by fuzzing: `<request_id>/<any(…):to>` was documented as /api/v1/transport/requests/{to}.
    document = await (await client.get("/openapi.json")).get_json()
    for path, operations in document["paths"].items():
        placeholders = set(re.findall(r"{([^}]+)}", path))
        for method, operation in operations.items():
            named = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert placeholders == named, (method, path, named)
    assert "/api/v1/transport/requests/{request_id}/{to}" in document["paths"]


def test_path_parameter_choices_are_listed_sorted(settings: Settings, config: SurgeConfig) -> None:
    """An `any(…)` path parameter's values are sorted: in a set's order, /openapi.json varied by process."""
    app = create_app(settings, config)  # held: the schema provider keeps only a weak reference to the app
    document = app.extensions["QUART_SCHEMA"].openapi_provider.schema()
    (move,) = document["paths"]["/api/v1/transport/requests/{request_id}/{to}"].values()
    (to,) = [p for p in move["parameters"] if p["name"] == "to"]
    assert to["schema"]["enum"] == ["cancelled", "dropped_off", "no_show", "picked_up"]


async def test_front_page_names_the_center(client: Client) -> None:
    """The front page says which city's center this is."""
    page = await (await client.get("/")).get_data(as_text=True)
    assert "City of Buffalo" in page
