"""Calendar downloads and subscriptions: "Add to calendar", a person's own feed, and each site's feed."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from meetings.calendar import feeds
from meetings.cases import access
from meetings.extensions import db, limiter
from meetings.models import Site
from meetings.schedule.forms import ConfirmForm
from meetings.web import external_url

bp = Blueprint("calendar", __name__)


def _ics(body: bytes, filename: str, private: bool) -> Response:
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    # A person's feed is theirs alone; the public feed may be cached by anyone for a while.
    response.headers["Cache-Control"] = "private, no-store" if private else "public, max-age=900"
    return response


@bp.get("/meetings/<int:meeting_id>/calendar.ics")
@login_required
def add_to_calendar(meeting_id: int):
    meeting = access.meeting_or_404(meeting_id, lambda user, meeting: meeting.is_visible_to(user))
    return _ics(feeds.meeting_ics(meeting), f"meeting-{meeting.id}.ics", private=True)


@bp.get("/calendar")
@login_required
def subscriptions():
    https = external_url("calendar.personal_feed", token=feeds.token_for(current_user))
    sites = db.session.scalars(select(Site).where(Site.active).order_by(Site.name))
    return render_template("calendar/subscriptions.html", https=https, webcal=_webcal(https),
                           sites=[(site, external_url("calendar.site_feed", code=site.code)) for site in sites],
                           form=ConfirmForm())


def _webcal(url: str) -> str:
    """The same link for calendar apps, which subscribe on a webcal: link."""
    return "webcal://" + url.split("://", 1)[1]


@bp.post("/calendar/reset")
@login_required
def reset():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    feeds.reset(current_user)
    db.session.commit()
    flash("Your calendar link has changed. The old one no longer works: subscribe again with the new one.")
    return redirect(url_for("calendar.subscriptions"), code=303)


# Calendar services fetch many people's feeds from a few addresses: only failed guesses count.
@bp.get("/calendar/feed/<token>.ics")
@limiter.limit("60 per minute", deduct_when=lambda response: response.status_code == 404)
def personal_feed(token: str):
    user = feeds.user_for(token)
    if user is None:
        abort(404)
    return _ics(feeds.personal_feed(user), "lightbox.ics", private=True)


@bp.get("/calendar/sites/<code>.ics")
@limiter.limit("60 per minute", deduct_when=lambda response: response.status_code == 404)
def site_feed(code: str):
    site = db.session.scalar(select(Site).where(Site.code == code.upper(), Site.active))
    if site is None:
        abort(404)
    return _ics(feeds.site_feed(site), f"{site.code.lower()}-meetings.ics", private=False)
