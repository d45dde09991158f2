"""meetings/cases/images.py: uploads are judged by their content, and refused before they cost memory."""
from __future__ import annotations

import struct
import time
import zlib
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from PIL import Image
from pydicom.encaps import encapsulate
from pydicom.uid import MPEG2MPML

from meetings.cases.images import CheckedImage, ImageRejected, check_upload
from meetings.nhs_number import is_test_number, is_valid

DEMO_DICOM = Path(__file__).resolve().parent.parent / "demo" / "dicom"
LIMITS = {"max_bytes": 20 * 1024 * 1024, "max_pixels": 40_000_000}
NOT_AN_IMAGE = "This file is not a PNG, JPEG or DICOM image"


def picture(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A 1x1 PNG whose IHDR is rewritten to claim another size, with a valid CRC."""
    data = bytearray(picture("PNG", (1, 1)))
    ihdr = 8 + 4  # after the signature and the chunk's length field
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    crc_at = ihdr + 4 + 13
    data[crc_at:crc_at + 4] = struct.pack(">I", zlib.crc32(data[ihdr:crc_at]))
    return bytes(data)


def demo(name: str) -> bytes:
    return (DEMO_DICOM / name).read_bytes()


def rejected(data: bytes, **limits: int) -> str:
    with pytest.raises(ImageRejected) as caught:
        check_upload(data, **{**LIMITS, **limits})
    return str(caught.value)


@pytest.mark.parametrize("fmt, kind, content_type", [("PNG", "png", "image/png"),
                                                      ("JPEG", "jpeg", "image/jpeg")])
def test_png_and_jpeg_are_accepted_with_their_size(fmt, kind, content_type):
    data = picture(fmt)
    assert check_upload(data, **LIMITS) == CheckedImage(kind, content_type, 64, 48, data)


@pytest.mark.parametrize("data", [
    b"Patient notes: nothing to see here\n",
    b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    picture("GIF"),  # an image Pillow reads, but not one we take
    b"DICM" + demo("xr-wrist.dcm")[132:],  # DICOM without its 128-byte preamble
])
def test_other_content_is_refused_whatever_the_file_was_called(data):
    # There is no file name to trust: a text file uploaded as "x.png" arrives as these bytes alone.
    assert rejected(data) == NOT_AN_IMAGE


def test_empty_and_oversized_files_are_refused_before_parsing():
    assert rejected(b"") == "This file is empty"
    junk = b"\x00" * (31 * 1024 * 1024)  # not an image either: the size check must come first
    assert rejected(junk) == "This file is 31 MB; the limit is 20 MB"
    assert rejected(picture("PNG"), max_bytes=100).startswith("This file is 0.")


@pytest.mark.parametrize("side", [
    7_000,  # over our limit, under Pillow's
    10_000,  # over Pillow's warning limit
    50_000,  # over Pillow's hard limit
])
def test_decompression_bomb_is_refused_from_its_header(side):
    bomb = png_claiming(side, side)
    assert len(bomb) < 100
    started = time.perf_counter()
    assert rejected(bomb) == "This image is too large (over 40 million pixels)"
    assert time.perf_counter() - started < 1


def test_truncated_or_corrupt_pictures_are_refused():
    jpeg = picture("JPEG", (256, 256))
    assert rejected(jpeg[: len(jpeg) // 2]) == "This JPEG file is damaged or incomplete"
    png = picture("PNG", (256, 256))
    assert rejected(png[:-30]) == "This PNG file is damaged or incomplete"
    assert rejected(png_claiming(20, 20)) == "This PNG file is damaged or incomplete"


@pytest.mark.parametrize("name, width, height", [("ct-chest-nodule.dcm", 256, 256),
                                                 ("us-kidney-burned-in.dcm", 320, 240),
                                                 ("xr-wrist.dcm", 200, 256)])
def test_demo_dicom_files_are_accepted(name, width, height):
    data = demo(name)
    checked = check_upload(data, **LIMITS)
    assert (checked.kind, checked.content_type) == ("dicom", "application/dicom")
    assert (checked.width, checked.height, checked.data) == (width, height, data)
    assert rejected(data, max_pixels=width * height - 1).startswith("This image is too large")


@pytest.mark.parametrize("name", ["ct-chest-nodule.dcm", "us-kidney-burned-in.dcm", "xr-wrist.dcm"])
def test_demo_dicom_headers_carry_only_synthetic_identifiers(name):
    ds = pydicom.dcmread(DEMO_DICOM / name)
    assert is_valid(ds.PatientID) and is_test_number(ds.PatientID)
    assert str(ds.PatientName).startswith("SYNTHETIC^")
    assert ds.InstitutionName == "Northgate General Hospital"


def test_truncated_dicom_is_refused():
    data = demo("ct-chest-nodule.dcm")
    assert rejected(data[:1000])  # cut inside the header
    assert rejected(data[:-10]) == "This DICOM file is damaged or incomplete"  # cut in the pixels


def test_dicom_without_pixel_data_holds_no_image():
    ds = pydicom.dcmread(BytesIO(demo("xr-wrist.dcm")))
    del ds.PixelData
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    assert rejected(out.getvalue()) == "This DICOM file holds no image"


def test_dicom_we_cannot_decompress_says_so():
    ds = pydicom.dcmread(BytesIO(demo("us-kidney-burned-in.dcm")))
    ds.file_meta.TransferSyntaxUID = MPEG2MPML  # pydicom has no decoder for video
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3 not really MPEG "])
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    assert "compressed in a way Lightbox cannot read" in rejected(out.getvalue())


def test_truncated_files_are_refused_even_after_weasyprint_relaxes_pillow():
    import weasyprint  # noqa: F401  (importing it sets ImageFile.LOAD_TRUNCATED_IMAGES = True)
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES is True
    jpeg = picture("JPEG", (256, 256))
    assert rejected(jpeg[: len(jpeg) // 2]) == "This JPEG file is damaged or incomplete"
    assert rejected(png_claiming(20, 20)) == "This PNG file is damaged or incomplete"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # left as WeasyPrint wants it
