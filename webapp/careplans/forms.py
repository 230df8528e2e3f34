"""Care plan and intervention forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    FloatField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.careplans.models import INTERVENTION_KINDS, WEEKDAYS_FR
from webapp.carers.models import SKILLS
from webapp.forms import Form

TASKS_MAX = 20


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CarePlanForm(Form):
    """A plan d'aide's dates and volume."""

    starts_on = DateField(_l("Début"), validators=[DataRequired()])
    ends_on = DateField(_l("Fin (facultatif)"), validators=[Optional()])
    monthly_hours = FloatField(_l("Heures mensuelles accordées"),
                               validators=[Optional(), NumberRange(0, 744)])
    notes = TextAreaField(_l("Remarques"), validators=[Optional(), Length(max=2000)])

    def validate_ends_on(self, field: DateField) -> None:
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("La fin doit suivre le début."))


class InterventionForm(Form):
    """A recurring intervention."""

    kind = SelectField(_l("Type"), choices=list(INTERVENTION_KINDS.items()))
    weekdays = MultiCheckboxField(_l("Jours"), coerce=int,
                                  choices=[(i, d.capitalize()) for i, d in enumerate(WEEKDAYS_FR)])
    window_start = TimeField(_l("Plage horaire : de"), validators=[DataRequired()])
    window_end = TimeField(_l("à"), validators=[DataRequired()])
    duration_min = IntegerField(_l("Durée (minutes)"),
                                validators=[DataRequired(), NumberRange(5, 720)])
    required_skills = MultiCheckboxField(_l("Compétences requises"), choices=list(SKILLS.items()))
    carers_needed = SelectField(_l("Intervenantes"), coerce=int,
                                choices=[(1, _l("Une")), (2, _l("Deux (transfert)"))])
    tasks = TextAreaField(_l("Tâches (une par ligne)"), validators=[Optional(), Length(max=2000)])

    def task_list(self) -> list[str]:
        return [t.strip()[:120] for t in (self.tasks.data or "").splitlines() if t.strip()]

    def validate_tasks(self, field: TextAreaField) -> None:
        if len(self.task_list()) > TASKS_MAX:
            raise ValidationError(_l("Vingt tâches au plus."))
