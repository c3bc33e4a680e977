"""Which crew should go: ranked for one incident, or a whole plan for many.

A crew can go if its kind works the incident's category, it has every capability the incident needs
and it is on shift. Among those, the cost is the drive (from its fresh position, else its base) plus
`dispatch.load_penalty_km` for every job it already has, with a small premium for a less preferred
kind. A plan for many incidents solves the assignment exactly (scipy's linear_sum_assignment) over
"slots": each crew's k-th new job costs k more jobs of load, so work spreads over crews.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import msgspec
import numpy as np
from scipy.optimize import linear_sum_assignment

from dispatch.crews import Crew, Roster, roster
from dispatch.driving import Stop, length_m, order
from dispatch.work import stops_of
from geo.point import Point
from incident.config import Category, Priority, SurgeConfig
from incident.records import Incident
from incident.store import Store

UNKNOWN_DISTANCE_KM = 25.0  # a crew whose whereabouts are unknown is ranked as if this far
KIND_PREMIUM = 0.25  # each step down a category's list of crew kinds costs this much more per km
_PRIORITY_BONUS_KM = {Priority.P1: 400.0, Priority.P2: 300.0, Priority.P3: 200.0, Priority.P4: 100.0}
_INFEASIBLE = 1e9


class Candidate(msgspec.Struct, kw_only=True):
    crew_id: str
    name: str
    kind: str
    cost_km: float  # lower is better: drive plus load, as explained in `reason`
    distance_m: float | None
    eta_minutes: float | None
    load: int
    reason: str


class Recommendation(msgspec.Struct, kw_only=True):
    ticket: str
    candidates: list[Candidate]  # best first
    excluded: dict[str, int]  # why other crews could not go, with how many


class PlannedCrew(msgspec.Struct, kw_only=True):
    crew_id: str
    tickets: list[str]  # in driving order (a job's incidents together)
    length_m: float


class Plan(msgspec.Struct, kw_only=True):
    assignments: list[PlannedCrew]
    unassigned: dict[str, str]  # ticket → why no crew could take it
    cost_km: float


@dataclass(frozen=True, slots=True)
class _Fit:
    crew: Crew
    point: Point | None
    rank: int  # position of the crew's kind in the category's list


def eligible(
    config: SurgeConfig, everyone: Roster, category: Category, needs: list[str], now: datetime
) -> tuple[list[_Fit], dict[str, int]]:
    """The crews that can go (kind, capabilities, shift, room), and how many cannot, by why.

    Run for every recommendation over every crew, so the cheap, most selective test comes first.
    """
    local = now.astimezone(config.zone).time()
    rank_of = {str(kind): rank for rank, kind in enumerate(category.crews)}
    need = frozenset(needs)
    room = config.dispatch.max_jobs_per_crew
    fresh_after = now.timestamp() - config.dispatch.position_stale_minutes * 60
    fits = []
    wrong_kind = missing = off_shift = full = 0
    for crew in everyone.crews.values():
        rank = rank_of.get(crew.kind)
        if rank is None:
            wrong_kind += 1
        elif need and not need.issubset(crew.capabilities):
            missing += 1
        elif not crew.on_shift(local):
            off_shift += 1
        elif everyone.load.get(crew.id, 0) >= room:
            full += 1
        else:
            position = everyone.positions.get(crew.id)
            fresh = position is not None and position.at.timestamp() >= fresh_after
            fits.append(_Fit(crew, position.point if fresh and position else crew.base, rank))
    excluded = {"wrong kind": wrong_kind, "missing capability": missing, "off shift": off_shift, "full": full}
    return fits, {k: v for k, v in excluded.items() if v}


def _km(a: Point | None, b: Point | None) -> float | None:
    if a is None or b is None:
        return None
    kx = math.cos(math.radians((a.lat + b.lat) / 2)) * 111.195
    return math.hypot((a.lon - b.lon) * kx, (a.lat - b.lat) * 111.195)


async def recommend(
    store: Store, config: SurgeConfig, incident: Incident, *, limit: int = 5
) -> Recommendation:
    """The best crews for `incident`, with the reason for each."""
    category = config.category(incident.category)
    now = datetime.now(UTC)
    if category is None or not category.crews:
        return Recommendation(ticket=incident.ticket, candidates=[], excluded={"not crew work": 1})
    everyone = await roster(store, with_heard=False)
    fits, excluded = eligible(config, everyone, category, incident.needs, now)
    speed = config.dispatch.speed_kmh
    scored = []
    for fit in fits:
        km = _km(fit.point, incident.location)
        load = everyone.load.get(fit.crew.id, 0)
        drive = km if km is not None else UNKNOWN_DISTANCE_KM
        cost = drive * (1 + KIND_PREMIUM * fit.rank) + load * config.dispatch.load_penalty_km
        scored.append((cost, fit, km, load))
    scored.sort(key=lambda row: (row[0], row[1].crew.id))
    candidates = []
    for cost, fit, km, load in scored[:limit]:
        where = f"{km:.1f} km away (~{km / speed * 60:.0f} min)" if km is not None else "whereabouts unknown"
        choice = "first choice" if fit.rank == 0 else f"choice {fit.rank + 1}"
        has = f"; has {', '.join(incident.needs)}" if incident.needs else ""
        candidates.append(
            Candidate(
                crew_id=fit.crew.id,
                name=fit.crew.name,
                kind=fit.crew.kind,
                cost_km=round(cost, 2),
                distance_m=round(km * 1000, 1) if km is not None else None,
                eta_minutes=round(km / speed * 60, 1) if km is not None else None,
                load=load,
                reason=f"{fit.crew.kind} ({choice}), {where}, {load} job{'s' * (load != 1)} already{has}",
            )
        )
    return Recommendation(ticket=incident.ticket, candidates=candidates, excluded=excluded)


async def plan(store: Store, config: SurgeConfig, incidents: list[Incident]) -> Plan:
    """An assignment of these incidents (jobs kept whole) to the crews that can take them."""
    everyone = await roster(store, with_heard=False)
    return plan_for(config, everyone, incidents, datetime.now(UTC))


def plan_for(config: SurgeConfig, everyone: Roster, incidents: list[Incident], now: datetime) -> Plan:
    units = stops_of(incidents)
    unassigned: dict[str, str] = {}
    rows: list[tuple[Stop, list[Incident], list[_Fit]]] = []
    crews: dict[str, _Fit] = {}
    for stop, members in units:
        lead = members[0]
        category = config.category(lead.category)
        if category is None or not category.crews:
            for i in members:
                unassigned[i.ticket] = "not crew work"
            continue
        needs = sorted({n for i in members for n in i.needs})
        fits, _ = eligible(config, everyone, category, needs, now)
        if not fits:
            for i in members:
                unassigned[i.ticket] = "no crew on shift of the right kind with the capabilities"
            continue
        rows.append((stop, members, fits))
        for fit in fits:
            crews[fit.crew.id] = fit
    crew_ids = sorted(crews)
    if not rows or not crew_ids:
        return Plan(assignments=[], unassigned=unassigned, cost_km=0.0)
    dispatch = config.dispatch
    index_of = {c: i for i, c in enumerate(crew_ids)}
    # Which crews can take each row, and at what premium for a less preferred kind.
    rank = np.full((len(rows), len(crew_ids)), -1.0)
    for r, (_, _, fits) in enumerate(rows):
        for fit in fits:
            rank[r, index_of[fit.crew.id]] = fit.rank
    eligible_rows = (rank >= 0).sum(axis=0)
    load = np.array([everyone.load.get(c, 0) for c in crew_ids])
    # Each crew gets a column per job it could still take (never more than rows it can do).
    slots = np.minimum(np.maximum(dispatch.max_jobs_per_crew - load, 0), eligible_rows)
    column_crew = np.repeat(np.arange(len(crew_ids)), slots)
    column_k = np.concatenate([np.arange(n) for n in slots]) if slots.sum() else np.zeros(0, dtype=int)
    columns = [(crew_ids[c], int(k)) for c, k in zip(column_crew, column_k, strict=True)]
    km = _distance_matrix([stop.point for stop, _, _ in rows], [crews[c].point for c in crew_ids])
    bonus = np.array(
        [
            _PRIORITY_BONUS_KM[min((i.priority for i in members), key=list(Priority).index)]
            for _, members, _ in rows
        ]
    )
    drive = km * (1 + KIND_PREMIUM * np.maximum(rank, 0))
    cost = (
        drive[:, column_crew]
        + ((load[column_crew] + column_k) * dispatch.load_penalty_km)[None, :]
        - bonus[:, None]
    )
    cost[rank[:, column_crew] < 0] = _INFEASIBLE
    if cost.shape[1] == 0:
        for _, members, _ in rows:
            for i in members:
                unassigned[i.ticket] = "every crew that could take it is full"
        return Plan(assignments=[], unassigned=unassigned, cost_km=0.0)
    chosen_rows, chosen_cols = linear_sum_assignment(cost)
    per_crew: dict[str, list[int]] = {}
    total = 0.0
    taken = set()
    for r, j in zip(chosen_rows, chosen_cols, strict=True):
        if cost[r, j] >= _INFEASIBLE / 2:
            continue
        taken.add(int(r))
        per_crew.setdefault(columns[j][0], []).append(int(r))
    assignments = []
    for crew_id, row_ids in sorted(per_crew.items()):
        start = crews[crew_id].point
        ordered = order(start, [rows[r][0] for r in row_ids])
        unit_of = {rows[r][0].key: rows[r][1] for r in row_ids}
        route_m = length_m(start, ordered)
        total += route_m / 1000
        assignments.append(
            PlannedCrew(
                crew_id=crew_id,
                tickets=[i.ticket for stop in ordered for i in unit_of[stop.key]],
                length_m=round(route_m, 1),
            )
        )
    for r, (_, members, _) in enumerate(rows):
        if r not in taken:
            for i in members:
                unassigned[i.ticket] = "every crew that could take it is full"
    return Plan(assignments=assignments, unassigned=unassigned, cost_km=round(total, 2))


def _distance_matrix(stops: list[Point | None], crews: list[Point | None]) -> np.ndarray:
    """Kilometres from every crew to every stop; unknown ends count as UNKNOWN_DISTANCE_KM."""

    def coords(points: list[Point | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        known = np.array([p is not None for p in points])
        lat = np.array([p.lat if p else 0.0 for p in points])
        lon = np.array([p.lon if p else 0.0 for p in points])
        return lat, lon, known

    slat, slon, sknown = coords(stops)
    clat, clon, cknown = coords(crews)
    kx = math.cos(math.radians(float(np.mean(slat[sknown])) if sknown.any() else 43.0)) * 111.195
    km = np.hypot((slon[:, None] - clon[None, :]) * kx, (slat[:, None] - clat[None, :]) * 111.195)
    km[~sknown, :] = UNKNOWN_DISTANCE_KM
    km[:, ~cknown] = UNKNOWN_DISTANCE_KM
    return cast(np.ndarray, km)
