"""Sign-in form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from webapp.forms import Form


class LoginForm(Form):
    """E-mail and password."""

    email = EmailField(_l("Adresse e-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Mot de passe"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Rester connecté·e sur cet appareil"))


ROLE_LABELS = {
    "admin": _l("Administrateur·rice"),
    "coordinator": _l("Responsable de secteur"),
    "carer": _l("Intervenante"),
    "recipient": _l("Bénéficiaire"),
    "family": _l("Proche"),
}


class AccountForm(Form):
    """Create an account."""

    first_name = StringField(_l("Prénom"), validators=[DataRequired(), Length(max=100)])
    last_name = StringField(_l("Nom"), validators=[DataRequired(), Length(max=100)])
    email = EmailField(_l("Adresse e-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField(_l("Rôle"), choices=[])
    carer_id = SelectField(_l("Fiche intervenante"), coerce=int, choices=[])
    client_id = SelectField(_l("Bénéficiaire concerné·e"), coerce=int, choices=[])
    password = PasswordField(_l("Mot de passe initial"),
                             validators=[DataRequired(), Length(min=12, max=200)])


class FamilyForm(Form):
    """Give a family member access to a client, with the client's consents."""

    first_name = StringField(_l("Prénom"), validators=[DataRequired(), Length(max=100)])
    last_name = StringField(_l("Nom"), validators=[DataRequired(), Length(max=100)])
    email = EmailField(_l("Adresse e-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    relationship_label = StringField(_l("Lien (fille, fils, voisin…)"),
                                     validators=[Optional(), Length(max=60)])
    password = PasswordField(_l("Mot de passe initial"),
                             validators=[DataRequired(), Length(min=12, max=200)])
    consent_share_notes = BooleanField(_l("La personne accepte que ses transmissions soient "
                                          "partagées avec ce proche"))
    consent_notifications = BooleanField(_l("Le proche reçoit les notifications"), default=True)


class PasswordChangeForm(Form):
    """Change one's own password."""

    current = PasswordField(_l("Mot de passe actuel"), validators=[DataRequired(), Length(max=200)])
    new = PasswordField(_l("Nouveau mot de passe"),
                        validators=[DataRequired(), Length(min=12, max=200)])
    confirm = PasswordField(_l("Nouveau mot de passe, encore"),
                            validators=[DataRequired(), EqualTo("new", _l("Les deux saisies "
                                                                          "diffèrent."))])


class CodeForm(Form):
    """The six-digit code of an authenticator app, or a recovery code."""

    code = StringField(_l("Code de vérification"),
                       validators=[DataRequired(), Length(max=20)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric",
                                  "autocapitalize": "off", "spellcheck": "false"})


class PasswordConfirmForm(Form):
    """Confirm a sensitive change with one's password."""

    password = PasswordField(_l("Mot de passe"), validators=[DataRequired(), Length(max=200)])
