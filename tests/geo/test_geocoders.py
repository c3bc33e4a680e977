"""The chain: the gazetteer first, online providers (through geopy) only when it is not sure, cached."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest
from geopy.adapters import BaseSyncAdapter
from geopy.exc import GeocoderServiceError
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from geo.gazetteer import Gazetteer
from geo.geocoders import Chain, Offline, online
from geo.result import Method
from geo.zones import Zones
from incident.store import Store, connect
from incident.write_steps import open_store


class FakeService(BaseSyncAdapter):  # type: ignore[misc]
    """geopy's HTTP seam: answers like the real service, from canned JSON, and counts the requests."""

    answers: ClassVar[dict[str, Any]] = {}
    requests: ClassVar[list[str]] = []
    down = False

    def get_json(self, url: str, *, timeout: float, headers: dict[str, str]) -> Any:
        type(self).requests.append(url)
        if type(self).down:
            raise GeocoderServiceError("503 from the fake service")
        for fragment, answer in type(self).answers.items():
            if fragment in url:
                return answer
        return []

    def get_text(self, url: str, *, timeout: float, headers: dict[str, str]) -> str:
        raise NotImplementedError


@pytest.fixture(autouse=True)
def _reset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, fresh in (("answers", {}), ("requests", []), ("down", False)):
        monkeypatch.setattr(FakeService, name, fresh)


@pytest.fixture
async def store(flushed: str) -> AsyncIterator[Store]:
    redis = connect(flushed)
    yield open_store(redis, "buffalo")
    await redis.aclose()


def _chain(gazetteer: Gazetteer, store: Store, *names: str) -> Chain:
    providers = [
        online(
            name, user_agent="stormline-test", timeout=2, min_delay_seconds=0.1, adapter_factory=FakeService
        )
        for name in names
    ]
    return Chain(
        Offline(gazetteer),
        providers,
        accept=0.8,
        redis=store.redis,
        cache_prefix="sl:{buffalo}:geo:cache:",
        cache_seconds=60,
    )


NOMINATIM_ANSWER = [
    {"lat": "42.9265", "lon": "-78.8774", "display_name": "1128 Elmwood Avenue, Buffalo", "importance": 0.6}
]


async def test_sure_gazetteer_answers_never_go_online(gazetteer: Gazetteer, store: Store) -> None:
    """When the gazetteer is sure, no provider is asked."""
    results = await _chain(gazetteer, store, "nominatim").geocode("Bailey & Kensington")
    assert results[0].method is Method.INTERSECTION
    assert FakeService.requests == []


async def test_unsure_goes_online_and_is_cached(
    gazetteer: Gazetteer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An address the gazetteer only knows as a street is asked of Nominatim once, then served from Redis.

    Its answer leads, but only as a candidate (below the bar, with a warning) until an agent confirms it.
    """
    monkeypatch.setattr(FakeService, "answers", {"nominatim": NOMINATIM_ANSWER})
    chain = _chain(gazetteer, store, "nominatim")
    first = await chain.geocode("1128 Elmwood Ave")
    assert first[0].method is Method.PROVIDER
    assert first[0].source == "nominatim"
    assert 0.5 < first[0].confidence < 0.8
    assert first[0].warning
    again = await chain.geocode("1128 Elmwood Ave")
    assert again[0] == first[0]
    assert len(FakeService.requests) == 1


async def test_provider_down_falls_back_to_the_gazetteer(
    gazetteer: Gazetteer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider that fails costs nothing but its attempt: the gazetteer's candidates still come back."""
    monkeypatch.setattr(FakeService, "down", True)
    results = await _chain(gazetteer, store, "nominatim", "arcgis").geocode("1128 Elmwood Ave")
    assert results
    assert results[0].method is Method.STREET
    assert len(FakeService.requests) == 2


async def test_census_geocoder_answers_in_geopy_style(
    gazetteer: Gazetteer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The US Census provider reads its JSON (addressMatches) into a result."""
    monkeypatch.setattr(
        FakeService,
        "answers",
        {
            "onelineaddress": {
                "result": {
                    "addressMatches": [
                        {
                            "matchedAddress": "1128 ELMWOOD AVE, BUFFALO, NY, 14222",
                            "coordinates": {"x": -78.877, "y": 42.9265},
                        }
                    ]
                }
            }
        },
    )
    results = await _chain(gazetteer, store, "census").geocode("1128 Elmwood Ave")
    assert results[0].source == "census"
    assert results[0].label.startswith("1128 ELMWOOD AVE")
    assert "benchmark=Public_AR_Current" in FakeService.requests[0]


async def test_offline_only_when_asked(gazetteer: Gazetteer, store: Store) -> None:
    """Intake's path (online=False) never reaches a provider."""
    await _chain(gazetteer, store, "nominatim").geocode("1128 Elmwood Ave", online=False)
    assert FakeService.requests == []


async def test_online_answer_outside_the_city_is_only_a_candidate(
    gazetteer: Gazetteer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An online geocoder's Elmwood Avenue in another city is never taken as sure."""

    monkeypatch.setattr(
        FakeService,
        "answers",
        {
            "nominatim": [
                {"lat": "40.0", "lon": "-75.0", "display_name": "Elmwood Ave, elsewhere", "importance": 0.9}
            ]
        },
    )
    chain = _chain(gazetteer, store, "nominatim")
    chain.home = Zones("City of Buffalo").inside
    results = await chain.geocode("1128 Elmwood Ave")
    assert all(result.confidence < 0.8 for result in results)


async def test_redis_down_costs_the_aliases_not_the_answer(gazetteer: Gazetteer) -> None:
    """With Redis not answering, a look-up still gets the gazetteer's answer (the aliases wait)."""
    nowhere = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    chain = Chain(Offline(gazetteer), [], accept=0.8, redis=nowhere, aliases_key="sl:{t}:geo:aliases")
    try:
        results = await chain.geocode("Bailey & Kensington", online=False)
    finally:
        await nowhere.aclose()
    assert results[0].method is Method.INTERSECTION
