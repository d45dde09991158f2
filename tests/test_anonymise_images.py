"""meetings/anonymise/images.py: the meeting room's PNG holds pixels only, rendered as a viewer would."""
from __future__ import annotations

import struct
from io import BytesIO
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import ExifTags, Image, ImageCms
from PIL.PngImagePlugin import PngInfo
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.pixels import convert_color_space
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from meetings.anonymise.images import AnonymisedImage, Box, anonymise_image
from meetings.nhs_number import synthetic

DEMO_DICOM = Path(__file__).resolve().parent.parent / "demo" / "dicom"
DEMO_FILES = ["ct-chest-nodule.dcm", "us-kidney-burned-in.dcm", "xr-wrist.dcm"]
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
BARE_CHUNKS = {"IHDR", "IDAT", "IEND"}
RED, GREY = (220, 20, 20), (90, 90, 90)
# Value representations holding text; any of it could identify a patient, a place or a study.
TEXT_VRS = {"AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UT"}


# --- helpers -------------------------------------------------------------------------------------

def chunk_types(png: bytes) -> list[str]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    types, at = [], 8
    while at < len(png):
        length, kind = struct.unpack(">I4s", png[at:at + 8])
        types.append(kind.decode("ascii"))
        at += 12 + length  # length and type, the data, then the CRC
    return types


def pixels(result: AnonymisedImage) -> np.ndarray:
    with Image.open(BytesIO(result.png)) as img:
        assert img.size == (result.width, result.height)
        return np.asarray(img)


def assert_bare(result: AnonymisedImage, canaries: list[str]) -> None:
    for canary in canaries:
        assert canary.encode() not in result.png
        assert canary.encode("utf-16-be") not in result.png
    types = chunk_types(result.png)
    assert set(types) <= BARE_CHUNKS and types[0] == "IHDR" and types[-1] == "IEND"
    with Image.open(BytesIO(result.png)) as img:
        assert img.info == {} and img.text == {}
        assert not img.getexif()


def dicom_bytes(ds: Dataset) -> bytes:
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def synthetic_dicom(array: np.ndarray, photometric: str = "MONOCHROME2", bits: int = 16,
                    **elements) -> bytes:
    """A secondary capture with made-up identifiers holding `array` (frames first, if several)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SECONDARY_CAPTURE
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=["lightbox-test-anonymise-images"])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SECONDARY_CAPTURE
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    ds.PatientName = "SYNTHETIC^TEST PATIENT"
    ds.PatientID = synthetic(42)
    ds.InstitutionName = "Southmoor Synthetic Infirmary"
    ds.set_pixel_data(array, photometric, bits, generate_instance_uid=False)
    for keyword, value in elements.items():
        setattr(ds, keyword, value)
    return dicom_bytes(ds)


def demo(name: str) -> bytes:
    return (DEMO_DICOM / name).read_bytes()


def demo_changed(name: str, **elements) -> bytes:
    """A demo file with header elements set, or removed where the value is None."""
    ds = pydicom.dcmread(DEMO_DICOM / name)
    for keyword, value in elements.items():
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    return dicom_bytes(ds)


def header_strings(ds: Dataset) -> set[str]:
    """Every text value in the header and file meta, PN components too, of four characters or more."""
    found = set()
    for elem in [*ds.file_meta, *ds.iterall()]:
        if elem.VR not in TEXT_VRS or elem.value is None:
            continue
        for value in elem.value if elem.VM > 1 else [elem.value]:
            text = str(value).strip()
            parts = [text, *text.split("^")] if elem.VR == "PN" else [text]
            found.update(part for part in parts if len(part) >= 4)
    return found


# --- PNG and JPEG uploads ------------------------------------------------------------------------

def sideways_jpeg() -> bytes:
    """60x40 as stored, with a red top-left corner and EXIF saying "rotate 90 degrees clockwise"."""
    img = Image.new("RGB", (60, 40), GREY)
    img.paste(RED, (0, 0, 16, 16))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Artist] = "CANARY-EXIF-ARTIST Dr Synthetic Reporter"
    exif[ExifTags.Base.ImageDescription] = "CANARY-EXIF-DESCRIPTION SYNTHETIC^PATIENT 9990000018"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.UserComment] = b"ASCII\x00\x00\x00CANARY-EXIF-USERCOMMENT"
    exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSMapDatum] = "CANARY-EXIF-GPS-DATUM"
    out = BytesIO()
    img.save(out, "JPEG", quality=95, exif=exif, comment=b"CANARY-JPEG-COMMENT",
             icc_profile=srgb_profile("CANARY-JPEG-ICC"))
    return out.getvalue()


def srgb_profile(canary: str) -> bytes:
    # Pillow embeds profile bytes verbatim, so a canary after a real profile travels with it.
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes() + canary.encode()


JPEG_CANARIES = ["CANARY-EXIF-ARTIST", "CANARY-EXIF-DESCRIPTION", "CANARY-EXIF-USERCOMMENT",
                 "CANARY-EXIF-GPS-DATUM", "CANARY-JPEG-COMMENT", "CANARY-JPEG-ICC", "9990000018"]


def test_jpeg_is_turned_upright_and_loses_exif_comment_and_profile():
    data = sideways_jpeg()
    for canary in JPEG_CANARIES:
        assert canary.encode() in data  # so their absence below means something
    with Image.open(BytesIO(data)) as source:
        assert source.size == (60, 40) and source.getexif()[ExifTags.Base.Orientation] == 6

    result = anonymise_image("jpeg", data)

    assert_bare(result, JPEG_CANARIES)
    assert (result.width, result.height) == (40, 60)
    out = pixels(result).astype(int)
    # Turning clockwise takes the stored top-left corner to the top right.
    assert np.abs(out[5, 34] - RED).max() < 20
    assert np.abs(out[5, 5] - GREY).max() < 20
    assert np.abs(out[54, 5] - GREY).max() < 20


def text_png() -> bytes:
    """An RGBA PNG with every kind of text chunk, EXIF and an ICC profile, all carrying canaries."""
    rgba = np.zeros((30, 50, 4), np.uint8)
    rgba[...] = (*GREY, 255)
    rgba[:, :10] = (250, 250, 250, 0)  # a label no one sees while it is transparent
    rgba[:, 10:20] = (200, 100, 50, 128)  # half see-through
    info = PngInfo()
    info.add_text("Author", "CANARY-PNG-TEXT SYNTHETIC^PATIENT")
    info.add_text("Comment", "CANARY-PNG-ZTXT " + "compressible " * 20, zip=True)
    info.add_itxt("Description", "CANARY-PNG-ITXT Southmoor Synthetic Infirmary", lang="en",
                  tkey="Beschreibung")
    exif = Image.Exif()
    exif[ExifTags.Base.Artist] = "CANARY-PNG-EXIF"
    out = BytesIO()
    Image.fromarray(rgba).save(out, "PNG", pnginfo=info, exif=exif, dpi=(300, 300),
                               icc_profile=srgb_profile("CANARY-PNG-ICC"))
    return out.getvalue()


def test_png_loses_text_exif_and_profile_and_is_flattened_onto_black():
    data = text_png()
    assert {"tEXt", "zTXt", "iTXt", "eXIf", "iCCP", "pHYs"} <= set(chunk_types(data))

    result = anonymise_image("png", data)

    assert_bare(result, ["CANARY-PNG-TEXT", "CANARY-PNG-ZTXT", "CANARY-PNG-ITXT", "CANARY-PNG-EXIF",
                         "CANARY-PNG-ICC", "Southmoor", "Beschreibung"])
    out = pixels(result)
    assert out.shape == (30, 50, 3)  # alpha is flattened, never kept
    assert (out[:, :10] == 0).all()  # what hid under full transparency is gone
    assert (out[:, 10:20] == (100, 50, 25)).all()  # half alpha: half the colour, over black
    assert (out[:, 20:] == GREY).all()


def encoded(img: Image.Image, fmt: str) -> bytes:
    out = BytesIO()
    img.save(out, fmt)
    return out.getvalue()


def test_pictures_of_other_modes_come_out_grey_or_rgb():
    grey16 = Image.fromarray(np.array([[0, 32768, 65535]], np.uint16))
    assert pixels(anonymise_image("png", encoded(grey16, "PNG"))).tolist() == [[0, 128, 255]]

    palette = Image.new("P", (3, 1))
    palette.putpalette([10, 20, 30, 200, 100, 0] + [0] * 762)
    palette.putpixel((1, 0), 1)
    assert pixels(anonymise_image("png", encoded(palette, "PNG"))).tolist() == [
        [[10, 20, 30], [200, 100, 0], [10, 20, 30]]]

    grey_alpha = Image.fromarray(np.array([[[200, 255], [200, 0], [200, 51]]], np.uint8), "LA")
    assert pixels(anonymise_image("png", encoded(grey_alpha, "PNG"))).tolist() == [[200, 0, 40]]

    bilevel = Image.new("1", (2, 1))
    bilevel.putpixel((1, 0), 1)
    assert pixels(anonymise_image("png", encoded(bilevel, "PNG"))).tolist() == [[0, 255]]

    cmyk = anonymise_image("jpeg", encoded(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG"))
    out = pixels(cmyk).astype(int)
    assert out.shape == (8, 8, 3) and np.abs(out - (255, 0, 0)).max() < 10


# --- DICOM uploads -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", DEMO_FILES)
def test_demo_dicom_keeps_no_header_text(name):
    ds = pydicom.dcmread(DEMO_DICOM / name)
    strings = header_strings(ds)
    # The check would pass vacuously if it had not found the identifiers themselves.
    assert {str(ds.PatientName), ds.PatientID, ds.InstitutionName, ds.AccessionNumber,
            ds.PatientBirthDate, ds.StudyDate, ds.SOPInstanceUID} <= strings

    result = anonymise_image("dicom", demo(name))

    assert_bare(result, sorted(strings))
    assert (result.width, result.height) == (ds.Columns, ds.Rows)
    out = pixels(result)
    assert out.shape == (ds.Rows, ds.Columns) and out.dtype == np.uint8


def expected_window(hounsfield: np.ndarray, center: float, width: float) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1 LINEAR windowing, onto 0-255."""
    scaled = ((hounsfield - (center - 0.5)) / (width - 1) + 0.5) * 255
    return np.clip(np.rint(scaled), 0, 255)


def test_ct_is_shown_in_the_window_from_its_header():
    ds = pydicom.dcmread(DEMO_DICOM / "ct-chest-nodule.dcm")
    assert (ds.WindowCenter, ds.WindowWidth) == (-600, 1500)  # a lung window: -1350 to 150 HU
    stored = ds.pixel_array.copy()
    stored[:8, :8] = -1500 + 1024  # below the window (the phantom has nothing that dark)
    ds.PixelData = stored.tobytes()

    out = pixels(anonymise_image("dicom", dicom_bytes(ds))).astype(int)

    hounsfield = stored.astype(float) - 1024
    assert (out[:8, :8] == 0).all()
    assert (out[hounsfield > 150] == 255).all()  # the vertebral body and the nodule
    assert np.abs(out - expected_window(hounsfield, -600, 1500)).max() <= 1
    assert 40 < out[120, 82] < 110  # aerated lung is mid-grey in a lung window

    soft_tissue = pixels(anonymise_image("dicom", demo_changed("ct-chest-nodule.dcm", WindowCenter=40,
                                                               WindowWidth=400))).astype(int)
    assert soft_tissue[120, 82] == 0  # the same lung is black in a soft-tissue window
    assert np.abs(soft_tissue - expected_window(hounsfield, 40, 400))[8:].max() <= 1


def test_first_of_several_windows_is_used():
    several = demo_changed("ct-chest-nodule.dcm", WindowCenter=[-600, 40], WindowWidth=[1500, 400],
                           WindowCenterWidthExplanation=["LUNG", "MEDIASTINUM"])
    assert anonymise_image("dicom", several) == anonymise_image("dicom", demo("ct-chest-nodule.dcm"))


def test_voi_lut_in_the_header_is_preferred_to_its_window():
    lut = Dataset()
    lut.add_new("LUTDescriptor", "US", [4096, 0, 8])
    lut.add_new("LUTData", "US", [0] * 1100 + [255] * 2996)  # white from 1100
    stored = np.array([[0, 1000, 1100, 1200, 4095]], np.uint16)
    data = synthetic_dicom(stored, bits=12, RescaleSlope=1, RescaleIntercept=0, WindowCenter=2048,
                           WindowWidth=4096, VOILUTSequence=[lut])
    assert pixels(anonymise_image("dicom", data)).tolist() == [[0, 0, 255, 255, 255]]


def test_monochrome1_is_inverted():
    normal = pixels(anonymise_image("dicom", demo("xr-wrist.dcm"))).astype(int)
    inverted = demo_changed("xr-wrist.dcm", PhotometricInterpretation="MONOCHROME1")
    assert (pixels(anonymise_image("dicom", inverted)) == 255 - normal).all()
    assert normal[30, 5] < 64 < 192 < normal[200, 78]  # the check is not of a flat image


@pytest.mark.parametrize("name, changes", [
    ("xr-wrist.dcm", {"WindowCenter": None, "WindowWidth": None}),
    ("us-kidney-burned-in.dcm", {}),  # has no window in its header
    ("xr-wrist.dcm", {"WindowWidth": 0}),  # a window pydicom cannot use is as good as none
])
def test_without_a_usable_window_the_grey_levels_still_spread(name, changes):
    out = pixels(anonymise_image("dicom", demo_changed(name, **changes)))
    assert out.min() == 0 and out.max() == 255
    assert len(np.unique(out)) > 50 and out.std() > 40


def test_without_a_window_a_few_extreme_pixels_do_not_flatten_the_rest():
    ramp = np.tile(np.arange(1000, 2000, dtype=np.uint16), (100, 1))
    ramp[:2, :100] = 60000  # 0.2% of pixels, far brighter: burned-in text, say
    out = pixels(anonymise_image("dicom", synthetic_dicom(ramp))).astype(int)
    middle = out[50, 500]
    assert 100 < middle < 156  # the middle of the ramp stays mid-grey
    assert out[2:, 0].max() < 10 and out[2:, -1].min() > 245


def test_multi_frame_shows_the_middle_frame():
    def cine(frames: int) -> np.ndarray:
        array = np.zeros((frames, 24, 64), np.uint16)
        for index in range(frames):
            array[index, 8:16, 4 + 12 * index:12 + 12 * index] = 1000  # each frame marks its place
        return array

    for frames, middle in ((3, 1), (4, 2)):
        out = pixels(anonymise_image("dicom", synthetic_dicom(cine(frames), WindowCenter=500,
                                                              WindowWidth=1000)))
        assert out.shape == (24, 64)
        assert (out == np.where(cine(frames)[middle] > 0, 255, 0)).all()


@pytest.mark.parametrize("photometric, elements, grey", [
    ("MONOCHROME2", {}, 0),
    ("MONOCHROME1", {}, 255),
    ("MONOCHROME2", {"RescaleSlope": 2, "RescaleIntercept": -100}, 0),
    ("MONOCHROME2", {"WindowCenter": 500, "WindowWidth": 200}, 128),
])
def test_a_flat_image_is_one_grey_without_dividing_by_zero(photometric, elements, grey):
    flat = np.full((16, 20), 500, np.uint16)
    out = pixels(anonymise_image("dicom", synthetic_dicom(flat, photometric, **elements)))
    assert out.shape == (16, 20) and (out == grey).all()


def test_colour_dicom_comes_out_rgb():
    rgb = np.zeros((12, 16, 3), np.uint8)
    rgb[..., 0] = np.arange(16) * 16
    rgb[..., 1] = 128
    rgb[:6, :, 2] = 255
    assert (pixels(anonymise_image("dicom", synthetic_dicom(rgb, "RGB", 8))) == rgb).all()

    ybr = synthetic_dicom(convert_color_space(rgb, "RGB", "YBR_FULL"), "YBR_FULL", 8)
    out = pixels(anonymise_image("dicom", ybr)).astype(int)
    assert out.shape == rgb.shape and np.abs(out - rgb).max() <= 2


def test_palette_colour_dicom_goes_through_its_colour_table():
    def table(*values: int) -> bytes:
        return np.array([*values, *[0] * (256 - len(values))], np.uint16).tobytes()

    descriptor = [256, 0, 16]
    data = synthetic_dicom(np.array([[0, 1, 2, 255]], np.uint8), "PALETTE COLOR", 8,
                           RedPaletteColorLookupTableDescriptor=descriptor,
                           GreenPaletteColorLookupTableDescriptor=descriptor,
                           BluePaletteColorLookupTableDescriptor=descriptor,
                           RedPaletteColorLookupTableData=table(0, 65535, 0),
                           GreenPaletteColorLookupTableData=table(0, 0, 32768),
                           BluePaletteColorLookupTableData=table(65535, 0, 0))
    assert pixels(anonymise_image("dicom", data)).tolist() == [
        [[0, 0, 255], [255, 0, 0], [0, 128, 0], [0, 0, 0]]]


# --- redaction boxes -----------------------------------------------------------------------------

def test_boxes_black_out_exactly_their_pixels():
    data = demo("us-kidney-burned-in.dcm")  # identifiers burned into the top two text lines
    plain = pixels(anonymise_image("dicom", data))
    assert plain[3:27, 4:200].max() == 255  # the text is there to hide

    boxed = pixels(anonymise_image("dicom", data, [Box(0, 0, 320, 28), Box(100, 200, 30, 10)]))

    covered = np.zeros(plain.shape, bool)
    covered[0:28, :] = covered[200:210, 100:130] = True
    assert (boxed[covered] == 0).all()
    assert (boxed[~covered] == plain[~covered]).all()


def test_boxes_are_clipped_to_the_image():
    data = synthetic_dicom(np.full((20, 30), 900, np.uint16), WindowCenter=500, WindowWidth=200)
    out = pixels(anonymise_image("dicom", data, [Box(-5, -5, 10, 8), Box(25, 15, 100, 100)]))
    expected = np.full((20, 30), 255)
    expected[0:3, 0:5] = expected[15:, 25:] = 0
    assert (out == expected).all()


def test_boxes_that_cover_nothing_are_ignored():
    data = demo("xr-wrist.dcm")
    plain = anonymise_image("dicom", data)
    ignored = [Box(10, 10, 0, 20), Box(10, 10, 20, 0), Box(10, 10, -5, 20), Box(200, 0, 10, 10),
               Box(0, 256, 10, 10), Box(-20, 10, 20, 10), Box(500, 500, 10, 10)]
    assert anonymise_image("dicom", data, ignored) == plain


def test_boxes_apply_after_orientation_and_to_every_channel():
    out = pixels(anonymise_image("jpeg", sideways_jpeg(), [Box(24, 0, 16, 16)]))
    assert (out[0:16, 24:40] == 0).all()  # the red corner, where it is shown
    assert np.abs(out[5, 5].astype(int) - GREY).max() < 20


@pytest.mark.parametrize("kind, data", [("dicom", demo("ct-chest-nodule.dcm")),
                                        ("jpeg", sideways_jpeg()), ("png", text_png())])
def test_output_is_deterministic(kind, data):
    boxes = [Box(3, 4, 10, 5)]
    assert anonymise_image(kind, data, boxes).png == anonymise_image(kind, data, boxes).png


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        anonymise_image("gif", b"GIF89a")
