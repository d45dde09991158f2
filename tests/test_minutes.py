"""Minutes: assembled from the meeting, read back from the PDF; the chair's edits anonymised; published
versions frozen and amended; distributed over a real SMTP server, with failures retried."""
from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from meetings.extensions import db
from meetings.models import (
    Attendance, Case, CaseIdentifiers, CaseStatus, Delivery, DeliveryStatus, MeetingStatus, Minutes, MinutesVersion,
    Poll, PollVote, Role, person_key,
)
from meetings.nhs_number import synthetic
from tests.conftest import _free_port, approve_for_room, is_fragment, signed_in
from tests.factories import make_action, make_case, make_meeting, make_site, make_user

HX = {"HX-Request": "true"}
NHS = synthetic(4242)
PATIENT = {"patient_name": "Rosalind Quenby", "nhs_number": NHS, "hospital_number": "RQ1200345"}


def pdf_pages(data: bytes) -> list[str]:
    assert data.startswith(b"%PDF")
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


@pytest.fixture
def held(client, login_as):
    """An ended meeting: two cases presented and approved, one not reached, a register, a poll, two actions,
    the next meeting booked; risk staff and a team mailbox at the site. The client is the chair."""
    site = make_site(name="Harrowgate General", code="HGH", risk_distribution="risk-team@harrowgate.example.org\n")
    chair = login_as(Role.CHAIR, name="Dr Imogen Chair", home_site=site)
    meeting = make_meeting(chair=chair, days_ahead=-7, title="Harrowgate REAL meeting", location="Seminar room 2")
    taker = make_user(Role.MEMBER, name="Dr Minute Taker", home_site=site)
    meeting.minute_taker = taker
    chest = make_case(chair, meeting, PATIENT, status=CaseStatus.PRESENTED, queue_position=0,
                      clinical_question="Breathless. ?PE", outcome_text="A 14 mm nodule on the follow-up CT.",
                      discussion_notes="Subtle, but visible on lung windows.",
                      learning_points="Review lung windows on every CTPA.", discrepancy_type="perceptual")
    wrist = make_case(chair, meeting, {"patient_name": "Tobias Verrall"}, status=CaseStatus.PRESENTED,
                      queue_position=1, modality="XR", body_region="Wrist",
                      clinical_question="Fall on outstretched hand.", outcome_text="Scaphoid fracture at 10 days.",
                      learning_points="Ask for scaphoid views.")
    make_case(chair, meeting, {"patient_name": "Unreached Person"}, status=CaseStatus.SCHEDULED, queue_position=2)
    db.session.commit()
    for case in (chest, wrist):
        assert approve_for_room(client, case).status_code == 303
    meeting.status = MeetingStatus.ENDED
    people = [("Dr Ada Present", "consultant_radiologist", "present"),
              ("Dr Ben Present", "consultant_radiologist", "present"),
              ("Cara Sonographer", "sonographer", "present"), ("Dr Dev Apologies", "trainee_radiologist", "apologies")]
    for name, profession, status in people:
        db.session.add(Attendance(meeting_id=meeting.id, person_key=person_key(None, None, name), name=name,
                                  profession=profession, status=status, site_name=site.name))
    poll = Poll(meeting_id=meeting.id, case_id=chest.id, question="Was the nodule visible?",
                options=["Yes", "No"], is_open=False)
    poll.votes = [PollVote(device=f"d{n}", choice=0 if n < 2 else 1) for n in range(3)]
    db.session.add(poll)
    risk = make_user(Role.RISK, name="Rhys Risk", email="rhys.risk@harrowgate.example.org", home_site=site)
    member = make_user(Role.MEMBER, name="Mo Member", email="mo.member@harrowgate.example.org", home_site=site)
    make_action(meeting, member, description="Add a lung-window prompt to the CTPA template", case=chest)
    make_action(meeting, risk, description="Audit scaphoid view requests for a month")
    make_meeting(chair=chair, days_ahead=21, title="Next Harrowgate meeting")
    db.session.commit()
    return {"meeting": meeting, "chair": chair, "chest": chest, "wrist": wrist, "risk": risk, "member": member,
            "taker": taker, "site": site}


def _minutes(meeting) -> Minutes:
    db.session.expire_all()
    return db.session.scalar(select(Minutes).where(Minutes.meeting_id == meeting.id))


def _publish(client, meeting, note: str = ""):
    client.get(f"/meetings/{meeting.id}/minutes")
    return client.post(f"/meetings/{meeting.id}/minutes/publish", data={"note": note})


# --- content --------------------------------------------------------------------------------------

def test_the_draft_pdf_is_assembled_from_what_the_meeting_recorded(client, held):
    meeting = held["meeting"]
    response = client.get(f"/meetings/{meeting.id}/minutes.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pages = pdf_pages(response.data)
    text = re.sub(r"\s+", " ", "\n".join(pages))
    assert all("DRAFT" in page for page in pages), "every page of a draft says so"
    assert all("Confidential — for learning; contains no patient identifiers" in page for page in pages)
    assert f"Page 1 of {len(pages)}" in pages[0]
    for expected in ("Minutes: Harrowgate REAL meeting", "Seminar room 2", "Dr Imogen Chair", "Dr Minute Taker",
                     "3 people attended", "1 sent apologies", "Consultant radiologist: 2", "Sonographer: 1",
                     "Dr Ada Present", "Dr Dev Apologies", "Case 1: CT chest", "Case 2: XR wrist",
                     "Discrepancy: perceptual", "Breathless. ?PE", "A 14 mm nodule on the follow-up CT.",
                     "Subtle, but visible on lung windows.", "Review lung windows on every CTPA.",
                     "Ask for scaphoid views.", "Poll: Was the nodule visible?", "Yes 2 (67%)", "No 1 (33%)",
                     "1 further case was not reached", "A1", "Add a lung-window prompt to the CTPA template",
                     "Audit scaphoid view requests for a month", "Mo Member", "Harrowgate General", "Open",
                     "Any other business", "Next meeting"):
        assert expected in text, expected
    next_day = (meeting.starts_at + timedelta(days=28)).strftime("%-d %b %Y")
    assert next_day in text
    reader = PdfReader(io.BytesIO(response.data))
    root = reader.trailer["/Root"]
    assert reader.metadata.title == "Minutes: Harrowgate REAL meeting"
    assert root["/Lang"] == "en-GB" and "/StructTreeRoot" in root
    for name in ("Rosalind", "Quenby", "Tobias", "Verrall", NHS):
        assert name not in text


def test_a_site_can_count_attendees_without_naming_them(client, held):
    held["site"].minutes_list_names = False
    db.session.commit()
    text = " ".join(pdf_pages(client.get(f"/meetings/{held['meeting'].id}/minutes.pdf").data))
    assert "3 people attended" in text and "Consultant radiologist: 2" in text and "Apologies" not in text
    assert "Dr Ada Present" not in text and "Dr Dev Apologies" not in text


def test_the_actions_table_repeats_its_header_on_every_page(client, held):
    meeting = held["meeting"]
    for n in range(60):
        make_action(meeting, held["member"], description=f"Numbered follow-up {n:02d} for the reporting template")
    db.session.commit()
    pages = pdf_pages(client.get(f"/meetings/{meeting.id}/minutes.pdf").data)
    with_actions = [page for page in pages if "Numbered follow-up" in page]
    assert len(with_actions) >= 2
    assert all(re.search(r"Ref\.\s+Action\s+Owner\s+Sites\s+Due\s+Status", page) for page in with_actions)


# --- editing ------------------------------------------------------------------------------------

def test_the_chairs_edits_are_anonymised_and_reach_the_minutes(client, held):
    meeting, chest = held["meeting"], held["chest"]
    page = client.get(f"/meetings/{meeting.id}/minutes").get_data(as_text=True)
    assert f'id="case-{chest.id}"' in page and "Breathless. ?PE" in page
    response = client.post(f"/meetings/{meeting.id}/minutes/cases/{chest.id}", headers=HX, data={
        f"case{chest.id}-summary": f"Mrs Rosalind Quenby (NHS {NHS}) was breathless; a nodule was missed.",
        f"case{chest.id}-discussion": "Discussed RQ1200345 at length.",
        f"case{chest.id}-learning_points": "Lung windows, always."})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and is_fragment(response.data)
    assert "Identifiers were taken out" in body and "Quenby" not in body and "RQ1200345" not in body
    db.session.expire_all()
    case = db.session.get(Case, chest.id)
    assert case.learning_points == "Lung windows, always." and "RQ1200345" not in case.discussion_notes
    text = " ".join(pdf_pages(client.get(f"/meetings/{meeting.id}/minutes.pdf").data))
    assert "was breathless; a nodule was missed." in text and "Lung windows, always." in text
    assert "Quenby" not in text and NHS not in text


def test_an_unchanged_summary_keeps_following_the_case(client, held):
    meeting, chest = held["meeting"], held["chest"]
    client.post(f"/meetings/{meeting.id}/minutes/cases/{chest.id}", data={
        f"case{chest.id}-summary": "Breathless. ?PE\nA 14 mm nodule on the follow-up CT.",
        f"case{chest.id}-discussion": "Subtle.", f"case{chest.id}-learning_points": "Windows."})
    _minutes(meeting)
    assert db.session.get(Case, chest.id).minutes_summary is None


def test_a_refused_edit_keeps_what_was_typed(client, held):
    meeting, chest = held["meeting"], held["chest"]
    typed = "x" * 10_001
    response = client.post(f"/meetings/{meeting.id}/minutes/cases/{chest.id}", headers=HX, data={
        f"case{chest.id}-summary": typed, f"case{chest.id}-discussion": "Kept discussion",
        f"case{chest.id}-learning_points": ""})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Keep this under 10,000 characters" in body
    assert typed in body and "Kept discussion" in body
    no_js = client.post(f"/meetings/{meeting.id}/minutes/cases/{chest.id}", data={
        f"case{chest.id}-summary": typed, f"case{chest.id}-discussion": "Kept discussion"})
    assert no_js.status_code == 422 and typed in no_js.get_data(as_text=True) and b"<html" in no_js.data


def test_other_business_is_anonymised(client, held):
    meeting = held["meeting"]
    response = client.post(f"/meetings/{meeting.id}/minutes/other-business", headers=HX,
                           data={"text": "Tobias Verrall's family wrote in; thanks to the porters."})
    assert response.status_code == 200 and "Identifiers were taken out" in response.get_data(as_text=True)
    assert "Verrall" not in _minutes(meeting).any_other_business
    assert "thanks to the porters" in " ".join(pdf_pages(client.get(f"/meetings/{meeting.id}/minutes.pdf").data))


# --- publishing ---------------------------------------------------------------------------------

def test_publishing_freezes_the_pdf_and_its_digest(client, held, smtp_server):
    meeting, chest = held["meeting"], held["chest"]
    assert _publish(client, meeting).status_code == 303
    version = _minutes(meeting).latest
    assert version.number == 1 and version.sha256 == hashlib.sha256(version.pdf).hexdigest()
    first = client.get(f"/meetings/{meeting.id}/minutes.pdf")
    assert first.data == version.pdf and first.headers["ETag"] == f'"{version.sha256}"'
    assert all("DRAFT" not in page for page in pdf_pages(first.data))
    assert "Version 1, published" in pdf_pages(first.data)[0]
    page = client.get(f"/meetings/{meeting.id}/minutes").get_data(as_text=True)
    assert version.sha256 in page and "Current" in page
    # The meeting's record changes afterwards; what was published does not.
    client.post(f"/meetings/{meeting.id}/minutes/cases/{chest.id}", data={
        f"case{chest.id}-summary": "Rewritten later.", f"case{chest.id}-discussion": "",
        f"case{chest.id}-learning_points": "A different point."})
    assert client.get(f"/meetings/{meeting.id}/minutes.pdf").data == version.pdf
    assert client.get(f"/meetings/{meeting.id}/minutes/v1.pdf").data == version.pdf
    assert "Rewritten later." in " ".join(pdf_pages(client.get(f"/meetings/{meeting.id}/minutes.pdf?draft=1").data))
    stored = db.session.get(MinutesVersion, version.id)
    stored.pdf = b"%PDF-tampered"
    with pytest.raises(ValueError, match="frozen"):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(ValueError, match="frozen"):
        db.session.delete(db.session.get(MinutesVersion, version.id))
        db.session.flush()
    db.session.rollback()


def test_an_amendment_is_a_new_version_that_supersedes_the_last(client, held, smtp_server):
    meeting = held["meeting"]
    _publish(client, meeting)
    smtp_server.messages.clear()
    refused = _publish(client, meeting, note="")
    assert refused.status_code == 422 and "Say what this amendment changes" in refused.get_data(as_text=True)
    assert len(_minutes(meeting).versions) == 1
    assert _publish(client, meeting, note="Corrected the due date of A2; Mrs Rosalind Quenby removed").status_code == 303
    minutes = _minutes(meeting)
    first, second = minutes.versions
    assert second.number == 2 and first.is_superseded() and not second.is_superseded()
    assert "Quenby" not in second.amendment_note and "Corrected the due date of A2" in second.amendment_note
    text = " ".join(pdf_pages(client.get(f"/meetings/{meeting.id}/minutes.pdf").data))
    assert "Version 2" in text and "Amendment" in text and "Corrected the due date of A2" in text
    assert client.get(f"/meetings/{meeting.id}/minutes/v1.pdf").data == first.pdf
    page = client.get(f"/meetings/{meeting.id}/minutes").get_data(as_text=True)
    assert "Superseded" in page and "Version 2" in page
    # An amendment goes to risk staff again, not to every member.
    subjects = {(m["To"], m["Subject"]) for m in smtp_server.messages}
    assert subjects == {(to, "Amended minutes (version 2): Harrowgate REAL meeting")
                        for to in ("rhys.risk@harrowgate.example.org", "risk-team@harrowgate.example.org")}


def test_publishing_waits_for_the_end_and_for_every_case_to_be_approved(client, held):
    meeting, chest = held["meeting"], held["chest"]
    meeting.status = MeetingStatus.LIVE
    db.session.commit()
    response = _publish(client, meeting)
    assert response.status_code == 422 and "once the meeting has ended" in response.get_data(as_text=True)
    meeting.status = MeetingStatus.ENDED
    chest.report_text = "Edited after the review."
    db.session.commit()
    response = _publish(client, meeting)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Case 1 changed after its anonymisation was approved" in body
    assert "review it again" in body and _minutes(meeting) is None, "nothing was published, nor saved"
    draft = " ".join(pdf_pages(client.get(f"/meetings/{meeting.id}/minutes.pdf").data))
    assert "The chair must review it again" in draft and "Edited after the review." not in draft


def test_who_may_edit_publish_and_read(app, client, held):
    meeting = held["meeting"]
    taker = signed_in(app.test_client(), held["taker"])
    member = signed_in(app.test_client(), held["member"])
    site_chair = signed_in(app.test_client(), make_user(Role.CHAIR, home_site=held["site"]))
    stranger = signed_in(app.test_client(), make_user(Role.MEMBER, home_site=make_site(name="Elsewhere", code="ELS")))
    admin = signed_in(app.test_client(), make_user(Role.ADMIN))
    db.session.commit()
    assert b"Save case 1" in taker.get(f"/meetings/{meeting.id}/minutes").data
    assert b"Publish the minutes" not in taker.get(f"/meetings/{meeting.id}/minutes").data
    assert taker.post(f"/meetings/{meeting.id}/minutes/publish").status_code == 404
    assert site_chair.post(f"/meetings/{meeting.id}/minutes/publish").status_code == 404
    assert b"Not published yet" in member.get(f"/meetings/{meeting.id}/minutes").data
    assert member.get(f"/meetings/{meeting.id}/minutes.pdf").status_code == 404, "drafts are for editors"
    assert member.post(f"/meetings/{meeting.id}/minutes/other-business", data={"text": "x"}).status_code == 404
    assert stranger.get(f"/meetings/{meeting.id}/minutes").status_code == 404
    assert admin.post(f"/meetings/{meeting.id}/minutes/publish").status_code == 303
    version = _minutes(meeting).latest
    assert member.get(f"/meetings/{meeting.id}/minutes.pdf").data == version.pdf
    assert b"Save case 1" not in member.get(f"/meetings/{meeting.id}/minutes").data
    assert stranger.get(f"/meetings/{meeting.id}/minutes/v1.pdf").status_code == 404


# --- distribution -------------------------------------------------------------------------------

def test_publishing_emails_the_pdf_to_risk_staff_and_the_learning_to_members(client, held, smtp_server):
    meeting = held["meeting"]
    assert _publish(client, meeting).status_code == 303
    version = _minutes(meeting).latest
    by_recipient = {}
    for message in smtp_server.messages:
        by_recipient.setdefault(message["To"], []).append(message)
    assert all(len(messages) == 1 for messages in by_recipient.values()), "nobody is sent two emails"
    for address in ("rhys.risk@harrowgate.example.org", "risk-team@harrowgate.example.org"):
        message = by_recipient[address][0]
        assert message["Subject"] == "Minutes: Harrowgate REAL meeting"
        [attachment] = list(message.iter_attachments())
        assert attachment.get_content_type() == "application/pdf" and attachment.get_content() == version.pdf
        assert version.sha256 in message.get_body(("plain",)).get_content()
    bulletin = by_recipient["mo.member@harrowgate.example.org"][0]
    assert bulletin["Subject"] == "Learning from Harrowgate REAL meeting"
    body = bulletin.get_body(("plain",)).get_content()
    assert "Review lung windows on every CTPA." in body and "Ask for scaphoid views." in body
    assert f"/meetings/{meeting.id}/minutes" in body and not list(bulletin.iter_attachments())
    assert held["chair"].email in by_recipient and held["taker"].email in by_recipient
    assert all(d.status == DeliveryStatus.SENT and d.attempts == 1 for d in db.session.scalars(select(Delivery)))
    page = client.get(f"/meetings/{meeting.id}/minutes").get_data(as_text=True)
    total = len(smtp_server.messages)
    assert f"Version 1: sent to {total} of {total} recipients." in page


def test_a_site_an_action_is_for_receives_the_minutes_too(client, held, smtp_server):
    other = make_site(name="Lowmoor Hospital", code="LMH")
    make_user(Role.RISK, email="risk@lowmoor.example.org", home_site=other)
    reader = make_user(Role.MEMBER, email="reader@lowmoor.example.org", home_site=other)
    make_action(held["meeting"], held["member"], description="Share the scaphoid pathway with Lowmoor", sites=[other])
    db.session.commit()
    _publish(client, held["meeting"])
    recipients = {message["To"]: message["Subject"] for message in smtp_server.messages}
    assert recipients["risk@lowmoor.example.org"].startswith("Minutes:")
    assert recipients["reader@lowmoor.example.org"].startswith("Learning from")
    # They were sent the minutes, so they may open them in Lightbox.
    client_of_reader = signed_in(client.application.test_client(), reader)
    assert client_of_reader.get(f"/meetings/{held['meeting'].id}/minutes").status_code == 200


def test_failed_sends_are_shown_to_the_chair_and_retried_without_doubling(app, client, held, smtp_server):
    meeting = held["meeting"]
    working_port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = _free_port()  # nothing listens there: the mail server is down
    try:
        assert _publish(client, meeting).status_code == 303
    finally:
        app.config["MAIL_PORT"] = working_port
    deliveries = list(db.session.scalars(select(Delivery)))
    assert deliveries and all(d.status == DeliveryStatus.FAILED and d.attempts == 1 for d in deliveries)
    assert "ConnectionRefusedError" in deliveries[0].last_error
    page = client.get(f"/meetings/{meeting.id}/minutes").get_data(as_text=True)
    assert f"{len(deliveries)} failed" in page and "rhys.risk@harrowgate.example.org" in page
    assert "Try the failed emails again now" in page
    assert not smtp_server.messages
    runner = app.test_cli_runner()
    result = runner.invoke(args=["send-pending-mail"])
    assert result.exit_code == 0, result.output
    assert f"Emails sent: {len(deliveries)}; failed" in result.output
    assert runner.invoke(args=["send-pending-mail"]).output.startswith("Emails sent: 0")
    recipients = [message["To"] for message in smtp_server.messages]
    assert sorted(recipients) == sorted(d.recipient for d in deliveries), "each sent exactly once"


def test_the_chair_can_retry_failures_at_once(app, client, held, smtp_server):
    meeting = held["meeting"]
    working_port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = _free_port()
    try:
        _publish(client, meeting)
    finally:
        app.config["MAIL_PORT"] = working_port
    db.session.execute(db.update(Delivery).values(attempts=5))  # beyond what cron retries
    db.session.commit()
    assert app.test_cli_runner().invoke(args=["send-pending-mail"]).output.startswith("Emails sent: 0")
    response = client.post(f"/meetings/{meeting.id}/minutes/retry")
    assert response.status_code == 303
    assert all(d.status == DeliveryStatus.SENT for d in db.session.scalars(select(Delivery)))
    assert len(smtp_server.messages) == db.session.scalar(select(db.func.count()).select_from(Delivery))


# --- the command line ---------------------------------------------------------------------------

def test_the_minutes_command_writes_the_draft_then_the_published_version(app, client, held, tmp_path, smtp_server):
    meeting = held["meeting"]
    out = tmp_path / "minutes.pdf"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["minutes", str(meeting.id), "--out", str(out)])
    assert result.exit_code == 0 and "DRAFT" in result.output
    assert all("DRAFT" in page for page in pdf_pages(out.read_bytes()))
    _publish(client, meeting)
    result = runner.invoke(args=["minutes", str(meeting.id), "--out", str(out)])
    assert result.exit_code == 0 and "version 1" in result.output
    assert out.read_bytes() == _minutes(meeting).latest.pdf
    assert runner.invoke(args=["minutes", "99999", "--out", str(out)]).exit_code != 0


def test_the_chair_is_told_of_edits_not_yet_published(client, held, smtp_server):
    meeting = held["meeting"]
    _publish(client, meeting)
    assert b"since version 1 was published" not in client.get(f"/meetings/{meeting.id}/minutes").data
    client.post(f"/meetings/{meeting.id}/minutes/other-business", data={"text": "A late correction."})
    assert b"since version 1 was published" in client.get(f"/meetings/{meeting.id}/minutes").data


def test_text_saved_before_an_identifier_was_corrected_is_scrubbed_with_the_correction(client, held):
    """The wrist's patient was first recorded misspelt; summaries, other business and an action typed then
    name her as she really is. Once the record is corrected and approved again, the minutes take her out."""
    meeting, wrist = held["meeting"], held["wrist"]
    db.session.get(CaseIdentifiers, wrist.id).patient_name = "Tobias Veral"
    db.session.commit()
    assert approve_for_room(client, wrist).status_code == 303
    prefix = f"case{wrist.id}"
    client.post(f"/meetings/{meeting.id}/minutes/cases/{wrist.id}", data={
        f"{prefix}-summary": "The Verrall family asked for a review.", f"{prefix}-discussion": "",
        f"{prefix}-learning_points": "Ask for scaphoid views."})
    client.post(f"/meetings/{meeting.id}/minutes/other-business", data={"text": "Verrall complaint noted."})
    make_action(meeting, held["member"], description="Write to the Verrall family about the scaphoid")
    db.session.commit()
    assert "Verrall" in " ".join(pdf_pages(client.get(f"/meetings/{meeting.id}/minutes.pdf").data))
    db.session.get(CaseIdentifiers, wrist.id).patient_name = "Tobias Verrall"
    db.session.commit()
    assert approve_for_room(client, wrist).status_code == 303
    text = re.sub(r"\s+", " ", " ".join(pdf_pages(client.get(f"/meetings/{meeting.id}/minutes.pdf").data)))
    assert "asked for a review" in text and "complaint noted" in text and "about the scaphoid" in text, text
    assert "Verrall" not in text
    assert "Verrall" not in client.get(f"/meetings/{meeting.id}/minutes").get_data(as_text=True)


def test_a_case_changed_since_review_can_still_be_written_up_and_unreached_cases_cannot(client, held):
    meeting, chest = held["meeting"], held["chest"]
    chest.report_text = "Edited after the review."
    db.session.commit()
    prefix = f"case{chest.id}"
    response = client.post(f"/meetings/{meeting.id}/minutes/cases/{chest.id}", headers=HX, data={
        f"{prefix}-summary": "Rosalind Quenby: a nodule was missed.", f"{prefix}-discussion": "Kept.",
        f"{prefix}-learning_points": "Windows."})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Held out of the minutes" in body and "review it again" in body
    assert "a nodule was missed." in body and "Quenby" not in body
    no_js = client.post(f"/meetings/{meeting.id}/minutes/cases/{chest.id}", data={
        f"{prefix}-summary": "Again.", f"{prefix}-discussion": "", f"{prefix}-learning_points": ""})
    assert no_js.status_code == 303
    unreached = db.session.scalar(select(Case).where(Case.meeting_id == meeting.id,
                                                     Case.status == CaseStatus.SCHEDULED))
    assert client.post(f"/meetings/{meeting.id}/minutes/cases/{unreached.id}", headers=HX, data={
        f"case{unreached.id}-summary": "Not reached"}).status_code == 404


def test_two_people_writing_up_different_cases_keep_both(app, client, held):
    meeting, chest, wrist = held["meeting"], held["chest"], held["wrist"]
    taker = signed_in(app.test_client(), held["taker"])
    client.get(f"/meetings/{meeting.id}/minutes")
    taker.get(f"/meetings/{meeting.id}/minutes")
    taker.post(f"/meetings/{meeting.id}/minutes/cases/{wrist.id}", data={
        f"case{wrist.id}-summary": "The minute-taker's wrist summary.", f"case{wrist.id}-discussion": "",
        f"case{wrist.id}-learning_points": ""})
    client.post(f"/meetings/{meeting.id}/minutes/cases/{chest.id}", data={
        f"case{chest.id}-summary": "Summary of the chest case by its first editor.", f"case{chest.id}-discussion": "",
        f"case{chest.id}-learning_points": ""})
    text = re.sub(r"\s+", " ", " ".join(pdf_pages(client.get(f"/meetings/{meeting.id}/minutes.pdf").data)))
    assert "The minute-taker's wrist summary." in text and "Summary of the chest case by its first editor." in text, text
