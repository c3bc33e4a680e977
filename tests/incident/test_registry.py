"""The registry of residents who need help: keeping it, importing a list, matching a caller, audit."""

from __future__ import annotations

import os
import subprocess
from datetime import date, timedelta
from pathlib import Path

from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident.auth.audit import RegistryRead, ResidentChanged, select_audit
from incident.auth.roles import Role
from incident.store import Store
from tests.server import STORMLINE
from tests.support import as_role

ELMWOOD = {"lat": 42.9247, "lon": -78.8768}
RESIDENT = {
    "name": "Dorothy Pruitt",
    "address": "Elmwood Ave & Forest Ave",
    "location": ELMWOOD,
    "phone": "716-555-0142",
    "needs": ["oxygen", "lives_alone"],
    "contact_name": "Jim Pruitt (son)",
    "contact_phone": "716-555-0143",
    "consent_date": "2026-10-01",
    "consent_source": "National Grid medical-needs list",
}
CSV = """id,name,phone,address,needs,consent_date,consent_source,language
NG-1,Ann Kowalski,716-555-0101,Hertel Ave & Delaware Ave,oxygen;mobility,2026-09-01,utility list,pl
NG-2,Bo Nguyen,716-555-0102,Elmwood Ave & Forest Ave,dialysis,2026-09-02,utility list,en
NG-3,Cy Diaz,716-555-0103,Main St & Kensington Ave,ventilator,2026-09-03,utility list,es
NG-4,Di Evans,716-555-0104,Main St & Kensington Ave,lives alone,2026-13-40,utility list,en
NG-5,,716-555-0105,Main St & Kensington Ave,mobility,2026-09-05,utility list,en
NG-6,Ed Flynn,call me,Main St & Kensington Ave,mobility,2026-09-05,utility list,en
"""


async def _audited(store: Store) -> list[object]:
    return [stored.event for stored in await select_audit(store, limit=1000)]


async def test_a_coordinator_registers_a_resident_and_the_agents_see_only_what_a_call_needs(
    app: App, store: Store
) -> None:
    """Registered with consent and a re-verify date a year on; an agent's match shows needs, not contacts."""
    coordinator = await as_role(app, Role.COORDINATOR)
    made = await coordinator.post("/api/v1/registry", json=RESIDENT)
    assert made.status_code == 201, await made.get_data(as_text=True)
    resident = await made.get_json()
    assert (resident["phone_e164"], resident["reverify_by"]) == ("+17165550142", "2027-10-01")
    assert resident["zones"]["council_district"]
    agent = await as_role(app, Role.AGENT)
    assert (await agent.get(f"/api/v1/registry/{resident['id']}")).status_code == 403
    assert (await agent.get("/api/v1/registry")).status_code == 403
    found = await (await agent.post("/api/v1/registry/match", json={"phone": "(716) 555-0142"})).get_json()
    assert found["items"] == [
        {
            "id": resident["id"],
            "name": "Dorothy Pruitt",
            "matched_by": "number",
            "needs": ["lives_alone", "oxygen"],
            "dialysis_schedule": None,
            "language": "en",
        }
    ]
    reads = [e for e in await _audited(store) if isinstance(e, RegistryRead)]
    assert [(r.actor, r.role, r.purpose, r.residents) for r in reads] == [
        ("test-agent", "agent", "match", [resident["id"]])
    ]


async def test_a_call_from_a_registered_number_shows_at_intake_and_raises_triage(
    app: App, store: Store
) -> None:
    """A power-out call from an oxygen user's number: the receipt names them and triage goes up."""
    coordinator = await as_role(app, Role.COORDINATOR)
    assert (await coordinator.post("/api/v1/registry", json=RESIDENT)).status_code == 201
    agent = await as_role(app, Role.AGENT)
    call = {"narrative": "power has been out since last night", "address": "Hertel Ave & Delaware Ave"}
    plain = await (
        await agent.post("/api/v1/calls", json={**call, "callback_number": "716-555-0999"})
    ).get_json()
    known = await (
        await agent.post("/api/v1/calls", json={**call, "callback_number": "716 555 0142"})
    ).get_json()
    assert plain["registered"] == []
    assert [r["name"] for r in known["registered"]] == ["Dorothy Pruitt"]
    rank = ["P1", "P2", "P3", "P4"]
    assert rank.index(known["incident"]["priority"]) < rank.index(plain["incident"]["priority"])
    assert known["incident"]["category"] == "medical_referral"  # the referral is offered
    assert "on_oxygen=yes" in [reason["answer"] for reason in known["incident"]["triage"]["reasons"]]


async def test_an_address_near_a_registered_resident_matches_but_tells_triage_nothing(app: App) -> None:
    """A call near a registered resident names them, by address; a neighbour's call keeps its triage."""
    coordinator = await as_role(app, Role.COORDINATOR)
    assert (await coordinator.post("/api/v1/registry", json=RESIDENT)).status_code == 201
    agent = await as_role(app, Role.AGENT)
    call = {"narrative": "power has been out since last night", "location": ELMWOOD}
    made = await (await agent.post("/api/v1/calls", json=call)).get_json()
    assert [(r["name"], r["matched_by"]) for r in made["registered"]] == [("Dorothy Pruitt", "address")]
    assert made["incident"]["category"] != "medical_referral"
    assert made["incident"]["triage"]["reasons"][0]["answer"] is None
    assert (await (await agent.get(f"/api/v1/incidents/{made['ticket']}")).get_json())["calls"][0][
        "answers"
    ] == {}


async def test_an_import_keeps_good_rows_and_refuses_bad_ones_by_line(app: App, store: Store) -> None:
    """Bad needs, dates, names and numbers are refused with their line and column; the rest are kept."""
    coordinator = await as_role(app, Role.COORDINATOR)
    sent = await coordinator.post(
        "/api/v1/registry/import?source=national-grid", data=CSV, headers={"Content-Type": "text/csv"}
    )
    assert sent.status_code == 200, await sent.get_data(as_text=True)
    result = await sent.get_json()
    assert (result["registered"], result["updated"]) == (2, 0)
    assert [(r["line"], r["column"]) for r in result["refused"]] == [
        (4, "needs"),
        (5, "consent_date"),
        (6, "name"),
        (7, None),
    ]
    assert "ventilator" in result["refused"][0]["problem"]
    assert "phone" in result["refused"][3]["problem"]
    again = await coordinator.post(
        "/api/v1/registry/import?source=national-grid",
        data=CSV.replace("oxygen;mobility", "oxygen"),
        headers={"Content-Type": "text/csv"},
    )
    assert ((await again.get_json())["registered"], (await again.get_json())["updated"]) == (0, 2)
    listed = await (await coordinator.get("/api/v1/registry")).get_json()
    assert listed["total"] == 2
    assert {r["name"]: r["needs"] for r in listed["items"]}["Ann Kowalski"] == ["oxygen"]
    bad = await coordinator.post(
        "/api/v1/registry/import?source=x", data="name,adress\nA,B\n", headers={"Content-Type": "text/csv"}
    )
    assert bad.status_code == 422
    assert "unknown column 'adress'" in (await bad.get_json())["detail"]
    changes = [e for e in await _audited(store) if isinstance(e, ResidentChanged)]
    assert [c.change for c in changes] == ["registered", "registered", "imported", "imported"]


async def test_removing_a_resident_leaves_nothing_to_match_and_no_import_brings_them_back(app: App) -> None:
    """Consent withdrawn: the record and its indexes go, and the list sending them again is refused."""
    coordinator = await as_role(app, Role.COORDINATOR)
    resident = await (await coordinator.post("/api/v1/registry", json=RESIDENT)).get_json()
    assert (await coordinator.delete(f"/api/v1/registry/{resident['id']}")).status_code == 204
    assert (await coordinator.get(f"/api/v1/registry/{resident['id']}")).status_code == 404
    found = await coordinator.post("/api/v1/registry/match", json={"phone": "716-555-0142"})
    assert (await found.get_json())["items"] == []
    headers = {"Content-Type": "text/csv"}
    await coordinator.post("/api/v1/registry/import?source=ng", data=CSV, headers=headers)
    listed = await (await coordinator.get("/api/v1/registry")).get_json()
    ann = next(r for r in listed["items"] if r["name"] == "Ann Kowalski")
    assert (await coordinator.delete(f"/api/v1/registry/{ann['id']}")).status_code == 204
    again = await (
        await coordinator.post("/api/v1/registry/import?source=ng", data=CSV, headers=headers)
    ).get_json()
    assert (again["registered"], again["updated"]) == (0, 1)
    assert (2, "id", "this resident withdrew their consent") in [
        (r["line"], r["column"], r["problem"]) for r in again["refused"]
    ]


async def test_stale_entries_are_listed_for_their_yearly_call(app: App) -> None:
    """An entry whose re-verify date is past (or within 30 days) is listed as stale; a fresh one is not."""
    coordinator = await as_role(app, Role.COORDINATOR)
    today = date.today()
    old = {**RESIDENT, "consent_date": (today - timedelta(days=400)).isoformat(), "phone": "716-555-0150"}
    fresh = {**RESIDENT, "consent_date": (today - timedelta(days=10)).isoformat()}
    await coordinator.post("/api/v1/registry", json=old)
    await coordinator.post("/api/v1/registry", json=fresh)
    stale = await (await coordinator.get("/api/v1/registry?stale=true")).get_json()
    assert [r["consent_date"] for r in stale["items"]] == [old["consent_date"]]


async def test_a_bad_entry_names_its_field(client: Client) -> None:
    """A malformed registration is a 422 naming the field (a need not on the list, a number that is none)."""
    bad_need = await client.post("/api/v1/registry", json={**RESIDENT, "needs": ["ventilator"]})
    assert bad_need.status_code == 422
    assert "needs" in (await bad_need.get_json())["detail"]
    bad_phone = await client.post("/api/v1/registry", json={**RESIDENT, "phone": "call me"})
    assert bad_phone.status_code == 422
    assert (await bad_phone.get_json())["errors"][0]["field"] == "phone"


def test_the_command_imports_a_list_and_names_each_refused_row(tmp_path: Path) -> None:
    """`stormline registry import` keeps the good rows, prints each bad one by line, and exits 1."""
    listing = tmp_path / "medical-needs.csv"
    listing.write_text(CSV, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORMLINE_")}
    env["STORMLINE_DATA_DIR"] = str(tmp_path / "data")
    args = [STORMLINE, "registry", "import", str(listing), "--source", "national-grid"]
    first = subprocess.run(args, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert first.returncode == 1, first.stderr
    assert "2 registered, 0 updated" in first.stdout
    assert f"{listing}:4: needs: unknown need 'ventilator'" in first.stderr
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert "0 registered, 2 updated" in again.stdout
