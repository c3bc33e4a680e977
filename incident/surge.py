"""Surge detection: calls per window against a rolling baseline, per category and overall.

Intake counts each call in the same atomic step that stores it (`count`). A watcher in every worker
compares the current window with the mean of the windows before it; past the configured factor it
raises one "surge: consider incident mode" alarm per window (and switches, where the config allows).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import cast

import msgspec

from incident import center
from incident.alarms import raise_alarm
from incident.config import SurgeConfig
from incident.events import Change
from incident.store import Store

log = logging.getLogger("stormline.surge")
ALL = "all"
_WEEK_S = 7 * 24 * 3600


class Reading(msgspec.Struct, kw_only=True):
    """One category's calls in the current window, and its baseline."""

    category: str
    calls: int
    baseline: float  # mean calls per window over the baseline period
    surging: bool


def window_of(epoch: float, config: SurgeConfig) -> int:
    return int(epoch // (config.modes.surge.window_minutes * 60))


def count(change: Change, store: Store, config: SurgeConfig, category: str, at: float) -> None:
    """Add to `change`: one call in this window, overall and for its category."""
    window = window_of(at, config)
    for name in (ALL, category):
        key = store.keys.surge_count(window, name)
        change.command("INCR", key)
        change.command("EXPIRE", key, _WEEK_S)


async def readings(store: Store, config: SurgeConfig, now: float | None = None) -> list[Reading]:
    """The current window against its baseline, overall first, then each category."""
    surge = config.modes.surge
    window = window_of(time.time() if now is None else now, config)
    past = max(1, surge.baseline_hours * 60 // surge.window_minutes)
    names = [ALL, *(category.code for category in config.categories)]
    pipe = store.redis.pipeline(transaction=False)
    for name in names:
        pipe.get(store.keys.surge_count(window, name))
        pipe.mget([store.keys.surge_count(w, name) for w in range(window - past, window)])
    raw = await pipe.execute()
    out = []
    for index, name in enumerate(names):
        current = int(cast(bytes | None, raw[2 * index]) or 0)
        history = [int(value or 0) for value in cast(list[bytes | None], raw[2 * index + 1])]
        baseline = sum(history) / len(history)
        surging = current >= surge.min_calls and current >= surge.factor * max(baseline, 1.0)
        out.append(Reading(category=name, calls=current, baseline=round(baseline, 2), surging=surging))
    return out


async def history(
    store: Store, config: SurgeConfig, windows: int, now: float | None = None
) -> list[tuple[datetime, int]]:
    """All calls per window for the last `windows` windows (the current one last), for the chart."""
    current = window_of(time.time() if now is None else now, config)
    span = range(current - windows + 1, current + 1)
    raw = cast(list[bytes | None], await store.redis.mget([store.keys.surge_count(w, ALL) for w in span]))
    seconds = config.modes.surge.window_minutes * 60
    return [(datetime.fromtimestamp(w * seconds, UTC), int(v or 0)) for w, v in zip(span, raw, strict=True)]


async def check(store: Store, config: SurgeConfig, keep_report: center.KeepReport) -> None:
    """Alarm supervisors once per window that surges; switch to incident mode if the config allows."""
    now = time.time()
    surging = [r for r in await readings(store, config, now) if r.surging]
    if not surging:
        return
    # In incident mode the surge is still news (where calls pile up), but not a call to switch.
    calm = (await center.current(store)).mode is not center.Mode.INCIDENT
    parts = ", ".join(f"{r.category} {r.calls} (baseline {r.baseline:g})" for r in surging)
    alarmed = await raise_alarm(
        store,
        None,
        "surge",
        f"{'surge: consider incident mode' if calm else 'surge'}: {parts}",
        once=store.keys.surge_alerted(window_of(now, config)),
        ttl=_WEEK_S,
    )
    if alarmed and calm and config.modes.surge.auto_switch:
        request = center.ModeIn(
            mode=center.Mode.INCIDENT, name=f"Surge {datetime.now(UTC):%Y-%m-%d %H:%M}", reason=parts
        )
        await center.switch(store, config, request, "surge-detector", keep_report=keep_report)
