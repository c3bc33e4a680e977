"""Points and bounding boxes."""

from __future__ import annotations

import pytest

from geo.point import BBox, Point


def test_bbox_parses_and_contains() -> None:
    """A west,south,east,north box contains points inside and on its edges, not outside."""
    box = BBox.parse("-78.95,42.82,-78.79,42.97")
    assert box.contains(Point(42.90, -78.85))
    assert box.contains(Point(42.82, -78.95))
    assert not box.contains(Point(42.99, -78.85))
    assert not box.contains(Point(42.90, -78.70))


@pytest.mark.parametrize("text", ["", "1,2,3", "a,b,c,d", "-78,43,-79,42", "-200,0,0,1", "0,50,1,40"])
def test_bbox_rejects_nonsense(text: str) -> None:
    """Malformed, out-of-range or inverted boxes are refused with a reason."""
    with pytest.raises(ValueError, match=r"\w"):
        BBox.parse(text)
