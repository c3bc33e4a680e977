"""Sign-in and sign-out pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from quart import Blueprint, Response, render_template, request
from quart_rate_limiter import rate_limit
from quart_schema import hide
from werkzeug.exceptions import HTTPException

from incident import clock
from incident.auth import accounts, audit, navigation, sessions, throttle
from incident.auth.access import current
from incident.web import store, surge_config

blueprint = Blueprint("login_pages", __name__)

# Sign-ins a minute. Per address it is generous, because a whole call center may share one address
# at a shift change; per address and name it is tighter. The per-name back-off does the real work.
LOGINS_PER_ADDRESS = 300
LOGINS_PER_ADDRESS_AND_NAME = 30


def _safe_next(target: str | None) -> str:
    """Only a path on this server: never an open redirect to somewhere else.

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so a path with a tab,
    a newline or a backslash after its first slash can become `//evil`, another host: refused.
    """
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not any(ch == "\\" or ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target)
        and len(target) <= 2000
    ):
        return target
    return "/"


async def _page(status: int, message: str | None = None, next_: str = "/", name: str = "") -> Response:
    body = await render_template("login.html", message=message, next=next_, name=name)
    return Response(body, status, content_type="text/html; charset=utf-8")


@blueprint.get("/login")
@hide
async def login_page() -> Response:
    """The sign-in form."""
    return await _page(200, next_=_safe_next(request.args.get("next")))


async def _address_and_name() -> str:
    # The rate limiter calls this before the route and again after the answer: a body that cannot be
    # read (too big, cut off) must not turn the route's 413 into a 500 then. Keyed by address alone.
    try:
        form = await request.form
    except HTTPException:
        return f"{request.remote_addr}|"
    return f"{request.remote_addr}|{(form.get('username') or '').strip().lower()[:64]}"


@blueprint.post("/login")
@hide
@rate_limit(LOGINS_PER_ADDRESS, timedelta(minutes=1))
@rate_limit(LOGINS_PER_ADDRESS_AND_NAME, timedelta(minutes=1), key_function=_address_and_name)
async def login() -> Response:
    """Check the name and password; start a session. Every outcome is audited."""
    form = await request.form
    name = (form.get("username") or "").strip().lower()[:64]
    password = form.get("password") or ""
    next_ = _safe_next(form.get("next"))
    security = surge_config().security
    db = store()
    now = datetime.now(UTC)
    address = request.remote_addr or "unknown"
    try:
        user = await accounts.select_user(db, accounts.check_name(name))
    except accounts.AccountError:
        user = None
    # Only a real account's name goes into the audit: a password typed into the name field does not.
    audited_name = user.name if user else None
    wait = await throttle.login_attempt(db, name, address, security)
    if wait > 0:
        await audit.record(
            db, audit.LoginFailed(at=now, name=audited_name, remote=address, reason="throttled")
        )
        seconds = int(wait) + 1
        response = await _page(429, f"Too many wrong passwords. Try again in {seconds} seconds.", next_, name)
        response.headers["Retry-After"] = str(seconds)
        return response
    usable = user is not None and not user.disabled
    if not await accounts.verify_password(user.password_hash if user and usable else None, password):
        await audit.record(
            db, audit.LoginFailed(at=now, name=audited_name, remote=address, reason="credentials")
        )
        return await _page(401, "Wrong name or password.", next_, name)
    assert user is not None, "a password only verifies against a real account"
    await throttle.login_succeeded(db, name, address)
    if accounts.needs_rehash(user.password_hash):
        user = await accounts.store_rehash(db, user, password)
    session_id = await sessions.begin(
        db,
        sessions.Session(
            user=user.name,
            role=user.role,
            crew_id=user.crew_id,
            signed_in_at=clock.epoch(),
            account_version=user.version,  # read before the password check: a change since ends it
        ),
        idle_seconds=security.session_idle_minutes * 60,
        max_seconds=security.session_max_hours * 3600,
    )
    await audit.record(db, audit.LoginSucceeded(at=now, user=user.name, remote=address))
    signed_in = _redirect(next_ if next_ != "/" else navigation.home(user.role))
    # A browser-session cookie; the server ends the session on idle or at the shift's length.
    sessions.set_cookie(signed_in, sessions.SESSION, session_id, secure=request.is_secure)
    sessions.clear_cookie(signed_in, sessions.PRE_SESSION, secure=request.is_secure)
    return signed_in


@blueprint.post("/logout")
@hide
async def logout() -> Response:
    """End the session everywhere and return to the sign-in page."""
    principal = current()
    if principal.session_id and principal.name:
        await sessions.end(store(), principal.session_id, principal.name)
        await audit.record(store(), audit.LoggedOut(at=datetime.now(UTC), user=principal.name))
    signed_out = _redirect("/login")
    sessions.clear_cookie(signed_out, sessions.SESSION, secure=request.is_secure)
    return signed_out


def _redirect(location: str) -> Response:
    # 303: after a form post, the browser follows with a GET.
    return Response("", 303, {"Location": location})
