"""CPD certificates: what each prints, the PDF (one attendee's or the whole register's), verification,
and emailing them when the register closes."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, current_app
from sqlalchemy import ColumnElement, and_, or_, select, true, update

from meetings import mail
from meetings.cases import review
from meetings.cases import service as cases
from meetings.extensions import db
from meetings.identifier_key import IdentifiersUnavailable
from meetings.models import Attendance, AttendanceStatus, Meeting, Profession, utcnow
from meetings.pdf import render_pdf
from meetings.qr import qr_png_data_uri
from meetings.register import service
from meetings.web import external_url, format_datetime, local_time, plural

log = logging.getLogger(__name__)

STATEMENT = ("This meeting provides {credits} CPD {unit} in accordance with the CPD Scheme of The Royal College "
             "of Radiologists")


@dataclass(frozen=True)
class Certificate:
    """Everything a certificate prints, and so everything `/verify/<number>` may show."""

    number: str
    name: str
    profession: str
    registration: str  # "GMC 1234567", "HCPC RA12345", or empty
    meeting_title: str
    date: str
    time_attended: str
    credits: str
    statement: str
    learning_outcomes: tuple[str, ...]
    chair_name: str
    chair_email: str
    verify_url: str

    @property
    def verify_qr(self) -> str:
        return qr_png_data_uri(self.verify_url)


def learning_outcomes(meeting: Meeting) -> tuple[str, ...]:
    """The learning points agreed for the meeting's cases, one per line, anonymised as the room saw them.

    A case whose anonymisation is not approved adds nothing: its text has not been checked for the room.
    """
    points = []
    for case in cases.queue(meeting):
        if case.learning_points.strip() and review.state_of(case) is review.ReviewState.REVIEWED:
            text = review.room_text(case, case.learning_points)
            points.extend(line.strip(" -•*\t") for line in text.splitlines() if line.strip(" -•*\t"))
    return tuple(points)


def unapproved_learning(meeting: Meeting) -> int:
    """How many cases have learning points that certificates leave out until their review is approved."""
    return sum(1 for case in cases.queue(meeting)
               if case.learning_points.strip() and review.state_of(case) is not review.ReviewState.REVIEWED)


def certificate_of(attendance: Attendance, outcomes: tuple[str, ...] | None = None) -> Certificate:
    """`outcomes` when the caller has the meeting's learning outcomes already (a batch of certificates)."""
    meeting = attendance.meeting
    start, end = service.attended_span(attendance)
    minutes = service.minutes_attended(attendance)
    credits = service.credits_for(minutes)
    return Certificate(
        number=attendance.certificate_number, name=attendance.name,
        profession=Profession(attendance.profession).label,
        registration=attendance.registration,
        meeting_title=meeting.title, date=format_datetime(meeting.starts_at, "%A %-d %B %Y"),
        time_attended=f"{local_time(start):%H:%M} to {local_time(end):%H:%M} ({service.format_duration(minutes)})",
        credits=service.format_credits(credits),
        statement=STATEMENT.format(credits=service.format_credits(credits), unit=plural(credits, "credit")),
        learning_outcomes=learning_outcomes(meeting) if outcomes is None else outcomes,
        chair_name=meeting.chair.name, chair_email=meeting.chair.email,
        verify_url=external_url("register.verify", number=attendance.certificate_number),
    )


def certificates_pdf(attendances: list[Attendance], outcomes: tuple[str, ...] | None = None) -> bytes:
    """One PDF, a page per certificate. `outcomes` when the caller has the meeting's already."""
    by_meeting = {}
    certificates = []
    for attendance in attendances:
        if attendance.meeting_id not in by_meeting:
            by_meeting[attendance.meeting_id] = learning_outcomes(attendance.meeting) if outcomes is None else outcomes
        certificates.append(certificate_of(attendance, by_meeting[attendance.meeting_id]))
    title = "CPD certificate" if len(certificates) == 1 else f"CPD certificates ({len(certificates)})"
    # Each page is a certificate to hand out: its heading and running header are the same whatever the batch.
    return render_pdf("certificate.html", title=title, heading="Certificate of attendance for CPD",
                      running_header="Lightbox CPD certificate", certificates=certificates)


def by_number(number: str) -> Attendance | None:
    """A genuine certificate: a present attendee's, once the register has closed."""
    # Typed from paper: after "LB-", O, I and L are never used, so they were meant as 0 and 1.
    number = number.strip().upper()
    number = number[:3] + number[3:].translate(str.maketrans("OIL", "011"))
    attendance = db.session.scalar(select(Attendance).where(
        Attendance.certificate_number == number, Attendance.status == AttendanceStatus.PRESENT))
    if attendance is None or not service.peek(attendance.meeting).is_closed:
        return None
    return attendance


def filename(attendance: Attendance) -> str:
    return f"cpd-certificate-{attendance.certificate_number}.pdf"


# --- email ----------------------------------------------------------------------------------------

CLAIM_EXPIRES = timedelta(minutes=15)


def unsent() -> ColumnElement[bool]:
    """Certificates still to email: attendees with an address, not sent, and not being sent (a claim that
    has not expired)."""
    return and_(Attendance.status == AttendanceStatus.PRESENT, Attendance.email != "",
                Attendance.certificate_emailed_at.is_(None),
                or_(Attendance.certificate_claimed_at.is_(None),
                    Attendance.certificate_claimed_at < utcnow() - CLAIM_EXPIRES))


def email_unsent(meeting: Meeting) -> tuple[int, int]:
    """Email each present attendee with an address their certificate, once. Returns (sent, failed).

    Each is claimed by an UPDATE before it is sent, so a second sender at the same time (the background
    thread and the cron command) skips it; it is marked sent only once the mail server has taken it, and a
    claim left by a sender that died expires after CLAIM_EXPIRES, so nobody's certificate is lost.
    """
    if not service.peek(meeting).is_closed:
        return 0, 0
    waiting = list(db.session.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id, unsent())
                                      .order_by(Attendance.id)))
    db.session.commit()
    try:
        outcomes = learning_outcomes(meeting)
    except IdentifiersUnavailable as error:
        # A certificate is kept for years: it waits for the key rather than go out with its learning withheld.
        log.warning("Certificates for meeting %s wait: %s `send-certificates` sends them once the key is back.",
                    meeting.id, error)
        return 0, 0
    sent = failed = 0
    for attendance in waiting:
        if not _mark(attendance, unsent(), certificate_claimed_at=utcnow()):
            continue
        try:
            _send(attendance, outcomes)
        except Exception:  # noqa: BLE001 - one bad address or a mail server hiccup must not stop the rest
            log.exception("Certificate %s not emailed; it will be tried again", attendance.certificate_number)
            _mark(attendance, true(), certificate_claimed_at=None)
            failed += 1
            continue
        _mark(attendance, true(), certificate_emailed_at=utcnow(), certificate_claimed_at=None)
        sent += 1
    return sent, failed


def _mark(attendance: Attendance, condition: ColumnElement[bool], **values) -> bool:
    """Set `values` on the attendee's row if `condition` holds, committed at once; whether it did."""
    changed = db.session.execute(update(Attendance).where(Attendance.id == attendance.id, condition)
                                 .values(**values).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return bool(changed)


def _send(attendance: Attendance, outcomes: tuple[str, ...]) -> None:
    certificate = certificate_of(attendance, outcomes)
    message = mail.build_message(attendance.email, f"Your CPD certificate: {certificate.meeting_title}",
                                 "email/certificate", certificate=certificate)
    message.add_attachment(certificates_pdf([attendance], outcomes), maintype="application", subtype="pdf", filename=filename(attendance))
    mail.send(message)


def email_if_closed(meeting: Meeting) -> None:
    """Once a change to a closed register is committed (closing it, a late addition, corrected times), send
    the certificates it left unsent: in the background unless configured otherwise, so the chair's page comes
    straight back."""
    if not service.peek(meeting).is_closed:
        return
    if not current_app.config["CERTIFICATES_IN_BACKGROUND"]:
        email_unsent(meeting)
        return
    app = current_app._get_current_object()
    threading.Thread(target=_email_in_background, args=(app, meeting.id), daemon=True,
                     name=f"certificates-{meeting.id}").start()


def _email_in_background(app: Flask, meeting_id: int) -> None:
    # A request context of its own, on BASE_URL, so the emails' links can be built.
    with app.test_request_context(base_url=app.config["BASE_URL"]):
        try:
            meeting = db.session.get(Meeting, meeting_id)
            if meeting is not None:
                email_unsent(meeting)
        finally:
            db.session.remove()
