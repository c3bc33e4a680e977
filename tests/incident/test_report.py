"""The after-action report counts exactly what was filed during the storm."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime, timedelta

from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from tests.incident.deadlines import make_past_due
from tests.incident.helpers import ensure_crew

CALLS = [
    ({"narrative": "tree down across Elmwood, street blocked", "channel": "phone"}, "debris"),
    ({"narrative": "big limb down on Hertel", "channel": "web"}, "debris"),
    ({"narrative": "no heat in the house since yesterday", "channel": "phone"}, "shelter_transport"),
    ({"narrative": "need a ride to a warming center", "channel": "app"}, "shelter_transport"),
    ({"narrative": "power out on Bailey, when is it back", "channel": "phone"}, "utility"),
    ({"narrative": "mom is out of her insulin", "channel": "walk_in"}, "medical_referral"),
    ({"narrative": "neighbor not answering her door, lives alone", "channel": "phone"}, "welfare_check"),
    ({"narrative": "man trapped under a tree on Bailey", "channel": "phone"}, "emergency"),
]


async def test_scripted_storm_report_matches_what_was_filed(app: App, client: Client) -> None:
    """Activate, file calls, work them, stand down: the report's counts equal the calls filed."""
    before_storm = await client.post("/api/v1/calls", json={"narrative": "tree down before the storm"})
    assert before_storm.status_code == 201
    mode = await client.post(
        "/api/v1/mode", json={"mode": "incident", "name": "October Storm", "reason": "storm"}
    )
    activation = (await mode.get_json())["state"]["activation"]["id"]
    tickets: dict[str, str] = {}
    for body, category in CALLS:
        receipt = await (
            await client.post("/api/v1/calls", json={**body, "address": "Bailey & Kensington"})
        ).get_json()
        assert receipt["incident"]["category"] == category, body
        tickets[body["narrative"]] = receipt["ticket"]
    first = tickets["tree down across Elmwood, street blocked"]
    await client.post(
        "/api/v1/calls", json={"narrative": "same tree, still there", "ticket": first, "channel": "open311"}
    )
    await ensure_crew(client, "forestry-1")
    for move in ({"to": "assigned", "crew_id": "forestry-1"}, {"to": "resolved"}):
        assert (await client.post(f"/api/v1/incidents/{first}/transitions", json=move)).status_code == 200
    emergency = tickets["man trapped under a tree on Bailey"]
    await client.post(f"/api/v1/incidents/{emergency}/handoff", json={"step": "transfer_started"})
    store = app.app.extensions["stormline.store"]
    late = tickets["power out on Bailey, when is it back"]

    await make_past_due(store, late, minutes=1)
    stood = await client.post("/api/v1/mode", json={"mode": "normal", "reason": "storm over"})
    assert stood.status_code == 200

    report = await (await client.get(f"/api/v1/activations/{activation}/report")).get_json()
    assert report["incidents"] == len(CALLS)  # the call before the storm is not in it
    assert report["calls"] == len(CALLS) + 1
    by_category = {row["key"]: row for row in report["by_category"]}
    expected = Counter(category for _, category in CALLS)
    assert {key: row["incidents"] for key, row in by_category.items()} == dict(expected)
    assert by_category["debris"]["calls"] == 3
    channels = {row["key"]: row["calls"] for row in report["by_channel"]}
    assert channels == {"phone": 5, "web": 1, "app": 1, "walk_in": 1, "open311": 1}
    assert sum(count for _, count in report["calls_per_hour"]) == report["calls"]
    assert report["to_dispatch"]["count"] == 1
    assert report["to_resolution"]["count"] == 1
    assert report["to_handoff"]["count"] == 1
    assert report["deadlines_missed"] == 1
    assert report["activation"]["stood_down_by"] == "test-supervisor"

    table = await (await client.get(f"/api/v1/activations/{activation}/report.csv")).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(table)))
    assert rows[1][:2] == ["incidents", str(len(CALLS))]
    page = await (await client.get(f"/reports/{activation}")).get_data(as_text=True)
    assert "<svg" in page
    assert "October Storm" in page


async def test_unknown_storm_is_404(client: Client) -> None:
    """A report for a storm incident that never was is a 404 problem."""
    response = await client.get("/api/v1/activations/nope/report")
    assert response.status_code == 404


async def test_withdrawn_work_misses_no_deadline_and_quiet_hours_show(app: App, client: Client) -> None:
    """A cancelled duplicate past its due time is no missed deadline; an hour with no calls is a 0 bar."""
    mode = await client.post(
        "/api/v1/mode", json={"mode": "incident", "name": "=HYPERLINK(1) Storm", "reason": "storm"}
    )
    activation = (await mode.get_json())["state"]["activation"]["id"]
    early = datetime.now(UTC) - timedelta(hours=3)
    for received in (early, datetime.now(UTC)):
        body = {"narrative": "tree down on Hertel", "received_at": received.isoformat()}
        assert (await client.post("/api/v1/calls", json=body)).status_code == 201
    duplicate = await (
        await client.post("/api/v1/calls", json={"narrative": "tree down on Hertel"})
    ).get_json()
    ticket = duplicate["ticket"]
    store = app.app.extensions["stormline.store"]

    await make_past_due(store, ticket, minutes=1)
    cancelled = await client.post(
        f"/api/v1/incidents/{ticket}/transitions", json={"to": "cancelled", "reason": "duplicate"}
    )
    assert cancelled.status_code == 200
    report = await (await client.get(f"/api/v1/activations/{activation}/report")).get_json()
    assert report["deadlines_missed"] == 0
    counts = [count for _, count in report["calls_per_hour"]]
    assert len(counts) in (4, 5), counts  # three hours apart: every hour between is there
    assert 0 in counts[1:-1], counts
    assert sum(counts) == 3
    table = await (await client.get(f"/api/v1/activations/{activation}/report.csv")).get_data(as_text=True)
    heading = next(csv.reader(io.StringIO(table)))
    assert heading[1] == "'=HYPERLINK(1) Storm", "a name is text, not a formula"


async def test_each_table_alone_is_a_clean_csv(client: Client) -> None:
    """`report.csv?table=` gives one table, heading row then rows, that agrees with the JSON report."""
    mode = await client.post(
        "/api/v1/mode", json={"mode": "incident", "name": "Tables Storm", "reason": "storm"}
    )
    activation = (await mode.get_json())["state"]["activation"]["id"]
    for body, _ in CALLS[:5]:
        made = await client.post("/api/v1/calls", json={**body, "address": "Bailey & Kensington"})
        assert made.status_code == 201
    report = await (await client.get(f"/api/v1/activations/{activation}/report")).get_json()
    base = f"/api/v1/activations/{activation}/report.csv"

    async def table(name: str) -> list[dict[str, str]]:
        response = await client.get(f"{base}?table={name}")
        assert response.status_code == 200, await response.get_data(as_text=True)
        assert response.content_type.startswith("text/csv")
        assert f"-{name}.csv" in response.headers["Content-Disposition"]
        return list(csv.DictReader(io.StringIO(await response.get_data(as_text=True))))

    categories = await table("category")
    assert {row["category"]: int(row["incidents"]) for row in categories} == {
        row["key"]: row["incidents"] for row in report["by_category"]
    }
    assert sum(int(row["calls"]) for row in categories) == report["calls"]
    summary = await table("summary")
    assert summary == [
        {
            "storm incident": "Tables Storm",
            "id": activation,
            "incidents": "5",
            "calls": "5",
            "deadlines missed": str(report["deadlines_missed"]),
        }
    ]
    hours = await table("calls_per_hour")
    assert sum(int(row["calls"]) for row in hours) == 5
    durations = await table("durations")
    assert [row["time from opening"] for row in durations] == [
        "to 911 transfer",
        "to dispatch",
        "to resolution",
    ]
    for name in ("priority", "council_district", "channel", "warming_stations", "rides"):
        rows = await table(name)
        assert all(len(row) == len(rows[0]) for row in rows), name
    stacked = await (await client.get(base)).get_data(as_text=True)
    assert next(csv.reader(io.StringIO(stacked)))[:2] == ["storm incident", "Tables Storm"], (
        "the default stays"
    )


async def test_an_unknown_table_is_a_problem_naming_the_field(client: Client) -> None:
    """An unknown `table` is a 422 naming the field and listing the tables there are."""
    mode = await client.post("/api/v1/mode", json={"mode": "incident", "name": "Storm", "reason": "storm"})
    activation = (await mode.get_json())["state"]["activation"]["id"]
    response = await client.get(f"/api/v1/activations/{activation}/report.csv?table=bogus")
    assert response.status_code == 422
    problem = await response.get_json()
    assert problem["errors"][0]["field"] == "table"
    assert "category" in problem["allowed"]
    assert "calls_per_hour" in problem["allowed"]
    assert "council_district" in problem["detail"]
