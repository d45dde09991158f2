"""Write three synthetic DICOM files into demo/dicom/ for demos and tests.

Every pixel is drawn here and every identifier is made up: the patients carry NHS numbers from the
999 test range and the hospital is the fictional one from the demo data. The identifiers are there
on purpose (in the header, and burned into the ultrasound image) so that anonymisation has
something to find. The output is byte-for-byte the same on every run: fixed seeds, UIDs hashed from
fixed strings, and Pillow's built-in bitmap font rather than a FreeType one whose rendering could
vary between builds.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

OUT = Path(__file__).resolve().parent.parent / "demo" / "dicom"

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
US_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.6.1"
CR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1"


def nhs_check_digit(first_nine: str) -> int | None:
    total = sum(int(d) * (10 - i) for i, d in enumerate(first_nine))
    digit = 11 - total % 11
    return 0 if digit == 11 else None if digit == 10 else digit


def nhs_test_number(first_nine: str) -> str:
    assert first_nine.startswith("999"), "demo patients must come from the test range"
    digit = nhs_check_digit(first_nine)
    assert digit is not None, f"{first_nine} starts no valid NHS number"
    return first_nine + str(digit)


def uid(name: str) -> str:
    # Hashing a fixed string (under pydicom's own root) keeps UIDs stable between runs.
    return generate_uid(entropy_srcs=["lightbox-demo-dicom", name])


def base_dataset(name: str, sop_class: str, modality: str, patient: dict[str, str]) -> Dataset:
    """A dataset with file meta, the shared study/series details and synthetic identifiers."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = uid(f"{name}/instance")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = uid(f"{name}/study")
    ds.SeriesInstanceUID = uid(f"{name}/series")
    ds.Modality = modality
    ds.PatientName = patient["name"]
    ds.PatientID = patient["nhs_number"]
    ds.IssuerOfPatientID = "NHS"
    ds.PatientBirthDate = patient["birth_date"]
    ds.PatientSex = patient["sex"]
    ds.AccessionNumber = patient["accession"]
    ds.InstitutionName = "Northgate General Hospital"
    ds.InstitutionAddress = "1 Example Road, Northgate"
    ds.ReferringPhysicianName = "SYNTHETIC^REFERRER^^DR"
    ds.OperatorsName = "SYNTHETIC^OPERATOR"
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = "20240115"
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = "101500"
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.Manufacturer = "Lightbox synthetic demo"
    ds.StudyDescription = f"SYNTHETIC {modality} DEMO"
    ds.PatientIdentityRemoved = "NO"
    return ds


def ellipse(shape: tuple[int, int], cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    y, x = np.ogrid[: shape[0], : shape[1]]
    return ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1


def ct_chest() -> Dataset:
    shape = (256, 256)
    hu = np.full(shape, -1000.0)
    hu[ellipse(shape, 128, 128, 88, 118)] = 40  # soft tissue of the chest wall
    # Image left is the patient's right, as radiologists view an axial slice from the feet.
    hu[ellipse(shape, 120, 82, 62, 40)] = -800
    hu[ellipse(shape, 120, 174, 62, 40)] = -800
    hu[ellipse(shape, 100, 128, 26, 20)] = 45  # mediastinum and heart
    hu[ellipse(shape, 190, 128, 14, 14)] = 700  # vertebral body
    hu[ellipse(shape, 84, 76, 5, 5)] = 60  # the nodule: right lung, towards the apex of the slice
    rng = np.random.default_rng(1)
    hu += rng.normal(0, 12, shape)
    stored = np.clip(np.rint(hu + 1024), -32768, 32767).astype(np.int16)

    ds = base_dataset("ct-chest-nodule", CT_IMAGE_STORAGE, "CT", {
        "name": "SYNTHETIC^DEMO PATIENT ONE", "nhs_number": nhs_test_number("999000001"),
        "birth_date": "19540607", "sex": "F", "accession": "NGH-SYN-0001",
    })
    ds.SeriesDescription = "SYNTHETIC CHEST PHANTOM"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.FrameOfReferenceUID = uid("ct-chest-nodule/frame")
    ds.PositionReferenceIndicator = ""
    ds.PatientPosition = "FFS"
    ds.KVP = 120
    ds.AcquisitionNumber = 1
    ds.SliceThickness = 1.0
    ds.PixelSpacing = [1.4, 1.4]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [-179.2, -179.2, -120.0]
    ds.set_pixel_data(stored, "MONOCHROME2", 16, generate_instance_uid=False)
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.RescaleType = "HU"
    ds.WindowCenter = -600
    ds.WindowWidth = 1500
    return ds


def us_kidney() -> Dataset:
    shape = (240, 320)
    rng = np.random.default_rng(2)
    echo = np.full(shape, 70.0)
    echo[ellipse(shape, 130, 160, 60, 100)] = 110  # renal cortex
    echo[ellipse(shape, 130, 160, 30, 60)] = 170  # echogenic renal sinus
    echo[ellipse(shape, 130, 200, 12, 16)] = 15  # a simple cyst, dark
    # Rayleigh-distributed multiplicative noise is what gives ultrasound its speckle.
    pixels = echo * rng.rayleigh(0.8, shape)
    y, x = np.ogrid[: shape[0], : shape[1]]
    angle = np.degrees(np.arctan2(x - 160, y + 40))
    pixels[(np.abs(angle) > 38) | (np.hypot(x - 160, y + 40) > 270)] = 0  # outside the sector
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))

    patient = {
        "name": "SYNTHETIC^DEMO PATIENT TWO", "nhs_number": nhs_test_number("999000002"),
        "birth_date": "19610312", "sex": "M", "accession": "NGH-SYN-0002",
    }
    number = patient["nhs_number"]
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default_imagefont()
    lines = [
        f"DEMO^SYNTHETIC  {number[:3]} {number[3:6]} {number[6:]}  12/03/1961",
        "NORTHGATE GENERAL  US RT KIDNEY",
    ]
    for row, text in enumerate(lines):
        draw.text((4, 3 + 12 * row), text, fill=255, font=font)

    ds = base_dataset("us-kidney-burned-in", US_IMAGE_STORAGE, "US", patient)
    ds.SeriesDescription = "SYNTHETIC RIGHT KIDNEY"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL"]
    ds.set_pixel_data(np.asarray(image), "MONOCHROME2", 8, generate_instance_uid=False)
    ds.BurnedInAnnotation = "YES"
    return ds


def xr_wrist() -> Dataset:
    shape = (256, 200)
    rng = np.random.default_rng(3)
    y, x = np.mgrid[: shape[0], : shape[1]].astype(float)
    density = np.zeros(shape)
    density[ellipse(shape, 140, 100, 130, 72)] = 0.35  # soft tissue of the forearm and hand
    for cx, half_width in ((78, 14), (124, 10)):  # radius and ulna shafts
        shaft = (np.abs(x - cx - (y - 256) * 0.05) < half_width) & (y > 140)
        density[shaft] = 1.0
    for cy, cx in ((118, 80), (116, 104), (120, 126), (96, 86), (94, 110), (98, 132)):  # carpals
        density[ellipse(shape, cy, cx, 10, 11)] = 0.9
    for cx in (70, 92, 114, 136, 156):  # metacarpal bases
        density[(np.abs(x - cx) < 7) & (y > 30) & (y < 82)] = 0.95
    pixels = 300 + 3000 * density + rng.normal(0, 40, shape)
    stored = np.clip(np.rint(pixels), 0, 4095).astype(np.uint16)

    ds = base_dataset("xr-wrist", CR_IMAGE_STORAGE, "CR", {
        "name": "SYNTHETIC^DEMO PATIENT THREE", "nhs_number": nhs_test_number("999000003"),
        "birth_date": "19880229", "sex": "F", "accession": "NGH-SYN-0003",
    })
    ds.SeriesDescription = "SYNTHETIC LEFT WRIST PA"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.BodyPartExamined = "HAND"
    ds.ViewPosition = "PA"
    ds.PatientOrientation = ["R", "H"]
    ds.ImagerPixelSpacing = [0.5, 0.5]
    ds.set_pixel_data(stored, "MONOCHROME2", 12, generate_instance_uid=False)
    ds.WindowCenter = 2000
    ds.WindowWidth = 3600
    return ds


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, build in (("ct-chest-nodule", ct_chest), ("us-kidney-burned-in", us_kidney),
                        ("xr-wrist", xr_wrist)):
        path = OUT / f"{name}.dcm"
        build().save_as(path, enforce_file_format=True)
        print(f"{path.relative_to(OUT.parent.parent)}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
