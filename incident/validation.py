"""Turn a msgspec ValidationError into a path and a message a person can act on.

msgspec reports the location of a bad value as a JSONPath-like suffix (`- at `$.a[0].b``) and names
missing or unknown keys in backquotes; the config decoder maps the path to a YAML line, and the API
names it as the offending field. Both read it through this one function.
"""

from __future__ import annotations

import re

import msgspec

_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_NAMED_KEY = re.compile(r"^Object (?:missing required|contains unknown) field `(?P<key>[^`]+)`")
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[(?:'|\")?([^\]'\"]+)(?:'|\")?\]")

Path = list[str | int]


def split_error(error: msgspec.ValidationError | str) -> tuple[Path, str]:
    """Return (path to the offending value, message without the location suffix).

    For a missing or unknown key, the path ends with that key's name, so the caller can point at it.

    >>> split_error("Expected `int`, got `str` - at `$.intake[0].max`")
    (['intake', 0, 'max'], 'Expected `int`, got `str`')
    """
    text = str(error)
    path: Path = []
    match = _AT.search(text)
    if match:
        text = text[: match.start()]
        for name, index, quoted in _STEP.findall(match.group("path")):
            if index:
                path.append(int(index))
            else:
                path.append(name or quoted)
    named = _NAMED_KEY.match(text)
    if named:
        path.append(named.group("key"))
    return path, text


def dotted(path: Path) -> str:
    """Render a path the way a person writes it: `categories[2].code`."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out or "(top level)"
