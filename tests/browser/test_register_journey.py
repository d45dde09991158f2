"""An attendee opens the register's link on a phone, signs as a guest with the presence code read off the
projector, and downloads a CPD certificate once the chair closes the register."""
from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from meetings.cases import review
from meetings.models import Role
from tests.browser.conftest import PHONE, assert_accessible, sign_in, watch_errors
from tests.factories import PASSWORD, make_case, make_meeting, make_user

pytestmark = pytest.mark.browser
WITHIN_3_SECONDS = 3_000


@pytest.fixture
def meeting(db):
    chair = make_user(Role.CHAIR, name="Dr Chair Person")
    meeting = make_meeting(chair=chair, title="Neuro REAL meeting")
    case = make_case(chair, meeting, {"patient_name": "Ottilie Wrenfield"},
                     learning_points="Review the venous sinuses on every CT head.")
    db.session.flush()
    review.approve(case, chair, [], [], review.fingerprint(case, images=False))
    db.session.commit()
    return chair, meeting


def test_an_attendee_signs_on_a_phone_and_downloads_a_certificate(browser, live_server, page, meeting, tmp_path):
    chair, meeting = meeting
    sign_in(page, chair.email, PASSWORD)
    page.goto(f"/meetings/{meeting.id}/console")
    join_link = re.sub(r"^https?://[^/]+", "", page.locator("a[href*='/j/']").first.get_attribute("href"))

    phone_context = browser.new_context(base_url=live_server, viewport=PHONE, is_mobile=True, has_touch=True,
                                        accept_downloads=True)
    phone = phone_context.new_page()
    phone_errors = watch_errors(phone)
    phone.goto(join_link)
    expect(phone.get_by_role("link", name="Sign the attendance register")).to_have_count(0)

    page.get_by_role("button", name="Open the register").click()
    expect(page.locator("#console-register .lb-presence-code")).to_be_visible()
    projector = page.context.new_page()
    projector.goto(f"/meetings/{meeting.id}/projector")
    presence_code = projector.locator(".lb-presence-code").first.inner_text()
    assert len(presence_code) == 4 and presence_code.isdigit()

    # The phone is offered the register without reloading.
    phone.get_by_role("link", name="Sign the attendance register").click(timeout=WITHIN_3_SECONDS)
    expect(phone.get_by_role("heading", name="Sign the attendance register")).to_be_visible()
    assert_accessible(phone)
    phone.get_by_label("Full name").fill("Dr Imogen Castellane")
    phone.get_by_label("Email address").fill("imogen.castellane@visiting.example.org")
    phone.get_by_label("Consultant radiologist").check()
    phone.get_by_label("GMC (doctors)").check()
    phone.get_by_label("Registration number").fill("76543")  # too short
    phone.get_by_label("Where you work").fill("Farholm Teleradiology")
    phone.get_by_label("Presence code").fill(presence_code)
    phone.get_by_role("button", name="Sign the register").click()
    expect(phone.get_by_role("alert")).to_contain_text("A GMC number is 7 digits")
    expect(phone.get_by_label("Full name")).to_have_value("Dr Imogen Castellane")
    assert_accessible(phone)
    phone.get_by_label("Registration number").fill("7654321")
    phone.get_by_label("Presence code").fill(presence_code)
    phone.get_by_role("button", name="Sign the register").click()
    expect(phone.get_by_role("heading", name="You are on the register")).to_be_visible()
    assert_accessible(phone)
    expect(page.get_by_text("1 signed the register")).to_be_visible(timeout=WITHIN_3_SECONDS)

    page.get_by_role("button", name="Close the register").click()
    expect(page.get_by_text("certificates sent")).to_be_visible()
    phone.reload()
    expect(phone.get_by_role("heading", name="Your CPD certificate")).to_be_visible()
    with phone.expect_download() as download:
        phone.get_by_role("link", name="Download your certificate (PDF)").click()
    path = tmp_path / "certificate.pdf"
    download.value.save_as(path)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(path.read_bytes())).pages)
    assert "Dr Imogen Castellane" in text and "GMC 7654321" in text and "1.5 CPD credits" in " ".join(text.split())
    phone_context.close()
    assert not phone_errors, phone_errors
