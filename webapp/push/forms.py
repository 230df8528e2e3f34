"""Notification settings and the heat-wave switch."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, SelectField, TimeField
from wtforms.validators import Optional

from webapp.careplans.forms import MultiCheckboxField
from webapp.forms import Form


class PreferencesForm(Form):
    """Language, reminder kinds, quiet hours and discreet mode."""

    locale = SelectField(_l("Langue des notifications"),
                         choices=[("fr", "Français"), ("en", "English")])
    kinds = MultiCheckboxField(_l("Je veux recevoir"), choices=[])
    quiet_start = TimeField(_l("Heures calmes : de"), validators=[Optional()])
    quiet_end = TimeField(_l("à"), validators=[Optional()])
    discreet = BooleanField(_l("Mode discret : aucun nom ni détail de santé sur l'écran "
                               "verrouillé"))


class HeatWaveForm(Form):
    """Turn the service's heat-wave mode on until a date, or off."""

    until = DateField(_l("Plan canicule jusqu'au"), validators=[Optional()])
