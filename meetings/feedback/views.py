"""Feedback to reporters (the chair sends; the reporter reads, acknowledges and reflects, signed in or by
their link) and pats on the back between colleagues."""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from meetings import audit, device
from meetings.cases import access
from meetings.cases import service as cases
from meetings.extensions import db, limiter
from meetings.feedback import emails, links, pats, service
from meetings.feedback.forms import PatForm, SendFeedbackForm
from meetings.minutes.content import queued_cases
from meetings.models import Case, CaseStatus, Feedback, Pat, User
from meetings.pdf import render_pdf
from meetings.register.forms import ReflectionForm
from meetings.schedule.forms import ConfirmForm
from meetings.web import pdf_response

bp = Blueprint("feedback", __name__)


@bp.after_request
def _private(response):
    """Feedback and pats are between two people: never cached (a shared workstation's Back button), never
    indexed, their links never passed on in a Referer."""
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


# --- the chair ------------------------------------------------------------------------------------

@bp.get("/meetings/<int:meeting_id>/feedback")
@login_required
def meeting_feedback(meeting_id: int):
    """Every presented case of the meeting, with whether its reporter's feedback is ready, sent, acknowledged."""
    meeting = access.meeting_or_404(meeting_id)
    presented = [case for case in queued_cases(meeting) if case.status == CaseStatus.PRESENTED]
    sent = service.sent_for(meeting)
    rows = [(case, sent.get(case.id), None if case.id in sent else service.ready_to_send(case)) for case in presented]
    return render_template("feedback/meeting.html", meeting=meeting, rows=rows,
                           delivery_state=emails.delivery_states(list(sent.values())))


def _send_form(case: Case, **kwargs) -> SendFeedbackForm:
    return SendFeedbackForm(sites=service.home_site_choices(case), **kwargs)


@bp.route("/meetings/<int:meeting_id>/feedback/<int:case_id>", methods=["GET", "POST"])
@login_required
def send_feedback(meeting_id: int, case_id: int):
    """Preview the feedback exactly as the reporter will read it, then send it; once sent, what was sent."""
    meeting = access.meeting_or_404(meeting_id)
    case = access.meeting_case_or_404(meeting, case_id)
    feedback = service.feedback_of(case)
    if feedback is not None:
        audit.record("feedback.viewed", feedback, via="chair")
        db.session.commit()
        return render_template("feedback/sent.html", meeting=meeting, feedback=feedback,
                               delivery_state=emails.delivery_states([feedback])[feedback.id], form=ConfirmForm())
    problem = service.ready_to_send(case)
    if problem:
        return render_template("feedback/not_ready.html", meeting=meeting, case=case, problem=problem), 409
    reporter = service.reporter_of(case)
    suggested = service.suggested_home_site(case, reporter)
    form = _send_form(case, data={"home_site_id": suggested.id if suggested else 0})
    if form.validate_on_submit() and "preview" not in request.form:
        try:
            feedback = service.send(case, meeting, current_user, reporter, form.message.data or "",
                                    form.home_site_id.data)
            emails.queue_for(feedback)
            db.session.commit()
        except service.FeedbackError as error:
            form.home_site_id.errors.append(str(error))
        except IntegrityError:
            db.session.rollback()  # another chair sent it a moment ago: theirs stands, and is shown
            flash("Feedback on this case had just been sent by someone else.")
            return redirect(url_for("feedback.send_feedback", meeting_id=meeting.id, case_id=case.id), code=303)
        else:
            emails.send_soon(feedback)
            flash("The feedback has been sent to the reporter.", "success")
            return redirect(url_for("feedback.send_feedback", meeting_id=meeting.id, case_id=case.id), code=303)
    cases.load_identifiers(case, current_user)  # the chair checks where it goes: an audited view
    db.session.commit()
    preview = service.content_of(case, meeting, form.message.data or "")
    return render_template("feedback/send.html", meeting=meeting, case=case, form=form, reporter=reporter,
                           content=preview), 422 if form.errors else 200


@bp.post("/meetings/<int:meeting_id>/feedback/<int:case_id>/retry")
@login_required
def retry_feedback(meeting_id: int, case_id: int):
    meeting = access.meeting_or_404(meeting_id)
    feedback = service.feedback_of(access.meeting_case_or_404(meeting, case_id))
    if feedback is None or not ConfirmForm().validate_on_submit():
        abort(404 if feedback is None else 400)
    emails.retry(feedback)
    flash("Sending the feedback email again.")
    return redirect(url_for("feedback.send_feedback", meeting_id=meeting.id, case_id=case_id), code=303)


# --- the reporter, signed in ----------------------------------------------------------------------

@bp.get("/feedback")
@login_required
def mine():
    """Feedback on the person's reports and the pats on the back they received and sent."""
    return render_template("feedback/mine.html", received=service.received_by(current_user),
                           pats_received=pats.received_by(current_user), pats_sent=pats.sent_by(current_user))


def _own_feedback_or_404(feedback_id: int) -> Feedback:
    feedback = db.session.get(Feedback, feedback_id)
    if feedback is None or feedback.recipient_id is None or feedback.recipient_id != current_user.id:
        abort(404)
    return feedback


def _account_urls(feedback: Feedback) -> dict:
    return {"acknowledge_url": url_for("feedback.acknowledge", feedback_id=feedback.id),
            "reflection_url": url_for("feedback.reflection", feedback_id=feedback.id),
            "pdf_url": url_for("feedback.received_pdf", feedback_id=feedback.id)}


@bp.get("/feedback/<int:feedback_id>")
@login_required
def received(feedback_id: int):
    feedback = _own_feedback_or_404(feedback_id)
    return _read(feedback, "account", _account_urls(feedback))


def _read(feedback: Feedback, via: str, urls: dict):
    """The reporter's page of their feedback: every view audited."""
    service.show(feedback, via)
    db.session.commit()
    return _feedback_page(feedback, urls)


def _feedback_page(feedback: Feedback, urls: dict, form: ReflectionForm | None = None, status: int = 200):
    form = form or ReflectionForm(data={"reflection": feedback.reflection, "minutes": feedback.reflection_minutes})
    return render_template("feedback/feedback.html", feedback=feedback, content=feedback.content, form=form,
                           confirm=ConfirmForm(), **urls), status


@bp.post("/feedback/<int:feedback_id>/acknowledge")
@login_required
def acknowledge(feedback_id: int):
    feedback = _own_feedback_or_404(feedback_id)
    return _acknowledge(feedback, url_for("feedback.received", feedback_id=feedback.id))


def _acknowledge(feedback: Feedback, back: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    service.acknowledge(feedback)
    db.session.commit()
    flash("Thank you: the chair will see that you have read it. Your reflection stays private.", "success")
    return redirect(back, code=303)


@bp.post("/feedback/<int:feedback_id>/reflection")
@login_required
def reflection(feedback_id: int):
    feedback = _own_feedback_or_404(feedback_id)
    return _save_reflection(feedback, _account_urls(feedback),
                            url_for("feedback.received", feedback_id=feedback.id))


def _save_reflection(feedback: Feedback, urls: dict, back: str):
    form = ReflectionForm()
    if form.validate_on_submit():
        typed = (form.reflection.data or "").strip()
        scrubbed = service.scrubbed_reflection(feedback, typed)
        if scrubbed == typed:
            service.reflect(feedback, scrubbed, form.minutes.data)
            db.session.commit()
            flash("Your reflection is saved. Only you can see it.", "success")
            return redirect(back + "#your-reflection", code=303)
        _show_back(form.reflection, scrubbed, ", as appraisal evidence must not identify patients", "save it")
    service.show(feedback, "reflection form")
    db.session.commit()
    return _feedback_page(feedback, urls, form, 422)


def _show_back(field, scrubbed: str, why: str, then: str) -> None:
    """Text that named a patient is shown back scrubbed, not kept: the writer sees what was taken out and
    keeps it as it now reads."""
    field.data = scrubbed
    field.errors.append(f"Lightbox took out what looked like patient details (in square brackets){why}. "
                        f"Check it reads well, then {then}.")


@bp.get("/feedback/<int:feedback_id>/feedback.pdf")
@login_required
def received_pdf(feedback_id: int):
    return _pdf(_own_feedback_or_404(feedback_id), "account pdf")


def _pdf(feedback: Feedback, via: str):
    service.show(feedback, via)
    db.session.commit()
    pdf = render_pdf("feedback.html", title=f"Feedback: {feedback.title}", feedback=feedback,
                     content=feedback.content)
    return pdf_response(pdf, f"feedback-{feedback.sent_at:%Y-%m-%d}-{feedback.id}.pdf")


# --- the reporter, by their link ------------------------------------------------------------------

# Only failed guesses count against an address: a department's reporters may share one.
_GUESSES = limiter.limit("30 per minute", deduct_when=lambda response: response.status_code == 404)


class _Replaced(Exception):
    """A genuine link that a newer one replaced."""


def _linked_or_404(token: str) -> Feedback:
    feedback = links.feedback_for(token)
    if feedback is None:
        if links.was_issued(token):
            raise _Replaced
        abort(404)
    return feedback


@bp.errorhandler(_Replaced)
def _replaced(_error):
    return render_template("feedback/link_refused.html", state="replaced", token=None, form=None), 410


def _link_urls(token: str) -> dict:
    return {"acknowledge_url": url_for("feedback.link_acknowledge", token=token),
            "reflection_url": url_for("feedback.link_reflection", token=token),
            "pdf_url": url_for("feedback.link_pdf", token=token)}


def _with_device(token: str, respond):
    """Answer for this device: `respond(feedback)` if the link is open to it, else why not."""
    feedback = _linked_or_404(token)
    value, new = device.token()
    claimed = feedback.link_device is not None or request.method == "POST" or links.expired(feedback)
    state = links.state_for(feedback, device.digest(value)) if claimed else None
    if state is None:
        # Mail scanners open links before people do: nothing is shown, or claimed, until a person asks.
        response = render_template("feedback/link_open.html", token=token, form=ConfirmForm())
    elif state is links.LinkState.OPEN:
        response = respond(feedback)
    else:
        audit.record("feedback.link_refused", feedback, state=state.value)
        db.session.commit()
        status = 410 if state is links.LinkState.EXPIRED else 403
        response = render_template("feedback/link_refused.html", token=token, state=state.value,
                                   form=ConfirmForm()), status
    return device.remember(make_response(response), value, new)


@bp.get("/f/<token>")
@_GUESSES
def by_link(token: str):
    return _with_device(token, lambda feedback: _read(feedback, "link", _link_urls(token)))


@bp.post("/f/<token>/open")
@_GUESSES
def link_open(token: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)

    def respond(feedback: Feedback):
        audit.record("feedback.link_claimed", feedback)
        db.session.commit()
        return redirect(url_for("feedback.by_link", token=token), code=303)
    return _with_device(token, respond)


@bp.post("/f/<token>/acknowledge")
@_GUESSES
def link_acknowledge(token: str):
    return _with_device(token, lambda feedback: _acknowledge(feedback, url_for("feedback.by_link", token=token)))


@bp.post("/f/<token>/reflection")
@_GUESSES
def link_reflection(token: str):
    return _with_device(token, lambda feedback: _save_reflection(
        feedback, _link_urls(token), url_for("feedback.by_link", token=token)))


@bp.get("/f/<token>/feedback.pdf")
@_GUESSES
def link_pdf(token: str):
    return _with_device(token, lambda feedback: _pdf(feedback, "link pdf"))


@bp.post("/f/<token>/new-link")
@_GUESSES
@limiter.limit("5 per hour")
def new_link(token: str):
    """A fresh link, to the reporter's own address only, for a link that expired or that another device
    holds: whoever asks, only the reporter can use it. A link open on the asking device needs none, and one
    nobody has opened yet is simply opened, so a forwarded link cannot void the reporter's."""
    feedback = _linked_or_404(token)
    value, _new = device.token()
    if not links.expired(feedback) and feedback.link_device in (None, device.digest(value)):
        return redirect(url_for("feedback.by_link", token=token), code=303)
    service.renew_link(feedback)
    emails.queue_new_link(feedback)
    db.session.commit()
    emails.send_soon(feedback)
    return render_template("feedback/link_sent.html")


# --- pats on the back -----------------------------------------------------------------------------

def _pat_form(**kwargs) -> PatForm:
    colleagues = db.session.scalars(select(User).where(User.active, User.id != current_user.id).order_by(User.name))
    return PatForm(colleagues=list(colleagues), cases=pats.case_choices(current_user), **kwargs)


@bp.route("/pats/new", methods=["GET", "POST"])
@login_required
@limiter.limit("20 per hour", methods=["POST"], key_func=lambda: f"pats:{current_user.get_id()}")
def new_pat():
    form = _pat_form(data={"recipient_id": request.args.get("to", 0, type=int), "reason": request.args.get("for")})
    scrubbed_note = None
    if form.validate_on_submit():
        case = db.session.get(Case, form.case_id.data) if form.case_id.data else None
        scrubbed = pats.scrubbed_message(form.message.data, case, current_user)
        if scrubbed != form.message.data.strip():
            _show_back(form.message, scrubbed, "", "send it")
            scrubbed_note = True
        else:
            pat = pats.send(current_user, db.session.get(User, form.recipient_id.data), form.reason.data,
                            scrubbed, case)
            emails.queue_pat(pat)
            db.session.commit()
            emails.send_pat_soon(pat)
            flash(f"Your pat on the back is on its way to {pat.recipient.name}.", "success")
            return redirect(url_for("feedback.mine"), code=303)
    status = 422 if form.errors else 200
    return render_template("feedback/new_pat.html", form=form, scrubbed_note=scrubbed_note), status


def _pat_or_404(pat_id: int) -> Pat:
    pat = db.session.get(Pat, pat_id)
    if pat is None or current_user.id not in (pat.recipient_id, pat.sender_id):
        abort(404)
    return pat


@bp.get("/pats/<int:pat_id>")
@login_required
def pat(pat_id: int):
    pat = _pat_or_404(pat_id)
    pats.show(pat, current_user)
    db.session.commit()
    return render_template("feedback/pat.html", pat=pat, form=ConfirmForm())


@bp.post("/pats/<int:pat_id>/keep")
@login_required
def keep_pat(pat_id: int):
    pat = _pat_or_404(pat_id)
    if pat.recipient_id != current_user.id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    pats.keep(pat, request.form.get("keep") == "yes")
    db.session.commit()
    flash("Kept for your appraisal: it is in your CPD record." if pat.kept else "No longer kept for appraisal.",
          "success")
    return redirect(url_for("feedback.pat", pat_id=pat.id), code=303)
