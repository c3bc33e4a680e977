"""Server-rendered pages. For now the front page, which says what this server is."""

from __future__ import annotations

from quart import Blueprint, render_template
from quart_schema import hide

from incident import __version__

blueprint = Blueprint("pages", __name__)


@blueprint.get("/")
@hide
async def index() -> str:
    """The front page: which center this is and where the API is described."""
    return await render_template("index.html", version=__version__)
