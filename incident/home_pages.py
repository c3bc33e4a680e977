"""Server-rendered pages: the front page, and the mode banner every page carries."""

from __future__ import annotations

import logging
from typing import Any

from quart import Blueprint, render_template
from quart_schema import hide
from redis.exceptions import RedisError

from incident import __version__, center
from incident.auth import access
from incident.languages import gettext
from incident.web import store, surge_config

blueprint = Blueprint("home_pages", __name__)
log = logging.getLogger("stormline.pages")


@blueprint.app_context_processor
async def mode_banner() -> dict[str, Any]:
    """The center's mode and banner, so every screen opens with them (banner.js keeps them current)."""
    try:
        state = await center.current(store())
    except RedisError:
        # A page must still render when Redis is away; the banner script fills it in once it is back.
        log.warning("mode banner: Redis unavailable")
        return {"center_mode": None, "center_banner": "", "incident_name": None, "drill_name": None}
    profile = center.profile(surge_config(), state.mode)
    if access.current().signed_in:
        return {
            "center_mode": state.mode.value,
            "center_banner": profile.banner,
            "incident_name": state.activation.name if state.activation else None,
            "drill_name": state.drill.name if state.drill else None,
        }
    # Residents read the public message, not the staff's instruction, and never of a drill.
    message = gettext(profile.public_message) if state.mode is not center.Mode.NORMAL else ""
    return {
        "center_mode": state.mode.value,
        "center_banner": message,
        "incident_name": None,
        "drill_name": None,
    }


@blueprint.get("/")
@hide
async def index() -> str:
    """The front page: where to start (a person signed in sees their consoles)."""
    return await render_template("index.html", version=__version__)
