"""Actions agreed in a meeting, tracked to completion by risk staff, with their append-only history."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, event, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.models.base import Base, LabelledEnum, UTCDateTime, utcnow
from meetings.models.case import Case
from meetings.models.meeting import Meeting
from meetings.models.site import Site
from meetings.models.user import User


class ActionStatus(LabelledEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


CLOSED_STATUSES = (ActionStatus.DONE, ActionStatus.CANCELLED)
OPEN_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)


class ActionPriority(LabelledEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ActionSite(Base):
    """A site an action applies to (unless the action applies to every site in the network)."""

    __tablename__ = "action_site"

    action_id: Mapped[int] = mapped_column(ForeignKey("action.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), primary_key=True, index=True)


class Action(Base):
    __tablename__ = "action"
    __table_args__ = (Index("ix_action_status_due_on", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    description: Mapped[str] = mapped_column(Text)
    # A Lightbox user, or a named person with an email who has no account.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    owner_name: Mapped[str] = mapped_column(String(200), default="")
    owner_email: Mapped[str] = mapped_column(String(254), default="")
    all_sites: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A network action agreed at a regional meeting: every site gets its own copy, which that site's risk
    # staff close; the network action follows its copies ("6 of 9 sites done") and is never moved by hand.
    per_site: Mapped[bool] = mapped_column(default=False, server_default=false())
    # On a site's copy, the network action it is a copy of.
    network_action_id: Mapped[int | None] = mapped_column(ForeignKey("action.id", ondelete="CASCADE"), index=True)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    priority: Mapped[str] = mapped_column(String(8), default=ActionPriority.MEDIUM)
    status: Mapped[str] = mapped_column(String(16), default=ActionStatus.OPEN, index=True)
    closing_note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped on every change: an update made from an older copy of the action is refused, not merged.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    meeting: Mapped[Meeting] = relationship(lazy="joined")
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id], lazy="joined")
    case: Mapped[Case | None] = relationship()
    sites: Mapped[list[Site]] = relationship(secondary="action_site", lazy="selectin", order_by=Site.name)
    network_action: Mapped[Action | None] = relationship(remote_side=[id], back_populates="site_copies")
    site_copies: Mapped[list[Action]] = relationship(back_populates="network_action", order_by="Action.id")
    history: Mapped[list[ActionEvent]] = relationship(
        back_populates="action", order_by="ActionEvent.id", cascade="all", passive_deletes=True,
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def reference(self) -> str:
        return f"A{self.id}"

    @property
    def owner_display(self) -> str:
        if self.owner:
            return self.owner.name
        if not self.owner_name and self.network_action_id is not None and self.sites:
            return f"{self.sites[0].name} risk staff"
        return self.owner_name

    @property
    def owner_address(self) -> str:
        """Where reminders go: the user's email, or the named owner's."""
        return self.owner.email if self.owner else self.owner_email

    @property
    def sites_label(self) -> str:
        if self.per_site:
            return "Every site in the network, each closing its own copy"
        if self.network_action_id is not None:
            return f"{', '.join(site.name for site in self.sites)} (its copy of A{self.network_action_id})"
        return "All sites in the network" if self.all_sites else ", ".join(site.name for site in self.sites)

    @property
    def status_label(self) -> str:
        return ActionStatus(self.status).label

    @property
    def priority_label(self) -> str:
        return ActionPriority(self.priority).label

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    def is_overdue(self, today: date) -> bool:
        return not self.is_closed and self.due_on < today


class ActionEvent(Base):
    """One change to an action: who, when, from which status to which, and why. Never changed afterwards."""

    __tablename__ = "action_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("action.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # The name as it was then, so the history reads the same after a user is renamed or deactivated.
    by_name: Mapped[str] = mapped_column(String(200))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")

    action: Mapped[Action] = relationship(back_populates="history")

    @property
    def from_label(self) -> str:
        return ActionStatus(self.from_status).label if self.from_status else ""

    @property
    def to_label(self) -> str:
        return ActionStatus(self.to_status).label


@event.listens_for(ActionEvent, "before_update")
@event.listens_for(ActionEvent, "before_delete")
def _history_is_append_only(mapper, connection, target: ActionEvent) -> None:
    raise ValueError("an action's history is append-only")
