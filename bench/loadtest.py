"""`stormline loadtest`: a storm against a real Stormline, measured, and (with --faults) broken on purpose.

It starts `stormline serve` with several workers on a loopback port (the embedded Redis, or the one
given), with the 911 center and an agency played by endpoints of its own. Then, in one run:

1. the bare endpoint (`/healthz`: Quart and Stormline's middleware, no storage) and then intake
   (`POST /api/v1/calls`) are each driven flat out for a while: the throughput ratio is the cost of
   Stormline's own work;
2. a storm's curve of realistic calls (quiet, surge, peak, long tail) is sent at its rate whatever
   the latency (open loop), while map clients follow the live feed; agents start the 911 transfer
   for calls triage flags, and refer some medical calls to an agency by webhook;
   Through the peak, a robot at one network address posts the residents' web form (`/report`)
   --web-flood times at an even rate, whatever the answers: the limits must hold it back without
   slowing the phone intake beside it;
3. with --faults, during the surge one worker is killed with SIGKILL, the embedded Redis is killed
   and started again by `serve`, and the 911 and agency endpoints refuse everything for a while;
   clients retry as the consoles do, with the same Idempotency-Key.

Afterwards it checks, from Redis itself, that every call acknowledged with a 2xx is stored exactly
once, and waits for every outbox delivery to arrive. It prints the figures and writes them (JSON,
Markdown, and an SVG chart of the storm) to --out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.loadgen import Calls, Curve, Follower, HttpError, Pool, Receiver, as_json, follow, quantile
from bench.server import BenchServer
from incident.config import load_config
from incident.keys import Keys
from incident.public_pages import REPORTS_PER_ADDRESS
from incident.records import unpack_call
from incident.store import connect, disconnect

ROOT = Path(__file__).resolve().parent.parent
RETRY_FOR_S = 60.0  # a console keeps retrying a call this long before it tells the agent
AGENCY = "svc-erie-senior-services"


@dataclass
class Sample:
    at: float  # seconds from the storm's start, when the call was due
    done: float  # seconds from the storm's start, when it was answered (or given up)
    latency_ms: float
    ok: bool


@dataclass
class Tally:
    """What happened to the storm's calls."""

    samples: list[Sample] = field(default_factory=list)
    sent: int = 0
    acked: dict[str, str] = field(default_factory=dict)  # marker → ticket, for every 2xx
    sent_at: dict[str, float] = field(default_factory=dict)  # ticket → when its call was due
    acked_at: dict[str, float] = field(default_factory=dict)  # ticket → when its 2xx came back
    given_up: list[str] = field(default_factory=list)  # markers never acknowledged
    statuses: Counter[int] = field(default_factory=Counter)  # every answer, retries included
    transport_errors: int = 0
    retried: int = 0
    emergencies: int = 0  # calls triage answered with "transfer to 911"
    handoffs: dict[str, str] = field(default_factory=dict)  # ticket → its delivery to 911
    referrals: dict[str, str] = field(default_factory=dict)  # ticket → its delivery to the agency
    follow_up_errors: Counter[str] = field(default_factory=Counter)
    crashed: list[str] = field(default_factory=list)  # the generator's own failures, never hidden
    started: float = 0.0  # when the storm began (monotonic)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stormline loadtest", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="Hypercorn workers (default 2)")
    parser.add_argument("--peak", type=float, default=200.0, help="calls per second at the peak (200)")
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of storm (120)")
    parser.add_argument("--map-clients", type=int, default=50, help="live-feed followers (50)")
    parser.add_argument("--connections", type=int, default=64, help="HTTP connections (64)")
    parser.add_argument("--flat-out", type=float, default=10.0, help="seconds per throughput run (10)")
    parser.add_argument("--burst-calls", type=int, default=500, help="calls sent at one instant (500)")
    parser.add_argument("--burst-streams", type=int, default=1000, help="event streams opened at once (1000)")
    parser.add_argument(
        "--web-flood", type=int, default=10_000, help="web reports one address posts at the peak (10000)"
    )
    parser.add_argument("--faults", action="store_true", help="kill a worker and Redis, fail the endpoints")
    parser.add_argument("--outage", type=float, default=60.0, help="seconds the endpoints fail (60)")
    parser.add_argument("--redis-url", default="", help="a Redis to use instead of the embedded one")
    parser.add_argument("--out", default="loadtest-results", help="folder for the results")
    parser.add_argument("--seed", type=int, default=311)
    args = parser.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    if args.faults and args.redis_url:
        parser.error("--faults restarts the embedded Redis; leave out --redis-url")
    report = asyncio.run(_run(args))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "loadtest.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "loadtest.md").write_text(_markdown(report))
    (out / "storm.svg").write_text(_chart(report))
    print(_markdown(report))
    print(f"written: {out / 'loadtest.json'}, {out / 'loadtest.md'}, {out / 'storm.svg'}")
    return 0 if report["verdict"]["ok"] else 1


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="stormline-load-"))
    psap, agency = Receiver("psap"), Receiver("agency")
    with psap.running(), agency.running():
        server = _Server(data_dir, args.workers, psap.url, args.redis_url)
        try:
            server.start()
            return await _drive(args, server, psap, agency)
        finally:
            server.stop()
            _keep_log(data_dir, Path(args.out))
            shutil.rmtree(data_dir, ignore_errors=True)


def _keep_log(data_dir: Path, out: Path) -> None:
    """The server's own log goes with the results: a 5xx counted in them is explained there."""
    if (data_dir / "serve.log").exists():
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_dir / "serve.log", out / "serve.log")


async def _drive(
    args: argparse.Namespace, server: _Server, psap: Receiver, agency: Receiver
) -> dict[str, Any]:
    agent = server.token("agent")
    supervisor = server.token("supervisor")
    setup = Pool("127.0.0.1", server.port, 4, supervisor)
    for _ in range(60):  # the directory is loaded as the workers start
        try:
            status, body = await setup.request(
                "PATCH",
                f"/api/v1/agencies/{AGENCY}",
                as_json({"method": "webhook", "webhook_url": agency.url}),
            )
        except HttpError as error:
            status, body = 0, str(error).encode()
        if status == 200:
            break
        await asyncio.sleep(0.5)
    else:
        raise SystemExit(f"could not point agency {AGENCY} at the test's endpoint: {body!r}")
    _say("flat out: the bare endpoint")
    bare = await _flat_out(server, "GET", "/healthz", None, args)
    _say("flat out: intake")
    calls = Calls(args.seed, "flat")
    intake = await _flat_out(server, "POST", "/api/v1/calls", (agent, calls), args)
    _say(f"burst: {args.burst_streams} event streams opened at once, then {args.burst_calls} calls at once")
    burst = await _burst(server, args, agent, Calls(args.seed + 2, f"burst{int(time.time())}"))
    run = f"lt{int(time.time())}"
    storm_calls = Calls(args.seed + 1, run)
    curve = Curve(args.peak, args.duration)
    pool = Pool("127.0.0.1", server.port, args.connections, agent)
    tally = Tally()
    stop = asyncio.Event()
    followers = [Follower(measuring=i < max(1, min(5, args.map_clients))) for i in range(args.map_clients)]
    readers = [asyncio.create_task(follow("127.0.0.1", server.port, agent, f, stop)) for f in followers]
    await asyncio.sleep(1.0)  # every follower subscribed before the first call
    faults: list[dict[str, Any]] = []
    fault_task = asyncio.create_task(_faults(args, server, psap, agency, faults)) if args.faults else None
    cpu_before = time.process_time()
    started = tally.started = time.monotonic()
    flood = Flood()
    flood_task = asyncio.create_task(_web_flood(server, args, curve, started, flood))
    try:
        await _storm(pool, curve, storm_calls, tally, started)
    except BaseException:
        flood_task.cancel()  # its robot is killed with it (_web_flood)
        raise
    storm_cpu = time.process_time() - cpu_before
    await flood_task
    if fault_task:
        await fault_task
    _say("storm over: waiting for the feed to catch up and the outbox to drain")
    await asyncio.sleep(2.0)
    stop.set()
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    await pool.close()
    deliveries = await _wait_for_deliveries(tally, psap, agency)
    stored = await _audit(server, run)
    await setup.close()
    return _report(
        args,
        server,
        bare,
        intake,
        burst,
        curve,
        tally,
        followers,
        faults,
        deliveries,
        stored,
        storm_cpu,
        flood,
    )


async def _flat_out(
    server: _Server, method: str, path: str, calls: tuple[str, Calls] | None, args: argparse.Namespace
) -> dict[str, Any]:
    """Closed loop: every connection sends its next request as soon as the last is answered."""
    pool = Pool("127.0.0.1", server.port, args.connections, calls[0] if calls else None)
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + args.flat_out
    number = 0
    cpu = time.process_time()
    server_cpu = server.cpu_seconds()

    async def worker() -> None:
        nonlocal errors, number
        while time.monotonic() < deadline:
            body, headers = b"", {}
            if calls is not None:
                number += 1
                body = as_json(calls[1].make(number)[1])
                headers = {"Idempotency-Key": f"{calls[1].run}-{number}"}  # as the consoles send it
            began = time.monotonic()
            try:
                status, _ = await pool.request(method, path, body, headers)
            except HttpError:
                errors += 1
                continue
            if 200 <= status < 300:
                latencies.append((time.monotonic() - began) * 1000)
            else:
                errors += 1

    began = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(args.connections)))
    elapsed = time.monotonic() - began
    generator_cpu = time.process_time() - cpu
    # Where the machine's CPU went, per request answered: what the ratio is made of.
    served = max(1, len(latencies))
    cpu_ms = {
        name: round((used - server_cpu[name]) * 1000 / served, 3)
        for name, used in server.cpu_seconds().items()
    }
    cpu_ms["load_generator"] = round(generator_cpu * 1000 / served, 3)
    await pool.close()
    return {
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "ok": len(latencies),
        "errors": errors,
        # If the generator needed most of a core, the figure is the generator's, not the server's.
        "load_generator_cpu_share": round(generator_cpu / elapsed, 2),
        "cpu_ms_per_request": cpu_ms,
        **_percentiles(latencies),
    }


async def _burst(server: _Server, args: argparse.Namespace, token: str, calls: Calls) -> dict[str, Any]:
    """A storm's worst second: many consoles (re)opening their streams, then many calls, all at once.

    Each on a connection of its own, so that the server, not the load generator, decides how many go
    in together. Every answer counts: a 503 here would be agents seeing errors with Redis well.
    """

    async def open_stream(opened: asyncio.Event) -> tuple[int, asyncio.StreamWriter | None]:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            await opened.wait()  # every connection ready, then every request in the same instant
            writer.write(
                f"GET /api/v1/events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                "Accept: text/event-stream\r\n\r\n".encode()
            )
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            return int(head[9:12]), writer
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            return 0, None

    async def one_call(number: int, go: asyncio.Event) -> tuple[int, float]:
        pool = Pool("127.0.0.1", server.port, 1, token)
        body = as_json(calls.make(number)[1])
        await go.wait()
        began = time.monotonic()
        try:
            status, _ = await pool.request(
                "POST", "/api/v1/calls", body, {"Idempotency-Key": f"{calls.run}-{number}"}
            )
        except HttpError:
            status = 0
        finally:
            await pool.close()
        return status, (time.monotonic() - began) * 1000

    opened = asyncio.Event()
    streams = [asyncio.create_task(open_stream(opened)) for _ in range(args.burst_streams)]
    await asyncio.sleep(0.5)
    opened.set()
    stream_results = await asyncio.gather(*streams)
    go = asyncio.Event()
    sent = [asyncio.create_task(one_call(number, go)) for number in range(1, args.burst_calls + 1)]
    await asyncio.sleep(0.5)
    go.set()
    call_results = await asyncio.gather(*sent)
    for _, writer in stream_results:
        if writer is not None:
            writer.close()
    stream_statuses = Counter(status for status, _ in stream_results)
    call_statuses = Counter(status for status, _ in call_results)
    return {
        "streams": args.burst_streams,
        "stream_answers_by_status": {str(k): v for k, v in sorted(stream_statuses.items())},
        "calls": args.burst_calls,
        "call_answers_by_status": {str(k): v for k, v in sorted(call_statuses.items())},
        "call_latency_ms": _percentiles([ms for status, ms in call_results if 200 <= status < 300]),
    }


async def _storm(pool: Pool, curve: Curve, calls: Calls, tally: Tally, started: float) -> None:
    """Open loop: calls go out on the curve's schedule, however slow the answers are."""
    tasks: list[asyncio.Task[None]] = []
    schedule = list(curve.arrivals(calls.rng))
    shown = time.monotonic()
    for number, due in enumerate(schedule):
        delay = started + due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        category, body = calls.make(number)
        tally.sent += 1
        tasks.append(
            asyncio.create_task(_one_call(pool, tally, number, category, body, started, due, calls.run))
        )
        if time.monotonic() - shown > 5:
            shown = time.monotonic()
            recent = [s.latency_ms for s in tally.samples[-2000:] if s.ok]
            _say(
                f"storm {due:5.0f}/{curve.duration:.0f} s  {curve.phase(due):5}  "
                f"{curve.rate(due):5.0f} calls/s  sent {number + 1}/{len(schedule)}  "
                f"acked {len(tally.acked)}  p99 {quantile(recent, 0.99):.0f} ms  "
                f"in flight {sum(1 for t in tasks if not t.done())}"
            )
    for outcome in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(outcome, BaseException):
            tally.crashed.append(repr(outcome))  # the generator's own failure: never hidden


async def _one_call(
    pool: Pool,
    tally: Tally,
    number: int,
    category: str,
    body: dict[str, Any],
    started: float,
    due: float,
    run: str,
) -> None:
    marker = f"{run}-{number}"
    payload = as_json(body)
    due_at = started + due
    headers = {"Idempotency-Key": marker}
    due_at = started + due
    give_up = time.monotonic() + RETRY_FOR_S
    pause = 0.1
    while True:
        try:
            status, answer = await pool.request("POST", "/api/v1/calls", payload, headers)
            tally.statuses[status] += 1
        except HttpError:
            tally.transport_errors += 1
            status, answer = 0, b""
        if 200 <= status < 300:
            break
        wrong = status and 400 <= status < 500 and status not in (409, 429)  # no retry would help
        if wrong or time.monotonic() > give_up:
            tally.given_up.append(marker)
            tally.samples.append(_sample(started, due_at, ok=False))
            return
        tally.retried += 1
        await asyncio.sleep(pause)
        pause = min(pause * 2, 2.0)
    tally.samples.append(_sample(started, due_at, ok=True))
    receipt = json.loads(answer)
    ticket = receipt["ticket"]
    tally.acked[marker] = ticket
    tally.sent_at[ticket] = due_at
    tally.acked_at[ticket] = time.monotonic()
    if receipt.get("transfer_to_911"):
        # The agent transfers the caller: the documents go to 911 through the outbox.
        tally.emergencies += 1
        step = {"step": "transfer_started"}
        moved = await _follow_up(pool, tally, f"/api/v1/incidents/{ticket}/handoff", step)
        if moved is not None:
            tally.handoffs[ticket] = moved["handoff"]["delivery"]
    elif category == "medical_referral" and number % 2 == 0:
        referral = {"service_id": AGENCY, "need": "medicine and a heat check", "consent": {"given": True}}
        made = await _follow_up(pool, tally, f"/api/v1/incidents/{ticket}/referrals", referral)
        if made is not None:
            tally.referrals[ticket] = made["referral"]["delivery"]


@dataclass
class Flood:
    """What became of one address's flood of web reports (bench/flood.py's answer)."""

    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    transport_errors: int = 0
    began: float = 0.0  # seconds from the storm's start
    ended: float = 0.0
    robot_cpu_s: float = 0.0  # what the robot itself used of the cores it shares with the server


async def _web_flood(
    server: _Server, args: argparse.Namespace, curve: Curve, started: float, flood: Flood
) -> None:
    """Through the peak, a robot at one address posts the residents' form (bench/flood.py).

    It is a process of its own, as a robot is another machine: its thousands of connections and
    tasks must not stall the load generator that times the phone calls.
    """
    if args.web_flood <= 0:
        return
    peak_from, peak_to = curve.duration * 0.35, curve.duration * 0.6
    await asyncio.sleep(max(0.0, started + peak_from - time.monotonic()))
    flood.began = time.monotonic() - started
    _say(f"web flood: {args.web_flood} reports from one address over {peak_to - peak_from:.0f} s")
    robot = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.flood",
        str(server.port),
        str(args.web_flood),
        str(peak_to - peak_from),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        out, _ = await robot.communicate()
    except asyncio.CancelledError:
        robot.kill()
        raise
    flood.ended = time.monotonic() - started
    if robot.returncode != 0:
        raise SystemExit(f"the web flood's robot failed ({robot.returncode})")
    answer = json.loads(out)
    flood.sent, flood.transport_errors = answer["sent"], answer["transport_errors"]
    flood.statuses = Counter({int(status): n for status, n in answer["statuses"].items()})
    flood.latencies = answer["latencies"]
    flood.robot_cpu_s = answer["cpu_s"]
    _say(f"web flood over at {flood.ended:.0f} s: answers {dict(sorted(flood.statuses.items()))}")


def _sample(started: float, due_at: float, *, ok: bool) -> Sample:
    now = time.monotonic()
    return Sample(due_at - started, now - started, (now - due_at) * 1000, ok)


async def _follow_up(pool: Pool, tally: Tally, path: str, body: dict[str, Any]) -> Any:
    """An agent's next step on a call: its answer, or None if it never succeeded (which fails the run)."""
    give_up = time.monotonic() + RETRY_FOR_S
    while time.monotonic() < give_up:
        try:
            status, answer = await pool.request("POST", path, as_json(body))
        except HttpError:
            status, answer = 0, b""
        if 200 <= status < 300:
            return json.loads(answer)
        if 400 <= status < 500 and status not in (409, 429):
            tally.follow_up_errors[f"{path.rsplit('/', 1)[1]} {status}"] += 1
            return None
        await asyncio.sleep(0.5)
    tally.follow_up_errors[f"{path.rsplit('/', 1)[1]} gave up"] += 1
    return None


async def _faults(
    args: argparse.Namespace, server: _Server, psap: Receiver, agency: Receiver, log: list[dict[str, Any]]
) -> None:
    """During the surge: a worker killed, Redis killed (serve starts it again), partners down."""
    curve = Curve(args.peak, args.duration)
    begin = time.monotonic()

    async def at(fraction: float) -> float:
        wait = begin + fraction * curve.duration - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        return round(time.monotonic() - begin, 1)

    when = await at(0.2)
    psap.fail_for(args.outage)
    agency.fail_for(args.outage)
    log.append({"at_s": when, "fault": f"911 and agency endpoints answer 503 for {args.outage:.0f} s"})
    _say(log[-1]["fault"])
    when = await at(0.25)
    victim = server.workers()[0]
    os.kill(victim, signal.SIGKILL)
    log.append({"at_s": when, "fault": f"kill -9 worker {victim}"})
    _say(log[-1]["fault"])
    when = await at(0.3)
    redis_pid = server.redis_pid()
    os.kill(redis_pid, signal.SIGKILL)
    log.append({"at_s": when, "fault": f"kill -9 the embedded Redis ({redis_pid}); serve starts it again"})
    _say(log[-1]["fault"])


async def _wait_for_deliveries(tally: Tally, psap: Receiver, agency: Receiver) -> dict[str, Any]:
    """Each handoff and referral made one delivery, by id; wait (the outbox backs off) until each arrived."""
    deadline = time.monotonic() + 300
    wanted = {"psap": (psap, set(tally.handoffs.values())), "agency": (agency, set(tally.referrals.values()))}

    def missing() -> dict[str, set[str]]:
        return {name: ids - set(receiver.snapshot()) for name, (receiver, ids) in wanted.items()}

    while any(missing().values()) and time.monotonic() < deadline:
        _say("deliveries still on their way: " + ", ".join(f"{k} {len(v)}" for k, v in missing().items()))
        await asyncio.sleep(5)
    out: dict[str, Any] = {}
    for name, (receiver, ids) in wanted.items():
        received = receiver.snapshot()
        out[name] = {
            "expected": len(ids),
            "arrived": len(ids & set(received)),
            "missing": sorted(ids - set(received))[:5],
            "refused_while_down": receiver.refused,
            "arrived_more_than_once": sum(1 for key in ids if received.get(key, 0) > 1),
            "unexpected": len(set(received) - ids),
        }
    return out


async def _audit(server: _Server, run: str) -> dict[str, list[str]]:
    """Every call stored, read from Redis itself (not through the API under test): marker → tickets."""
    config = load_config(server.config)
    redis = connect(server.redis_url)
    keys = Keys(config.jurisdiction.id)
    found: dict[str, list[str]] = defaultdict(list)
    pattern = re.compile(rf"\[({re.escape(run)}-\d+)\]$")
    try:
        last = int(await redis.get(keys.call_seq) or 0)
        for start in range(1, last + 1, 1000):
            pipe = redis.pipeline(transaction=False)
            for number in range(start, min(start + 1000, last + 1)):
                pipe.get(keys.call(f"C{number}"))
            for raw in await pipe.execute():
                if raw:
                    call = unpack_call(raw)
                    match = pattern.search(call.narrative)
                    if match:
                        found[match.group(1)].append(call.ticket)
    finally:
        await disconnect(redis)
    return found


def _report(
    args: argparse.Namespace,
    server: _Server,
    bare: dict[str, Any],
    intake: dict[str, Any],
    burst: dict[str, Any],
    curve: Curve,
    tally: Tally,
    followers: list[Follower],
    faults: list[dict[str, Any]],
    deliveries: dict[str, Any],
    stored: dict[str, list[str]],
    storm_cpu: float,
    flood: Flood,
) -> dict[str, Any]:
    ok = [s.latency_ms for s in tally.samples if s.ok]
    by_phase: dict[str, list[float]] = defaultdict(list)
    for s in tally.samples:
        if s.ok:
            by_phase[curve.phase(s.at)].append(s.latency_ms)
    # From when the call was due (what the resident waits for), and from its acknowledgement (the feed alone).
    to_map = [
        (seen - tally.sent_at[ticket]) * 1000
        for f in followers
        if f.measuring
        for ticket, seen in f.seen.items()
        if ticket in tally.sent_at
    ]
    ack_to_map = [
        max(0.0, seen - tally.acked_at[ticket]) * 1000
        for f in followers
        if f.measuring
        for ticket, seen in f.seen.items()
        if ticket in tally.acked_at
    ]
    measuring = [f for f in followers if f.measuring]
    missed_on_map = sum(1 for f in measuring for t in tally.acked.values() if t not in f.seen)
    lost = [m for m in tally.acked if m not in stored]
    doubled = [m for m, tickets in stored.items() if len(tickets) > 1]
    wrong_ticket = [m for m, t in tally.acked.items() if m in stored and stored[m] != [t]]
    deliveries_ok = all(d["arrived"] == d["expected"] for d in deliveries.values())
    server_errors = sum(n for status, n in tally.statuses.items() if status >= 500 and status != 503)
    problems = {
        "acknowledged calls lost": len(lost),
        "calls stored twice": len(doubled),
        "calls under another ticket": len(wrong_ticket),
        "calls never acknowledged": len(tally.given_up),
        "calls unaccounted for": tally.sent - len(tally.acked) - len(tally.given_up),
        "server errors (5xx but 503)": server_errors,
        "agents' next steps that failed": sum(tally.follow_up_errors.values()),
        "911 transfers not started": tally.emergencies - len(tally.handoffs),
        "deliveries missing": sum(d["expected"] - d["arrived"] for d in deliveries.values()),
        "load generator failures": len(tally.crashed),
        "burst: streams not opened (503 or other)": burst["streams"]
        - burst["stream_answers_by_status"].get("200", 0),
        "burst: calls not taken (503 or other)": burst["calls"]
        - burst["call_answers_by_status"].get("201", 0),
    }
    ratio = intake["requests_per_s"] / bare["requests_per_s"] if bare["requests_per_s"] else 0.0
    peak = by_phase.get("peak", [])
    during_flood = [s.latency_ms for s in tally.samples if s.ok and flood.began <= s.at <= flood.ended]
    filed = flood.statuses.get(201, 0) + flood.statuses.get(200, 0)  # filed, or offered a duplicate
    problems["web flood: reports let through beyond the limits"] = max(0, filed - REPORTS_PER_ADDRESS)
    problems["web flood: server errors (5xx but 503)"] = sum(
        n for status, n in flood.statuses.items() if status >= 500 and status != 503
    )
    return {
        "machine": _machine(),
        "command": " ".join(["stormline loadtest", *args.argv]),
        "settings": {
            "workers": args.workers,
            "peak_calls_per_s": args.peak,
            "storm_seconds": args.duration,
            "map_clients": args.map_clients,
            "connections": args.connections,
            "redis": "given" if args.redis_url else "embedded",
            "faults": args.faults,
        },
        "flat_out": {"bare_healthz": bare, "intake": intake, "intake_to_bare_ratio": round(ratio, 3)},
        "burst": burst,
        "storm": {
            "calls_sent": tally.sent,
            "acknowledged": len(tally.acked),
            "never_acknowledged": len(tally.given_up),
            "answers_by_status": {str(k): v for k, v in sorted(tally.statuses.items())},
            "transport_errors": tally.transport_errors,
            "retries": tally.retried,
            "latency_ms": _percentiles(ok),
            "latency_ms_at_peak": _percentiles(peak),
            "latency_ms_by_phase": {phase: _percentiles(v) for phase, v in by_phase.items()},
            "intake_to_map_ms": _percentiles(to_map),
            "acknowledged_to_map_ms": _percentiles(ack_to_map),
            "map_clients_missing_calls": missed_on_map,
            "map_reconnects": sum(f.reconnects for f in followers),
            "emergencies": tally.emergencies,
            "handoffs_started": len(tally.handoffs),
            "referrals_made": len(tally.referrals),
            "follow_up_errors": dict(tally.follow_up_errors),
            "load_generator_cpu_s": round(storm_cpu, 1),
            "per_second": _per_second(tally, followers),
        },
        "web_flood": {
            "reports_sent": flood.sent,
            "answers_by_status": {str(k): v for k, v in sorted(flood.statuses.items())},
            "transport_errors": flood.transport_errors,
            "from_s": round(flood.began, 1),
            "to_s": round(flood.ended, 1),
            "reports_per_s": round(flood.sent / (flood.ended - flood.began), 1)
            if flood.ended > flood.began
            else 0,
            "report_latency_ms": _percentiles(flood.latencies),
            "robot_cpu_s": flood.robot_cpu_s,
            "phone_latency_ms_during_flood": _percentiles(during_flood),
        },
        "faults": faults,
        "deliveries": deliveries,
        "verdict": {
            "acknowledged_calls_lost": len(lost),
            "calls_stored_twice": len(doubled),
            "calls_under_another_ticket": len(wrong_ticket),
            "all_deliveries_arrived": deliveries_ok,
            "problems": problems,
            "crashes": tally.crashed[:5],
            "ok": not any(problems.values()),
            "examples": {"lost": lost[:5], "doubled": doubled[:5], "wrong_ticket": wrong_ticket[:5]},
        },
    }


def _per_second(tally: Tally, followers: list[Follower]) -> list[list[float]]:
    """[second, calls acknowledged, their p99 ms, p50 ms from acknowledgement to a map client].

    By when the answers came, so outages show.
    """
    buckets: dict[int, list[float]] = defaultdict(list)
    for s in tally.samples:
        if s.ok:
            buckets[int(s.done)].append(s.latency_ms)
    lags: dict[int, list[float]] = defaultdict(list)
    for f in followers:
        if f.measuring:
            for ticket, seen in f.seen.items():
                if ticket in tally.acked_at:
                    acked = tally.acked_at[ticket]
                    lags[int(acked - tally.started)].append(max(0.0, seen - acked) * 1000)
    last = max(buckets, default=0)
    return [
        [
            second,
            len(buckets[second]),
            round(quantile(buckets[second], 0.99), 1),
            round(quantile(lags[second], 0.5), 1),
        ]
        for second in range(last + 1)
    ]


def _percentiles(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50": round(quantile(values, 0.5), 1),
        "p95": round(quantile(values, 0.95), 1),
        "p99": round(quantile(values, 0.99), 1),
    }


def _machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError, StopIteration):
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _markdown(report: dict[str, Any]) -> str:
    flat, storm, verdict, deliveries = (
        report["flat_out"],
        report["storm"],
        report["verdict"],
        report["deliveries"],
    )
    machine = report["machine"]
    lines = [
        "# Stormline load test",
        "",
        f"`{report['command']}` on {machine['cpus']} CPUs ({machine['cpu']}), Python {machine['python']}, "
        f"{machine['when']}. Settings: {report['settings']}.",
        "",
        "| flat out | requests/s | p50 ms | p95 ms | p99 ms | errors "
        "| CPU ms per request: workers / Redis / load generator |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in (
        ("bare `/healthz`", flat["bare_healthz"]),
        ("intake `POST /api/v1/calls`", flat["intake"]),
    ):
        cpu = row["cpu_ms_per_request"]
        spent = " / ".join(
            str(cpu[part]) if part in cpu else "–" for part in ("workers", "redis", "load_generator")
        )
        figures = [row["requests_per_s"], row["p50"], row["p95"], row["p99"], row["errors"], spent]
        lines.append(f"| {name} | " + " | ".join(str(f) for f in figures) + " |")
    burst = report["burst"]
    lines += [
        "",
        f"**Intake throughput / bare endpoint: {flat['intake_to_bare_ratio']:.0%}** (target ≥ 50 %).",
        "",
        f"Burst: {burst['streams']} event streams opened at once, "
        f"answered {burst['stream_answers_by_status']}; "
        f"then {burst['calls']} calls at once, answered {burst['call_answers_by_status']} "
        f"(p50 {burst['call_latency_ms']['p50']} ms, p99 {burst['call_latency_ms']['p99']} ms).",
        "",
        "| storm | count | p50 ms | p95 ms | p99 ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    rows = [("all calls", storm["latency_ms"]), ("at the peak", storm["latency_ms_at_peak"])]
    rows += [(f"phase: {k}", v) for k, v in storm["latency_ms_by_phase"].items()]
    rows.append(("call due → event on a map client", storm["intake_to_map_ms"]))
    rows.append(("call acknowledged → event on a map client", storm["acknowledged_to_map_ms"]))
    for name, row in rows:
        lines.append(f"| {name} | {row['count']} | {row['p50']} | {row['p95']} | {row['p99']} |")
    lines += [
        "",
        f"Calls sent {storm['calls_sent']}, acknowledged {storm['acknowledged']}, never acknowledged "
        f"{storm['never_acknowledged']}; answers by status {storm['answers_by_status']}, transport errors "
        f"{storm['transport_errors']}, retries {storm['retries']}. Map clients missing a call: "
        f"{storm['map_clients_missing_calls']} (reconnects {storm['map_reconnects']}). 911 transfers started "
        f"{storm['handoffs_started']}, referrals made {storm['referrals_made']}. The load generator used "
        f"{storm['load_generator_cpu_s']} s of CPU during the storm.",
        "",
    ]
    flood = report["web_flood"]
    if flood["reports_sent"]:
        phone = flood["phone_latency_ms_during_flood"]
        lines += [
            f"Web flood: {flood['reports_sent']} reports posted from one address from {flood['from_s']} s to "
            f"{flood['to_s']} s ({flood['reports_per_s']} a second), answered {flood['answers_by_status']} "
            f"(p99 {flood['report_latency_ms']['p99']} ms; the robot used {flood['robot_cpu_s']} s of CPU "
            "on the same cores). **Phone intake meanwhile: "
            f"{phone['count']} calls, p50 {phone['p50']} ms, p99 {phone['p99']} ms** "
            "(target: p99 under 100 ms).",
            "",
        ]
    if report["faults"]:
        lines += ["Faults:", ""] + [f"- at {f['at_s']} s: {f['fault']}" for f in report["faults"]] + [""]
    lines.append(
        "Deliveries: "
        + "; ".join(
            f"{name} {d['arrived']}/{d['expected']} arrived ({d['refused_while_down']} refused while down, "
            f"{d['arrived_more_than_once']} more than once, {d['unexpected']} unexpected)"
            for name, d in deliveries.items()
        )
        + "."
    )
    failed = {name: n for name, n in verdict["problems"].items() if n}
    lines += [
        "",
        f"**Verdict: {'OK' if verdict['ok'] else 'FAILED'}** — "
        + (
            ", ".join(f"{name}: {n}" for name, n in failed.items())
            if failed
            else "no acknowledged call lost or "
            "doubled, every call acknowledged, no server error, every 911 transfer and delivery made."
        )
        + ("" if not verdict["crashes"] else f" Crashes: {verdict['crashes']}"),
        "",
    ]
    return "\n".join(lines)


def _chart(report: dict[str, Any]) -> str:
    """Calls answered per second and their p99 latency over the storm, with the faults marked (SVG)."""
    rows = report["storm"]["per_second"]
    width, height, pad = 900, 320, 50
    if not rows:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"></svg>'
    last = max(r[0] for r in rows) or 1
    top_rate = max(r[1] for r in rows) or 1
    finite = [value for r in rows for value in r[2:4] if value == value]
    top_ms = max(finite) if finite else 1

    def x(second: float) -> float:
        return pad + (width - 2 * pad) * second / last

    def y(value: float, top: float) -> float:
        return height - pad - (height - 2 * pad) * value / top

    rate = " ".join(f"{x(r[0]):.1f},{y(r[1], top_rate):.1f}" for r in rows)
    p99 = " ".join(f"{x(r[0]):.1f},{y(r[2], top_ms):.1f}" for r in rows if r[2] == r[2])
    lag = " ".join(f"{x(r[0]):.1f},{y(r[3], top_ms):.1f}" for r in rows if r[3] == r[3])
    marks = "".join(
        f'<line x1="{x(f["at_s"]):.1f}" y1="{pad}" x2="{x(f["at_s"]):.1f}" y2="{height - pad}" stroke="#c00" '
        f'stroke-dasharray="4 3"/><text x="{x(f["at_s"]) + 3:.1f}" y="{pad + 12 + 13 * i}" font-size="10" '
        f'fill="#c00">{_escape(f["fault"][:48])}</text>'
        for i, f in enumerate(report["faults"])
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif">'
        f'<rect width="100%" height="100%" fill="#fff"/>'
        f'<text x="{pad}" y="20" font-size="13">Calls answered per second (blue, max {top_rate}); their p99 '
        f"latency (orange) and acknowledgement to map, p50 (green), on one scale to {top_ms:.0f} ms</text>"
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#333"/>'
        f'<text x="{width / 2:.0f}" y="{height - 15}" font-size="12">seconds ({last} s)</text>'
        f'<polyline points="{rate}" fill="none" stroke="#1f5fbf" stroke-width="1.5"/>'
        f'<polyline points="{p99}" fill="none" stroke="#e07b00" stroke-width="1.2"/>'
        f'<polyline points="{lag}" fill="none" stroke="#2a8a3a" stroke-width="1.2"/>{marks}</svg>'
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _say(text: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


class _Server(BenchServer):
    """A Stormline whose 911 center is played by the load test's own endpoint."""

    def __init__(self, data_dir: Path, workers: int, psap_url: str, redis_url: str) -> None:
        shipped = (ROOT / "surge_config.yaml").read_text()
        shipped = re.sub(r"(?m)^  psap_endpoint: .*$", f"  psap_endpoint: {psap_url}", shipped)
        # The test agency listens on this machine: allowed as a city allows a partner on its network.
        shipped = re.sub(r"(?m)^  allow_private: .*$", "  allow_private: [127.0.0.1]", shipped)
        # Paths in the config are relative to it: the copy points at the shipped agency directory.
        directory = ROOT / "dispatch" / "data" / "agencies"
        self.config = str(data_dir / "surge_config.yaml")
        Path(self.config).write_text(re.sub(r"(?m)^  directory: .*$", f"  directory: {directory}", shipped))
        env = {"STORMLINE_CONFIG": self.config, "STORMLINE_PSAP_TOKEN": "load-test-911"}
        if redis_url:
            env["STORMLINE_REDIS_URL"] = redis_url
        super().__init__(data_dir, workers, **env)

    def start(self, timeout: float = 60.0) -> None:
        _say(f"starting stormline serve: {self.workers_wanted} workers on 127.0.0.1:{self.port}")
        super().start(timeout)


if __name__ == "__main__":
    sys.exit(main())
