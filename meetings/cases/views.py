"""Submitting a case, "My cases", triage, and the meeting's case queue."""
from __future__ import annotations

import secrets

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from meetings import identifier_key
from meetings.cases import access, forwarding, review, service
from meetings.cases.forms import AcceptForm, AllowanceForm, CaseForm, NoticeForm, TriageNoteForm
from meetings.cases.images import ImageRejected, check_upload
from meetings.extensions import db
from meetings.feedback import emails as feedback_emails
from meetings.feedback import pats
from meetings.models import Case, CaseKind, CaseStatus, Meeting, Pat, PatReason, Role, Site, User
from meetings.security import role_required
from meetings.web import is_htmx, whole_number

bp = Blueprint("cases", __name__)


# --- submission ---------------------------------------------------------------------------------

def _case_form(**kwargs) -> CaseForm:
    sites = db.session.scalars(select(Site).where(Site.active).order_by(Site.name)).all()
    reporters = db.session.scalars(select(User).where(User.active).order_by(User.name)).all()
    return CaseForm(sites=sites, reporters=reporters, **kwargs)


def _take_uploads(form: CaseForm) -> bool:
    """Store every acceptable image now, so it survives a form sent back with errors elsewhere."""
    form.upload_token.data = form.upload_token.data or secrets.token_urlsafe(24)
    config = current_app.config
    all_ok = True
    for slot in form.images:
        upload = slot.file.data
        if not upload or not getattr(upload, "filename", ""):
            continue
        try:
            checked = check_upload(upload.read(), max_bytes=config["MAX_IMAGE_BYTES"], max_pixels=config["MAX_IMAGE_PIXELS"])
        except ImageRejected as error:
            slot.file.errors = [f"{upload.filename}: {error}"]
            all_ok = False
            continue
        service.store_upload(checked, slot.caption.data or "", current_user, form.upload_token.data)
        slot.caption.data = ""
    return all_ok


def _image_edits() -> tuple[dict[int, str], set[int]]:
    captions = {int(k.split("-")[-1]): v for k, v in request.form.items()
                if k.startswith("image-caption-") and whole_number(k.split("-")[-1])}
    removed = {int(v) for v in request.form.getlist("remove-image") if whole_number(v)}
    return captions, removed


def _case_form_page(form: CaseForm, case: Case | None):
    images = service.form_images(case, form.upload_token.data, current_user)
    status = 422 if request.method == "POST" else 200
    return render_template("cases/case_form.html", form=form, case=case, images=images,
                           identifiers_can_be_saved=identifier_key.configured()), status


def _save(form: CaseForm, case: Case | None, also=None):
    """Save the submitted form; `also(case)` does more in the same transaction (the one commit)."""
    if request.method != "POST":
        return None
    valid = form.validate_on_submit()
    uploads_ok = _take_uploads(form)
    captions, removed = _image_edits()
    service.update_images(service.form_images(case, form.upload_token.data, current_user), captions, removed)
    if not (valid and uploads_ok):
        db.session.commit()  # keep the images that were fine
        return None
    refusal = service.identifiers_refusal(case)
    if refusal:
        db.session.commit()  # the images uploaded with it wait for the next try, as above
        flash(refusal, "error")
        return None
    try:
        saved = service.save_case(case, current_user, form.data, form.upload_token.data)
        if also is not None:
            also(saved)
    except service.CaseRuleError as error:
        db.session.rollback()
        flash(str(error), "error")
        return None
    db.session.commit()
    return saved


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def submit():
    form = _case_form()
    if request.method == "GET":
        form.site_id.data = current_user.home_site_id or 0
        if request.args.get("kind") in {kind.value for kind in CaseKind}:
            form.kind.data = request.args["kind"]
    thanks: list[Pat] = []

    def thank(case: Case) -> None:
        thanks.append(_thank_reporter(case, form))

    saved = _save(form, None, also=thank if form.thank_reporter.data else None)
    if saved:
        flash("Thank you. Your case is submitted; the chair will review it.", "success")
        for pat in thanks:
            feedback_emails.send_pat_soon(pat)
            flash(f"Your pat on the back is on its way to {pat.recipient.name}.", "success")
        return redirect(url_for("cases.mine"), code=303)
    return _case_form_page(form, None)


def _thank_reporter(case: Case, form: CaseForm) -> Pat:
    """The great pickup's pat on the back, kept with its nomination: its message scrubbed against the case."""
    reporter = db.session.get(User, form.reporter_id.data)
    message = pats.scrubbed_message(form.thanks.data, case, current_user)
    pat = pats.send(current_user, reporter, PatReason.GREAT_PICKUP, message, case)
    feedback_emails.queue_pat(pat)
    return pat


@bp.route("/cases/<int:case_id>/edit", methods=["GET", "POST"])
@login_required
def edit(case_id: int):
    # A regional copy is the local meeting's case as presented: it holds no identifiers and takes none.
    case = access.case_or_404(case_id, lambda user, c: c.submitter_id == user.id and not c.is_regional)
    if case.status not in (CaseStatus.SUBMITTED, CaseStatus.MORE_INFO):
        flash("This case has been triaged, so it can no longer be edited here. Ask the chair.", "info")
        return redirect(url_for("cases.mine"), code=303)
    identifiers = service.load_identifiers(case, current_user)
    form = _case_form(obj=identifiers if request.method == "GET" else None)
    if request.method == "GET":
        for field in service.CLINICAL_FIELDS + ("site_id",):
            getattr(form, field).data = getattr(case, field)
        form.reporter_id.data = identifiers.reporter_id or 0
    saved = _save(form, case)
    if saved:
        flash("Your changes are saved and the case is back with the chair.", "success")
        return redirect(url_for("cases.mine"), code=303)
    db.session.commit()  # the audited view of identifiers
    return _case_form_page(form, case)


@bp.get("/cases/mine")
@login_required
def mine():
    return render_template("cases/mine.html", cases=service.cases_submitted_by(current_user))


@bp.get("/cases/<int:case_id>")
@login_required
def detail(case_id: int, status: int = 200):
    case = access.case_or_404(case_id)
    # A regional case holds no identifiers (they stay with its local case), so there is no view to record.
    identifiers = None if case.is_regional else service.load_identifiers(case, current_user)
    db.session.commit()
    can_review = access.can_review(current_user, case)
    can_forward = forwarding.can_forward(current_user, case)
    return render_template("cases/detail.html", case=case, identifiers=identifiers,
                           can_triage=access.can_triage(current_user, case), can_review=can_review,
                           review_state=review.state_of(case) if can_review else None, can_forward=can_forward,
                           forward_refusal=forwarding.refusal(case) if can_forward else None), status


@bp.post("/cases/<int:case_id>/forward")
@login_required
def forward(case_id: int):
    """One step from a local meeting to the regional queue: an anonymised copy, with its learning points."""
    case = access.case_or_404(case_id, forwarding.can_forward)
    try:
        forwarding.forward(case, current_user)
    except service.CaseRuleError as error:
        db.session.rollback()
        flash(str(error), "error")
        return detail(case_id, status=409)
    db.session.commit()
    flash("Forwarded to the regional queue. The regional chair sees it anonymised, without its site, with "
          "your meeting's learning points.", "success")
    return redirect(url_for("cases.detail", case_id=case.id), code=303)


@bp.get("/cases/<int:case_id>/images/<int:image_id>")
@login_required
def original_image(case_id: int, image_id: int):
    """The identifiable original, for the people who may see the case; never for an audience view."""
    case = access.case_or_404(case_id)
    image = service.image_of(case, image_id)
    if image is None:
        abort(404)
    disposition = "attachment" if image.kind == "dicom" else "inline"
    return image.original, 200, {
        "Content-Type": image.content_type,
        "Content-Disposition": f'{disposition}; filename="case-{case.id}-image-{image.id}.{image.kind}"',
        "Cache-Control": "private, no-store",
    }


@bp.get("/cases/uploads/<token>/<int:image_id>")
@login_required
def pending_image(token: str, image_id: int):
    """An upload not yet attached to a case, shown back to the person who uploaded it."""
    image = next((i for i in service.pending_images(token, current_user) if i.id == image_id), None)
    if image is None or image.kind == "dicom":
        abort(404)
    return image.original, 200, {"Content-Type": image.content_type, "Cache-Control": "private, no-store"}


# --- triage -------------------------------------------------------------------------------------

@bp.get("/cases/triage")
@role_required(Role.CHAIR, Role.REGIONAL_CHAIR, Role.ADMIN)
def triage():
    cases = service.incoming_cases(current_user)
    return render_template("cases/triage.html", cases=cases, forms_for=_triage_forms)


def _accept_form(case: Case, shown: bool = False) -> AcceptForm:
    """The accept form, read from the request unless it is being `shown` fresh. Great pickups are nominated
    to the next meeting: the chair is offered the soonest one first."""
    meetings = service.upcoming_meetings_for(case)
    form = AcceptForm(meetings=meetings, prefix=f"c{case.id}", **({"formdata": None} if shown else {}))
    if shown and meetings and case.kind == CaseKind.GREAT_PICKUP:
        form.meeting_id.data = meetings[0].id
    if shown:
        form.pathway_stage.data = case.pathway_stage or ""
    return form


def _triage_forms(case: Case, **overrides) -> dict:
    forms = {
        "accept": _accept_form(case, shown=True),
        "decline": TriageNoteForm(formdata=None, prefix=f"d{case.id}"),
        "more_info": TriageNoteForm(formdata=None, prefix=f"m{case.id}"),
    }
    forms.update(overrides)
    return forms


def _triage_response(case: Case, status: int = 200, **forms):
    if is_htmx():
        return render_template("cases/_triage_item.html", case=case, forms=_triage_forms(case, **forms)), status
    if status != 200:
        return render_template("cases/triage.html", cases=service.incoming_cases(current_user),
                               forms_for=lambda c: _triage_forms(c, **forms) if c.id == case.id else _triage_forms(c)), status
    return redirect(url_for("cases.triage"), code=303)


def _triage_action(case: Case, form_name: str, form, apply):
    if form.validate_on_submit():
        try:
            apply(case, form)
        except service.CaseRuleError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            return _triage_response(case)
    return _triage_response(case, 422, **{form_name: form})


@bp.post("/cases/<int:case_id>/accept")
@role_required(Role.CHAIR, Role.REGIONAL_CHAIR, Role.ADMIN)
def accept(case_id: int):
    case = access.case_or_404(case_id, access.can_triage)
    form = _accept_form(case)
    meetings = form.meetings

    def apply(case, form):
        service.accept(case, next((m for m in meetings if m.id == form.meeting_id.data), None),
                       None if case.is_regional else form.pathway_stage.data or None)

    return _triage_action(case, "accept", form, apply)


@bp.post("/cases/<int:case_id>/decline")
@role_required(Role.CHAIR, Role.REGIONAL_CHAIR, Role.ADMIN)
def decline(case_id: int):
    return _triage_action(access.case_or_404(case_id, access.can_triage), "decline", TriageNoteForm(prefix=f"d{case_id}"),
                          lambda case, form: service.decline(case, form.note.data))


@bp.post("/cases/<int:case_id>/more-info")
@role_required(Role.CHAIR, Role.REGIONAL_CHAIR, Role.ADMIN)
def more_info(case_id: int):
    return _triage_action(access.case_or_404(case_id, access.can_triage), "more_info", TriageNoteForm(prefix=f"m{case_id}"),
                          lambda case, form: service.ask_for_more_info(case, form.note.data))


# --- the meeting's queue ------------------------------------------------------------------------

def _queue_response(meeting: Meeting, status: int = 200, error: str | None = None):
    cases = service.queue(meeting)
    template = "cases/_queue.html" if is_htmx() else "cases/queue.html"
    return render_template(template, meeting=meeting, cases=cases, total=service.total_minutes(cases),
                           error=error, needs_notice=service.needs_reporter_notice,
                           review_state=review.state_of), status


@bp.get("/meetings/<int:meeting_id>/queue")
@login_required
def queue(meeting_id: int):
    return _queue_response(access.meeting_or_404(meeting_id))


def _queue_change(meeting_id: int, change):
    meeting = access.meeting_or_404(meeting_id)
    try:
        change(meeting)
    except service.CaseRuleError as error:
        db.session.rollback()
        return _queue_response(meeting, 409, str(error))
    db.session.commit()
    if not is_htmx():
        return redirect(url_for("cases.queue", meeting_id=meeting.id), code=303)
    return _queue_response(meeting)


@bp.post("/meetings/<int:meeting_id>/queue/<int:case_id>/move")
@login_required
def move(meeting_id: int, case_id: int):
    offset = -1 if request.form.get("direction") == "up" else 1
    return _queue_change(meeting_id, lambda meeting: service.move(meeting, case_id, offset))


@bp.post("/meetings/<int:meeting_id>/queue/order")
@login_required
def reorder(meeting_id: int):
    ids = [int(v) for v in request.form.getlist("case") if whole_number(v)]
    return _queue_change(meeting_id, lambda meeting: service.reorder(meeting, ids))


def _queued_case(meeting: Meeting, case_id: int) -> Case:
    case = db.session.get(Case, case_id)
    if case is None or case.meeting_id != meeting.id:
        raise service.CaseRuleError("That case is no longer in this meeting's queue")
    return case


@bp.post("/meetings/<int:meeting_id>/queue/<int:case_id>/allowance")
@login_required
def allowance(meeting_id: int, case_id: int):
    form = AllowanceForm(prefix=f"a{case_id}")

    def change(meeting):
        case = _queued_case(meeting, case_id)
        if not form.validate_on_submit():
            raise service.CaseRuleError(form.minutes.errors[0])
        service.set_allowance(case, form.minutes.data)

    return _queue_change(meeting_id, change)


@bp.post("/meetings/<int:meeting_id>/queue/<int:case_id>/remove")
@login_required
def remove(meeting_id: int, case_id: int):
    return _queue_change(meeting_id, lambda meeting: service.unschedule(_queued_case(meeting, case_id)))


@bp.route("/cases/<int:case_id>/notice", methods=["GET", "POST"])
@login_required
def notice(case_id: int):
    case = db.session.get(Case, case_id)
    if case is None or case.meeting is None or not access.can_run(current_user, case.meeting):
        abort(404)
    form = NoticeForm()
    if request.method == "GET":
        form.text.data = case.reporter_notice_text or render_template("email/reporter_notice_default.txt", case=case)
    if form.validate_on_submit():
        try:
            service.send_reporter_notice(case, form.text.data)
        except service.CaseRuleError as error:
            form.text.errors.append(str(error))
        else:
            db.session.commit()
            flash("The reporter has been sent the notice.", "success")
            return redirect(url_for("cases.queue", meeting_id=case.meeting_id), code=303)
    return render_template("cases/notice.html", form=form, case=case), 422 if form.errors else 200
