"""Residents' words in their language: the translation catalogues, and which language a request gets.

Catalogues are gettext `.po` files under `incident/data/locale/<language>/LC_MESSAGES/messages.po`,
read at start (no compiled `.mo` files to keep in step). English is the source language; a message a
catalogue leaves empty is shown in English, so a city can add a language and fill it in over time.
`messages.pot` is the template (`pybabel extract -F babel.cfg -o incident/data/locale/messages.pot .`).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml
from babel import Locale, UnknownLocaleError, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = Path(__file__).resolve().parent / "data" / "locale"
SOURCE = "en"


@dataclass(frozen=True)
class Language:
    """A language residents may read Stormline's public pages in."""

    code: str
    name: str  # in the language itself, for the language menu
    rtl: bool


def N_(message: str) -> str:
    """Mark a message kept in a table for translation where it is shown, in the reader's language."""
    return message


@functools.cache
def languages() -> dict[str, Language]:
    """English and every language with a catalogue, by code."""
    codes = [SOURCE, *sorted(path.name for path in LOCALES.iterdir() if (path / "LC_MESSAGES").is_dir())]
    found = {}
    for code in codes:
        locale = Locale.parse(code)
        found[code] = Language(code, locale.get_display_name(locale) or code, locale.text_direction == "rtl")
    return found


@functools.cache
def translations(code: str) -> NullTranslations:
    """The catalogue of `code` (empty messages fall back to English); English itself has none."""
    path = LOCALES / code / "LC_MESSAGES" / "messages.po"
    if code == SOURCE or not path.is_file():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=code)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


# Where surge_config.yaml keeps words said to residents and callers (a `*` is any key or list item):
# category names, the questions agents ask, the screen's questions, each mode's public message and
# the agents' scripts. A city that adds one extracts again and fills in its translation.
CONFIG_WORDS = (
    ("categories", "*", "name"),
    ("categories", "*", "questions", "*", "ask"),
    ("triage", "screen", "*", "ask"),
    ("modes", "*", "public_message"),
    ("modes", "*", "scripts", "*"),
)


def extract_config(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel's extractor for surge_config.yaml (babel.cfg): the config's words, each with its line."""
    root = yaml.compose(fileobj.read().decode("utf-8"), Loader=yaml.SafeLoader)
    for path in CONFIG_WORDS:
        for node in _nodes(root, path):
            if isinstance(node, yaml.ScalarNode) and node.value.strip():
                yield node.start_mark.line + 1, "", node.value, []


def _nodes(node: yaml.Node | None, path: tuple[str, ...]) -> Iterator[yaml.Node]:
    if node is None or not path:
        if node is not None:
            yield node
        return
    step, rest = path[0], path[1:]
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if step in ("*", key.value):
                yield from _nodes(value, rest)
    elif isinstance(node, yaml.SequenceNode) and step == "*":
        for item in node.value:
            yield from _nodes(item, rest)


def english_name(code: str) -> str:
    """A language's name for staff ("Spanish" for es, "Spanish (Mexico)" for es-MX); the code if unknown."""
    try:
        return Locale.parse(code.replace("-", "_")).get_display_name(SOURCE) or code
    except (ValueError, UnknownLocaleError):
        return code


def choose(asked: str | None, accept_language: str | None) -> str:
    """The language to answer in: the one asked for by name, else the browser's best we have."""
    known = languages()
    if asked and asked in known:
        return asked
    wanted = [part.split(";")[0].strip().replace("-", "_") for part in (accept_language or "").split(",")]
    return negotiate_locale([w for w in wanted if w and w != "*"], list(known), sep="_") or SOURCE
