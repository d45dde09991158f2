from datetime import date

from flask import current_app
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, DateField, EmailField, FieldList, FileField, FormField, HiddenField, RadioField, SelectChoice,
    SelectField, StringField, TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional, ValidationError

from meetings import nhs_number
from meetings.fields import WholeNumberField
from meetings.models import CameToLight, CaseKind, Modality, PathwayStage, Site, User


class ImageSlot(FlaskForm):
    class Meta:
        csrf = False  # the enclosing form carries the token

    file = FileField("Image file", description="PNG, JPEG or DICOM")
    caption = StringField("Caption", validators=[Length(max=300)])


class CaseForm(FlaskForm):
    kind = RadioField("What kind of case is it?", choices=[SelectChoice(k.value, k.label) for k in CaseKind],
                      validators=[InputRequired("Choose what kind of case it is")])
    came_to_light = SelectField("How did it come to light?",
                                choices=[SelectChoice(c.value, c.label) for c in CameToLight])
    modality = SelectField("Modality", choices=[SelectChoice(m.value, m.label) for m in Modality])
    body_region = StringField("Body region", description="For example: chest, left wrist, lumbar spine",
                              validators=[DataRequired("Enter the body region"), Length(max=100)])
    clinical_question = TextAreaField("Clinical question", validators=[DataRequired("Enter the clinical question")])
    report_text = TextAreaField("Original report", validators=[DataRequired("Enter the original report")])
    outcome_text = TextAreaField("What was found later, or the outcome",
                                 validators=[DataRequired("Say what was found later, or the outcome")])
    suggested_learning = TextAreaField("Suggested learning point", validators=[Optional()])
    images = FieldList(FormField(ImageSlot), min_entries=3, max_entries=3)
    upload_token = HiddenField()

    patient_name = StringField("Patient name", validators=[DataRequired("Enter the patient's name"), Length(max=200)])
    nhs_number = StringField("NHS number", description="10 digits, like 485 777 3456",
                             validators=[DataRequired("Enter the NHS number")])
    hospital_number = StringField("Hospital number", validators=[Optional(), Length(max=32)])
    date_of_birth = DateField("Date of birth", validators=[InputRequired("Enter the date of birth as a real date")])
    accession_number = StringField("Accession number", validators=[Optional(), Length(max=32)])
    examination_date = DateField("Examination date", validators=[InputRequired("Enter the examination date as a real date")])
    site_id = SelectField("Site where it was reported", coerce=int,
                          validators=[DataRequired("Choose the site where it was reported")])
    reporter_id = SelectField("Reporter", coerce=int, description="Choose “Not a Lightbox user” for visiting and insourced reporters")
    # No Optional() on these two: it would stop the check that one of reporter or name and email is given.
    reporter_name = StringField("Reporter's name", validators=[Length(max=200)])
    reporter_email = EmailField("Reporter's email", validators=[Length(max=254)])
    referrer_name = StringField("Referrer", validators=[Optional(), Length(max=200)])
    # A great pickup nominated to the next meeting can thank its reporter in the same step.
    thank_reporter = BooleanField("Send the reporter a pat on the back now")
    thanks = TextAreaField("Your message to the reporter", validators=[Length(max=2000)])

    def __init__(self, *args, sites: list[Site], reporters: list[User], **kwargs):
        super().__init__(*args, **kwargs)
        self.site_id.choices = [SelectChoice(0, "Choose a site")] + [SelectChoice(s.id, s.name) for s in sites]
        self.reporter_id.choices = [SelectChoice(0, "Not a Lightbox user (give name and email below)")] + [
            SelectChoice(u.id, f"{u.name} ({u.home_site.code if u.home_site else 'no site'})") for u in reporters
        ]

    def validate_nhs_number(self, field):
        number = nhs_number.digits_only(field.data)
        if not number.isdigit() or len(number) != 10:
            raise ValidationError("An NHS number is 10 digits")
        if not nhs_number.is_valid(number):
            raise ValidationError("This NHS number is not valid; check the digits (the last is a check digit)")
        if nhs_number.is_test_number(number) and not current_app.config["ALLOW_TEST_NHS_NUMBERS"]:
            raise ValidationError("This is a test NHS number (999...), not accepted here")

    def validate_date_of_birth(self, field):
        if field.data and field.data > date.today():
            raise ValidationError("The date of birth must be in the past")

    def validate_examination_date(self, field):
        if field.data and field.data > date.today():
            raise ValidationError("The examination date must be today or in the past")
        if field.data and self.date_of_birth.data and field.data < self.date_of_birth.data:
            raise ValidationError("The examination date must be after the date of birth")

    def validate_reporter_name(self, field):
        if not self.reporter_id.data and not (field.data or "").strip():
            raise ValidationError("Choose the reporter, or give the name of a reporter who is not a Lightbox user")

    def validate_thanks(self, field):
        if not self.thank_reporter.data:
            return
        if self.kind.data != CaseKind.GREAT_PICKUP:
            raise ValidationError("A pat on the back goes with a great pickup: choose that kind of case, or untick it")
        if not self.reporter_id.data:
            raise ValidationError("Pats on the back go to Lightbox users: choose the reporter from the list")
        if current_user.is_authenticated and self.reporter_id.data == current_user.id:
            raise ValidationError("A pat on the back is for a colleague: untick it for your own pickup")
        if not (field.data or "").strip():
            raise ValidationError("Write a short message to the reporter, or untick the pat on the back")

    def validate_reporter_email(self, field):
        if (field.data or "").strip():
            Email("Enter an email address like name@hospital.nhs.uk", check_deliverability=False)(self, field)
        elif not self.reporter_id.data:
            raise ValidationError("Give the reporter's email, so they can be told about the meeting")


class AcceptForm(FlaskForm):
    meeting_id = SelectField("Meeting", coerce=int)
    pathway_stage = SelectField(
        "Pathway stage, for incident reporting",
        choices=[SelectChoice("", "Not an incident, or not known")] + [SelectChoice(stage.value, stage.label) for stage in PathwayStage],
        default="", description="Where in the imaging pathway it went wrong, as UKHSA's Medical Exposures Group asks",
    )

    def __init__(self, *args, meetings, **kwargs):
        super().__init__(*args, **kwargs)
        self.meetings = meetings
        self.meeting_id.choices = [SelectChoice(0, "Accept, schedule later")] + [
            SelectChoice(m.id, f"{m.title}, {m.starts_at:%d %b %Y}") for m in meetings
        ]


class TriageNoteForm(FlaskForm):
    note = TextAreaField("Message to the submitter", validators=[DataRequired("Write a message to the submitter"), Length(max=2000)])


class AllowanceForm(FlaskForm):
    minutes = WholeNumberField("Minutes", invalid="Enter the minutes allowed as a whole number, like 10", validators=[InputRequired("Enter the minutes allowed"),
                                                  NumberRange(1, 120, "Allow between 1 and 120 minutes")])


class NoticeForm(FlaskForm):
    text = TextAreaField("Notice to the reporter", validators=[DataRequired("Write the notice"), Length(max=5000)])
