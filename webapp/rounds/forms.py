"""Manual assignment and cancellation forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TimeField
from wtforms.validators import DataRequired, Length, Optional


class AssignForm(FlaskForm):
    """Choose the carer(s) of a visit and, optionally, the start time."""

    carer_1 = SelectField(_l("Intervenante"), coerce=int, choices=[])
    carer_2 = SelectField(_l("Seconde intervenante"), coerce=int, choices=[],
                          validators=[Optional()])
    start = TimeField(_l("Heure prévue"), validators=[Optional()])


class CancelForm(FlaskForm):
    """Cancel a visit with a reason."""

    reason = StringField(_l("Motif"), validators=[DataRequired(), Length(max=300)])
