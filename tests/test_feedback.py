"""Feedback to reporters after their case is presented, and pats on the back: sent over real SMTP, read
signed in or by an expiring, device-bound link, acknowledged and reflected on in private."""
from __future__ import annotations

import re
from datetime import date, timedelta
from io import BytesIO

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from meetings.extensions import db
from meetings.models import (
    AuditEvent, Case, CaseKind, CaseStatus, Feedback, MeetingStatus, Pat, Role, utcnow,
)
from meetings.nhs_number import synthetic
from tests.conftest import approve_for_room, signed_in
from tests.factories import make_case, make_meeting, make_site, make_user

PATIENT = {"patient_name": "Hester Mapplethorpe", "nhs_number": synthetic(402_117), "hospital_number": "HM4471"}
REFLECTION = "I will review the lung windows on every CT chest before signing."


def _pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)


def _bodies(message) -> str:
    return "\n".join(part.get_content() for part in message.walk() if part.get_content_type().startswith("text/"))


def _audits(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.fixture
def presented(app, client, login_as, smtp_server):
    """A case presented at an ended meeting, its anonymisation approved; the chair's client is signed in."""
    def make(reporter=None, reporter_email="visiting.reporter@insourcing.example.org", **fields):
        chair = login_as(Role.CHAIR, name="Dr Chair Person")
        submitter = make_user(Role.MEMBER, home_site=chair.home_site)
        meeting = make_meeting(chair=chair, title="Chest REAL meeting", status=MeetingStatus.ENDED, days_ahead=-1)
        identifiers = dict(PATIENT, reporter_id=reporter.id if reporter else None,
                           reporter_name=reporter.name if reporter else "Dr Visiting Reporter",
                           reporter_email=reporter.email if reporter else reporter_email)
        fields.setdefault("status", CaseStatus.PRESENTED)
        case = make_case(submitter, meeting, identifiers, learning_points="Look at the lung windows.",
                         discussion_notes="The room agreed it was subtle.", **fields)
        db.session.commit()
        assert approve_for_room(client, case).status_code == 303
        return chair, meeting, db.session.get(Case, case.id)
    return make


def _send(client, meeting, case, message="Thank you for the learning.", home_site_id=0):
    return client.post(f"/meetings/{meeting.id}/feedback/{case.id}",
                       data={"message": message, "home_site_id": str(home_site_id)})


def _link(message) -> str:
    return re.search(r"https?://[^/\s]+(/f/[A-Za-z0-9._-]+)", _bodies(message)).group(1)


# --- sending ----------------------------------------------------------------------------------------

def test_feedback_goes_to_the_reporter_once_the_case_is_presented(client, presented, smtp_server):
    reporter = make_user(Role.MEMBER, name="Dr Ruth Reporter")
    chair, meeting, case = presented(reporter=reporter)
    listing = client.get(f"/meetings/{meeting.id}/feedback").get_data(as_text=True)
    assert "Ready to send" in listing
    preview = client.get(f"/meetings/{meeting.id}/feedback/{case.id}")
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Look at the lung windows." in page and reporter.email in page
    assert _audits("case.identifiers_viewed"), "the chair's look at where it goes is audited"

    previewed = client.post(f"/meetings/{meeting.id}/feedback/{case.id}",
                            data={"message": "Thanks, Mrs Hester Mapplethorpe's scan taught us all.", "home_site_id": "0",
                                  "preview": "yes"})
    preview_part = previewed.get_data(as_text=True).split('class="lb-feedback-preview"')[1]
    assert previewed.status_code == 200 and "taught us all" in preview_part and "Mapplethorpe" not in preview_part
    assert not smtp_server.messages and db.session.scalar(select(Feedback)) is None
    response = _send(client, meeting, case, message="Thanks, Mrs Hester Mapplethorpe's scan taught us all.")
    assert response.status_code == 303
    feedback = db.session.scalar(select(Feedback))
    assert feedback.recipient_id == reporter.id and not feedback.by_link
    assert "Mapplethorpe" not in feedback.content["message"] and "taught us all" in feedback.content["message"]
    assert feedback.content["learning_points"] == "Look at the lung windows."
    [message] = [m for m in smtp_server.messages if m["To"] == reporter.email]
    assert message["Subject"] == "Confidential feedback on a case you reported"
    body = _bodies(message)
    assert f"/feedback/{feedback.id}" in body and "/f/" not in body
    assert "lung windows" not in body, "what it says stays behind the sign-in"
    assert "Sent" in client.get(f"/meetings/{meeting.id}/feedback").get_data(as_text=True)
    assert _send(client, meeting, case).status_code == 200  # shown what was sent, not sent twice
    assert db.session.scalar(select(Feedback.id).where(Feedback.id != feedback.id)) is None


def test_feedback_waits_until_the_case_is_presented_and_approved(client, presented, smtp_server):
    chair, meeting, case = presented(status=CaseStatus.SCHEDULED)
    refused = client.get(f"/meetings/{meeting.id}/feedback/{case.id}")
    assert refused.status_code == 409 and "not been presented" in refused.get_data(as_text=True)
    assert _send(client, meeting, case).status_code == 409
    case.status = CaseStatus.PRESENTED
    case.clinical_question += " Edited after approval."
    db.session.commit()
    changed = client.get(f"/meetings/{meeting.id}/feedback/{case.id}")
    assert changed.status_code == 409 and "review it again" in changed.get_data(as_text=True)
    assert not smtp_server.messages and db.session.scalar(select(Feedback)) is None


def test_only_the_meetings_chairs_send_feedback(app, presented):
    chair, meeting, case = presented()
    for person in (make_user(Role.MEMBER, home_site=chair.home_site), make_user(Role.CHAIR)):
        db.session.commit()
        other = signed_in(app.test_client(), person)
        assert other.get(f"/meetings/{meeting.id}/feedback").status_code == 404
        assert _send(other, meeting, case).status_code == 404
    assert db.session.scalar(select(Feedback)) is None


# --- the reporter with an account -------------------------------------------------------------------

def test_reporter_acknowledges_and_reflects_in_private(app, client, presented, smtp_server):
    reporter = make_user(Role.MEMBER, name="Dr Ruth Reporter")
    chair, meeting, case = presented(reporter=reporter)
    _send(client, meeting, case)
    feedback = db.session.scalar(select(Feedback))
    mine = signed_in(app.test_client(), reporter)
    assert "1 new piece of feedback" in mine.get("/").get_data(as_text=True)
    page = mine.get(f"/feedback/{feedback.id}").get_data(as_text=True)
    assert "Look at the lung windows." in page and "Thank you for the learning." in page
    assert [e.detail["via"] for e in _audits("feedback.viewed")] == ["account"]

    for person in (chair, make_user(Role.MEMBER, home_site=reporter.home_site), make_user(Role.ADMIN)):
        db.session.commit()
        someone = signed_in(app.test_client(), person)
        assert someone.get(f"/feedback/{feedback.id}").status_code == 404
        assert someone.post(f"/feedback/{feedback.id}/reflection", data={"reflection": "x", "minutes": "1"}).status_code == 404

    sent_page = client.get(f"/meetings/{meeting.id}/feedback/{case.id}").get_data(as_text=True)
    assert "Not yet" in sent_page
    assert mine.post(f"/feedback/{feedback.id}/acknowledge").status_code == 303
    bad = mine.post(f"/feedback/{feedback.id}/reflection", data={"reflection": REFLECTION, "minutes": "-5"})
    assert bad.status_code == 422 and REFLECTION in bad.get_data(as_text=True), "what was typed is kept"
    typo = mine.post(f"/feedback/{feedback.id}/reflection", data={"reflection": REFLECTION, "minutes": "abc"})
    assert typo.status_code == 422 and "Enter the minutes as a whole number, like 20" in typo.get_data(as_text=True)
    assert mine.post(f"/feedback/{feedback.id}/reflection",
                     data={"reflection": REFLECTION, "minutes": "30"}).status_code == 303

    sent_page = client.get(f"/meetings/{meeting.id}/feedback/{case.id}").get_data(as_text=True)
    listing = client.get(f"/meetings/{meeting.id}/feedback").get_data(as_text=True)
    assert "Acknowledged" in sent_page and "Acknowledged" in listing
    assert "lung windows on every CT" not in sent_page + listing, "the chair never sees the reflection"
    assert "lung windows on every CT" not in str([e.detail for e in db.session.scalars(select(AuditEvent))])

    assert REFLECTION in _pdf_text(mine.get(f"/feedback/{feedback.id}/feedback.pdf").data)
    record = _pdf_text(mine.get("/cpd/record.pdf").data)
    assert "Reflections on feedback about my reports" in record and REFLECTION in record
    assert "0.5 from reflection" in mine.get("/cpd").get_data(as_text=True)


# --- the reporter without an account: the link ----------------------------------------------------

def test_external_reporters_link_works_on_one_device_and_cannot_be_guessed(app, client, presented, smtp_server):
    chair, meeting, case = presented()
    assert _send(client, meeting, case).status_code == 303
    feedback = db.session.scalar(select(Feedback))
    assert feedback.by_link and feedback.recipient_email == "visiting.reporter@insourcing.example.org"
    link = _link(smtp_server.messages[-1])

    phone = app.test_client()
    first = phone.get(link)
    assert first.status_code == 200 and "Open my feedback on this device" in first.get_data(as_text=True)
    assert "lung windows" not in first.get_data(as_text=True), "a mail scanner's visit shows and claims nothing"
    assert db.session.scalar(select(Feedback.link_device)) is None
    assert phone.post(f"{link}/open").status_code == 303
    opened = phone.get(link)
    assert opened.status_code == 200 and "Look at the lung windows." in opened.get_data(as_text=True)
    assert opened.headers["Cache-Control"] == "private, no-store" and opened.headers["Referrer-Policy"] == "no-referrer"
    assert phone.post(f"{link}/acknowledge").status_code == 303
    assert phone.post(f"{link}/reflection", data={"reflection": REFLECTION, "minutes": "10"}).status_code == 303
    assert REFLECTION in _pdf_text(phone.get(f"{link}/feedback.pdf").data)

    forwarded = app.test_client()
    for method, path in (("GET", link), ("POST", f"{link}/open"), ("GET", f"{link}/feedback.pdf"),
                         ("POST", f"{link}/reflection")):
        refused = forwarded.open(path, method=method, data={"reflection": "overwritten", "minutes": "1"})
        assert refused.status_code == 403, (method, path)
        assert "lung windows" not in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Feedback, feedback.id).reflection == REFLECTION

    token = link.rsplit("/", 1)[1]
    for guess in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "x" * len(token),
                  token.split(".")[0] + ".forged"):
        assert phone.get(f"/f/{guess}").status_code == 404

    audits = [e.detail["via"] for e in _audits("feedback.viewed")]
    assert audits.count("link") == 1 and audits.count("link pdf") == 1


def test_an_expired_link_offers_a_new_one_to_the_reporters_own_address(app, client, presented, smtp_server):
    chair, meeting, case = presented()
    _send(client, meeting, case)
    old = _link(smtp_server.messages[-1])
    feedback = db.session.scalar(select(Feedback))
    feedback.link_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    stranger = app.test_client()
    expired = stranger.get(old)
    assert expired.status_code == 410 and "This link has expired" in expired.get_data(as_text=True)
    assert "lung windows" not in expired.get_data(as_text=True)

    before = len(smtp_server.messages)
    assert stranger.post(f"{old}/new-link").status_code == 200
    [renewed] = smtp_server.messages[before:]
    assert renewed["To"] == "visiting.reporter@insourcing.example.org", "only ever to the reporter"
    new = _link(renewed)
    replaced = stranger.get(old)
    assert new != old and replaced.status_code == 410 and "This link has been replaced" in replaced.get_data(as_text=True)
    assert "lung windows" not in replaced.get_data(as_text=True)
    reporter = app.test_client()
    reporter.post(f"{new}/open")
    assert "Look at the lung windows." in reporter.get(new).get_data(as_text=True)


def test_feedback_link_days_are_configurable(app, client, presented, smtp_server):
    app.config["FEEDBACK_LINK_DAYS"] = 3
    try:
        chair, meeting, case = presented()
        _send(client, meeting, case)
    finally:
        app.config["FEEDBACK_LINK_DAYS"] = 30
    feedback = db.session.scalar(select(Feedback))
    assert feedback.link_expires_at - feedback.sent_at == timedelta(days=3)


# --- across trusts ----------------------------------------------------------------------------------

def test_reporter_at_another_site_gets_it_and_their_chairs_are_told_only_that_it_was_given(
        app, client, presented, smtp_server):
    elsewhere = make_site(name="Eastfield General Hospital", code="EGH")
    home_chair = make_user(Role.CHAIR, home_site=elsewhere, name="Dr Home Chair", email="home.chair@eastfield.example.org")
    reporter = make_user(Role.MEMBER, home_site=elsewhere, name="Dr Roaming Reporter")
    chair, meeting, case = presented(reporter=reporter)
    form = client.get(f"/meetings/{meeting.id}/feedback/{case.id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{elsewhere.id}">|<option value="{elsewhere.id}" selected', form), \
        "the reporter's home site is suggested"
    assert _send(client, meeting, case, home_site_id=elsewhere.id).status_code == 303
    by_address = {m["To"]: m for m in smtp_server.messages}
    assert set(by_address) == {reporter.email, home_chair.email}
    notice = by_address[home_chair.email]["Subject"] + _bodies(by_address[home_chair.email])
    assert "reporter who works at your site" in notice and "Chest REAL meeting" in notice
    for secret in ("Roaming", reporter.email, "lung windows", "Thank you for the learning", "CT", "subtle"):
        assert secret not in notice, secret
    assert db.session.scalar(select(Feedback.home_site_id)) == elsewhere.id


def test_the_home_site_must_be_another_site_of_the_network(client, presented, smtp_server):
    chair, meeting, case = presented()
    response = _send(client, meeting, case, home_site_id=chair.home_site_id)
    assert response.status_code == 422 and "Thank you for the learning." in response.get_data(as_text=True)
    assert db.session.scalar(select(Feedback)) is None and not smtp_server.messages


# --- pats on the back -------------------------------------------------------------------------------

def test_a_pat_on_the_back_arrives_by_email_and_on_the_recipients_page(app, client, login_as, smtp_server):
    sender = login_as(Role.MEMBER, name="Dr Grateful Colleague")
    recipient = make_user(Role.MEMBER, name="Dr Sharp Eyes", home_site=sender.home_site)
    db.session.commit()
    assert client.get("/pats/new").status_code == 200
    response = client.post("/pats/new", data={"recipient_id": str(recipient.id), "reason": "great_pickup",
                                              "message": "That tiny pneumothorax on the trauma list: superb spot.",
                                              "case_id": "0"})
    assert response.status_code == 303
    pat = db.session.scalar(select(Pat))
    [message] = smtp_server.messages
    assert message["To"] == recipient.email and message["Subject"] == "A pat on the back from Dr Grateful Colleague"
    assert "superb spot" in _bodies(message) and f"/pats/{pat.id}" in _bodies(message)

    theirs = signed_in(app.test_client(), recipient)
    assert "New" in theirs.get("/feedback").get_data(as_text=True)
    assert "superb spot" in theirs.get(f"/pats/{pat.id}").get_data(as_text=True)
    assert [e.detail["by"] for e in _audits("pat.viewed")] == [recipient.id]
    assert theirs.post(f"/pats/{pat.id}/keep", data={"keep": "yes"}).status_code == 303
    record = _pdf_text(theirs.get("/cpd/record.pdf").data)
    assert "Recognition from colleagues" in record and "superb spot" in record

    nosy = signed_in(app.test_client(), make_user(Role.ADMIN, home_site=sender.home_site))
    db.session.commit()
    assert nosy.get(f"/pats/{pat.id}").status_code == 404
    assert client.post(f"/pats/{pat.id}/keep", data={"keep": "no"}).status_code == 404, "only the recipient keeps it"


def test_a_pat_naming_a_patient_is_shown_back_scrubbed_before_it_goes(app, client, login_as, smtp_server):
    sender = login_as(Role.MEMBER)
    recipient = make_user(Role.MEMBER, home_site=sender.home_site)
    db.session.commit()
    typed = f"Great spot on Mrs Hester Mapplethorpe, NHS {PATIENT['nhs_number']}, yesterday."
    form = {"recipient_id": str(recipient.id), "reason": "good_report", "message": typed, "case_id": "0"}
    shown = client.post("/pats/new", data=form)
    page = shown.get_data(as_text=True)
    assert shown.status_code == 422 and "took out what looked like patient details" in page
    assert "Mapplethorpe" not in page and PATIENT["nhs_number"] not in page and "Great spot on" in page
    assert not smtp_server.messages and db.session.scalar(select(Pat)) is None
    scrubbed = re.search(r"<textarea[^>]*>(.*?)</textarea>", page, re.S).group(1).strip()
    assert client.post("/pats/new", data=dict(form, message=scrubbed.replace("&#39;", "'"))).status_code == 303
    assert "Mapplethorpe" not in _bodies(smtp_server.messages[0])


def test_a_pat_can_carry_a_case_as_the_room_saw_it(app, client, presented, smtp_server):
    chair, meeting, case = presented()
    colleague = make_user(Role.MEMBER, home_site=chair.home_site)
    db.session.commit()
    outsider = signed_in(app.test_client(), make_user(Role.MEMBER))
    db.session.commit()
    def offered(page: str) -> list[str]:
        return re.findall(r'<option value="(\d+)"', re.search(r'<select[^>]*name="case_id".*?</select>', page, re.S).group(0))
    assert offered(outsider.get("/pats/new").get_data(as_text=True)) == ["0"], "not their site's meeting"
    assert outsider.post("/pats/new", data={"recipient_id": str(colleague.id), "reason": "good_report",
                                            "message": "Nice", "case_id": str(case.id)}).status_code == 422
    form = client.get("/pats/new").get_data(as_text=True)
    assert "Chest REAL meeting" in form and "case 1, CT chest" in form and str(case.id) in offered(form)
    assert client.post("/pats/new", data={"recipient_id": str(colleague.id), "reason": "good_report",
                                          "message": "Your report made this case.", "case_id": str(case.id)}
                       ).status_code == 303
    pat = db.session.scalar(select(Pat))
    assert pat.case_title == "CT chest" and pat.case_learning == "Look at the lung windows."
    assert "Look at the lung windows." in _bodies(smtp_server.messages[-1])


def test_a_great_pickup_is_nominated_and_its_reporter_thanked_in_one_step(app, client, login_as, smtp_server,
                                                                          monkeypatch):
    monkeypatch.setitem(app.config, "ALLOW_TEST_NHS_NUMBERS", True)  # the synthetic numbers are 999s
    submitter = login_as(Role.MEMBER)
    reporter = make_user(Role.MEMBER, name="Dr Keen Eye", home_site=submitter.home_site)
    next_meeting = make_meeting(chair=make_user(Role.CHAIR, home_site=submitter.home_site), days_ahead=10)
    make_meeting(chair=next_meeting.chair, days_ahead=40)
    db.session.commit()
    form = client.get("/cases/new?kind=great_pickup").get_data(as_text=True)
    assert re.search(r'value="great_pickup"[^>]*checked|checked[^>]*value="great_pickup"', form)
    data = {
        "kind": "great_pickup", "came_to_light": "other", "modality": "XR", "body_region": "Wrist",
        "clinical_question": "Fall on outstretched hand.", "report_text": "Subtle scaphoid waist fracture.",
        "outcome_text": "Confirmed on MR.", "suggested_learning": "", "patient_name": PATIENT["patient_name"],
        "nhs_number": PATIENT["nhs_number"], "hospital_number": "", "date_of_birth": "1970-01-01",
        "accession_number": "", "examination_date": date.today().isoformat(), "site_id": str(submitter.home_site_id),
        "reporter_id": "0", "reporter_name": "Dr Visiting", "reporter_email": "visiting@example.org",
        "referrer_name": "", "thank_reporter": "y", "thanks": "Brilliant spot on Hester Mapplethorpe's wrist.",
    }
    refused = client.post("/cases/new", data=data)
    assert refused.status_code == 422 and "Pats on the back go to Lightbox users" in refused.get_data(as_text=True)
    assert db.session.scalar(select(Case)) is None
    accepted = client.post("/cases/new", data=dict(data, reporter_id=str(reporter.id), reporter_name="",
                                                    reporter_email=""))
    assert accepted.status_code == 303, re.findall(r"<li><a href=\"#[^\"]*\">(.*?)</a>", accepted.get_data(as_text=True))
    case = db.session.scalar(select(Case))
    pat = db.session.scalar(select(Pat))
    assert case.kind == CaseKind.GREAT_PICKUP and case.status == CaseStatus.SUBMITTED
    assert pat.case_id == case.id and pat.recipient_id == reporter.id and pat.reason == "great_pickup"
    assert "Mapplethorpe" not in pat.message and "Brilliant spot" in pat.message
    [message] = smtp_server.messages
    assert message["To"] == reporter.email and "Mapplethorpe" not in _bodies(message)

    chair = signed_in(app.test_client(), next_meeting.chair)
    triage = chair.get("/cases/triage").get_data(as_text=True)
    assert re.search(rf'<option selected value="{next_meeting.id}">|<option value="{next_meeting.id}" selected',
                     triage), "the chair is offered the next meeting for a great pickup"


def test_a_pat_for_another_kind_of_case_is_refused_with_everything_kept(client, login_as):
    login_as(Role.MEMBER)
    response = client.post("/cases/new", data={"kind": "discrepancy", "thank_reporter": "y",
                                               "thanks": "Kept words", "body_region": "Chest"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "A pat on the back goes with a great pickup" in page and "Kept words" in page


# --- great pickups counted ----------------------------------------------------------------------------

def test_console_and_minutes_count_great_pickups_beside_discrepancies(app, client, login_as):
    chair = login_as(Role.CHAIR)
    meeting = make_meeting(chair=chair, status=MeetingStatus.ENDED, days_ahead=-1)
    submitter = make_user(Role.MEMBER, home_site=chair.home_site)
    kinds = [("great_pickup", False), ("discrepancy", True), ("discrepancy", False), ("near_miss", False),
             ("educational", False)]
    for position, (kind, flagged) in enumerate(kinds):
        case = make_case(submitter, meeting, dict(PATIENT), kind=kind, great_pickup=flagged,
                         status=CaseStatus.PRESENTED, queue_position=position)
        db.session.commit()
        assert approve_for_room(client, case).status_code == 303
    console = client.get(f"/meetings/{meeting.id}/console").get_data(as_text=True)
    assert "5 cases: 2 great pickups, 1 discrepancy, 1 near miss, 1 other" in console, "each case counted once"
    minutes = client.get(f"/meetings/{meeting.id}/minutes").get_data(as_text=True)
    assert "2 great pickups, 1 discrepancy, 1 near miss, 1 other" in minutes
    pdf = " ".join(_pdf_text(client.get(f"/meetings/{meeting.id}/minutes.pdf").data).split())
    assert "5 cases presented: 2 great pickups, 1 discrepancy, 1 near miss, 1 other." in pdf
    assert "Recognised as a great pickup" in pdf


# --- what the review of the first version found -------------------------------------------------------

def test_feedback_waits_for_the_end_of_the_meeting(client, presented, smtp_server):
    chair, meeting, case = presented()
    meeting.status = MeetingStatus.LIVE
    db.session.commit()
    refused = client.get(f"/meetings/{meeting.id}/feedback/{case.id}")
    assert refused.status_code == 409 and "once the meeting has ended" in refused.get_data(as_text=True)


def test_a_forwarded_link_cannot_void_the_reporters_own(app, client, presented, smtp_server):
    chair, meeting, case = presented()
    _send(client, meeting, case)
    link = _link(smtp_server.messages[-1])
    before = len(smtp_server.messages)
    unopened = app.test_client().post(f"{link}/new-link")
    assert unopened.status_code == 303 and unopened.headers["Location"].endswith(link), "an unopened link is opened"
    reporter = app.test_client()
    reporter.post(f"{link}/open")
    assert reporter.post(f"{link}/new-link").status_code == 303, "the reporter's own device has it already"
    assert len(smtp_server.messages) == before and _audits("feedback.link_renewed") == []
    assert app.test_client().get(link).status_code == 403
    assert [e.detail["state"] for e in _audits("feedback.link_refused")] == ["other_device"]
    assert len(_audits("feedback.link_claimed")) == 1


def test_the_chair_can_retry_a_feedback_email_that_kept_failing(app, client, presented, smtp_server):
    from meetings.models import Delivery, DeliveryStatus

    chair, meeting, case = presented()
    app.config["MAIL_PORT"], port = 1, app.config["MAIL_PORT"]  # nothing listens there
    try:
        _send(client, meeting, case)
    finally:
        app.config["MAIL_PORT"] = port
    delivery = db.session.scalar(select(Delivery))
    delivery.attempts = 5
    db.session.commit()
    assert "Email failed" in client.get(f"/meetings/{meeting.id}/feedback").get_data(as_text=True)
    assert client.post(f"/meetings/{meeting.id}/feedback/{case.id}/retry").status_code == 303
    db.session.expire_all()
    assert db.session.scalar(select(Delivery.status)) == DeliveryStatus.SENT and len(smtp_server.messages) == 1


def test_a_reflection_naming_the_patient_is_shown_back_before_it_is_kept(app, client, presented, smtp_server):
    reporter = make_user(Role.MEMBER)
    chair, meeting, case = presented(reporter=reporter)
    _send(client, meeting, case)
    feedback = db.session.scalar(select(Feedback))
    mine = signed_in(app.test_client(), reporter)
    shown = mine.post(f"/feedback/{feedback.id}/reflection",
                      data={"reflection": "Hester Mapplethorpe's scan taught me to check lung windows.", "minutes": "15"})
    page = shown.get_data(as_text=True)
    assert shown.status_code == 422 and "took out what looked like patient details" in page
    assert "Mapplethorpe" not in page and "taught me to check lung windows" in page
    db.session.expire_all()
    assert db.session.get(Feedback, feedback.id).reflection == ""
    for url in (f"/feedback/{feedback.id}", "/feedback"):
        assert mine.get(url).headers["Cache-Control"] == "private, no-store"


def test_pats_are_scrubbed_of_the_senders_own_cases_and_never_to_themselves(app, client, login_as, smtp_server,
                                                                           monkeypatch):
    sender = login_as(Role.MEMBER)
    colleague = make_user(Role.MEMBER, home_site=sender.home_site)
    make_case(sender, None, dict(PATIENT))
    db.session.commit()
    shown = client.post("/pats/new", data={"recipient_id": str(colleague.id), "reason": "good_report", "case_id": "0",
                                           "message": "Your report on Hester Mapplethorpe was spot on."})
    assert shown.status_code == 422 and "Mapplethorpe" not in shown.get_data(as_text=True)
    monkeypatch.setitem(app.config, "ALLOW_TEST_NHS_NUMBERS", True)
    mine = client.post("/cases/new", data={"kind": "great_pickup", "reporter_id": str(sender.id),
                                           "thank_reporter": "y", "thanks": "Well done me"})
    assert "A pat on the back is for a colleague" in mine.get_data(as_text=True)
