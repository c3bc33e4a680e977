"""Turn a msgspec ValidationError into a path and a message a person can act on.

msgspec reports the location of a bad value as a JSONPath-like suffix (`- at `$.a[0].b``) and names
missing or unknown keys in backquotes; the config decoder maps the path to a YAML line, and the API
names it as the offending field. Both read it through this one function.

Also the checks of values a type alone lets through but Redis or the calendar refuses: event ids
(`is_stream_id`) and times (`in_calendar`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

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


_STREAM_ID = re.compile(r"([0-9]{1,20})(?:-([0-9]{1,20}))?")
_U64_MAX = 2**64 - 1


def is_stream_id(text: str, *, whole: bool = True) -> bool:
    """Whether Redis takes `text` as a stream entry id to read after: `<milliseconds>-<sequence>`.

    Each part an unsigned 64-bit number in ASCII digits (regex digits and `str.isdigit` also take other
    scripts' digits, which Redis refuses), and not the largest id, after which nothing can come (Redis
    refuses that too). With `whole=False` the milliseconds alone will do.
    """
    match = _STREAM_ID.fullmatch(text)
    if match is None or (whole and match.group(2) is None):
        return False
    millis, sequence = int(match.group(1)), int(match.group(2) or 0)
    return millis <= _U64_MAX and sequence <= _U64_MAX and (millis, sequence) != (_U64_MAX, _U64_MAX)


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
OUT_OF_CALENDAR = "a time between 1970 and 9999 (in UTC)"


def in_calendar(moment: datetime) -> bool:
    """Whether a time a client gave can be kept: from 1970 on, and still a date once in UTC.

    An offset can carry 0001-01-01 or 9999-12-31 past either end of the calendar, which Python finds
    only when it converts the time to UTC: where it was stored, that was a 500.
    """
    try:
        return moment.astimezone(UTC) >= EARLIEST
    except OverflowError:
        return False
