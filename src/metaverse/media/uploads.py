"""Checking and re-encoding uploaded images: PNG, JPEG or WebP, at most 2 MB and 4096 px a side.

Nothing an admin uploads is served as it came. The image is decoded by Pillow and written
anew in its own format: metadata (EXIF, ICC, text chunks) is dropped, an EXIF rotation is
applied to the pixels first, and an animation keeps only its first frame.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageOps, UnidentifiedImageError

from metaverse.errors import MetaverseError

MAX_UPLOAD_BYTES: Final = 2 * 1024 * 1024
MAX_SIDE_PX: Final = 4096

# Pillow format name -> (file extension, content type).
FORMATS: Final[dict[str, tuple[str, str]]] = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}


class UnsupportedMedia(MetaverseError):
    code = "unsupported_media"


class InvalidImage(MetaverseError):
    code = "invalid_image"


class TooLarge(MetaverseError):
    status = 413
    code = "too_large"


def check_size(size_bytes: int) -> None:
    if size_bytes > MAX_UPLOAD_BYTES:
        raise TooLarge(f"images are limited to {MAX_UPLOAD_BYTES} bytes")


@dataclass(frozen=True, slots=True)
class Upload:
    data: bytes
    extension: str
    content_type: str
    width: int
    height: int


def reencode(data: bytes) -> Upload:
    """Validate `data` as an image we accept and return it re-encoded. CPU-bound: call it
    in a worker thread."""
    check_size(len(data))
    image = _open(data)
    fmt = image.format or ""
    if fmt not in FORMATS:
        raise UnsupportedMedia(f"{fmt or 'this'} images are not accepted: use PNG, JPEG or WebP")
    width, height = image.size
    # The header alone tells the size: refuse before decoding a single pixel.
    if not (0 < width <= MAX_SIDE_PX and 0 < height <= MAX_SIDE_PX):
        raise InvalidImage(f"images are limited to {MAX_SIDE_PX}x{MAX_SIDE_PX} pixels")
    try:
        image.verify()
        # verify() leaves the image unusable: decode again, the first frame only.
        image = Image.open(io.BytesIO(data), formats=[fmt])
        image.seek(0)
        image.load()
        frame = ImageOps.exif_transpose(image)
    except Exception as exc:  # Pillow signals corrupt data with many types
        raise InvalidImage(f"the {fmt} image is damaged or truncated") from exc
    clean = _without_metadata(frame, fmt)
    extension, content_type = FORMATS[fmt]
    return Upload(_encode(clean, fmt), extension, content_type, clean.width, clean.height)


def _open(data: bytes) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise UnsupportedMedia("this is not a PNG, JPEG or WebP image") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImage(f"images are limited to {MAX_SIDE_PX}x{MAX_SIDE_PX} pixels") from exc
    except Exception as exc:  # a recognised header with broken fields
        raise InvalidImage("the image header is damaged") from exc


def _target_mode(image: Image.Image, fmt: str) -> str:
    if image.mode in ("L", "RGB") or (fmt != "JPEG" and image.mode in ("LA", "RGBA")):
        return image.mode
    if fmt == "JPEG":
        return "L" if image.mode in ("1", "LA", "I", "I;16", "F") else "RGB"
    transparent = "A" in image.getbands() or "transparency" in image.info
    return "RGBA" if transparent else "RGB"


def _without_metadata(image: Image.Image, fmt: str) -> Image.Image:
    mode = _target_mode(image, fmt)
    pixels = image if image.mode == mode else image.convert(mode)
    # A new image from raw pixels carries no info dict: no EXIF, ICC, XMP or text chunks.
    return Image.frombytes(mode, pixels.size, pixels.tobytes())


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, "JPEG", quality=90)
    elif fmt == "WEBP":
        image.save(out, "WEBP", quality=90)
    else:
        image.save(out, "PNG")
    return out.getvalue()
