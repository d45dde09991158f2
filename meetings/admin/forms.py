from email_validator import EmailNotValidError, validate_email
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from meetings.fields import CheckboxesField
from meetings.models import Profession, ProfessionalBody, Role, Site
from meetings.professions import registration_error


class UserForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired("Enter the person's full name"), Length(max=200)])
    email = EmailField(
        "Email address",
        validators=[
            DataRequired("Enter an email address"),
            Email("Enter an email address like name@hospital.nhs.uk", check_deliverability=False),
            Length(max=254),
        ],
    )
    roles = CheckboxesField(
        "Roles", choices=[SelectChoice(r.value, r.label) for r in Role], default=[Role.MEMBER.value],
        validators=[DataRequired("Choose at least one role")],
    )
    home_site_id = SelectField("Home site", coerce=int, validators=[DataRequired("Choose the person's home site")])
    profession = SelectField("Profession", choices=[SelectChoice(p.value, p.label) for p in Profession])
    professional_body = SelectField("Professional body", choices=[SelectChoice(b.value, b.label) for b in ProfessionalBody])
    registration_number = StringField("Registration number", validators=[Optional(), Length(max=16)])

    def __init__(self, *args, sites: list[Site], **kwargs):
        super().__init__(*args, **kwargs)
        self.home_site_id.choices = [SelectChoice(0, "Choose a site")] + [SelectChoice(s.id, s.name) for s in sites]

    def validate_registration_number(self, field):
        message = registration_error(self.professional_body.data, field.data)
        if message:
            raise ValidationError(message)


class SiteForm(FlaskForm):
    name = StringField("Site name", validators=[DataRequired("Enter the site's name"), Length(max=200)])
    code = StringField(
        "Short code",
        description="A few capital letters used on lists, like NGH",
        validators=[DataRequired("Enter a short code"), Length(min=2, max=16, message="Use 2 to 16 characters")],
    )
    radpeer_enabled = BooleanField(
        "Offer RADPEER-style grading in meetings",
        description="Off unless the site asks for it: the Royal College of Radiologists finds grading unreliable.",
    )
    minutes_list_names = BooleanField(
        "Name the people present in the minutes", default=True,
        description="When off, the minutes count those present by profession without naming them.",
    )
    risk_distribution = TextAreaField(
        "Also send published minutes to",
        description="Team mailboxes, one email address per line. The site's risk staff receive them anyway.",
        validators=[Length(max=2000)],
    )
    invite_distribution = TextAreaField(
        "Also send meeting invitations to",
        description="A department mailing list, one email address per line. The site's members are invited anyway.",
        validators=[Length(max=2000)],
    )

    def validate_risk_distribution(self, field):
        _addresses(field)

    def validate_invite_distribution(self, field):
        _addresses(field)


def _addresses(field) -> None:
    """One email address per line, blank lines allowed."""
    for line in (field.data or "").splitlines():
        address = line.strip()
        if not address:
            continue
        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError:
            raise ValidationError(f"“{address[:60]}” is not an email address: put one address on each line") from None
