"""After the meeting the chair sends confidential feedback to the reporter of a presented case, who has no
Lightbox account. The reporter opens the emailed link on a phone, claims it for that phone, acknowledges the
feedback and writes a private reflection (a slip in the minutes loses nothing typed), and downloads it all as a
PDF. The same link on another device shows nothing; the chair sees only that the feedback was acknowledged."""
from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from meetings.extensions import db
from meetings.feedback import links
from meetings.models import CaseStatus, Feedback, MeetingStatus, Role
from tests.browser.conftest import assert_accessible, sign_in, watch_errors
from tests.conftest import approve_for_room, signed_in
from tests.factories import PASSWORD, make_case, make_meeting, make_site, make_user

pytestmark = pytest.mark.browser
PHONE_390 = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
REPORTER_NAME = "Dr Visiting Reporter"
REPORTER_EMAIL = "visiting.reporter@insourcing.example.org"
PATIENT = "Ottilie Wrenfield"
LEARNING = "Compare with the prior chest radiograph before calling a new opacity."
MESSAGE = "Thank you for a report that taught the whole room something."
REFLECTION = ("I will open the prior imaging before reporting a chest CT for cough, and check the lung "
              "apices on every series.\nDiscussed with my supervisor on Friday.")
SAVED_MINUTES = "25"


@pytest.fixture
def presented(app, live_server, monkeypatch):
    # The emailed link is built on BASE_URL: point it at the live server, as a mail client would follow it.
    monkeypatch.setitem(app.config, "BASE_URL", live_server)
    chair = make_user(Role.CHAIR, name="Dr Chair Person", email="chair.person@test.example.org",
                      home_site=make_site(name="Wendlebury General Hospital", code="WGH"))
    make_site(name="Farholm Teleradiology", code="FTR")  # another site of the network the reporter may be from
    meeting = make_meeting(chair=chair, days_ahead=-1, title="Chest REAL meeting", status=MeetingStatus.ENDED)
    case = make_case(chair, meeting, {"patient_name": PATIENT, "reporter_id": None,
                                      "reporter_name": REPORTER_NAME, "reporter_email": REPORTER_EMAIL},
                     status=CaseStatus.PRESENTED, learning_points=LEARNING)
    db.session.commit()
    assert approve_for_room(signed_in(app.test_client(), chair), case).status_code == 303
    return chair, meeting, case


def _no_sideways_scroll(phone) -> None:
    # With is_mobile Chromium widens the layout viewport to fit overflowing content, so clientWidth alone
    # proves little: compare with the phone's own width too.
    scroll, client = phone.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert scroll <= client and scroll <= PHONE_390["width"], f"{phone.url} scrolls sideways: {scroll}px > {client}px"


def _reflection(phone):
    return phone.get_by_label("Your reflection", exact=True)


def _feedback_link(message) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    [link] = set(re.findall(r"https?://\S+/f/[A-Za-z0-9._-]+", text))
    assert f'href="{link}"' in html  # the HTML part leads to the same link
    return urlsplit(link).path


def test_a_reporter_without_an_account_reads_and_reflects_on_feedback(browser, live_server, page, presented,
                                                                       smtp_server, tmp_path):
    chair, meeting, case = presented
    feedback_url = f"/meetings/{meeting.id}/feedback"

    # 1. The chair, from the ended meeting's page, previews and sends the reporter's feedback.
    sign_in(page, chair.email, PASSWORD)
    page.goto(f"/meetings/{meeting.id}")
    page.get_by_role("link", name="Feedback to reporters").click()
    expect(page).to_have_url(re.compile(rf"{feedback_url}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Feedback to reporters")
    row = page.get_by_role("row").filter(has_text="Case 1")
    expect(row).to_contain_text("Ready to send")
    assert_accessible(page)
    row.get_by_role("link", name=re.compile("^Preview and send")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Feedback to the reporter")
    # The chair checks where it goes: the reporter has no account, so a link reaches them.
    expect(page.get_by_text(f"{REPORTER_NAME} <{REPORTER_EMAIL}>")).to_be_visible()
    expect(page.get_by_text("Not a Lightbox user: gets a private link that expires")).to_be_visible()
    preview = page.locator(".lb-feedback-preview")
    expect(preview).to_contain_text(LEARNING)
    expect(preview).not_to_contain_text(PATIENT)
    expect(page.get_by_label("Tell the chairs of their home site").locator("option:checked")).to_have_text(
        "No: the reporter works here, or outside the network")
    page.get_by_label("A message from you (optional)").fill(MESSAGE)
    assert_accessible(page)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path="/tmp/feedback_send.png", full_page=True)
    assert smtp_server.messages == []
    page.get_by_role("button", name="Send the feedback").click()
    expect(page.locator("#flashes")).to_contain_text("The feedback has been sent to the reporter.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Feedback sent")
    sent_url = page.url
    assert_accessible(page)
    page.get_by_role("link", name="Back to feedback to reporters").click()
    expect(page.get_by_role("row").filter(has_text="Case 1")).to_contain_text("Sent")
    expect(page.get_by_role("row").filter(has_text="Case 1")).to_contain_text("not yet acknowledged")
    expect(page.get_by_role("link", name=re.compile("^See what was sent"))).to_be_visible()

    # 2. One email, to the reporter alone, over SMTP: it says there is feedback and where, not what it says.
    [email] = smtp_server.messages
    assert email["To"] == REPORTER_EMAIL
    assert email["Subject"] == "Confidential feedback on a case you reported"
    body = email.get_body(preferencelist=("plain",)).get_content()
    assert LEARNING not in body and MESSAGE not in body and PATIENT not in body
    link = _feedback_link(email)

    context = browser.new_context(base_url=live_server, viewport=PHONE_390, is_mobile=True, has_touch=True,
                                  accept_downloads=True)
    phone = context.new_page()
    phone.set_default_timeout(10_000)
    phone_errors = watch_errors(phone)
    # Opening the link (as a mail scanner would) shows nothing of the feedback and claims nothing.
    phone.goto(link)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your confidential feedback")
    expect(phone.locator("main")).not_to_contain_text(LEARNING)
    _no_sideways_scroll(phone)
    assert_accessible(phone)
    phone.get_by_role("button", name="Open my feedback on this device").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Feedback on a case you reported")
    expect(phone).to_have_url(re.compile(rf"{re.escape(link)}$"))
    for heading in ("The case, as the meeting saw it", "What the meeting said", "A message from the chair"):
        expect(phone.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(phone.locator("main")).to_contain_text(LEARNING)
    expect(phone.locator("main")).to_contain_text(MESSAGE)
    expect(phone.locator("main")).not_to_contain_text(PATIENT)
    _no_sideways_scroll(phone)
    assert_accessible(phone)

    phone.get_by_role("button", name="I have read this feedback").click()
    expect(phone.locator("#flashes")).to_contain_text("the chair will see that you have read it")
    expect(phone.get_by_role("button", name="I have read this feedback")).to_have_count(0)
    expect(phone.get_by_text("You acknowledged this feedback on")).to_be_visible()

    # 3. A slip in the minutes is caught, and the reflection typed is kept. Chromium lets only digits into a
    # number field; other browsers take letters, which reach the server as typed.
    reflection, minutes = _reflection(phone), phone.get_by_label("Time spent reflecting, in minutes")
    reflection.fill(REFLECTION)
    minutes.evaluate("field => field.type = 'text'")
    minutes.fill("abc")
    phone.get_by_role("button", name="Save my reflection").click()
    expect(phone).to_have_title(re.compile(r"^Error: "))
    summary = phone.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_visible()
    expect(_reflection(phone)).to_have_value(REFLECTION)
    assert_accessible(phone)
    phone.get_by_label("Time spent reflecting, in minutes").fill("-5")
    phone.get_by_role("button", name="Save my reflection").click()
    summary = phone.get_by_role("alert").filter(has_text="There is a problem")
    summary.get_by_role("link", name="Enter between 0 and 600 minutes").click()
    expect(phone.get_by_label("Time spent reflecting, in minutes")).to_be_focused()
    expect(_reflection(phone)).to_have_value(REFLECTION)
    _no_sideways_scroll(phone)
    assert_accessible(phone)

    phone.get_by_label("Time spent reflecting, in minutes").fill(SAVED_MINUTES)
    phone.get_by_role("button", name="Save my reflection").click()
    expect(phone.locator("#flashes")).to_contain_text("Your reflection is saved. Only you can see it.")
    phone.reload()
    expect(_reflection(phone)).to_have_value(REFLECTION)
    expect(phone.get_by_label("Time spent reflecting, in minutes")).to_have_value(SAVED_MINUTES)
    expect(phone.get_by_text("Last saved")).to_be_visible()
    _no_sideways_scroll(phone)
    assert_accessible(phone)
    phone.screenshot(path="/tmp/feedback_phone.png", full_page=True)

    # 4. The PDF to keep after the link expires holds the feedback and the reflection.
    with phone.expect_download() as download:
        phone.get_by_role("link", name="Download the feedback and my reflection (PDF)").click()
    assert download.value.suggested_filename.endswith(".pdf")
    path = tmp_path / "feedback.pdf"
    download.value.save_as(path)
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(path.read_bytes())).pages)
    assert " ".join(REFLECTION.split()) in text, text
    assert LEARNING in text and "Time spent reflecting: 25 min" in text, text
    assert PATIENT not in text
    context.close()
    assert not phone_errors, phone_errors

    # 5. The link forwarded, or opened on another device: refused, and nothing of the feedback shown.
    other = browser.new_context(base_url=live_server)
    elsewhere = other.new_page()
    elsewhere.set_default_timeout(10_000)
    other_errors = watch_errors(elsewhere)
    response = elsewhere.goto(link)
    assert response.status == 403
    expect(elsewhere.get_by_role("heading", level=1)).to_have_text("This link was opened on another device")
    body = elsewhere.locator("body")
    for private in (REFLECTION.splitlines()[0], LEARNING, MESSAGE, "The case, as the meeting saw it"):
        expect(body).not_to_contain_text(private)
    assert elsewhere.request.get(f"{link}/feedback.pdf").status == 403
    assert_accessible(elsewhere)
    other.close()
    assert not other_errors, other_errors

    # 6. The chair sees that the feedback was read, and nothing of the reflection.
    page.goto(feedback_url)
    expect(page.get_by_role("row").filter(has_text="Case 1")).to_contain_text("Acknowledged")
    page.goto(sent_url)
    acknowledged = page.locator(".nhsuk-summary-list__row").filter(has_text="Acknowledged").locator("dd")
    expect(acknowledged).not_to_have_text("Not yet")
    expect(acknowledged).to_have_text(re.compile(r"\d{4}"))
    content = page.content()
    assert REFLECTION.splitlines()[0] not in content and "supervisor" not in content
    assert_accessible(page)


def test_the_reflection_field_is_labelled(app, page, presented):
    chair, meeting, case = presented
    chair_client = signed_in(app.test_client(), chair)
    sent = chair_client.post(f"/meetings/{meeting.id}/feedback/{case.id}", data={"message": "", "home_site_id": 0})
    assert sent.status_code == 303
    feedback = db.session.scalar(select(Feedback).where(Feedback.case_id == case.id))
    page.goto(f"/f/{links.token_for(feedback)}")
    page.get_by_role("button", name="Open my feedback on this device").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Feedback on a case you reported")
    # (Each form's hidden CSRF field repeats its id, as on every page with two forms: harmless, as it is hidden.)
    duplicated = page.evaluate("""() => [...document.querySelectorAll('[id]:not(input[type=hidden])')]
        .map(e => e.id).filter((id, i, ids) => ids.indexOf(id) !== i)""")
    assert duplicated == [], f"ids used twice: {duplicated}"
    # A screen reader announces the field by its label, and pressing the label focuses it.
    assert page.get_by_label("Your reflection", exact=True).evaluate_all("els => els.map(e => e.tagName)") == [
        "TEXTAREA"]
