"""Administration pages: people's accounts and crews, and API tokens for partner systems and devices.

The command line (`stormline users …`, `stormline tokens …`) does the same; the first admin comes
from it.
"""

from __future__ import annotations

from quart import Blueprint, Response, redirect, render_template, request
from quart_schema import hide

from incident.auth import accounts
from incident.auth.access import current
from incident.auth.roles import PEOPLE, Role
from incident.config import CrewKind
from incident.web import store, surge_config

blueprint = Blueprint("admin_pages", __name__, url_prefix="/admin")
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


# ---- people and crews ----------------------------------------------------------------------------


async def _people(status: int = 200, *, done: str | None = None, error: str | None = None) -> Response:
    config = surge_config()
    body = await render_template(
        "admin_people.html",
        users=await accounts.list_users(store()),
        roles=sorted(PEOPLE),
        kinds=list(CrewKind),
        capabilities=config.dispatch.capabilities,
        min_length=config.security.min_password_length,
        done=done,
        error=error,
    )
    return Response(body, status, content_type="text/html; charset=utf-8")


@blueprint.get("/people")
@hide
async def people_page() -> Response:
    """People's accounts (create, reset a password, disable) and crews (create, change)."""
    return await _people()


@blueprint.post("/people")
@hide
async def create_person() -> Response:
    """Create a person's account; a crew member's is bound to their crew."""
    form = await request.form
    try:
        user = await accounts.create_user(
            store(),
            form.get("name", ""),
            Role(form.get("role", "")),
            form.get("password", ""),
            crew_id=form.get("crew_id") or None,
            actor=current().name or "?",
            min_length=surge_config().security.min_password_length,
        )
    except ValueError:
        return await _people(422, error="Choose a role.")
    except accounts.AccountError as error:
        return await _people(422, error=str(error))
    return await _people(201, done=f"Account {user.name} ({user.role}) created.")


@blueprint.post("/people/<name>")
@hide
async def change_person(name: str) -> Response:
    """A new password, or the account disabled or enabled again; its sessions end at once."""
    form = await request.form
    actor = current().name or "?"
    try:
        if form.get("password"):
            await accounts.change_user(
                store(),
                name,
                actor=actor,
                password=form["password"],
                min_length=surge_config().security.min_password_length,
            )
            done = f"New password set for {name}; tell them in person, not by email."
        elif form.get("disabled") in ("yes", "no"):
            await accounts.change_user(store(), name, actor=actor, disabled=form["disabled"] == "yes")
            done = f"{name} {'disabled' if form['disabled'] == 'yes' else 'enabled'}."
        else:
            return await _people(422, error="Give a new password, or disable or enable the account.")
    except accounts.AccountError as error:
        return await _people(422, error=str(error))
    return await _people(200, done=done)
