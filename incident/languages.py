"""Which language this request is answered in, and the pages' gettext: `?lang=`, a cookie, the browser.

A resident who picks a language from the menu (`?lang=es`) keeps it in a cookie, so the pages they
open next and the status their page asks for every half minute come in it too.
"""

from __future__ import annotations

from urllib.parse import urlencode

from quart import Quart, Response, g, request

from incident.i18n import Language, choose, english_name, languages, translations

COOKIE = "stormline_lang"
_YEAR = 365 * 24 * 3600


def current() -> Language:
    """This request's language (chosen once per request)."""
    found = getattr(g, "language", None)
    if found is None:
        asked = request.args.get("lang") or request.cookies.get(COOKIE)
        found = g.language = languages()[choose(asked, request.headers.get("Accept-Language"))]
    return found


def gettext(message: str) -> str:
    """`message` in this request's language (English if its catalogue has none)."""
    if not message:
        return ""  # gettext("") is a catalogue's header, never a message (an empty public_message)
    return translations(current().code).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current().code).ngettext(singular, plural, n)


def link_to(code: str) -> str:
    """This page in another language: its query kept, `lang` replaced."""
    kept = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    return "?" + urlencode([*kept, ("lang", code)])


async def _keep_choice(response: Response) -> Response:
    asked = request.args.get("lang")
    if asked in languages() and request.cookies.get(COOKIE) != asked:
        response.set_cookie(COOKIE, asked, max_age=_YEAR, samesite="Lax", secure=request.is_secure)
    return response


def install(app: Quart) -> None:
    """Pages translate with `{{ _("…") }}` / `{% trans %}`, and know their language and direction."""
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    app.jinja_env.filters["language_name"] = english_name  # the language a caller spoke, for staff
    # The config's words in a caller's language, for the agent to read out (agent.html).
    app.jinja_env.filters["in_language"] = lambda text, code: translations(code).gettext(text) if text else ""
    app.context_processor(
        lambda: {"language": current(), "languages": list(languages().values()), "link_to": link_to}
    )
    app.after_request(_keep_choice)
