"""A scorecard's charts, each with its table and a sentence that says what it shows, for the governance
page and the annual report alike."""
from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from meetings.governance import charts
from meetings.governance.period import ATTENDANCE_TARGET
from meetings.governance.scorecard import Count, Scorecard
from meetings.web import format_datetime, plural


@dataclass(frozen=True)
class Figure:
    id: str
    title: str
    summary: str
    svg: Markup
    header: tuple[str, ...]
    rows: tuple[tuple, ...]


def percent(rate: float | None) -> str:
    return "none counted" if rate is None else f"{round(rate * 100)}%"


def _counts(figure_id: str, title: str, counts: tuple[Count, ...], category: str, what: str) -> Figure:
    total = sum(count.count for count in counts)
    if counts:
        top = max(counts, key=lambda count: count.count)
        summary = f"{total} {plural(total, 'case')} {what}; the most common: {top.label} ({top.count})."
    else:
        summary = f"No cases {what}."
    bars = [charts.Bar(count.label, count.count) for count in counts]
    return Figure(figure_id, title, summary, charts.bar_chart(figure_id, title, bars, summary=summary),
                  (category, "Cases"), tuple((count.label, count.count) for count in counts))


def attendance(card: Scorecard) -> Figure:
    met, counted = card.meetings_meeting_attendance, card.meetings_with_a_rate
    uncounted = card.meetings_held - counted
    summary = (f"Reporting staff attendance reached {percent(ATTENDANCE_TARGET)} at {met} of {counted} "
               f"{plural(counted, 'meeting')}; the mean was {percent(card.mean_attendance_rate)}."
               + (f" {uncounted} regional or with no reporting staff to count {plural(uncounted, 'is', 'are')} "
                  "not in the rate." if uncounted else "")
               if card.meetings else "No meetings were held in this period.")
    bars = [charts.Bar(format_datetime(meeting.starts_at, "%-d %b %Y"), round((meeting.rate or 0) * 100),
                       percent(meeting.rate)) for meeting in card.meetings]
    title = "Reporting staff at each meeting"
    return Figure("attendance", title, summary, charts.column_chart(
        "attendance", title, bars, summary=summary, maximum=100, target=ATTENDANCE_TARGET * 100,
        target_label=f"Target {percent(ATTENDANCE_TARGET)}"),
        ("Meeting", "Date", "Present", "Reporting staff present", "Attendance"),
        tuple((meeting.title, format_datetime(meeting.starts_at, "%-d %b %Y"), meeting.present,
               f"{meeting.reporters_present} of {meeting.reporters}", percent(meeting.rate))
              for meeting in card.meetings))


def meetings_by_site(card: Scorecard) -> Figure:
    behind = [row.name for row in card.sites if row.meetings_held < row.meetings_expected]
    summary = (f"{len(card.sites) - len(behind)} of {len(card.sites)} {plural(len(card.sites), 'site')} held the "
               f"{card.meetings_expected} {plural(card.meetings_expected, 'meeting')} expected"
               + (f"; fewer were held at {', '.join(behind)}." if behind else "."))
    title = "Meetings held at each site"
    bars = [charts.Bar(row.name, row.meetings_held) for row in card.sites]
    return Figure("meetings-by-site", title, summary, charts.bar_chart(
        "meetings-by-site", title, bars, summary=summary, target=card.meetings_expected,
        target_label=f"Expected {card.meetings_expected}"),
        ("Site", "Meetings held", "Expected", "Mean attendance", "Reporting staff at half or more", "Actions overdue"),
        tuple((row.name, row.meetings_held, row.meetings_expected, percent(row.mean_attendance_rate),
               f"{row.reporters_meeting_attendance} of {row.reporters}", row.actions_overdue) for row in card.sites))


def actions(card: Scorecard) -> Figure:
    figures = card.actions
    median = "" if figures.median_days_to_close is None else \
        f"; those closed took a median of {figures.median_days_to_close:g} days"
    summary = (f"{figures.opened} {plural(figures.opened, 'action')} opened and {figures.closed} closed{median}; "
               f"{figures.overdue} {'was' if figures.overdue == 1 else 'were'} overdue on "
               f"{figures.as_of:%-d %b %Y}.")
    rows = (("Opened", figures.opened), ("Closed", figures.closed), (f"Overdue on {figures.as_of:%-d %b %Y}", figures.overdue))
    title = "Actions"
    return Figure("actions", title, summary,
                  charts.bar_chart("actions", title, [charts.Bar(label, value) for label, value in rows], summary=summary),
                  ("Measure", "Actions"), rows + (("Median days to close",
                                            "none closed" if figures.median_days_to_close is None
                                            else f"{figures.median_days_to_close:g}"),))


def all_figures(card: Scorecard) -> tuple[Figure, ...]:
    first = (meetings_by_site(card),) if card.is_network else ()
    return first + (
        attendance(card),
        _counts("by-kind", "Cases discussed by kind", card.by_kind, "Kind", "discussed"),
        _counts("by-modality", "Cases discussed by modality", card.by_modality, "Modality", "discussed"),
        _counts("by-discrepancy-type", "Discrepancies and near misses by type", card.by_discrepancy_type,
                "Discrepancy type", "classified"),
        actions(card),
    )
