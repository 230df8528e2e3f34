"""Carer and absence forms."""

from __future__ import annotations

import itertools
import re

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FloatField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.careplans.models import WEEKDAYS_FR
from webapp.carers.models import SKILLS, TRAVEL_MODES
from webapp.forms import Form

SHIFT = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


def parse_shifts(text: str) -> list[list[str]]:
    """Parse "07:00-13:00, 17:00-20:30" into ordered, non-overlapping shifts."""
    shifts = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if not SHIFT.match(part):
            raise ValueError(part)
        start, end = part.split("-")
        if end <= start:
            raise ValueError(part)
        shifts.append([start, end])
    shifts.sort()
    for before, after in itertools.pairwise(shifts):
        if after[0] < before[1]:
            raise ValueError(after[0])
    return shifts


class ShiftsField(StringField):
    """Working hours of one weekday."""

    def pre_validate(self, form: Form) -> None:
        try:
            parse_shifts(self.data or "")
        except ValueError as exc:
            raise ValidationError(_l("Horaires invalides (ex. 07:00-13:00, 17:00-20:30).")) from exc


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CarerForm(Form):
    """Create or edit a carer."""

    first_name = StringField(_l("Prénom"), validators=[DataRequired(), Length(max=100)])
    last_name = StringField(_l("Nom"), validators=[DataRequired(), Length(max=100)])
    phone = StringField(_l("Téléphone"), validators=[Optional(), Length(max=30)])
    skills = MultiCheckboxField(_l("Compétences"), choices=list(SKILLS.items()))
    weekly_hours = FloatField(_l("Heures hebdomadaires au contrat"),
                              validators=[DataRequired(), NumberRange(1, 48)], default=35)
    sector_id = SelectField(_l("Secteur"), coerce=int, choices=[])
    home_address = StringField(_l("Adresse de départ"), validators=[Optional(), Length(max=300)])
    home_lat = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(41.0, 51.5)])
    home_lon = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(-5.5, 10.0)])
    travel_mode = SelectField(_l("Déplacement"), choices=list(TRAVEL_MODES.items()))
    vehicle = StringField(_l("Véhicule"), validators=[Optional(), Length(max=100)])
    active = BooleanField(_l("En activité"), default=True)
    avail_0 = ShiftsField(WEEKDAYS_FR[0].capitalize())
    avail_1 = ShiftsField(WEEKDAYS_FR[1].capitalize())
    avail_2 = ShiftsField(WEEKDAYS_FR[2].capitalize())
    avail_3 = ShiftsField(WEEKDAYS_FR[3].capitalize())
    avail_4 = ShiftsField(WEEKDAYS_FR[4].capitalize())
    avail_5 = ShiftsField(WEEKDAYS_FR[5].capitalize())
    avail_6 = ShiftsField(WEEKDAYS_FR[6].capitalize())

    def availability(self) -> dict[str, list[list[str]]]:
        return {str(d): parse_shifts(getattr(self, f"avail_{d}").data or "") for d in range(7)}

    def validate_home_lon(self, field: FloatField) -> None:
        if (field.data is None) != (self.home_lat.data is None):
            raise ValidationError(_l("Donnez la latitude et la longitude ensemble."))


class AbsenceForm(Form):
    """Declare an absence."""

    carer_id = SelectField(_l("Intervenante"), coerce=int, choices=[])
    starts_at = DateTimeLocalField(_l("Début"), validators=[DataRequired()],
                                   format="%Y-%m-%dT%H:%M")
    ends_at = DateTimeLocalField(_l("Fin"), validators=[DataRequired()], format="%Y-%m-%dT%H:%M")
    reason = StringField(_l("Motif"), validators=[Optional(), Length(max=200)])

    def validate_ends_at(self, field: DateTimeLocalField) -> None:
        if self.starts_at.data and field.data and field.data <= self.starts_at.data:
            raise ValidationError(_l("La fin doit suivre le début."))
