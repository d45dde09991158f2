"""Actions: capture in the meeting, the register's queries, status changes and their history.

Who may do what with an action lives here too; the views only ask.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, and_, case, func, or_, select, true
from sqlalchemy.orm import joinedload, lazyload, load_only, selectinload
from sqlalchemy.orm.exc import StaleDataError

from meetings.anonymise import record
from meetings.cases import access, review
from meetings.extensions import db
from meetings.models import (
    CLOSED_STATUSES, OPEN_STATUSES, Action, ActionEvent, ActionPriority, ActionSite, ActionStatus, Case, Meeting,
    MeetingScope, Modality, Role, Site, User, utcnow,
)
from meetings.web import external_url, format_datetime, plural

PAGE_SIZE = 50
# What a listed action shows of its case (number, modality, approved region), loaded with it; not its images.
ROW_LOADS = (joinedload(Action.case).options(joinedload(Case.review), lazyload(Case.images)),
             # A network action's row says how many sites are done: only its copies' statuses are needed.
             selectinload(Action.site_copies).options(
                 load_only(Action.id, Action.status, Action.network_action_id), lazyload("*"),
                 selectinload(Action.sites)))

# Where each status may move, and what a person must say to move it there.
TRANSITIONS = {
    ActionStatus.OPEN: (ActionStatus.IN_PROGRESS, ActionStatus.DONE, ActionStatus.CANCELLED),
    ActionStatus.IN_PROGRESS: (ActionStatus.DONE, ActionStatus.CANCELLED),
    ActionStatus.DONE: (ActionStatus.OPEN,),
    ActionStatus.CANCELLED: (ActionStatus.OPEN,),
}
MOVE_LABELS = {
    ActionStatus.IN_PROGRESS: "Start: in progress",
    ActionStatus.DONE: "Done",
    ActionStatus.CANCELLED: "Cancel",
    ActionStatus.OPEN: "Reopen",
}
NOTE_REQUIRED = {
    ActionStatus.DONE: "Say what was done: the evidence that closes this action",
    ActionStatus.CANCELLED: "Give the reason for cancelling this action",
    ActionStatus.OPEN: "Say why this action is being reopened",
}
PRIORITY_ORDER = case({ActionPriority.HIGH.value: 0, ActionPriority.MEDIUM.value: 1}, value=Action.priority, else_=2)
SORTS = {
    "due": (Action.due_on, Action.id),
    "due_desc": (Action.due_on.desc(), Action.id.desc()),
    "priority": (PRIORITY_ORDER, Action.due_on, Action.id),
    "newest": (Action.created_at.desc(), Action.id.desc()),
    "oldest": (Action.created_at, Action.id),
}
SORT_LABELS = {"due": "Due date, soonest first", "due_desc": "Due date, latest first", "priority": "Priority",
               "newest": "Newest first", "oldest": "Oldest first"}
STATUS_FILTERS = {"open": "Open or in progress", **{s.value: s.label for s in ActionStatus}, "all": "Any status"}


class ActionRuleError(Exception):
    """A change the rules do not allow; `field` names the form field to show it beside."""

    def __init__(self, message: str, field: str = "note"):
        super().__init__(message)
        self.field = field


class ActionConflict(Exception):
    """Someone changed the action after this person's copy was loaded; nothing was saved."""

    def __init__(self, action_id: int):
        super().__init__(f"action {action_id} was changed by someone else while this person was looking at it")
        self.action_id = action_id


# --- who may do what ----------------------------------------------------------------------------

def visible_to(user: User):
    """Which actions a person sees: those of meetings they see, those that apply to their site or the whole
    network, and their own. A site's copy of a network action is its site's business (and the regional
    chairs'), not every other site's."""
    if user.has_role(Role.ADMIN):
        return true()
    seen = [and_(Meeting.visible_to(user), Action.network_action_id.is_(None)), applies_to(user.home_site_id),
            owned_by(user)]
    if access.chairs_region(user):
        seen.append(Meeting.scope == MeetingScope.REGIONAL)
    return or_(*seen)


def owned_by(user: User):
    return or_(Action.owner_id == user.id, func.lower(Action.owner_email) == user.email.lower())


def is_owner(user: User, action: Action) -> bool:
    return action.owner_id == user.id or (bool(action.owner_email) and action.owner_email.lower() == user.email.lower())


def can_see(user: User, action: Action) -> bool:
    return db.session.scalar(select(
        select(Action.id).join(Action.meeting).where(Action.id == action.id, visible_to(user)).exists())) or False


def applies_to_site_of(user: User, action: Action) -> bool:
    """Whether the action is for the person's home site: held there, for it, or for every site (a network
    action with per-site copies is for each site through its copy)."""
    site_id = user.home_site_id
    return site_id is not None and ((action.all_sites and not action.per_site) or action.meeting.site_id == site_id
                                    or any(site.id == site_id for site in action.sites))


def can_govern(user: User, action: Action) -> bool:
    """Risk staff of a site the action is for, the meeting's chairs and admins: they may also cancel and
    reopen it, which its owner alone may not."""
    if access.can_run(user, action.meeting):
        return True
    return user.has_role(Role.RISK) and applies_to_site_of(user, action)


def can_update(user: User, action: Action) -> bool:
    """Its owner, and those who govern it, move an action on."""
    return is_owner(user, action) or can_govern(user, action)


def allowed_moves(user: User, action: Action) -> tuple[ActionStatus, ...]:
    """Where this person may move the action now: an owner starts and finishes it; cancelling and
    reopening are for those who govern it. A network action follows its sites' copies, so nobody moves it."""
    if action.per_site:
        return ()
    moves = TRANSITIONS[ActionStatus(action.status)]
    if can_govern(user, action):
        return moves
    if is_owner(user, action):
        return tuple(move for move in moves if move in (ActionStatus.IN_PROGRESS, ActionStatus.DONE))
    return ()


def action_or_404(action_id: int, allowed=can_see) -> Action:
    """The action if the signed-in person may see it (or do `allowed` with it); otherwise 404."""
    action = db.session.get(Action, action_id)
    if action is None or not allowed(current_user, action):
        abort(404)
    return action


# --- capture ------------------------------------------------------------------------------------

@dataclass
class NewAction:
    description: str
    due_on: date
    priority: str = ActionPriority.MEDIUM
    owner: User | None = None
    owner_name: str = ""
    owner_email: str = ""
    case: Case | None = None
    all_sites: bool = False
    sites: list[Site] = field(default_factory=list)


PATIENT_IDENTIFIERS = {"patient", "nhs_number", "hospital_number", "accession_number"}


def names_a_patient(text: str, meeting: Meeting, case: Case | None) -> bool:
    """Whether `text` carries a patient identifier of the meeting's cases. An owner's name is shown as typed
    (scrubbing would take out every "Dr ..."), so one that names the patient is refused instead."""
    return any(found.kind in PATIENT_IDENTIFIERS
               for each in review.cases_about(meeting, case) for found in record.find(text, review.known_for(each)))


def capture(meeting: Meeting, new: NewAction, by: User) -> Action:
    """Record an action agreed in the meeting, with the start of its history. A regional meeting's action
    is for every site, and each active site gets its own copy to close."""
    regional = meeting.scope == MeetingScope.REGIONAL
    all_sites = new.all_sites or regional
    action = Action(
        meeting=meeting, case=new.case, description=review.meeting_text(new.description.strip(), meeting, new.case),
        owner=new.owner, owner_name="" if new.owner else new.owner_name.strip(),
        owner_email="" if new.owner else new.owner_email.strip(), due_on=new.due_on, priority=new.priority,
        all_sites=all_sites, per_site=regional, sites=[] if all_sites else new.sites, created_by_id=by.id,
    )
    db.session.add(action)
    action.history.append(ActionEvent(by_id=by.id, by_name=by.name, to_status=ActionStatus.OPEN,
                                      note=f"Agreed at {meeting.title}"))
    if regional:
        for site in db.session.scalars(select(Site).where(Site.active).order_by(Site.name)):
            copy = Action(meeting=meeting, case=new.case, description=action.description, due_on=new.due_on,
                          priority=new.priority, sites=[site], network_action=action, created_by_id=by.id)
            copy.history.append(ActionEvent(by_id=by.id, by_name=by.name, to_status=ActionStatus.OPEN,
                                            note=f"Agreed at {meeting.title} for every site: {site.name}'s copy"))
            db.session.add(copy)
    db.session.flush()
    return action


def meeting_actions(meeting: Meeting) -> list[Action]:
    """The actions agreed at the meeting, not the sites' copies of its network actions."""
    return list(db.session.scalars(select(Action).where(Action.meeting_id == meeting.id,
                                                        Action.network_action_id.is_(None))
                                   .options(*ROW_LOADS).order_by(Action.id)))


@dataclass(frozen=True)
class SiteProgress:
    """How far the sites have got with a network action: "6 of 9 sites done"."""

    done: int
    cancelled: int
    sites: int

    @property
    def label(self) -> str:
        needed = self.sites - self.cancelled
        text = f"{self.done} of {needed} {plural(needed, 'site')} done"
        return text + (f" ({self.cancelled} found it did not apply)" if self.cancelled else "")


def _counted_statuses(network: Action) -> list[str]:
    """The statuses of a network action's copies at sites still in the network: a site that has left (its
    site deactivated) neither holds the action open nor counts as done."""
    return [copy.status for copy in network.site_copies if all(site.active for site in copy.sites)]


def progress_of(action: Action) -> SiteProgress | None:
    """A network action's progress across its sites' copies; None for any other action."""
    if not action.per_site:
        return None
    statuses = _counted_statuses(action)
    return SiteProgress(done=statuses.count(ActionStatus.DONE), cancelled=statuses.count(ActionStatus.CANCELLED),
                        sites=len(statuses))


def _follow_copies(network: Action) -> None:
    """Bring a network action's status in line with its sites' copies once one of them moved.

    The network row is locked and read afresh first: two sites closing their copies at the same moment
    must both be counted, not refused as a conflict on the network action.
    """
    db.session.execute(select(Action.id).where(Action.id == network.id).with_for_update())
    db.session.refresh(network)
    statuses = {ActionStatus(status) for status in _counted_statuses(network)}
    if statuses and statuses <= set(CLOSED_STATUSES):
        target = ActionStatus.DONE if ActionStatus.DONE in statuses else ActionStatus.CANCELLED
    elif statuses - {ActionStatus.OPEN}:
        target = ActionStatus.IN_PROGRESS
    else:
        target = ActionStatus.OPEN
    if target == network.status:
        return
    # Recorded as the sites' progress, not as the person whose copy tipped it: the network action is seen
    # by every site, and which site lags is the regional chair's to follow, not the network's to read.
    label = progress_of(network).label
    network.history.append(ActionEvent(by_id=None, by_name="Lightbox, from the sites' copies",
                                       from_status=network.status, to_status=target, note=label))
    network.status = target
    closed = target in CLOSED_STATUSES
    network.closed_at, network.closing_note = (utcnow(), label) if closed else (None, "")


# --- status changes -----------------------------------------------------------------------------

def change_status(action: Action, to: str, note: str, by: User, seen_version: int | None) -> ActionEvent:
    """Move the action on, recording who, when, from, to and why.

    `seen_version` is the version the person's page showed: if the action has changed since, ActionConflict
    and nothing is written.
    """
    action_id = action.id
    if seen_version != action.version:
        raise ActionConflict(action_id)
    if action.per_site:
        raise ActionRuleError("A network action closes itself when every site has closed its own copy", "to")
    try:
        target = ActionStatus(to)
    except ValueError:
        raise ActionRuleError("Choose what to move the action to", "to") from None
    if target not in TRANSITIONS[ActionStatus(action.status)]:
        raise ActionRuleError(f"An action that is {action.status_label.lower()} cannot be moved to "
                              f"{target.label.lower()}", "to")
    if target not in allowed_moves(by, action):
        raise ActionRuleError(f"Only risk staff or the meeting's chair can {MOVE_LABELS[target].lower()} an "
                              "action", "to")
    note = note.strip()
    if target in NOTE_REQUIRED and not note:
        raise ActionRuleError(NOTE_REQUIRED[target])
    note = review.meeting_text(note, action.meeting, action.case) if note else ""
    event = ActionEvent(by_id=by.id, by_name=by.name, from_status=action.status, to_status=target, note=note)
    action.history.append(event)
    action.status = target
    if target in CLOSED_STATUSES:
        action.closed_at, action.closing_note = utcnow(), note
    else:
        action.closed_at, action.closing_note = None, ""
    try:
        db.session.flush()
        if action.network_action is not None:
            _follow_copies(action.network_action)
            db.session.flush()
    except StaleDataError:
        # Another request moved it between our read and our write: its UPDATE ... WHERE version = n won.
        raise ActionConflict(action_id) from None
    return event


# --- the register -------------------------------------------------------------------------------

@dataclass
class Filters:
    """The register's filters, read from a query string; anything not understood is left out."""

    status: str = "open"
    site_id: int | None = None
    owner_id: int | None = None
    meeting_id: int | None = None
    overdue: bool = False
    due_within: int | None = None
    q: str = ""
    sort: str = "due"

    @classmethod
    def from_args(cls, args) -> Filters:
        def number(name: str) -> int | None:
            value = args.get(name, "").strip()
            return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None

        due_within = number("due_within")
        return cls(
            status=args.get("status", "open") if args.get("status") in STATUS_FILTERS else "open",
            site_id=number("site"), owner_id=number("owner"), meeting_id=number("meeting"),
            overdue=args.get("overdue") == "yes",
            due_within=None if due_within is None else min(due_within, 3650),
            q=args.get("q", "").strip()[:200],
            sort=args.get("sort") if args.get("sort") in SORTS else "due",
        )

    def as_args(self) -> dict:
        """The query string that gives these filters back (for CSV links and pagination)."""
        args = {"status": self.status, "site": self.site_id, "owner": self.owner_id, "meeting": self.meeting_id,
                "overdue": "yes" if self.overdue else None, "due_within": self.due_within, "q": self.q or None,
                "sort": self.sort}
        return {k: v for k, v in args.items() if v is not None}

    @property
    def narrowed(self) -> bool:
        return self != Filters()


def _status_clause(status: str):
    if status == "open":
        return Action.status.in_(OPEN_STATUSES)
    if status == "all":
        return true()
    return Action.status == status


def applies_to(site_id: int | None):
    """Actions for this site or for every site; for a network action with per-site copies, the site's copy.
    An uncorrelated IN, not EXISTS: PostgreSQL plans it as one lookup instead of a scan it then thinks worth
    compiling."""
    return or_(and_(Action.all_sites, Action.per_site.is_(False)),
               Action.id.in_(select(ActionSite.action_id).where(ActionSite.site_id == site_id)))


def register_query(user: User, filters: Filters, today: date) -> Select:
    """The actions a person sees, narrowed and sorted as asked; callers load what their rows show
    (ROW_LOADS), so the query count stays fixed however many rows."""
    query = select(Action).join(Action.meeting).where(visible_to(user), _status_clause(filters.status))
    if not (user.has_role(Role.ADMIN) or access.chairs_region(user)):
        # Risk staff work from their site's copy, which shows the network's progress; the network action
        # itself is the regional chairs' to follow.
        query = query.where(Action.per_site.is_(False))
    elif filters.site_id is None:
        # Those who follow network actions see each once, with its progress, not once per site as well;
        # a site's copies show when the register is narrowed to that site.
        query = query.where(Action.network_action_id.is_(None))
    if filters.site_id is not None:
        query = query.where(applies_to(filters.site_id))
    if filters.owner_id is not None:
        query = query.where(Action.owner_id == filters.owner_id)
    if filters.meeting_id is not None:
        query = query.where(Action.meeting_id == filters.meeting_id)
    if filters.overdue:
        query = query.where(Action.status.in_(OPEN_STATUSES), Action.due_on < today)
    if filters.due_within is not None:
        query = query.where(Action.status.in_(OPEN_STATUSES), Action.due_on <= today + timedelta(days=filters.due_within))
    if filters.q:
        pattern = "%" + filters.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        searched = [Action.description, Action.closing_note, Action.owner_name, User.name, Meeting.title]
        query = query.outerjoin(User, Action.owner_id == User.id).where(or_(*(func.lower(column).like(pattern, escape="\\") for column in searched)))
    return query.order_by(*SORTS[filters.sort])


def register_page(user: User, filters: Filters, today: date, page: int = 1):
    """One page of the register. The page's ids are found first and only those 50 rows are then loaded with
    what they show: joining meeting, owner and case to every match before sorting cost a search over
    thousands of matches hundreds of milliseconds."""
    query = register_query(user, filters, today)
    ids = db.paginate(query.with_only_columns(Action.id), page=page, per_page=PAGE_SIZE, error_out=False)
    loaded = {action.id: action for action in db.session.scalars(
        select(Action).where(Action.id.in_(ids.items)).options(*ROW_LOADS))}
    ids.items = [loaded[action_id] for action_id in ids.items if action_id in loaded]
    return ids


def my_actions(user: User, everything: bool = False) -> list[Action]:
    """A person's own actions: open ones soonest due first, then (when asked) those closed, latest first."""
    query = (select(Action).where(owned_by(user)).options(*ROW_LOADS)
             .order_by(Action.status.in_(CLOSED_STATUSES), Action.due_on, Action.id))
    if not everything:
        query = query.where(Action.status.in_(OPEN_STATUSES))
    return list(db.session.scalars(query))


def my_counts(user: User, today: date) -> tuple[int, int]:
    """How many open actions the person owns, and how many of those are overdue."""
    open_count, overdue = db.session.execute(
        select(func.count(), func.count(case((Action.due_on < today, 1))))
        .where(owned_by(user), Action.status.in_(OPEN_STATUSES))).one()
    return open_count, overdue


@dataclass(frozen=True)
class FilterChoices:
    sites: list[Site]
    owners: list[User]
    meetings: list[Meeting]


def filter_choices(user: User, filters: Filters) -> FilterChoices:
    """What the register's filter menus offer: the sites, and the owners and meetings of the open actions one
    sees (the few still to chase, not five years of history; the search finds the rest), plus any chosen."""
    still_open = (select(Action.owner_id, Action.meeting_id).join(Action.meeting)
                  .where(visible_to(user), Action.status.in_(OPEN_STATUSES)).subquery())
    chosen_owner = select(Action.owner_id).join(Action.meeting).where(visible_to(user),
                                                                       Action.owner_id == filters.owner_id)
    owners = select(User).where(or_(User.id.in_(select(still_open.c.owner_id)), User.id.in_(chosen_owner)))
    meetings = (select(Meeting).where(or_(Meeting.id.in_(select(still_open.c.meeting_id)),
                                          Meeting.id == filters.meeting_id), Meeting.visible_to(user))
                .order_by(Meeting.starts_at.desc()).limit(100))
    return FilterChoices(
        sites=list(db.session.scalars(select(Site).where(Site.active).order_by(Site.name))),
        owners=list(db.session.scalars(owners.order_by(User.name))),
        meetings=list(db.session.scalars(meetings)),
    )


def source_label(action: Action) -> str:
    """Where the action came from, as a list shows it: "Case 2: CT chest", without identifying anyone.

    The body region is the chair's approved wording; until a case is approved only its modality shows.
    """
    if action.case is None:
        return "The meeting as a whole"
    number = "" if action.case.queue_position is None else f" {action.case.queue_position + 1}"
    approved = action.case.review.approved if action.case.review is not None else {}
    region = (approved or {}).get("body_region", "")
    return f"Case{number}: {Modality(action.case.modality).label} {region.lower()}".strip()


def csv_rows(query: Select, today: date) -> Iterator[tuple]:
    """The register's rows for a spreadsheet, read from the database in batches as they are sent."""
    for action in db.session.scalars(query.options(*ROW_LOADS).execution_options(yield_per=500)):
        yield (action.reference, action.description, action.status_label, action.priority_label,
               action.owner_display, action.owner_address, action.sites_label, action.due_on.isoformat(),
               "yes" if action.is_overdue(today) else "", action.meeting.title,
               format_datetime(action.meeting.starts_at, "%Y-%m-%d"), source_label(action),
               format_datetime(action.created_at, "%Y-%m-%d"), format_datetime(action.closed_at, "%Y-%m-%d"),
               action.closing_note)


CSV_HEADER = ["Reference", "Action", "Status", "Priority", "Owner", "Owner email", "Sites", "Due", "Overdue",
              "Meeting", "Meeting date", "From", "Agreed", "Closed", "Closing note"]


# --- what reminders and calendars need ------------------------------------------------------------

@dataclass(frozen=True)
class ActionTodo:
    """One open action as a calendar to-do (the calendar issue serves these as VTODO items)."""

    uid: str
    summary: str
    due: date
    status: str  # NEEDS-ACTION or IN-PROCESS, as RFC 5545 names them
    priority: int  # 1 high, 5 medium, 9 low, as RFC 5545 orders them
    sequence: int
    last_modified: object
    action_id: int
    url: str


def todos_for(user: User) -> list[ActionTodo]:
    """A person's open actions as to-dos, soonest due first. Only the columns a to-do needs: a feed may carry
    hundreds, and the register's eager loads (meeting, sites, owner, case) would be most of its time."""
    query = (select(Action).where(owned_by(user), Action.status.in_(OPEN_STATUSES))
             .options(load_only(Action.id, Action.description, Action.due_on, Action.status, Action.priority,
                                Action.version, Action.updated_at), lazyload("*"))
             .order_by(Action.due_on, Action.id))
    return [ActionTodo(
        uid=f"action-{action.id}@lightbox", summary=f"{action.reference}: {action.description}", due=action.due_on,
        status="IN-PROCESS" if action.status == ActionStatus.IN_PROGRESS else "NEEDS-ACTION",
        priority={"high": 1, "medium": 5}.get(action.priority, 9), sequence=action.version - 1,
        last_modified=action.updated_at, action_id=action.id, url=external_url("actions.detail", action_id=action.id),
    ) for action in db.session.scalars(query)]
