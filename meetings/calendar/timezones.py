"""VTIMEZONE components written as yearly rules, the form every calendar client reads.

`icalendar` can describe a zone as a list of past transitions (RDATE), but Outlook reads only the first
STANDARD and DAYLIGHT parts of a VTIMEZONE and expects each to carry a yearly RRULE, as Outlook, Google and
Apple themselves write them. The zone's current rule is the POSIX TZ string at the end of its tzdata file
("GMT0BST,M3.5.0/1,M10.5.0" for Europe/London); it is turned into that form here. A zone whose rule cannot be
written that way falls back to icalendar's transition list, which Google and Thunderbird still read.
"""
from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import cache
from importlib import resources
from pathlib import Path

from dateutil.rrule import YEARLY, rrule, weekday
from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

# std offset [dst [offset] [,start[/time],end[/time]]], names plain or <quoted>; offsets are west-positive.
_NAME = r"(?:<[^>]+>|[A-Za-z]{3,})"
_OFFSET = r"[+-]?\d{1,2}(?::\d{2}){0,2}"
_POSIX = re.compile(rf"^(?P<std>{_NAME})(?P<std_offset>{_OFFSET})"
                    rf"(?:(?P<dst>{_NAME})(?P<dst_offset>{_OFFSET})?,(?P<start>[^,]+),(?P<end>[^,]+))?$")
_MONTH_RULE = re.compile(r"^M(?P<month>\d{1,2})\.(?P<week>[1-5])\.(?P<day>[0-6])(?:/(?P<time>[+-]?\d{1,3}(?::\d{2}){0,2}))?$")
_ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# The epoch the rules are anchored to, as Outlook writes them.
_FIRST_YEAR = 1970


@dataclass(frozen=True)
class _Change:
    """One yearly change of offset: in `month`, on the `week`th (-1 last) `day` (0 Monday), at `at` local."""

    month: int
    week: int
    day: int
    at: timedelta


def _seconds(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    parts = [int(part) for part in text.lstrip("+-").split(":")] + [0, 0]
    return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2])


def _change(text: str) -> _Change | None:
    match = _MONTH_RULE.match(text)
    if match is None:
        return None  # the rarely used Julian-day forms
    at = timedelta(seconds=_seconds(match["time"])) if match["time"] else timedelta(hours=2)
    if not timedelta(0) <= at < timedelta(days=1):
        return None  # a change "at 25:00" falls on another day than its rule names
    week = int(match["week"])
    # POSIX counts Sunday as 0; dateutil counts Monday as 0.
    return _Change(int(match["month"]), -1 if week == 5 else week, (int(match["day"]) - 1) % 7, at)


def _posix_rule(key: str) -> str | None:
    """The footer of the zone's TZif file: its rule after the last change the file lists."""
    data = None
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / key
        if path.is_file():
            data = path.read_bytes()
            break
    else:
        try:
            data = resources.files("tzdata.zoneinfo").joinpath(*key.split("/")).read_bytes()
        except (ModuleNotFoundError, FileNotFoundError):
            return None
    return data.rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("ascii", "replace")


def _offset(seconds: int) -> timedelta:
    return timedelta(seconds=seconds)


def _name(text: str) -> str:
    return text.strip("<>")


def _part(kind, name: str, offset_from: timedelta, offset_to: timedelta, change: _Change | None):
    part = kind()
    part.add("tzname", name)
    part.add("tzoffsetfrom", offset_from)
    part.add("tzoffsetto", offset_to)
    if change is None:
        part.add("dtstart", datetime(_FIRST_YEAR, 1, 1))
        return part
    day = weekday(change.day, change.week)
    first = rrule(YEARLY, dtstart=date(_FIRST_YEAR, 1, 1), bymonth=change.month, byweekday=day, count=1)[0]
    part.add("dtstart", first + change.at)
    part.add("rrule", {"freq": "yearly", "bymonth": change.month, "byday": f"{change.week}{_ICAL_DAYS[change.day]}"})
    return part


@dataclass(frozen=True)
class _Rule:
    """A zone's current rule: names and offsets (seconds east of UTC), and its two yearly changes if any."""

    std_name: str
    std_offset: int
    dst_name: str | None = None
    dst_offset: int | None = None
    start: _Change | None = None
    end: _Change | None = None


@cache
def _yearly(key: str) -> _Rule | None:
    match = _POSIX.match(_posix_rule(key) or "")
    if match is None:
        return None
    std_offset = -_seconds(match["std_offset"])
    if match["dst"] is None:
        return _Rule(_name(match["std"]), std_offset)
    dst_offset = -_seconds(match["dst_offset"]) if match["dst_offset"] else std_offset + 3600
    start, end = _change(match["start"]), _change(match["end"])
    if start is None or end is None:
        return None
    return _Rule(_name(match["std"]), std_offset, _name(match["dst"]), dst_offset, start, end)


@cache
def _written(key: str) -> tuple[Timezone, tzinfo] | None:
    """The zone's yearly-rule VTIMEZONE, and that component read back as a tzinfo to check it against."""
    rule = _yearly(key)
    if rule is None:
        return None
    timezone = Timezone()
    timezone.add("tzid", key)
    std = _offset(rule.std_offset)
    if rule.dst_name is None:
        timezone.add_component(_part(TimezoneStandard, rule.std_name, std, std, None))
    else:
        dst = _offset(rule.dst_offset)
        # Calendars call the summer offset DAYLIGHT; Irish law (and tzdata) calls winter the exception.
        summer, winter = ((TimezoneDaylight, TimezoneStandard) if rule.dst_offset >= rule.std_offset
                          else (TimezoneStandard, TimezoneDaylight))
        timezone.add_component(_part(summer, rule.dst_name, std, dst, rule.start))
        timezone.add_component(_part(winter, rule.std_name, dst, std, rule.end))
    return timezone, timezone.to_tz(lookup_tzid=False)


def vtimezone(zone: zoneinfo.ZoneInfo, instants: list[datetime]) -> Timezone:
    """The zone as a VTIMEZONE good for these instants: yearly rules when they give the zone's own offset at
    every one of them, else the zone's transitions around them.

    The yearly rule holds only after the last change tzdata lists, and some zones list changes years ahead
    (Morocco's Ramadan hours), so the rule is checked rather than trusted.
    """
    written = _written(zone.key)
    if written is not None and all(moment.astimezone(written[1]).utcoffset() == moment.astimezone(zone).utcoffset()
                                   for moment in instants):
        return written[0]
    return _listed(zone, min(instants) - timedelta(days=366), max(instants) + timedelta(days=2))


def _listed(zone: zoneinfo.ZoneInfo, start: datetime, end: datetime) -> Timezone:
    """The zone as each offset in force from `start` to `end`, one part per change, found by asking the
    zone itself (icalendar's own list misses changes tzdata announces years ahead)."""
    timezone = Timezone()
    timezone.add("tzid", zone.key)
    moment = start.astimezone(zone)
    timezone.add_component(_fixed(zone, moment.replace(tzinfo=None), moment.utcoffset(), moment))
    step = timedelta(hours=6)  # no zone changes its offset twice within six hours
    while moment < end:
        later = (moment + step).astimezone(zone)
        if later.utcoffset() != moment.utcoffset():
            before, after = moment, later
            while after - before > timedelta(minutes=1):
                middle = (before + (after - before) / 2).astimezone(zone)
                before, after = (middle, after) if middle.utcoffset() == before.utcoffset() else (before, middle)
            change = after.replace(second=0, microsecond=0).astimezone(zone)
            # A part starts at the change's wall-clock time in the offset it changes from.
            wall = change.astimezone(UTC).replace(tzinfo=None) + before.utcoffset()
            timezone.add_component(_fixed(zone, wall, before.utcoffset(), change))
        moment = later
    return timezone


def _fixed(zone: zoneinfo.ZoneInfo, wall: datetime, offset_from: timedelta, moment: datetime):
    """One part of a listed zone: the offset in force from `moment` (which starts at local `wall`)."""
    part = (TimezoneDaylight if moment.dst() else TimezoneStandard)()
    part.add("tzname", moment.tzname() or zone.key)
    part.add("tzoffsetfrom", offset_from)
    part.add("tzoffsetto", moment.utcoffset())
    part.add("dtstart", wall)
    return part
