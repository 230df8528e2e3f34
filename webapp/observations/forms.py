"""The observation form: about thirty seconds of taps, every default meaning "as usual"."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, FloatField, HiddenField, RadioField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from webapp.forms import Form
from webapp.observations.models import (
    CONFUSION,
    DRINKS,
    FALLS,
    MEAL_SHARES,
    MOBILITY,
    MOODS,
    WEIGHT_MAX,
    WEIGHT_MIN,
)

NOTE_MAX = 2000
# A replay from the phone's outbox sends strings: "False" and "0" must read as unticked.
FALSE_VALUES = (False, "false", "False", "0", "", "off", "non")


class AnswerField(RadioField):
    """Large radio buttons; a value absent from a submitted form means "not answered"."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = valuelist[0] if valuelist and valuelist[0] != "" else None

    def pre_validate(self, form: Any) -> None:
        if self.data is not None and self.data not in {value for value, _ in self.choices}:
            raise ValidationError(_l("Réponse non valide : choisissez une des propositions."))


def _choices(labels: dict[str, str]) -> list[tuple[str, Any]]:
    return [(value, _l(label)) for value, label in labels.items()]


def _flag(label: Any) -> BooleanField:
    return BooleanField(label, false_values=FALSE_VALUES)


class ObservationForm(Form):
    """What the carer noticed; a toggle is ticked only when something is unusual."""

    fall = AnswerField(_l("Chute depuis le dernier passage"), choices=_choices(FALLS),
                       default="none")
    near_fall = _flag(_l("A failli tomber"))
    mobility = AnswerField(_l("Pour se déplacer"), choices=_choices(MOBILITY), default="usual")
    walking_aid_used = _flag(_l("A utilisé son aide à la marche (canne, déambulateur…)"))
    meal_share = AnswerField(_l("Part du repas mangée"),
                             choices=[("", _l("Pas de repas")), *_choices(MEAL_SHARES)],
                             default="")
    drinks = AnswerField(_l("Boissons"), choices=_choices(DRINKS), default="usual")
    weight_kg = FloatField(_l("Poids (kg), si une balance est disponible"), validators=[
        Optional(), NumberRange(WEIGHT_MIN, WEIGHT_MAX,
                                message=_l("Poids entre 20 et 250 kg, ou laissez vide."))])
    mood = AnswerField(_l("Humeur"), choices=_choices(MOODS), default="usual")
    confusion = AnswerField(_l("Orientation, mémoire"), choices=_choices(CONFUSION),
                            default="none")
    poor_sleep = _flag(_l("A mal dormi"))
    continence_change = _flag(_l("Changement de continence"))
    pain = _flag(_l("Se plaint de douleurs"))
    skin_redness = _flag(_l("Rougeur aux points d'appui"))
    breathlessness = _flag(_l("Essoufflé·e"))
    swelling = _flag(_l("Jambes ou chevilles gonflées"))
    no_social_contact = _flag(_l("Aucun contact (famille, voisins) depuis le dernier passage"))
    medication_missed = _flag(_l("Traitement pas pris comme prévu"))
    help_toilet = _flag(_l("Toilette"))
    help_dressing = _flag(_l("Habillage"))
    help_transfers = _flag(_l("Transferts (lit, fauteuil, WC)"))
    help_eating = _flag(_l("Repas"))
    note = TextAreaField(_l("Remarque"), validators=[Optional(), Length(max=NOTE_MAX)])
    share_with_family = _flag(_l("Partager cette remarque avec la famille"))
    # Filled by the page for the offline outbox: a replay carries the same key and time.
    idempotency_key = HiddenField(validators=[Optional(), Length(max=64)])
    captured_at = HiddenField(validators=[Optional(), Length(max=40)])

    def answers(self) -> dict[str, Any]:
        """Return the answers as ``record_observation`` takes them (None = not answered)."""
        meal = self.meal_share.data
        values: dict[str, Any] = {
            "fall": self.fall.data, "mobility": self.mobility.data, "drinks": self.drinks.data,
            "mood": self.mood.data, "confusion": self.confusion.data,
            "meal_share": float(meal) if meal is not None else None,
            "weight_kg": self.weight_kg.data,
            "walking_aid_used": bool(self.walking_aid_used.data),
            "social_contact": not self.no_social_contact.data,
            "medication_as_planned": not self.medication_missed.data,
            "note": (self.note.data or "").strip(),
            "share_with_family": bool(self.share_with_family.data),
        }
        for name in ("near_fall", "poor_sleep", "continence_change", "pain", "skin_redness",
                     "breathlessness", "swelling", "help_toilet", "help_dressing",
                     "help_transfers", "help_eating"):
            values[name] = bool(getattr(self, name).data)
        return values

    def fill_from(self, row: Any) -> None:
        """Show a stored observation (the carer may correct it)."""
        for name in ("fall", "mobility", "drinks", "mood", "confusion"):
            getattr(self, name).data = getattr(row, name)
        self.meal_share.data = ("" if row.meal_share is None
                                else next((k for k in MEAL_SHARES if float(k) == row.meal_share),
                                          ""))
        self.weight_kg.data = row.weight_kg
        for name in ("near_fall", "walking_aid_used", "poor_sleep", "continence_change", "pain",
                     "skin_redness", "breathlessness", "swelling", "help_toilet",
                     "help_dressing", "help_transfers", "help_eating", "share_with_family"):
            getattr(self, name).data = bool(getattr(row, name))
        self.no_social_contact.data = row.social_contact is False
        self.medication_missed.data = row.medication_as_planned is False
        self.note.data = row.note
