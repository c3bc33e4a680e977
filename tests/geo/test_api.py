"""Geography through the real app: intake places calls, and agents place the ones it cannot."""

from __future__ import annotations

from typing import Any

import pytest
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from geo.build import GazetteerData, build
from geo.point import Point
from geo.result import GeoResult, Method
from incident import geocoding
from incident.auth.roles import Role
from incident.config import SurgeConfig
from incident.location import set_location
from incident.store import Store
from incident.web import geo
from tests.incident.helpers import CALL
from tests.support import CONFIG, as_role


async def _call(client: Client, **fields: object) -> dict[str, object]:
    body = {k: v for k, v in {**CALL, **fields}.items() if v is not None}
    response = await client.post("/api/v1/calls", json=body)
    assert response.status_code == 201, await response.get_data(as_text=True)
    incident: dict[str, object] = (await response.get_json())["incident"]
    return incident


async def test_intake_places_a_call_said_as_a_corner(client: Client) -> None:
    """An address given as a corner is placed there, with how it was found and its zones."""
    incident = await _call(client, location=None, address="corner of Bailey and Kensington")
    assert incident["needs_location"] is False
    assert incident["located_by"]["method"] == "intersection"  # type: ignore[index]
    assert incident["zones"]["neighborhood"] == "Kensington-Bailey"  # type: ignore[index]
    assert incident["outside_jurisdiction"] is False


async def test_a_call_that_cannot_be_placed_is_kept_and_queued(client: Client) -> None:
    """An address the gazetteer is unsure of is still logged, flagged, with candidates, in the queue."""
    incident = await _call(client, location=None, address="1128 Elmwood apt 2")
    assert incident["needs_location"] is True
    assert incident["location"] is None
    assert incident["location_candidates"][0]["street"] == "ELMWOOD AVE"  # type: ignore[index]
    # Kept on the incident with its extent, not its whole line (the record stays small).
    assert incident["location_candidates"][0]["extent"]  # type: ignore[index]
    assert incident["location_candidates"][0]["line"] is None  # type: ignore[index]
    queue = await (await client.get("/api/v1/incidents?needs_location=true")).get_json()
    assert [item["ticket"] for item in queue["items"]] == [incident["ticket"]]


async def test_agent_sets_the_point_by_hand(client: Client) -> None:
    """A point set on the map places the incident, gives it zones and takes it off the queue."""
    incident = await _call(client, location=None, address="somewhere near the old mill")
    ticket = incident["ticket"]
    response = await client.post(
        f"/api/v1/incidents/{ticket}/location", json={"point": {"lat": 42.9265, "lon": -78.8774}}
    )
    assert response.status_code == 200
    placed = await response.get_json()
    assert placed["needs_location"] is False
    assert placed["located_by"]["method"] == "manual"
    assert placed["zones"]["council_district"]
    queue = await (await client.get("/api/v1/incidents?needs_location=true")).get_json()
    assert queue["items"] == []
    history = await (await client.get(f"/api/v1/incidents/{ticket}/history")).get_json()
    assert history["events"][-1]["event"]["type"] == "incident.located"


async def test_uncertain_address_for_placement_is_422_with_candidates(client: Client) -> None:
    """Placing by an address the geocoders are unsure of is refused with the candidates to choose from."""
    incident = await _call(client, location=None, address=None, narrative="no address yet")
    response = await client.post(
        f"/api/v1/incidents/{incident['ticket']}/location", json={"address": "Delaware"}
    )
    assert response.status_code == 422
    problem = await response.get_json()
    assert problem["errors"][0]["field"] == "address"
    assert len(problem["candidates"]) >= 2


async def test_outside_the_city_is_flagged(client: Client) -> None:
    """A call placed in Alden is flagged outside the city, with its town; the look-up gives the referral."""
    response = await client.post(
        "/api/v1/calls", json={**CALL, "location": None, "address": "Alden Town Hall"}
    )
    receipt = await response.get_json()
    assert "outside the City of Buffalo" in receipt["outside_referral"]
    incident = receipt["incident"]
    assert incident["outside_jurisdiction"] is True
    assert incident["town"] == "Alden"
    assert incident["zones"] == {}
    looked_up = await (await client.get("/api/v1/geo/geocode?q=Alden%20Town%20Hall")).get_json()
    assert looked_up["outside_jurisdiction"] is True
    assert "outside the City of Buffalo" in looked_up["outside_referral"]


async def test_same_corner_in_two_towns_is_not_guessed(client: Client) -> None:
    """Main & Transit meet in two towns: the call is kept for an agent to choose, with both candidates."""
    incident = await _call(client, location=None, address="Main St & Transit Rd")
    assert incident["needs_location"] is True
    assert len(incident["location_candidates"]) == 2  # type: ignore[arg-type]


async def test_suggest_and_reverse(client: Client) -> None:
    """Type-ahead completes a corner; a pin reverse-geocodes to the nearest corner with its zones."""
    suggestions = await (await client.get("/api/v1/geo/suggest?q=Bailey%20%26%20Kens")).get_json()
    assert "Bailey Ave & Kensington Ave" in suggestions["suggestions"]
    nearest = await (await client.get("/api/v1/geo/reverse?lat=42.9382&lon=-78.8136")).get_json()
    assert "Kensington" in nearest["label"]
    assert nearest["zones"]["police_district"] == "District E"


async def test_bad_geo_queries_are_422(client: Client) -> None:
    """Out-of-range coordinates and an empty query name the parameter."""
    assert (await (await client.get("/api/v1/geo/reverse?lat=142&lon=-78.8")).get_json())["errors"][0][
        "field"
    ] == "lat"
    assert (await client.get("/api/v1/geo/suggest?q=")).status_code == 422


async def test_background_geocoder_never_overwrites_an_agents_point(app: object, client: Client) -> None:
    """If an agent placed the incident first, a late online answer leaves it where the agent put it."""

    incident = await _call(client, location=None, address="somewhere by the old mill")
    ticket = str(incident["ticket"])
    await client.post(
        f"/api/v1/incidents/{ticket}/location", json={"point": {"lat": 42.9265, "lon": -78.8774}}
    )
    quart_app = app.app  # type: ignore[attr-defined]
    store, geo = quart_app.extensions["stormline.store"], quart_app.extensions["stormline.geo"]
    late = GeoResult(
        point=Point(42.95, -78.85), method=Method.PROVIDER, confidence=0.9, label="late", source="nominatim"
    )
    assert await set_location(store, geo, ticket, late, "geocoder", only_if_unplaced=True) is None
    detail = await (await client.get(f"/api/v1/incidents/{ticket}")).get_json()
    assert detail["incident"]["location"] == {"lat": 42.9265, "lon": -78.8774}


async def _pin(client: Client, address: str, lat: float, lon: float) -> None:
    incident = await _call(client, location=None, address=address)
    assert incident["needs_location"] is True
    placed = await client.post(
        f"/api/v1/incidents/{incident['ticket']}/location", json={"point": {"lat": lat, "lon": lon}}
    )
    assert placed.status_code == 200, await placed.get_data(as_text=True)


async def test_two_agents_pinning_the_same_words_teach_an_alias(client: Client, app: App) -> None:
    """Two agents pin "behind the old Sattler's" within 50 m: every look-up now answers it, sure."""
    said = "behind the old Sattlers"
    assert not (await (await client.get(f"/api/v1/geo/geocode?q={said}")).get_json())["sure"]
    await _pin(client, said, 42.90010, -78.84010)
    one_pin = await (await client.get(f"/api/v1/geo/geocode?q={said}")).get_json()
    assert not one_pin["sure"]
    other = await as_role(app, Role.AGENT, name="agent-two")
    await _pin(other, said.upper(), 42.90020, -78.84000)
    answer = await (await client.get(f"/api/v1/geo/geocode?q={said}")).get_json()
    assert answer["sure"] is True
    assert answer["results"][0]["method"] == "alias"
    assert abs(answer["results"][0]["point"]["lat"] - 42.9002) < 1e-6


async def test_pins_far_apart_teach_nothing(client: Client, app: App) -> None:
    """Two agents who disagree by more than 50 m leave the words unsure."""
    said = "the blue house by the tracks"
    await _pin(client, said, 42.9001, -78.8401)
    other = await as_role(app, Role.AGENT, name="agent-three")
    await _pin(other, said, 42.9101, -78.8401)
    answer = await (await client.get(f"/api/v1/geo/geocode?q={said}")).get_json()
    assert not answer["sure"]


async def test_a_supervisor_sets_and_removes_an_alias(client: Client, app: App) -> None:
    """A supervisor's alias is served at once; removed, the words are unknown again."""
    boss = await as_role(app, Role.SUPERVISOR, name="alias-supervisor")
    body = {"text": "Shoreline Deck", "point": {"lat": 42.90409, "lon": -78.90159}}
    assert (await boss.put("/api/v1/geo/aliases", json=body)).status_code == 200
    listed = await (await client.get("/api/v1/geo/aliases")).get_json()
    assert [a["text"] for a in listed["aliases"]] == ["Shoreline Deck"]
    found = await (await client.get("/api/v1/geo/geocode?q=shoreline deck")).get_json()
    assert found["results"][0]["method"] == "alias"
    assert (await boss.delete("/api/v1/geo/aliases?text=Shoreline%20Deck")).status_code == 204
    gone = await (await client.get("/api/v1/geo/geocode?q=shoreline deck")).get_json()
    assert not gone["results"] or gone["results"][0]["method"] != "alias"


async def test_pins_dropped_at_intake_teach_an_alias(client: Client, app: App) -> None:
    """Two agents log calls they pinned by hand for the same unplaceable words: those words are learnt."""
    said = "the lot behind Sattlers on Broadway"
    await _call(client, address=said, location={"lat": 42.8968, "lon": -78.8201})
    other = await as_role(app, Role.AGENT, name="agent-four")
    response = await other.post(
        "/api/v1/calls", json={**CALL, "address": said, "location": {"lat": 42.8969, "lon": -78.8202}}
    )
    assert response.status_code == 201
    await geo(app.app).settled()  # the pins are written off the caller's time
    answer = await (await client.get("/api/v1/geo/geocode", query_string={"q": said})).get_json()
    assert answer["sure"] is True
    assert answer["results"][0]["method"] == "alias"


async def test_a_pin_on_words_the_gazetteer_knows_teaches_nothing(client: Client, app: App) -> None:
    """A call at a known corner, with a point, leaves no pin waiting."""
    await _call(client, address="Bailey & Kensington", location={"lat": 42.9381, "lon": -78.8135})
    await geo(app.app).settled()
    boss = await as_role(app, Role.SUPERVISOR, name="pin-reviewer")
    assert (await (await boss.get("/api/v1/geo/pins")).get_json())["pins"] == []


async def test_a_new_install_builds_its_gazetteer_once_and_shares_it(
    store: Store, config: SurgeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no gazetteer in Redis a worker builds one, stores it, and the next worker only reads it."""
    await store.redis.delete(store.keys.gazetteer, store.keys.gazetteer_digest)
    builds: list[int] = []

    def counted(**kwargs: Any) -> GazetteerData:
        builds.append(1)
        return build(**kwargs)

    monkeypatch.setattr(geocoding, "build", counted)
    first = await geocoding.open_service(store, config, CONFIG.parent)
    assert builds == [1]
    assert await store.redis.get(store.keys.gazetteer_digest) == first.digest.encode()
    second = await geocoding.open_service(store, config, CONFIG.parent)
    assert (builds, second.digest) == ([1], first.digest)
