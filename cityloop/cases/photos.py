"""The photo pipeline for case attachments (处置前后照片): check, hash, store, and make a public variant.

``photo_store`` checks an upload by its content (JPEG, PNG, WebP or HEIC; never the filename), stores the
original as uploaded under ``photos/ab/cd/<sha256>.<ext>`` (private: it keeps its EXIF, GPS included) and a
public variant under ``photos/public/ab/cd/<sha256>.jpg|.png``: orientation applied, at most 2048 px on the
longer side, every piece of metadata removed (EXIF, GPS, XMP, comments, PNG text chunks and the ICC
profile: colours are converted to sRGB first, so the untagged file shows the same colours). PNG stays PNG;
every other type becomes JPEG. Files are named by the hash of the original, so the same bytes are stored
once. No models here: the caller keeps the returned ``StoredPhoto``.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

import pillow_heif
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from PIL import ExifTags, Image, ImageCms, ImageOps

from cityloop.core.errors import ValidationFailed

pillow_heif.register_heif_opener()

MIB = 1024 * 1024
DEFAULT_MAX_BYTES = 10 * MIB
MAX_PIXELS = 50_000_000  # larger images are refused before decoding (decompression bombs)
MAX_SIDE = 2048  # the longer side of the public variant
JPEG_QUALITY = 85
PHOTO_DIR = "photos"
PUBLIC_DIR = "photos/public"
TAKEN_AT_TZ = ZoneInfo("Asia/Shanghai")

MSG_INVALID = "不是有效的照片（仅支持 JPEG、PNG、WebP、HEIC）"
MSG_EMPTY = "照片文件为空"

# Pillow format -> (content type, extension) of the original. MPO is a JPEG with extra frames (many phones).
_TYPES = {
    "JPEG": ("image/jpeg", ".jpg"),
    "MPO": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
    "HEIF": ("image/heic", ".heic"),
}
_OPEN_FORMATS = ["JPEG", "PNG", "WEBP", "HEIF"]  # Pillow opens MPO through its JPEG plugin
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class PhotoRejected(ValidationFailed):
    """An upload that is not an acceptable photo; ``details["reason"]`` says why (a too-large one is 413)."""

    code = "photo_rejected"

    def __init__(self, message: str, *, field: str | None = None, details: dict | None = None) -> None:
        super().__init__(message, field=field, details=details)
        if self.details.get("reason") == "too_large":
            self.http_status = 413


@dataclass(frozen=True)
class StoredPhoto:
    """A stored photo. ``content_type`` and ``size`` describe the original, ``width``/``height`` the public variant."""

    sha256: str
    original_path: str
    public_path: str
    content_type: str
    size: int
    width: int
    height: int
    taken_at: datetime | None


def photo_store(
    *,
    data: bytes | IO[bytes],
    filename: str = "",
    max_bytes: int | None = None,
    storage: Storage | None = None,
) -> StoredPhoto:
    """Check and store one photo (bytes, or a stream read from its current position); raise ``PhotoRejected``."""
    if max_bytes is None:
        max_bytes = int(getattr(settings, "CITYLOOP_MAX_PHOTO_BYTES", DEFAULT_MAX_BYTES))
    storage = storage if storage is not None else default_storage
    raw = _read_capped(data, max_bytes, filename)
    if not raw:
        raise _rejected(MSG_EMPTY, "empty", filename)

    fmt, taken_at, image = _decode(raw, filename)
    content_type, ext = _TYPES[fmt]
    if fmt == "HEIF" and raw[8:12] not in _HEIC_BRANDS:
        content_type, ext = "image/heif", ".heif"
    sha = hashlib.sha256(raw).hexdigest()
    shard = f"{sha[:2]}/{sha[2:4]}/{sha}"
    original_path = f"{PHOTO_DIR}/{shard}{ext}"
    public_path = f"{PUBLIC_DIR}/{shard}{'.png' if fmt == 'PNG' else '.jpg'}"

    if storage.exists(public_path):  # stored before: the public variant is already made
        with storage.open(public_path, "rb") as fh, Image.open(fh) as public:
            width, height = public.size
    else:
        public_bytes, (width, height) = _public_variant(image, filename)
        public_path = _write(storage, public_path, public_bytes)
    original_path = _write(storage, original_path, raw)
    return StoredPhoto(
        sha256=sha,
        original_path=original_path,
        public_path=public_path,
        content_type=content_type,
        size=len(raw),
        width=width,
        height=height,
        taken_at=taken_at,
    )


def public_url(photo_path: str, *, storage: Storage | None = None) -> str:
    """The URL of a public variant; refuses an original's path (originals keep their GPS position)."""
    if not photo_path.startswith(f"{PUBLIC_DIR}/"):
        raise ValueError(f"not a public photo path: {photo_path!r}")
    return (storage if storage is not None else default_storage).url(photo_path)


# --- checking -----------------------------------------------------------------------------------


def _rejected(message: str, reason: str, filename: str) -> PhotoRejected:
    return PhotoRejected(message, field="photo", details={"reason": reason, "filename": filename})


def _format_bytes(n: int) -> str:
    if n >= MIB:
        return f"{n / MIB:.1f}".removesuffix(".0") + " MB"
    if n >= 1024:
        return f"{n / 1024:.1f}".removesuffix(".0") + " KB"
    return f"{n} 字节"


def _format_pixels(n: int) -> str:
    return f"{n / 10_000:g} 万像素" if n >= 10_000 else f"{n} 像素"


def _too_large(max_bytes: int, filename: str) -> PhotoRejected:
    return _rejected(f"照片超过 {_format_bytes(max_bytes)} 上限", "too_large", filename)


def _too_many_pixels(filename: str) -> PhotoRejected:
    return _rejected(f"照片分辨率过大（上限 {_format_pixels(MAX_PIXELS)}）", "too_many_pixels", filename)


def _read_capped(data: bytes | IO[bytes], max_bytes: int, filename: str) -> bytes:
    """The bytes of ``data``; at most ``max_bytes + 1`` are read from a stream."""
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    else:
        declared = getattr(data, "size", None)  # Django's UploadedFile knows its size
        if isinstance(declared, int) and declared > max_bytes:
            raise _too_large(max_bytes, filename)
        chunks: list[bytes] = []
        remaining = max_bytes + 1
        while remaining > 0:
            chunk = data.read(min(remaining, MIB))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        raw = b"".join(chunks)
    if len(raw) > max_bytes:
        raise _too_large(max_bytes, filename)
    return raw


def _decode(raw: bytes, filename: str) -> tuple[str, datetime | None, Image.Image]:
    """The Pillow format, the time taken and the decoded image of a valid photo; refuse anything else."""
    try:
        with Image.open(io.BytesIO(raw), formats=_OPEN_FORMATS) as im:
            fmt = im.format or ""
            if fmt not in _TYPES:
                raise _rejected(MSG_INVALID, "invalid", filename)
            if im.width * im.height > MAX_PIXELS:
                raise _too_many_pixels(filename)
            im.verify()
        im = Image.open(io.BytesIO(raw), formats=_OPEN_FORMATS)
        taken_at = _taken_at(im)
        _draft(im)
        im.load()  # decodes everything: catches truncated and corrupt data that verify() lets through
    except PhotoRejected:
        raise
    except Image.DecompressionBombError:
        raise _too_many_pixels(filename) from None
    except Exception:  # any failure to parse untrusted bytes means "not a photo"
        raise _rejected(MSG_INVALID, "invalid", filename) from None
    return fmt, taken_at, im


def _taken_at(im: Image.Image) -> datetime | None:
    """EXIF DateTimeOriginal, with its OffsetTimeOriginal if given, else as Asia/Shanghai time."""
    try:
        exif = im.getexif().get_ifd(ExifTags.IFD.Exif)
        value = _exif_text(exif.get(ExifTags.Base.DateTimeOriginal))
        if not value:
            return None
        taken = datetime.strptime(value[:19], "%Y:%m:%d %H:%M:%S")  # noqa: DTZ007 - zone added below
        offset = _exif_text(exif.get(ExifTags.Base.OffsetTimeOriginal))
        if offset:
            try:
                return taken.replace(tzinfo=datetime.strptime(offset, "%z").tzinfo)
            except ValueError:
                pass
        return taken.replace(tzinfo=TAKEN_AT_TZ)
    except Exception:  # a photo with unreadable EXIF is still a photo
        return None


def _exif_text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return value.strip("\x00 ") if isinstance(value, str) else ""


def _draft(im: Image.Image) -> None:
    """Let the JPEG decoder scale a very large photo down while decoding (faster, less memory)."""
    if im.format in ("JPEG", "MPO"):
        ratio = 2 * MAX_SIDE / max(im.size)
        if ratio < 1:
            im.draft(None, (max(1, int(im.width * ratio)), max(1, int(im.height * ratio))))


# --- the public variant ---------------------------------------------------------------------------


def _public_variant(im: Image.Image, filename: str) -> tuple[bytes, tuple[int, int]]:
    """The public JPEG/PNG bytes and their size: upright, downscaled, sRGB, no metadata at all."""
    try:
        as_png = im.format == "PNG"
        icc = im.info.get("icc_profile")
        img = ImageOps.exif_transpose(im)
        if img.mode == "I" or img.mode.startswith("I;16"):  # 16-bit grey PNG: scale, don't clip to white
            img = img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
        img = _png_mode(img) if as_png else _jpeg_mode(img)
        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        img = _to_srgb(img, icc)
        img.info = {}  # Pillow copies info (comment, ICC, transparency, ...) into the saved file
        out = io.BytesIO()
        if as_png:
            img.save(out, "PNG")
        else:
            img.save(out, "JPEG", quality=JPEG_QUALITY)
    except Exception:
        raise _rejected(MSG_INVALID, "invalid", filename) from None
    return out.getvalue(), img.size


def _jpeg_mode(img: Image.Image) -> Image.Image:
    """RGB or L; transparency is laid on white."""
    if img.has_transparency_data:
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        flat.info = dict(img.info)
        return flat
    return img if img.mode in ("RGB", "L") else img.convert("RGB")


def _png_mode(img: Image.Image) -> Image.Image:
    """RGB(A) or L(A), so resizing is smooth (palette images resize by nearest neighbour)."""
    if img.mode in ("RGBA", "LA"):
        return img
    if img.has_transparency_data:  # a palette or colour-key (tRNS) transparency
        return img.convert("RGBA")
    return img if img.mode in ("RGB", "L") else img.convert("RGB")


def _to_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    """Convert to sRGB when the photo carries another ICC profile (e.g. an iPhone's Display P3)."""
    if not icc or img.mode not in ("RGB", "RGBA"):
        return img
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(source).lower():
            return img
        converted = ImageCms.profileToProfile(img, source, _SRGB, outputMode=img.mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return img  # an unusable profile is dropped: the pixels are taken as sRGB
    return converted if converted is not None else img


# --- storage --------------------------------------------------------------------------------------


def _write(storage: Storage, name: str, content: bytes) -> str:
    """Store ``content`` under ``name`` unless it is there already; return the name it is stored under."""
    if storage.exists(name):
        return name
    if isinstance(storage, FileSystemStorage):
        _write_file_atomically(storage, name, content)
        return name
    return storage.save(name, ContentFile(content))


def _write_file_atomically(storage: FileSystemStorage, name: str, content: bytes) -> None:
    """Write to a temporary name in the same folder, flush to disk, then rename over the final name."""
    path = storage.path(name)
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=storage.directory_permissions_mode or 0o777, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        if storage.file_permissions_mode is not None:
            os.chmod(tmp, storage.file_permissions_mode)
        os.replace(tmp, path)  # atomic; a concurrent writer of the same hash writes the same bytes
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
