"""`python -m bench.flood PORT COUNT SECONDS`: one address posts the residents' web form COUNT times.

A form robot: it opens `/report` once (its CSRF token and cookie), then posts the form again and
again with a different text, at an even rate over SECONDS whatever the answers (open loop, on as many
connections as that takes). `stormline loadtest --web-flood` runs it beside the storm, in a process
of its own. It prints what it was answered, as JSON.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections import Counter
from typing import Any
from urllib.parse import urlencode

import httpx

from bench.loadgen import HttpError, Pool

CONNECTIONS = 1000  # at most, opened as needed


async def flood(port: int, count: int, seconds: float) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as browser:
        form = await browser.get("/report")
        found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        cookie = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
    if found is None:
        raise SystemExit(f"the web form has no CSRF token ({form.status_code})")
    token = found.group(1)
    pool = Pool("127.0.0.1", port, CONNECTIONS)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    errors = 0

    async def post(number: int) -> None:
        nonlocal errors
        body = urlencode(
            {
                "csrf_token": token,
                "category": "debris",
                "address": f"{100 + number % 800} Elmwood Ave",
                "description": f"tree down on the street, report {number}",
            }
        ).encode()
        sent = time.monotonic()
        try:
            status, _ = await pool.request("POST", "/report", body, headers)
        except HttpError:
            errors += 1
            return
        statuses[status] += 1
        latencies.append(round((time.monotonic() - sent) * 1000, 2))

    began = time.monotonic()
    posts = []
    for number in range(count):
        delay = began + number * seconds / count - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        posts.append(asyncio.create_task(post(number)))
    await asyncio.gather(*posts)
    await pool.close()
    return {
        "sent": sum(statuses.values()),
        "statuses": statuses,
        "transport_errors": errors,
        "latencies": latencies,
        "cpu_s": round(time.process_time(), 2),  # the robot's own, on the machine it shares
    }


def main(argv: list[str]) -> int:
    port, count, seconds = int(argv[0]), int(argv[1]), float(argv[2])
    print(json.dumps(asyncio.run(flood(port, count, seconds))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
