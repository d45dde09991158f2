"""After the meeting the chair rewords a case's summary (the patient's name he slips in is taken out), notes
any other business, checks the draft PDF, publishes the minutes to risk staff and the learning bulletin to
members, checks the published PDF against its printed SHA-256, and publishes an amendment."""
from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from meetings.cases import review
from meetings.models import Attendance, AttendanceStatus, CaseStatus, MeetingStatus, Profession, Role, person_key
from meetings.nhs_number import formatted, synthetic
from tests.browser.conftest import assert_accessible, sign_in, watch_errors
from tests.factories import PASSWORD, make_action, make_case, make_meeting, make_user

pytestmark = pytest.mark.browser
PHONE_390 = {"width": 390, "height": 844}
PATIENT = "Zara Testpatient"
NHS_NUMBER = synthetic(4242)
TITLE = "Chest REAL meeting"


@pytest.fixture
def ended(db):
    chair = make_user(Role.CHAIR, name="Dr Chair Person", profession=Profession.CONSULTANT_RADIOLOGIST)
    site = chair.home_site
    member = make_user(Role.MEMBER, name="Dr Member Person", home_site=site,
                       profession=Profession.TRAINEE_RADIOLOGIST)
    risk = make_user(Role.RISK, name="Rita Risk", home_site=site)
    meeting = make_meeting(chair=chair, title=TITLE, days_ahead=-1, status=MeetingStatus.ENDED)
    first = make_case(chair, meeting, {"patient_name": PATIENT, "nhs_number": NHS_NUMBER},
                      status=CaseStatus.PRESENTED, body_region="Chest",
                      learning_points="Review the lung apices on every chest radiograph.")
    second = make_case(chair, meeting, {"patient_name": "Yusuf Examplecase", "nhs_number": synthetic(4343)},
                       status=CaseStatus.PRESENTED, body_region="Abdomen",
                       clinical_question="Right iliac fossa pain. ?Appendicitis",
                       outcome_text="A retrocaecal appendicitis at surgery.",
                       learning_points="Follow the appendix to its tip.", queue_position=1)
    for case in (first, second):
        review.approve(case, chair, [], [], review.fingerprint(case, images=False))
    for user in (chair, member):
        db.session.add(Attendance(meeting_id=meeting.id, user_id=user.id, person_key=person_key(user.id, None),
                                  name=user.name, email=user.email, profession=user.profession or Profession.OTHER,
                                  site_name=site.name))
    db.session.add(Attendance(meeting_id=meeting.id, person_key=person_key(None, "guest.reporter@test.example.org"),
                              name="Dr Guest Reporter", email="guest.reporter@test.example.org",
                              profession=Profession.REPORTING_RADIOGRAPHER, site_name="Visiting reporting service"))
    db.session.add(Attendance(meeting_id=meeting.id, person_key=person_key(None, None, "Dr Away Person"),
                              name="Dr Away Person", profession=Profession.CONSULTANT_RADIOLOGIST,
                              status=AttendanceStatus.APOLOGIES, site_name=site.name))
    make_action(meeting, member, description="Add an apical view prompt to the chest radiograph checklist")
    db.session.commit()
    return {"chair": chair, "member": member, "risk": risk, "meeting": meeting, "cases": (first, second)}


def _pdf_text(data: bytes) -> list[str]:
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(data)).pages]


def _download(page, link_name) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    return Path(info.value.path()).read_bytes()


def _version(page, number: int):
    return page.get_by_role("listitem").filter(
        has=page.get_by_role("link", name=re.compile(rf"^Version {number} \(PDF, \d+ KB\)$")))


def test_the_chair_edits_checks_publishes_and_amends_the_minutes(browser, live_server, page, ended, smtp_server):
    chair, meeting = ended["chair"], ended["meeting"]
    first = ended["cases"][0]
    sign_in(page, chair.email, PASSWORD)
    page.goto(f"/meetings/{meeting.id}/minutes")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Minutes: {TITLE}")
    expect(page.get_by_text("Not published yet.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^3 present, 1 apolog"))).to_be_visible()
    assert_accessible(page)
    page.evaluate("() => { window.noReloadMarker = true; }")

    # 1. Case 1's summary, with the patient named in a hurry: saved in place, the identifiers taken out.
    section = page.locator(f"#case-{first.id}")
    typed = f"{PATIENT} (NHS {formatted(NHS_NUMBER)}) had a cough; the apical nodule was missed on the first film."
    section.get_by_label("Summary", exact=True).fill(typed)
    section.get_by_role("button", name="Save case 1").click()
    expect(section.get_by_role("status")).to_contain_text("Identifiers were taken out")
    scrubbed = "[PATIENT] (NHS [NHS NUMBER]) had a cough; the apical nodule was missed on the first film."
    expect(section.get_by_label("Summary", exact=True)).to_have_value(scrubbed)
    assert page.evaluate("() => window.noReloadMarker === true"), "the minutes page was reloaded"

    # 2. Any other business.
    other = page.locator("#other-business")
    other.get_by_label("What else was raised").fill("The next audit of CTPA reports starts in the spring.")
    other.get_by_role("button", name="Save any other business").click()
    expect(other.get_by_role("status")).to_contain_text("saved")
    expect(other.get_by_label("What else was raised")).to_have_value("The next audit of CTPA reports starts in the spring.")
    assert page.evaluate("() => window.noReloadMarker === true"), "the minutes page was reloaded"
    assert_accessible(page)

    # 3. The draft: DRAFT on every page, with the new wording and without the patient.
    draft = _pdf_text(_download(page, "Download the draft (PDF)"))
    assert all("DRAFT" in text for text in draft), draft
    whole = " ".join(draft)
    assert scrubbed in whole and "The next audit of CTPA reports" in whole
    assert PATIENT not in whole and NHS_NUMBER not in whole.replace(" ", "")
    assert page.evaluate("() => window.noReloadMarker === true"), "the minutes page was reloaded"

    # 4. Publish: version 1 is current, and its emails went out in the request.
    page.get_by_role("button", name="Publish the minutes").click()
    expect(page.get_by_text("Published version 1.")).to_be_visible()
    v1 = _version(page, 1)
    expect(v1.get_by_text("Current", exact=True)).to_be_visible()
    distribution = page.get_by_role("region", name="Distribution")
    # Risk staff have the PDF; the bulletin goes to every other member of the site (the chair and the member).
    expect(distribution).to_contain_text("Version 1: sent to 3 of 3 recipients")
    assert_accessible(page)

    risk, member = ended["risk"], ended["member"]
    to_risk = [m for m in smtp_server.messages if m["To"] == risk.email]
    assert [m["Subject"] for m in to_risk] == [f"Minutes: {TITLE}"]
    attachments = [part for part in to_risk[0].iter_attachments() if part.get_content_type() == "application/pdf"]
    assert len(attachments) == 1
    emailed_pdf = attachments[0].get_content()
    to_member = [m for m in smtp_server.messages if m["To"] == member.email]
    assert [m["Subject"] for m in to_member] == [f"Learning from {TITLE}"]
    bulletin = to_member[0].get_body(preferencelist=("plain",)).get_content()
    assert "Review the lung apices on every chest radiograph." in bulletin
    assert not list(to_member[0].iter_attachments())
    for message in smtp_server.messages:
        assert PATIENT not in message.as_string()

    # 5. The published PDF is the bytes the page's SHA-256 describes, and the bytes risk staff were sent.
    published = _download(page, re.compile(r"^Version 1 \(PDF, \d+ KB\)$"))
    printed = v1.get_by_text(re.compile(r"^SHA-256 [0-9a-f]{64}$")).inner_text().split()[-1]
    assert hashlib.sha256(published).hexdigest() == printed == hashlib.sha256(emailed_pdf).hexdigest()
    text = " ".join(_pdf_text(published))
    assert "DRAFT" not in text and "Version 1, published" in text and scrubbed in text and PATIENT not in text

    # 6. An amendment must say what it changes; the note is scrubbed too.
    note = page.get_by_label("What this amendment changes")
    with page.expect_response(lambda r: r.url.endswith("/minutes/publish") and r.request.method == "POST") as refused:
        page.get_by_role("button", name="Publish version 2").click()
    assert refused.value.status == 422
    expect(note).to_have_accessible_description(re.compile("Say what this amendment changes"))
    # The error summary at the top links to the note, so a chair at the top of a long page sees it.
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary.get_by_role("link", name=re.compile("Say what this amendment changes"))).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(_version(page, 2)).to_have_count(0)
    expect(page.locator(f"#case-{first.id}").get_by_label("Summary", exact=True)).to_have_value(scrubbed)
    expect(page.get_by_label("What else was raised")).to_have_value("The next audit of CTPA reports starts in the spring.")
    assert_accessible(page)

    note.fill(f"Corrected the summary of case 1 ({PATIENT}).")
    page.get_by_role("button", name="Publish version 2").click()
    expect(page.get_by_text("Published version 2.")).to_be_visible()
    v2 = _version(page, 2)
    expect(v2.get_by_text("Current", exact=True)).to_be_visible()
    expect(v2).to_contain_text("Amendment: Corrected the summary of case 1 ([PATIENT]).")
    expect(_version(page, 1).get_by_text("Superseded", exact=True)).to_be_visible()
    expect(_version(page, 1).get_by_text("Current", exact=True)).to_have_count(0)
    expect(distribution).to_contain_text("Version 2: sent to 1 of 1 recipient")
    assert [m["Subject"] for m in smtp_server.messages if m["To"] == risk.email] == [
        f"Minutes: {TITLE}", f"Amended minutes (version 2): {TITLE}"]
    assert_accessible(page)

    # On a phone the page does not scroll sideways: each SHA-256 wraps.
    context = browser.new_context(base_url=live_server, viewport=PHONE_390, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone_errors = watch_errors(phone)
    sign_in(phone, chair.email, PASSWORD)
    phone.goto(f"/meetings/{meeting.id}/minutes")
    expect(phone.get_by_text(re.compile(r"^SHA-256 [0-9a-f]{64}$"))).to_have_count(2)
    # With is_mobile Chromium widens the layout viewport to fit overflowing content (innerWidth grows with
    # scrollWidth, so comparing those two proves nothing): compare with the screen's own width instead.
    widths = phone.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths == [PHONE_390["width"]] * 2, f"the minutes page scrolls sideways on a phone: {widths}"
    for digest in phone.get_by_text(re.compile(r"^SHA-256 [0-9a-f]{64}$")).all():
        box = digest.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE_390["width"], box
    context.close()
    assert not phone_errors, phone_errors
