"""Charts drawn on the server as SVG geometry (no script): axes with ticks, labels and units."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 48  # room for the y ticks and the time labels


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # what the bar is: the hour, or the category
    value: int


@dataclass(frozen=True)
class Tick:
    at: float  # pixels along the axis
    label: str


@dataclass(frozen=True)
class Chart:
    title: str
    x_title: str  # the axis's name and unit
    y_title: str
    bars: list[Bar]
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM  # the x axis's y
    right: int = WIDTH - RIGHT


def nice_step(top: int, ticks: int = 4) -> int:
    """A round step (1, 2, 5 × 10ⁿ) so that about `ticks` steps reach `top`."""
    rough = max(1.0, top / ticks)
    power = 10 ** math.floor(math.log10(rough))
    return int(next(m * power for m in (1, 2, 5, 10) if m * power >= rough))


def per_hour(title: str, hours: list[tuple[str, int]], zone: ZoneInfo, unit: str) -> Chart:
    """A column per hour (ISO UTC hours in), labelled in the jurisdiction's local time."""
    peak = max((n for _, n in hours), default=0)
    step = nice_step(peak)
    top = max(step, math.ceil(peak / step) * step)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    column = plot_w / max(1, len(hours))
    bars = []
    for index, (hour, count) in enumerate(hours):
        height = plot_h * count / top
        local = datetime.fromisoformat(hour).astimezone(zone)
        bars.append(
            Bar(
                x=round(LEFT + index * column + 1, 1),
                y=round(TOP + plot_h - height, 1),
                width=round(max(1.0, column - 2), 1),
                height=round(height, 1),
                label=local.strftime("%a %d %b %H:%M"),
                value=count,
            )
        )
    every = max(1, math.ceil(len(hours) / 8))  # at most about eight time labels
    x_ticks = [
        Tick(
            at=round(LEFT + index * column + column / 2, 1),
            label=datetime.fromisoformat(hour).astimezone(zone).strftime("%a %H:%M"),
        )
        for index, (hour, _) in enumerate(hours)
        if index % every == 0
    ]
    y_ticks = [
        Tick(at=round(TOP + plot_h - plot_h * v / top, 1), label=str(v)) for v in range(0, top + 1, step)
    ]
    zone_name = zone.key
    return Chart(title, f"Hour starting ({zone_name})", unit, bars, x_ticks, y_ticks)


def ranked(title: str, rows: list[tuple[str, int]], unit: str) -> Chart:
    """Horizontal bars, largest first: how many of each kind."""
    rows = sorted(rows, key=lambda r: -r[1])[:12]
    peak = max((n for _, n in rows), default=0)
    step = nice_step(peak)
    top = max(step, math.ceil(peak / step) * step)
    left = 190  # room for the names
    row_h = 26
    height = TOP + row_h * max(1, len(rows)) + BOTTOM
    plot_w = WIDTH - left - RIGHT
    bars = [
        Bar(
            x=left,
            y=TOP + i * row_h + 3,
            width=round(plot_w * n / top, 1),
            height=row_h - 6,
            label=k,
            value=n,
        )
        for i, (k, n) in enumerate(rows)
    ]
    x_ticks = [Tick(at=round(left + plot_w * v / top, 1), label=str(v)) for v in range(0, top + 1, step)]
    return Chart(
        title,
        unit,
        "",
        bars,
        x_ticks,
        [],
        height=height,
        left=left,
        bottom=height - BOTTOM,
        right=WIDTH - RIGHT,
    )
