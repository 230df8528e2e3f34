"""Client form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from webapp.clients.models import FUNDING
from webapp.forms import Form

PHONE = Regexp(r"^[0-9 +().-]{0,30}$", message=_l("Numéro de téléphone invalide."))


def _zero(value: int | None) -> int:
    """An empty count means none."""
    return value or 0


class ClientForm(Form):
    """Create or edit a client."""

    first_name = StringField(_l("Prénom"), validators=[DataRequired(), Length(max=100)])
    last_name = StringField(_l("Nom"), validators=[DataRequired(), Length(max=100)])
    birth_date = DateField(_l("Date de naissance"), validators=[Optional()])
    sex = SelectField(_l("Sexe"), choices=[("", "—"), ("F", _l("Femme")), ("M", _l("Homme"))],
                      validators=[Optional()])
    phone = StringField(_l("Téléphone"), validators=[Optional(), Length(max=30), PHONE])
    address = StringField(_l("Adresse"), validators=[DataRequired(), Length(max=300)])
    postcode = StringField(_l("Code postal"), validators=[
        Optional(), Regexp(r"^\d{5}$", message=_l("Code postal à 5 chiffres."))])
    city = StringField(_l("Commune"), validators=[DataRequired(), Length(max=100)])
    lat = FloatField(_l("Latitude (si l'adresse est introuvable)"),
                     validators=[Optional(), NumberRange(41.0, 51.5)])
    lon = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(-5.5, 10.0)])
    access_notes = TextAreaField(_l("Accès (code, boîte à clés…)"),
                                 validators=[Optional(), Length(max=1000)])
    gir = IntegerField(_l("GIR"), validators=[DataRequired(), NumberRange(1, 6)], default=4)
    funding = SelectField(_l("Financement"), choices=list(FUNDING.items()))
    living_alone = BooleanField(_l("Vit seul·e"))
    walking_aid = BooleanField(_l("Aide à la marche (canne, déambulateur, fauteuil)"))
    n_medicines = IntegerField(_l("Nombre de médicaments au long cours"), default=0,
                               validators=[Optional(), NumberRange(0, 40)], filters=[_zero])
    n_psychotropics = IntegerField(
        _l("Dont psychotropes (somnifères, anxiolytiques, antidépresseurs, neuroleptiques)"),
        default=0, validators=[Optional(), NumberRange(0, 20)], filters=[_zero])
    antiepileptics = BooleanField(_l("Antiépileptiques"))
    cognitive_impairment = BooleanField(_l("Troubles cognitifs diagnostiqués"))
    parkinson = BooleanField(_l("Maladie de Parkinson"))
    incontinence = BooleanField(_l("Incontinence"))
    vertigo = BooleanField(_l("Vertiges ou étourdissements"))
    sector_id = SelectField(_l("Secteur"), coerce=int, choices=[])
    usual_carers = SelectMultipleField(_l("Intervenantes habituelles"), coerce=int, choices=[])
    refused_carers = SelectMultipleField(_l("Intervenantes refusées"), coerce=int, choices=[])
    notes = TextAreaField(_l("Remarques"), validators=[Optional(), Length(max=2000)])
    active = BooleanField(_l("Suivi actif"), default=True)

    def validate_n_psychotropics(self, field: IntegerField) -> None:
        if (field.data or 0) > (self.n_medicines.data or 0):
            raise ValidationError(_l("Les psychotropes font partie des médicaments comptés."))

    def validate_lon(self, field: FloatField) -> None:
        if (field.data is None) != (self.lat.data is None):
            raise ValidationError(_l("Donnez la latitude et la longitude ensemble."))

    def validate_refused_carers(self, field: SelectMultipleField) -> None:
        if set(field.data or []) & set(self.usual_carers.data or []):
            raise ValidationError(
                _l("Une intervenante ne peut pas être à la fois habituelle et refusée."))
