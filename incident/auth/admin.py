"""Administration pages: API tokens for partner systems, crew devices and scripts."""

from __future__ import annotations

from quart import Blueprint, Response, redirect, render_template, request
from quart_schema import hide

from incident.auth import accounts
from incident.auth.access import current
from incident.auth.roles import Role
from incident.web import store

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
TOKEN_ROLES = [role for role in Role if role is not Role.ADMIN]


async def _page(status: int = 200, *, secret: str | None = None, error: str | None = None) -> Response:
    body = await render_template(
        "admin_tokens.html",
        tokens=await accounts.list_tokens(store()),
        roles=TOKEN_ROLES,
        secret=secret,
        error=error,
    )
    return Response(body, status, content_type="text/html; charset=utf-8")


@blueprint.get("/tokens")
@hide
async def tokens_page() -> Response:
    """The list of API tokens, and the form to create one."""
    return await _page()


@blueprint.post("/tokens")
@hide
async def create_token() -> Response:
    """Create a token; its secret is shown on this one page and never again."""
    form = await request.form
    try:
        role = Role(form.get("role", ""))
        _, secret = await accounts.create_token(
            store(),
            form.get("name", ""),
            role,
            crew_id=form.get("crew_id") or None,
            actor=current().name or "?",
        )
    except ValueError:
        return await _page(422, error="Choose a role.")
    except accounts.AccountError as error:
        return await _page(422, error=str(error))
    return await _page(201, secret=secret)


@blueprint.post("/tokens/<name>/revoke")
@hide
async def revoke_token(name: str) -> Response:
    """Revoke a token: it stops working on its next request."""
    try:
        await accounts.revoke_token(store(), name, actor=current().name or "?")
    except accounts.AccountError as error:
        return await _page(404, error=str(error))
    return redirect("/admin/tokens", 303)  # type: ignore[return-value]
