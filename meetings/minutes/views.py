"""Minutes: the chair edits and publishes them; risk staff and members read and download them."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from meetings.cases import access, review
from meetings.extensions import db
from meetings.minutes import distribution, service
from meetings.minutes.content import assemble, pdf_filename, queued_cases, section_of
from meetings.minutes.forms import OtherBusinessForm, PublishForm, SectionForm
from meetings.models import Case, CaseStatus, Meeting, MinutesVersion
from meetings.web import is_htmx, pdf_response

bp = Blueprint("minutes", __name__)


def _meeting(meeting_id: int, allowed=service.can_read) -> Meeting:
    return access.meeting_or_404(meeting_id, allowed)


def _section_form(section) -> SectionForm:
    """A section's form, filled with its texts as the minutes print them."""
    form = SectionForm(formdata=None, prefix=f"case{section.case_id}")
    form.summary.data, form.discussion.data = section.summary, section.discussion
    form.learning_points.data = section.learning_points
    return form


def _section_forms(content, typed: tuple[int, SectionForm] | None = None) -> dict[int, SectionForm]:
    """A form per presented case; `typed` keeps what was just sent for one of them."""
    return {section.case_id: typed[1] if typed is not None and typed[0] == section.case_id
            else _section_form(section) for section in content.sections}


def _page(meeting: Meeting, status: int = 200, section: tuple[int, SectionForm] | None = None,
          other_business: OtherBusinessForm | None = None, publish_form: PublishForm | None = None,
          error: str | None = None) -> tuple[str, int]:
    minutes = service.read_minutes(meeting)
    editing = service.can_edit(current_user, meeting)
    if editing:
        # Its forms are filled from the notes: drawn with them withheld, a later save would keep the placeholder.
        review.require_identifiers(queued_cases(meeting))
    content = assemble(meeting, minutes) if editing else None
    if other_business is None:
        other_business = OtherBusinessForm(formdata=None, text=content.other_business if content else "")
    return render_template(
        "minutes/page.html", meeting=meeting, minutes=minutes, content=content, editing=editing,
        publishing=service.can_publish(current_user, meeting),
        section_forms=_section_forms(content, section) if content else {},
        other_business=other_business, publish_form=publish_form or PublishForm(formdata=None),
        log=distribution.log_of(minutes) if editing else {}, error=error,
    ), status


@bp.get("/meetings/<int:meeting_id>/minutes")
@login_required
def page(meeting_id: int):
    return _page(_meeting(meeting_id))


@bp.post("/meetings/<int:meeting_id>/minutes/cases/<int:case_id>")
@login_required
def save_section(meeting_id: int, case_id: int):
    meeting = _meeting(meeting_id, service.can_edit)
    case = access.meeting_case_or_404(meeting, case_id)
    if case.status != CaseStatus.PRESENTED:
        abort(404)  # the minutes hold the cases the room reached, and only those
    form = SectionForm(prefix=f"case{case.id}")
    if not form.validate():
        return _section_response(meeting, case, form, 422)
    minutes = service.minutes_of(meeting)
    scrubbed = service.save_section(minutes, case, form.summary.data or "", form.discussion.data or "",
                                    form.learning_points.data or "")
    db.session.commit()
    saved = _saved_message(f"Case {(case.queue_position or 0) + 1}", scrubbed)
    if not is_htmx():
        flash(saved, "success")
        return redirect(url_for(".page", meeting_id=meeting.id, _anchor=f"case-{case.id}"), code=303)
    return _section_response(meeting, case, None, 200, saved=saved)


def _saved_message(what: str, scrubbed: bool) -> str:
    return f"{what} saved." + (" Identifiers were taken out; check the wording." if scrubbed else "")


def _section_response(meeting: Meeting, case: Case, form: SectionForm | None, status: int, saved: str = ""):
    if not is_htmx():
        return _page(meeting, status, section=(case.id, form) if form else None)
    section = section_of(case, meeting)
    return render_template("minutes/_section.html", meeting=meeting, section=section,
                           form=form or _section_form(section), saved=saved), status


@bp.post("/meetings/<int:meeting_id>/minutes/other-business")
@login_required
def save_other_business(meeting_id: int):
    meeting = _meeting(meeting_id, service.can_edit)
    form = OtherBusinessForm()
    if not form.validate():
        return _other_business_response(meeting, form, 422)
    minutes = service.minutes_of(meeting)
    scrubbed = service.save_other_business(minutes, form.text.data or "")
    db.session.commit()
    if not is_htmx():
        flash(_saved_message("Any other business", scrubbed), "success")
        return redirect(url_for(".page", meeting_id=meeting.id, _anchor="other-business"), code=303)
    return _other_business_response(meeting, OtherBusinessForm(formdata=None, text=minutes.any_other_business), 200,
                                    saved=_saved_message("Any other business", scrubbed))


def _other_business_response(meeting: Meeting, form: OtherBusinessForm, status: int, saved: str = ""):
    if not is_htmx():
        return _page(meeting, status, other_business=form)
    return render_template("minutes/_other_business.html", meeting=meeting, form=form, saved=saved), status


@bp.post("/meetings/<int:meeting_id>/minutes/publish")
@login_required
def publish(meeting_id: int):
    meeting = _meeting(meeting_id, service.can_publish)
    form = PublishForm()
    if not form.validate():
        return _page(meeting, 422, publish_form=form)
    try:
        version = service.publish(meeting, current_user, form.note.data or "")
        db.session.commit()
    except service.MinutesRuleError as error:
        db.session.rollback()
        if error.field:
            form.note.errors = [str(error)]
        return _page(meeting, 422, publish_form=form, error=None if error.field else str(error))
    except IntegrityError:
        db.session.rollback()
        return _page(meeting, 409, publish_form=form,
                     error="Someone else published these minutes a moment ago. Check the new version below.")
    distribution.send_soon(version)
    flash(f"Published version {version.number}. Distribution, below, shows who it has reached.", "success")
    return redirect(url_for(".page", meeting_id=meeting.id), code=303)


@bp.post("/meetings/<int:meeting_id>/minutes/retry")
@login_required
def retry(meeting_id: int):
    meeting = _meeting(meeting_id, service.can_edit)
    waiting = distribution.retry(service.read_minutes(meeting))
    flash(f"Trying again to send {waiting} {'email' if waiting == 1 else 'emails'}." if waiting
          else "Every email has been sent.", "success")
    return redirect(url_for(".page", meeting_id=meeting.id, _anchor="distribution"), code=303)


@bp.get("/meetings/<int:meeting_id>/minutes/deliveries")
@login_required
def deliveries(meeting_id: int):
    """The distribution log, polled by the chair's page while emails are still going out."""
    meeting = _meeting(meeting_id, service.can_edit)
    minutes = service.read_minutes(meeting)
    return render_template("minutes/_deliveries.html", meeting=meeting, minutes=minutes,
                           log=distribution.log_of(minutes))


@bp.get("/meetings/<int:meeting_id>/minutes.pdf")
@login_required
def current_pdf(meeting_id: int):
    """The latest published version; to those who edit the minutes, the draft when asked or when nothing
    is published yet."""
    meeting = _meeting(meeting_id)
    minutes = service.read_minutes(meeting)
    wants_draft = request.args.get("draft") == "1" or minutes.latest is None
    if wants_draft:
        if not service.can_edit(current_user, meeting):
            abort(404)
        return pdf_response(service.draft_pdf(meeting), pdf_filename(meeting, None))
    return _version_response(meeting, minutes.latest)


@bp.get("/meetings/<int:meeting_id>/minutes/v<int:number>.pdf")
@login_required
def version_pdf(meeting_id: int, number: int):
    meeting = _meeting(meeting_id)
    version = service.version_of(service.read_minutes(meeting), number)
    if version is None:
        abort(404)
    return _version_response(meeting, version)


def _version_response(meeting: Meeting, version: MinutesVersion) -> Response:
    """The bytes exactly as published; the ETag is their SHA-256, which the page prints for checking."""
    response = pdf_response(version.pdf, pdf_filename(meeting, version))
    response.set_etag(version.sha256)
    return response
