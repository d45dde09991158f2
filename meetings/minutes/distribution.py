"""Who receives published minutes, and the emails they receive.

The PDF goes to the risk staff of every site the meeting involves (its own, its cases', and every site its
actions are for) and to each site's distribution list. The learning bulletin goes to every member of those
sites, so the learning reaches those who were not in the room. An amendment goes to risk staff again.
"""
from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import func, select

from meetings import deliveries, mail
from meetings.actions import service as actions
from meetings.actions.reminders import risk_staff
from meetings.deliveries import Recipient
from meetings.extensions import db
from meetings.minutes.content import MinutesContent, pdf_filename
from meetings.models import (
    Delivery, DeliveryStatus, Meeting, MeetingScope, Minutes, MinutesVersion, Site, User,
)
from meetings.web import external_url

MINUTES = "minutes"
BULLETIN = "bulletin"


def involved_sites(content: MinutesContent) -> list[Site]:
    meeting = content.meeting
    ids = {meeting.site_id} if meeting.site_id is not None else set()
    agreed = actions.meeting_actions(meeting)
    # A regional meeting's minutes go to every site: sending them to the sites its cases came from would
    # tell the distribution list where each case began.
    everywhere = meeting.scope == MeetingScope.REGIONAL or any(action.all_sites for action in agreed)
    ids |= {site.id for action in agreed for site in action.sites}
    query = select(Site).where(Site.active)
    if not everywhere:
        query = query.where(Site.id.in_(ids))
    return list(db.session.scalars(query.order_by(Site.name)))


def risk_recipients(sites: list[Site]) -> list[Recipient]:
    people = [Recipient(person.email, person.name) for site in sites for person in risk_staff(site)]
    lists = [Recipient(address, f"{site.name} risk team") for site in sites for address in site.risk_addresses]
    return people + lists


def member_recipients(sites: list[Site]) -> list[Recipient]:
    members = db.session.scalars(select(User).where(User.active, User.home_site_id.in_([s.id for s in sites]))
                                 .order_by(User.id))
    return [Recipient(member.email, member.name) for member in members]


def queue_for(version: MinutesVersion, content: MinutesContent) -> None:
    """Queue the version's emails in the publishing transaction: they exist if, and only if, it does."""
    sites = involved_sites(content)
    risk = risk_recipients(sites)
    deliveries.queue(MINUTES, version.id, risk)
    if not version.is_amendment:
        # Risk staff have the whole PDF; the bulletin is for everyone else.
        has_pdf = {recipient.address.strip().lower() for recipient in risk}
        deliveries.queue(BULLETIN, version.id, [member for member in member_recipients(sites)
                                                if member.address.strip().lower() not in has_pdf])


def send_soon(version: MinutesVersion) -> None:
    deliveries.send_soon([version.id], kinds=(MINUTES, BULLETIN))


def retry(minutes: Minutes) -> int:
    """Try every unsent email of these minutes again now, however often it failed; how many there were."""
    ids = [version.id for version in minutes.versions]
    waiting = db.session.scalar(select(func.count()).select_from(Delivery).where(*_of(ids), _unsent()))
    if waiting:
        deliveries.send_soon(ids, kinds=(MINUTES, BULLETIN), retry_exhausted=True)
    return waiting


def was_sent_to(user: User, meeting: Meeting) -> bool:
    versions = select(MinutesVersion.id).join(Minutes).where(Minutes.meeting_id == meeting.id)
    return db.session.scalar(select(Delivery.id).where(*_of(versions), Delivery.recipient == user.email.lower())
                             .limit(1)) is not None


def _of(version_ids):
    """The minutes' and bulletins' deliveries of these versions (a list of ids, or a query of them)."""
    return Delivery.kind.in_((MINUTES, BULLETIN)), Delivery.subject_id.in_(version_ids)


def _unsent():
    return Delivery.status != DeliveryStatus.SENT


def log_of(minutes: Minutes) -> dict[int, dict]:
    """Per version number: how many emails were sent and are waiting, and the failed ones to show the chair."""
    by_id = {version.id: version.number for version in minutes.versions}
    if not by_id:
        return {}
    counts = deliveries.tally((MINUTES, BULLETIN), list(by_id))
    log = {number: {"sent": counts[version_id][DeliveryStatus.SENT],
                    "pending": counts[version_id][DeliveryStatus.PENDING], "failed": []}
           for version_id, number in by_id.items()}
    for delivery in db.session.scalars(select(Delivery).where(*_of(list(by_id)),
                                                              Delivery.status == DeliveryStatus.FAILED)
                                       .order_by(Delivery.id)):
        log[by_id[delivery.subject_id]]["failed"].append(delivery)
    return log


# --- the emails ----------------------------------------------------------------------------------

def _version_and_meeting(delivery: Delivery) -> tuple[MinutesVersion, Meeting]:
    version = db.session.get(MinutesVersion, delivery.subject_id)
    return version, version.minutes.meeting


@deliveries.builds(MINUTES)
def minutes_email(delivery: Delivery) -> EmailMessage:
    version, meeting = _version_and_meeting(delivery)
    subject = (f"Amended minutes (version {version.number}): {meeting.title}" if version.is_amendment
               else f"Minutes: {meeting.title}")
    message = mail.build_message(delivery.recipient, subject, "email/minutes", version=version, meeting=meeting,
                                 name=delivery.recipient_name, url=external_url("minutes.page", meeting_id=meeting.id))
    message.add_attachment(version.pdf, maintype="application", subtype="pdf",
                           filename=pdf_filename(meeting, version))
    return message


@deliveries.builds(BULLETIN)
def bulletin_email(delivery: Delivery) -> EmailMessage:
    version, meeting = _version_and_meeting(delivery)
    return mail.build_message(delivery.recipient, f"Learning from {meeting.title}", "email/learning_bulletin",
                              version=version, meeting=meeting, name=delivery.recipient_name,
                              url=external_url("minutes.page", meeting_id=meeting.id))
