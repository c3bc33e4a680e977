"""Residents' photos: made safe to keep (re-encoded, every metadata field dropped but where it was taken).

A photo from a phone carries its camera, its owner's name, sometimes the time to the second and where
it was taken. Stormline reads where it was taken (a report with no address may still be placed),
draws the picture again as a plain JPEG at most 1,600 pixels across, and keeps that alone, in Redis,
so every worker can serve it to the staff who open the incident.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from typing import cast

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from geo.point import Point
from incident.problems import invalid_field
from incident.store import Store

MAX_UPLOAD_BYTES = 8 * 1024 * 1024  # what a phone's camera makes; larger is refused before it is read
MAX_PIXELS = 40_000_000  # a "decompression bomb" (a small file that opens huge) is refused
LONGEST_SIDE = 1600
PHOTO_ID = r"[A-Za-z0-9_-]{22}"


@dataclass(frozen=True)
class Cleaned:
    jpeg: bytes
    taken_at: Point | None  # from the photo's GPS, when it has one


def clean(data: bytes) -> Cleaned:
    """The photo redrawn without its metadata, and where it was taken; a 422 for what is no photo."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise invalid_field("photo", f"larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise invalid_field("photo", "too many pixels")
            where = _gps(image.getexif())
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError):
        raise invalid_field("photo", "not a photo Stormline can read (send a JPEG, PNG or WebP)") from None
    upright.thumbnail((LONGEST_SIDE, LONGEST_SIDE))
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=80, optimize=True)  # no exif=: nothing of the original goes along
    return Cleaned(out.getvalue(), where)


async def keep(store: Store, photo: Cleaned) -> str:
    """Keep the cleaned photo; its id (random, unguessable) is what the call refers to."""
    photo_id = secrets.token_urlsafe(16)
    await store.redis.set(store.keys.photo(photo_id), photo.jpeg)
    return photo_id


async def read(store: Store, photo_id: str) -> bytes | None:
    return cast(bytes | None, await store.redis.get(store.keys.photo(photo_id)))


def _gps(exif: Image.Exif) -> Point | None:
    """The point in a photo's EXIF GPS block, if it has a sane one."""
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    try:
        lat = _degrees(gps[ExifTags.GPS.GPSLatitude], gps.get(ExifTags.GPS.GPSLatitudeRef, "N"))
        lon = _degrees(gps[ExifTags.GPS.GPSLongitude], gps.get(ExifTags.GPS.GPSLongitudeRef, "E"))
        return Point(lat=lat, lon=lon)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None


def _degrees(dms: tuple[float, float, float], ref: str) -> float:
    degrees = float(dms[0]) + float(dms[1]) / 60 + float(dms[2]) / 3600
    return -degrees if str(ref).upper() in ("S", "W") else degrees
