"""EXIF tags of a JPEG or TIFF image as a DAG-CBOR-safe map (for ``std/exif``)."""

from __future__ import annotations

import io
import math
from typing import Any

from catenary.extras import require_extra

# The EXIF sub-IFDs: ExifTags.IFD.Exif, GPSInfo and Interop (Pillow loads with the first image).
_SUB_IFDS = (0x8769, 0x8825, 0xA005)


def read_exif(data: bytes) -> dict[str, Any]:
    """Every EXIF tag of the image, keyed by tag name (unknown tags as ``Tag0x....``)."""
    require_extra("image")
    from PIL import ExifTags, Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("JPEG", "TIFF", "MPO"):
                raise ValueError(f"std/exif reads JPEG or TIFF images, not {image.format}")
            exif = image.getexif()
            tags: dict[str, Any] = {}
            _collect(exif, ExifTags.TAGS, tags)
            for ifd in _SUB_IFDS:
                names = ExifTags.GPSTAGS if ifd == ExifTags.IFD.GPSInfo else ExifTags.TAGS
                _collect(exif.get_ifd(ifd), names, tags)
            return tags
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"std/exif: not a readable JPEG/TIFF image ({exc})") from exc


def _collect(ifd: Any, names: dict[int, str], out: dict[str, Any]) -> None:
    for tag, value in ifd.items():
        if tag in _SUB_IFDS:
            continue
        name = names.get(tag, f"Tag0x{tag:04X}")
        converted = _plain(value)
        if converted is not _SKIP:
            out[name] = converted


_SKIP = object()


def _plain(value: Any) -> Any:
    """Map Pillow's EXIF value types onto DAG-CBOR kinds, deterministically."""
    if isinstance(value, (bool, int, bytes)) or value is None:
        return value
    if isinstance(value, str):
        return value.rstrip("\x00")
    if isinstance(value, (tuple, list)):
        items = [_plain(v) for v in value]
        return [v for v in items if v is not _SKIP]
    try:
        number = float(value)  # IFDRational and friends
    except (TypeError, ValueError, ZeroDivisionError):
        return _SKIP
    return number if math.isfinite(number) else _SKIP
