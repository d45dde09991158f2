"""The period a scorecard covers: whole local days, from one date to another, both included."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from meetings.schedule.service import at_local
from meetings.web import format_date

# The earliest year a period may start in: older dates are typing mistakes, not governance history.
FIRST_YEAR = 2000
# The Royal College of Radiologists' expectations of a department's REAL meetings.
MEETINGS_PER_YEAR = 6
CASES_PER_REPORTER_PER_YEAR = 1
ATTENDANCE_TARGET = 0.5


class PeriodError(ValueError):
    """A period that cannot be used, with the message to show beside its fields."""


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31))

    @classmethod
    def twelve_months_to(cls, today: date) -> Period:
        return cls(today - timedelta(days=364), today)

    @classmethod
    def from_args(cls, args, today: date) -> Period:
        """A calendar year (`year=2026`), dates (`from=2026-01-01&to=2026-03-31`), or the last twelve months.

        Raises PeriodError for dates that are not dates, an end before the start, or a year out of range.
        """
        year = args.get("year", "").strip()
        if year:
            if not (len(year) == 4 and year.isascii() and year.isdigit() and FIRST_YEAR <= int(year) <= today.year + 1):
                raise PeriodError(f"Choose a year from {FIRST_YEAR} to {today.year + 1}")
            return cls.year(int(year))
        start, end = args.get("from", "").strip(), args.get("to", "").strip()
        if not start and not end:
            return cls.twelve_months_to(today)
        try:
            first = date.fromisoformat(start) if start else date(today.year, 1, 1)
            last = date.fromisoformat(end) if end else today
        except ValueError:
            raise PeriodError("Enter the dates as real dates, like 2026-01-31") from None
        if first.year < FIRST_YEAR or last.year > today.year + 1:
            raise PeriodError(f"Choose dates from {FIRST_YEAR} to {today.year + 1}")
        if last < first:
            raise PeriodError("The end date must be the same as or after the start date")
        return cls(first, last)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def years(self) -> float:
        """The period's length in years, for targets set per year."""
        return self.days / 365.25

    @property
    def is_calendar_year(self) -> bool:
        return self.start == date(self.start.year, 1, 1) and self.end == date(self.start.year, 12, 31)

    @property
    def label(self) -> str:
        if self.is_calendar_year:
            return str(self.start.year)
        return f"{format_date(self.start)} to {format_date(self.end)}"

    @property
    def slug(self) -> str:
        return str(self.start.year) if self.is_calendar_year else f"{self.start.isoformat()}-to-{self.end.isoformat()}"

    def as_args(self) -> dict[str, str]:
        return {"year": str(self.start.year)} if self.is_calendar_year else \
            {"from": self.start.isoformat(), "to": self.end.isoformat()}

    @property
    def starts_at(self) -> datetime:
        """The first instant of the first day, local time."""
        return at_local(self.start, time())

    @property
    def ends_before(self) -> datetime:
        """The first instant after the last day."""
        return at_local(self.end + timedelta(days=1), time())

    def expected(self, per_year: float) -> int:
        """A yearly target for this period, to the nearest whole number and never less than one."""
        return max(1, round(per_year * self.years))
