"""The leak guard: canaries planted in every identifiable field of a case, and in its images' metadata,
must not come out of anything an audience is given.

Every feature that renders something for an audience adds it to AUDIENCE_OUTPUTS below. Planting is
deliberately unkind: the record's identifiers are also written into the case's free text, in the spellings
people use, and into the notes taken during the meeting.
"""
from __future__ import annotations

import html
import re
import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from PIL import ExifTags, Image
from PIL.PngImagePlugin import PngInfo
from pydicom import Dataset
from pypdf import PdfReader
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from sqlalchemy import select

from meetings.extensions import db
from meetings.live.service import note_digest
from meetings.models import Action, Attendance, Case, LiveState, Pat, Poll, Role, User
from meetings.nhs_number import synthetic
from tests.conftest import approve_for_room, signed_in
from tests.factories import make_case, make_meeting, make_site, make_user
from tests.ics.reading import feed_path

NHS_NUMBER = synthetic(771_203)
RECORD = {
    "patient_name": "Zephyrine Quillfeather", "nhs_number": NHS_NUMBER, "hospital_number": "QF7730019",
    "date_of_birth": date(1951, 8, 17), "accession_number": "ACCQF55120", "examination_date": date(2026, 2, 13),
    "reporter_name": "Dr Octavius Brambleworth", "reporter_email": "o.brambleworth@canary.example.org",
    "referrer_name": "Dr Philippa Thistlecombe",
}
SITE = {"name": "Wendlebury Abbey Hospital", "code": "WAH"}
SUBMITTER = "Cornelius Fenwright"
IMAGE_CANARIES = ["CANARY-DICOM-INSTITUTION", "CANARY-PNG-AUTHOR", "CANARY-JPEG-ARTIST", "CANARY-DICOM-OPERATOR"]

# Every spelling of every identifier that must never reach an audience.
CANARIES = [
    "Zephyrine", "Quillfeather", "QUILLFEATHER", NHS_NUMBER, f"{NHS_NUMBER[:3]} {NHS_NUMBER[3:6]} {NHS_NUMBER[6:]}",
    "QF7730019", "ACCQF55120", "17/08/1951", "17 August 1951", "1951-08-17", "13/02/2026", "13 Feb 2026",
    "Octavius", "Brambleworth", "o.brambleworth", "Philippa", "Thistlecombe", "Wendlebury", "WAH", "Cornelius",
    "Fenwright", "Peggy", "07700 900461", "NG7 2UH", "14 Larkspur Close", *IMAGE_CANARIES,
]
# A local meeting's own pages may say where it is held; its cases may not say where they came from.
SITE_CANARIES = {"Wendlebury", "WAH"}
# Another site of the network, which the case's texts mention: a local meeting may say so, a regional one not.
NETWORK_SITE = {"name": "Marlstone Priory Infirmary", "code": "MPI"}
TEXTS = {
    "clinical_question": "Mrs Zephyrine Quillfeather (DOB 17/08/1951, NHS 999 {a} {b}, QF7730019), breathless. "
                         "Daughter Peggy (07700 900461) asks about PE. Lives at 14 Larkspur Close, NG7 2UH.",
    "report_text": "CTPA 13 Feb 2026, accession ACCQF55120, at Wendlebury Abbey Hospital: no PE. "
                   "Reported by Dr Octavius Brambleworth.",
    "outcome_text": "QUILLFEATHER, Zephyrine re-scanned 13/02/2026 at WAH: 14 mm nodule. Referred by Dr Thistlecombe. "
                    "Biopsied at Marlstone Priory Infirmary (MPI).",
    "suggested_learning": "Quillfeather's nodule was on the first scan; Brambleworth and Philippa agree.",
    "discussion_notes": "Octavius (the reporter) was at Wendlebury that day; Cornelius Fenwright submitted it.",
    "learning_points": "Check lung windows, as Dr Brambleworth now does; thanks to Mr Fenwright.",
}


def canary_dicom() -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=["lightbox-leak-guard"])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID, "OT"
    ds.PatientName = "QUILLFEATHER^ZEPHYRINE"
    ds.PatientID, ds.OtherPatientIDs = RECORD["hospital_number"], NHS_NUMBER
    ds.PatientBirthDate, ds.StudyDate = "19510817", "20260213"
    ds.AccessionNumber = RECORD["accession_number"]
    ds.InstitutionName = "CANARY-DICOM-INSTITUTION Wendlebury Abbey Hospital"
    ds.ReferringPhysicianName = "THISTLECOMBE^PHILIPPA"
    ds.OperatorsName = "CANARY-DICOM-OPERATOR^BRAMBLEWORTH"
    ds.set_pixel_data(np.full((32, 48), 900, np.uint16), "MONOCHROME2", 16, generate_instance_uid=False)
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def canary_png() -> bytes:
    info = PngInfo()
    info.add_text("Author", "CANARY-PNG-AUTHOR Zephyrine Quillfeather")
    info.add_itxt("Description", f"NHS {NHS_NUMBER} Wendlebury", lang="en", tkey="x")
    out = BytesIO()
    Image.new("L", (40, 30), 120).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def canary_jpeg() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Artist] = "CANARY-JPEG-ARTIST Dr Octavius Brambleworth"
    exif[ExifTags.Base.ImageDescription] = "QUILLFEATHER QF7730019"
    out = BytesIO()
    Image.new("RGB", (40, 30), (90, 90, 90)).save(out, "JPEG", exif=exif, comment=b"Fenwright")
    return out.getvalue()


@pytest.fixture
def planted(app, client, login_as, smtp_server):
    """An approved, scheduled case full of canaries; the chair's client is signed in."""
    chair = login_as(Role.CHAIR, home_site=make_site(**SITE))
    submitter = make_user(Role.MEMBER, name=SUBMITTER, home_site=chair.home_site)
    meeting = make_meeting(chair=chair, title="Chest REAL meeting")
    texts = {k: v.format(a=NHS_NUMBER[3:6], b=NHS_NUMBER[6:]) for k, v in TEXTS.items()}
    case = make_case(submitter, meeting, RECORD, images=(
        (canary_dicom(), "Quillfeather CT, Wendlebury"), (canary_png(), "Dr Brambleworth's key image"),
        (canary_jpeg(), "Photo 13/02/2026"),
    ), **texts)
    member = make_user(Role.MEMBER, home_site=chair.home_site)
    db.session.commit()
    assert approve_for_room(client, case, redact="Peggy").status_code == 303
    return {"client": client, "chair": chair, "meeting": meeting, "case": db.session.get(Case, case.id),
            "member": member, "smtp": smtp_server, "app": app}


# --- the audience's outputs: each returns (what it is, the bytes an audience receives) -----------------------

def presentation(ctx) -> list[tuple[str, bytes]]:
    response = ctx["client"].get(f"/cases/{ctx['case'].id}/presentation")
    assert response.status_code == 200
    return [("what the room will see (presentation)", response.data)]


def anonymised_images(ctx) -> list[tuple[str, bytes]]:
    audience = signed_in(ctx["app"].test_client(), ctx["member"])
    outputs = []
    for image in ctx["case"].images:
        response = audience.get(f"/cases/{ctx['case'].id}/images/{image.id}/anonymised.png")
        assert response.status_code == 200 and response.headers["Content-Type"] == "image/png"
        outputs.append((f"anonymised image {image.position + 1} ({image.kind})", response.data))
    return outputs


def members_home(ctx) -> list[tuple[str, bytes]]:
    audience = signed_in(ctx["app"].test_client(), ctx["member"])
    return [("a member's home page", audience.get("/").data)]


members_home.names_the_meetings_site = True


def reporter_notice(ctx) -> list[tuple[str, bytes]]:
    client, case = ctx["client"], ctx["case"]
    default = client.get(f"/cases/{case.id}/notice").get_data(as_text=True)
    text = re.search(r'<textarea[^>]*>(.*?)</textarea>', default, re.S).group(1)
    assert client.post(f"/cases/{case.id}/notice", data={"text": text}).status_code == 303
    message = ctx["smtp"].messages[-1]
    bodies = [part.get_payload(decode=True) for part in message.walk() if not part.is_multipart()]
    return [("the reporter's notice email (body)", b"\n".join(bodies) + message["Subject"].encode())]


def live_meeting(ctx) -> list[tuple[str, bytes]]:
    """The room during a meeting: phones (page, fragments, images, poll) and the projector, at every stage,
    with a poll whose typed answers name the patient and the reporter."""
    chair, case = ctx["client"], ctx["case"]
    meeting_id = ctx["meeting"].id
    chair.get(f"/meetings/{meeting_id}/console")
    code = db.session.scalar(select(LiveState.join_code).where(LiveState.meeting_id == meeting_id))
    phone = ctx["app"].test_client()
    outputs = [("the audience page before the start", phone.get(f"/j/{code}").data)]

    def room(when: str) -> None:
        outputs.append((f"the audience fragment {when}", phone.get(f"/j/{code}/live?v=0").data))
        outputs.append((f"the projector {when}", chair.get(f"/meetings/{meeting_id}/projector").data))
        outputs.append((f"the audience page {when}", phone.get(f"/j/{code}").data))

    command = f"/meetings/{meeting_id}/live"
    assert chair.post(f"{command}/start").status_code == 303
    assert chair.post(f"{command}/open-poll", data={
        "preset": "interpretation", "question": "What did Dr Octavius Brambleworth miss at Wendlebury?",
        "options": "Mrs Quillfeather's nodule\nNothing: QF7730019 was normal"}).status_code == 303
    choice_poll = db.session.scalar(select(Poll.id).where(Poll.meeting_id == meeting_id))
    outputs.append(("a choice poll's form on a phone", phone.get(f"/j/{code}/polls/{choice_poll}").data))
    phone.post(f"/j/{code}/polls/{choice_poll}", data={"choice": "0"})
    chair.post(f"{command}/show-results")
    room("with a choice poll's results shown")
    assert "1 (100%)" in outputs[-1][1].decode(), "the results should be on screen"
    chair.post(f"{command}/clear-poll")
    assert chair.post(f"{command}/open-poll", data={"preset": "free_text",
                      "question": "Did Dr Brambleworth miss Mrs Quillfeather's nodule?"}).status_code == 303
    poll_id = db.session.scalar(select(Poll.id).where(Poll.meeting_id == meeting_id, Poll.id != choice_poll))
    outputs.append(("the poll form on a phone", phone.get(f"/j/{code}/polls/{poll_id}").data))
    phone.post(f"/j/{code}/polls/{poll_id}", data={"answer": "Yes: Quillfeather QF7730019, seen by Octavius"})
    outputs.append(("a phone's answered poll", phone.get(f"/j/{code}/polls/{poll_id}").data))
    chair.post(f"{command}/show-results")
    for image in case.images:
        response = phone.get(f"/j/{code}/images/{image.id}")
        assert response.status_code == 200
        outputs.append((f"image {image.position + 1} on a phone", response.data))
    for stage in (1, 2, 3, 4):
        chair.post(f"{command}/stage", data={"stage": stage})
        room(f"at stage {stage}")
    shown = outputs[-1][1].decode()
    assert "Learning points" in shown and "Yes: [" in shown, "the room should be seeing the case and the answers"
    chair.post(f"{command}/end")
    room("after the end")
    return outputs


def _pdf_text(data: bytes) -> bytes:
    """What a PDF says, as text: its bytes are compressed, so a canary would not show in them."""
    assert data.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages).encode()


def attendance_register(ctx) -> list[tuple[str, bytes]]:
    """Signing on a phone, the certificate (PDF, email, verification), the evaluation and My CPD: the
    certificate prints the learning points agreed, which name the reporter and the submitter."""
    chair, app = ctx["client"], ctx["app"]
    meeting_id = ctx["meeting"].id
    chair.get(f"/meetings/{meeting_id}/console")
    code = db.session.scalar(select(LiveState.join_code).where(LiveState.meeting_id == meeting_id))
    chair.post(f"/meetings/{meeting_id}/register/open")
    chair.post(f"/meetings/{meeting_id}/register/presence-off")
    phone, member = app.test_client(), signed_in(app.test_client(), ctx["member"])
    outputs = [("the sign-in page", phone.get(f"/j/{code}/sign").data),
               ("the audience fragment with the register open", phone.get(f"/j/{code}/live?v=0").data),
               ("the projector with the register open", chair.get(f"/meetings/{meeting_id}/projector").data)]
    assert phone.post(f"/j/{code}/sign", data={
        "name": "Dr Visiting Guest", "email": "visiting.guest@elsewhere.example.org",
        "profession": "consultant_radiologist", "professional_body": "GMC", "registration_number": "7000001",
        "site": "Elsewhere Teleradiology"}).status_code == 303
    assert member.post(f"/j/{code}/sign", data={}).status_code == 303
    outputs += [("the signed page", phone.get(f"/j/{code}/signed").data),
                ("the evaluation form", phone.get(f"/j/{code}/evaluate").data)]
    assert chair.post(f"/meetings/{meeting_id}/register/close").status_code == 303
    number = db.session.scalar(select(Attendance.certificate_number).where(Attendance.email.like("visiting%")))
    certificate = phone.get(f"/certificates/{number}.pdf")
    assert certificate.status_code == 200
    text = _pdf_text(certificate.data)
    assert b"Check lung windows" in text, "the certificate should print the learning points"
    outputs += [("a certificate (PDF text)", text),
                ("every certificate (PDF text)", _pdf_text(chair.get(f"/meetings/{meeting_id}/certificates.pdf").data)),
                ("the verification page", phone.get(f"/verify/{number}").data),
                ("the audience fragment with the register closed", phone.get(f"/j/{code}/live?v=0").data),
                ("My CPD", member.get("/cpd").data),
                ("the CPD record (PDF text)", _pdf_text(member.get("/cpd/record.pdf").data))]
    for message in ctx["smtp"].messages:
        if "CPD certificate" in message["Subject"]:
            bodies = [part.get_content() for part in message.walk() if part.get_content_type() == "text/plain"]
            attached = [_pdf_text(part.get_content()) for part in message.iter_attachments()]
            outputs.append(("a certificate email (text and PDF)",
                            "\n".join([message["Subject"], *bodies]).encode() + b"\n".join(attached)))
    assert any(label == "a certificate email (text and PDF)" for label, _ in outputs), "certificates were emailed"
    return outputs


def actions(ctx) -> list[tuple[str, bytes]]:
    """Actions typed in a hurry name the patient and the reporter; risk staff, owners and their emails must
    not see them: the console panel, the register, an action's page, My actions, the CSV and the reminders."""
    chair, app, case = ctx["client"], ctx["app"], ctx["case"]
    meeting_id = ctx["meeting"].id
    risk = make_user(Role.RISK, home_site=ctx["chair"].home_site)
    owner = ctx["member"]
    db.session.commit()
    chair.get(f"/meetings/{meeting_id}/console")
    chair.post(f"/meetings/{meeting_id}/live/start")
    outputs = []
    for on_case, text in ((str(case.id), "Tell Dr Octavius Brambleworth to recall Mrs Quillfeather (QF7730019)"),
                          ("", f"Audit every CTPA like Zephyrine Quillfeather's, NHS {NHS_NUMBER}, at Wendlebury")):
        response = chair.post(f"/meetings/{meeting_id}/actions", headers={"HX-Request": "true"}, data={
            "action-description": text, "action-case_id": on_case, "action-owner": str(owner.id),
            "action-due_on": date.today().isoformat(), "action-priority": "high",
            "action-sites": [str(ctx["chair"].home_site_id)]})
        assert response.status_code == 200, response.get_data(as_text=True)
        # The form's owner menu lists the site's people (the submitter among them) for the chair; the list
        # of actions above it goes to the minutes.
        agreed = response.data.split(b"Add an action</h3>")[0]
        outputs.append(("the console's list of actions after adding one", agreed))
    action_ids = list(db.session.scalars(select(Action.id).order_by(Action.id)))
    risk_client = signed_in(app.test_client(), risk)
    first = db.session.get(Action, action_ids[0])
    assert risk_client.post(f"/actions/{first.id}/status", headers={"HX-Request": "true"}, data={
        "to": "done", "version": first.version,
        "note": "Brambleworth recalled Zephyrine Quillfeather on 13/02/2026; Peggy told"}).status_code == 200
    owner_client = signed_in(app.test_client(), owner)
    outputs += [("the action register", risk_client.get("/actions/?status=all").data),
                ("an action's page", risk_client.get(f"/actions/{first.id}").data),
                ("the other action's page", owner_client.get(f"/actions/{action_ids[1]}").data),
                ("My actions", owner_client.get("/actions/mine?show=all").data),
                ("the register as CSV", risk_client.get("/actions/export.csv?status=all").data)]
    assert b"[NAME]" in outputs[-1][1], "the action texts should be there, scrubbed"
    db.session.execute(db.update(Action).values(due_on=date.today() - timedelta(days=1)))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["send-action-reminders"])
    assert result.exit_code == 0, result.output
    for message in ctx["smtp"].messages:
        if "action" in message["Subject"].lower():
            bodies = [part.get_content() for part in message.walk() if part.get_content_type().startswith("text/")]
            outputs.append((f"a reminder email: {message['Subject']}", "\n".join([message["Subject"], *bodies]).encode()))
    assert len(outputs) >= 9, "the owner's reminder and the risk digest should have been sent"
    return outputs


actions.names_the_meetings_site = True

def minutes(ctx) -> list[tuple[str, bytes]]:
    """The minutes after a meeting whose room, actions and chair's edits all named the patient and the
    reporter: the editing page, the draft and published PDFs, the members' page, and every email sent."""
    chair, app, case = ctx["client"], ctx["app"], ctx["case"]
    meeting_id = ctx["meeting"].id
    make_user(Role.RISK, home_site=ctx["chair"].home_site)
    db.session.commit()
    live_meeting(ctx)  # polls with identifying answers; the meeting ends
    response = chair.post(f"/meetings/{meeting_id}/actions", data={
        "action-description": "Tell Dr Octavius Brambleworth about Mrs Quillfeather (QF7730019)",
        "action-case_id": str(case.id), "action-owner": str(ctx["member"].id),
        "action-due_on": date.today().isoformat(), "action-priority": "high",
        "action-sites": [str(ctx["chair"].home_site_id)]}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    outputs = [("the minutes page, for the chair", chair.get(f"/meetings/{meeting_id}/minutes").data)]
    prefix = f"case{case.id}"
    section = chair.post(f"/meetings/{meeting_id}/minutes/cases/{case.id}", headers={"HX-Request": "true"}, data={
        f"{prefix}-summary": f"Zephyrine Quillfeather, NHS {NHS_NUMBER}, born 17/08/1951, at Wendlebury Abbey Hospital",
        f"{prefix}-discussion": "Dr Brambleworth (o.brambleworth@canary.example.org) reported it; Peggy phoned.",
        f"{prefix}-learning_points": "QF7730019: check lung windows, as Octavius Brambleworth now does."})
    assert section.status_code == 200
    other = chair.post(f"/meetings/{meeting_id}/minutes/other-business", headers={"HX-Request": "true"},
                       data={"text": "Cornelius Fenwright thanked Philippa Thistlecombe for ACCQF55120."})
    outputs += [("the chair's edited section", section.data), ("any other business, saved", other.data),
                ("the minutes page after editing", chair.get(f"/meetings/{meeting_id}/minutes").data),
                ("the draft minutes (PDF text)", _pdf_text(chair.get(f"/meetings/{meeting_id}/minutes.pdf").data))]
    assert b"check lung windows" in outputs[-1][1], "the draft should carry the edited learning points"
    assert chair.post(f"/meetings/{meeting_id}/minutes/publish").status_code == 303
    assert chair.post(f"/meetings/{meeting_id}/minutes/publish",
                      data={"note": "Removed Mrs Quillfeather's NHS number " + NHS_NUMBER}).status_code == 303
    member = signed_in(app.test_client(), ctx["member"])
    outputs += [("the published minutes (PDF text)", _pdf_text(member.get(f"/meetings/{meeting_id}/minutes/v1.pdf").data)),
                ("the amended minutes (PDF text)", _pdf_text(member.get(f"/meetings/{meeting_id}/minutes.pdf").data)),
                ("the minutes page, for a member", member.get(f"/meetings/{meeting_id}/minutes").data),
                ("the minutes page with its distribution log", chair.get(f"/meetings/{meeting_id}/minutes").data)]
    kinds = set()
    submitter = db.session.scalar(select(Case.submitter_id).where(Case.id == case.id))
    submitter_email = db.session.get(User, submitter).email
    for message in ctx["smtp"].messages:
        if message["Subject"].startswith(("Minutes", "Amended minutes", "Learning from")):
            kinds.add(message["Subject"].split(" ")[0])
            bodies = [part.get_content() for part in message.walk() if part.get_content_type().startswith("text/")]
            if message["To"] == submitter_email:
                # The submitter's own bulletin greets them by name, as it should; the rest of it is checked.
                bodies = [re.sub(r"Dear [^,<\n]*,", "Dear colleague,", body) for body in bodies]
            attached = [_pdf_text(part.get_content()) for part in message.iter_attachments()]
            outputs.append((f"an email: {message['Subject']}",
                            "\n".join([message["Subject"], *bodies]).encode() + b"\n".join(attached)))
    assert kinds == {"Minutes:", "Amended", "Learning"}, kinds
    return outputs


minutes.names_the_meetings_site = True


def _ics_text(data: bytes) -> bytes:
    """An .ics as a reader sees it: folded lines joined (a canary split across a fold is still a leak) and
    TEXT escapes undone."""
    unfolded = re.sub(rb"\r?\n[ \t]", b"", data)
    return unfolded.replace(b"\\,", b",").replace(b"\\;", b";").replace(b"\\n", b"\n")


def calendar(ctx) -> list[tuple[str, bytes]]:
    """Everything a calendar is given about a meeting whose queue holds the planted case and whose actions name
    the patient: the emailed invitation, update and cancellation (body, inline part and .ics), "Add to
    calendar", the invite command's file, the owner's feed with their actions as to-dos, and the site feed."""
    chair, app, meeting = ctx["client"], ctx["app"], ctx["meeting"]
    owner = ctx["member"]
    response = chair.post(f"/meetings/{meeting.id}/actions", headers={"HX-Request": "true"}, data={
        "action-description": "Tell Dr Octavius Brambleworth to recall Mrs Quillfeather (QF7730019) from Wendlebury",
        "action-case_id": str(ctx["case"].id), "action-owner": str(owner.id),
        "action-due_on": date.today().isoformat(), "action-priority": "high",
        "action-sites": [str(ctx["chair"].home_site_id)]})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert chair.post(f"/meetings/{meeting.id}/invitations").status_code == 303
    local = meeting.starts_at.astimezone(ZoneInfo("Europe/London"))
    assert chair.post(f"/meetings/{meeting.id}/edit", data={
        "title": meeting.title, "day": (local.date() + timedelta(days=1)).isoformat(), "start_time": "12:30",
        "end_time": "14:00", "location": "Seminar room 2", "online_url": "", "reminder_minutes": "30",
        "listed": "y"}).status_code == 303
    outputs = [("the meeting page, for its chair", chair.get(f"/meetings/{meeting.id}").data),
               ("Add to calendar", _ics_text(chair.get(f"/meetings/{meeting.id}/calendar.ics").data))]
    member = signed_in(app.test_client(), owner)
    outputs += [("the calendar page", member.get("/calendar").data),
                ("the meeting page, for a member", member.get(f"/meetings/{meeting.id}").data),
                ("the owner's feed", _ics_text(app.test_client().get(feed_path(member)).data)),
                ("the site feed", _ics_text(app.test_client().get(f"/calendar/sites/{SITE['code']}.ics").data))]
    assert b"BEGIN:VTODO" in outputs[-2][1] and b"[NAME]" in outputs[-2][1], "the action should be there, scrubbed"
    with tempfile.TemporaryDirectory() as folder:
        out = f"{folder}/invite.ics"
        assert app.test_cli_runner().invoke(args=["invite", str(meeting.id), "--out", out]).exit_code == 0
        written = _ics_text(Path(out).read_bytes())
    # The command's file invites the whole site, so its ATTENDEE lines name every member (the submitter among
    # them, as one of many); the rest of the file is checked.
    assert b"ATTENDEE" in written
    outputs.append(("the invite command's file", re.sub(rb"(?m)^ATTENDEE.*$", b"", written)))
    assert chair.post(f"/meetings/{meeting.id}/cancel").status_code == 303
    submitter_email = db.session.get(User, ctx["case"].submitter_id).email
    kinds = set()
    for message in ctx["smtp"].messages:
        if message["Subject"].startswith(("Invitation", "Updated invitation", "Cancelled")):
            kinds.add(message["Subject"].split(":")[0])
            body = message["Subject"].encode() + b"\n".join(
                _ics_text(part.get_payload(decode=True)) for part in message.walk() if not part.is_multipart())
            if message["To"] == submitter_email:
                # The submitter, a member of the site, is invited like everyone: greeted by name and named in
                # their own ATTENDEE line. The rest of their email is checked.
                body = re.sub(rb"(?m)^ATTENDEE.*$", b"", re.sub(rb"Hello [^,<\n]*,", b"Hello,", body))
            outputs.append((f"an email to {message['To']}: {message['Subject']}", body))
    assert kinds == {"Invitation", "Updated invitation", "Cancelled"}, kinds
    return outputs


calendar.names_the_meetings_site = True


def _email_text(message) -> bytes:
    """An email as its reader sees it: subject, every text part, and every attached PDF's text."""
    bodies = [part.get_content() for part in message.walk() if part.get_content_type().startswith("text/")]
    attached = [_pdf_text(part.get_content()) for part in message.iter_attachments()]
    return "\n".join([message["Subject"], *bodies]).encode() + b"\n".join(attached)


def feedback(ctx) -> list[tuple[str, bytes]]:
    """Feedback to the (visiting) reporter after the meeting, with a chair's message, a reflection and pats on
    the back that all name the patient: the chair's pages, the reporter's email, link pages and PDF, the home
    site's notice, and pats (with and without the case, and with a great pickup's nomination)."""
    chair, app, case, meeting = ctx["client"], ctx["app"], ctx["case"], ctx["meeting"]
    elsewhere = make_site(name="Eastfield General Hospital", code="EGH")
    home_chair = make_user(Role.CHAIR, home_site=elsewhere)
    db.session.commit()
    live_meeting(ctx)  # presented, with polls whose answers name the patient; the meeting ends
    outputs = [("the chair's feedback list", chair.get(f"/meetings/{meeting.id}/feedback").data)]
    send_page = chair.get(f"/meetings/{meeting.id}/feedback/{case.id}").get_data(as_text=True)
    # The send page tells the chair where the feedback goes (an audited view of the reporter's address); what
    # the reporter will read is checked.
    preview = re.search(r'<div class="lb-feedback-preview">(.*?)</div>', send_page, re.S).group(1)
    outputs.append(("the chair's preview of the feedback", preview.encode()))
    assert chair.post(f"/meetings/{meeting.id}/feedback/{case.id}", data={
        "message": "Octavius, Mrs Quillfeather (QF7730019, NHS " + NHS_NUMBER + ") taught us all; Peggy agrees.",
        "home_site_id": str(elsewhere.id)}).status_code == 303
    outputs.append(("the chair's page of what was sent", chair.get(f"/meetings/{meeting.id}/feedback/{case.id}").data))
    reporter_email = RECORD["reporter_email"]
    [to_reporter] = [m for m in ctx["smtp"].messages if m["To"] == reporter_email]
    [notice] = [m for m in ctx["smtp"].messages if m["To"] == home_chair.email]
    # The reporter's own email greets them by name, as it should; the rest of it is checked.
    outputs += [("the reporter's feedback email", re.sub(rb"Dear [^,<\n]*,", b"Dear colleague,", _email_text(to_reporter))),
                ("the home site chairs' notice", _email_text(notice))]
    link = re.search(r"(/f/[A-Za-z0-9._-]+)", to_reporter.get_body(("plain",)).get_content()).group(1)
    phone = app.test_client()
    outputs.append(("the link before it is opened", phone.get(link).data))
    phone.post(f"{link}/open")
    shown = phone.post(f"{link}/reflection", data={
        "reflection": "Next time I compare with Zephyrine Quillfeather's prior (ACCQF55120) at Wendlebury.",
        "minutes": "30"})
    assert shown.status_code == 422
    outputs.append(("the reflection shown back scrubbed", shown.data))
    scrubbed = re.search(r"<textarea[^>]*>(.*?)</textarea>", shown.get_data(as_text=True), re.S).group(1).strip()
    assert phone.post(f"{link}/reflection", data={"reflection": html.unescape(scrubbed), "minutes": "30"}
                      ).status_code == 303
    page = phone.get(link)
    assert b"Next time I compare" in page.data and b"Octavius" not in page.data
    outputs += [("the reporter's feedback page", page.data),
                ("the feedback PDF (text)", _pdf_text(phone.get(f"{link}/feedback.pdf").data)),
                ("the link on another device", app.test_client().get(link).data)]

    colleague = make_user(Role.MEMBER, home_site=ctx["chair"].home_site)
    db.session.commit()
    sender = signed_in(app.test_client(), ctx["member"])
    typed = {"recipient_id": str(colleague.id), "reason": "good_report", "case_id": "0",
             "message": "Great report on Mrs Zephyrine Quillfeather, NHS " + NHS_NUMBER + ", 17/08/1951."}
    shown = sender.post("/pats/new", data=typed)
    assert shown.status_code == 422
    # Its list of colleagues to thank names every user (the submitter among them, as one of many, with their
    # site's code); the rest of the form is checked.
    outputs.append(("the pat form shown back scrubbed",
                    re.sub(rb'<select[^>]*name="recipient_id".*?</select>', b"", shown.data, flags=re.S)))
    scrubbed = re.search(r"<textarea[^>]*>(.*?)</textarea>", shown.get_data(as_text=True), re.S).group(1).strip()
    assert sender.post("/pats/new", data=dict(typed, message=html.unescape(scrubbed))).status_code == 303
    assert sender.post("/pats/new", data=dict(typed, case_id=str(case.id),
                       message="Thanks for Dr Brambleworth's case: Quillfeather QF7730019.")).status_code == 422
    assert sender.post("/pats/new", data=dict(typed, case_id=str(case.id), message="Thanks for this case.")
                       ).status_code == 303
    app.config["ALLOW_TEST_NHS_NUMBERS"] = True
    try:
        nominated = sender.post("/cases/new", data={
            "kind": "great_pickup", "came_to_light": "other", "modality": "XR", "body_region": "Wrist",
            "clinical_question": "Fall.", "report_text": "Scaphoid fracture.", "outcome_text": "Confirmed on MR.",
            "suggested_learning": "", "patient_name": RECORD["patient_name"], "nhs_number": NHS_NUMBER,
            "hospital_number": RECORD["hospital_number"], "date_of_birth": "1951-08-17", "accession_number": "",
            "examination_date": "2026-02-13", "site_id": str(ctx["chair"].home_site_id),
            "reporter_id": str(colleague.id), "reporter_name": "", "reporter_email": "", "referrer_name": "",
            "thank_reporter": "y", "thanks": "Brilliant spot on Zephyrine's wrist (QF7730019)."})
    finally:
        app.config["ALLOW_TEST_NHS_NUMBERS"] = False
    assert nominated.status_code == 303
    receiver = signed_in(app.test_client(), colleague)
    pat_ids = db.session.scalars(select(Pat.id).order_by(Pat.id)).all()
    assert len(pat_ids) == 3
    for pat_id in pat_ids:
        outputs.append((f"pat {pat_id}'s page", receiver.get(f"/pats/{pat_id}").data))
        receiver.post(f"/pats/{pat_id}/keep", data={"keep": "yes"})
    outputs += [("the recipient's feedback page", receiver.get("/feedback").data),
                ("the sender's feedback page", sender.get("/feedback").data),
                ("the recipient's My CPD, with the pats kept", receiver.get("/cpd").data),
                ("the recipient's CPD record (PDF text)", _pdf_text(receiver.get("/cpd/record.pdf").data))]
    assert b"A pat on the back" in outputs[-2][1], "My CPD should list the kept pats"
    pats = [m for m in ctx["smtp"].messages if m["Subject"].startswith("A pat on the back")]
    assert len(pats) == 3
    outputs += [(f"a pat's email: {m['Subject']}", _email_text(m)) for m in pats]
    return outputs


def regional(ctx) -> list[tuple[str, bytes]]:
    """The planted case forwarded to a regional meeting: nothing of the patient, the reporter or any site (its
    own, or another the texts mention) in the regional chair's pages, the room, the network action, the
    certificates or the minutes. The room's notes and the action name them all again."""
    chair, app, case = ctx["client"], ctx["app"], ctx["case"]
    elsewhere = make_site(**NETWORK_SITE)
    lead = make_user(Role.CHAIR, Role.REGIONAL_CHAIR, name="Dr Network Lead", home_site=elsewhere)
    meeting = make_meeting(chair=lead, title="Regional peer learning meeting", scope="regional", site=None,
                           days_ahead=0)
    db.session.get(Case, case.id).status = "presented"
    ctx["meeting"].status = "ended"
    db.session.commit()
    assert chair.post(f"/cases/{case.id}/forward").status_code == 303
    copy_id = db.session.scalar(select(Case.id).where(Case.forwarded_from_id == case.id))
    regional_chair = signed_in(app.test_client(), lead)
    outputs = [("the regional triage page", regional_chair.get("/cases/triage").data),
               ("the regional case's page", regional_chair.get(f"/cases/{copy_id}").data)]
    assert regional_chair.post(f"/cases/{copy_id}/accept", data={f"c{copy_id}-meeting_id": meeting.id}).status_code == 303
    outputs.append(("the regional chair's anonymisation review", regional_chair.get(f"/cases/{copy_id}/review").data))
    assert approve_for_room(regional_chair, db.session.get(Case, copy_id)).status_code == 303
    outputs.append(("the regional presentation", regional_chair.get(f"/cases/{copy_id}/presentation").data))
    copy = db.session.get(Case, copy_id)
    for image in copy.images:
        outputs.append((f"regional image {image.position + 1}",
                        regional_chair.get(f"/cases/{copy_id}/images/{image.id}/anonymised.png").data))
    regional_chair.get(f"/meetings/{meeting.id}/console")
    code = db.session.scalar(select(LiveState.join_code).where(LiveState.meeting_id == meeting.id))
    command = f"/meetings/{meeting.id}/live"
    regional_chair.post(f"{command}/start")
    regional_chair.post(f"/meetings/{meeting.id}/register/open")
    regional_chair.post(f"/meetings/{meeting.id}/register/presence-off")
    phone = app.test_client()
    assert phone.post(f"/j/{code}/sign", data={
        "name": "Dr Network Guest", "email": "network.guest@elsewhere.example.org",
        "profession": "consultant_radiologist", "professional_body": "GMC", "registration_number": "7000003",
        "site": "Elsewhere Teleradiology"}).status_code == 303
    regional_chair.post(f"/meetings/{meeting.id}/cases/{copy_id}/notes/learning_points", data={
        "learning_points": "As at Wendlebury Abbey Hospital and MPI: check lung windows (Dr Brambleworth agrees).",
        "base": note_digest(db.session.get(Case, copy_id).learning_points)})
    for stage in (1, 2, 3, 4):
        regional_chair.post(f"{command}/stage", data={"stage": stage})
        outputs += [(f"the regional audience at stage {stage}", phone.get(f"/j/{code}/live?v=0").data),
                    (f"the regional projector at stage {stage}", regional_chair.get(f"/meetings/{meeting.id}/projector").data)]
    assert b"check lung windows" in outputs[-1][1], "the room should see the learning points"
    response = regional_chair.post(f"/meetings/{meeting.id}/actions", headers={"HX-Request": "true"}, data={
        "action-description": "Every site to audit CTPAs like Mrs Quillfeather's (QF7730019) at Wendlebury and Marlstone",
        "action-case_id": str(copy_id), "action-owner": str(lead.id), "action-due_on": date.today().isoformat(),
        "action-priority": "high", "action-sites": ["all"]})
    assert response.status_code == 200, response.get_data(as_text=True)
    outputs.append(("the regional console's actions", response.data.split(b"Add an action</h3>")[0]))
    network_action = db.session.scalar(select(Action.id).where(Action.meeting_id == meeting.id,
                                                               Action.network_action_id.is_(None)))
    member = signed_in(app.test_client(), ctx["member"])
    outputs.append(("the network action, for another site's member", member.get(f"/actions/{network_action}").data))
    regional_chair.post(f"{command}/end")
    assert regional_chair.post(f"/meetings/{meeting.id}/register/close").status_code == 303
    number = db.session.scalar(select(Attendance.certificate_number).where(Attendance.meeting_id == meeting.id))
    outputs += [("the regional certificate (PDF text)", _pdf_text(phone.get(f"/certificates/{number}.pdf").data)),
                ("the regional minutes page", regional_chair.get(f"/meetings/{meeting.id}/minutes").data),
                ("the regional minutes (PDF text)", _pdf_text(regional_chair.get(f"/meetings/{meeting.id}/minutes.pdf").data))]
    assert b"sites represented: 1" in outputs[-1][1]
    entry = regional_chair.get(f"/library/{copy_id}")
    assert entry.status_code == 200 and b"check lung windows" in entry.data, "the copy should be in the library"
    outputs += [("the regional case in the library", entry.data),
                ("the library searched, for another site's regional chair", regional_chair.get("/library/?q=lung").data)]
    return outputs


regional.extra_canaries = ["Marlstone", "MPI"]


def case_library(ctx) -> list[tuple[str, bytes]]:
    """The case in the library after a meeting whose room and minutes named the patient and the reporter: its
    page, its images, the list, and searches, including for the names the chair took out."""
    minutes(ctx)
    case = ctx["case"]
    member = signed_in(ctx["app"].test_client(), ctx["member"])
    entry = member.get(f"/library/{case.id}")
    assert entry.status_code == 200 and b"check lung windows" in entry.data, "the library should hold the edited learning"
    outputs = [("the case in the library", entry.data), ("the library", member.get("/library/").data)]
    for query in ("lung windows", "Quillfeather", "Brambleworth", "QF7730019"):
        outputs.append((f"the library searched for {query!r}", member.get(
            "/library/", query_string={"q": query}, headers={"HX-Request": "true", "HX-Target": "library-results"}).data))
    assert b"1 case match" in outputs[2][1] and b"0 cases match" in outputs[3][1]
    for image in case.images:
        response = member.get(f"/library/{case.id}/images/{image.id}.png")
        assert response.status_code == 200
        outputs.append((f"library image {image.position + 1}", response.data))
    return outputs


def governance(ctx) -> list[tuple[str, bytes]]:
    """The site's scorecard, the network's, the annual report and the incident export, after a meeting whose
    room, minutes and actions named the patient and the reporter. They may name the site they are about."""
    minutes(ctx)
    chair, app = ctx["client"], ctx["app"]
    site_id, year = ctx["chair"].home_site_id, ctx["meeting"].starts_at.astimezone(ZoneInfo("Europe/London")).year
    admin = signed_in(app.test_client(), make_user(Role.ADMIN))
    db.session.commit()
    member = signed_in(app.test_client(), ctx["member"])
    report = chair.get(f"/governance/sites/{site_id}/annual-report.pdf?year={year}")
    export = chair.get(f"/governance/sites/{site_id}/incidents.csv?year={year}")
    outputs = [("the site's scorecard, for a member", member.get(f"/governance/sites/{site_id}?year={year}").data),
               ("the site's scorecard, for its chair", chair.get(f"/governance/sites/{site_id}?year={year}").data),
               ("the network scorecard", admin.get(f"/governance/network?year={year}").data),
               ("the annual report (PDF text)", _pdf_text(report.data)), ("the incident export", export.data)]
    assert b"check lung windows" in outputs[3][1] and b"Tell [" in outputs[3][1], "the report should carry the learning and the action"
    assert b"Discrepancy or error" in export.data and b"check lung windows" in export.data, "the export should hold the case"
    return outputs


governance.names_the_meetings_site = True


def without_the_identifier_key(ctx) -> list[tuple[str, bytes]]:
    """The room, the minutes' draft and the library when the server has lost its identifier key: what
    was approved is shown; notes and answers that can no longer be checked are withheld, never shown raw."""
    chair, app, case = ctx["client"], ctx["app"], ctx["case"]
    meeting_id = ctx["meeting"].id
    chair.get(f"/meetings/{meeting_id}/console")
    code = db.session.scalar(select(LiveState.join_code).where(LiveState.meeting_id == meeting_id))
    phone = app.test_client()
    command = f"/meetings/{meeting_id}/live"
    chair.post(f"{command}/start")
    chair.post(f"{command}/open-poll", data={"preset": "free_text",
                                             "question": "Did Dr Brambleworth miss Mrs Quillfeather's nodule?"})
    poll_id = db.session.scalar(select(Poll.id).where(Poll.meeting_id == meeting_id))
    phone.post(f"/j/{code}/polls/{poll_id}", data={"answer": "Yes: Quillfeather QF7730019, seen by Octavius"})
    chair.post(f"{command}/show-results")
    chair.post(f"{command}/stage", data={"stage": 4})
    member = signed_in(app.test_client(), ctx["member"])
    keys = app.extensions["identifier_key"]
    app.extensions["identifier_key"] = []
    try:
        outputs = [("the projector", chair.get(f"/meetings/{meeting_id}/projector").data),
                   ("the audience fragment", phone.get(f"/j/{code}/live?v=0").data),
                   ("the audience page", phone.get(f"/j/{code}").data),
                   ("the minutes' draft", chair.get(f"/meetings/{meeting_id}/minutes").data)]
        assert b"[Withheld" in outputs[0][1], "the room should be seeing the case with its notes withheld"
        chair.post(f"{command}/end")
        outputs += [("the minutes' draft after the end", chair.get(f"/meetings/{meeting_id}/minutes").data),
                    ("the case in the library", member.get(f"/library/{case.id}").data),
                    ("the library", member.get("/library/").data)]
    finally:
        app.extensions["identifier_key"] = keys
    return outputs


AUDIENCE_OUTPUTS: list[Callable] = [presentation, anonymised_images, members_home, reporter_notice, live_meeting,
                                    attendance_register, actions, minutes, calendar, feedback, regional, case_library,
                                    governance, without_the_identifier_key]


@pytest.mark.parametrize("output", AUDIENCE_OUTPUTS, ids=lambda f: f.__name__)
def test_no_canary_reaches_an_audience(planted, output):
    canaries = [c for c in CANARIES
                if not (getattr(output, "names_the_meetings_site", False) and c in SITE_CANARIES)]
    canaries += getattr(output, "extra_canaries", [])
    for label, data in output(planted):
        text = data.decode("utf-8", "replace")
        squeezed = re.sub(r"\s", "", text)
        leaked = [c for c in canaries if _found(c, text) or (c.isdigit() and c in squeezed)]
        assert not leaked, f"{label} leaks {leaked}"
        if data.startswith(b"\x89PNG"):
            assert _png_chunks(data) <= {"IHDR", "PLTE", "IDAT", "IEND"}, f"{label} keeps metadata"


def test_the_guard_would_notice_a_leak(planted):
    """The planted case really carries the canaries, so a green guard means something."""
    client, case = planted["client"], planted["case"]
    detail = client.get(f"/cases/{case.id}").get_data(as_text=True)  # the chair's identifiable view
    review = client.get(f"/cases/{case.id}/review").get_data(as_text=True)
    for canary in ("Quillfeather", "Brambleworth", "Wendlebury", "QF7730019", "Peggy"):
        assert canary in detail + review
    assert all(c.encode() in b"".join(i.original for i in case.images) for c in IMAGE_CANARIES)


def _found(canary: str, text: str) -> bool:
    """A short canary (the site code) counts only as a word: random tokens on a page (CSRF, join codes,
    certificate numbers) spell three letters by chance now and then."""
    if len(canary) <= 4:
        return re.search(rf"(?<![A-Za-z0-9]){re.escape(canary)}(?![A-Za-z0-9])", text, re.I) is not None
    return canary.lower() in text.lower()


def _png_chunks(data: bytes) -> set[str]:
    chunks, at = set(), 8
    while at < len(data):
        length = int.from_bytes(data[at:at + 4], "big")
        chunks.add(data[at + 4:at + 8].decode("latin-1"))
        at += 12 + length
    return chunks
