"""The connection to Redis: which server, how to reach it, and the scripts registered on it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from incident.events import Change
from incident.keys import Keys
from incident.records import Incident
from incident.scripts import Scripts
from incident.settings import DEFAULT_POOL, DEFAULT_POOL_WAIT

SENTINEL_SCHEME = "redis+sentinel"
# A step of every incident write: it adds to the change what the incident's move from `before` to
# `after` means for something else (a crew's work list, partners' chain of alerts).
WriteStep = Callable[[Change, "Store", Incident | None, Incident], None]


@dataclass(frozen=True, slots=True)
class Store:
    """What every storage function takes first: the client, the key layout and the scripts."""

    redis: Redis
    keys: Keys
    scripts: Scripts
    steps: tuple[WriteStep, ...]  # what every write of an incident also keeps, in the same change

    @classmethod
    def open(cls, redis: Redis, jurisdiction: str, steps: tuple[WriteStep, ...]) -> Store:
        """The store for one city; `steps` are incident/write_steps.py's (or none, said so, in a test)."""
        return cls(redis, Keys(jurisdiction), Scripts.register(redis), steps)


def client_options() -> dict[str, object]:
    """Options for every client: reconnect with backoff, so a Redis restart is a pause, not an error."""
    return {
        "socket_timeout": 5,
        "socket_connect_timeout": 5,
        "health_check_interval": 15,
        "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=8),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }


def connect(url: str, *, pool: int = DEFAULT_POOL, wait: float = DEFAULT_POOL_WAIT) -> Redis:
    """A client for `url`: redis://, rediss://, unix://, or redis+sentinel://.

    The Sentinel form is `redis+sentinel://[[user]:password@]host:port[,host:port…]/service[/db]`;
    the password is used for the monitored primary and its sentinels alike. At most `pool`
    connections are open; in a burst a command waits up to `wait` seconds for one to be free (a
    default pool would fail at once, and a storm is exactly when bursts come).
    """
    if urlsplit(url).scheme == SENTINEL_SCHEME:
        return _sentinel_primary(url, pool, wait)
    blocking = BlockingConnectionPool.from_url(url, max_connections=pool, timeout=wait, **client_options())
    return Redis.from_pool(blocking)


async def disconnect(redis: Redis) -> None:
    """Close a client from `connect`, including, for Sentinel, its connections to the sentinels."""
    await redis.aclose()
    manager = getattr(redis.connection_pool, "sentinel_manager", None)
    for sentinel in getattr(manager, "sentinels", ()):
        await sentinel.aclose()


class _BlockingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):
    """Sentinel's pool (it follows the primary) that waits for a free connection, as the other does."""


def _sentinel_primary(url: str, pool: int, wait: float) -> Redis:
    parts = urlsplit(url)
    credentials, _, hosts = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":") if credentials else ("", "", "")
    sentinels = []
    for host_port in hosts.split(","):
        host, _, port = host_port.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"sentinel address {host_port!r} must be host:port")
        sentinels.append((host.strip("[]"), int(port)))
    path = [segment for segment in parts.path.split("/") if segment]
    if not path:
        raise ValueError("the sentinel URL must name the service: redis+sentinel://host:port/SERVICE")
    service = unquote(path[0])
    db = int(path[1]) if len(path) > 1 else 0
    auth = {"username": unquote(username) or None, "password": unquote(password) or None}
    connection: dict[str, Any] = {**auth, **client_options()}
    sentinel = Sentinel(sentinels, sentinel_kwargs=auth, **connection)
    return cast(
        Redis,
        sentinel.master_for(
            service, db=db, connection_pool_class=_BlockingSentinelPool, max_connections=pool, timeout=wait
        ),
    )
