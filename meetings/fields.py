"""Form fields Lightbox's forms share."""
from __future__ import annotations

from wtforms import IntegerField, SelectMultipleField, widgets


class CheckboxesField(SelectMultipleField):
    """A choice of several, as a list of checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class WholeNumberField(IntegerField):
    """A whole number whose refusal of "abc" says what to type, as every other message here does."""

    def __init__(self, *args, invalid: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.invalid = invalid

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(self.invalid) from None
