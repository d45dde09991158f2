from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from meetings.feedback.pats import CaseChoice
from meetings.models import PatReason, Site, User

MESSAGE_LENGTH = 2000


class SendFeedbackForm(FlaskForm):
    message = TextAreaField(
        "A message from you (optional)",
        description="Sent with the case and the learning. Thank them for the learning; patient details are taken out.",
        validators=[Optional(), Length(max=MESSAGE_LENGTH)])
    home_site_id = SelectField(
        "Tell the chairs of their home site", coerce=int,
        description="Where the reporter works at another site of the network, its chairs are told that feedback "
                    "was given: not to whom, nor what it said.")

    def __init__(self, *args, sites: list[Site], **kwargs):
        super().__init__(*args, **kwargs)
        self.home_site_id.choices = [SelectChoice(0, "No: the reporter works here, or outside the network")] + [
            SelectChoice(site.id, site.name) for site in sites]


class PatForm(FlaskForm):
    recipient_id = SelectField("Who is it for?", coerce=int,
                               validators=[DataRequired("Choose the colleague to thank")])
    reason = RadioField("What for?", choices=[SelectChoice(r.value, r.label) for r in PatReason],
                        validators=[InputRequired("Choose what you are thanking them for")])
    message = TextAreaField(
        "Your message", description="A sentence or two is plenty. Don't name the patient: say which case below.",
        validators=[DataRequired("Write a short message"), Length(max=MESSAGE_LENGTH)])
    case_id = SelectField("The case, as the meeting saw it (optional)", coerce=int,
                          description="Cases presented at meetings you could attend in the past year, anonymised")

    def __init__(self, *args, colleagues: list[User], cases: list[CaseChoice], **kwargs):
        super().__init__(*args, **kwargs)
        self.recipient_id.choices = [SelectChoice(0, "Choose a colleague")] + [
            SelectChoice(u.id, f"{u.name} ({u.home_site.code if u.home_site else 'no site'})") for u in colleagues]
        self.case_id.choices = [SelectChoice(0, "No case")] + [SelectChoice(c.case_id, c.label) for c in cases]
