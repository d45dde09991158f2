"""RFC 5545 calendar objects for meetings and actions, built with `icalendar` from typed views.

Nothing here reads the database: `events.py` decides what a calendar may show of a meeting (an
`EventView`), and these builders only write it down. Times are written in local time with a VTIMEZONE
(Europe/London unless configured), so a 12:30 meeting stays at 12:30 on both sides of a clock change in every
client, where UTC times would be shown an hour out by clients that mishandle the offset.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, Todo, vCalAddress, vDuration

from meetings.calendar.timezones import vtimezone

if TYPE_CHECKING:
    from meetings.actions.service import ActionTodo

PRODID = "-//Lightbox//REAL meetings//EN"
# How often subscribed clients should fetch a feed again. Outlook reads X-PUBLISHED-TTL, the rest
# REFRESH-INTERVAL (RFC 7986).
REFRESH = timedelta(hours=1)


@dataclass(frozen=True)
class Person:
    """An organizer or attendee: an address and a display name. A group is a mailing list."""

    address: str
    name: str = ""
    group: bool = False


@dataclass(frozen=True)
class EventView:
    """What one calendar shows of one meeting. `cancelled` writes STATUS:CANCELLED."""

    uid: str
    sequence: int
    summary: str
    starts_at: datetime  # aware
    ends_at: datetime
    description: str
    location: str = ""
    url: str = ""
    organizer: Person | None = None
    attendees: tuple[Person, ...] = ()
    cancelled: bool = False
    reminder_minutes: int | None = None
    created: datetime | None = None


@dataclass
class CalendarView:
    """A whole calendar: an invite (REQUEST or CANCEL, one event) or a feed (PUBLISH)."""

    method: str
    events: list[EventView] = field(default_factory=list)
    todos: list[ActionTodo] = field(default_factory=list)
    name: str | None = None  # X-WR-CALNAME, for feeds
    refresh: bool = False  # feeds tell clients how often to come back


def _address(person: Person, **params) -> vCalAddress:
    return vCalAddress.new(person.address, cn=person.name or None, **params)


def _attendee(person: Person) -> vCalAddress:
    """One invited person or list: asked to reply, except a list, whose members reply for themselves."""
    return _address(person, cutype="GROUP" if person.group else "INDIVIDUAL", role="REQ-PARTICIPANT",
                    partstat="NEEDS-ACTION", rsvp=not person.group)


def event(view: EventView, zone: ZoneInfo, stamp: datetime) -> Event:
    item = Event.new(
        uid=view.uid, sequence=view.sequence, stamp=stamp, summary=view.summary,
        start=view.starts_at.astimezone(zone), end=view.ends_at.astimezone(zone),
        description=view.description, location=view.location or None, url=view.url or None,
        status="CANCELLED" if view.cancelled else "CONFIRMED", transparency="OPAQUE",
        organizer=_address(view.organizer) if view.organizer else None,
        attendees=[_attendee(person) for person in view.attendees] or None,
        created=view.created,
    )
    if view.reminder_minutes and not view.cancelled:
        alarm = Alarm.new(description=view.summary)
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", timedelta(minutes=-view.reminder_minutes))
        item.add_component(alarm)
    return item


def todo(view: ActionTodo, stamp: datetime) -> Todo:
    item = Todo.new(uid=view.uid, sequence=view.sequence, stamp=stamp, summary=view.summary, status=view.status,
                    priority=view.priority, last_modified=view.last_modified, url=view.url or None)
    item.add("due", view.due)
    return item


def calendar(view: CalendarView, zone: ZoneInfo, stamp: datetime) -> Calendar:
    whole = Calendar()
    whole.add("prodid", PRODID)
    whole.add("version", "2.0")
    whole.add("calscale", "GREGORIAN")
    whole.add("method", view.method)
    if view.name:
        whole.add("x-wr-calname", view.name)
        whole.add("x-wr-timezone", zone.key)
    if view.refresh:
        whole.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
        whole.add("x-published-ttl", vDuration(REFRESH).to_ical().decode())
    if view.events:
        whole.add_component(vtimezone(zone, [moment for item in view.events
                                             for moment in (item.starts_at, item.ends_at)]))
    for item in view.events:
        whole.add_component(event(item, zone, stamp))
    for item in view.todos:
        whole.add_component(todo(item, stamp))
    return whole


def to_ics(view: CalendarView, zone: ZoneInfo, stamp: datetime) -> bytes:
    return calendar(view, zone, stamp).to_ical()
