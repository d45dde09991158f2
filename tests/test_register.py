"""The attendance register: presence codes, signing once, guests' details, the paper-sheet fallback, privacy,
certificates read back from the PDF and by email, verification, evaluations, My CPD and the CSV."""
from __future__ import annotations

import csv
import io
import re
import threading
from datetime import time, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from meetings.extensions import db
from meetings.models import Attendance, Evaluation, LiveState, Register, Role, utcnow
from meetings.register import presence
from meetings.schedule.service import at_local
from meetings.web import local_time
from tests.conftest import approve_for_room, signed_in
from tests.factories import make_case, make_meeting, make_site, make_user

HX = {"HX-Request": "true"}
GUEST = {"name": "Dr Imogen Castellane", "email": "imogen.castellane@visiting.example.org",
         "profession": "consultant_radiologist", "professional_body": "GMC", "registration_number": "7654321",
         "site": "Farholm Teleradiology"}


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def fresh(model, key):
    db.session.expire_all()
    return db.session.get(model, key)


@pytest.fixture
def meeting_room(app, client, login_as):
    """A meeting with an approved case whose learning points name the patient; `client` is its chair."""
    chair = login_as(Role.CHAIR, name="Dr Agnetha Thorsby", email="agnetha.thorsby@northgate.example.org")
    meeting = make_meeting(chair=chair, title="Neuro REAL meeting")
    # At lunchtime, so that times typed during it fall on its day whatever time the suite runs (a meeting
    # made at "now" in the late evening ran past midnight).
    meeting.starts_at = at_local(local_time(meeting.starts_at).date(), time(12, 30))
    meeting.ends_at = meeting.starts_at + timedelta(minutes=90)
    case = make_case(chair, meeting, {"patient_name": "Ottilie Wrenfield"},
                     learning_points="Review the venous sinuses on every CT head for Mrs Wrenfield.\n"
                                     "- Compare with prior imaging")
    db.session.commit()
    assert approve_for_room(client, case).status_code == 303
    assert client.get(f"/meetings/{meeting.id}/console").status_code == 200
    code = fresh(LiveState, meeting.id).join_code
    return {"chair": chair, "meeting": meeting, "code": code, "client": client, "case": case}


def register_action(client, meeting, action):
    return client.post(f"/meetings/{meeting.id}/register/{action}", headers=HX)


def code_now(meeting) -> str:
    return presence.current_code(fresh(Register, meeting.id))


def guest_signs(phone, code, meeting, **changes):
    return phone.post(f"/j/{code}/sign", data=GUEST | {"presence_code": code_now(meeting)} | changes)


def signatures(meeting) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Attendance.id)).where(Attendance.meeting_id == meeting.id))


# --- presence codes -------------------------------------------------------------------------------

def test_the_presence_code_changes_each_window_and_the_previous_one_still_counts(app, meeting_room):
    register = Register(meeting_id=meeting_room["meeting"].id, presence_secret="ab" * 32)
    window = app.config["PRESENCE_CODE_MINUTES"] * 60
    now = 1_000_000 * window + 10
    current = presence.current_code(register, now)
    assert re.fullmatch(r"\d{4}", current)
    assert presence.accepts(register, current, now)
    assert presence.accepts(register, f" {current[:2]} {current[2:]} ", now)  # spaces typed on a phone
    later = now + window
    assert presence.current_code(register, later) != current or presence.code_for(register, 999) != current
    assert presence.accepts(register, current, later)  # the previous window's code
    assert not presence.accepts(register, current, now + 2 * window)  # two windows on: gone
    assert not presence.accepts(register, "", now)
    other = Register(meeting_id=0, presence_secret="cd" * 32)
    assert [presence.current_code(other, now + i * window) for i in range(5)] != \
           [presence.current_code(register, now + i * window) for i in range(5)]


# --- signing --------------------------------------------------------------------------------------

def test_a_guest_signs_on_a_phone_with_the_presence_code_and_signing_again_is_harmless(app, meeting_room):
    meeting, code = meeting_room["meeting"], meeting_room["code"]
    phone = app.test_client()
    assert "not open yet" in phone.get(f"/j/{code}/sign").get_data(as_text=True)
    assert register_action(meeting_room["client"], meeting, "open").status_code == 204

    page = phone.get(f"/j/{code}/sign").get_data(as_text=True)
    assert "Presence code" in page and 'inputmode="numeric"' in page
    signed = guest_signs(phone, code, meeting)
    assert signed.status_code == 303 and signed.headers["Location"].endswith(f"/j/{code}/signed")
    assert guest_signs(phone, code, meeting).status_code == 303
    # The same person on another device, with their email in capitals, is still one signature.
    assert guest_signs(app.test_client(), code, meeting, email=GUEST["email"].upper()).status_code == 303
    assert signatures(meeting) == 1
    entry = db.session.scalar(select(Attendance).where(Attendance.meeting_id == meeting.id))
    assert (entry.name, entry.professional_body, entry.registration_number, entry.site_name) == (
        "Dr Imogen Castellane", "GMC", "7654321", "Farholm Teleradiology")
    assert entry.device_digest and entry.signed_by == "self"
    after = phone.get(f"/j/{code}/signed").get_data(as_text=True)
    assert "You are on the register" in after and "when the chair closes the register" in after


def test_a_wrong_presence_code_or_bad_details_keep_what_was_typed(app, meeting_room):
    meeting, code = meeting_room["meeting"], meeting_room["code"]
    register_action(meeting_room["client"], meeting, "open")
    phone = app.test_client()
    right = code_now(meeting)
    wrong = f"{(int(right) + 5000) % 10000:04d}"
    refused = guest_signs(phone, code, meeting, presence_code=wrong)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "presence code is not right" in page
    assert 'value="Dr Imogen Castellane"' in page and 'value="7654321"' in page
    assert signatures(meeting) == 0

    bad = guest_signs(phone, code, meeting, registration_number="12345", email="not-an-email", name="")
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "A GMC number is 7 digits" in page and "Enter an email address like" in page and "Enter your full name" in page
    assert 'value="Farholm Teleradiology"' in page and 'value="not-an-email"' in page
    hcpc = guest_signs(phone, code, meeting, professional_body="HCPC", registration_number="7654321")
    assert hcpc.status_code == 422 and "RA then digits" in hcpc.get_data(as_text=True)
    ok = guest_signs(phone, code, meeting, professional_body="HCPC", registration_number="ra 12345",
                     profession="reporting_radiographer")
    assert ok.status_code == 303
    assert db.session.scalar(select(Attendance.registration_number)) == "RA12345"


def test_the_chair_can_turn_the_presence_code_off(app, meeting_room):
    meeting, code = meeting_room["meeting"], meeting_room["code"]
    register_action(meeting_room["client"], meeting, "open")
    register_action(meeting_room["client"], meeting, "presence-off")
    phone = app.test_client()
    assert "Presence code" not in phone.get(f"/j/{code}/sign").get_data(as_text=True)
    assert phone.post(f"/j/{code}/sign", data=GUEST).status_code == 303
    assert signatures(meeting) == 1


def test_a_member_signs_with_one_tap(app, meeting_room):
    meeting, code = meeting_room["meeting"], meeting_room["code"]
    register_action(meeting_room["client"], meeting, "open")
    member = make_user(Role.MEMBER, name="Dr Bertil Aaskov", professional_body="GMC", registration_number="1112223",
                       home_site=meeting.site)
    db.session.commit()
    phone = signed_in(app.test_client(), member)
    page = phone.get(f"/j/{code}/sign").get_data(as_text=True)
    assert "Sign the register as Dr Bertil Aaskov" in page and 'name="email"' not in page
    assert phone.post(f"/j/{code}/sign", data={"presence_code": code_now(meeting)}).status_code == 303
    assert phone.post(f"/j/{code}/sign", data={"presence_code": code_now(meeting)}).status_code == 303
    entry = db.session.scalar(select(Attendance))
    assert (entry.user_id, entry.registration_number, signatures(meeting)) == (member.id, "1112223", 1)
    # Their address typed into the guest form is refused (nobody signs as a member without signing in),
    # and what was typed stays.
    refused = guest_signs(app.test_client(), code, meeting, email=member.email)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "belongs to a Lightbox account" in page and 'value="7654321"' in page
    assert signatures(meeting) == 1


def test_nobody_signs_a_closed_register(app, meeting_room):
    meeting, code = meeting_room["meeting"], meeting_room["code"]
    register_action(meeting_room["client"], meeting, "open")
    register_action(meeting_room["client"], meeting, "close")
    phone = app.test_client()
    refused = guest_signs(phone, code, meeting)
    assert refused.status_code == 422 and "The register closed at" in refused.get_data(as_text=True)
    assert signatures(meeting) == 0


def test_a_burst_of_simultaneous_signers_loses_none_and_duplicates_none(app, meeting_room):
    """Thirty phones at once, each signing twice, ten of them the same person: 21 signatures exactly."""
    meeting, code = meeting_room["meeting"], meeting_room["code"]
    register_action(meeting_room["client"], meeting, "open")
    presence_code = code_now(meeting)
    people = [f"burst{n}@test.example.org" for n in range(20)] + ["same.person@test.example.org"] * 10
    phones = [app.test_client() for _ in people]
    for phone in phones:
        phone.get(f"/j/{code}/sign")
    start, results = threading.Barrier(len(people)), []

    def sign(phone, email):
        start.wait()
        for _ in range(2):
            results.append(phone.post(f"/j/{code}/sign", data=GUEST | {"email": email, "name": email.split("@")[0],
                                                                     "presence_code": presence_code}).status_code)

    threads = [threading.Thread(target=sign, args=pair) for pair in zip(phones, people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [303] * 60
    assert signatures(meeting) == 21
    keys = db.session.scalars(select(Attendance.person_key).where(Attendance.meeting_id == meeting.id)).all()
    assert sorted(keys) == sorted({f"email:{email}" for email in people})


# --- privacy --------------------------------------------------------------------------------------

def test_the_register_is_for_chairs_and_the_sites_risk_staff_only(app, meeting_room):
    meeting, code, client = meeting_room["meeting"], meeting_room["code"], meeting_room["client"]
    register_action(client, meeting, "open")
    guest_signs(app.test_client(), code, meeting)
    url = f"/meetings/{meeting.id}/register"
    assert "Dr Imogen Castellane" in client.get(url).get_data(as_text=True)
    risk_here = signed_in(app.test_client(), make_user(Role.RISK, home_site=meeting.site))
    risk_elsewhere = signed_in(app.test_client(), make_user(Role.RISK, home_site=make_site()))
    member = signed_in(app.test_client(), make_user(Role.MEMBER, home_site=meeting.site))
    db.session.commit()
    assert "Dr Imogen Castellane" in risk_here.get(url).get_data(as_text=True)
    assert risk_here.get(url + ".csv").status_code == 200
    for outsider in (risk_elsewhere, member):
        assert outsider.get(url).status_code == 404
        assert outsider.get(url + ".csv").status_code == 404
    assert member.post(f"{url}/open").status_code == 404
    assert risk_here.post(f"{url}/close").status_code == 404  # risk staff watch; the chair keeps it

    # Another attendee's phone never sees who else signed.
    other = app.test_client()
    for page in (f"/j/{code}", f"/j/{code}/sign", f"/j/{code}/signed", f"/j/{code}/live?v=0"):
        assert "Castellane" not in other.get(page).get_data(as_text=True), page


def test_the_console_and_projector_show_the_register_while_it_is_open(app, meeting_room):
    meeting, code, client = meeting_room["meeting"], meeting_room["code"], meeting_room["client"]
    console = client.get(f"/meetings/{meeting.id}/console").get_data(as_text=True)
    assert "Open the register" in console and "Presence code" not in console
    register_action(client, meeting, "open")
    now = code_now(meeting)
    for page in (client.get(f"/meetings/{meeting.id}/console"), client.get(f"/meetings/{meeting.id}/projector")):
        text = page.get_data(as_text=True)
        assert now in text and f"/j/{code}/sign" in text and "<svg" in text
    # Phones are offered the register at once (the change moved the room's version on).
    assert f"/j/{code}/sign" in app.test_client().get(f"/j/{code}/live?v=0").get_data(as_text=True)
    # The console's poll notices a new signature: it holds the count.
    held = re.search(r'hx-get="([^"]*/console/room[^"]*)"', client.get(f"/meetings/{meeting.id}/console")
                     .get_data(as_text=True)).group(1).replace("&amp;", "&")
    assert client.get(held, headers=HX).status_code == 204
    guest_signs(app.test_client(), code, meeting)
    changed = client.get(held, headers=HX)
    assert changed.status_code == 200 and "1 signed the register" in changed.get_data(as_text=True)


# --- the paper-sheet fallback, apologies and times -------------------------------------------------

def test_the_chair_adds_people_by_hand_and_records_apologies(app, meeting_room):
    meeting, code, client = meeting_room["meeting"], meeting_room["code"], meeting_room["client"]
    colleague = make_user(Role.MEMBER, name="Dr Saoirse Lindahl", home_site=meeting.site)
    db.session.commit()
    url = f"/meetings/{meeting.id}/register/add"
    assert client.post(url, data={"status": "present", "member_id": 0, "name": "Dr Pieter Ravnsborg",
                                  "profession": "trainee_radiologist", "professional_body": "none"}).status_code == 303
    assert client.post(url, data={"status": "apologies", "member_id": colleague.id}).status_code == 303
    missing = client.post(url, data={"status": "present", "member_id": 0, "name": ""})
    assert missing.status_code == 422 and "Choose a member, or enter the person" in missing.get_data(as_text=True)
    page = client.get(f"/meetings/{meeting.id}/register").get_data(as_text=True)
    assert "Attended (1)" in page and "Apologies (1)" in page and "Dr Saoirse Lindahl" in page
    # The colleague arrives after all and signs: the apology becomes attendance, still one entry.
    register_action(client, meeting, "open")
    phone = signed_in(app.test_client(), colleague)
    assert phone.post(f"/j/{code}/sign", data={"presence_code": code_now(meeting)}).status_code == 303
    assert signatures(meeting) == 2
    page = client.get(f"/meetings/{meeting.id}/register").get_data(as_text=True)
    assert "Attended (2)" in page and "Apologies (0)" in page
    again = client.post(url, data={"status": "apologies", "member_id": colleague.id})
    assert again.status_code == 422 and "already on the register as present" in again.get_data(as_text=True)


def test_a_late_arrival_shortens_the_time_attended_and_the_credits(app, meeting_room):
    meeting, code, client = meeting_room["meeting"], meeting_room["code"], meeting_room["client"]
    register_action(client, meeting, "open")
    guest_signs(app.test_client(), code, meeting)
    entry = db.session.scalar(select(Attendance))
    start = local_time(meeting.starts_at)
    late = (start + timedelta(minutes=30)).strftime("%H:%M")
    url = f"/meetings/{meeting.id}/register/{entry.id}/times"
    saved = client.post(url, data={"arrived": late, "left": ""}, headers=HX)
    body = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "1 h" in body and "1 credit" in body and "Saved" in body
    outside = (start - timedelta(minutes=30)).strftime("%H:%M")
    refused = client.post(url, data={"arrived": outside, "left": "nonsense"}, headers=HX)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "hours and minutes" in body and 'value="nonsense"' in body
    backwards = client.post(url, data={"arrived": late, "left": (start + timedelta(minutes=10)).strftime("%H:%M")})
    assert backwards.status_code == 422 and "after the arrival" in backwards.get_data(as_text=True)
    assert local_time(fresh(Attendance, entry.id).arrived_at).strftime("%H:%M") == late


# --- certificates ---------------------------------------------------------------------------------

def test_closing_the_register_emails_each_attendee_their_certificate_once(app, meeting_room, smtp_server, runner_env):
    meeting, code, client = meeting_room["meeting"], meeting_room["code"], meeting_room["client"]
    register_action(client, meeting, "open")
    guest_signs(app.test_client(), code, meeting)
    client.post(f"/meetings/{meeting.id}/register/add",
                data={"status": "present", "member_id": 0, "name": "Dr Paper Only", "profession": "other",
                      "professional_body": "none"})
    assert register_action(client, meeting, "close").status_code == 204
    assert [m["To"] for m in smtp_server.messages] == [GUEST["email"]]
    message = smtp_server.messages[0]
    assert "Neuro REAL meeting" in message["Subject"]
    attachment = next(part for part in message.iter_attachments() if part.get_content_type() == "application/pdf")
    text = pdf_text(attachment.get_content())
    assert "Dr Imogen Castellane" in text and "GMC 7654321" in text
    body = message.get_body(("plain",)).get_content()
    number = re.search(r"LB-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", body).group(0)
    assert f"/verify/{number}" in body
    # Cron runs the sender again: nothing is sent twice.
    result = runner_env.invoke(args=["send-certificates"])
    assert result.exit_code == 0 and "emailed: 0" in result.output
    assert len(smtp_server.messages) == 1


def test_a_failed_send_is_left_for_the_next_try(app, meeting_room, smtp_server, runner_env):
    meeting, code, client = meeting_room["meeting"], meeting_room["code"], meeting_room["client"]
    register_action(client, meeting, "open")
    guest_signs(app.test_client(), code, meeting)
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = 1  # nothing listens there
    try:
        register_action(client, meeting, "close")
    finally:
        app.config["MAIL_PORT"] = port
    assert smtp_server.messages == [] and fresh(Attendance, db.session.scalar(select(Attendance.id))).certificate_emailed_at is None
    result = runner_env.invoke(args=["send-certificates"])
    assert "emailed: 1" in result.output and len(smtp_server.messages) == 1


def test_the_certificate_prints_what_the_college_asks_and_no_identifier(app, meeting_room):
    meeting, code, client = meeting_room["meeting"], meeting_room["code"], meeting_room["client"]
    register_action(client, meeting, "open")
    phone = app.test_client()
    guest_signs(phone, code, meeting)
    entry = db.session.scalar(select(Attendance))
    assert phone.get(f"/certificates/{entry.certificate_number}.pdf").status_code == 404  # not before closing
    register_action(client, meeting, "close")
    page = phone.get(f"/j/{code}/signed").get_data(as_text=True)
    assert f"/certificates/{entry.certificate_number}.pdf" in page
    response = phone.get(f"/certificates/{entry.certificate_number}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(pdf_text(response.data).split())
    for printed in ("Dr Imogen Castellane", "GMC 7654321", "Neuro REAL meeting", "1 h 30 min",
                    "This meeting provides 1.5 CPD credits in accordance with the CPD Scheme of The Royal College "
                    "of Radiologists", "Review the venous sinuses on every CT head", "Compare with prior imaging",
                    "Dr Agnetha Thorsby", "agnetha.thorsby@northgate.example.org", entry.certificate_number,
                    f"/verify/{entry.certificate_number}"):
        assert printed in text, printed
    assert "Wrenfield" not in text
    reader = PdfReader(io.BytesIO(response.data))
    assert reader.metadata.title == "CPD certificate" and "/StructTreeRoot" in reader.trailer["/Root"]
    # Another phone, holding the number but not the signature, gets nothing.
    assert app.test_client().get(f"/certificates/{entry.certificate_number}.pdf").status_code == 404
    # The chair downloads everyone's at once.
    everyone = client.get(f"/meetings/{meeting.id}/certificates.pdf")
    assert everyone.status_code == 200 and "Dr Imogen Castellane" in pdf_text(everyone.data)


def test_verification_confirms_a_genuine_certificate_and_shows_no_more_than_it_prints(app, meeting_room):
    meeting, code, client = meeting_room["meeting"], meeting_room["code"], meeting_room["client"]
    register_action(client, meeting, "open")
    guest_signs(app.test_client(), code, meeting)
    number = db.session.scalar(select(Attendance.certificate_number))
    anyone = app.test_client()
    assert anyone.get(f"/verify/{number}").status_code == 404  # the register is still open
    register_action(client, meeting, "close")
    page = anyone.get(f"/verify/{number.lower()}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Genuine CPD certificate" in text
    assert "Dr Imogen Castellane" in text and "GMC 7654321" in text and "1.5" in text
    assert GUEST["email"] not in text and "Farholm" not in text and "Wrenfield" not in text
    typed = number.replace("0", "O").replace("1", "I")  # read off paper
    assert anyone.get(f"/verify/{typed}").status_code == 200
    missing = anyone.get("/verify/LB-0000-0000-0000")
    assert missing.status_code == 404 and "No certificate with this number" in missing.get_data(as_text=True)


# --- evaluation -----------------------------------------------------------------------------------

def test_attendees_evaluate_anonymously_once_and_the_chair_sees_a_summary(app, meeting_room):
    meeting, code, client = meeting_room["meeting"], meeting_room["code"], meeting_room["client"]
    register_action(client, meeting, "open")
    phone = app.test_client()
    assert phone.get(f"/j/{code}/evaluate").status_code == 403  # sign first
    guest_signs(phone, code, meeting)
    refused = phone.post(f"/j/{code}/evaluate", data={"best": "The staged reveal"})
    assert refused.status_code == 422 and "The staged reveal" in refused.get_data(as_text=True)
    assert phone.post(f"/j/{code}/evaluate", data={"usefulness": "5", "change_practice": "yes",
                                                   "best": "The staged reveal"}).status_code == 303
    assert phone.post(f"/j/{code}/evaluate", data={"usefulness": "1", "change_practice": "no"}).status_code == 403
    evaluation = db.session.scalar(select(Evaluation))
    assert (evaluation.usefulness, evaluation.best) == (5, "The staged reveal")
    assert not hasattr(evaluation, "attendance_id") and not hasattr(evaluation, "created_at")
    page = client.get(f"/meetings/{meeting.id}/register").get_data(as_text=True)
    assert "Evaluations (1)" in page and "Average usefulness 5.0" in page and "The staged reveal" in page


# --- My CPD and the CSV ---------------------------------------------------------------------------

def test_my_cpd_counts_credits_and_keeps_reflections_private(app, meeting_room):
    meeting, code, client = meeting_room["meeting"], meeting_room["code"], meeting_room["client"]
    member = make_user(Role.MEMBER, name="Dr Bertil Aaskov", home_site=meeting.site)
    db.session.commit()
    register_action(client, meeting, "open")
    phone = signed_in(app.test_client(), member)
    phone.post(f"/j/{code}/sign", data={"presence_code": code_now(meeting)})
    register_action(client, meeting, "close")
    year = local_time(meeting.starts_at).year
    page = phone.get(f"/cpd?year={year}").get_data(as_text=True)
    assert "Neuro REAL meeting" in page and "<strong>1.5</strong> CPD credits" in page
    entry = db.session.scalar(select(Attendance))
    url = f"/cpd/{entry.id}/reflection"
    bad = phone.post(url, data={"reflection": "I will check the venous sinuses.", "minutes": "-5"})
    assert bad.status_code == 422 and "I will check the venous sinuses." in bad.get_data(as_text=True)
    assert phone.post(url, data={"reflection": "I will check the venous sinuses.", "minutes": "30"}).status_code == 303
    assert "<strong>2</strong> CPD credits" in phone.get(f"/cpd?year={year}").get_data(as_text=True)
    record = phone.get(f"/cpd/record.pdf?year={year}")
    text = pdf_text(record.data)
    assert "Dr Bertil Aaskov" in text and "I will check the venous sinuses." in text
    # Nobody else reads or writes it, the chair included.
    assert client.get(url).status_code == 404
    assert "venous sinuses." not in client.get(f"/meetings/{meeting.id}/register").get_data(as_text=True)


def test_the_register_exports_as_csv_safely(app, meeting_room):
    meeting, code, client = meeting_room["meeting"], meeting_room["code"], meeting_room["client"]
    register_action(client, meeting, "open")
    guest_signs(app.test_client(), code, meeting, name="=HYPERLINK(\"http://x\")")
    response = client.get(f"/meetings/{meeting.id}/register.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["Name", "Email", "Profession"]
    assert rows[1][0].startswith("'=") and rows[1][4] == "7654321" and rows[1][11] == "90" and rows[1][12] == "1.5"


@pytest.fixture
def runner_env(app):
    """The CLI, run as cron would run it."""
    return app.test_cli_runner()


def test_risk_staff_find_the_register_from_their_home_page(app, meeting_room):
    meeting = meeting_room["meeting"]
    meeting.status = "ended"
    risk = signed_in(app.test_client(), make_user(Role.RISK, home_site=meeting.site))
    member = signed_in(app.test_client(), make_user(Role.MEMBER, home_site=meeting.site))
    db.session.commit()
    link = f"/meetings/{meeting.id}/register"
    assert link in risk.get("/").get_data(as_text=True)
    assert link not in member.get("/").get_data(as_text=True)


def test_only_wrong_presence_codes_count_against_a_rooms_shared_address(app, meeting_room):
    """A hospital's phones share one address: typos in a GMC number never lock the room out, and guessing
    the presence code is stopped without closing the sign-in page itself."""
    meeting, code = meeting_room["meeting"], meeting_room["code"]
    register_action(meeting_room["client"], meeting, "open")
    phone = app.test_client()
    for _ in range(35):
        assert guest_signs(phone, code, meeting, registration_number="123").status_code == 422
    wrong = f"{(int(code_now(meeting)) + 5000) % 10000:04d}"
    statuses = [guest_signs(phone, code, meeting, presence_code=wrong).status_code for _ in range(61)]
    assert statuses[:60] == [422] * 60 and statuses[60] == 429
    assert phone.get(f"/j/{code}/sign").status_code == 200


# --- what the review of this feature found ---------------------------------------------------------

def test_a_guest_typing_someone_elses_email_takes_nothing_of_theirs(app, meeting_room, smtp_server):
    meeting, code, client = meeting_room["meeting"], meeting_room["code"], meeting_room["client"]
    client.post(f"/meetings/{meeting.id}/register/add", data={
        "status": "present", "member_id": 0, "name": "Dr Real Person", "email": "real.person@test.example.org",
        "profession": "consultant_radiologist", "professional_body": "GMC", "registration_number": "1234567"})
    register_action(client, meeting, "open")
    stranger = app.test_client()
    signed = guest_signs(stranger, code, meeting, name="Mallory Prank", email="real.person@test.example.org",
                         registration_number="9999999")
    assert signed.status_code == 303 and "already=1" in signed.headers["Location"]
    page = stranger.get(signed.headers["Location"]).get_data(as_text=True)
    assert "already on the register" in page and "Dr Real Person" not in page
    entry = db.session.scalar(select(Attendance))
    assert (entry.name, entry.registration_number, entry.device_digest) == ("Dr Real Person", "1234567", None)
    register_action(client, meeting, "close")
    assert stranger.get(f"/certificates/{entry.certificate_number}.pdf").status_code == 404


def test_on_a_shared_tablet_each_signer_sees_only_their_own(app, meeting_room):
    meeting, code, client = meeting_room["meeting"], meeting_room["code"], meeting_room["client"]
    register_action(client, meeting, "open")
    tablet = app.test_client()
    guest_signs(tablet, code, meeting)
    guest_signs(tablet, code, meeting, name="Dr Second Signer", email="second@visiting.example.org")
    page = tablet.get(f"/j/{code}/signed").get_data(as_text=True)
    assert "Dr Second Signer" in page and "Castellane" not in page
    register_action(client, meeting, "close")
    first = db.session.scalar(select(Attendance).where(Attendance.email == GUEST["email"]))
    assert tablet.get(f"/certificates/{first.certificate_number}.pdf").status_code == 404


def test_a_member_signing_over_the_chairs_entry_gets_their_own_details(app, meeting_room):
    meeting, code, client = meeting_room["meeting"], meeting_room["code"], meeting_room["client"]
    member = make_user(Role.MEMBER, name="Dr Bertil Aaskov", professional_body="GMC", registration_number="1112223",
                       home_site=meeting.site, profession="consultant_radiologist")
    db.session.commit()
    client.post(f"/meetings/{meeting.id}/register/add", data={"status": "apologies", "member_id": member.id})
    register_action(client, meeting, "open")
    phone = signed_in(app.test_client(), member)
    phone.post(f"/j/{code}/sign", data={"presence_code": code_now(meeting)})
    entry = fresh(Attendance, db.session.scalar(select(Attendance.id)))
    assert (entry.status, entry.signed_by, entry.registration_number) == ("present", "self", "1112223")
    assert entry.device_digest is not None


def test_a_chosen_body_needs_its_number(app, meeting_room):
    meeting, code = meeting_room["meeting"], meeting_room["code"]
    register_action(meeting_room["client"], meeting, "open")
    refused = guest_signs(app.test_client(), code, meeting, registration_number="")
    assert refused.status_code == 422 and "Enter the GMC number" in refused.get_data(as_text=True)
    assert guest_signs(app.test_client(), code, meeting, registration_number="", professional_body="none",
                       profession="other").status_code == 303


def test_the_register_opened_after_the_meeting_still_reaches_the_room(app, meeting_room):
    meeting, code, client = meeting_room["meeting"], meeting_room["code"], meeting_room["client"]
    client.post(f"/meetings/{meeting.id}/live/start", headers=HX)
    client.post(f"/meetings/{meeting.id}/live/end", headers=HX)
    phone = app.test_client()
    assert 'hx-trigger="every 10s"' in phone.get(f"/j/{code}/live?v=0").get_data(as_text=True)
    assert "every 2s" in client.get(f"/meetings/{meeting.id}/projector").get_data(as_text=True)
    register_action(client, meeting, "open")
    assert f"/j/{code}/sign" in phone.get(f"/j/{code}/live?v=0").get_data(as_text=True)
    register_action(client, meeting, "close")
    fragment = phone.get(f"/j/{code}/live?v=0").get_data(as_text=True)
    assert "Get your CPD certificate" in fragment and "hx-trigger" not in fragment


def test_late_additions_and_corrections_are_emailed_and_a_dead_senders_claim_expires(
        app, meeting_room, smtp_server, runner_env):
    meeting, client = meeting_room["meeting"], meeting_room["client"]
    register_action(client, meeting, "open")
    register_action(client, meeting, "close")
    client.post(f"/meetings/{meeting.id}/register/add", data={
        "status": "present", "member_id": 0, "name": "Dr Late Paper", "email": "late.paper@test.example.org",
        "profession": "other", "professional_body": "none"})
    assert [m["To"] for m in smtp_server.messages] == ["late.paper@test.example.org"]
    entry = db.session.scalar(select(Attendance))
    left = (local_time(meeting.starts_at) + timedelta(minutes=60)).strftime("%H:%M")
    client.post(f"/meetings/{meeting.id}/register/{entry.id}/times", data={"arrived": "", "left": left})
    assert len(smtp_server.messages) == 2  # the corrected certificate
    assert f"to {left}" in pdf_text(next(smtp_server.messages[-1].iter_attachments()).get_content())
    # A sender that claimed a certificate and died: cron sends it once the claim has expired, not before.
    entry = fresh(Attendance, entry.id)
    entry.certificate_emailed_at, entry.certificate_claimed_at = None, utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert "emailed: 0" in runner_env.invoke(args=["send-certificates"]).output
    fresh(Attendance, entry.id).certificate_claimed_at = utcnow() - timedelta(minutes=20)
    db.session.commit()
    assert "emailed: 1" in runner_env.invoke(args=["send-certificates"]).output
    assert len(smtp_server.messages) == 3


def test_my_cpd_refuses_nonsense_years_politely(app, meeting_room):
    member = signed_in(app.test_client(), make_user(Role.MEMBER))
    db.session.commit()
    for year in ("99999", "-1", "abc"):
        assert member.get(f"/cpd?year={year}").status_code == 200
        assert member.get(f"/cpd/record.pdf?year={year}").status_code == 200
