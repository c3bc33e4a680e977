"""Enforcing the access table on every request: who is asking, may they, and is the form genuine."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from quart import Quart, Response, current_app, g, render_template, request

from incident.auth import audit, sessions
from incident.auth.accounts import token_for
from incident.auth.policy import ACCESS, Rule
from incident.auth.roles import Role
from incident.config import SurgeConfig
from incident.problems import Problem, problem_response
from incident.store import Store
from incident.web import store, surge_config

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
AUDITED_DENIALS_PER_MINUTE = 20  # per address


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making the request."""

    name: str | None
    role: Role | None
    crew_id: str | None
    via: str  # "anonymous", "session" or "token"
    session_id: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.role is not None


ANONYMOUS = Principal(None, None, None, "anonymous")


class Denied(Exception):
    """The request may not go on; carries the response to send."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def own_crew() -> str | None:
    """The crew id when a crew is asking (it sees only its own work), else None."""
    principal = current()
    return principal.crew_id if principal.role is Role.CREW else None


def current() -> Principal:
    """The principal of the current request (anonymous outside the access hook's reach)."""
    return getattr(g, "principal", ANONYMOUS)


def check_routes(app: Quart) -> None:
    """Refuse to build an app with a route the access table does not declare, or a stale entry."""
    served = {rule.endpoint for rule in app.url_map.iter_rules()}
    undeclared = sorted(served - ACCESS.keys())
    if undeclared:
        raise RuntimeError(f"routes with no entry in incident/auth/policy.py ACCESS: {', '.join(undeclared)}")
    stale = sorted(ACCESS.keys() - served - {"static"})
    if stale:
        raise RuntimeError(f"ACCESS entries for routes the app does not serve: {', '.join(stale)}")


def install(app: Quart) -> None:
    """Register the hook that resolves the principal and applies the table to each request."""
    check_routes(app)
    app.before_request(_enforce)
    app.after_request(_session_cookies)


async def _enforce() -> Response | None:
    endpoint = request.endpoint
    if endpoint is None:
        return None  # no such route: the 404 handler answers
    rule = ACCESS[endpoint]
    try:
        g.principal = principal = await _resolve(rule)
        if not rule.public:
            assert rule.roles is not None, "non-public rules name roles"
            if not principal.signed_in:
                raise Denied(401, "sign-in required")
            if principal.role not in rule.roles:
                raise Denied(403, f"role {principal.role} may not use this")
        if not rule.signed:  # a signed webhook carries no cookie to abuse
            await _check_csrf(principal)
    except Denied as denied:
        return await _deny(rule, denied)
    return None


async def _resolve(rule: Rule) -> Principal:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if rule.api_key and rule.roles is not None and scheme.lower() != "bearer":
        # Open311 apps send their key as a form field (never read from the query string, which logs
        # keep); reading needs no key, so a stale one left in a read is not held against it.
        given = (await request.form).get("api_key") if request.method == "POST" else None
        if given:
            scheme, secret = "bearer", given
    principal, stale = await from_credentials(
        store(), surge_config(), scheme, secret, request.cookies, secure=request.is_secure
    )
    if stale:
        g.drop_session_cookie = True
    return principal


@dataclass(frozen=True)
class Held:
    """The credential a long request (an event stream) was let in with, to check again while it runs."""

    endpoint: str
    scheme: str
    secret: str
    cookies: dict[str, str]
    secure: bool


def held() -> Held:
    """The current request's credential, kept for a stream to re-check."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    return Held(request.endpoint or "", scheme, secret, dict(request.cookies), request.is_secure)


async def still_holds(store: Store, config: SurgeConfig, credential: Held) -> bool:
    """Whether the credential still lets its holder use the route: not revoked, disabled or demoted."""
    rule = ACCESS[credential.endpoint]
    if rule.public:
        return True
    try:
        principal, _ = await from_credentials(
            store, config, credential.scheme, credential.secret, credential.cookies, secure=credential.secure
        )
    except Denied:
        return False
    return principal.signed_in and rule.roles is not None and principal.role in rule.roles


async def from_credentials(
    store: Store, config: SurgeConfig, scheme: str, secret: str, cookies: Mapping[str, str], *, secure: bool
) -> tuple[Principal, bool]:
    """Who a bearer token or session cookie says is asking, and whether the session cookie is stale.

    Raises Denied for a bearer token that is unknown or revoked.
    """
    if scheme.lower() == "bearer":  # other schemes (a proxy's Basic auth) are not ours to judge
        token = await token_for(store, secret.strip())
        if token is None:
            raise Denied(401, "unknown or revoked token")
        return Principal(token.name, token.role, token.crew_id, "token"), False
    session_id = sessions.read_cookie(cookies, sessions.SESSION, secure=secure)
    if session_id:
        security = config.security
        session = await sessions.resume(
            store,
            session_id,
            idle_seconds=security.session_idle_minutes * 60,
            max_seconds=security.session_max_hours * 3600,
        )
        if session is not None:
            return Principal(session.user, session.role, session.crew_id, "session", session_id), False
        return ANONYMOUS, True
    return ANONYMOUS, False


async def _check_csrf(principal: Principal) -> None:
    """State-changing requests carried by a cookie must prove they come from our own pages."""
    if request.method in SAFE_METHODS or principal.via == "token":
        return
    if principal.via == "session":
        bindings = [principal.session_id]
    elif request.mimetype == "application/json":
        return  # anonymous JSON: no ambient credential to abuse, and browsers preflight it cross-site
    else:
        secure = request.is_secure
        bindings = [sessions.read_cookie(request.cookies, sessions.PRE_SESSION, secure=secure)]
        if getattr(g, "drop_session_cookie", False):
            # A form rendered while a session lived (ended since, on the server) is bound to that
            # session's cookie, which the browser still sends and no other site can read.
            bindings.append(sessions.read_cookie(request.cookies, sessions.SESSION, secure=secure))
    presented = request.headers.get("X-CSRF-Token")
    if presented is None and request.mimetype != "application/json":
        presented = (await request.form).get("csrf_token")
    secret = current_app.secret_key or ""
    if not any(sessions.csrf_valid(secret, binding, presented) for binding in bindings):  # type: ignore[arg-type]
        raise Denied(403, "missing or wrong CSRF token")


async def _deny(rule: Rule, denied: Denied) -> Response:
    principal = getattr(g, "principal", ANONYMOUS)
    now = datetime.now(UTC)
    # Denials are audited, but a flood of them from one address must not fill Redis: past a few a
    # minute they are counted, and the entry that reaches the limit says so.
    address = request.remote_addr or "unknown"
    counter = store().keys.denials(address, int(now.timestamp()) // 60)
    pipe = store().redis.pipeline(transaction=False)
    pipe.incr(counter)
    pipe.expire(counter, 120)
    seen, _ = await pipe.execute()
    if seen <= AUDITED_DENIALS_PER_MINUTE:
        reason = denied.reason
        if seen == AUDITED_DENIALS_PER_MINUTE:
            reason += "; further denials from this address this minute are not recorded"
        await audit.record(
            store(),
            audit.AccessDenied(
                at=now,
                principal=principal.name,
                role=principal.role,
                method=request.method,
                path=request.path,
                status=denied.status,
                reason=reason,
                remote=request.remote_addr,
            ),
        )
    if rule.api_key:  # Open311 answers a missing or wrong key with 403 (in its format: problem_response)
        return problem_response(Problem(403, "Forbidden", f"api_key: {denied.reason}", kind="access-denied"))
    if rule.page:
        # A person gets a page: sent to sign in (and back here after), or a plain refusal (403). A form
        # posted without a sign-in cannot be replayed after one: it gets the sign-in form in place (401).
        # On a page anyone may see, a 401 is a refused credential (a stale bearer token a script keeps
        # sending): signing in would not drop it, and /login itself would send it to /login again.
        if denied.status == 401 and request.method in SAFE_METHODS and not rule.public:
            return Response("", 303, {"Location": f"/login?next={quote(_here(), safe='/')}"})
        if denied.status == 401 and not rule.public:
            page = await render_template("login.html", message=None, next=_here(), name="")
        else:
            page = await render_template("denied.html", reason=denied.reason)
        return Response(page, denied.status, content_type="text/html; charset=utf-8")
    title = "Unauthorized" if denied.status == 401 else "Forbidden"
    headers = {"WWW-Authenticate": 'Bearer realm="stormline"'} if denied.status == 401 else None
    return problem_response(Problem(denied.status, title, denied.reason, kind="access-denied"), headers)


def _here() -> str:
    # Where to come back to after signing in; a form post's target is not a page to return to.
    return request.full_path.rstrip("?") if request.method in SAFE_METHODS else "/"


async def _session_cookies(response: Response) -> Response:
    secure = request.is_secure
    if getattr(g, "drop_session_cookie", False):
        sessions.clear_cookie(response, sessions.SESSION, secure=secure)
    pre = getattr(g, "new_pre_cookie", None)
    if pre:
        sessions.set_cookie(response, sessions.PRE_SESSION, pre, secure=secure)
    return response


def csrf_token() -> str:
    """The CSRF token for forms on the page being rendered (sets a pre-session cookie if needed)."""
    principal = current()
    binding = (
        principal.session_id
        or sessions.read_cookie(request.cookies, sessions.PRE_SESSION, secure=request.is_secure)
        or getattr(g, "new_pre_cookie", None)
    )
    if not binding:
        binding = g.new_pre_cookie = secrets.token_urlsafe(32)
    return sessions.csrf_token(current_app.secret_key or "", binding)  # type: ignore[arg-type]
