"""Turn an uploaded key image into the anonymised PNG that the meeting room is shown.

An upload can identify a patient in many places: DICOM header elements, EXIF (names, dates, GPS),
PNG text chunks, an ICC profile's description, and text burned into the pixels. The output is a new
PNG encoded from pixel values alone, so none of the first four can survive; burned-in text is
covered by the black boxes the presenter draws.

DICOM follows the spirit of the PS3.15 Basic Application Level Confidentiality Profile by keeping
nothing of the header at all: only the Image Pixel and presentation elements (group 0028) are kept
from it, to turn the stored values into display grey levels (Modality LUT, then VOI LUT or window).

Input is a CheckedImage's kind and bytes: already sniffed, fully decoded once, and at most 40 million
pixels, so decoding here is expected to succeed.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from io import BytesIO

import numpy as np
import pydicom
from pydicom import Dataset
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi, apply_windowing, pixel_array
from PIL import Image, ImageOps

# pydicom's LUT and windowing work in float64; taking a large image a strip of about this many
# pixels at a time keeps those temporary arrays near 8 MB instead of hundreds.
STRIP_PIXELS = 1 << 20
# The default window is estimated from at most about this many pixels.
SAMPLE_PIXELS = 1 << 20


@dataclass(frozen=True)
class Box:
    """A black redaction box, in the anonymised image's pixel coordinates (after orientation)."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class AnonymisedImage:
    png: bytes
    width: int
    height: int


def anonymise_image(kind: str, data: bytes, boxes: Sequence[Box] = ()) -> AnonymisedImage:
    """Return `data` (a checked "png", "jpeg" or "dicom" upload) as a bare PNG with `boxes` blacked out."""
    if kind == "dicom":
        pixels = _dicom_pixels(data)
    elif kind in ("png", "jpeg"):
        pixels = _picture_pixels(kind, data)
    else:
        raise ValueError(f"Unknown image kind {kind!r}")
    return _encode(pixels, boxes)


def _picture_pixels(kind: str, data: bytes) -> np.ndarray:
    with Image.open(BytesIO(data), formats=[kind.upper()]) as img:
        # Turned upright while the EXIF that says how is still there to read; in place, as a
        # full-size copy of a 40-megapixel picture is 160 MB.
        ImageOps.exif_transpose(img, in_place=True)
        if img.mode.startswith("I"):
            # A 16-bit greyscale PNG: Pillow's convert("L") clips values above 255 rather than scaling.
            return ((np.asarray(img, dtype=np.uint32) + 128) // 257).astype(np.uint8)
        target = "L" if img.mode in ("1", "L", "LA", "La") else "RGB"
        if img.has_transparency_data:
            # Flattened onto black rather than kept: fully transparent pixels can still hold colour
            # values (an unredacted label, say) that nobody sees while drawing boxes, yet anyone can
            # recover from a PNG with alpha. Black is also the background radiology is viewed on.
            black = Image.new("RGBA", img.size, (0, 0, 0, 255))
            img = Image.alpha_composite(black, img.convert("RGBA"))
        return np.array(img if img.mode == target else img.convert(target))


def _dicom_pixels(data: bytes) -> np.ndarray:
    frames = pydicom.dcmread(BytesIO(data), stop_before_pixels=True, specific_tags=["NumberOfFrames"])
    ds = Dataset()
    # Decodes only the middle frame, and fills `ds` with group 0028 alone: no identifying element
    # of the header is kept, so none can reach the output by mistake.
    frame = pixel_array(BytesIO(data), index=int(frames.get("NumberOfFrames") or 1) // 2, ds_out=ds)
    if ds.PhotometricInterpretation == "PALETTE COLOR":
        rgb = apply_color_lut(frame, ds)
        return _to_8_bits(rgb, 8 * rgb.dtype.itemsize)  # a colour LUT's entries span their dtype
    if ds.SamplesPerPixel > 1:
        return _to_8_bits(frame, ds.BitsStored)  # pydicom has already made YBR into RGB
    return _dicom_grey(frame, ds)


def _to_8_bits(rgb: np.ndarray, bits: int) -> np.ndarray:
    return (rgb >> (bits - 8) if bits > 8 else rgb).astype(np.uint8)


def _dicom_grey(frame: np.ndarray, ds: Dataset) -> np.ndarray:
    """Stored values to 8-bit grey: Modality LUT, VOI, scaling, and inversion for MONOCHROME1."""
    voi, low, high = _voi(frame, ds)
    scale = 255 / (high - low) if high != low else 0.0  # a flat image comes out black
    out = np.empty(frame.shape, np.uint8)
    rows = max(1, STRIP_PIXELS // frame.shape[1])
    for top in range(0, frame.shape[0], rows):
        values = voi(apply_modality_lut(frame[top:top + rows], ds))
        out[top:top + rows] = np.clip(np.rint((values - low) * scale), 0, 255)
    if ds.PhotometricInterpretation == "MONOCHROME1":  # there, the lowest value is white
        np.subtract(255, out, out=out)
    return out


def _voi(frame: np.ndarray, ds: Dataset) -> tuple[Callable[[np.ndarray], np.ndarray], float, float]:
    """The VOI transform to apply after the Modality LUT, and the values it gives for black and white.

    As pydicom's apply_voi_lut chooses: the header's VOI LUT, else its first window; when it has
    neither (or a window pydicom refuses), a default window from the pixels themselves.
    """
    luts = ds.get("VOILUTSequence")
    if luts and luts[0].get("LUTDescriptor") and luts[0].get("LUTData") is not None:
        size, first, bits = luts[0].LUTDescriptor
        entries = size or 2**16
        if bits == 8:
            # pydicom 3.0.2 indexes an 8-bit LUT through a uint8 array, which wraps in a table of
            # over 256 entries. The entries are read alike at 16 bits, and their values unchanged.
            luts[0].LUTDescriptor = [size, first, 16]
        table = apply_voi(np.arange(first, first + entries), ds)

        def lookup(values: np.ndarray) -> np.ndarray:
            # The LUT takes integer indices: pydicom warns on the floats a rescale gives, and
            # values far past the table's ends would wrap round in its uint16 index array.
            return apply_voi(np.clip(np.rint(values), first, first + entries - 1).astype(np.int64), ds)

        return lookup, float(table.min()), float(table.max())
    if ds.get("WindowCenter") is not None and ds.get("WindowWidth") is not None:
        try:
            # pydicom windows onto the stored range after rescale; asking what lies far below and
            # far above the window gives the two ends, the right way round even for a negative slope.
            below, above = apply_windowing(np.array([-np.inf, np.inf]), ds)
        except ValueError:  # e.g. a width under 1: fall through to the default window
            pass
        else:
            return (lambda values: apply_windowing(values, ds)), float(below), float(above)
    # No window: the 0.5th to 99.5th percentile, so a few extreme pixels (burned-in text, metal)
    # do not squeeze everything else into a few greys. A strided sample is plenty to find them.
    sample = apply_modality_lut(frame.ravel()[:: max(1, frame.size // SAMPLE_PIXELS)], ds)
    low, high = np.percentile(sample, [0.5, 99.5])
    if high <= low:  # nearly all one value: stretch whatever spread there is
        low, high = sample.min(), sample.max()
    return (lambda values: values), float(low), float(high)


def _encode(pixels: np.ndarray, boxes: Sequence[Box]) -> AnonymisedImage:
    pixels = np.require(pixels, np.uint8, ["C_CONTIGUOUS", "WRITEABLE"])  # ours to draw on
    height, width = pixels.shape[:2]
    for box in boxes:
        left, top = max(box.x, 0), max(box.y, 0)
        right, bottom = min(box.x + box.width, width), min(box.y + box.height, height)
        if left < right and top < bottom:  # an empty box, or one off the image, covers nothing
            pixels[top:bottom, left:right] = 0
    out = BytesIO()
    # A new image made from the bare array has no `info` for the encoder to carry over, so the PNG
    # holds IHDR, IDAT and IEND only: no text, EXIF, ICC profile or timestamp.
    Image.fromarray(pixels).save(out, "PNG")
    return AnonymisedImage(out.getvalue(), width, height)
