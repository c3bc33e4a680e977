"""What a crew's phone shows for each stop.

The route, with what the caller said, the answers that matter on scene, and for a van the ride
(party, pickup window, where to take them).
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from dispatch import stations, transport
from dispatch.crews import Crew
from dispatch.work import RouteStop, RouteView, route_view
from geo.point import Point
from incident.config import SurgeConfig
from incident.incidents import select_calls, select_many
from incident.records import Call, Incident
from incident.store import Store


class Answer(msgspec.Struct, kw_only=True):
    ask: str
    answer: str | int | float | bool


class RideCard(msgspec.Struct, kw_only=True):
    id: str
    status: transport.RequestStatus
    party: int
    wheelchairs: int
    oxygen: bool
    pets: bool
    pickup_window: tuple[datetime, datetime] | None
    station: str
    station_name: str
    station_address: str | None
    station_point: Point


class Card(RouteStop, kw_only=True):
    said: str  # the first caller's words
    answers: list[Answer]  # the key questions the callers answered
    callback: str | None  # only when the incident asks the crew to call ahead
    ride: RideCard | None


class CardRoute(msgspec.Struct, kw_only=True):
    crew_id: str
    start: Point | None
    stops: list[Card]
    length_m: float


async def crew_cards(store: Store, config: SurgeConfig, crew: Crew) -> CardRoute:
    route: RouteView = await route_view(store, config, crew)
    tickets = [stop.tickets[0] for stop in route.stops]
    leads = {i.ticket: i for i in await select_many(store, tickets)}
    calls = {
        c.ticket: c for c in await select_calls(store, [leads[t].calls[0] for t in tickets if t in leads])
    }
    cards = []
    for stop in route.stops:
        lead = leads.get(stop.tickets[0])
        call = calls.get(stop.tickets[0])
        ride = await transport.ride_of(store, stop.tickets[0])
        cards.append(
            Card(
                **msgspec.structs.asdict(stop),
                said=call.narrative if call else "",
                answers=_answers(config, lead, call),
                callback=call.callback_number if call and lead and lead.call_ahead else None,
                ride=await _ride_card(store, config, ride) if ride else None,
            )
        )
    return CardRoute(crew_id=route.crew_id, start=route.start, stops=cards, length_m=route.length_m)


def _answers(config: SurgeConfig, incident: Incident | None, call: Call | None) -> list[Answer]:
    category = config.category(incident.category) if incident else None
    if category is None or call is None:
        return []
    return [Answer(ask=q.ask, answer=call.answers[q.id]) for q in category.questions if q.id in call.answers]


async def _ride_card(store: Store, config: SurgeConfig, ride: transport.TransportRequest) -> RideCard:
    destination = await stations.station(store, config, ride.station)
    return RideCard(
        id=ride.id,
        status=ride.status,
        party=ride.party,
        wheelchairs=ride.wheelchairs,
        oxygen=ride.oxygen,
        pets=ride.pets,
        pickup_window=transport.request_view(config, ride).pickup_window,
        station=ride.station,
        station_name=destination.name,
        station_address=destination.address,
        station_point=destination.point,
    )
