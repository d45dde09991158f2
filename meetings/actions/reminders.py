"""Reminders: each owner hears once a day of actions due within a week or overdue; each site's risk staff get
a weekly digest. Run from cron by `flask --app app send-action-reminders`, as often as you like.

Each email is claimed in the notice table before it is sent and marked sent once the mail server took it;
a failed send gives its claim back so the next run tries again, and a claim left by a run that died expires.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import delete, func, select, update

from meetings import mail
from meetings.actions import service
from meetings.extensions import db, insert_if_absent
from meetings.models import CLOSED_STATUSES, OPEN_STATUSES, Action, Notice, Role, Site, User, UserRole, utcnow
from meetings.web import external_url

log = logging.getLogger(__name__)

DUE_SOON_DAYS = 7
DIGEST_OVERDUE_LISTED = 20
CLAIM_EXPIRES = timedelta(minutes=15)


@dataclass
class Outcome:
    sent: int = 0
    already_sent: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Digest:
    """A site's headline figures for its risk staff."""

    site: Site
    open: int
    overdue: int
    closed_this_month: int
    due_soon: int
    oldest_overdue: list[Action]


def owners_due(today: date) -> dict[str, list[Action]]:
    """Open actions due within DUE_SOON_DAYS or overdue, by the address their owner's reminder goes to.
    Owners whose account is switched off are left out: risk staff see those in their digest."""
    actions = db.session.scalars(
        select(Action).outerjoin(User, Action.owner_id == User.id)
        .where(Action.status.in_(OPEN_STATUSES), Action.due_on <= today + timedelta(days=DUE_SOON_DAYS),
               (User.id.is_(None) & (Action.owner_email != "")) | User.active)
        .options(service.ROW_LOADS).order_by(Action.due_on, Action.id))
    by_owner: dict[str, list[Action]] = defaultdict(list)
    for action in actions.unique():
        by_owner[action.owner_address.lower()].append(action)
    return dict(by_owner)


def digest_of(site: Site, today: date) -> Digest:
    applies = service.applies_to(site.id)
    open_here = select(Action).where(applies, Action.status.in_(OPEN_STATUSES))

    def count(query) -> int:
        return db.session.scalar(select(func.count()).select_from(query.subquery()))

    month_start = datetime.combine(today.replace(day=1), time(), tzinfo=timezone.utc)
    overdue = open_here.where(Action.due_on < today)
    return Digest(
        site=site, open=count(open_here), overdue=count(overdue),
        closed_this_month=count(select(Action).where(applies, Action.status.in_(CLOSED_STATUSES),
                                                     Action.closed_at >= month_start)),
        due_soon=count(open_here.where(Action.due_on >= today,
                                       Action.due_on <= today + timedelta(days=DUE_SOON_DAYS))),
        oldest_overdue=list(db.session.scalars(overdue.options(service.ROW_LOADS).order_by(Action.due_on, Action.id)
                                               .limit(DIGEST_OVERDUE_LISTED)).unique()),
    )


def risk_staff(site: Site) -> list[User]:
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.RISK, User.active, User.home_site_id == site.id).order_by(User.id)))


def week_of(today: date) -> str:
    year, week, _ = today.isocalendar()
    return f"{year}-W{week:02d}"


def send_reminders(today: date) -> Outcome:
    """Send what is due today; what was sent already (today, or this week for digests) is not sent again."""
    outcome = Outcome()
    for address, actions in owners_due(today).items():
        owner = actions[0].owner
        message = mail.build_message(
            address, _owner_subject(actions, today), "email/action_reminder", actions=actions, today=today,
            name=owner.name if owner else actions[0].owner_name, has_account=owner is not None,
            mine_url=external_url("actions.mine"), source=service.source_label,
        )
        _send_once("action-reminder", today.isoformat(), address, message, outcome)
    week = week_of(today)
    for site in db.session.scalars(select(Site).where(Site.active).order_by(Site.id)):
        recipients = risk_staff(site)
        if not recipients:
            continue
        digest = digest_of(site, today)
        register_url = external_url("actions.index", site=site.id, overdue="yes")
        for person in recipients:
            message = mail.build_message(
                person.email, f"Actions at {site.name}: {digest.overdue} overdue, {digest.open} open",
                "email/action_digest", digest=digest, today=today, week=week, name=person.name,
                register_url=register_url, source=service.source_label,
            )
            _send_once("risk-digest", f"{week}/site-{site.id}", person.email.lower(), message, outcome)
    return outcome


def _owner_subject(actions: list[Action], today: date) -> str:
    overdue = sum(1 for action in actions if action.is_overdue(today))
    due = len(actions) - overdue
    parts = ([f"{overdue} overdue"] if overdue else []) + ([f"{due} due this week"] if due else [])
    return "Your Lightbox actions: " + " and ".join(parts)


def _send_once(kind: str, key: str, recipient: str, message, outcome: Outcome) -> None:
    if not _claim(kind, key, recipient):
        outcome.already_sent += 1
        return
    try:
        mail.send(message)
    except Exception:  # noqa: BLE001 - one bad address or a mail server hiccup must not stop the rest
        log.exception("%s for %s not sent; the next run tries again", kind, recipient)
        db.session.execute(delete(Notice).where(*_notice(kind, key, recipient), Notice.sent_at.is_(None)))
        db.session.commit()
        outcome.failed += 1
        return
    db.session.execute(update(Notice).where(*_notice(kind, key, recipient)).values(sent_at=utcnow()))
    db.session.commit()
    outcome.sent += 1


def _notice(kind: str, key: str, recipient: str):
    return Notice.kind == kind, Notice.key == key, Notice.recipient == recipient


def _claim(kind: str, key: str, recipient: str) -> bool:
    """Whether this run may send the notice: nobody has, and nobody else is sending it now."""
    now = utcnow()
    made = insert_if_absent(Notice, {"kind": kind, "key": key, "recipient": recipient, "claimed_at": now},
                            ["kind", "key", "recipient"])
    if made is None:
        made = db.session.execute(
            update(Notice).where(*_notice(kind, key, recipient), Notice.sent_at.is_(None),
                                 Notice.claimed_at < now - CLAIM_EXPIRES).values(claimed_at=now)
        ).rowcount or None
    db.session.commit()
    return made is not None
