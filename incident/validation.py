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
from typing import Annotated, Any

import msgspec

_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_NAMED_KEY = re.compile(r"^Object (?:missing required|contains unknown) field `(?P<key>[^`]+)`")
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[(?:'|\")?([^\]'\"]+)(?:'|\")?\]")

Path = list[str | int]

# The one rule for every id a person or an import names (crews, agencies' services and organizations):
# letters, digits, "-" and "_", starting with a letter or digit, at most 64. Such an id is safe in a
# Redis key, a URL path and a page, and can always be read back.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
Identifier = Annotated[str, msgspec.Meta(pattern=ID_PATTERN, examples=["forestry-3"])]
_ID = re.compile(ID_PATTERN)


def is_identifier(value: str) -> bool:
    """Whether `value` meets ID_PATTERN."""
    return bool(_ID.fullmatch(value))


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


# Characters XML 1.0 forbids (C0 controls but tab and line ends, U+FFFE, U+FFFF, lone surrogates):
# they carry no meaning in what a person types, and one of them makes a CAP or Open311 document
# unparseable for every reader. Removed where text enters, and again by every XML writer.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# The same characters written as JSON escapes (raw control characters are not valid JSON at all).
_ESCAPED_FORBIDDEN = re.compile(rb"\\u(?:00[01][0-9a-fA-F]|[fF]{3}[eEfF]|[dD][89a-fA-F][0-9a-fA-F]{2})")


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 forbids."""
    return _XML_FORBIDDEN.sub("", text)


def may_hold_forbidden(body: bytes | str) -> bool:
    """Whether a JSON body may carry such a character (one escaped); a quick test before a full clean."""
    return bool(_ESCAPED_FORBIDDEN.search(body.encode() if isinstance(body, str) else body))


def cleaned(value: Any) -> Any:
    """A decoded JSON value with the characters XML forbids taken out of every string and key."""
    if isinstance(value, str):
        return xml_safe(value)
    if isinstance(value, list):
        return [cleaned(item) for item in value]
    if isinstance(value, dict):
        return {xml_safe(key): cleaned(item) for key, item in value.items()}
    return value


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
