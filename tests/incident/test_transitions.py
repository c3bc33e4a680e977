"""Status transitions: the table is enforced, every accepted move is one event, stale writers are stopped."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quart.typing import TestClientProtocol as Client

from incident.status import FINAL, TRANSITIONS, Status, allowed
from tests.incident.helpers import move, new_ticket


def test_table_is_complete_and_closed_is_final() -> None:
    """Every status has a row, every target is a status, and only CLOSED has no way out."""
    assert set(TRANSITIONS) == set(Status)
    assert {Status.CLOSED} == FINAL
    for status, targets in TRANSITIONS.items():
        assert status not in targets, f"{status} may not move to itself"


async def test_legal_move_updates_incident(client: Client) -> None:
    """open → assigned is accepted, bumps the version and is returned with an ETag."""
    ticket = await new_ticket(client)
    response = await move(client, ticket, "assigned", reason="crew 12")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["status"] == "assigned"
    assert body["version"] == 2
    assert response.headers["ETag"] == '"2"'


async def test_illegal_move_is_409_naming_both_states(client: Client) -> None:
    """open → closed is refused with 409; the problem names both states and the allowed ones."""
    ticket = await new_ticket(client)
    response = await move(client, ticket, "closed")
    assert response.status_code == 409
    problem = await response.get_json()
    assert problem["from"] == "open"
    assert problem["to"] == "closed"
    assert "open" in problem["detail"]
    assert "closed" in problem["detail"]
    assert "assigned" in problem["allowed"]


async def test_unknown_ticket_is_404(client: Client) -> None:
    """A transition on a ticket that does not exist is 404."""
    assert (await move(client, "2026-000777", "assigned")).status_code == 404
    assert (await move(client, "not-a-ticket", "assigned")).status_code == 404


async def test_stale_version_is_412(client: Client) -> None:
    """If-Match with an old version is refused with 412, and the incident is unchanged."""
    ticket = await new_ticket(client)
    await move(client, ticket, "assigned")
    response = await client.post(
        f"/api/v1/incidents/{ticket}/transitions", json={"to": "en_route"}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 412
    detail = await (await client.get(f"/api/v1/incidents/{ticket}")).get_json()
    assert detail["incident"]["status"] == "assigned"


async def test_resolve_and_reopen_timestamps(client: Client) -> None:
    """Resolving sets resolved_at; reopening clears it; closing sets closed_at."""
    ticket = await new_ticket(client)
    resolved = await (await move(client, ticket, "resolved")).get_json()
    assert resolved["resolved_at"] is not None
    reopened = await (await move(client, ticket, "open")).get_json()
    assert reopened["resolved_at"] is None
    await move(client, ticket, "resolved")
    closed = await (await move(client, ticket, "closed")).get_json()
    assert closed["closed_at"] is not None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(targets=st.lists(st.sampled_from(list(Status)), min_size=1, max_size=12))
async def test_random_transition_sequences_follow_the_table(client: Client, targets: list[Status]) -> None:
    """For any sequence of requested moves, exactly the legal ones succeed, and history records each once."""
    ticket = await new_ticket(client)
    model = Status.OPEN
    accepted: list[tuple[str, str]] = []
    for target in targets:
        response = await move(client, ticket, target)
        if allowed(model, target):
            assert response.status_code == 200, (model, target)
            accepted.append((model, target))
            model = target
        else:
            assert response.status_code == 409, (model, target)
    detail = await (await client.get(f"/api/v1/incidents/{ticket}")).get_json()
    assert detail["incident"]["status"] == model
    assert detail["incident"]["version"] == 1 + len(accepted)
    history = await (await client.get(f"/api/v1/incidents/{ticket}/history")).get_json()
    moves = [(e["event"]["from"], e["event"]["to"]) for e in history["events"][1:]]
    assert moves == accepted
    listing = await (await client.get(f"/api/v1/incidents?status={model}&limit=500")).get_json()
    assert ticket in {item["ticket"] for item in listing["items"]}, "status index follows the record"
