"""The chair's edits of the minutes, and the publishing form."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length

MAX_TEXT = 10_000


def _text(label: str, description: str = "") -> TextAreaField:
    return TextAreaField(label, description=description,
                         validators=[Length(max=MAX_TEXT, message=f"Keep this under {MAX_TEXT:,} characters")])


class SectionForm(FlaskForm):
    """One case's section. Its prefix is the case, so every section's fields have their own ids."""

    summary = _text("Summary", "What was asked and what was found. Identifiers are taken out when you save.")
    discussion = _text("Discussion")
    learning_points = _text("Learning points", "One per line")


class OtherBusinessForm(FlaskForm):
    text = _text("What else was raised", "Leave empty if nothing was")


class PublishForm(FlaskForm):
    note = _text("What this amendment changes",
                 "Printed at the top of the amended minutes and sent to risk staff with them")
