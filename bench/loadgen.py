"""The load generator's parts: a lean HTTP/1.1 client, live-feed followers, a storm's curve, calls.

The client is a few lines over asyncio streams, not httpx: on a two-core machine the generator shares
the CPU with the server it measures, and a heavy client would make Stormline look slower than it is.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from geo.build import build
from geo.gazetteer import pretty_street


class HttpError(Exception):
    """The connection failed or closed mid-answer: nothing is known about the request."""


class Pool:
    """Keep-alive HTTP/1.1 connections to one host, handed out one request at a time."""

    def __init__(self, host: str, port: int, size: int, token: str | None = None) -> None:
        self.host, self.port = host, port
        self.auth = f"Authorization: Bearer {token}\r\n" if token else ""
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = asyncio.Queue()
        for _ in range(size):
            self._idle.put_nowait(None)

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        given_kind = any(name.lower() == "content-type" for name in headers or {})
        kind = "Content-Type: application/json\r\n" if body and not given_kind else ""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.auth}{kind}{extra}"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        conn = await self._idle.get()
        try:
            if conn is None:
                conn = await asyncio.open_connection(self.host, self.port)
            reader, writer = conn
            writer.write(head.encode() + body)
            status, answer, close = await _read_response(reader)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
            if conn is not None:
                conn[1].close()
            self._idle.put_nowait(None)
            raise HttpError(str(error) or type(error).__name__) from None
        except BaseException:
            if conn is not None:
                conn[1].close()
            self._idle.put_nowait(None)
            raise
        if close:
            writer.close()
            conn = None
        self._idle.put_nowait(conn)
        return status, answer

    async def close(self) -> None:
        while not self._idle.empty():
            conn = self._idle.get_nowait()
            if conn is not None:
                conn[1].close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length, chunked, close = 0, False, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            close = b"close" in value.lower()
    if not chunked:
        return status, await reader.readexactly(length), close
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        parts.append(await reader.readexactly(size + 2))
        if size == 0:
            return status, b"".join(p[:-2] for p in parts), close


_TICKET_IN_DATA = re.compile(rb'"ticket":"([0-9]{4}-[0-9]+)"')


@dataclass
class Follower:
    """One map client on the live feed. A measuring one notes when each new incident reached it."""

    measuring: bool
    seen: dict[str, float] = field(default_factory=dict)
    events: int = 0
    reconnects: int = 0
    last_id: str | None = None


async def follow(host: str, port: int, token: str, follower: Follower, stop: asyncio.Event) -> None:
    """Read /api/v1/events/stream until `stop`, reconnecting from the last event id as a browser does."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        except OSError:
            follower.reconnects += 1
            await asyncio.sleep(0.5)
            continue
        resume = f"Last-Event-ID: {follower.last_id}\r\n" if follower.last_id else ""
        writer.write(
            f"GET /api/v1/events/stream HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Accept: text/event-stream\r\n{resume}\r\n".encode()
        )
        buffer = b""
        try:
            await reader.readuntil(b"\r\n\r\n")
            while not stop.is_set():
                # Longer than the feed's 15 s keepalive: a quiet feed is not a broken one.
                chunk = await asyncio.wait_for(reader.read(65536), 20.0)
                if not chunk:
                    break
                now = time.monotonic()
                buffer += chunk
                messages = buffer.split(b"\n\n")
                buffer = messages.pop()
                for message in messages:
                    _note(follower, message, now)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
        if not stop.is_set():
            follower.reconnects += 1
            await asyncio.sleep(0.2)


def _note(follower: Follower, message: bytes, now: float) -> None:
    # Chunked framing may sit between messages; what matters are the id, event and data lines.
    for line in message.split(b"\n"):
        if line.startswith(b"id: "):
            follower.last_id = line[4:].strip().decode()
            follower.events += 1
        elif follower.measuring and line.startswith(b"event: incident.opened"):
            found = _TICKET_IN_DATA.search(message)
            if found:
                follower.seen.setdefault(found.group(1).decode(), now)


@dataclass(frozen=True)
class Curve:
    """A storm's calls per second: a quiet start, a climb to the peak, the peak, and a long tail."""

    peak: float
    duration: float
    quiet: float = 0.1  # of the peak, during the start

    def phase(self, t: float) -> str:
        x = t / self.duration
        return "quiet" if x < 0.15 else "surge" if x < 0.35 else "peak" if x < 0.6 else "tail"

    def rate(self, t: float) -> float:
        x = t / self.duration
        low = self.peak * self.quiet
        if x < 0.15:
            return low
        if x < 0.35:
            return low + (self.peak - low) * (x - 0.15) / 0.2
        if x < 0.6:
            return self.peak
        return low + (self.peak - low) * math.exp(-(x - 0.6) / 0.12)  # decays toward the quiet level

    def arrivals(self, rng: random.Random) -> Iterator[float]:
        """Times (seconds from the start) at which calls arrive: a Poisson process at the curve's rate.

        Callers do not queue politely; evenly spaced arrivals would flatter the tail latency.
        """
        t = 0.0
        while t < self.duration:
            yield t
            t += rng.expovariate(max(self.rate(t), 0.5))


# What callers say, by the category triage should find; {place} is where. A few say a life is at risk.
NARRATIVES: dict[str, list[str]] = {
    "debris": [
        "Big tree down across {place}, the street is blocked",
        "Large limb came down on the sidewalk at {place}",
        "Branches all over the road near {place}, cars can't get by",
        "A tree fell on a parked car at {place}, nobody in it",
    ],
    "utility": [
        "Power has been out since last night at {place}",
        "Wires hanging low over the street at {place}",
        "Streetlights out and the traffic signal is dark at {place}",
    ],
    "shelter_transport": [
        "No heat in the house since yesterday near {place}, we need a ride to a warming center",
        "My furnace is out and it is 40 degrees inside, I live by {place}",
    ],
    "medical_referral": [
        "My mother is on oxygen and the power is out near {place}, the tank is running low",
        "I need my dialysis appointment and can't get out of the street at {place}",
        "Running out of insulin, pharmacy closed, I'm near {place}",
    ],
    "welfare_check": [
        "Haven't heard from my elderly neighbor at {place} since the storm, her lights are off",
    ],
    "general": [
        "When will garbage pickup start again on {place}?",
        "Where can I drop off branches from my yard? I'm near {place}",
    ],
    "emergency": [
        "A tree fell on the car at {place} and the driver is trapped and not moving",
        "I smell gas in the house near {place} and my kids feel sick",
    ],
}
_MIX = {  # share of calls in a storm night, by category (emergencies are rare; they matter most)
    "debris": 0.42,
    "utility": 0.2,
    "shelter_transport": 0.1,
    "medical_referral": 0.07,
    "welfare_check": 0.05,
    "general": 0.13,
    "emergency": 0.03,
}
# Buffalo, roughly: corners outside it are real too, but most storm calls come from the city.
_CITY = (42.82, -78.92, 42.97, -78.79)


class Calls:
    """Realistic calls: real Buffalo corners and named places, narratives of every category."""

    def __init__(self, seed: int, run: str) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - repeatable test data, not secrets
        self.run = run
        data = build()
        south, west, north, east = _CITY
        self.corners = [
            (f"{pretty_street(c.a)} & {pretty_street(c.b)}", c.lat, c.lon)
            for c in data.corners
            if south < c.lat < north and west < c.lon < east
        ]
        self.places = [
            (p.name, p.lat, p.lon) for p in data.places if south < p.lat < north and west < p.lon < east
        ]
        self.categories = list(_MIX)
        self.weights = [_MIX[c] for c in self.categories]

    def make(self, number: int) -> tuple[str, dict[str, Any]]:
        """Call number `number`: its category and its body (the marker in the narrative finds it later)."""
        rng = self.rng
        category = rng.choices(self.categories, self.weights)[0]
        name, lat, lon = rng.choice(self.places if rng.random() < 0.1 else self.corners)
        narrative = rng.choice(NARRATIVES[category]).format(place=name)
        body: dict[str, Any] = {"narrative": f"{narrative} [{self.run}-{number}]", "channel": "phone"}
        roll = rng.random()
        if roll < 0.6:
            body["address"] = name  # the agent types what the caller says; the gazetteer places it
        elif roll < 0.97:
            body["location"] = {"lat": round(lat + rng.uniform(-3e-4, 3e-4), 6), "lon": round(lon, 6)}
        else:
            body["address"] = "behind the old mill somewhere"  # cannot be found: logged, flagged for a pin
        if rng.random() < 0.5:
            body["callback_number"] = f"716-555-{rng.randrange(10000):04d}"
        return category, body


class Receiver:
    """A partner's endpoint (the 911 center, an agency): records deliveries; can fail for a while.

    It refuses (503) the first `fail_first` deliveries, and every delivery while `fail_for` lasts.
    """

    def __init__(self, name: str, *, fail_first: int = 0) -> None:
        self.name = name
        self.received: dict[str, int] = {}  # delivery id (Idempotency-Key) → times it came
        self.kept: list[tuple[dict[str, str], bytes]] = []  # each accepted delivery's headers and body
        self.refused = 0
        self.lock = threading.Lock()  # the server answers on many threads
        self.failing_until = 0.0
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    refuse = time.monotonic() < receiver.failing_until or receiver.fail_first > 0
                    if refuse:
                        receiver.refused += 1
                        receiver.fail_first = max(0, receiver.fail_first - 1)
                    else:
                        key = self.headers.get("Idempotency-Key", "")
                        receiver.received[key] = receiver.received.get(key, 0) + 1
                        receiver.kept.append((dict(self.headers), body))
                self.send_response(503 if refuse else 202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/{name}"

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return dict(self.received)

    def fail_for(self, seconds: float) -> None:
        self.failing_until = time.monotonic() + seconds

    @contextmanager
    def running(self) -> Iterator[Self]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of `values`, NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def as_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
