"""The action forms: capture in the meeting, and moving an action on."""
from __future__ import annotations

import re
from datetime import date

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional

from meetings.fields import CheckboxesField
from meetings.models import ActionPriority, Case, Site, User

ALL_SITES = "all"
MIN_WORDS = 4
# Words that promise talk rather than a change: "discuss at next meeting" is how learning leaks away.
VAGUE_OPENINGS = re.compile(
    r"^\s*(to\s+)?(discuss|consider|look\s+into|think\s+about|follow[\s-]*up|tbc|to\s+be\s+confirmed|n/?a|"
    r"raise\s+awareness|be\s+aware|note|noted|monitor|keep\s+an\s+eye)\b", re.I)


class ActionForm(FlaskForm):
    description = TextAreaField(
        "What will be done",
        description="A change someone will make, such as \"Add a lung-window check to the CTPA reporting "
                    "template\". Don't name patients or reporters: the owner says who.",
        validators=[DataRequired("Say what will be done"), Length(max=2000)],
    )
    case_id = SelectField("For", coerce=str, validators=[Optional()])
    owner = SelectField("Owner", description="Who will make sure it is done", coerce=str)
    owner_name = StringField("Owner's full name", validators=[Optional(), Length(max=200)])
    owner_email = EmailField("Owner's email address", description="Reminders are sent here",
                             validators=[Optional(), Email("Enter an email address like name@hospital.nhs.uk",
                                                           check_deliverability=False), Length(max=254)])
    sites = CheckboxesField("Sites it applies to")
    due_on = DateField("Due date", validators=[InputRequired("Enter the date it is due, like 2027-01-31")])
    priority = RadioField("Priority", choices=[SelectChoice(p.value, p.label) for p in ActionPriority],
                          default=ActionPriority.MEDIUM.value, validators=[InputRequired("Choose a priority")])

    def __init__(self, *args, cases: list[Case], people: list[User], network: list[Site], today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.case_id.choices = [SelectChoice("", "The meeting as a whole")] + [
            SelectChoice(str(c.id), f"Case {c.queue_position + 1}: {c.short_title}") for c in cases
            if c.queue_position is not None]
        self.owner.choices = [SelectChoice("", "Choose the owner")] + [
            SelectChoice(str(p.id), f"{p.name}" + (f" ({p.home_site.name})" if p.home_site else "")) for p in people]
        self.sites.choices = [SelectChoice(ALL_SITES, "All sites in the network")] + [
            SelectChoice(str(s.id), s.name) for s in network]

    def validate(self, extra_validators=None) -> bool:
        # Checks across fields are made here: Optional() on a field would stop a validate_<field> method.
        valid = super().validate(extra_validators)
        text = (self.description.data or "").strip()
        if text and not self.description.errors:
            if VAGUE_OPENINGS.match(text):
                self.description.errors.append(
                    "Say what will change, not what will be talked about: for example \"Add a side-check step to "
                    "the ultrasound checklist\"")
            elif len(text.split()) < MIN_WORDS:
                self.description.errors.append(
                    f"Describe the action in at least {MIN_WORDS} words, so the owner knows what to do")
        named, addressed = (self.owner_name.data or "").strip(), (self.owner_email.data or "").strip()
        if not self.owner.data and not (named or addressed):
            self.owner.errors.append("Choose who owns the action, or give the name and email of someone "
                                     "without an account")
        elif not self.owner.data:
            if not named:
                self.owner_name.errors.append("Enter the owner's full name")
            if not addressed and not self.owner_email.errors:
                self.owner_email.errors.append("Enter the owner's email address, for reminders")
        if self.due_on.data is not None and self.due_on.data < self.today:
            self.due_on.errors.append("The due date must be today or later")
        if not self.sites.data:
            self.sites.errors.append("Choose the sites it applies to, or all sites in the network")
        return valid and not any(f.errors for f in self)

