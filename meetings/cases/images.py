"""Checks on an uploaded key image, made from its content alone.

A file name or a browser's Content-Type says nothing trustworthy, so the type is sniffed from the
first bytes and the file is then fully decoded by the matching parser. Size limits are applied to
the byte count before any parsing, and to the pixel count read from the header before any
decoding, so a small file that claims a huge image cannot make the server allocate the memory.
"""
from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO

import pydicom
from pydicom.pixels import get_decoder
from PIL import Image, ImageFile

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOI = b"\xff\xd8\xff"
MEGABYTE = 1024 * 1024  # as MAX_CONTENT_LENGTH is configured
_STRICT_LOCK = threading.Lock()
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "dicom": "application/dicom"}


class ImageRejected(ValueError):
    """An upload we will not keep; str() tells the person uploading what to fix."""


@dataclass(frozen=True)
class CheckedImage:
    """An image that passed every check, with its bytes exactly as uploaded."""

    kind: str
    content_type: str
    width: int
    height: int
    data: bytes


def check_upload(data: bytes, *, max_bytes: int, max_pixels: int) -> CheckedImage:
    """Return the image in `data`, or raise ImageRejected saying why it cannot be used."""
    if not data:
        raise ImageRejected("This file is empty")
    if len(data) > max_bytes:
        raise ImageRejected(f"This file is {_megabytes(len(data))}; the limit is {_megabytes(max_bytes)}")
    kind = _sniff(data)
    if kind is None:
        raise ImageRejected("This file is not a PNG, JPEG or DICOM image")
    try:
        if kind == "dicom":
            width, height = _check_dicom(data, max_pixels)
        else:
            width, height = _check_picture(data, kind, max_pixels)
    except ImageRejected:
        raise
    except Exception as exc:  # parsers raise all sorts on hostile input; none may reach the caller
        raise ImageRejected(f"This {_label(kind)} file is damaged or incomplete") from exc
    return CheckedImage(kind, CONTENT_TYPES[kind], width, height, data)


def _sniff(data: bytes) -> str | None:
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if data.startswith(JPEG_SOI):
        return "jpeg"
    # Only Part 10 files with the 128-byte preamble: headerless DICOM has no reliable signature.
    if data[128:132] == b"DICM":
        return "dicom"
    return None


def _check_picture(data: bytes, kind: str, max_pixels: int) -> tuple[int, int]:
    with warnings.catch_warnings():
        # Pillow only warns between its own limit and twice it; we want a refusal either way.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            # Naming the format stops Pillow trying every other plugin on the bytes.
            with Image.open(BytesIO(data), formats=[kind.upper()]) as img:
                width, height = img.size
                _check_pixels(width * height, max_pixels)
                with _strict_decoding():
                    img.load()
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise ImageRejected(_too_large(max_pixels)) from exc
    return width, height


@contextmanager
def _strict_decoding():
    """Refuse truncated data while decoding.

    WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES on import, after which load() pads a
    cut-off file silently. The lock keeps two checks from restoring each other's value.
    """
    with _STRICT_LOCK:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _check_dicom(data: bytes, max_pixels: int) -> tuple[int, int]:
    ds = pydicom.dcmread(BytesIO(data))
    if "PixelData" not in ds or not ds.get("Rows") or not ds.get("Columns"):
        raise ImageRejected("This DICOM file holds no image")
    frames = int(ds.get("NumberOfFrames") or 1)
    _check_pixels(ds.Rows * ds.Columns * frames, max_pixels)
    if not _can_decode(ds.file_meta.get("TransferSyntaxUID")):
        # Without this, a sound file compressed as, say, JPEG Lossless would be called damaged.
        raise ImageRejected("This DICOM file is compressed in a way Lightbox cannot read; "
                            "export it uncompressed and try again")
    ds.pixel_array  # decodes every frame, so damaged pixel data is caught now rather than on display
    return ds.Columns, ds.Rows


def _can_decode(transfer_syntax: str | None) -> bool:
    try:
        return transfer_syntax is None or get_decoder(transfer_syntax).is_available
    except NotImplementedError:
        return False


def _check_pixels(pixels: int, max_pixels: int) -> None:
    if pixels > max_pixels:
        raise ImageRejected(_too_large(max_pixels))


def _too_large(max_pixels: int) -> str:
    return f"This image is too large (over {max_pixels / 1_000_000:g} million pixels)"


def _megabytes(size: int) -> str:
    # Rounded up to a tenth, so a file just over the limit never reads as equal to it.
    tenths = -(-size * 10 // MEGABYTE)
    return f"{tenths // 10} MB" if tenths % 10 == 0 else f"{tenths / 10:.1f} MB"


def _label(kind: str) -> str:
    return "DICOM" if kind == "dicom" else kind.upper()
