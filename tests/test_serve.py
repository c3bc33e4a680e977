"""`stormline serve` as a user runs it: a real process, real HTTP, the embedded Redis, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.incident.helpers import CALL
from tests.server import STORMLINE, Server
from tests.support import CONFIG


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path, workers=2).start()
    yield running
    if running.process and running.process.poll() is None:
        running.stop()


def _redis_pid(data_dir: Path) -> int:
    return int((data_dir / "redis.pid").read_text())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_ticket_survives_sigterm_and_restart(server: Server) -> None:
    """A call accepted before SIGTERM is there after a new `serve` on the same folder; Redis stops cleanly."""
    token = server.token("agent")
    with server.client(token) as client:
        response = client.post("/api/v1/calls", json=CALL)
        assert response.status_code == 201
        ticket = response.json()["ticket"]
    redis_pid = _redis_pid(server.data_dir)
    assert server.stop() == 0
    assert not _alive(redis_pid), "the embedded redis-server outlived its Stormline"
    restarted = Server(server.data_dir).start()
    try:
        with restarted.client(token) as client:
            detail = client.get(f"/api/v1/incidents/{ticket}")
            assert detail.status_code == 200
            assert detail.json()["calls"][0]["narrative"] == CALL["narrative"]
            second = client.post("/api/v1/calls", json=CALL).json()["ticket"]
            assert int(second.split("-")[1]) == int(ticket.split("-")[1]) + 1, "numbering continues"
    finally:
        restarted.stop()


def test_concurrent_retries_across_workers_create_one_incident(server: Server) -> None:
    """50 concurrent retries with one Idempotency-Key, spread over two workers, create one incident."""

    token = server.token("agent")

    async def burst() -> list[httpx.Response]:
        async with server.async_client(token) as client:
            headers = {"Idempotency-Key": "e2e-burst"}
            return await asyncio.gather(
                *(client.post("/api/v1/calls", json=CALL, headers=headers) for _ in range(50))
            )

    responses = asyncio.run(burst())
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    with server.client(token) as client:
        assert len(client.get("/api/v1/incidents").json()["items"]) == 1


def test_second_serve_on_same_folder_is_refused(server: Server) -> None:
    """A second `serve` on a folder in use exits 1 and says which process holds it."""
    second = subprocess.run(
        [STORMLINE, "serve", "--bind", f"unix:{server.data_dir}/other.sock"],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert second.returncode == 1
    assert "in use by Stormline" in second.stderr


def test_broken_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    """`serve` with a mistyped key in its config exits 2 with the key path and line, starting nothing."""
    bad = tmp_path / "surge_config.yaml"
    bad.write_text(CONFIG.read_text().replace("max_body_bytes", "max_body_byte"))
    result = subprocess.run(
        [STORMLINE, "serve"],
        env={**Server(tmp_path).env, "STORMLINE_CONFIG": str(bad)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "intake.max_body_byte: unknown key" in result.stderr
    assert not (tmp_path / "redis.pid").exists()


def _workers(pid: int) -> list[int]:
    """The Hypercorn worker processes of a `serve` process (its spawned Python children)."""
    found = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    workers = []
    for child in map(int, found):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            workers.append(child)
    return workers


def test_a_killed_worker_is_replaced_and_no_call_is_lost(server: Server) -> None:
    """kill -9 of one worker: calls keep being taken, a new worker starts, every acknowledged call stays."""

    assert server.process is not None
    token = server.token("agent")
    before = _workers(server.process.pid)
    assert len(before) == 2
    with server.client(token) as client:
        tickets = [client.post("/api/v1/calls", json=CALL).json()["ticket"] for _ in range(3)]
        os.kill(before[0], signal.SIGKILL)
        for number in range(10):  # a client retrying with its Idempotency-Key, as the console does
            for _ in range(50):
                try:
                    answer = client.post(
                        "/api/v1/calls", json=CALL, headers={"Idempotency-Key": f"after-kill-{number}"}
                    )
                    if answer.status_code == 201:
                        tickets.append(answer.json()["ticket"])
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            else:
                raise AssertionError("calls stopped being taken after a worker died")
        deadline = time.monotonic() + 30
        while len(_workers(server.process.pid)) < 2:
            assert time.monotonic() < deadline, "the dead worker was not replaced"
            time.sleep(0.2)
        assert before[0] not in _workers(server.process.pid)
        assert len(set(tickets)) == len(tickets) == 13
        for ticket in tickets:
            assert client.get(f"/api/v1/incidents/{ticket}").status_code == 200


def test_a_killed_redis_is_started_again_and_keeps_every_acknowledged_call(server: Server) -> None:
    """kill -9 of the embedded Redis: serve starts it again from its append-only file; no 500s meanwhile."""

    token = server.token("agent")
    with server.client(token) as client:
        tickets = [client.post("/api/v1/calls", json=CALL).json()["ticket"] for _ in range(3)]
        old = _redis_pid(server.data_dir)
        os.kill(old, signal.SIGKILL)
        statuses = []
        for number in range(10):
            for _ in range(100):
                answer = client.post(
                    "/api/v1/calls", json=CALL, headers={"Idempotency-Key": f"redis-{number}"}
                )
                statuses.append(answer.status_code)
                if answer.status_code == 201:
                    tickets.append(answer.json()["ticket"])
                    break
                assert answer.status_code == 503, answer.text  # storage restarting: retry, never a 500
                assert answer.headers["Retry-After"] == "1"
                time.sleep(0.1)
            else:
                raise AssertionError(f"calls stopped being taken after Redis died: {statuses[-5:]}")
        assert _redis_pid(server.data_dir) != old
        assert len(set(tickets)) == len(tickets) == 13
        for ticket in tickets:
            assert client.get(f"/api/v1/incidents/{ticket}").status_code == 200
