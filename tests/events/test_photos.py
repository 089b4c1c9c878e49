"""Event photos: type by content, size and pixel limits, decompression bombs, EXIF, storage."""

from __future__ import annotations

import hashlib
import io
import random
import re
import struct
import warnings
import zipfile
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile, PngImagePlugin, WebPImagePlugin
from PIL.TiffImagePlugin import IFDRational

from fengqiao.errors import FieldError, Problem
from fengqiao.events.photos import (
    ALLOWED_MIME,
    PhotoInfo,
    PhotoLimits,
    PhotoStore,
    inspect_photo,
)

FIELD = "photos[2]"
LIMITS = PhotoLimits()
_CJK = re.compile(r"[\u4e00-\u9fff]")


# --- building test images in memory -------------------------------------------------------------


def _picture(width: int = 64, height: int = 48, *, seed: int = 0) -> Image.Image:
    """A noisy RGB picture, so encoders produce a real amount of compressed data."""
    noise = random.Random(seed).randbytes(width * height * 3)
    return Image.frombytes("RGB", (width, height), noise)


def _encode(
    image: Image.Image, fmt: str, *, exif: Image.Exif | None = None, **options: Any
) -> bytes:
    buffer = io.BytesIO()
    if exif is not None:
        options["exif"] = exif
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _dms(degrees: int, minutes: int, seconds: float) -> tuple[IFDRational, ...]:
    return (
        IFDRational(degrees, 1),
        IFDRational(minutes, 1),
        IFDRational(round(seconds * 100), 100),
    )


def _exif(
    *,
    lat: tuple[str, tuple[IFDRational, ...]] | None = None,
    lng: tuple[str, tuple[IFDRational, ...]] | None = None,
    taken: str | None = None,
    offset: str | None = None,
) -> Image.Exif:
    """EXIF as a phone writes it: GPS IFD (0x8825) and DateTimeOriginal in the Exif IFD."""
    exif = Image.Exif()
    exif[0x0110] = "Grid phone"  # Model, so IFD0 is never empty
    if taken is not None or offset is not None:
        exif_ifd = exif.get_ifd(0x8769)
        if taken is not None:
            exif_ifd[0x9003] = taken  # DateTimeOriginal
        if offset is not None:
            exif_ifd[0x9011] = offset  # OffsetTimeOriginal
    if lat is not None or lng is not None:
        gps = exif.get_ifd(0x8825)
        if lat is not None:
            gps[1], gps[2] = lat
        if lng is not None:
            gps[3], gps[4] = lng
    return exif


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_bomb(width: int, height: int) -> bytes:
    """A valid all-black 1-bit PNG: billions of pixels can squeeze into a few kilobytes."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte, then the packed bits
    compressor = zlib.compressobj(9)
    rows_per_block = 500
    block = row * rows_per_block
    data = b"".join(compressor.compress(block) for _ in range(height // rows_per_block))
    data += compressor.compress(row * (height % rows_per_block)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


def _webp_canvas_header(width: int, height: int) -> bytes:
    """The start of an extended WebP that declares a canvas of this size."""
    vp8x = bytes(4) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _refusal(data: bytes, limits: PhotoLimits = LIMITS) -> Problem:
    with pytest.raises(Problem) as caught:
        inspect_photo(data, field=FIELD, limits=limits)
    return caught.value


JPEG = _encode(_picture(256, 192), "JPEG", quality=90)


# --- accepted photos and their metadata ---------------------------------------------------------


def test_jpeg_exif_gps_north_east_and_time_in_beijing_converted_to_utc() -> None:
    exif = _exif(
        lat=("N", _dms(29, 45, 36)),
        lng=("E", _dms(120, 14, 24)),
        taken="2024:05:01 14:30:00",
    )
    data = _encode(_picture(), "JPEG", exif=exif)

    info = inspect_photo(data, field=FIELD, limits=LIMITS)

    assert info.mime == "image/jpeg"
    assert (info.width, info.height) == (64, 48)
    assert info.lat == pytest.approx(29.76)
    assert info.lng == pytest.approx(120.24)
    # 14:30 in Beijing (UTC+8, no offset recorded) is 06:30 UTC.
    assert info.taken_at == datetime(2024, 5, 1, 6, 30, tzinfo=UTC)
    assert info.taken_at is not None and info.taken_at.utcoffset() is not None


def test_jpeg_exif_gps_south_west_is_negative() -> None:
    exif = _exif(lat=("S", _dms(33, 52, 8.4)), lng=("W", _dms(70, 40, 12)))
    data = _encode(_picture(), "JPEG", exif=exif)

    info = inspect_photo(data, field=FIELD, limits=LIMITS)

    assert info.lat == pytest.approx(-(33 + 52 / 60 + 8.4 / 3600))
    assert info.lng == pytest.approx(-(70 + 40 / 60 + 12 / 3600))
    assert info.taken_at is None


def test_recorded_time_offset_beats_the_beijing_default() -> None:
    exif = _exif(taken="2024:05:01 14:30:00", offset="-05:00")
    data = _encode(_picture(), "JPEG", exif=exif)

    info = inspect_photo(data, field=FIELD, limits=LIMITS)

    assert info.taken_at == datetime(2024, 5, 1, 19, 30, tzinfo=UTC)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_is_read_from_every_allowed_format(fmt: str) -> None:
    exif = _exif(
        lat=("N", _dms(30, 0, 0)), lng=("E", _dms(120, 30, 0)), taken="2023:12:31 23:59:59"
    )
    data = _encode(_picture(), fmt, exif=exif)

    info = inspect_photo(data, field=FIELD, limits=LIMITS)

    assert (info.lat, info.lng) == (pytest.approx(30.0), pytest.approx(120.5))
    assert info.taken_at == datetime(2023, 12, 31, 15, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lat", "lng"),
    [
        pytest.param(("N", (IFDRational(0, 0),) * 3), ("E", (IFDRational(0, 0),) * 3), id="0/0"),
        pytest.param(("N", _dms(95, 0, 0)), ("E", _dms(120, 0, 0)), id="lat-over-90"),
        pytest.param(("N", _dms(30, 0, 0)), ("E", _dms(181, 0, 0)), id="lng-over-180"),
        pytest.param(("X", _dms(30, 0, 0)), ("E", _dms(120, 0, 0)), id="bad-ref"),
        pytest.param(("N", _dms(30, 0, 0)), None, id="no-longitude"),
        pytest.param(("N", _dms(0, 0, 0)), ("E", _dms(0, 0, 0)), id="null-island"),
    ],
)
def test_unusable_gps_gives_no_position_but_keeps_the_photo(
    lat: tuple[str, tuple[IFDRational, ...]], lng: tuple[str, tuple[IFDRational, ...]] | None
) -> None:
    exif = _exif(lat=lat, lng=lng, taken="2024:05:01 08:00:00")
    data = _encode(_picture(), "JPEG", exif=exif)

    info = inspect_photo(data, field=FIELD, limits=LIMITS)

    assert (info.lat, info.lng) == (None, None)
    assert info.taken_at == datetime(2024, 5, 1, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("taken", ["0000:00:00 00:00:00", "    :  :     :  :  ", "yesterday"])
def test_unparseable_capture_time_gives_none(taken: str) -> None:
    data = _encode(_picture(), "JPEG", exif=_exif(taken=taken))

    assert inspect_photo(data, field=FIELD, limits=LIMITS).taken_at is None


@pytest.mark.parametrize(
    ("fmt", "options", "mime"),
    [
        pytest.param("PNG", {}, "image/png", id="png"),
        pytest.param("WEBP", {"quality": 80}, "image/webp", id="webp-lossy"),
        pytest.param("WEBP", {"lossless": True}, "image/webp", id="webp-lossless"),
        pytest.param("JPEG", {}, "image/jpeg", id="jpeg"),
    ],
)
def test_photos_without_exif_are_accepted_with_empty_metadata(
    fmt: str, options: dict[str, Any], mime: str
) -> None:
    data = _encode(_picture(80, 60), fmt, **options)

    info = inspect_photo(data, field=FIELD, limits=LIMITS)

    assert info == PhotoInfo(
        sha256=hashlib.sha256(data).hexdigest(),
        mime=mime,
        bytes=len(data),
        width=80,
        height=60,
        taken_at=None,
        lat=None,
        lng=None,
    )
    assert info.mime in ALLOWED_MIME


# --- refusals -------------------------------------------------------------------------------------


def _zip_holding_a_photo() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.jpg", JPEG)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"just some text pretending to be photo.jpg\n", id="text"),
        pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", id="pdf"),
        pytest.param(_zip_holding_a_photo(), id="zip-named-photo.jpg"),
        pytest.param(_encode(_picture(), "GIF"), id="gif"),
        pytest.param(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64), id="heic"),
        pytest.param(b"", id="empty"),
    ],
)
def test_content_that_is_not_an_allowed_image_is_415(data: bytes) -> None:
    problem = _refusal(data)

    assert (problem.status, problem.slug) == (415, "unsupported-media-type")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(JPEG[: len(JPEG) // 2], id="jpeg-cut-in-half"),
        pytest.param(JPEG[:-2], id="jpeg-without-end-marker"),
        pytest.param(b"\xff\xd8\xff\xe0" + bytes(500), id="jpeg-magic-then-zeros"),
        pytest.param(_encode(_picture(), "PNG")[:-40], id="png-truncated"),
        pytest.param(_webp_canvas_header(64, 48) + bytes(100), id="webp-header-only"),
        pytest.param(b"RIFF\x20\x00\x00\x00WEBPVP8Z" + bytes(32), id="webp-unknown-chunk"),
    ],
)
def test_image_that_does_not_decode_is_422_invalid_image(data: bytes) -> None:
    problem = _refusal(data)

    assert (problem.status, problem.slug) == (422, "invalid-image")


def test_size_is_checked_before_anything_is_decoded() -> None:
    limits = PhotoLimits(max_bytes=1000)

    # Not even an image: still refused for its size, so nothing looked inside.
    assert _refusal(b"x" * 1001, limits).status == 413
    assert _refusal(_encode(_picture(200, 200), "PNG"), limits).slug == "photo-too-large"


def test_photo_of_exactly_the_byte_limit_is_accepted() -> None:
    info = inspect_photo(JPEG, field=FIELD, limits=PhotoLimits(max_bytes=len(JPEG)))

    assert info.bytes == len(JPEG)


def test_pixel_limit_counts_width_times_height() -> None:
    limits = PhotoLimits(max_pixels=200)

    assert inspect_photo(_encode(_picture(20, 10), "PNG"), field=FIELD, limits=limits).width == 20
    problem = _refusal(_encode(_picture(21, 10), "PNG"), limits)
    assert (problem.status, problem.slug) == (422, "photo-too-many-pixels")
    assert "21×10" in problem.detail and "21×10" in problem.detail_zh


@pytest.mark.parametrize(
    ("width", "height"),
    [
        pytest.param(20_000, 20_000, id="over-pillow-error-threshold"),
        pytest.param(10_000, 10_000, id="in-pillow-warning-band"),
    ],
)
def test_png_decompression_bomb_is_refused_from_its_header(
    monkeypatch: pytest.MonkeyPatch, width: int, height: int
) -> None:
    bomb = _png_bomb(width, height)
    assert len(bomb) < 200_000  # a small upload...

    def must_not_decode(self: ImageFile.ImageFile) -> None:
        raise AssertionError("the bomb was decoded")

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", must_not_decode)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        problem = _refusal(bomb)

    assert (problem.status, problem.slug) == (422, "photo-too-many-pixels")  # ...of 100M+ pixels
    # Our limit decides, not Pillow's process-wide one: no DecompressionBombWarning leaks out.
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


def test_webp_bomb_is_refused_before_pillow_allocates_its_canvas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def must_not_open(self: ImageFile.ImageFile) -> None:
        raise AssertionError("Pillow's WebP opener ran")

    monkeypatch.setattr(WebPImagePlugin.WebPImageFile, "_open", must_not_open)

    problem = _refusal(_webp_canvas_header(10_000, 10_000) + bytes(64))

    assert (problem.status, problem.slug) == (422, "photo-too-many-pixels")


_SAMPLES = [
    JPEG,
    _encode(_picture(40, 30), "PNG"),
    _encode(_picture(40, 30), "WEBP"),
    _encode(
        _picture(40, 30), "JPEG", exif=_exif(lat=("N", _dms(30, 0, 0)), taken="2024:01:01 00:00:00")
    ),
]


# Damaged EXIF makes Pillow warn while it skips the broken tags; that is expected here.
@pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sample=st.sampled_from(_SAMPLES),
    edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=8),
    cut=st.integers(min_value=0),
)
def test_damaged_photos_are_accepted_or_refused_never_crash(
    sample: bytes, edits: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(sample)
    for position, value in edits:
        data[position % len(data)] = value
    data = data[: len(data) - cut % 64]
    try:
        inspect_photo(bytes(data), field=FIELD, limits=PhotoLimits(max_pixels=1_000_000))
    except Problem as problem:
        assert problem.status in (413, 415, 422)


def _every_refusal() -> list[Any]:
    return [
        pytest.param(b"hello", LIMITS, id="415"),
        pytest.param(b"x" * 11, PhotoLimits(max_bytes=10), id="413"),
        pytest.param(_encode(_picture(20, 20), "PNG"), PhotoLimits(max_pixels=10), id="422-pixels"),
        pytest.param(JPEG[:-100], LIMITS, id="422-invalid"),
    ]


@pytest.mark.parametrize(("data", "limits"), _every_refusal())
def test_every_refusal_names_the_field_in_chinese_and_english(
    data: bytes, limits: PhotoLimits
) -> None:
    problem = _refusal(data, limits)

    assert problem.title and problem.detail
    assert _CJK.search(problem.title_zh) and _CJK.search(problem.detail_zh)
    assert FIELD in problem.detail and FIELD in problem.detail_zh
    assert len(problem.errors) == 1
    error = problem.errors[0]
    assert isinstance(error, FieldError)
    assert error.field == FIELD
    assert error.reason and _CJK.search(error.reason_zh)
    assert problem.body()["type"].endswith("/" + problem.slug)


# --- storage --------------------------------------------------------------------------------------


def _files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_save_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = PhotoStore(tmp_path)

    first = store.save(JPEG, field=FIELD)
    second = store.save(JPEG, field="photos[0]")

    sha = hashlib.sha256(JPEG).hexdigest()
    assert first == second and first.sha256 == sha
    expected = tmp_path / sha[:2] / sha[2:4] / sha
    assert store.path(sha) == expected
    assert _files_under(tmp_path) == [expected]  # one file, no temp files left behind
    assert store.exists(sha)
    assert store.read(sha) == JPEG


def test_different_photos_are_stored_apart(tmp_path: Path) -> None:
    store = PhotoStore(tmp_path)
    png = _encode(_picture(), "PNG")

    infos = [store.save(JPEG, field=FIELD), store.save(png, field=FIELD)]

    assert _files_under(tmp_path) == sorted(store.path(i.sha256) for i in infos)
    assert store.read(infos[1].sha256) == png


def test_refused_photo_leaves_nothing_on_disk(tmp_path: Path) -> None:
    store = PhotoStore(tmp_path, PhotoLimits(max_bytes=100))

    with pytest.raises(Problem):
        store.save(JPEG, field=FIELD)
    with pytest.raises(Problem):
        store.save(b"not a photo", field=FIELD)

    assert _files_under(tmp_path) == []


def test_missing_photo_is_not_there(tmp_path: Path) -> None:
    store = PhotoStore(tmp_path)
    sha = hashlib.sha256(b"never saved").hexdigest()

    assert not store.exists(sha)
    with pytest.raises(FileNotFoundError):
        store.read(sha)


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "../" + "a" * 61,
        "a" * 62 + "/x",
        "A" * 64,
        "ab" * 31,
        "a" * 65,
        "a" * 64 + "\n",
        "g" * 64,
        "",
    ],
)
def test_path_refuses_anything_but_a_lowercase_sha256(tmp_path: Path, name: str) -> None:
    store = PhotoStore(tmp_path)

    with pytest.raises(ValueError):
        store.path(name)
    with pytest.raises(ValueError):
        store.exists(name)
    with pytest.raises(ValueError):
        store.read(name)
