"""The register's rules: opening and closing it, signing it once per person, the paper-sheet fallback,
apologies, late arrivals and early departures.

Services flush; views commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from flask import current_app
from sqlalchemy import func, select

from meetings import audit
from meetings.auth.service import find_user_by_email, normalise_email
from meetings.extensions import db, insert_if_absent
from meetings.models import (
    Attendance, AttendanceStatus, Meeting, ProfessionalBody, Register, SignedBy, User, person_key, utcnow,
)
from meetings.professions import normalise_registration
from meetings.register import presence
from meetings.web import local_time


class RegisterError(Exception):
    """A signature or change the register cannot take; the message says why, for the person, and `field`
    names the form field it is about, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Signer:
    """Who is signing, as it will print on their certificate."""

    name: str
    email: str
    profession: str
    professional_body: str = ProfessionalBody.NONE
    registration_number: str | None = None
    site_name: str = ""
    user_id: int | None = None

    @classmethod
    def member(cls, user: User) -> Signer:
        return cls(
            name=user.name, email=user.email, profession=user.profession, professional_body=user.professional_body,
            registration_number=user.registration_number, site_name=user.home_site.name if user.home_site else "",
            user_id=user.id,
        )

    @classmethod
    def guest(cls, name: str, email: str, profession: str, professional_body: str, registration_number: str | None,
              site_name: str) -> Signer:
        email = normalise_email(email) if email else ""
        return cls(
            name=" ".join(name.split()), email=email, profession=profession, professional_body=professional_body,
            registration_number=normalise_registration(registration_number) or None,
            site_name=" ".join(site_name.split()),
        )


# --- the register itself ------------------------------------------------------------------------

def register_of(meeting: Meeting) -> Register:
    """The meeting's register, made (never opened) by the first action on it."""
    register = db.session.get(Register, meeting.id)
    if register is None:
        register = Register(meeting_id=meeting.id, meeting=meeting)
        db.session.add(register)
        db.session.flush()
    return register


def peek(meeting: Meeting) -> Register:
    """The meeting's register for reading: a page showing it makes no row (so two first views at once
    cannot clash), and one never opened reads as not yet open."""
    return db.session.get(Register, meeting.id) or Register(meeting_id=meeting.id, presence_required=True)


def open_register(register: Register) -> None:
    if register.is_open:
        return
    register.opened_at = register.opened_at or utcnow()
    register.closed_at = None
    audit.record("register.opened", register.meeting)


def close_register(register: Register) -> None:
    if not register.is_open:
        raise RegisterError("The register is not open")
    register.closed_at = utcnow()
    audit.record("register.closed", register.meeting, signed=present_count(register.meeting))


def status_of(meeting: Meeting) -> str:
    """"unopened", "open" or "closed"."""
    return peek(meeting).status


def room_key(meeting: Meeting, with_count: bool = True) -> str:
    """What the console (`with_count`) and the projector show of the register: while it is unchanged they
    need no new copy. The presence code shown is in it, so the screen follows the code as it changes."""
    register = peek(meeting)
    key = f"{register.status}.{presence.shown(register) or ''}"
    return f"{key}.{present_count(meeting)}" if with_count else key


def set_presence_required(register: Register, required: bool) -> None:
    register.presence_required = required
    audit.record("register.presence_code", register.meeting, required=required)


def present_count(meeting: Meeting) -> int:
    return db.session.scalar(select(func.count(Attendance.id)).where(
        Attendance.meeting_id == meeting.id, Attendance.status == AttendanceStatus.PRESENT))


def entries(meeting: Meeting) -> list[Attendance]:
    """The whole register, present first, then apologies; by name."""
    return list(db.session.scalars(
        select(Attendance).where(Attendance.meeting_id == meeting.id)
        .order_by(Attendance.status.desc(), func.lower(Attendance.name), Attendance.id)))


def entry_of(meeting: Meeting, attendance_id: int) -> Attendance | None:
    attendance = db.session.get(Attendance, attendance_id)
    return attendance if attendance is not None and attendance.meeting_id == meeting.id else None


def signature_on(meeting: Meeting, digest: str | None, user: User | None) -> Attendance | None:
    """This signed-in member's signature in this meeting; else the latest made on this device. Only the
    latest: on a tablet passed round the room, each signer sees their own and nobody else's."""
    present = select(Attendance).where(Attendance.meeting_id == meeting.id,
                                       Attendance.status == AttendanceStatus.PRESENT)
    if user is not None and user.is_authenticated:
        mine = db.session.scalar(present.where(Attendance.user_id == user.id))
        if mine is not None:
            return mine
    if not digest:
        return None
    return db.session.scalar(present.where(Attendance.device_digest == digest).order_by(Attendance.id.desc()).limit(1))


# --- signing --------------------------------------------------------------------------------------

def sign(register: Register, signer: Signer, presence_code: str | None, device: str | None) -> tuple[Attendance, bool]:
    """The signer's own signature, and whether it is new. Signing again is harmless: the first signature
    stands. Only a signed-in member's own entry takes their account's details (and this device) when the
    chair had added them by hand or recorded their apology; a guest's typing never changes an entry it finds.
    """
    if not register.is_open:
        raise RegisterError("The register is closed" if register.is_closed else "The register is not open yet")
    if register.presence_required and not presence.accepts(register, presence_code):
        raise RegisterError("That presence code is not right: type the 4 digits shown on the screen now",
                            field="presence_code")
    if signer.user_id is None and find_user_by_email(signer.email) is not None:
        raise RegisterError("This email address belongs to a Lightbox account: sign in, then sign the "
                            "register with one tap", field="email")
    attendance, created = _insert(register.meeting, signer, SignedBy.SELF, AttendanceStatus.PRESENT, device=device)
    if not created and not attendance.is_present:
        attendance.status, attendance.signed_at = AttendanceStatus.PRESENT, utcnow()
    if not created and signer.user_id is not None and attendance.signed_by == SignedBy.BY_HAND:
        _take_details(attendance, signer)
        attendance.signed_by, attendance.device_digest = SignedBy.SELF, device
    return attendance, created


def add_by_hand(meeting: Meeting, signer: Signer, by: User, status: AttendanceStatus) -> Attendance:
    """The chair or minute-taker's entry: from the paper sheet, or an apology. Open or closed register."""
    attendance, created = _insert(meeting, signer, SignedBy.BY_HAND, status, added_by=by)
    if not created:
        if attendance.is_present:
            raise RegisterError(f"{attendance.name} is already on the register as present")
        if status is AttendanceStatus.APOLOGIES:
            raise RegisterError(f"{attendance.name}'s apologies are already recorded")
        attendance.status, attendance.signed_at = AttendanceStatus.PRESENT, utcnow()
    audit.record("register.added_by_hand", meeting, attendance_id=attendance.id, status=status.value)
    return attendance


def _take_details(attendance: Attendance, signer: Signer) -> None:
    for field in ("name", "email", "profession", "professional_body", "registration_number", "site_name"):
        setattr(attendance, field, getattr(signer, field))


def _insert(meeting: Meeting, signer: Signer, signed_by: SignedBy, status: AttendanceStatus,
            device: str | None = None, added_by: User | None = None) -> tuple[Attendance, bool]:
    """The person's entry, and whether this call made it; however many sign at the same moment, one entry."""
    key = person_key(signer.user_id, signer.email, signer.name)
    values = {
        "meeting_id": meeting.id, "user_id": signer.user_id, "person_key": key, "status": status,
        "signed_by": signed_by, "added_by_id": added_by.id if added_by else None, "name": signer.name,
        "email": signer.email, "profession": signer.profession, "professional_body": signer.professional_body,
        "registration_number": signer.registration_number, "site_name": signer.site_name, "device_digest": device,
    }
    made = insert_if_absent(Attendance, values, ["meeting_id", "person_key"])
    entry = db.session.scalar(select(Attendance).where(Attendance.meeting_id == meeting.id,
                                                       Attendance.person_key == key))
    return entry, made is not None


def remove(attendance: Attendance) -> None:
    audit.record("register.removed", attendance.meeting, attendance_id=attendance.id)
    db.session.delete(attendance)


# --- time attended --------------------------------------------------------------------------------

def _on_meeting_day(meeting: Meeting, typed: str, label: str) -> datetime | None:
    """A time like 13:05 typed for the meeting's day (local time), as UTC; None when left empty."""
    typed = typed.strip()
    if not typed:
        return None
    try:
        clock = time.fromisoformat(typed.replace(".", ":"))
    except ValueError:
        raise RegisterError(f"Enter the {label} time as hours and minutes, like 13:05") from None
    start = local_time(meeting.starts_at)
    return datetime.combine(start.date(), clock, tzinfo=start.tzinfo).astimezone(meeting.starts_at.tzinfo)


def set_times(attendance: Attendance, arrived: str, left: str) -> None:
    """Record a late arrival and an early departure (either may be empty: from the start, to the end)."""
    meeting = attendance.meeting
    arrived_at, left_at = _on_meeting_day(meeting, arrived, "arrival"), _on_meeting_day(meeting, left, "departure")
    for moment, label in ((arrived_at, "arrival"), (left_at, "departure")):
        if moment is not None and not meeting.starts_at <= moment <= meeting.ends_at:
            raise RegisterError(f"The {label} time must be within the meeting, "
                                f"{local_time(meeting.starts_at):%H:%M} to {local_time(meeting.ends_at):%H:%M}")
    if arrived_at and left_at and left_at <= arrived_at:
        raise RegisterError("The departure time must be after the arrival time")
    attendance.arrived_at = None if arrived_at == meeting.starts_at else arrived_at
    attendance.left_at = None if left_at == meeting.ends_at else left_at
    attendance.certificate_emailed_at = None  # the certificate changed: the attendee gets the corrected one
    audit.record("register.times", meeting, attendance_id=attendance.id)


def attended_span(attendance: Attendance) -> tuple[datetime, datetime]:
    """From when to when this person attended: the meeting's times, shortened by a late arrival or an
    early departure."""
    meeting = attendance.meeting
    return attendance.arrived_at or meeting.starts_at, attendance.left_at or meeting.ends_at


def minutes_attended(attendance: Attendance) -> int:
    start, end = attended_span(attendance)
    return max(0, int((end - start).total_seconds() // 60))


def credits_for(minutes: int) -> float:
    """CPD credits for time spent: CPD_CREDITS_PER_HOUR (one by default), in whole half credits."""
    credits = minutes / 60 * current_app.config["CPD_CREDITS_PER_HOUR"]
    return int(credits * 2 + 1e-9) / 2


def format_credits(credits: float) -> str:
    return f"{credits:g}"


def format_duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"
