"""Sign-in form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField(_l("Adresse e-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Mot de passe"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Rester connecté·e sur cet appareil"))
