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
from datetime import date, datetime, timedelta
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
    """The footer of the zone's TZif file: its rule for now and the future."""
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / key
        if path.is_file():
            return path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("ascii", "replace")
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


def vtimezone(zone: zoneinfo.ZoneInfo, first: date, last: date) -> Timezone:
    """The zone as a VTIMEZONE: yearly rules where the zone has them, else its transitions first..last."""
    rule = _yearly(zone.key)
    if rule is None:
        return Timezone.from_tzinfo(zone, tzid=zone.key, first_date=first, last_date=last)
    timezone = Timezone()
    timezone.add("tzid", zone.key)
    std = _offset(rule.std_offset)
    if rule.dst_name is None:
        timezone.add_component(_part(TimezoneStandard, rule.std_name, std, std, None))
        return timezone
    dst = _offset(rule.dst_offset)
    timezone.add_component(_part(TimezoneDaylight, rule.dst_name, std, dst, rule.start))
    timezone.add_component(_part(TimezoneStandard, rule.std_name, dst, std, rule.end))
    return timezone
