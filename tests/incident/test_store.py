"""Connecting to Redis by URL, including through a real Sentinel."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from incident.store import connect, disconnect
from tests.support import REDIS_6


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with redis.Redis(port=port, socket_timeout=1) as client:
                client.ping()
                return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise AssertionError(f"nothing answered on port {port}")


@pytest.fixture
def sentinel_port(tmp_path: Path) -> Iterator[int]:
    """A Redis 6.2 primary and a Sentinel watching it as 'stormline', both on loopback."""
    primary, sentinel = _free_port(), _free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {sentinel}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor stormline 127.0.0.1 {primary} 1\n"
        "sentinel down-after-milliseconds stormline 5000\n"
    )
    processes = [
        subprocess.Popen(
            [REDIS_6, "--port", str(primary), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)]
        ),
        subprocess.Popen([REDIS_6, str(conf), "--sentinel"]),
    ]
    try:
        _wait_for(primary)
        _wait_for(sentinel)
        yield sentinel
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)


async def test_sentinel_url_reaches_the_primary(sentinel_port: int) -> None:
    """redis+sentinel://host:port/SERVICE asks the sentinel for the primary and writes to it."""
    client = connect(f"redis+sentinel://127.0.0.1:{sentinel_port}/stormline")
    try:
        await client.set("sl:{test}:probe", "ok")
        assert await client.get("sl:{test}:probe") == b"ok"
    finally:
        await disconnect(client)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+sentinel://127.0.0.1:26379", "must name the service"),
        ("redis+sentinel://127.0.0.1/mymaster", "host:port"),
    ],
)
def test_bad_sentinel_url_says_what_is_missing(url: str, message: str) -> None:
    """A Sentinel URL without a service or port is refused with the reason."""
    with pytest.raises(ValueError, match=message):
        connect(url)


async def test_unix_url(flushed: str) -> None:
    """A unix:// URL (the embedded default's) connects."""
    client = connect(flushed)
    try:
        assert await client.ping()
    finally:
        await client.aclose()
