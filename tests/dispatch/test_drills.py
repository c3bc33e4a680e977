"""A drill's purge in dispatch: its rides give back their places and vans; its referrals and jobs go."""

from __future__ import annotations

from typing import Any

from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from incident.store import Store
from tests.dispatch.helpers import EVERYTHING, crew, open_station, ticket_at

NO_HEAT = {
    "narrative": "no heat, need a ride to a warming station",
    "location": {"lat": 42.93, "lon": -78.83},
}


async def _ride(client: Client, party: int, drill: bool) -> dict[str, Any]:
    made = await client.post("/api/v1/calls", json={**NO_HEAT, "drill": drill})
    ticket = (await made.get_json())["ticket"]
    asked = await client.post("/api/v1/transport/requests", json={"ticket": ticket, "party": party})
    assert asked.status_code == 201, await asked.get_data(as_text=True)
    return dict((await asked.get_json())["request"])


async def _reserved(client: Client) -> int:
    rows = (await (await client.get("/api/v1/stations")).get_json())["items"]
    return int(next(row for row in rows if row["station"]["id"] == "burgard")["station"]["reserved"])


async def test_purging_a_drill_gives_back_places_and_vans_and_deletes_its_rides_referrals_and_jobs(
    app: App, client: Client, store: Store
) -> None:
    """After the purge only the real ride holds places, the van is free, no record names a drill ticket."""
    await open_station(client, "burgard", 40, **EVERYTHING)
    await crew(client, "van-1", kind="transport_van", seats=6, wheelchair_spaces=1)
    drill = (await (await client.post("/api/v1/exercise", json={"name": "Ride drill"})).get_json())["id"]
    on_run = await _ride(client, 3, drill=True)
    waiting = await _ride(client, 1, drill=True)
    planned = await client.post(
        "/api/v1/transport/runs", json={"crew_id": "van-1", "requests": [on_run["id"]]}
    )
    run = (await planned.get_json())["run"]["id"]
    real = await _ride(client, 2, drill=False)
    referred = await client.post(
        f"/api/v1/incidents/{waiting['ticket']}/referrals",
        json={"service_id": "svc-erie-senior-services", "need": "a heat check", "consent": {"given": True}},
    )
    assert referred.status_code == 201, await referred.get_data(as_text=True)
    referral = (await referred.get_json())["referral"]["id"]
    # One side of one Elmwood block: a job of drill calls alone, one shared with one real call, one with two.
    block = [(42.9247 + step * 0.00008, -78.8768) for step in range(8)]
    drilled = (True, True, True, False, True, False, False, True)
    limbs = [await ticket_at(client, lat, lon, drill=d) for (lat, lon), d in zip(block, drilled, strict=True)]
    jobs = []
    for members in (limbs[:2], limbs[2:4], limbs[4:7]):
        grouped = await client.post("/api/v1/jobs", json={"tickets": members})
        assert grouped.status_code == 201, await grouped.get_data(as_text=True)
        jobs.append((await grouped.get_json())["job"]["id"])
    drill_job, shared_job, real_job = jobs
    assert await _reserved(client) == 6
    await client.post("/api/v1/exercise/stop")
    purged = await client.post(f"/api/v1/exercises/{drill}/purge")
    assert purged.status_code == 200, await purged.get_data(as_text=True)
    assert (await purged.get_json())["purged"] == 7
    assert await _reserved(client) == 2  # the real ride's places only
    for gone in (
        f"/api/v1/transport/requests/{on_run['id']}",
        f"/api/v1/transport/requests/{waiting['id']}",
        f"/api/v1/transport/runs/{run}",
        f"/api/v1/referrals/{referral}",
        f"/api/v1/jobs/{drill_job}",
    ):
        assert (await client.get(gone)).status_code == 404, gone
    assert (await client.get(f"/api/v1/transport/requests/{real['id']}")).status_code == 200
    shared = await (await client.get(f"/api/v1/jobs/{shared_job}")).get_json()
    assert shared["job"]["dissolved"] is True
    alone = (await (await client.get(f"/api/v1/incidents/{limbs[3]}")).get_json())["incident"]
    assert alone["job"] is None  # the real limb call goes on by itself
    kept = await (await client.get(f"/api/v1/jobs/{real_job}")).get_json()
    assert kept["job"]["dissolved"] is False  # two real calls still make the job
    # A second purge is safe.
    again_purged = await client.post(f"/api/v1/exercises/{drill}/purge")
    assert again_purged.status_code == 200, await again_purged.get_data(as_text=True)
    again = await client.post("/api/v1/transport/runs", json={"crew_id": "van-1", "requests": [real["id"]]})
    assert again.status_code == 201, await again.get_data(as_text=True)  # the van is free
    assert not await store.redis.exists(
        *(store.keys.ride_of(t) for t in (on_run["ticket"], waiting["ticket"]))
    )


async def test_a_drill_that_made_nothing_is_purged_without_error(client: Client) -> None:
    """An empty drill's purge is a 200 that deletes nothing, and so is purging it again."""
    drill = (await (await client.post("/api/v1/exercise", json={"name": "Empty drill"})).get_json())["id"]
    await client.post("/api/v1/exercise/stop")
    for _ in range(2):
        purged = await client.post(f"/api/v1/exercises/{drill}/purge")
        assert purged.status_code == 200, await purged.get_data(as_text=True)
        assert (await purged.get_json())["purged"] == 0
