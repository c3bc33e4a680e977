"""Importing a city's address points and centerlines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapefile

from geo.build import DATA, Imported, build
from geo.gazetteer import Gazetteer
from geo.importers import ImportError_, address_points, centerlines
from geo.result import Method


def test_address_points_csv_with_columns_by_any_common_name(tmp_path: Path) -> None:
    """A CSV with house_number, street_name, latitude, longitude is read and found by the gazetteer."""
    path = tmp_path / "points.csv"
    path.write_text(
        "house_number,street_name,zip,latitude,longitude\n1128,Elmwood Ave,14222,42.9265,-78.8774\n"
    )
    batch = address_points(path, "city-points")
    assert [(a.street, a.number, a.zip) for a in batch.addresses] == [("ELMWOOD AVE", "1128", "14222")]
    best = Gazetteer(build(imported=[batch])).geocode("1128 Elmwood apt 2")[0]
    assert best.method is Method.ADDRESS_POINT
    assert best.unit == "APT 2"


def test_address_points_from_one_address_column(tmp_path: Path) -> None:
    """A single "address" column is split into number and street."""
    path = tmp_path / "points.csv"
    path.write_text('address,lat,lon\n"65 Niagara Square, Buffalo NY",42.8866,-78.8785\n')
    assert [(a.number, a.street) for a in address_points(path, "p").addresses] == [("65", "NIAGARA SQ")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("number,street,lat\n1,Main St,42.9\n", "no column named any of lon"),
        ("number,street,lat,lon\n1,Main St,142.9,-78.8\n", "row 2: coordinate 142.9 out of range"),
        ("number,street,lat,lon\n1,Main St,42.9,-78.8\nx,Main St,42.9,-78.8\n", "row 3: no house number"),
        ("name,lat,lon\nCity Hall,42.9,-78.8\n", "needs a house-number and a street column"),
    ],
)
def test_bad_csv_names_the_row_or_column(tmp_path: Path, content: str, message: str) -> None:
    """A file that cannot be read says which row or column, and imports nothing."""
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ImportError_, match=message):
        address_points(path, "bad")


def test_centerlines_in_the_city_streets_layout() -> None:
    """The shipped sample of Buffalo's Streets layer imports, one segment per line."""
    batch = centerlines(DATA / "streets_format_sample" / "streets_sample.geojson", "sample")
    assert len(batch.segments) == 3
    assert all(segment.street for segment in batch.segments)


def _ranged_feature() -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": {
            "fullstname": "Testing St",
            "l_f_add": "101",
            "l_t_add": "199",
            "r_f_add": "100",
            "r_t_add": "198",
            "postal_l": "14201",
            "postal_r": "14201",
        },
        "geometry": {"type": "LineString", "coordinates": [[-78.850, 42.900], [-78.840, 42.900]]},
    }


def test_centerline_geojson_with_ranges_interpolates(tmp_path: Path) -> None:
    """A segment with address ranges places a house number along it."""
    path = tmp_path / "streets.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [_ranged_feature()]}))
    best = Gazetteer(build(imported=[centerlines(path, "s")])).geocode("150 Testing St")[0]
    assert best.method is Method.INTERPOLATED


def _write_line(base: Path, fields: tuple[str, ...], line: list[list[float]], row: tuple[str, ...]) -> None:
    # The files are ours to open and close: pyshp 3.1.9's Writer leaves the .dbf it opened unclosed.
    with (
        base.with_suffix(".shp").open("wb") as shp,
        base.with_suffix(".shx").open("wb") as shx,
        base.with_suffix(".dbf").open("wb") as dbf,
        shapefile.Writer(shp=shp, shx=shx, dbf=dbf, shapeType=shapefile.POLYLINE) as writer,
    ):
        for field in fields:
            writer.field(field, "C")
        writer.line([line])
        writer.record(*row)


def test_centerline_shapefile(tmp_path: Path) -> None:
    """The same layer as a shapefile imports the same way."""
    base = tmp_path / "streets"
    fields = ("fullstname", "l_f_add", "l_t_add", "r_f_add", "r_t_add", "postal_l", "postal_r")
    row = ("Testing St", "101", "199", "100", "198", "14201", "14201")
    _write_line(base, fields, [[-78.850, 42.900], [-78.840, 42.900]], row)
    batch = centerlines(base.with_suffix(".shp"), "shp")
    assert isinstance(batch, Imported)
    assert [(s.street, s.right_from, s.right_to) for s in batch.segments] == [("TESTING ST", 100, 198)]


def test_projected_shapefile_is_refused(tmp_path: Path) -> None:
    """A shapefile in state-plane feet is refused with what to do, not imported in the wrong place."""
    base = tmp_path / "streets"
    _write_line(base, ("fullstname",), [[1081000.0, 1048000.0], [1082000.0, 1048000.0]], ("Testing St",))
    base.with_suffix(".prj").write_text('PROJCS["NAD_1983_StatePlane_New_York_West_FIPS_3103_Feet"]')
    with pytest.raises(ImportError_, match="WGS 84"):
        centerlines(base.with_suffix(".shp"), "shp")
