"""PIDF-LO, the form an EIDO carries a location in: a civic address (RFC 5139) and a point (RFC 5491).

EIDO's `locationByValue` is a PIDF-LO document as text. Stormline writes one for the incident's
location, and reads the civic address and the point out of the one a 911 center sends (with `parse`,
the guarded reader of every XML an EIDO carries).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime

from geo.point import Point
from incident.validation import xml_safe

PIDF = "urn:ietf:params:xml:ns:pidf"
GEOPRIV = "urn:ietf:params:xml:ns:pidf:geopriv10"
CIVIC = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"
GML = "http://www.opengis.net/gml"
WGS84 = "urn:ogc:def:crs:EPSG::4326"  # latitude first, then longitude

# The civic address elements in the order RFC 5139's schema requires them.
CIVIC_ORDER = (
    "country", "A1", "A2", "A3", "A4", "A5", "A6", "PRM", "PRD", "RD", "STS", "POD", "POM", "RDSEC",
    "RDBR", "RDSUBBR", "HNO", "HNS", "LMK", "LOC", "FLR", "NAM", "PC", "BLD", "UNIT", "ROOM", "SEAT",
    "PLC", "PCN", "POBOX", "ADDCODE",
)  # fmt: skip


def write(entity: str, civic: dict[str, str], point: Point | None, method: str | None, at: datetime) -> str:
    """A PIDF-LO document placing `entity` at the civic address and the point (either may be empty)."""
    for prefix, namespace in (("", PIDF), ("gp", GEOPRIV), ("ca", CIVIC), ("gml", GML)):
        ET.register_namespace(prefix, namespace)
    presence = ET.Element(f"{{{PIDF}}}presence", {"entity": entity})
    tuple_ = ET.SubElement(presence, f"{{{PIDF}}}tuple", {"id": "location"})
    status = ET.SubElement(tuple_, f"{{{PIDF}}}status")
    geopriv = ET.SubElement(status, f"{{{GEOPRIV}}}geopriv")
    info = ET.SubElement(geopriv, f"{{{GEOPRIV}}}location-info")
    if point is not None:
        shape = ET.SubElement(info, f"{{{GML}}}Point", {"srsName": WGS84})
        ET.SubElement(shape, f"{{{GML}}}pos").text = f"{point.lat:.6f} {point.lon:.6f}"
    if civic:
        address = ET.SubElement(info, f"{{{CIVIC}}}civicAddress")
        for name in CIVIC_ORDER:
            if civic.get(name):
                ET.SubElement(address, f"{{{CIVIC}}}{name}").text = xml_safe(civic[name])
    ET.SubElement(geopriv, f"{{{GEOPRIV}}}usage-rules")
    if method:
        ET.SubElement(geopriv, f"{{{GEOPRIV}}}method").text = method
    ET.SubElement(tuple_, f"{{{PIDF}}}timestamp").text = at.isoformat()
    return ET.tostring(presence, encoding="unicode", xml_declaration=True)


@dataclass(frozen=True, slots=True)
class Place:
    """What a PIDF-LO says: the civic address written out as a person would, and the point."""

    address: str | None
    point: Point | None


def read(text: str) -> Place:
    """The first civic address and the first point in a PIDF-LO document; ValueError if it is not one."""
    root = parse(text)
    address = next((_written(element) for element in root.iter(f"{{{CIVIC}}}civicAddress")), None)
    return Place(address or None, _point(next(root.iter(f"{{{GML}}}pos"), None)))


def parse(text: str) -> ET.Element:
    """XML a partner sent, or a ValueError saying why not.

    A document type declaration is refused before parsing: none of this XML needs one, and entities
    are how XML is made to expand out of all proportion.
    """
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise ValueError("a document type declaration is not allowed here")
    try:
        return ET.fromstring(text.strip())  # noqa: S314 - no DTD gets this far (checked above)
    except ET.ParseError as error:
        raise ValueError(f"not XML: {error}") from None


def _written(civic: ET.Element) -> str:
    """A civic address as one line: house and street, unit, town, state."""
    parts = {child.tag.rpartition("}")[2]: (child.text or "").strip() for child in civic}
    street = " ".join(
        value
        for value in (
            parts.get("HNO", "") + parts.get("HNS", ""),
            parts.get("PRD"),
            parts.get("RD") or parts.get("A6"),
            parts.get("STS"),
            parts.get("POD"),
        )
        if value
    )
    if parts.get("UNIT"):
        street = f"{street} Unit {parts['UNIT']}".strip()
    return ", ".join(value for value in (street, parts.get("A3"), parts.get("A1")) if value)


def _point(pos: ET.Element | None) -> Point | None:
    if pos is None:
        return None
    numbers = (pos.text or "").split()
    try:
        lat, lon = float(numbers[0]), float(numbers[1])
    except (IndexError, ValueError):
        raise ValueError("a gml:pos needs a latitude and a longitude") from None
    if not (math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 85.05112878 and abs(lon) <= 180):
        raise ValueError(f"no place on the map Stormline serves: {lat} {lon}")
    return Point(lat, lon)
