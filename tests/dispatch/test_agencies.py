"""The agency directory: HSDS packages in (CSV folder or JSON), shipped seed, coordinators' edits."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from dispatch import agencies
from incident.auth.roles import Role
from tests.support import ROOT, as_role

SHIPPED = ROOT / "dispatch" / "data" / "agencies"


async def test_a_first_start_loads_the_shipped_directory(client: Client) -> None:
    """The shipped HSDS package is in the directory, each service with its phone, hours and codes."""
    items = (await (await client.get("/api/v1/agencies")).get_json())["items"]
    by_id = {s["id"]: s for s in items}
    assert len(items) == 8
    crisis = by_id["svc-crisis-hotline"]
    assert crisis["organization"] == "Crisis Services"
    assert crisis["phone"] == "716-834-3131"
    assert crisis["hours"] == "24 hours"
    assert crisis["codes"] == ["crisis_services"]
    assert crisis["area_served"] == ["Erie County"]
    assert crisis["method"] == "phone"


def test_a_csv_package_with_a_broken_row_is_refused_naming_it(tmp_path: Path) -> None:
    """A service whose organization is missing is named by file and row; nothing is half-read."""
    package = tmp_path / "hsds"
    shutil.copytree(SHIPPED, package)
    with (package / "services.csv").open("a") as handle:
        handle.write("svc-new,org-missing,Orphan,,,,active\n")
    with pytest.raises(agencies.ImportError_, match=r"services\.csv: row 10: organization_id 'org-missing'"):
        agencies.read_package(package)


def test_a_webhook_service_needs_its_url(tmp_path: Path) -> None:
    """Stormline's extension says how referrals go; a webhook method without a URL is refused."""
    package = tmp_path / "hsds"
    shutil.copytree(SHIPPED, package)
    text = (package / "x-stormline.csv").read_text().replace("svc-211,phone", "svc-211,webhook")
    (package / "x-stormline.csv").write_text(text)
    with pytest.raises(agencies.ImportError_, match="webhook_url"):
        agencies.read_package(package)


async def test_a_json_package_is_imported_and_a_bad_one_named(client: Client) -> None:
    """HSDS JSON services come in through the API; a service without a name is a 422 naming it."""
    service = {
        "id": "svc-warm-meals",
        "name": "Hot meals delivered",
        "organization": {"id": "org-meals", "name": "Meals on Wheels for WNY"},
        "phones": [{"number": "716-555-0199"}],
        "schedules": [{"byday": "MO,TU,WE,TH,FR", "opens_at": "09:00", "closes_at": "17:00"}],
        "service_areas": [{"description": "Erie County"}],
        "eligibility": [{"eligibility": "Homebound adults 60 and older"}],
        "x_stormline": {
            "method": "webhook",
            "webhook_url": "https://meals.example/referrals",
            "codes": ["senior_services"],
        },
    }
    done = await client.post("/api/v1/agencies/import", json={"services": [service]})
    assert (await done.get_json())["imported"] == 1
    found = await (await client.get("/api/v1/agencies/svc-warm-meals")).get_json()
    assert found["hours"] == "MO,TU,WE,TH,FR 09:00–17:00"
    assert found["method"] == "webhook"
    bad = await client.post("/api/v1/agencies/import", json={"services": [{**service, "name": ""}]})
    assert bad.status_code == 422
    assert "service 0" in (await bad.get_json())["detail"]


async def test_a_coordinator_edits_a_service_and_capacity_is_dated(client: Client) -> None:
    """Setting capacity records when it was said; switching to email without an address is refused."""
    edited = await (await client.patch("/api/v1/agencies/svc-211", json={"capacity": 12})).get_json()
    assert edited["capacity"] == 12
    assert edited["capacity_at"] is not None
    assert edited["version"] == 2
    refused = await client.patch("/api/v1/agencies/svc-211", json={"method": "email"})
    assert refused.status_code == 422
    assert "email_to" in await refused.get_data(as_text=True)


@pytest.mark.parametrize("bad", ["x" * 50_000, "svc-\u202e112", "a/b/../c", "-leading", "svc 211"])
async def test_ids_an_import_names_follow_the_one_rule(app: App, bad: str) -> None:
    """A service or organization id that is huge, has a bidi override, a slash or a space is refused."""
    coordinator = await as_role(app, Role.COORDINATOR)
    for where in ("service", "organization"):
        service: dict[str, Any] = {
            "id": "svc-ok",
            "name": "Intake",
            "organization": {"id": "o-1", "name": "Org"},
        }
        if where == "service":
            service["id"] = bad
        else:
            service["organization"]["id"] = bad
        service["phones"] = [{"number": "716-555-0100"}]
        response = await coordinator.post("/api/v1/agencies/import", json={"services": [service]})
        assert response.status_code == 422, await response.get_data(as_text=True)
        assert "at most 64" in (await response.get_json())["errors"][0]["detail"]
    supervisor = await as_role(app, Role.SUPERVISOR)  # who creates crews
    crew = await supervisor.post("/api/v1/crews", json={"id": bad, "name": "Crew", "kind": "streets"})
    assert crew.status_code == 422


def test_a_nul_in_a_package_file_is_refused_with_its_place() -> None:
    """A package read from a file (the CLI's import) refuses an id with a NUL, naming the service."""
    item = {"id": "svc\x00211", "name": "Intake", "organization": {"id": "o-1", "name": "Org"}}
    with pytest.raises(agencies.ImportError_, match="service 0: id"):
        agencies.from_json([{**item, "phones": [{"number": "716-555-0100"}]}])
