"""Scheduling pages: a meeting's own page, scheduling and changing a meeting, cancelling it, and series."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from meetings.calendar import events, invitations
from meetings.cases import access
from meetings.extensions import db
from meetings.models import MeetingScope, MeetingSeries, MeetingStatus, Role, Site
from meetings.schedule import service
from meetings.schedule.forms import REPEATS, ConfirmForm, MeetingForm, SeriesForm
from meetings.web import local_time

bp = Blueprint("schedule", __name__)


def _sites() -> list[Site]:
    """The sites the signed-in person may schedule local meetings for."""
    if current_user.has_role(Role.ADMIN):
        return list(db.session.scalars(select(Site).where(Site.active).order_by(Site.name)))
    return [current_user.home_site] if current_user.home_site and current_user.has_role(Role.CHAIR) else []


def _require_scheduler() -> None:
    if not service.can_schedule(current_user):
        abort(403)


def _site(form) -> Site | None:
    return db.session.get(Site, form.site_id.data) if form.scope.data == MeetingScope.LOCAL else None


def _details(form) -> dict:
    """What a meeting form and a series form both give: the title and what calendars show besides the time."""
    return {"title": form.title.data, "location": form.location.data or "", "online_url": form.online_url.data or "",
            "reminder_minutes": form.reminder_minutes.data, "listed": form.listed.data}


@bp.get("/meetings/<int:meeting_id>")
@login_required
def meeting_page(meeting_id: int):
    meeting = access.meeting_or_404(meeting_id, lambda user, meeting: meeting.is_visible_to(user))
    running = access.can_run(current_user, meeting)
    return render_template(
        "schedule/meeting.html", meeting=meeting, running=running,
        cases=events.case_count(meeting),
        log=invitations.log_of(meeting) if running else [], invited=invitations.has_invited(meeting),
        can_see_register=access.can_see_register(current_user, meeting), form=ConfirmForm(),
    )


@bp.route("/meetings/new", methods=["GET", "POST"])
@login_required
def new_meeting():
    _require_scheduler()
    form = MeetingForm(sites=_sites(), regional=service.can_schedule_at(current_user, MeetingScope.REGIONAL, None))
    if form.validate_on_submit():
        if not service.can_schedule_at(current_user, form.scope.data, _site(form)):
            abort(403)
        try:
            meeting = service.create_meeting(
                current_user, scope=form.scope.data, site=_site(form),
                timing=service.Timing(form.day.data, form.start_time.data, form.end_time.data), **_details(form))
        except service.ScheduleError as refused:
            db.session.rollback()
            form[refused.field or "day"].errors = [str(refused)]
        else:
            invitation = invitations.invite(meeting, current_user) if form.send_invitations.data else None
            db.session.commit()
            invitations.send_soon(invitation)
            flash(f"{meeting.title} is scheduled" + (" and invitations are on their way" if form.send_invitations.data
                                                     else ""))
            return redirect(url_for("schedule.meeting_page", meeting_id=meeting.id), code=303)
    return render_template("schedule/meeting_form.html", form=form, meeting=None), 422 if form.errors else 200


@bp.route("/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@login_required
def edit_meeting(meeting_id: int):
    meeting = access.meeting_or_404(meeting_id)
    if meeting.status != MeetingStatus.SCHEDULED:
        flash(f"This meeting is {meeting.status_label.lower()}; it can no longer be changed")
        return redirect(url_for("schedule.meeting_page", meeting_id=meeting.id), code=303)
    starts, ends = local_time(meeting.starts_at), local_time(meeting.ends_at)
    form = MeetingForm(sites=[meeting.site] if meeting.site else [], scheduled_on=starts.date(), obj=meeting,
                       day=starts.date(), start_time=starts.time(), end_time=ends.time(),
                       site_id=meeting.site_id, reminder_minutes=meeting.reminder_minutes)
    # Scope and site stay as they were: moving a meeting to another site is a new meeting.
    form.scope.data = meeting.scope
    form.site_id.data = meeting.site_id
    if form.validate_on_submit():
        try:
            changed = service.change_meeting(
                meeting, timing=service.Timing(form.day.data, form.start_time.data, form.end_time.data),
                **_details(form))
        except service.ScheduleError as refused:
            db.session.rollback()
            form[refused.field or "day"].errors = [str(refused)]
        else:
            invitation = invitations.send_update(meeting, current_user) if changed else None
            db.session.commit()
            invitations.send_soon(invitation)
            flash("Changes saved" + ("; everyone invited is sent the update" if invitation else ""))
            return redirect(url_for("schedule.meeting_page", meeting_id=meeting.id), code=303)
    return render_template("schedule/meeting_form.html", form=form, meeting=meeting), 422 if form.errors else 200


@bp.route("/meetings/<int:meeting_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel_meeting(meeting_id: int):
    meeting = access.meeting_or_404(meeting_id)
    form = ConfirmForm()
    if meeting.status != MeetingStatus.SCHEDULED:
        flash(f"This meeting is {meeting.status_label.lower()}; it cannot be cancelled")
        return redirect(url_for("schedule.meeting_page", meeting_id=meeting.id), code=303)
    if form.validate_on_submit():
        returned = service.cancel_meeting(meeting)
        invitation = invitations.send_update(meeting, current_user)
        db.session.commit()
        invitations.send_soon(invitation)
        flash("The meeting is cancelled" + ("; everyone invited is sent the cancellation" if invitation else "")
              + (f"; {returned} queued cases are back in triage to be scheduled again" if returned else ""))
        return redirect(url_for("schedule.meeting_page", meeting_id=meeting.id), code=303)
    return render_template("schedule/cancel.html", meeting=meeting, form=form,
                           cases=events.case_count(meeting),
                           invited=invitations.has_invited(meeting))


@bp.post("/meetings/<int:meeting_id>/invitations")
@login_required
def send_invitations(meeting_id: int):
    meeting = access.meeting_or_404(meeting_id)
    if not ConfirmForm().validate_on_submit() or meeting.status != MeetingStatus.SCHEDULED:
        abort(400)
    invitation = invitations.invite(meeting, current_user)
    db.session.commit()
    invitations.send_soon(invitation)
    flash("Invitations are on their way to everyone not yet invited" if invitation
          else "Everyone who should be invited already is")
    return redirect(url_for("schedule.meeting_page", meeting_id=meeting.id), code=303)


@bp.post("/meetings/<int:meeting_id>/invitations/retry")
@login_required
def retry_invitations(meeting_id: int):
    meeting = access.meeting_or_404(meeting_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    invitations.retry(meeting)
    flash("The emails that failed are being tried again")
    return redirect(url_for("schedule.meeting_page", meeting_id=meeting.id), code=303)


@bp.route("/series/new", methods=["GET", "POST"])
@login_required
def new_series():
    _require_scheduler()
    form = SeriesForm(sites=_sites(), regional=service.can_schedule_at(current_user, MeetingScope.REGIONAL, None))
    if form.validate_on_submit():
        if not service.can_schedule_at(current_user, form.scope.data, _site(form)):
            abort(403)
        frequency, interval, _ = REPEATS[form.repeats.data]
        rule = service.Rule(frequency, interval, form.weekday.data, form.ordinal.data, form.starts_on.data, form.until)
        try:
            series = service.create_series(
                current_user, scope=form.scope.data, site=_site(form), rule=rule, starts=form.start_time.data,
                ends=form.end_time.data, **_details(form))
        except service.ScheduleError as refused:
            db.session.rollback()
            form[refused.field or "starts_on"].errors = [str(refused)]
        else:
            meetings = service.series_meetings(series)
            sent = ([invitations.invite(meeting, current_user) for meeting in meetings]
                    if form.send_invitations.data else [])
            db.session.commit()
            invitations.send_soon(*sent)
            flash(f"{len(meetings)} meetings are scheduled" + (" and invitations are on their way"
                                                              if form.send_invitations.data else ""))
            return redirect(url_for("schedule.series_page", series_id=series.id), code=303)
    return render_template("schedule/series_form.html", form=form), 422 if form.errors else 200


@bp.get("/series/<int:series_id>")
@login_required
def series_page(series_id: int):
    series = db.session.get(MeetingSeries, series_id)
    meetings = service.series_meetings(series) if series else []
    if series is None or not any(access.can_run(current_user, meeting) for meeting in meetings):
        abort(404)
    return render_template("schedule/series.html", series=series, meetings=meetings, moved_from=service.moved_from)
