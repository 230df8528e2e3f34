"""The review of an alert."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from webapp.alerts.models import ALERT_ACTIONS
from webapp.forms import Form


class ReviewForm(Form):
    """What was done about an alert; the care plan itself is changed elsewhere, by a person."""

    action = RadioField(_l("Suite donnée"),
                        choices=[(k, _l(v)) for k, v in ALERT_ACTIONS.items()],
                        validators=[InputRequired(message=_l("Choisissez la suite donnée."))],
                        validate_choice=True)
    comment = TextAreaField(_l("Commentaire"), validators=[Optional(), Length(max=2000)])
