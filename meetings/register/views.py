"""The register's pages: signing on a phone (members and guests), the attendee's certificate and
evaluation, the chair's register, verification of a certificate, and "My CPD"."""
from __future__ import annotations

from collections import Counter

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required
from sqlalchemy import select, update

from meetings import audit, device
from meetings.cases import access
from meetings.extensions import db, limiter
from meetings.live import broadcast
from meetings.live import service as live
from meetings.live.views import state_by_code_or_404
from meetings.models import (
    Attendance, AttendanceStatus, Evaluation, Meeting, Profession, User,
)
from meetings.pdf import render_pdf
from meetings.register import certificates, cpd, presence, service
from meetings.register.forms import (
    USEFULNESS, ByHandForm, EvaluationForm, GuestForm, PresenceForm, ReflectionForm, TimesForm,
)
from meetings.web import csv_response, external_url, format_datetime, is_htmx, local_time, pdf_response

bp = Blueprint("register", __name__)
bp.app_template_filter("credits")(service.format_credits)
bp.app_template_filter("duration")(service.format_duration)
bp.app_template_filter("profession")(lambda value: Profession(value).label)


# --- the attendee, on a phone -------------------------------------------------------------------

def _presence_refused(_response) -> bool:
    return g.get("presence_refused", False)


@bp.route("/j/<code>/sign", methods=["GET", "POST"])
# A room's phones share the hospital's one address, so only what guessing looks like is counted: wrong
# presence codes (per room), and join codes that find nothing. A typo in a GMC number costs nothing.
@limiter.limit("60 per minute", methods=["POST"], per_method=True, deduct_when=_presence_refused,
               key_func=lambda: f"{get_remote_address()}:{request.view_args.get('code', '')}")
@limiter.limit("30 per minute", methods=["GET"], per_method=True,
               deduct_when=lambda response: response.status_code == 404)
def sign(code: str):
    """Sign the register: one tap for a signed-in member, the guest form for anyone else. Never lists who
    else has signed."""
    state = state_by_code_or_404(code)
    meeting = state.meeting
    register = service.peek(meeting)
    member = current_user if current_user.is_authenticated else None
    form_class = PresenceForm if member else GuestForm
    form = form_class(presence_required=register.presence_required)
    token, new = device.token()
    error = None
    if request.method == "POST" and form.validate_on_submit():
        if member:
            signer = service.Signer.member(member)
        else:
            signer = service.Signer.guest(form.name.data, form.email.data, form.profession.data,
                                          form.professional_body.data, form.registration_number.data, form.site.data)
        try:
            _, created = service.sign(register, signer, form.presence_code.data if "presence_code" in form else None,
                                      device.digest(token))
            db.session.commit()
            done = url_for("register.signed", code=code, **({} if created or member else {"already": 1}))
            return device.remember(redirect(done, code=303), token, new)
        except service.RegisterError as refused:
            db.session.rollback()
            if refused.field:
                form[refused.field].errors = [str(refused)]
                g.presence_refused = refused.field == "presence_code"
            else:
                error = str(refused)
    page = render_template("register/sign.html", meeting=meeting, code=code, register=register, form=form,
                           member=member, error=error)
    return device.remember(Response(page, 422 if request.method == "POST" else 200), token, new)


@bp.get("/j/<code>/signed")
@limiter.limit("30 per minute", deduct_when=lambda response: response.status_code == 404)
def signed(code: str):
    """This device's (or this member's) signatures, their certificates once the register closes, and the
    evaluation."""
    meeting = state_by_code_or_404(code).meeting
    mine = service.signature_on(meeting, device.current_digest(), current_user)
    return render_template("register/signed.html", meeting=meeting, code=code, mine=mine,
                           status=service.status_of(meeting), minutes=service.minutes_attended,
                           credits_for=service.credits_for)


@bp.route("/j/<code>/evaluate", methods=["GET", "POST"])
@limiter.limit("30 per minute", deduct_when=lambda response: response.status_code in (403, 404))
def evaluate(code: str):
    """The anonymous evaluation: one per signature from this device, stored apart from it."""
    meeting = state_by_code_or_404(code).meeting
    mine = service.signature_on(meeting, device.current_digest(), current_user)
    form = EvaluationForm()
    if mine is None or mine.evaluated:
        return render_template("register/evaluate.html", meeting=meeting, code=code, form=None), 403
    if form.validate_on_submit():
        # Claimed in SQL, so a double tap cannot store two evaluations.
        claimed = db.session.execute(update(Attendance).where(Attendance.id == mine.id, Attendance.evaluated.is_(False))
                                     .values(evaluated=True).execution_options(synchronize_session=False)).rowcount
        if not claimed:
            db.session.rollback()
            return redirect(url_for("register.signed", code=code, evaluated=1), code=303)
        db.session.add(Evaluation(meeting_id=meeting.id, usefulness=int(form.usefulness.data),
                                  change_practice=form.change_practice.data, best=(form.best.data or "").strip(),
                                  improve=(form.improve.data or "").strip()))
        db.session.commit()
        return redirect(url_for("register.signed", code=code, evaluated=1), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("register/evaluate.html", meeting=meeting, code=code, form=form), status


def _may_download(attendance: Attendance) -> bool:
    """Its attendee (their account, or the device whose latest signature it is) and those who see the register."""
    if current_user.is_authenticated and access.can_see_register(current_user, attendance.meeting):
        return True
    return service.signature_on(attendance.meeting, device.current_digest(), current_user) == attendance


@bp.get("/certificates/<number>.pdf")
@limiter.limit("30 per minute", deduct_when=lambda response: response.status_code == 404)
def certificate(number: str):
    """One certificate, for its attendee (their device or account) or those who keep the register."""
    attendance = certificates.by_number(number)
    if attendance is None or not _may_download(attendance):
        abort(404)
    return pdf_response(certificates.certificates_pdf([attendance]), certificates.filename(attendance))


@bp.get("/verify/<number>")
@limiter.limit("30 per minute", deduct_when=lambda response: response.status_code == 404)
def verify(number: str):
    """Confirms a genuine certificate, showing no more than the certificate prints."""
    attendance = certificates.by_number(number)
    if attendance is None:
        return render_template("register/verify.html", certificate=None, number=number), 404
    return render_template("register/verify.html", certificate=certificates.certificate_of(attendance, ()),
                           number=number)


# --- the chair's register -------------------------------------------------------------------------

def _register_page(meeting: Meeting, status: int = 200, by_hand: ByHandForm | None = None,
                   times_errors: dict | None = None, error: str | None = None):
    register = service.peek(meeting)
    state = live.state_of(meeting)
    db.session.commit()
    rows = service.entries(meeting)
    evaluations = list(db.session.scalars(select(Evaluation).where(Evaluation.meeting_id == meeting.id)))
    return render_template(
        "register/register.html", meeting=meeting, register=register, rows=rows,
        present=[r for r in rows if r.is_present], apologies=[r for r in rows if not r.is_present],
        by_hand=by_hand or _by_hand_form(meeting, formdata=None), times_errors=times_errors or {},
        error=error, can_keep=access.can_take_notes(current_user, meeting),
        can_run=access.can_run(current_user, meeting),
        code=presence.shown(register),
        sign_url=external_url("register.sign", code=state.join_code), summary=_evaluation_summary(evaluations),
        **_entry_helpers(), unapproved=certificates.unapproved_learning(meeting),
        emailed=sum(1 for r in rows if r.is_present and r.certificate_emailed_at),
        with_email=sum(1 for r in rows if r.is_present and r.email),
    ), status


def _entry_helpers() -> dict:
    """What a row of the register (register/_entry.html) computes with."""
    return {"span": service.attended_span, "minutes": service.minutes_attended, "credits_for": service.credits_for}


def _by_hand_form(meeting: Meeting, **kwargs) -> ByHandForm:
    query = select(User).where(User.active.is_(True)).order_by(User.name)
    if meeting.site_id is not None:
        query = query.where(User.home_site_id == meeting.site_id)
    return ByHandForm(members=list(db.session.scalars(query)), **kwargs)


def _evaluation_summary(evaluations: list[Evaluation]) -> dict:
    usefulness = Counter(e.usefulness for e in evaluations)
    return {
        "count": len(evaluations),
        "mean": sum(e.usefulness for e in evaluations) / len(evaluations) if evaluations else None,
        "usefulness": [(label, usefulness[score]) for score, label in USEFULNESS.items()],
        "change": Counter(e.change_practice for e in evaluations),
        "best": [e.best for e in evaluations if e.best],
        "improve": [e.improve for e in evaluations if e.improve],
    }


@bp.get("/meetings/<int:meeting_id>/register")
@login_required
def register_page(meeting_id: int):
    meeting = access.meeting_or_404(meeting_id, access.can_see_register)
    return _register_page(meeting)


REGISTER_ACTIONS = {
    "open": lambda register: service.open_register(register),
    "close": lambda register: service.close_register(register),
    "presence-on": lambda register: service.set_presence_required(register, True),
    "presence-off": lambda register: service.set_presence_required(register, False),
}


@bp.post("/meetings/<int:meeting_id>/register/<action>")
@login_required
def register_action(meeting_id: int, action: str):
    """Open or close the register, or turn the presence code on or off. The phones are told (their page
    offers signing while the register is open); the console and projector follow on their next poll, at
    once when the request came from them."""
    if action not in REGISTER_ACTIONS:
        abort(404)
    meeting = access.meeting_or_404(meeting_id)
    state = live.state_of(meeting, for_update=True)
    register = service.register_of(meeting)
    try:
        REGISTER_ACTIONS[action](register)
    except service.RegisterError as refused:
        db.session.rollback()
        if is_htmx():
            return Response(str(refused), 409)
        return _register_page(meeting, 409, error=str(refused))
    broadcast.publish(state)
    db.session.commit()
    certificates.email_if_closed(meeting)
    if is_htmx():
        return Response(status=204, headers={"HX-Trigger": "lightbox:refresh"})
    back = url_for("live.console", meeting_id=meeting.id) if request.form.get("back") == "console" \
        else url_for("register.register_page", meeting_id=meeting.id)
    return redirect(back, code=303)


@bp.post("/meetings/<int:meeting_id>/register/add")
@login_required
def add_by_hand(meeting_id: int):
    meeting = access.meeting_or_404(meeting_id, access.can_take_notes)
    form = _by_hand_form(meeting)
    if not form.validate_on_submit():
        return _register_page(meeting, 422, by_hand=form)
    if form.member_id.data:
        member = db.session.get(User, form.member_id.data)
        if member is None:
            abort(404)
        signer = service.Signer.member(member)
    else:
        signer = service.Signer.guest(form.name.data, form.email.data or "", form.profession.data or Profession.OTHER,
                                      form.professional_body.data or "none", form.registration_number.data,
                                      form.site.data or "")
    try:
        entry = service.add_by_hand(meeting, signer, current_user, AttendanceStatus(form.status.data))
    except service.RegisterError as refused:
        db.session.rollback()
        (form.member_id if form.member_id.data else form.name).errors = [str(refused)]
        return _register_page(meeting, 422, by_hand=form)
    db.session.commit()
    certificates.email_if_closed(meeting)  # added after closing: their certificate goes now
    return redirect(url_for("register.register_page", meeting_id=meeting.id) + f"#entry-{entry.id}", code=303)


def _entry_or_404(meeting: Meeting, attendance_id: int) -> Attendance:
    entry = service.entry_of(meeting, attendance_id)
    if entry is None:
        abort(404)
    return entry


@bp.post("/meetings/<int:meeting_id>/register/<int:attendance_id>/times")
@login_required
def set_times(meeting_id: int, attendance_id: int):
    """A late arrival or early departure; the certificate covers the part attended."""
    meeting = access.meeting_or_404(meeting_id, access.can_take_notes)
    entry = _entry_or_404(meeting, attendance_id)
    form = TimesForm()
    error = None
    if form.validate_on_submit():
        try:
            service.set_times(entry, form.arrived.data or "", form.left.data or "")
            db.session.commit()
            certificates.email_if_closed(meeting)  # the corrected certificate
        except service.RegisterError as refused:
            db.session.rollback()
            error = str(refused)
    else:
        error = "Enter times as hours and minutes, like 13:05"
    if not is_htmx():
        if error:
            return _register_page(meeting, 422, times_errors={entry.id: (error, form.arrived.data, form.left.data)})
        return redirect(url_for("register.register_page", meeting_id=meeting.id) + f"#entry-{entry.id}", code=303)
    entry = _entry_or_404(meeting, attendance_id)
    return render_template("register/_entry.html", meeting=meeting, row=entry, can_keep=True,
                           times_error=(error, form.arrived.data, form.left.data) if error else None,
                           saved=not error, **_entry_helpers()), 422 if error else 200


@bp.post("/meetings/<int:meeting_id>/register/<int:attendance_id>/remove")
@login_required
def remove(meeting_id: int, attendance_id: int):
    meeting = access.meeting_or_404(meeting_id, access.can_take_notes)
    service.remove(_entry_or_404(meeting, attendance_id))
    db.session.commit()
    if is_htmx():
        return ""  # the row goes
    return redirect(url_for("register.register_page", meeting_id=meeting.id), code=303)


@bp.get("/meetings/<int:meeting_id>/register.csv")
@login_required
def register_csv(meeting_id: int):
    meeting = access.meeting_or_404(meeting_id, access.can_see_register)
    header = ["Name", "Email", "Profession", "Professional body", "Registration number", "Site", "Status",
              "How recorded", "Signed at", "Arrived", "Left", "Minutes attended", "CPD credits", "Certificate number"]
    rows = []
    for row in service.entries(meeting):
        start, end = service.attended_span(row)
        minutes = service.minutes_attended(row) if row.is_present else 0
        rows.append((
            row.name, row.email, Profession(row.profession).label,
            "" if row.professional_body == "none" else row.professional_body, row.registration_number or "",
            row.site_name, AttendanceStatus(row.status).label, "Signed" if row.signed_by == "self" else "Added by hand",
            format_datetime(row.signed_at, "%Y-%m-%d %H:%M"), f"{local_time(start):%H:%M}" if row.is_present else "",
            f"{local_time(end):%H:%M}" if row.is_present else "", minutes,
            service.format_credits(service.credits_for(minutes)) if row.is_present else "",
            row.certificate_number if row.is_present else "",
        ))
    audit.record("register.exported", meeting)
    db.session.commit()
    name = f"register-{local_time(meeting.starts_at):%Y-%m-%d}-meeting-{meeting.id}.csv"
    return csv_response(header, rows, name)


@bp.get("/meetings/<int:meeting_id>/certificates.pdf")
@login_required
def all_certificates(meeting_id: int):
    meeting = access.meeting_or_404(meeting_id, access.can_see_register)
    if not service.peek(meeting).is_closed:
        return _register_page(meeting, 409, error="Close the register first: certificates are made from it")
    present = [row for row in service.entries(meeting) if row.is_present]
    if not present:
        return _register_page(meeting, 409, error="Nobody has signed the register yet")
    audit.record("register.certificates", meeting, count=len(present))
    db.session.commit()
    return pdf_response(certificates.certificates_pdf(present),
                         f"cpd-certificates-{local_time(meeting.starts_at):%Y-%m-%d}-meeting-{meeting.id}.pdf")


# --- My CPD ---------------------------------------------------------------------------------------

@bp.get("/cpd")
@login_required
def my_cpd():
    record = cpd.record_of(current_user, _year())
    return render_template("register/my_cpd.html", record=record)


@bp.route("/cpd/<int:attendance_id>/reflection", methods=["GET", "POST"])
@login_required
def reflection(attendance_id: int):
    entry = db.session.get(Attendance, attendance_id)
    if entry is None or entry.user_id != current_user.id or not entry.is_present:
        abort(404)
    form = ReflectionForm(data={"reflection": entry.reflection, "minutes": entry.reflection_minutes})
    if form.validate_on_submit():
        entry.reflection, entry.reflection_minutes = form.reflection.data.strip(), form.minutes.data
        db.session.commit()
        return redirect(url_for("register.my_cpd", year=local_time(entry.meeting.starts_at).year) + f"#cpd-{entry.id}",
                        code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("register/reflection.html", entry=entry, form=form), status


@bp.get("/cpd/record.pdf")
@login_required
def cpd_pdf():
    """The person's CPD record for a year, with their reflections, for appraisal."""
    record = cpd.record_of(current_user, _year())
    pdf = render_pdf("cpd_record.html", title=f"CPD record {record.year}: {current_user.name}", record=record,
                     person=current_user)
    return pdf_response(pdf, f"cpd-record-{record.year}.pdf")


def _year() -> int | None:
    """The year asked for, if it is one a CPD record could have; otherwise this year."""
    year = request.args.get("year", type=int)
    return year if year is not None and 2000 <= year <= 2100 else None

