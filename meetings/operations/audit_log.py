"""Reading the audit log: what admins filter and export. Nothing here writes to it (`meetings.audit` does)
and nothing in Lightbox changes or deletes an entry (the model refuses)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import Select, or_, select

from meetings.extensions import db
from meetings.models import AuditEvent, User
from meetings.schedule.service import at_local
from meetings.web import format_datetime, whole_number

# What a data protection officer asks about, as groups of the actions Lightbox records.
CATEGORIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "identifiers": ("Identifiers viewed", ("case.identifiers_viewed",)),
    "sign_ins": ("Sign-ins", ("user.signed_in", "user.accepted_invite")),
    "roles": ("Accounts and roles", ("user.invited", "user.updated", "user.deactivated", "user.reactivated")),
    "publications": ("Publications and exports", (
        "minutes.published", "feedback.sent", "governance.annual_report", "governance.incidents_exported",
        "actions.exported", "register.exported", "audit.exported")),
    "purges": ("Identifiers purged or resealed", ("case.identifiers_purged", "identifiers.resealed")),
}
PAGE_SIZE = 50
CSV_HEADER = ["When", "Who", "Action", "Subject", "Subject id", "Detail"]


@dataclass(frozen=True)
class Filters:
    """The log's filters, read from a query string; anything not understood is left out."""

    category: str = ""
    actor: str = ""
    subject_type: str = ""
    subject_id: int | None = None
    start: date | None = None
    end: date | None = None

    @classmethod
    def from_args(cls, args) -> Filters:
        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(args.get(name, "").strip())
            except ValueError:
                return None

        subject_id = args.get("subject_id", "").strip()
        return cls(
            category=args.get("category", "") if args.get("category") in CATEGORIES else "",
            actor=" ".join(args.get("actor", "").split())[:200],
            subject_type="".join(ch for ch in args.get("subject_type", "").lower() if ch.isalpha() or ch == "_")[:32],
            subject_id=int(subject_id) if whole_number(subject_id) else None,
            start=day("from"), end=day("to"),
        )

    def as_args(self) -> dict:
        args = {"category": self.category, "actor": self.actor, "subject_type": self.subject_type,
                "subject_id": self.subject_id, "from": self.start and self.start.isoformat(),
                "to": self.end and self.end.isoformat()}
        return {key: value for key, value in args.items() if value}

    @property
    def narrowed(self) -> bool:
        return self != Filters()


def query(filters: Filters) -> Select:
    """Newest first."""
    statement = select(AuditEvent)
    if filters.category:
        statement = statement.where(AuditEvent.action.in_(CATEGORIES[filters.category][1]))
    if filters.actor:
        term = f"%{filters.actor.lower()}%"
        statement = statement.where(AuditEvent.actor_id.in_(select(User.id).where(
            or_(User.name.ilike(term), User.email.ilike(term)))))
    if filters.subject_type:
        statement = statement.where(AuditEvent.subject_type == filters.subject_type)
    if filters.subject_id is not None:
        statement = statement.where(AuditEvent.subject_id == filters.subject_id)
    if filters.start:
        statement = statement.where(AuditEvent.at >= at_local(filters.start, time()))
    if filters.end:
        statement = statement.where(AuditEvent.at < at_local(filters.end + timedelta(days=1), time()))
    return statement.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def page_of(filters: Filters, page: int):
    return db.paginate(query(filters), page=page, per_page=PAGE_SIZE, error_out=False)


def describe(detail: dict) -> str:
    """An entry's detail as one line: "roles: admin, chair; case: 12"."""
    def value(item) -> str:
        return ", ".join(map(str, item)) if isinstance(item, list) else str(item)

    return "; ".join(f"{key.replace('_', ' ')}: {value(item)}" for key, item in sorted((detail or {}).items()))


def csv_rows(statement: Select) -> Iterator[list]:
    for event in db.session.scalars(statement.execution_options(yield_per=500)):
        yield [format_datetime(event.at, "%Y-%m-%d %H:%M:%S"), actor_label(event), event.action,
               event.subject_type, event.subject_id if event.subject_id is not None else "", describe(event.detail)]


def actor_label(event: AuditEvent) -> str:
    if event.actor is None:
        return "Lightbox" if event.actor_id is None else f"user {event.actor_id}"
    return f"{event.actor.name} <{event.actor.email}>"
