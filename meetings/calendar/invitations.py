"""Meeting invitations by email (iTIP over iMIP, RFC 5546): REQUEST to invite and update, CANCEL to cancel.

Each email carries the invite twice, as Google Calendar and Outlook send theirs: a `text/calendar;
method=...` part that mail clients turn into Accept / Decline buttons, and an `invite.ics` attachment for
everything else. Each recipient's copy lists only them as an attendee: their client finds its own address
and asks for a reply, and nobody receives the department's address book. Replies go to the chair, who
is the organizer.

Invitations are sent through the delivery log, so an SMTP outage delays them and loses none. An email is
built from the meeting as it is when sent, so a retry after a reschedule carries the new time, and a
request sent after the meeting was cancelled goes out as a cancellation.
"""
from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import select

from meetings import deliveries, mail
from meetings.calendar import events
from meetings.calendar.ical import CalendarView, Person, to_ics
from meetings.deliveries import Recipient
from meetings.extensions import db
from meetings.live import service as live
from meetings.models import (
    Delivery, DeliveryStatus, Invitation, InvitationReason, Meeting, MeetingScope, MeetingStatus, Site, User,
    utcnow,
)
from meetings.web import external_url, format_datetime, zone

INVITATION = "invitation"


def _sites(meeting: Meeting) -> list[Site]:
    if meeting.scope == MeetingScope.REGIONAL:
        return list(db.session.scalars(select(Site).where(Site.active).order_by(Site.name)))
    return [meeting.site] if meeting.site is not None else []


def _lists(meeting: Meeting) -> dict[str, str]:
    """The sites' mailing lists for invitations: address (lower case) to a name for it."""
    return {address.lower(): f"{site.name} meetings list" for site in _sites(meeting)
            for address in site.invite_addresses}


def invitees(meeting: Meeting) -> list[Recipient]:
    """Every active member of the meeting's site (of every site for a regional meeting) and the sites'
    mailing lists. Not the chair: they organise it, and take it into their calendar with "Add to calendar"."""
    site_ids = [site.id for site in _sites(meeting)]
    members = db.session.scalars(select(User).where(User.active, User.home_site_id.in_(site_ids),
                                                    User.id != meeting.chair_id).order_by(User.id))
    people = [Recipient(member.email, member.name) for member in members]
    return people + [Recipient(address, name) for address, name in _lists(meeting).items()]


def _invited_before(meeting: Meeting) -> list[Recipient]:
    """Everyone an earlier invitation of this meeting was queued for, so that updates reach them all, even
    someone who has since left the site's list."""
    sent = (select(Delivery.recipient, Delivery.recipient_name).join(Invitation, Invitation.id == Delivery.subject_id)
            .where(Delivery.kind == INVITATION, Invitation.meeting_id == meeting.id).distinct())
    return [Recipient(address, name) for address, name in db.session.execute(sent)]


def has_invited(meeting: Meeting) -> bool:
    return db.session.scalar(select(Invitation.id).where(Invitation.meeting_id == meeting.id).limit(1)) is not None


def _queue(meeting: Meeting, reason: InvitationReason, by: User, recipients: list[Recipient]) -> Invitation | None:
    if not recipients:
        return None
    invitation = Invitation(meeting=meeting, reason=reason, sequence=meeting.ical_sequence, sent_by_name=by.name)
    db.session.add(invitation)
    db.session.flush()
    deliveries.queue(INVITATION, invitation.id, recipients)
    live.state_of(meeting)  # the invite's sign-in link needs the meeting's join code
    return invitation


def invite(meeting: Meeting, by: User) -> Invitation | None:
    """Invite everyone who should come and has not been invited yet; None if there is nobody new."""
    invited = {recipient.address.lower() for recipient in _invited_before(meeting)}
    return _queue(meeting, InvitationReason.INVITED, by,
                  [person for person in invitees(meeting) if person.address.lower() not in invited])


def send_update(meeting: Meeting, by: User) -> Invitation | None:
    """Tell everyone invited so far, and anyone who should be invited now, of the meeting as it is now:
    an update (the same UID, a higher SEQUENCE), or a cancellation. Nothing if nobody was ever invited."""
    if not has_invited(meeting):
        return None
    reason = InvitationReason.CANCELLED if meeting.status == MeetingStatus.CANCELLED else InvitationReason.UPDATED
    recipients = _invited_before(meeting)
    if reason is InvitationReason.UPDATED:
        recipients += invitees(meeting)
    return _queue(meeting, reason, by, recipients)


def send_soon(*sent: Invitation | None) -> None:
    """Send these invitations' emails once the request's changes are committed."""
    ids = [invitation.id for invitation in sent if invitation is not None]
    if ids:
        deliveries.send_soon(ids, kinds=(INVITATION,))


def log_of(meeting: Meeting) -> list[dict]:
    """Each sending, newest first, with how many emails went, wait, or failed."""
    invitations = list(db.session.scalars(select(Invitation).where(Invitation.meeting_id == meeting.id)
                                          .order_by(Invitation.id.desc())))
    counts = deliveries.tally((INVITATION,), [item.id for item in invitations])
    return [{"invitation": item, "sent": counts[item.id][DeliveryStatus.SENT],
             "pending": counts[item.id][DeliveryStatus.PENDING], "failed": counts[item.id][DeliveryStatus.FAILED]}
            for item in invitations]


def retry(meeting: Meeting) -> None:
    ids = list(db.session.scalars(select(Invitation.id).where(Invitation.meeting_id == meeting.id)))
    if ids:
        deliveries.send_soon(ids, kinds=(INVITATION,), retry_exhausted=True)


# --- the invite itself ---------------------------------------------------------------------------

def method_of(meeting: Meeting) -> str:
    return "CANCEL" if meeting.status == MeetingStatus.CANCELLED else "REQUEST"


def invite_ics(meeting: Meeting, attendees: list[Recipient], stamp: datetime | None = None) -> bytes:
    """The meeting's invite as it is now (REQUEST, or CANCEL once cancelled), for these attendees."""
    lists = _lists(meeting)
    people = tuple(Person(item.address, item.name, group=item.address.lower() in lists) for item in attendees)
    view = events.views_of([meeting], events.Audience.INVITEE, attendees=people)
    return to_ics(CalendarView(method_of(meeting), view), zone(), stamp or utcnow())


def _subject(meeting: Meeting, reason: str) -> str:
    when = format_datetime(meeting.starts_at)
    if meeting.status == MeetingStatus.CANCELLED:
        return f"Cancelled: {meeting.title}, {when}"
    return f"{'Updated invitation' if reason == InvitationReason.UPDATED else 'Invitation'}: {meeting.title}, {when}"


@deliveries.builds(INVITATION)
def invitation_email(delivery: Delivery) -> EmailMessage:
    invitation = db.session.get(Invitation, delivery.subject_id)
    meeting = invitation.meeting
    method = method_of(meeting)
    ics = invite_ics(meeting, [Recipient(delivery.recipient, delivery.recipient_name)])
    message = mail.build_message(
        delivery.recipient, _subject(meeting, invitation.reason), "email/meeting_invitation", meeting=meeting,
        name=delivery.recipient_name, reason=invitation.reason, cancelled=method == "CANCEL",
        url=external_url("schedule.meeting_page", meeting_id=meeting.id),
        calendar_url=external_url("calendar.subscriptions"),
    )
    message.add_alternative(ics.decode("utf-8"), subtype="calendar", params={"method": method})
    message.add_attachment(ics, maintype="application", subtype="ics", filename="invite.ics",
                           params={"method": method})
    return message
