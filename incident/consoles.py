"""The staff consoles, server-rendered: agent, crew, coordinator and supervisor.

Each console is one page whose small script calls the same JSON API everyone else uses, so a console
can do nothing the API does not allow that person to do.
"""

from __future__ import annotations

from quart import Blueprint, render_template
from quart_schema import hide

from incident import center
from incident.auth import access
from incident.maps import CENTER, StormlineMap, map_parts
from incident.web import public_url, store, surge_config

blueprint = Blueprint("consoles", __name__)


@blueprint.get("/crew")
@hide
async def crew() -> str:
    """The crew's phone: its jobs in driving order, on a map, with one tap each to say where it is."""
    principal = access.current()
    figure = StormlineMap(location=CENTER, zoom_start=13, tiles=None, zoom_control=True)
    return await render_template("crew.html", crew_id=principal.crew_id or "", **map_parts(figure))


@blueprint.get("/supervisor")
@hide
async def supervisor() -> str:
    """The supervisor's wall screen: mode, surge, queues, overdue work, crews and alerts, kept live."""
    return await render_template("supervisor.html", modes=[m.value for m in center.Mode])


@blueprint.get("/coordinator")
@hide
async def coordinator() -> str:
    """The coordinator's board: warming stations, rides and van runs, referrals, overdue items."""
    return await render_template(
        "coordinator.html", sites=surge_config().warming.sites, public_url=public_url()
    )


@blueprint.get("/agent")
@hide
async def agent() -> str:
    """The agent console: a phone call from "hello" to the ticket number, without the mouse."""
    config = surge_config()
    state = await center.current(store())
    profile = center.profile(config, state.mode)
    offered = [config.category(code) for code in profile.categories]
    figure = StormlineMap(location=CENTER, zoom_start=12, tiles=None, zoom_control=False)
    return await render_template(
        "agent.html",
        categories=[c for c in offered if c is not None],
        scripts=profile.scripts,
        screen=config.triage.screen,
        handoff_steps=config.handoff.steps,
        **map_parts(figure),
    )
