"""The register's forms: a member's one tap, a guest's details, the chair's paper-sheet entry, the
evaluation and the reflective note."""
from __future__ import annotations

import importlib

from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional, ValidationError

from meetings.fields import WholeNumberField
from meetings.models import AttendanceStatus, Profession, ProfessionalBody, User
from meetings.professions import registration_error

# WTForms imports email_validator on first use (about 40 ms): load it with the app, not while the room signs.
importlib.import_module("email_validator")

PROFESSIONS = [SelectChoice(p.value, p.label) for p in Profession]
BODIES = [SelectChoice(ProfessionalBody.GMC.value, "GMC (doctors)"),
          SelectChoice(ProfessionalBody.HCPC.value, "HCPC (radiographers and other allied health professionals)"),
          SelectChoice(ProfessionalBody.NONE.value, "None")]
EMAIL = Email("Enter an email address like name@hospital.nhs.uk", check_deliverability=False)


class PresenceForm(FlaskForm):
    """A member's one tap; the guest form adds their details. The code field is removed when not asked."""

    presence_code = StringField(
        "Presence code", description="The 4 digits shown on the screen in the room",
        validators=[DataRequired("Enter the presence code shown on the screen"), Length(max=12)],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )

    def __init__(self, *args, presence_required: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not presence_required:
            del self.presence_code


class _Registration:
    """Profession, professional body and registration number, validated together."""

    profession = RadioField("Profession", choices=PROFESSIONS,
                            validators=[InputRequired("Choose your profession")])
    professional_body = RadioField("Professional body", choices=BODIES,
                                   validators=[InputRequired("Choose your professional body, or None")])
    # No Optional(): it would stop the check below, which asks for a number when a body is chosen.
    registration_number = StringField(
        "Registration number", description="GMC: 7 digits. HCPC: RA then digits, like RA12345.",
        validators=[Length(max=16)],
    )

    def validate_registration_number(self, field):
        if self.professional_body.data in {b.value for b in ProfessionalBody}:
            message = registration_error(self.professional_body.data, field.data)
            if message:
                raise ValidationError(message)


class GuestForm(_Registration, PresenceForm):
    name = StringField("Full name", description="As it should appear on your CPD certificate",
                       validators=[DataRequired("Enter your full name"), Length(max=200)])
    email = EmailField("Email address", description="Your certificate is sent here",
                       validators=[DataRequired("Enter your email address"), EMAIL, Length(max=254)])
    site = StringField("Where you work", description="Your hospital, trust or reporting company",
                       validators=[DataRequired("Enter where you work"), Length(max=200)])

    field_order = ("name", "email", "profession", "professional_body", "registration_number", "site", "presence_code")

    def __iter__(self):
        return (self[name] for name in self.field_order if name in self._fields)


class ByHandForm(_Registration, FlaskForm):
    """The chair's entry from the paper sheet, or an apology: a member, or someone named."""

    status = RadioField("Record", choices=[SelectChoice(AttendanceStatus.PRESENT.value, "Attended"),
                                           SelectChoice(AttendanceStatus.APOLOGIES.value, "Sent apologies")],
                        default=AttendanceStatus.PRESENT.value, validators=[InputRequired("Choose what to record")])
    member_id = SelectField("A Lightbox member", coerce=int, validators=[Optional()])
    name = StringField("Or their full name", validators=[Optional(), Length(max=200)])
    email = EmailField("Email address", description="Optional: their certificate is emailed here",
                       validators=[Optional(), EMAIL, Length(max=254)])
    site = StringField("Where they work", validators=[Optional(), Length(max=200)])

    def __init__(self, *args, members: list[User], **kwargs):
        super().__init__(*args, **kwargs)
        self.member_id.choices = [SelectChoice(0, "Not a member: use the name below")] + [
            SelectChoice(user.id, f"{user.name} ({user.email})") for user in members]
        # A member's profession and registration come from their account.
        for field in (self.profession, self.professional_body):
            field.validators = [Optional()]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # Not a validate_name method: the field's Optional() would stop it running for an empty name.
        if not self.member_id.data and not (self.name.data or "").strip():
            self.name.errors = [*self.name.errors, "Choose a member, or enter the person's full name"]
            return False
        return valid

    def validate_registration_number(self, field):
        if not self.member_id.data:
            super().validate_registration_number(field)


class TimesForm(FlaskForm):
    arrived = StringField("Arrived at", description="Empty: from the start", validators=[Optional(), Length(max=5)])
    left = StringField("Left at", description="Empty: to the end", validators=[Optional(), Length(max=5)])


USEFULNESS = {5: "Very useful", 4: "Useful", 3: "Somewhat useful", 2: "Not very useful", 1: "Not useful"}


class EvaluationForm(FlaskForm):
    usefulness = RadioField(
        "How useful was this meeting to your practice?",
        choices=[SelectChoice(str(score), label) for score, label in USEFULNESS.items()],
        validators=[InputRequired("Choose how useful the meeting was")],
    )
    change_practice = RadioField(
        "Will you change anything in your practice because of it?",
        choices=[SelectChoice("yes", "Yes"), SelectChoice("unsure", "Not sure yet"), SelectChoice("no", "No")],
        validators=[InputRequired("Choose whether you will change your practice")],
    )
    best = TextAreaField("What was most useful?", validators=[Optional(), Length(max=2000)])
    improve = TextAreaField("What could be better next time?", validators=[Optional(), Length(max=2000)])


class ReflectionForm(FlaskForm):
    reflection = TextAreaField(
        "Your reflection", description="Private to you. What did you learn, and what will you do differently?",
        validators=[Optional(), Length(max=10000)],
    )
    minutes = WholeNumberField(
        "Time spent reflecting, in minutes", invalid="Enter the minutes as a whole number, like 20", description="Reflection earns CPD credits too, at the same rate",
        validators=[InputRequired("Enter the minutes spent, or 0"),
                    NumberRange(min=0, max=600, message="Enter between 0 and 600 minutes")],
    )
