"""A chair runs a meeting from the console while an attendee follows on a phone and the projector shows
the room: the phone keeps up within 3 seconds, the attendee answers a poll, and the projector shows the result."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from meetings.cases import review
from meetings.extensions import db
from meetings.models import Case, Role
from tests.browser.conftest import PHONE, assert_accessible, sign_in, watch_errors
from tests.factories import PASSWORD, make_case, make_meeting, make_user

pytestmark = pytest.mark.browser
WITHIN_3_SECONDS = 3_000


@pytest.fixture
def meeting(db):
    chair = make_user(Role.CHAIR, name="Dr Chair Person")
    meeting = make_meeting(chair=chair, title="Chest and MSK REAL meeting")
    for position, (modality, region, question) in enumerate(
            [("CT", "Chest", "Breathless. ?PE"), ("MR", "Knee", "Locking knee. ?Meniscal tear")]):
        case = make_case(chair, meeting, {"patient_name": "Ottilie Wrenfield"}, modality=modality,
                         body_region=region, clinical_question=f"Mrs Wrenfield. {question}",
                         report_text=f"{region} report as issued.")
        case.queue_position = position
        db.session.flush()
        review.approve(case, chair, [], [], review.fingerprint(case, images=False))
    db.session.commit()
    return chair, meeting


def test_the_room_follows_the_chair_and_answers_a_poll(browser, live_server, page, meeting):
    chair, meeting = meeting
    knee_id = db.session.scalar(select(Case.id).where(Case.body_region == "Knee"))
    sign_in(page, chair.email, PASSWORD)
    page.goto(f"/meetings/{meeting.id}/console")
    expect(page.get_by_role("heading", level=1)).to_have_text("Chest and MSK REAL meeting")
    assert_accessible(page)
    join_path = re.sub(r"^https?://[^/]+", "", page.locator("a[href*='/j/']").first.get_attribute("href"))

    phone_context = browser.new_context(base_url=live_server, viewport=PHONE, is_mobile=True, has_touch=True)
    phone = phone_context.new_page()
    phone_errors = watch_errors(phone)
    phone.goto(join_path)
    expect(phone.get_by_role("heading", name="The meeting will start soon")).to_be_visible()
    assert_accessible(phone)

    projector = page.context.new_page()
    projector_errors = watch_errors(projector)
    projector.goto(f"/meetings/{meeting.id}/projector")
    expect(projector.locator(".lb-qr")).to_be_visible()  # the join code, while no case is on screen

    page.get_by_role("button", name="Start the meeting").click()
    expect(phone.locator("#live h2")).to_have_text("CT chest", timeout=WITHIN_3_SECONDS)
    expect(phone.get_by_text("Mrs Wrenfield")).to_have_count(0)
    expect(phone.get_by_text("[PATIENT]. Breathless. ?PE")).to_be_visible()

    page.get_by_role("button", name="Next case →").click()
    expect(phone.locator("#live h2")).to_have_text("MR knee", timeout=WITHIN_3_SECONDS)
    expect(page.locator(".lb-live-queue__item--current")).to_contain_text("MR knee")

    page.get_by_label("Would you have called it? (yes, no, not sure)").check()
    page.get_by_role("button", name="Open the poll").click()
    expect(phone.get_by_label("Yes")).to_be_visible(timeout=WITHIN_3_SECONDS)
    assert_accessible(phone)
    phone.get_by_label("Yes").check()
    phone.get_by_role("button", name="Send answer").click()
    expect(phone.get_by_text("Thank you: your answer is in")).to_be_visible()
    expect(projector.get_by_text("1 answer so far")).to_be_visible(timeout=WITHIN_3_SECONDS)

    page.get_by_role("button", name="Show the results on screen").click()
    result = projector.locator(".lb-results__row").filter(has_text="Yes")
    expect(result).to_contain_text("1 (100%)", timeout=WITHIN_3_SECONDS)
    expect(phone.locator(".lb-results__row").filter(has_text="Yes")).to_contain_text("1 (100%)",
                                                                                        timeout=WITHIN_3_SECONDS)
    # The phone's own answer survives the room's updates rather than offering the form again.
    expect(phone.get_by_role("button", name="Send answer")).to_have_count(0)
    assert_accessible(projector)

    # The chair drives from the projector's keyboard too.
    projector.keyboard.press("2")
    expect(projector.get_by_role("heading", name="Original report")).to_be_visible(timeout=WITHIN_3_SECONDS)
    expect(phone.get_by_text("Knee report as issued.")).to_be_visible(timeout=WITHIN_3_SECONDS)

    # Notes save as the chair types, and follow the room to the case on screen.
    page.get_by_label("Discussion notes").fill("Posterior horn tear visible on the sagittal images.")
    expect(page.locator("[id$='-discussion_notes-meta']")).to_contain_text("Saved")
    # Typing, then the room moves on before the note has saved itself: nothing typed is lost.
    page.get_by_label("Discussion notes").fill("Posterior horn tear visible on the sagittal images. Learning: check")
    projector.keyboard.press("ArrowLeft")
    expect(page.locator("#notes-heading")).to_have_text("Notes: CT chest", timeout=WITHIN_3_SECONDS)
    expect(phone.locator("#live h2")).to_have_text("CT chest", timeout=WITHIN_3_SECONDS)
    knee = db.session.get(Case, knee_id)
    for _ in range(30):
        db.session.refresh(knee)
        if knee.discussion_notes.endswith("Learning: check"):
            break
        page.wait_for_timeout(100)
    assert knee.discussion_notes == "Posterior horn tear visible on the sagittal images. Learning: check"

    page.get_by_role("button", name="End the meeting").click()
    expect(phone.get_by_role("heading", name="The meeting has ended")).to_be_visible(timeout=WITHIN_3_SECONDS)
    phone_context.close()
    assert not phone_errors and not projector_errors, (phone_errors, projector_errors)
