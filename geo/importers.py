"""Loading a city's own address data.

Two kinds: address points (CSV), and street centerlines with address ranges (GeoJSON, or a
shapefile, in the layout of the city's open-data "Streets" layer).

Each importer turns a file into an `Imported` batch and says exactly which row or feature it could
not read; nothing is half-imported.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from geo.build import AddressPoint, Imported, Segment
from geo.normalize import street, words

Tick = Callable[[int], None]

NUMBER_COLUMNS = (
    "number",
    "house_number",
    "housenumber",
    "addr_num",
    "address_number",
    "st_num",
    "add_number",
)
STREET_COLUMNS = ("street", "street_name", "streetname", "fullstname", "full_street", "st_name")
ADDRESS_COLUMNS = ("address", "full_address", "fulladdress", "addr")
LAT_COLUMNS = ("lat", "latitude", "y")
LON_COLUMNS = ("lon", "lng", "long", "longitude", "x")
ZIP_COLUMNS = ("zip", "zipcode", "zip_code", "postal", "postal_code", "zip5")


class ImportError_(Exception):
    """A file that cannot be imported; `str()` names the file, the row or feature, and the problem."""


def address_points(path: Path, name: str, tick: Tick | None = None) -> Imported:
    """A CSV of address points: a number and street column (or one address column), and lat/lon."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = {column.lower().strip(): column for column in reader.fieldnames or ()}
        lat, lon = _column(columns, LAT_COLUMNS, path), _column(columns, LON_COLUMNS, path)
        number_col = _find(columns, NUMBER_COLUMNS)
        street_col = _find(columns, STREET_COLUMNS)
        address_col = _find(columns, ADDRESS_COLUMNS)
        zip_col = _find(columns, ZIP_COLUMNS)
        if not (number_col and street_col) and not address_col:
            raise ImportError_(
                f"{path}: needs a house-number and a street column ({', '.join(NUMBER_COLUMNS[:3])}…; "
                f"{', '.join(STREET_COLUMNS[:3])}…) or one address column ({', '.join(ADDRESS_COLUMNS)})"
            )
        points = []
        for row_number, row in enumerate(reader, start=2):
            try:
                if number_col and street_col:
                    number, street_text = row[number_col].strip(), row[street_col]
                else:
                    first, _, rest = row[address_col or ""].split(",")[0].strip().partition(" ")
                    number, street_text = first, rest
                if not number or not number[0].isdigit():
                    raise ValueError(f"no house number in {number!r}")
                key = street(street_text).key
                if not key:
                    raise ValueError("no street name")
                points.append(
                    AddressPoint(
                        key,
                        number.upper(),
                        _coordinate(row[lat], -90, 90),
                        _coordinate(row[lon], -180, 180),
                        (row.get(zip_col) or None) if zip_col else None,
                    )
                )
            except (ValueError, KeyError) as error:
                raise ImportError_(f"{path}: row {row_number}: {error}") from None
            if tick and row_number % 1000 == 0:
                tick(1000)
    return Imported(name=name, addresses=points)


def centerlines(path: Path, name: str, tick: Tick | None = None) -> Imported:
    """Street centerlines with address ranges: GeoJSON (.geojson, .json) or a shapefile (.shp).

    Fields as in Buffalo's Streets layer: fullstname (or predir + streetname + street_typ),
    l_f_add, l_t_add, r_f_add, r_t_add, postal_l, postal_r. Coordinates must be WGS 84.
    """
    segments = []
    for index, (properties, lines) in enumerate(_features(path)):
        try:
            fields = {key.lower(): value for key, value in properties.items()}
            full = fields.get("fullstname") or " ".join(
                str(part)
                for part in (fields.get("predir"), fields.get("streetname"), fields.get("street_typ"))
                if part
            )
            key = street(str(full)).key
            if not key:
                raise ValueError("no street name (fullstname, or streetname and street_typ)")
            for line in lines:
                coords = [(float(lat), float(lon)) for lon, lat, *_ in line]
                if len(coords) < 2:
                    continue
                if any(not (-90 <= lat <= 90 and -180 <= lon <= 180) for lat, lon in coords):
                    raise ValueError("coordinates are not WGS 84 longitude/latitude")
                segments.append(
                    Segment(
                        street=key,
                        coords=coords,
                        left_from=_int(fields.get("l_f_add")),
                        left_to=_int(fields.get("l_t_add")),
                        right_from=_int(fields.get("r_f_add")),
                        right_to=_int(fields.get("r_t_add")),
                        zip_left=_text(fields.get("postal_l")),
                        zip_right=_text(fields.get("postal_r")),
                    )
                )
        except (ValueError, TypeError) as error:
            raise ImportError_(f"{path}: feature {index}: {error}") from None
        if tick and index % 500 == 499:
            tick(500)
    return Imported(name=name, segments=segments)


def _features(path: Path) -> Iterator[tuple[dict[str, Any], list[list[list[float]]]]]:
    if path.suffix.lower() == ".shp":
        import shapefile  # pyshp

        if path.with_suffix(".prj").exists() and "GEOGCS" not in path.with_suffix(".prj").read_text()[:8]:
            raise ImportError_(
                f"{path}: the .prj says a projected system; export the layer in WGS 84 (EPSG:4326)"
            )
        with shapefile.Reader(str(path)) as reader:
            for shape_record in reader.iterShapeRecords():
                geometry = shape_record.shape.__geo_interface__
                yield shape_record.record.as_dict(), _lines(geometry)
        return
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ImportError_(f"{path}: not readable GeoJSON ({error})") from None
    for feature in document.get("features", []):
        yield feature.get("properties") or {}, _lines(feature.get("geometry") or {})


def _lines(geometry: dict[str, Any]) -> list[list[list[float]]]:
    if geometry.get("type") == "LineString":
        return [geometry["coordinates"]]
    if geometry.get("type") == "MultiLineString":
        return list(geometry["coordinates"])
    return []


def _find(columns: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((columns[name] for name in names if name in columns), None)


def _column(columns: dict[str, str], names: tuple[str, ...], path: Path) -> str:
    found = _find(columns, names)
    if found is None:
        raise ImportError_(f"{path}: no column named any of {', '.join(names)}")
    return found


def _coordinate(text: str, low: float, high: float) -> float:
    value = float(text)
    if not low <= value <= high:
        raise ValueError(f"coordinate {value} out of range")
    return value


def _int(value: object) -> int | None:
    if value in (None, ""):
        return None
    return int(float(str(value)))


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


__all__ = ["ImportError_", "address_points", "centerlines", "words"]
