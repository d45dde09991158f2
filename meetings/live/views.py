"""The live meeting's pages: the chair's console, the projector, and the audience's phones.

Phones polling for changes are answered before Flask by meetings.live.followers; `audience_live` here
answers only what it passes on.
"""
from __future__ import annotations

import json

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from meetings import device
from meetings.actions import panel as actions_panel
from meetings.cases import access, review
from meetings.cases import service as cases
from meetings.cases.review_views import anonymised_image_response
from meetings.extensions import db, limiter
from meetings.live import broadcast, service
from meetings.register import presence
from meetings.register import service as registers
from meetings.live.slides import poll_view, slide_for
from meetings.models import (
    Case, ClinicalSignificance, DiscrepancyType, LiveState, Meeting, Poll, PollKind, RadpeerGrade, Stage,
)
from meetings.web import external_url, is_htmx

bp = Blueprint("live", __name__)

POLL_PRESETS = {
    "interpretation": ("What is your interpretation?", PollKind.CHOICE, ""),
    "called_it": ("Would you have called it?", PollKind.CHOICE, "Yes\nNo\nNot sure"),
    "free_text": ("What is your interpretation?", PollKind.FREE_TEXT, ""),
}


# --- who may do what ----------------------------------------------------------------------------

# --- the chair's console ------------------------------------------------------------------------

def _room_context(state: LiveState, error: str | None = None) -> dict:
    meeting, queue = state.meeting, service.queue(state)
    return {
        "meeting": meeting, "state": state, "slide": slide_for(state, queue), "queue": queue,
        "case_mix": cases.case_mix(queue),
        "error": error, "stages": list(Stage), "review_state": review.state_of,
        "case_seconds": lambda case: service.case_seconds(state, case),
        "running_seconds": service.running_seconds(state),
        "join_url": external_url("live.audience", code=state.join_code),
        "votes": service.vote_count(state.poll) if state.poll is not None else 0,
        "can_run": access.can_run(current_user, meeting),
    } | _register_context(state)


def _register_context(state: LiveState, projector: bool = False) -> dict:
    """The register as the console and projector show it: its state, the signing link and presence code.
    The projector shows no count, so a new signature does not make it fetch a new copy."""
    meeting = state.meeting
    register = registers.peek(meeting)
    sign_url = external_url("register.sign", code=state.join_code)
    return {
        "register": register, "register_key": registers.room_key(meeting, with_count=not projector),
        "attendance": registers.present_count(meeting), "sign_url": sign_url,
        "short_sign_url": sign_url.split("://", 1)[-1],
        "presence_code": presence.shown(register),
    }


def _notes_context(state: LiveState, case: Case | None) -> dict:
    return {
        "case": case, "note_fields": service.NOTE_FIELDS, "digest": service.note_digest,
        "discrepancy_types": list(DiscrepancyType), "significances": list(ClinicalSignificance),
        "radpeer_grades": list(RadpeerGrade), "conflicts": {}, "saved": None,
        "can_run": access.can_run(current_user, state.meeting),
    }


@bp.get("/meetings/<int:meeting_id>/console")
@login_required
def console(meeting_id: int):
    meeting = access.meeting_or_404(meeting_id, access.can_take_notes)
    state = service.state_of(meeting)
    broadcast.audience_fragment(state)
    db.session.commit()
    return _console_page(state, 200)


@bp.get("/meetings/<int:meeting_id>/console/room")
@login_required
def console_room(meeting_id: int):
    """The console's room panel, polled so a second console (the minute-taker's) follows the chair."""
    meeting = access.meeting_or_404(meeting_id, access.can_take_notes)
    state = service.state_of(meeting)
    if _unchanged(state):
        return Response(status=204)
    return _room_panel(state, trigger_notes=request.args.get("case") != str(state.case_id or ""))


def _unchanged(state: LiveState, projector: bool = False) -> bool:
    """Whether the polling console or projector already shows this state (and this many answers)."""
    votes = service.vote_count(state.poll) if state.poll is not None and state.poll.is_open else None
    held = request.args.get("v", ""), request.args.get("votes", ""), request.args.get("register", "")
    return held == (str(state.version), "" if votes is None else str(votes),
                    registers.room_key(state.meeting, with_count=not projector))


def _room_panel(state: LiveState, status: int = 200, error: str | None = None, trigger_notes: bool = False):
    response = Response(render_template("live/_room.html", **_room_context(state, error)), status)
    if trigger_notes:
        # The room moved to another case: the notes panel follows it, and so does the action form's "For".
        response.headers["HX-Trigger"] = json.dumps({"lightbox:case-changed": {"case": state.case_id}})
    return response


def _form_number(name: str) -> int:
    value = request.form.get(name, "")
    return int(value) if service.whole_number(value) else 0


COMMANDS = {
    "start": lambda state: service.start(state),
    "end": lambda state: service.end(state),
    "next": lambda state: service.step(state, +1),
    "previous": lambda state: service.step(state, -1),
    "jump": lambda state: service.jump(state, _form_number("case_id")),
    "stage": lambda state: service.set_stage(state, _form_number("stage")),
    "refresh": lambda state: service.refresh(state),
    "open-poll": lambda state: _open_poll(state),
    "close-poll": lambda state: service.close_poll(state),
    "show-results": lambda state: service.show_results(state, True),
    "hide-results": lambda state: service.show_results(state, False),
    "clear-poll": lambda state: service.clear_poll(state),
}


def _open_poll(state: LiveState) -> None:
    question, kind, options = POLL_PRESETS.get(request.form.get("preset", ""), POLL_PRESETS["interpretation"])
    question = request.form.get("question", "").strip() or question
    service.open_poll(state, question, kind, (request.form.get("options", "").strip() or options).splitlines())


@bp.post("/meetings/<int:meeting_id>/live/<command>")
@login_required
def command(meeting_id: int, command: str):
    """One move of the room: start, end, next, previous, jump, stage, and the poll's controls."""
    if command not in COMMANDS:
        abort(404)
    meeting = access.meeting_or_404(meeting_id)
    state = service.state_of(meeting, for_update=True)
    case_before = state.case_id
    try:
        COMMANDS[command](state)
    except service.LiveRuleError as error:
        db.session.rollback()
        state = service.state_of(meeting)
        if not is_htmx():
            return _console_page(state, 409, str(error))
        return _room_panel(state, 409, str(error))
    broadcast.publish(state)
    db.session.commit()
    if not is_htmx():
        return redirect(url_for("live.console", meeting_id=meeting.id), code=303)
    return _room_panel(state, trigger_notes=state.case_id != case_before)


def _console_page(state: LiveState, status: int, error: str | None = None, notes_case: Case | None = None,
                  action_form=None, **notes_overrides):
    """The whole console; `notes_case` when a note of a case no longer on screen comes back in conflict,
    `action_form` when an action sent without JavaScript comes back with errors."""
    notes = _notes_context(state, notes_case or state.case) | notes_overrides
    actions = actions_panel.context(state.meeting, action_form)
    return render_template("live/console.html", **_room_context(state, error) | notes | actions), status


def console_page(meeting: Meeting, status: int, action_form=None):
    return _console_page(service.state_of(meeting), status, action_form=action_form)


@bp.get("/meetings/<int:meeting_id>/console/notes")
@login_required
def notes_panel(meeting_id: int):
    meeting = access.meeting_or_404(meeting_id, access.can_take_notes)
    state = service.state_of(meeting)
    return render_template("live/_notes.html", meeting=meeting, **_notes_context(state, state.case))


@bp.post("/meetings/<int:meeting_id>/cases/<int:case_id>/notes/<field>")
@login_required
def save_note(meeting_id: int, case_id: int, field: str):
    """Autosave of one note. A stale copy is refused (409) with both versions shown; nothing is dropped."""
    meeting = access.meeting_or_404(meeting_id, access.can_take_notes)
    case = access.meeting_case_or_404(meeting, case_id)
    if field not in service.NOTE_FIELDS:
        abort(404)
    mine = request.form.get(field, "").replace("\r\n", "\n")
    resolve = request.form.get("resolve", "")
    base = request.form.get("theirs", "") if resolve else request.form.get("base", "")
    try:
        service.save_note(case, field, mine, base, keep_both=resolve == "both")
    except service.StaleNote as stale:
        db.session.rollback()
        conflict = {"mine": mine, "theirs": stale.saved, "base": request.form.get("base", "")}
        return _note_response(meeting, case, field, 409, conflict=conflict, whole=not is_htmx() or bool(resolve))
    # The room is not sent each keystroke (half a name slips past any scrubber): the chair shows the
    # learning points with "Show on screen", or by moving to stage 4.
    db.session.commit()
    return _note_response(meeting, case, field, 200, whole=bool(resolve))


def _note_response(meeting: Meeting, case: Case, field: str, status: int, conflict: dict | None = None,
                   whole: bool = False):
    state = service.state_of(meeting)
    if not is_htmx():
        if status == 200:
            return redirect(url_for("live.console", meeting_id=meeting.id) + f"#note-{case.id}-{field}", code=303)
        notes = {"conflicts": {field: conflict}} if conflict else {}
        return _console_page(state, status, notes_case=case, **notes)
    context = _notes_context(state, case) | {"conflicts": {field: conflict} if conflict else {}, "saved": field}
    template = "live/_note.html" if whole else "live/_note_meta.html"
    response = Response(render_template(template, field=field, label=service.NOTE_FIELDS[field], meeting=meeting,
                                        **context), status)
    if whole:
        # A choice made on a conflict replaces the whole note; otherwise the box keeps what is being typed
        # and only the note's status line changes (to "Saved", or to the conflict).
        response.headers.update({"HX-Retarget": f"#note-{case.id}-{field}", "HX-Reswap": "outerHTML"})
    return response


@bp.post("/meetings/<int:meeting_id>/cases/<int:case_id>/outcome")
@login_required
def save_outcome(meeting_id: int, case_id: int):
    meeting = access.meeting_or_404(meeting_id, access.can_take_notes)
    case = access.meeting_case_or_404(meeting, case_id)
    form = request.form
    service.set_outcome(case, service.Outcome(
        discrepancy_type=form.get("discrepancy_type") or None,
        clinical_significance=form.get("clinical_significance") or None,
        great_pickup=form.get("great_pickup") == "yes",
        radpeer_grade=form.get("radpeer_grade") or None,
    ))
    db.session.commit()
    if not is_htmx():
        return redirect(url_for("live.console", meeting_id=meeting.id) + "#outcome", code=303)
    state = service.state_of(meeting)
    return render_template("live/_outcome.html", meeting=meeting, **_notes_context(state, case) | {"saved": "outcome"})


# --- the projector ------------------------------------------------------------------------------

@bp.get("/meetings/<int:meeting_id>/projector")
@login_required
def projector(meeting_id: int):
    meeting = access.meeting_or_404(meeting_id)
    state = service.state_of(meeting)
    db.session.commit()
    return render_template("live/projector.html", **_projector_context(state))


def _projector_context(state: LiveState) -> dict:
    join_url = external_url("live.audience", code=state.join_code)
    return {
        "meeting": state.meeting, "slide": slide_for(state),
        "votes": service.vote_count(state.poll) if state.poll is not None else 0,
        "join_url": join_url, "short_url": join_url.split("://", 1)[-1],
    } | _register_context(state, projector=True)


@bp.get("/meetings/<int:meeting_id>/projector/live")
@login_required
def projector_live(meeting_id: int):
    meeting = access.meeting_or_404(meeting_id)
    state = service.state_of(meeting)
    if _unchanged(state, projector=True):
        return Response(status=204)
    return render_template("live/_projector.html", **_projector_context(state))


# --- the audience -------------------------------------------------------------------------------

def state_by_code_or_404(code: str) -> LiveState:
    state = service.by_join_code(code)
    if state is None:
        abort(404)
    return state


@bp.get("/j/<code>")
@limiter.limit("30 per minute", deduct_when=lambda response: response.status_code == 404)
def audience(code: str):
    """The meeting on an attendee's phone: open to anyone with the room's short link; anonymised only."""
    state = state_by_code_or_404(code)
    fragment = broadcast.audience_fragment(state)
    db.session.commit()
    token, new = device.token()
    page = render_template("live/audience.html", meeting=state.meeting, fragment=fragment)
    return device.remember(Response(page), token, new)


@bp.get("/j/<code>/live")
@limiter.limit("30 per minute", deduct_when=lambda response: response.status_code == 404)
def audience_live(code: str):
    """The followers' poll, when meetings.live.followers could not answer it (it answers nearly all)."""
    state = state_by_code_or_404(code)
    if request.args.get("v") == str(state.version):
        return Response(status=204)
    return Response(broadcast.audience_fragment(state), headers={"Cache-Control": "no-store"})


@bp.get("/j/<code>/images/<int:image_id>")
@limiter.limit("120 per minute", deduct_when=lambda response: response.status_code == 404)
def audience_image(code: str, image_id: int):
    """An image of the case on screen, anonymised. Only the current, approved case's images are served."""
    state = state_by_code_or_404(code)
    case = state.case
    if case is None or review.state_of(case) is not review.ReviewState.REVIEWED:
        abort(404)
    return anonymised_image_response(case, image_id)


def _poll_or_404(state: LiveState, poll_id: int) -> Poll:
    poll = db.session.get(Poll, poll_id)
    if poll is None or poll.meeting_id != state.meeting_id:
        abort(404)
    return poll


@bp.route("/j/<code>/polls/<int:poll_id>", methods=["GET", "POST"])
@limiter.limit("60 per minute", methods=["POST"])
@limiter.limit("30 per minute", methods=["GET"], deduct_when=lambda response: response.status_code == 404)
def audience_vote(code: str, poll_id: int):
    """This device's answer to a poll: the form, or what it answered."""
    state = state_by_code_or_404(code)
    poll = _poll_or_404(state, poll_id)
    token, new = device.token()
    error, status = None, 200
    if request.method == "POST":
        try:
            service.vote(poll, token, request.form.get("choice"), request.form.get("answer"))
            db.session.commit()
        except service.LiveRuleError as rule:
            db.session.rollback()
            error, status = str(rule), 422
        except IntegrityError:
            db.session.rollback()  # this device had already answered: its first answer stands
    voted = service.has_voted(poll, token)
    template = "live/_vote.html" if is_htmx() else "live/vote.html"
    page = render_template(template, code=code, poll=poll_view(poll), voted=voted, error=error,
                           typed=request.form.get("answer", ""), meeting=state.meeting)
    return device.remember(Response(page, status), token, new)
