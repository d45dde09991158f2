"""Reminders: each owner hears once a day of actions due within a week or overdue; each site's risk staff get
a weekly digest. Run from cron by `flask --app app send-action-reminders`, as often as you like.

Each email is claimed in the notice table before it is sent and marked sent once the mail server took it;
a failed send gives its claim back so the next run tries again, and a claim left by a run that died expires.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage

from sqlalchemy import delete, func, select, update

from meetings import mail
from meetings.actions import service
from meetings.extensions import db, insert_if_absent
from meetings.models import CLOSED_STATUSES, OPEN_STATUSES, Action, Notice, Role, Site, User, UserRole, utcnow
from meetings.web import external_url, zone

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
        # A network action moves only as its sites close their copies: its owner follows it on its page,
        # and each site hears of its copy in the risk digest.
        .where(Action.status.in_(OPEN_STATUSES), Action.per_site.is_(False),
               Action.due_on <= today + timedelta(days=DUE_SOON_DAYS),
               (User.id.is_(None) & (Action.owner_email != "")) | User.active)
        .options(*service.ROW_LOADS).order_by(Action.due_on, Action.id))
    by_owner: dict[str, list[Action]] = defaultdict(list)
    for action in actions:
        by_owner[action.owner_address.lower()].append(action)
    return dict(by_owner)


def digest_of(site: Site, today: date) -> Digest:
    applies = service.applies_to(site.id)
    open_here = select(Action).where(applies, Action.status.in_(OPEN_STATUSES))

    def count(query) -> int:
        return db.session.scalar(select(func.count()).select_from(query.subquery()))

    month_start, next_month = _month_bounds(today)
    overdue = open_here.where(Action.due_on < today)
    return Digest(
        site=site, open=count(open_here), overdue=count(overdue),
        closed_this_month=count(select(Action).where(applies, Action.status.in_(CLOSED_STATUSES),
                                                     Action.closed_at >= month_start,
                                                     Action.closed_at < next_month)),
        due_soon=count(open_here.where(Action.due_on >= today,
                                       Action.due_on <= today + timedelta(days=DUE_SOON_DAYS))),
        oldest_overdue=list(db.session.scalars(overdue.options(*service.ROW_LOADS).order_by(Action.due_on, Action.id)
                                               .limit(DIGEST_OVERDUE_LISTED))),
    )


def _month_bounds(today: date) -> tuple[datetime, datetime]:
    """The calendar month of `today` in the configured time zone, as UTC instants."""
    local = zone()
    start = datetime(today.year, today.month, 1, tzinfo=local)
    end = datetime(today.year + today.month // 12, today.month % 12 + 1, 1, tzinfo=local)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


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
    mine_url = external_url("actions.mine")
    for address, actions in owners_due(today).items():
        owner = next((action.owner for action in actions if action.owner is not None), None)
        _send_once("action-reminder", today.isoformat(), address, lambda: mail.build_message(
            address, _owner_subject(actions, today), "email/action_reminder", actions=actions, today=today,
            name=owner.name if owner else actions[0].owner_name, has_account=owner is not None,
            mine_url=mine_url, source=service.source_label,
        ), outcome)
    week = week_of(today)
    for site in db.session.scalars(select(Site).where(Site.active).order_by(Site.id)):
        recipients = risk_staff(site)
        if not recipients:
            continue
        digest = digest_of(site, today)
        register_url = external_url("actions.index", site=site.id, overdue="yes")
        for person in recipients:
            _send_once("risk-digest", f"{week}/site-{site.id}", person.email.lower(), lambda: mail.build_message(
                person.email, f"Actions at {site.name}: {digest.overdue} overdue, {digest.open} open",
                "email/action_digest", digest=digest, today=today, week=week, name=person.name,
                register_url=register_url, source=service.source_label,
            ), outcome)
    return outcome


def _owner_subject(actions: list[Action], today: date) -> str:
    overdue = sum(1 for action in actions if action.is_overdue(today))
    due = len(actions) - overdue
    parts = ([f"{overdue} overdue"] if overdue else []) + ([f"{due} due this week"] if due else [])
    return "Your Lightbox actions: " + " and ".join(parts)


def _send_once(kind: str, key: str, recipient: str, build: Callable[[], EmailMessage], outcome: Outcome) -> None:
    """Claim, build, send and mark one notice. Claims are written on a connection of their own, so the
    session's loaded actions stay loaded from one email to the next."""
    claimed_at = _claim(kind, key, recipient)
    if claimed_at is None:
        outcome.already_sent += 1
        return
    mine = (*_notice(kind, key, recipient), Notice.claimed_at == claimed_at, Notice.sent_at.is_(None))
    try:
        mail.send(build())
    except Exception:  # noqa: BLE001 - one bad address or a mail server hiccup must not stop the rest
        log.exception("%s for %s not sent; the next run tries again", kind, recipient)
        with db.engine.begin() as connection:
            connection.execute(delete(Notice).where(*mine))
        outcome.failed += 1
        return
    with db.engine.begin() as connection:
        connection.execute(update(Notice).where(*mine).values(sent_at=utcnow()))
    outcome.sent += 1


def _notice(kind: str, key: str, recipient: str):
    return Notice.kind == kind, Notice.key == key, Notice.recipient == recipient


def _claim(kind: str, key: str, recipient: str) -> datetime | None:
    """The time this run claimed the notice at, if nobody has sent it and nobody else is sending it now."""
    now = utcnow()
    with db.engine.begin() as connection:
        made = insert_if_absent(Notice, {"kind": kind, "key": key, "recipient": recipient, "claimed_at": now},
                                ["kind", "key", "recipient"], connection)
        if made is None:
            made = connection.execute(
                update(Notice).where(*_notice(kind, key, recipient), Notice.sent_at.is_(None),
                                     Notice.claimed_at < now - CLAIM_EXPIRES).values(claimed_at=now)
            ).rowcount or None
    return now if made is not None else None
