"""Forms for scheduling a meeting, a series of meetings, and cancelling one."""
from __future__ import annotations

from datetime import time, timedelta

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, SelectChoice, SelectField, StringField, TimeField, URLField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, URL, ValidationError

from meetings.models import Frequency, MeetingScope, Site
from meetings.models.series import ORDINALS, WEEKDAYS
from meetings.web import today_local

REMINDERS = [SelectChoice("", "No reminder"), SelectChoice("15", "15 minutes before"),
             SelectChoice("30", "30 minutes before"), SelectChoice("60", "1 hour before"),
             SelectChoice("1440", "1 day before")]
REPEATS = {
    "monthly-1": (Frequency.MONTHLY, 1, "Every month"),
    "monthly-2": (Frequency.MONTHLY, 2, "Every second month"),
    "monthly-3": (Frequency.MONTHLY, 3, "Every third month"),
    "weekly-1": (Frequency.WEEKLY, 1, "Every week"),
    "weekly-2": (Frequency.WEEKLY, 2, "Every two weeks"),
}


def _reminder(value):
    return int(value) if value not in (None, "", "None") else None


class _MeetingFields(FlaskForm):
    """What a meeting and a series share: title, where, when of day, and what calendars show."""

    title = StringField("Title", validators=[DataRequired("Enter a title, like “REAL meeting”"), Length(max=200)])
    scope = RadioField("Meeting for", choices=[SelectChoice(MeetingScope.LOCAL.value, "One site"),
                                               SelectChoice(MeetingScope.REGIONAL.value, "The regional network")],
                       default=MeetingScope.LOCAL.value)
    site_id = SelectField("Site", coerce=int, validate_choice=False)
    start_time = TimeField("Starts at", validators=[InputRequired("Enter the start time, like 12:30")],
                           default=time(12, 30))
    end_time = TimeField("Ends at", validators=[InputRequired("Enter the end time, like 14:00")],
                         default=time(14, 0))
    location = StringField("Room", description="Where people meet in person, if they do",
                           validators=[Optional(), Length(max=200)])
    online_url = URLField("Online meeting link", description="The Teams or Zoom link, if people can join online",
                          validators=[Optional(), Length(max=500),
                                      URL(message="Enter the full link, starting https://")])
    reminder_minutes = SelectField("Calendar reminder", choices=REMINDERS, coerce=_reminder, default="30")
    listed = BooleanField("Show in the site’s public calendar", default=True,
                          description="Title, time and place only: never the online link or the agenda.")
    send_invitations = BooleanField("Email calendar invitations now", default=True,
                                    description="To every member of the site (of every site for a regional "
                                                "meeting) and the site’s meetings list.")

    def __init__(self, *args, sites: list[Site], regional: bool = True, **kwargs):
        """`sites`: those the person schedules local meetings for; `regional`: whether they may schedule the
        network's (regional chairs and admins). Only what they may choose is offered."""
        super().__init__(*args, **kwargs)
        self.site_id.choices = [SelectChoice(site.id, site.name) for site in sites]
        self._site_ids = {site.id for site in sites}
        self.scope.choices = [choice for choice in self.scope.choices
                              if (choice.value == MeetingScope.REGIONAL.value and regional)
                              or (choice.value == MeetingScope.LOCAL.value and sites)]
        if len(self.scope.choices) == 1 and not self.is_submitted():
            self.scope.data = self.scope.choices[0].value

    def validate_site_id(self, field):
        if self.scope.data == MeetingScope.LOCAL and field.data not in self._site_ids:
            raise ValidationError("Choose a site you schedule meetings for")

    def validate_end_time(self, field):
        if self.start_time.data and field.data and field.data <= self.start_time.data:
            raise ValidationError("The end time must be after the start time")


class MeetingForm(_MeetingFields):
    day = DateField("Date", validators=[InputRequired("Enter the date of the meeting")])

    def __init__(self, *args, scheduled_on=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._scheduled_on = scheduled_on  # when editing: the meeting's date as it stands

    def validate_day(self, field):
        # A meeting can keep the date it has, but not move into the past.
        if field.data and field.data < today_local() and field.data != self._scheduled_on:
            raise ValidationError("The date must be today or later")


class SeriesForm(_MeetingFields):
    repeats = SelectField("Repeats", choices=[SelectChoice(key, label) for key, (_, _, label) in REPEATS.items()],
                          default="monthly-2")
    ordinal = SelectField("On the", coerce=int, description="For monthly series",
                          choices=[SelectChoice(number, word) for number, word in ORDINALS.items()], default=1)
    weekday = SelectField("Day", coerce=int, default=1,
                          choices=[SelectChoice(number, day) for number, day in enumerate(WEEKDAYS)])
    starts_on = DateField("First possible date", validators=[InputRequired("Enter the date the series starts from")],
                          description="Meetings are made for the year from this date")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.send_invitations.description = ("One invitation email per meeting to every member of the site (of "
                                             "every site for a regional meeting) and the site’s meetings list. "
                                             "Members who subscribe to their calendar see the meetings anyway.")

    def validate_starts_on(self, field):
        if field.data and field.data < today_local():
            raise ValidationError("The series must start today or later")

    @property
    def until(self):
        return self.starts_on.data + timedelta(days=364)


class ConfirmForm(FlaskForm):
    """A button that needs only the CSRF token: cancel, invite, retry."""
