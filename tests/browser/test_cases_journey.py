"""A member submits a case with a DICOM image; the chair accepts it into the upcoming meeting and moves it
to the top of the queue by keyboard; the submitter sees it scheduled."""
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from meetings.extensions import db as _db
from meetings.models import Case, CaseIdentifiers, CaseStatus, Role
from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import PASSWORD, make_meeting, make_user

pytestmark = pytest.mark.browser
DICOM = Path(__file__).resolve().parents[2] / "demo" / "dicom" / "ct-chest-nodule.dcm"


def queue_titles(page):
    return [t.strip() for t in page.locator(".lb-queue__title a").all_inner_texts()]


def test_submit_triage_and_reorder_by_keyboard(browser, live_server, app, db, monkeypatch):
    monkeypatch.setitem(app.config, "ALLOW_TEST_NHS_NUMBERS", True)
    member = make_user(Role.MEMBER, name="Dr Submitting Member")
    chair = make_user(Role.CHAIR, name="Dr Chair Person", home_site=member.home_site)
    meeting = make_meeting(chair=chair, title="Test REAL meeting: upcoming")
    for n, region in enumerate(["Abdomen", "Pelvis"]):
        case = Case(submitter_id=chair.id, site_id=meeting.site_id, meeting_id=meeting.id, queue_position=n,
                    kind="educational", modality="MR", body_region=region, status=CaseStatus.SCHEDULED)
        case.identifiers = CaseIdentifiers()
        db.session.add(case)
    db.session.commit()

    submitter_context = browser.new_context(base_url=live_server)
    page = submitter_context.new_page()
    sign_in(page, member.email, PASSWORD)
    page.get_by_role("link", name="Submit a case").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Submit a case for learning")
    page.get_by_label("Discrepancy or error").check()
    page.get_by_label("How did it come to light?").select_option("random_review")
    page.get_by_label("Modality").select_option("CT")
    page.get_by_label("Body region").fill("Chest")
    page.get_by_label("Clinical question").fill("Breathless, raised D-dimer. ?PE")
    page.get_by_label("Original report").fill("No pulmonary embolus. Lungs clear.")
    page.get_by_label("What was found later, or the outcome").fill("8 mm nodule on follow-up CT.")
    page.locator("#images-0-file").set_input_files(str(DICOM))
    page.locator("#images-0-caption").fill("Axial CT, lung window")
    page.get_by_label("Patient name").fill("Synthetic Browser Patient")
    page.get_by_label("NHS number").fill("999 000 0018")
    page.get_by_label("Date of birth").fill("1951-03-14")
    page.get_by_label("Examination date").fill("2026-01-05")
    page.get_by_label("Reporter", exact=True).select_option(str(chair.id))
    assert_accessible(page)
    page.get_by_role("button", name="Submit case").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My cases")
    expect(page.get_by_role("row", name=re.compile("CT chest"))).to_contain_text("Submitted")
    assert_accessible(page)

    db.session.expire_all()
    new_case = db.session.scalars(_db.select(Case).filter_by(body_region="Chest")).one()
    assert [image.kind for image in new_case.images] == ["dicom"]

    chair_context = browser.new_context(base_url=live_server)
    chair_page = chair_context.new_page()
    sign_in(chair_page, chair.email, PASSWORD)
    chair_page.get_by_role("link", name="Triage").click()
    card = chair_page.locator(f"#triage-case-{new_case.id}")
    card.get_by_label("Meeting").select_option(str(meeting.id))
    assert_accessible(chair_page)
    card.get_by_role("button", name="Accept").click()
    expect(card).to_contain_text("Scheduled for")
    card.get_by_role("link", name=re.compile("Test REAL meeting: upcoming")).click()

    expect(chair_page.locator("#queue-total")).to_contain_text("3 cases")
    assert queue_titles(chair_page) == ["MR abdomen", "MR pelvis", "CT chest"]
    move_up = chair_page.locator(f"#move-up-{new_case.id}")
    move_up.focus()
    chair_page.keyboard.press("Enter")
    expect(chair_page.locator(".lb-queue__title a").nth(1)).to_have_text("CT chest")
    # Focus stays on the same button after the swap, so a keyboard user just presses Enter again.
    expect(chair_page.locator(f"#move-up-{new_case.id}")).to_be_focused()
    chair_page.keyboard.press("Enter")
    expect(chair_page.locator(".lb-queue__title a").first).to_have_text("CT chest")
    assert_accessible(chair_page)
    chair_page.reload()
    assert queue_titles(chair_page) == ["CT chest", "MR abdomen", "MR pelvis"]

    page.reload()
    expect(page.get_by_role("row", name=re.compile("CT chest"))).to_contain_text("Scheduled")
    submitter_context.close()
    chair_context.close()


def test_queue_reorders_by_drag_and_drop(page, db):
    chair = make_user(Role.CHAIR)
    meeting = make_meeting(chair=chair)
    for n, region in enumerate(["Head", "Neck", "Spine"]):
        case = Case(submitter_id=chair.id, site_id=meeting.site_id, meeting_id=meeting.id, queue_position=n,
                    kind="educational", modality="MR", body_region=region, status=CaseStatus.SCHEDULED)
        case.identifiers = CaseIdentifiers()
        db.session.add(case)
    db.session.commit()
    sign_in(page, chair.email, PASSWORD)
    page.goto(f"/meetings/{meeting.id}/queue")
    handles = page.locator(".lb-drag-handle")
    # As a hand drags: press, move over each item in turn (SortableJS animates every swap), release.
    page.set_viewport_size({"width": 1280, "height": 1400})
    handle = handles.nth(2).bounding_box()
    top = page.locator(".lb-queue__item").first.bounding_box()
    page.mouse.move(handle["x"] + 5, handle["y"] + 5)
    page.mouse.down()
    for y in range(int(handle["y"]), int(top["y"]) - 1, -25):
        page.mouse.move(handle["x"] + 5, y)
        page.wait_for_timeout(20)
    page.mouse.move(handle["x"] + 5, top["y"] + 3)
    page.wait_for_timeout(200)
    # The order is saved by the request the drop sends; reloading before it answers would race it.
    with page.expect_response(lambda response: response.url.endswith("/queue/order")):
        page.mouse.up()
    expect(page.locator(".lb-queue__title a").first).to_have_text("MR spine")
    page.reload()
    assert queue_titles(page) == ["MR spine", "MR head", "MR neck"]
