"""Photos attached to events: checked by content, size and pixel count, stored by content hash.

`inspect_photo` is pure (bytes in, `PhotoInfo` or `Problem` out); `PhotoStore` writes checked
photos to disk as `root/ab/cd/<sha256>`, so the same photo uploaded twice is stored once.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import struct
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

import filetype
from PIL import ExifTags, Image, ImageFile, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from fengqiao.clock import LOCAL_TZ
from fengqiao.errors import FieldError, Problem

# HEIC (iPhone default) is left out: Pillow here has no HEIF decoder (pillow-heif is not
# installed), so a HEIC could be neither checked for pixels nor verified to decode.
# Phones' upload pickers convert HEIC to JPEG when the page asks for image/jpeg.
ALLOWED_MIME = ("image/jpeg", "image/png", "image/webp")

_NAMES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP"}

# The plugin classes are used directly instead of `Image.open`, whose own bomb check reads the
# process-wide `Image.MAX_IMAGE_PIXELS` and only warns between 1x and 2x that limit: our own
# limit, checked on the header size before any decoding, is then the one that decides.
_OPENERS: dict[str, type[ImageFile.ImageFile]] = {
    "image/jpeg": JpegImagePlugin.JpegImageFile,
    "image/png": PngImagePlugin.PngImageFile,
    "image/webp": WebPImagePlugin.WebPImageFile,
}

# What Pillow raises for bytes it cannot parse or decode: it turns most low-level errors into
# SyntaxError (header) or OSError (data), but not on every path. Anything else is a bug, not a
# bad photo, and is left to surface.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)

_SHA256 = re.compile(r"[0-9a-f]{64}")
_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")


@dataclass(frozen=True)
class PhotoLimits:
    """Upper bounds for one photo.

    Decoding holds up to about 4 bytes per pixel (PNG, WebP; JPEG is decoded at 1/8 scale), so
    `max_pixels` also bounds the memory one upload can take.
    """

    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.max_pixels <= 0:
            raise ValueError("photo limits must be positive")


@dataclass(frozen=True)
class DeviceFix:
    """Where the phone said it was when it uploaded a photo: WGS-84, the fix's accuracy in
    metres and its time (each as the phone reported it; the proof checks decide what counts)."""

    lat: float
    lng: float
    accuracy_m: float | None = None
    at: datetime | None = None


# Where a photo came from, as the uploading app says: taken through its camera input, chosen
# from the album, or not said (other clients, rows from before the app said).
ORIGINS = ("camera", "album", "unknown")


@dataclass(frozen=True)
class PhotoInfo:
    """What a checked photo is: its hash, type, size and the place and time it was taken (EXIF),
    and how it reached us (origin, the phone's position at upload) when the upload said."""

    sha256: str
    mime: str
    bytes: int
    width: int
    height: int
    taken_at: datetime | None
    lat: float | None
    lng: float | None
    origin: str = "unknown"
    device: DeviceFix | None = None


def inspect_photo(data: bytes, *, field: str, limits: PhotoLimits) -> PhotoInfo:
    """Check an uploaded photo and read its metadata; raise `Problem` if it is refused.

    The type comes from the bytes alone: a filename or a declared content type is never asked for.
    """
    # Size first, so an oversized upload costs nothing but its length.
    if len(data) > limits.max_bytes:
        raise _too_large(field, len(data), limits.max_bytes)
    kind = filetype.guess(data)
    if kind is None or kind.mime not in ALLOWED_MIME:
        raise _unsupported(field, kind.mime if kind is not None else None)
    mime: str = kind.mime
    if mime == "image/webp":
        # Pillow's WebP opener creates libwebp's decoder, which allocates the whole canvas,
        # before it reports the size: so the size is read from the header here first.
        canvas = _webp_canvas_size(data)
        if canvas is None:
            raise _invalid(field, mime)
        _check_pixels(field, *canvas, limits.max_pixels)
    try:
        image = _OPENERS[mime](io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(field, None, limits.max_pixels) from exc
    except _DECODE_ERRORS as exc:
        raise _invalid(field, mime) from exc
    with image:
        width, height = image.size
        _check_pixels(field, width, height, limits.max_pixels)
        if mime == "image/jpeg":
            # Decoding at 1/8 scale still reads every byte of the scan, so damage and truncation
            # are found, with 1/64 of the memory and a fraction of the time.
            image.draft(None, (1, 1))
        try:
            image.load()
        except Image.DecompressionBombError as exc:
            raise _too_many_pixels(field, (width, height), limits.max_pixels) from exc
        except _DECODE_ERRORS as exc:
            raise _invalid(field, mime) from exc
        taken_at, lat, lng = _read_exif(image)
    return PhotoInfo(
        sha256=hashlib.sha256(data).hexdigest(),
        mime=mime,
        bytes=len(data),
        width=width,
        height=height,
        taken_at=taken_at,
        lat=lat,
        lng=lng,
    )


class PhotoStore:
    """Checked photos on disk, one file per distinct content, named by its SHA-256."""

    def __init__(self, root: Path, limits: PhotoLimits = PhotoLimits()) -> None:
        self.root = Path(root)
        self.limits = limits

    def save(self, data: bytes, *, field: str) -> PhotoInfo:
        """Check the photo and store it, unless the same bytes are stored already."""
        info = inspect_photo(data, field=field, limits=self.limits)
        target = self.path(info.sha256)
        if target.is_file():
            return info
        target.parent.mkdir(parents=True, exist_ok=True)
        # Temp names start with a dot and are never 64 hex digits, so a leftover from a crash is
        # never taken for a photo; os.replace makes the photo appear whole or not at all.
        fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as temp:
                temp.write(data)
                temp.flush()
                # A file that exists is trusted to be complete (save skips it), so its bytes must
                # be on disk before the rename can be.
                os.fsync(temp.fileno())
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        return info

    def path(self, sha256: str) -> Path:
        """Where the photo with this hash lives; ValueError for anything but 64 lowercase hex."""
        # Only this exact shape reaches the filesystem, so no hash can climb out of `root`.
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        """Whether the photo with this hash is stored."""
        return self.path(sha256).is_file()

    def read(self, sha256: str) -> bytes:
        """The stored photo's bytes (FileNotFoundError if it is not stored)."""
        return self.path(sha256).read_bytes()


def _webp_canvas_size(data: bytes) -> tuple[int, int] | None:
    """The canvas size from a WebP header, without decoding; None if the header is unreadable."""
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack_from("<HH", data, 26)
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        (bits,) = struct.unpack_from("<I", data, 21)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        # The extended format (EXIF, alpha, animation) declares a canvas of up to 2^24 per side.
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None


def _check_pixels(field: str, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise _too_many_pixels(field, (width, height), max_pixels)


def _read_exif(image: Image.Image) -> tuple[datetime | None, float | None, float | None]:
    """When and where the photo was taken, from EXIF; None for whatever is missing or unusable."""
    try:
        exif = image.getexif()
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception:
        # EXIF is optional and written by every kind of phone app: a damaged block loses the
        # metadata, it does not refuse a photo that decodes.
        return None, None, None
    lat, lng = _gps_position(gps)
    return _taken_at(exif_ifd), lat, lng


def _gps_position(gps: Mapping[int, Any]) -> tuple[float | None, float | None]:
    lat = _gps_degrees(
        gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "N", "S", 90.0
    )
    lng = _gps_degrees(
        gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "E", "W", 180.0
    )
    # Half a position places nothing; 0/0 is what phones without a fix write, not a real place
    # (it lies in the Gulf of Guinea, far from any grid).
    if lat is None or lng is None or (lat == 0.0 and lng == 0.0):
        return None, None
    return lat, lng


def _gps_degrees(value: Any, ref: Any, positive: str, negative: str, limit: float) -> float | None:
    """Signed decimal degrees from EXIF (degrees, minutes, seconds) rationals and a hemisphere."""
    hemisphere = _exif_text(ref).upper()
    if hemisphere not in (positive, negative):
        return None
    parts = value if isinstance(value, tuple | list) else (value,)
    if not 1 <= len(parts) <= 3:
        return None
    try:
        # A 0/0 rational reads as NaN and fails the finiteness check below.
        numbers = [float(part) for part in parts]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not all(math.isfinite(n) and n >= 0.0 for n in numbers):
        return None
    degrees = sum(n / 60.0**i for i, n in enumerate(numbers))
    if degrees > limit:
        return None
    return -degrees if hemisphere == negative else degrees


def _taken_at(exif_ifd: Mapping[int, Any]) -> datetime | None:
    """DateTimeOriginal as aware UTC: at its recorded offset, else Beijing time."""
    text = _exif_text(exif_ifd.get(ExifTags.Base.DateTimeOriginal))
    try:
        local = datetime.strptime(text, "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    # EXIF times carry no zone; OffsetTimeOriginal (EXIF 2.31) says which, and without it the
    # phone's clock is assumed to be set to China's one time zone.
    offset = _OFFSET.fullmatch(_exif_text(exif_ifd.get(ExifTags.Base.OffsetTimeOriginal)))
    zone: tzinfo = LOCAL_TZ
    if offset is not None:
        sign = -1 if offset.group(1) == "-" else 1
        delta = timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3)))
        if delta < timedelta(hours=24):
            zone = timezone(sign * delta)
    return local.replace(tzinfo=zone).astimezone(UTC)


def _exif_text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    return value.strip("\x00 ") if isinstance(value, str) else ""


def _refuse(
    field: str, status: int, slug: str, title: str, title_zh: str, reason: str, reason_zh: str
) -> Problem:
    return Problem(
        status=status,
        slug=slug,
        title=title,
        title_zh=title_zh,
        detail=f"{field}: {reason}",
        detail_zh=f"{field}：{reason_zh}",
        errors=[FieldError(field, reason, reason_zh)],
    )


def _too_large(field: str, size: int, max_bytes: int) -> Problem:
    return _refuse(
        field,
        413,
        "photo-too-large",
        "Photo too large",
        "照片文件过大",
        f"the file is {size:,} bytes; the limit is {max_bytes:,} bytes",
        f"文件大小为 {size:,} 字节，超过上限 {max_bytes:,} 字节",
    )


def _unsupported(field: str, mime: str | None) -> Problem:
    found = mime or "unknown"
    return _refuse(
        field,
        415,
        "unsupported-media-type",
        "Unsupported media type",
        "不支持的文件类型",
        f"the content is not a JPEG, PNG or WebP image (found: {found})",
        f"文件内容不是 JPEG、PNG 或 WebP 图片（识别为：{mime or '未知类型'}）",
    )


def _too_many_pixels(field: str, size: tuple[int, int] | None, max_pixels: int) -> Problem:
    if size is None:
        reason = f"the image has more than the limit of {max_pixels:,} pixels"
        reason_zh = f"图片像素数超过上限 {max_pixels:,}"
    else:
        width, height = size
        reason = f"the image is {width}×{height} = {width * height:,} pixels; the limit is {max_pixels:,}"
        reason_zh = f"图片为 {width}×{height}，共 {width * height:,} 像素，超过上限 {max_pixels:,}"
    return _refuse(
        field,
        422,
        "photo-too-many-pixels",
        "Photo has too many pixels",
        "照片像素过多",
        reason,
        reason_zh,
    )


def _invalid(field: str, mime: str) -> Problem:
    name = _NAMES[mime]
    return _refuse(
        field,
        422,
        "invalid-image",
        "Invalid image",
        "图片无法解码",
        f"the file starts like a {name} image but cannot be decoded (damaged or incomplete)",
        f"文件开头是 {name} 图片，但无法解码（文件损坏或不完整）",
    )
