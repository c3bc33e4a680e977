"""Open311 GeoReport v2's two wire formats: the same records as JSON or as XML, and its error lists.

The spec (wiki.open311.org/GeoReport_v2) gives each response as a list of flat records: in JSON an
array of objects, in XML a root element holding one element per record, each field a child element.
Lists inside a record (a service definition's attributes, an attribute's values) nest the same way.
"""

from __future__ import annotations

import enum
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from quart import Response

from incident.validation import xml_safe

Format = str  # "json" or "xml": the extension of the path
FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# A list field's elements in XML are named for one of its items.
_ITEM = {
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "keywords": "keyword",
}


class Open311Error(Exception):
    """An error answered in the spec's format: a list of {code, description}, with that HTTP status."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


def render(
    fmt: Format, root: str, item: str, records: Sequence[Mapping[str, Any]], status: int = 200
) -> Response:
    """Records as a response in `fmt`: a JSON array, or `<root><item>…</item>…</root>`."""
    if fmt == "json":
        body = msgspec.json.encode(list(records))
    else:
        top = ET.Element(root)
        for record in records:
            _fill(ET.SubElement(top, item), record)
        body = _document(top)
    return Response(body, status, content_type=CONTENT_TYPES[fmt])


def render_one(fmt: Format, root: str, record: Mapping[str, Any]) -> Response:
    """One record that is the whole document (a service definition, the discovery document)."""
    if fmt == "json":
        return Response(msgspec.json.encode(record), content_type=CONTENT_TYPES[fmt])
    top = ET.Element(root)
    _fill(top, record)
    return Response(_document(top), content_type=CONTENT_TYPES[fmt])


def errors(fmt: Format, status: int, description: str) -> Response:
    """The spec's error list: `[{"code": 400, "description": "…"}]` or `<errors><error>…`."""
    return render(fmt, "errors", "error", [{"code": status, "description": description}], status)


def format_of(path: str) -> Format:
    """The format a path asks for (its extension); JSON when it names neither."""
    return "xml" if path.endswith(".xml") else "json"


def _document(top: ET.Element) -> bytes:
    # The declaration exactly as the spec writes it (ElementTree's own uses single quotes, lower case).
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(top, encoding="unicode").encode()


def _fill(element: ET.Element, record: Mapping[str, Any]) -> None:
    for name, value in record.items():
        child = ET.SubElement(element, name)
        if isinstance(value, list):
            for entry in value:
                grandchild = ET.SubElement(child, _ITEM.get(name, "item"))
                if isinstance(entry, Mapping):
                    _fill(grandchild, entry)
                else:
                    grandchild.text = _text(entry)
        elif isinstance(value, Mapping):
            _fill(child, value)
        else:
            child.text = _text(value)


def _text(value: Any) -> str:
    if value is None:
        return ""  # the spec's examples show an absent value as an empty element
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    return xml_safe(str(value))  # whatever got in, the document stays XML
