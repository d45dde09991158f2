"""The chair reviews a case's anonymisation: sees what was found, puts back a false positive, covers burned-in
text on the ultrasound by dragging across it, approves, and sees exactly what the room will see."""
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from meetings.extensions import db
from meetings.models import CaseImage, Role
from tests.browser.conftest import PHONE, assert_accessible, sign_in
from tests.factories import PASSWORD, make_case, make_meeting, make_user

pytestmark = pytest.mark.browser
ULTRASOUND = Path(__file__).resolve().parents[2] / "demo" / "dicom" / "us-kidney-burned-in.dcm"


@pytest.fixture
def case_to_review(db):
    chair = make_user(Role.CHAIR, name="Dr Chair Person")
    meeting = make_meeting(chair=chair)
    case = make_case(chair, meeting, {"patient_name": "Hugh Farrant", "referrer_name": "Dr Felix Marchetti"},
                     modality="US", body_region="Abdomen",
                     clinical_question="Mr Farrant, RUQ pain. Discussed with Dr Marchetti and Dr Dolittle.",
                     images=((ULTRASOUND.read_bytes(), "Longitudinal view"),))
    db.session.commit()
    return chair, case


def test_chair_reviews_puts_back_a_false_positive_covers_burned_in_text_and_approves(page, case_to_review):
    chair, case = case_to_review
    sign_in(page, chair.email, PASSWORD)
    page.goto(f"/meetings/{case.meeting_id}/queue")
    page.get_by_role("link", name="Review the anonymisation of case 1").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("US abdomen")
    scrubbed = page.locator(".lb-review-text--scrubbed").first
    expect(scrubbed).to_have_text("[PATIENT], RUQ pain. Discussed with [NAME] and [NAME].")
    assert_accessible(page)

    # Dr Dolittle turns out to be a made-up example in the teaching text: put it back; the preview follows.
    page.get_by_label("Dr Dolittle").check()
    expect(scrubbed).to_have_text("[PATIENT], RUQ pain. Discussed with [NAME] and Dr Dolittle.")
    expect(page.get_by_label("Dr Dolittle")).to_be_focused()

    # Drag across the burned-in label at the top of the ultrasound.
    canvas = page.locator("[data-redact] img")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    scale = box["width"] / 320
    page.mouse.move(box["x"] + 1, box["y"] + 1)
    page.mouse.down()
    page.mouse.move(box["x"] + 125 * scale, box["y"] + 14 * scale, steps=5)
    page.mouse.move(box["x"] + 250 * scale, box["y"] + 28 * scale, steps=5)
    page.mouse.up()
    expect(page.get_by_role("status").filter(has_text="Saved: 1 black box")).to_be_visible()
    expect(page.locator(".lb-box-list li")).to_have_count(1)

    page.get_by_role("button", name="Approve for presentation").click()
    expect(page.locator("#review-state")).to_contain_text("Anonymisation: reviewed")
    page.get_by_role("link", name="See what the room will see").click()
    expect(page.locator(".lb-audience-case")).to_contain_text("Discussed with [NAME] and Dr Dolittle.")
    expect(page.locator(".lb-audience-case")).not_to_contain_text("Farrant")
    assert_accessible(page)

    db.session.expire_all()
    image = db.session.get(CaseImage, case.images[0].id)
    (x, y, width, height), = image.redaction_boxes
    assert x <= 4 and y <= 4 and x + width >= 240 and y + height >= 26
    pixels = Image.open(BytesIO(image.anonymised)).convert("L")
    assert pixels.crop((4, 5, 240, 26)).getextrema() == (0, 0)  # the label's white text is gone


def test_on_a_phone_a_box_can_be_typed_in(browser, live_server, case_to_review):
    chair, case = case_to_review
    context = browser.new_context(base_url=live_server, viewport=PHONE)
    page = context.new_page()
    sign_in(page, chair.email, PASSWORD)
    page.goto(f"/cases/{case.id}/review")
    page.get_by_text("Type a box's position").click()
    page.get_by_label("From the left").fill("0")
    page.get_by_label("From the top").fill("0")
    page.get_by_label("Width").fill("250")
    page.get_by_label("Height").fill("")
    page.get_by_role("button", name="Add the box").click()
    expect(page.get_by_text("whole pixels")).to_be_visible()
    expect(page.get_by_label("Width")).to_have_value("250")
    page.get_by_label("Height").fill("28")
    page.get_by_role("button", name="Add the box").click()
    expect(page.locator(".lb-box-list li")).to_have_text("Box 1: 250 × 28 pixels, 0 from the left and 0 from the top Remove box 1 from image 1")
    assert_accessible(page)
    context.close()
