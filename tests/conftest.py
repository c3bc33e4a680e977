"""Shared fixtures: a private redis-server for the whole run, and the real app in front of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import cast

import msgspec
import pytest
import redis
from quart.testing.app import TestApp as App
from quart.typing import TestClientProtocol as Client

from geo.build import build, encode
from incident.app import create_app
from incident.auth.roles import Role
from incident.config import SurgeConfig, load_config
from incident.embedded import EmbeddedRedis
from incident.geocoding import config_places
from incident.keys import Keys
from incident.settings import Settings
from incident.store import Store
from tests.support import CONFIG, REDIS_6, as_role


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), REDIS_6).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def gazetteer_blob() -> bytes:
    """The gazetteer built once for the whole run, as `stormline geo build` stores it."""
    new, aliases = config_places(load_config(CONFIG))
    return encode(build(extra_places=new, aliases=aliases))


@pytest.fixture
def flushed(redis_server: EmbeddedRedis, gazetteer_blob: bytes) -> str:
    """The test server's URL, emptied before the test but for the built gazetteer."""
    with redis.Redis(unix_socket_path=str(redis_server.socket_path)) as client:
        client.flushall()
        client.set(Keys("buffalo").gazetteer, gazetteer_blob)
    return redis_server.url


@pytest.fixture(scope="session")
def config() -> SurgeConfig:
    """The shipped config; its agencies may be on this machine, where the tests' receivers listen."""
    shipped = load_config(CONFIG)
    return msgspec.structs.replace(
        shipped, referrals=msgspec.structs.replace(shipped.referrals, allow_private=["127.0.0.1"])
    )


@pytest.fixture
def settings(flushed: str, tmp_path: Path) -> Settings:
    return Settings(
        redis_url=flushed,
        data_dir=str(tmp_path),
        config=str(CONFIG),
        secret_key="test",
        public_url="http://localhost",  # where agencies reach the center, for their referral links
    )


@pytest.fixture
async def app(settings: Settings, config: SurgeConfig) -> AsyncIterator[App]:
    """The real app, serving (Redis open), on the test server."""
    async with create_app(settings, config).test_app() as test_app:
        yield cast(App, test_app)  # Quart types it as a protocol; it is this class


@pytest.fixture
def store(app: App) -> Store:
    return app.app.extensions["stormline.store"]  # type: ignore[no-any-return]


@pytest.fixture
async def client(app: App) -> Client:
    """A client signed in as a supervisor, who may use every call and incident route."""
    return await as_role(app, Role.SUPERVISOR)
