"""Delivery to crews' phones: a consumer group per crew, acknowledgements, redelivery, silent crews."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from dispatch import feed
from dispatch.crews import views
from incident.auth.roles import Role
from incident.config import SurgeConfig
from incident.store import Store
from tests.dispatch.helpers import assign, crew, ticket_at
from tests.support import as_role


async def test_the_device_gets_its_work_once_acknowledged(app: App, client: Client) -> None:
    """New work arrives once; acknowledged, it is not sent again and nothing is left waiting."""
    await crew(client, "crew-1")
    ticket = await ticket_at(client, 42.93, -78.82)
    await assign(client, ticket, "crew-1")
    device = await as_role(app, Role.CREW, crew_id="crew-1")
    page = await (await device.get("/api/v1/crews/crew-1/feed")).get_json()
    kinds = [m["notice"]["kind"] for m in page["messages"]]
    assert kinds == ["assigned", "route"]
    assert page["messages"][0]["notice"]["ticket"] == ticket
    assert page["unacknowledged"] == 2
    ids = [m["id"] for m in page["messages"]]
    acked = await device.post("/api/v1/crews/crew-1/feed/ack", json={"ids": ids})
    assert (await acked.get_json())["acknowledged"] == 2
    again = await (await device.get("/api/v1/crews/crew-1/feed")).get_json()
    assert again == {"messages": [], "unacknowledged": 0}


async def test_unacknowledged_work_is_delivered_again(
    store: Store, config: SurgeConfig, client: Client
) -> None:
    """A message read but never acknowledged (the phone died) comes again to that phone, marked so."""
    await crew(client, "crew-1")
    await assign(client, await ticket_at(client, 42.93, -78.82), "crew-1")
    first = await feed.read(store, config, "crew-1", "phone-a")
    assert first.messages
    assert not any(m.redelivered for m in first.messages)
    assert (await feed.read(store, config, "crew-1", "phone-a")).messages == []  # not yet due again
    impatient = msgspec.structs.replace(
        config, dispatch=msgspec.structs.replace(config.dispatch, redeliver_seconds=0)
    )
    again = await feed.read(store, impatient, "crew-1", "phone-a")
    assert [m.id for m in again.messages] == [m.id for m in first.messages]
    assert all(m.redelivered for m in again.messages)
    ids = [m.id for m in again.messages]
    assert await feed.acknowledge(store, "crew-1", "phone-a", ids) == len(ids)
    assert (await feed.read(store, impatient, "crew-1", "phone-a")).messages == []


async def test_every_phone_of_the_crew_gets_every_message(
    store: Store, config: SurgeConfig, client: Client
) -> None:
    """A second phone, signed in later, gets all the crew's work, whatever the first acknowledged."""
    await crew(client, "crew-1")
    await assign(client, await ticket_at(client, 42.93, -78.82), "crew-1")
    first = await feed.read(store, config, "crew-1", "phone-a")
    await feed.acknowledge(store, "crew-1", "phone-a", [m.id for m in first.messages])
    second = await feed.read(store, config, "crew-1", "phone-b")
    assert [m.id for m in second.messages] == [m.id for m in first.messages]
    assert not any(m.redelivered for m in second.messages)


async def test_the_board_counts_work_not_yet_acknowledged(client: Client) -> None:
    """Before any device reads, the crew board shows how many messages wait for the crew."""
    await crew(client, "crew-1")
    await assign(client, await ticket_at(client, 42.93, -78.82), "crew-1")
    board = await (await client.get("/api/v1/crews")).get_json()
    assert board["unacknowledged"] == {"crew-1": 2}


async def test_ack_ids_are_checked(app: App, client: Client) -> None:
    """An id that is not a stream id is a 422 naming it."""
    await crew(client, "crew-1")
    device = await as_role(app, Role.CREW, crew_id="crew-1")
    response = await device.post("/api/v1/crews/crew-1/feed/ack", json={"ids": ["12-0", "drop table"]})
    assert response.status_code == 422
    assert "ids[1]" in await response.get_data(as_text=True)


async def _silent_alarms(client: Client) -> list[dict[str, Any]]:
    alarms = (await (await client.get("/api/v1/alarms")).get_json())["alarms"]
    return [a["event"] for a in alarms if a["event"]["kind"] == "crew_silent"]


async def test_a_silent_crew_is_alarmed_once_per_silence(
    store: Store, config: SurgeConfig, client: Client
) -> None:
    """A crew on shift unheard past silent_minutes raises one alarm, however many workers check."""
    await crew(client, "crew-1")
    await crew(client, "crew-2")
    later = datetime.now(UTC) + timedelta(minutes=config.dispatch.silent_minutes + 5)
    await store.redis.zadd(store.keys.crew_seen, {"crew-2": later.timestamp() - 60})
    for _ in range(3):  # every worker runs the watcher; one alarm results
        await feed.check_silent(store, config, now=later)
    silent = await _silent_alarms(client)
    assert len(silent) == 1
    assert "crew-1" in silent[0]["message"]
    board = {v.crew.id: v.silent for v in await views(store, config, now=later)}
    assert board == {"crew-1": True, "crew-2": False}


async def test_a_crew_off_duty_or_just_on_shift_is_not_silent(
    store: Store, config: SurgeConfig, client: Client
) -> None:
    """Off duty it is never alarmed; at the start of its shift, silence counts from the shift's start."""
    await crew(client, "home-1")
    await client.patch("/api/v1/crews/home-1", json={"on_duty": False})
    much_later = datetime.now(UTC) + timedelta(days=1)
    await store.redis.zadd(store.keys.crew_seen, {"home-1": much_later.timestamp() - 7200})  # a new silence
    await feed.check_silent(store, config, now=much_later)
    assert await _silent_alarms(client) == []
    await crew(client, "day-1", shift_start="07:00", shift_end="19:00")
    tomorrow = (datetime.now(config.zone) + timedelta(days=1)).replace(
        hour=7, minute=0, second=0, microsecond=0
    )
    last_night = tomorrow - timedelta(hours=12)  # heard at 19:00, the end of yesterday's shift
    await store.redis.zadd(store.keys.crew_seen, {"day-1": last_night.timestamp()})
    minutes = config.dispatch.silent_minutes
    (early,) = await views(store, config, ["day-1"], now=tomorrow + timedelta(minutes=minutes - 5))
    (late,) = await views(store, config, ["day-1"], now=tomorrow + timedelta(minutes=minutes + 5))
    assert early.silent is False
    assert late.silent is True


async def test_ack_ids_in_other_scripts_digits_are_checked(app: App, client: Client) -> None:
    """ "١-١" passed the `\\d` check and reached Redis, a 500; it is a 422 naming it."""
    await crew(client, "crew-1")
    device = await as_role(app, Role.CREW, crew_id="crew-1")
    response = await device.post("/api/v1/crews/crew-1/feed/ack", json={"ids": ["12-0", "١-١"]})
    assert response.status_code == 422
    assert "ids[1]" in await response.get_data(as_text=True)
