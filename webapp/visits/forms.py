"""Carer forms on a visit page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    FloatField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.forms import Form

NOTE_MAX = 2000


class MultiCheckboxField(SelectMultipleField):
    """Several checkboxes, one per choice."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PositionMixin:
    """Optional position sent by the phone (never required: GPS fails indoors)."""

    lat = FloatField(validators=[Optional(), NumberRange(-90, 90)])
    lon = FloatField(validators=[Optional(), NumberRange(-180, 180)])
    # Filled by the page for the offline outbox (a replay carries the same key).
    idempotency_key = HiddenField(validators=[Optional(), Length(max=64)])


class CheckInForm(PositionMixin, Form):
    """Arrival."""


class CheckOutForm(PositionMixin, Form):
    """Departure, with the tasks done and a note."""

    tasks_done = MultiCheckboxField(_l("Tâches réalisées"), choices=[], validate_choice=True)
    note = TextAreaField(_l("Transmission"), validators=[Optional(), Length(max=NOTE_MAX)])


class NoteForm(Form):
    """A note on the visit, before check-out."""

    note = TextAreaField(_l("Transmission"), validators=[Optional(), Length(max=NOTE_MAX)])
    idempotency_key = HiddenField(validators=[Optional(), Length(max=64)])


class AssignForm(Form):
    """Choose the carer(s) of a visit and, optionally, the start time."""

    carer_1 = SelectField(_l("Intervenante"), coerce=int, choices=[])
    carer_2 = SelectField(_l("Seconde intervenante"), coerce=int, choices=[],
                          validators=[Optional()])
    start = TimeField(_l("Heure prévue"), validators=[Optional()])


    def set_carer_choices(self, choices: list[tuple[int, str]]) -> None:
        self.carer_1.choices = self.carer_2.choices = choices


class CancelForm(Form):
    """Cancel a visit with a reason."""

    reason = StringField(_l("Motif"), validators=[DataRequired(), Length(max=300)])
