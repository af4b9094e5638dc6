"""The photo pipeline: content checks, content-hashed storage and the stripped public variant.

Every image is made here with Pillow (HEIC with pillow-heif); nothing touches the database or var/.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import FileSystemStorage, InMemoryStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, ImageCms
from PIL.PngImagePlugin import PngImageFile, PngInfo

from cityloop.cases import photos
from cityloop.cases.photos import PhotoRejected, StoredPhoto, photo_store, public_url

SHANGHAI = ZoneInfo("Asia/Shanghai")
INVALID = "不是有效的照片（仅支持 JPEG、PNG、WebP、HEIC）"
RED = (255, 0, 0)
BLUE = (0, 0, 255)


# --- image helpers ------------------------------------------------------------------------------


def make_exif(
    *, orientation: int | None = None, taken: str | None = None, offset: str | None = None, gps: bool = True
) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if taken is not None:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken
    if offset is not None:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.OffsetTimeOriginal] = offset
    if gps:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update(
            {
                ExifTags.GPS.GPSLatitudeRef: "N",
                ExifTags.GPS.GPSLatitude: (36.0, 40.0, 12.5),
                ExifTags.GPS.GPSLongitudeRef: "E",
                ExifTags.GPS.GPSLongitude: (117.0, 0.0, 30.0),
            }
        )
    return exif


def two_tone(size: tuple[int, int] = (40, 20), mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: shows where the image went after a rotation."""
    im = Image.new("RGB", size, BLUE)
    im.paste(RED, (0, 0, size[0] // 2, size[1]))
    return im.convert(mode)


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def phone_jpeg(size: tuple[int, int] = (40, 20), **params: object) -> bytes:
    """A JPEG as a phone writes it: rotated by EXIF (6 = turn 90° clockwise), GPS, time taken, XMP, comment."""
    exif = make_exif(orientation=6, taken="2024:05:06 07:08:09")
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">secret-xmp</x:xmpmeta>'
    return encode(two_tone(size), "JPEG", exif=exif, xmp=xmp, comment=b"secret-comment", quality=95, **params)


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares a huge image."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def can_save_heif() -> bool:
    try:
        encode(Image.new("RGB", (8, 8)), "HEIF")
    except (KeyError, OSError, ValueError):
        return False
    return True


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def storage(tmp_path: Path) -> FileSystemStorage:
    return FileSystemStorage(location=tmp_path, base_url="/media/")


def stored_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def open_stored(storage: FileSystemStorage, name: str) -> Image.Image:
    return Image.open(storage.path(name))


def assert_no_metadata(public: Image.Image, raw: bytes) -> None:
    assert len(public.getexif()) == 0
    for key in ("exif", "xmp", "comment", "icc_profile", "XML:com.adobe.xmp", "Comment", "Author"):
        assert key not in public.info
    for secret in (b"secret", b"TestCam", b"Exif\0\0", b"GPS"):
        assert secret not in raw


def pixel(im: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = im.getpixel(xy)
    assert isinstance(value, tuple)
    return value


def close_to(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


# --- accepted types -----------------------------------------------------------------------------


def test_jpeg_original_kept_public_upright_and_stripped(storage: FileSystemStorage, tmp_path: Path) -> None:
    data = phone_jpeg()
    photo = photo_store(data=data, filename="现场.jpg", storage=storage)

    sha = photo.sha256
    assert len(sha) == 64
    assert photo == StoredPhoto(
        sha256=sha,
        original_path=f"photos/{sha[:2]}/{sha[2:4]}/{sha}.jpg",
        public_path=f"photos/public/{sha[:2]}/{sha[2:4]}/{sha}.jpg",
        content_type="image/jpeg",
        size=len(data),
        width=20,
        height=40,
        taken_at=datetime(2024, 5, 6, 7, 8, 9, tzinfo=SHANGHAI),
    )
    assert stored_files(tmp_path) == [photo.original_path, photo.public_path]

    # The original is the upload, byte for byte, GPS included.
    assert Path(storage.path(photo.original_path)).read_bytes() == data
    with open_stored(storage, photo.original_path) as original:
        gps = original.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert gps[ExifTags.GPS.GPSLatitude] == (36.0, 40.0, 12.5)
        assert original.getexif()[ExifTags.Base.Orientation] == 6

    # The public variant: turned upright (the red left half is now on top), no metadata at all.
    public_raw = Path(storage.path(photo.public_path)).read_bytes()
    with open_stored(storage, photo.public_path) as public:
        assert public.format == "JPEG"
        assert public.size == (20, 40)
        assert close_to(pixel(public.convert("RGB"), (10, 5)), RED)
        assert close_to(pixel(public.convert("RGB"), (10, 35)), BLUE)
        assert_no_metadata(public, public_raw)


def test_png_stays_png_without_text_chunks(storage: FileSystemStorage) -> None:
    info = PngInfo()
    info.add_text("Comment", "secret-text")
    info.add_itxt("Author", "secret-作者")
    data = encode(two_tone((30, 10), "RGBA"), "PNG", pnginfo=info, exif=make_exif(orientation=1))
    photo = photo_store(data=data, filename="a.png", storage=storage)

    assert photo.content_type == "image/png"
    assert photo.original_path.endswith(f"{photo.sha256}.png")
    assert photo.public_path == f"photos/public/{photo.sha256[:2]}/{photo.sha256[2:4]}/{photo.sha256}.png"
    assert (photo.width, photo.height, photo.taken_at) == (30, 10, None)
    with open_stored(storage, photo.original_path) as original:
        assert isinstance(original, PngImageFile)
        assert original.text["Comment"] == "secret-text"
    raw = Path(storage.path(photo.public_path)).read_bytes()
    with open_stored(storage, photo.public_path) as public:
        assert isinstance(public, PngImageFile)
        assert public.mode == "RGBA"
        assert public.text == {}
        assert_no_metadata(public, raw)
    for chunk_type in (b"tEXt", b"iTXt", b"zTXt", b"eXIf"):
        assert chunk_type not in raw


def test_palette_png_with_transparency_becomes_rgba(storage: FileSystemStorage) -> None:
    im = Image.new("P", (10, 10), 1)
    im.putpalette([255, 255, 255, 0, 128, 0] + [0] * 762)
    im.paste(0, (0, 0, 5, 10))
    data = encode(im, "PNG", transparency=0)
    photo = photo_store(data=data, storage=storage)
    with open_stored(storage, photo.public_path) as public:
        assert public.mode == "RGBA"
        assert pixel(public, (0, 0))[3] == 0
        assert pixel(public, (9, 0)) == (0, 128, 0, 255)


def test_colour_key_png_keeps_its_transparency(storage: FileSystemStorage) -> None:
    data = encode(two_tone((10, 4)), "PNG", transparency=RED)
    photo = photo_store(data=data, storage=storage)
    with open_stored(storage, photo.public_path) as public:
        assert public.mode == "RGBA"
        assert pixel(public, (0, 0)) == (255, 0, 0, 0)
        assert pixel(public, (9, 0)) == (0, 0, 255, 255)


def test_16_bit_grey_png_is_not_washed_out(storage: FileSystemStorage) -> None:
    photo = photo_store(data=encode(Image.new("I;16", (8, 8), 30000), "PNG"), storage=storage)
    with open_stored(storage, photo.public_path) as public:
        assert (public.mode, public.getpixel((0, 0))) == ("L", 117)


def test_webp_becomes_jpeg_with_transparency_on_white(storage: FileSystemStorage) -> None:
    im = Image.new("RGBA", (16, 8), (0, 0, 255, 255))
    im.paste((0, 0, 0, 0), (0, 0, 8, 8))
    data = encode(im, "WEBP", lossless=True, exif=make_exif(taken="2023:01:02 03:04:05"))
    photo = photo_store(data=data, filename="x.webp", storage=storage)

    assert photo.content_type == "image/webp"
    assert photo.original_path.endswith(".webp")
    assert photo.public_path.endswith(".jpg")
    assert (photo.width, photo.height) == (16, 8)
    assert photo.taken_at == datetime(2023, 1, 2, 3, 4, 5, tzinfo=SHANGHAI)
    raw = Path(storage.path(photo.public_path)).read_bytes()
    with open_stored(storage, photo.public_path) as public:
        assert public.format == "JPEG"
        assert public.mode == "RGB"
        assert close_to(pixel(public, (2, 4)), (255, 255, 255))
        assert close_to(pixel(public, (13, 4)), BLUE)
        assert_no_metadata(public, raw)


@pytest.mark.skipif(not can_save_heif(), reason="pillow-heif cannot encode HEIF on this machine")
def test_heic_becomes_upright_stripped_jpeg(storage: FileSystemStorage) -> None:
    exif = make_exif(orientation=6, taken="2024:08:01 18:30:00", offset="+08:00")
    data = encode(two_tone(), "HEIF", exif=exif.tobytes(), quality=90)
    photo = photo_store(data=data, filename="IMG_0001.HEIC", storage=storage)

    assert photo.content_type == "image/heic"
    assert photo.original_path.endswith(f"{photo.sha256}.heic")
    assert photo.public_path.endswith(".jpg")
    assert (photo.width, photo.height) == (20, 40)
    assert photo.taken_at == datetime(2024, 8, 1, 18, 30, tzinfo=SHANGHAI)
    with open_stored(storage, photo.original_path) as original:
        assert original.format == "HEIF"
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
    raw = Path(storage.path(photo.public_path)).read_bytes()
    with open_stored(storage, photo.public_path) as public:
        assert public.size == (20, 40)
        assert close_to(pixel(public.convert("RGB"), (10, 5)), RED, 60)
        assert close_to(pixel(public.convert("RGB"), (10, 35)), BLUE, 60)
        assert_no_metadata(public, raw)


def test_mpo_from_a_phone_is_a_jpeg(storage: FileSystemStorage) -> None:
    data = encode(two_tone(), "MPO", save_all=True, append_images=[Image.new("RGB", (40, 20))])
    photo = photo_store(data=data, storage=storage)
    assert (photo.content_type, photo.original_path[-4:], photo.public_path[-4:]) == (
        "image/jpeg",
        ".jpg",
        ".jpg",
    )
    assert (photo.width, photo.height) == (40, 20)


def test_srgb_profile_is_dropped(storage: FileSystemStorage) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    photo = photo_store(data=encode(two_tone(), "JPEG", icc_profile=icc), storage=storage)
    with open_stored(storage, photo.public_path) as public:
        assert "icc_profile" not in public.info
        assert close_to(pixel(public, (5, 10)), RED)


def test_other_profiles_are_converted_to_srgb_then_dropped(storage: FileSystemStorage) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    renamed = icc.replace("sRGB".encode("utf-16-be"), "wide".encode("utf-16-be"))  # same colours, other name
    assert renamed != icc
    photo = photo_store(data=encode(two_tone(), "JPEG", icc_profile=renamed), storage=storage)
    with open_stored(storage, photo.public_path) as public:
        assert "icc_profile" not in public.info
        assert close_to(pixel(public, (5, 10)), RED)
        assert close_to(pixel(public, (35, 10)), BLUE)


def test_cmyk_jpeg_public_variant_is_rgb(storage: FileSystemStorage) -> None:
    photo = photo_store(data=encode(two_tone(mode="CMYK"), "JPEG"), storage=storage)
    with open_stored(storage, photo.public_path) as public:
        assert public.mode == "RGB"
        assert close_to(pixel(public, (5, 10)), RED)


def test_data_appended_after_a_jpeg_stays_out_of_the_public_variant(storage: FileSystemStorage) -> None:
    # Phones append data after the JPEG end (motion photos), so this is accepted; the public file is re-encoded.
    data = phone_jpeg() + b"<script>alert(1)</script>"
    photo = photo_store(data=data, storage=storage)
    assert Path(storage.path(photo.original_path)).read_bytes() == data
    assert b"<script>" not in Path(storage.path(photo.public_path)).read_bytes()


def test_garbage_that_decodes_as_pixels_stays_out_of_the_public_variant(storage: FileSystemStorage) -> None:
    # Enough bytes after a full JPEG header decode as noise (libjpeg only warns); that cannot be told apart
    # from a noisy photo, so it is accepted, and the re-encoded public variant carries pixels only.
    data = _jpeg_header_then(b"<script>alert(1)</script>" * 50)
    photo = photo_store(data=data, storage=storage)
    assert (photo.width, photo.height) == (40, 20)
    assert b"<script>" not in Path(storage.path(photo.public_path)).read_bytes()


# --- time taken ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("taken", "offset", "expected"),
    [
        ("2024:05:06 07:08:09", None, datetime(2024, 5, 6, 7, 8, 9, tzinfo=SHANGHAI)),
        ("2024:05:06 07:08:09", "+09:00", datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=9)))),
        ("2024:05:06 07:08:09", "bogus", datetime(2024, 5, 6, 7, 8, 9, tzinfo=SHANGHAI)),
        ("0000:00:00 00:00:00", None, None),
        ("    :  :     :  :  ", None, None),
        (None, None, None),
    ],
)
def test_taken_at(
    storage: FileSystemStorage, taken: str | None, offset: str | None, expected: datetime | None
) -> None:
    data = encode(two_tone(), "JPEG", exif=make_exif(taken=taken, offset=offset))
    assert photo_store(data=data, storage=storage).taken_at == expected


# --- content-hashed storage ---------------------------------------------------------------------


def test_same_bytes_twice_are_stored_once(
    storage: FileSystemStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = phone_jpeg()
    first = photo_store(data=data, storage=storage)
    mtimes = {name: os.stat(storage.path(name)).st_mtime_ns for name in stored_files(tmp_path)}
    monkeypatch.setattr(
        photos, "_public_variant", None
    )  # not made again: its size is read from the stored file
    second = photo_store(data=io.BytesIO(data), filename="again.jpg", storage=storage)

    assert second == first
    assert stored_files(tmp_path) == [first.original_path, first.public_path]
    assert {name: os.stat(storage.path(name)).st_mtime_ns for name in stored_files(tmp_path)} == mtimes


def test_different_bytes_get_different_paths(storage: FileSystemStorage, tmp_path: Path) -> None:
    a = photo_store(data=encode(two_tone(), "JPEG"), storage=storage)
    b = photo_store(data=encode(two_tone(), "JPEG", quality=50), storage=storage)
    assert a.sha256 != b.sha256
    assert len(stored_files(tmp_path)) == 4


def test_a_missing_public_variant_is_made_again(storage: FileSystemStorage) -> None:
    first = photo_store(data=phone_jpeg(), storage=storage)
    os.remove(storage.path(first.public_path))
    assert photo_store(data=phone_jpeg(), storage=storage) == first
    with open_stored(storage, first.public_path) as public:
        assert public.size == (20, 40)


def test_a_failed_write_leaves_no_file(
    storage: FileSystemStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(photos.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        photo_store(data=phone_jpeg(), storage=storage)
    assert stored_files(tmp_path) == []


def test_other_storages_use_save(tmp_path: Path) -> None:
    memory = InMemoryStorage()
    data = phone_jpeg()
    first = photo_store(data=data, storage=memory)
    second = photo_store(data=data, storage=memory)
    assert second == first
    folder = first.original_path.rsplit("/", 1)[0]
    assert memory.listdir(folder) == ([], [first.original_path.rsplit("/", 1)[1]])
    with memory.open(first.original_path) as fh:
        assert fh.read() == data
    with memory.open(first.public_path) as fh, Image.open(fh) as public:
        assert public.size == (20, 40)
    assert stored_files(tmp_path) == []


def test_public_url(storage: FileSystemStorage) -> None:
    photo = photo_store(data=phone_jpeg(), storage=storage)
    assert public_url(photo.public_path, storage=storage) == f"/media/{photo.public_path}"
    with pytest.raises(ValueError, match="not a public photo path"):
        public_url(photo.original_path, storage=storage)


# --- downscaling --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "fmt", "expected"),
    [
        ((4000, 1000), "JPEG", (2048, 512)),
        ((1000, 3000), "PNG", (683, 2048)),
        ((8400, 600), "JPEG", (2048, 146)),  # big enough for the JPEG decoder to scale down while decoding
        ((2048, 2048), "JPEG", (2048, 2048)),
        ((2049, 10), "WEBP", (2048, 10)),
    ],
)
def test_large_photos_are_downscaled(
    storage: FileSystemStorage, size: tuple[int, int], fmt: str, expected: tuple[int, int]
) -> None:
    photo = photo_store(data=encode(two_tone(size), fmt), storage=storage)
    assert (photo.width, photo.height) == expected
    with open_stored(storage, photo.public_path) as public:
        assert public.size == expected
        assert close_to(pixel(public.convert("RGB"), (0, 0)), RED)
        assert close_to(pixel(public.convert("RGB"), (expected[0] - 1, expected[1] - 1)), BLUE)
    with open_stored(storage, photo.original_path) as original:
        assert original.size == size


# --- rejections ---------------------------------------------------------------------------------


def _jpeg_header_then(payload: bytes) -> bytes:
    """A complete JPEG header (tables, frame, scan header) whose compressed data is ``payload``."""
    jpeg = encode(two_tone(), "JPEG")
    start_of_scan = jpeg.index(b"\xff\xda")
    return jpeg[: start_of_scan + 14] + payload


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        pytest.param("这不是照片".encode() * 10, "photo.jpg", id="text-named-jpg"),
        pytest.param(encode(two_tone(), "GIF"), "a.gif", id="gif"),
        pytest.param(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "a.jpg", id="pdf"),
        pytest.param(encode(two_tone(), "BMP"), "a.jpg", id="bmp"),
        pytest.param(encode(two_tone(), "TIFF"), "a.jpg", id="tiff"),
        pytest.param(phone_jpeg()[:400], "cut.jpg", id="truncated-jpeg"),
        pytest.param(encode(two_tone((8400, 600)), "JPEG")[:-2000], "cut.jpg", id="truncated-large-jpeg"),
        pytest.param(encode(two_tone((300, 200)), "PNG")[:-30], "cut.png", id="truncated-png"),
        pytest.param(encode(two_tone((300, 200)), "WEBP")[:-50], "cut.webp", id="truncated-webp"),
        pytest.param(
            b"\xff\xd8\xff\xe0\x00\x10JFIF\x00<?php system($_GET['c']); ?>", "a.jpg", id="jpeg-magic-php"
        ),
        pytest.param(_jpeg_header_then(b"<script>alert(1)</script>"), "a.jpg", id="jpeg-header-short-script"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"<html>hi</html>" * 20, "a.png", id="png-magic-html"),
        pytest.param(b"RIFF\x10\x00\x00\x00WEBPVP8 garbage", "a.webp", id="webp-magic-garbage"),
        pytest.param(
            b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\0" * 50,
            "a.heic",
            id="heic-magic-garbage",
        ),
    ],
)
def test_not_a_photo_is_rejected(
    storage: FileSystemStorage, tmp_path: Path, data: bytes, filename: str
) -> None:
    with pytest.raises(PhotoRejected) as caught:
        photo_store(data=data, filename=filename, storage=storage)
    error = caught.value
    assert (error.message, error.code, error.field) == (INVALID, "photo_rejected", "photo")
    assert error.details == {"reason": "invalid", "filename": filename}
    assert stored_files(tmp_path) == []


@pytest.mark.skipif(not can_save_heif(), reason="pillow-heif cannot encode HEIF on this machine")
def test_truncated_heic_is_rejected(storage: FileSystemStorage, tmp_path: Path) -> None:
    data = encode(two_tone((64, 64)), "HEIF")
    with pytest.raises(PhotoRejected, match="^不是有效的照片"):
        photo_store(data=data[: len(data) // 2], storage=storage)
    assert stored_files(tmp_path) == []


def test_empty_upload_is_rejected(storage: FileSystemStorage, tmp_path: Path) -> None:
    with pytest.raises(PhotoRejected, match="^照片文件为空$"):
        photo_store(data=io.BytesIO(b""), storage=storage)
    assert stored_files(tmp_path) == []


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def test_oversized_bytes_are_rejected(storage: FileSystemStorage, tmp_path: Path) -> None:
    data = phone_jpeg((400, 400))
    assert len(data) > 2048
    with pytest.raises(PhotoRejected) as caught:
        photo_store(data=data, max_bytes=2048, storage=storage)
    assert caught.value.message == "照片超过 2 KB 上限"
    assert caught.value.details["reason"] == "too_large"
    assert stored_files(tmp_path) == []
    # Exactly at the limit is fine.
    assert photo_store(data=data, max_bytes=len(data), storage=storage).size == len(data)


def test_oversized_stream_is_not_read_to_the_end(
    storage: FileSystemStorage, tmp_path: Path, settings: object
) -> None:
    settings.CITYLOOP_MAX_PHOTO_BYTES = 1024 * 1024  # type: ignore[attr-defined]
    stream = CountingStream(phone_jpeg() + b"\0" * (3 * 1024 * 1024))
    with pytest.raises(PhotoRejected, match="^照片超过 1 MB 上限$"):
        photo_store(data=stream, storage=storage)
    assert stream.bytes_read == 1024 * 1024 + 1
    assert stored_files(tmp_path) == []


def test_default_limit_is_10_mb(
    storage: FileSystemStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(django_settings, "CITYLOOP_MAX_PHOTO_BYTES", raising=False)
    stream = CountingStream(b"\xff" * (10 * 1024 * 1024 + 100))
    with pytest.raises(PhotoRejected, match="^照片超过 10 MB 上限$"):
        photo_store(data=stream, storage=storage)
    assert stream.bytes_read == 10 * 1024 * 1024 + 1
    assert stored_files(tmp_path) == []


def test_upload_declaring_a_large_size_is_not_read(storage: FileSystemStorage, tmp_path: Path) -> None:
    upload = SimpleUploadedFile("big.jpg", phone_jpeg((400, 400)), content_type="image/jpeg")
    with pytest.raises(PhotoRejected, match="^照片超过 1.5 KB 上限$"):
        photo_store(data=upload, max_bytes=1536, storage=storage)
    assert upload.tell() == 0
    assert stored_files(tmp_path) == []


def test_upload_within_the_limit_is_stored(storage: FileSystemStorage) -> None:
    data = phone_jpeg()
    photo = photo_store(data=SimpleUploadedFile("a.jpg", data, content_type="text/plain"), storage=storage)
    assert (photo.size, photo.content_type) == (len(data), "image/jpeg")


def test_decompression_bomb_is_rejected(storage: FileSystemStorage, tmp_path: Path) -> None:
    data = bomb_png()
    assert len(data) < 200
    with pytest.raises(PhotoRejected) as caught:
        photo_store(data=data, filename="bomb.png", storage=storage)
    assert caught.value.message == "照片分辨率过大（上限 5000 万像素）"
    assert caught.value.details == {"reason": "too_many_pixels", "filename": "bomb.png"}
    assert stored_files(tmp_path) == []


def test_pixel_cap_below_pillows_own(
    storage: FileSystemStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = encode(two_tone((300, 200)), "JPEG")
    assert photo_store(data=data, storage=storage).width == 300
    monkeypatch.setattr(photos, "MAX_PIXELS", 40_000)
    other = encode(two_tone((300, 200)), "PNG")
    with pytest.raises(PhotoRejected, match="^照片分辨率过大（上限 4 万像素）$"):
        photo_store(data=other, storage=storage)
    assert len(stored_files(tmp_path)) == 2  # only the first photo


def test_bomb_declared_within_pillows_limit_is_caught_by_ours(
    storage: FileSystemStorage, tmp_path: Path
) -> None:
    # 8000 x 8000 = 64 MP: under Pillow's own error threshold, over ours.
    with pytest.raises(PhotoRejected, match="^照片分辨率过大"):
        photo_store(data=bomb_png(8000, 8000), storage=storage)
    assert stored_files(tmp_path) == []
