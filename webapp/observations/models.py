"""One carer's answers after one visit (the items of ``risk.schema.Observation``)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.carers.models import Carer
from webapp.clients.models import Client
from webapp.extensions import db
from webapp.i18n import N_
from webapp.timeutil import UTCDateTime, utcnow
from webapp.visits.models import Visit

# Stored values are the names of the CSV interchange of docs/risk.md ("none", "less_steady"...).
FALLS: dict[str, str] = {
    "none": N_("Pas de chute"),
    "without_injury": N_("Chute sans blessure"),
    "with_injury": N_("Chute avec blessure"),
    "found_on_floor": N_("Retrouvé·e au sol"),
}
MOBILITY: dict[str, str] = {
    "usual": N_("Comme d'habitude"),
    "less_steady": N_("Moins assuré·e"),
    "more_help": N_("A eu besoin de plus d'aide"),
    "bed_or_chair": N_("Resté·e au lit ou au fauteuil"),
}
DRINKS: dict[str, str] = {
    "usual": N_("Comme d'habitude"),
    "less": N_("Moins que d'habitude"),
    "very_little": N_("Très peu"),
}
MOODS: dict[str, str] = {
    "usual": N_("Comme d'habitude"),
    "sad": N_("Triste"),
    "anxious": N_("Anxieux·se"),
    "agitated": N_("Agité·e"),
}
CONFUSION: dict[str, str] = {
    "none": N_("Comme d'habitude"),
    "some": N_("Un peu confus·e"),
    "marked": N_("Très confus·e"),
}
MEAL_SHARES: dict[str, str] = {
    "1": N_("Tout"),
    "0.75": N_("¾"),
    "0.5": N_("La moitié"),
    "0.25": N_("¼"),
    "0": N_("Rien"),
}
# Yes/no items, phrased so that the usual answer is "not ticked" (see forms.py).
FLAG_ITEMS = ("near_fall", "poor_sleep", "continence_change", "pain", "skin_redness",
              "breathlessness", "swelling", "help_toilet", "help_dressing", "help_transfers",
              "help_eating")
#: What a staff member reads for each yes/no item when it is unusual.
REPORTED: dict[str, str] = {
    "near_fall": N_("A failli tomber"),
    "walking_aid_unused": N_("Sans son aide à la marche"),
    "poor_sleep": N_("A mal dormi"),
    "continence_change": N_("Changement de continence"),
    "pain": N_("Se plaint de douleurs"),
    "skin_redness": N_("Rougeur aux points d'appui"),
    "breathlessness": N_("Essoufflé·e"),
    "swelling": N_("Jambes ou chevilles gonflées"),
    "no_social_contact": N_("Aucun contact (famille, voisins) depuis le dernier passage"),
    "medication_missed": N_("Traitement pas pris comme prévu"),
    "help_toilet": N_("Plus d'aide pour la toilette"),
    "help_dressing": N_("Plus d'aide pour l'habillage"),
    "help_transfers": N_("Plus d'aide pour les transferts"),
    "help_eating": N_("Plus d'aide pour les repas"),
}
WEIGHT_MIN, WEIGHT_MAX = 20.0, 250.0


def _in(column: str, values: dict[str, str]) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IS NULL OR {column} IN {tuple(values)!r}", name=column)


class Observation(db.Model):
    """A carer's observation of the person at the end of a visit; ``None`` = not answered."""

    __tablename__ = "observation"
    __table_args__ = (
        sa.UniqueConstraint("visit_id", "carer_id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.Index("ix_observation_client_recorded", "client_id", "recorded_at"),
        _in("fall", FALLS),
        _in("mobility", MOBILITY),
        _in("drinks", DRINKS),
        _in("mood", MOODS),
        _in("confusion", CONFUSION),
        sa.CheckConstraint("meal_share IS NULL OR meal_share IN (0, 0.25, 0.5, 0.75, 1)",
                           name="meal_share"),
        sa.CheckConstraint(
            f"weight_kg IS NULL OR (weight_kg >= {WEIGHT_MIN} AND weight_kg <= {WEIGHT_MAX})",
            name="weight_kg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visit.id"), index=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"))
    carer_id: Mapped[int] = mapped_column(sa.ForeignKey("carer.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    # A phone-made key: an offline replay of the same form is stored once.
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64))
    # When the carer answered, as the phone saw it; received_at is when it reached us.
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    fall: Mapped[str | None] = mapped_column(sa.String(16))
    near_fall: Mapped[bool | None] = mapped_column(sa.Boolean)
    mobility: Mapped[str | None] = mapped_column(sa.String(16))
    walking_aid_used: Mapped[bool | None] = mapped_column(sa.Boolean)
    meal_share: Mapped[float | None] = mapped_column(sa.Float)
    drinks: Mapped[str | None] = mapped_column(sa.String(16))
    weight_kg: Mapped[float | None] = mapped_column(sa.Float)
    mood: Mapped[str | None] = mapped_column(sa.String(16))
    confusion: Mapped[str | None] = mapped_column(sa.String(16))
    poor_sleep: Mapped[bool | None] = mapped_column(sa.Boolean)
    continence_change: Mapped[bool | None] = mapped_column(sa.Boolean)
    pain: Mapped[bool | None] = mapped_column(sa.Boolean)
    skin_redness: Mapped[bool | None] = mapped_column(sa.Boolean)
    breathlessness: Mapped[bool | None] = mapped_column(sa.Boolean)
    swelling: Mapped[bool | None] = mapped_column(sa.Boolean)
    social_contact: Mapped[bool | None] = mapped_column(sa.Boolean)
    help_toilet: Mapped[bool | None] = mapped_column(sa.Boolean)
    help_dressing: Mapped[bool | None] = mapped_column(sa.Boolean)
    help_transfers: Mapped[bool | None] = mapped_column(sa.Boolean)
    help_eating: Mapped[bool | None] = mapped_column(sa.Boolean)
    medication_as_planned: Mapped[bool | None] = mapped_column(sa.Boolean)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    # The carer's wish; the family sees the note only if the person consented as well.
    share_with_family: Mapped[bool] = mapped_column(sa.Boolean, default=False)

    visit: Mapped[Visit] = relationship()
    client: Mapped[Client] = relationship()
    carer: Mapped[Carer] = relationship()

    @property
    def reported(self) -> list[str]:
        """Return the keys of REPORTED that apply, for display."""
        keys = [k for k in REPORTED if k in FLAG_ITEMS and getattr(self, k)]
        if self.social_contact is False:
            keys.append("no_social_contact")
        if self.medication_as_planned is False:
            keys.append("medication_missed")
        return keys


#: The answer columns, in the order of risk.schema.ITEM_COLUMNS.
ANSWER_FIELDS: tuple[str, ...] = (
    "fall", "near_fall", "mobility", "walking_aid_used", "meal_share", "drinks", "weight_kg",
    "mood", "confusion", "poor_sleep", "continence_change", "pain", "skin_redness",
    "breathlessness", "swelling", "social_contact", "help_toilet", "help_dressing",
    "help_transfers", "help_eating", "medication_as_planned",
)
