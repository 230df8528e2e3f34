"""What each kind of notification says, who gets it, and how the push service treats it.

Texts are rendered from a kind and its parameters in the reader's language, when sent and
when listed; the discreet version (lock screen) names nobody and says nothing of health.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import get_translations
from flask_babel import gettext as babel_gettext

from webapp.i18n import N_


@dataclass(frozen=True)
class Kind:
    """A kind of notification: its label in the settings, its roles, TTL and urgency."""

    label: str
    roles: tuple[str, ...]
    ttl_s: int
    urgency: str  # RFC 8030: very-low, low, normal, high


KINDS: dict[str, Kind] = {
    "visits_tomorrow": Kind(N_("Les passages du lendemain"), ("recipient",), 12 * 3600, "low"),
    "eta": Kind(N_("L'heure d'arrivée de l'intervenante"), ("recipient",), 2 * 3600, "high"),
    "medication": Kind(N_("Rappel des médicaments"), ("recipient",), 3600, "high"),
    "meal": Kind(N_("Rappel des repas"), ("recipient",), 3600, "normal"),
    "hydration": Kind(N_("Rappel pour boire"), ("recipient",), 3600, "normal"),
    "visit_done": Kind(N_("Passage effectué"), ("family",), 24 * 3600, "normal"),
    "visit_late": Kind(N_("Passage en retard ou manqué"), ("family",), 4 * 3600, "high"),
    "weekly_summary": Kind(N_("Résumé de la semaine"), ("family",), 3 * 24 * 3600,
                           "very-low"),
    "rota": Kind(N_("Planning publié ou modifié"), ("carer",), 24 * 3600, "normal"),
    "short_notice": Kind(N_("Intervention ajoutée au dernier moment"), ("carer",), 4 * 3600,
                         "high"),
    "not_started": Kind(N_("Intervention non commencée"), ("coordinator", "admin"), 3600,
                        "high"),
    "risk_alert": Kind(N_("Nouvelle alerte de risque élevé"), ("coordinator", "admin"),
                       24 * 3600, "normal"),
    "test": Kind(N_("Notification d'essai"), (), 600, "normal"),
}
# A payload must fit the 4 KB a push service accepts (4096 - 103 bytes of encryption).
MAX_PAYLOAD = 3800
NOTE_MAX = 600


def kinds_for(role: str) -> list[str]:
    """Return the kinds a user of ``role`` may receive, in display order."""
    return [k for k, kind in KINDS.items() if role in kind.roles]


def topic_for(text: str) -> str:
    """Return an RFC 8030 Topic (at most 32 characters of base64url) naming ``text``."""
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).decode()[:32]


def spoken(value: Any) -> str:
    """Say a stored "HH:MM" the reader's way: "9 h 15" in French, "9:15" in English."""
    text = str(value or "")
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit():
        return text
    from flask_babel import get_locale

    if str(get_locale()) == "en":
        return f"{int(hours)}:{minutes}"
    return f"{int(hours)} h {minutes}" if minutes != "00" else f"{int(hours)} h"


def _names(params: dict[str, Any], _: Gettext) -> str:
    names = [str(n) for n in params.get("carers") or []]
    return _(" et ").join(names) if names else _("L'intervenante")


Gettext = Callable[..., str]


def fast_gettext() -> Gettext:
    """Return a gettext bound to the current language's catalogue (for thousands of calls)."""
    catalogue = get_translations()

    def translate(text: str, **variables: Any) -> str:
        out = catalogue.ugettext(text)
        return out % variables if variables else out

    return translate


def render(kind: str, params: dict[str, Any], *, discreet: bool = False,
           gettext: Gettext | None = None) -> tuple[str, str]:
    """Return (title, body) for a notification in the current language."""
    _ = gettext or babel_gettext
    p = params
    if discreet:
        return _("Tournée"), _("Nouveau message : ouvrez l'application pour le lire.")
    if kind == "visits_tomorrow":
        items = p.get("items") or []
        if not items:
            return _("Demain"), _("Aucun passage prévu demain.")
        parts = [_("%(who)s vers %(time)s", who=_names(i, _), time=spoken(i["time"]))
                 for i in items]
        return _("Vos passages de demain"), " · ".join(parts)
    if kind == "eta":
        return (_("Arrivée prévue"),
                _("%(who)s arrive vers %(time)s.", who=_names(p, _), time=spoken(p.get("time"))))
    if kind == "medication":
        return _("Médicaments"), _("C'est l'heure de prendre vos médicaments.")
    if kind == "meal":
        return _("Repas"), _("C'est l'heure du repas. Bon appétit !")
    if kind == "hydration":
        if p.get("heat_wave"):
            return (_("Fortes chaleurs"),
                    _("Buvez un grand verre d'eau maintenant, même sans soif."))
        return _("Boire"), _("Pensez à boire un verre d'eau.")
    if kind == "visit_done":
        body = _("Visite de %(who)s chez %(name)s, de %(start)s à %(end)s.", who=_names(p, _),
                 name=p.get("client", ""), start=spoken(p.get("start")), end=spoken(p.get("end")))
        if p.get("note"):
            body += " « " + str(p["note"]) + " »"
        return _("Passage effectué"), body
    if kind == "visit_late":
        if p.get("missed"):
            return (_("Passage non effectué"),
                    _("Le passage prévu chez %(name)s entre %(start)s et %(end)s n'a pas eu "
                      "lieu. Le service est prévenu.", name=p.get("client", ""),
                      start=spoken(p.get("start")), end=spoken(p.get("end"))))
        return (_("Passage en retard"),
                _("Le passage prévu chez %(name)s vers %(time)s a du retard. Le service est "
                  "prévenu.", name=p.get("client", ""), time=spoken(p.get("time"))))
    if kind == "weekly_summary":
        return (_("Résumé de la semaine"),
                _("Chez %(name)s cette semaine : %(done)s passages effectués, %(missed)s non "
                  "effectués.", name=p.get("client", ""), done=p.get("done", 0),
                  missed=p.get("missed", 0)))
    if kind == "rota":
        if p.get("changed"):
            return (_("Planning modifié"),
                    _("Votre planning du %(day)s a changé : %(n)s interventions.",
                      day=p.get("day", ""), n=p.get("count", 0)))
        return (_("Planning publié"),
                _("Votre planning du %(day)s est prêt : %(n)s interventions.",
                  day=p.get("day", ""), n=p.get("count", 0)))
    if kind == "short_notice":
        return (_("Intervention ajoutée"),
                _("Nouvelle intervention aujourd'hui vers %(time)s chez %(name)s.",
                  time=spoken(p.get("time")), name=p.get("client", "")))
    if kind == "not_started":
        return (_("Intervention non commencée"),
                _("%(name)s : l'intervention de %(start)s n'a pas commencé (%(who)s).",
                  name=p.get("client", ""), start=spoken(p.get("start")), who=_names(p, _)))
    if kind == "risk_alert":
        return (_("Nouvelle alerte"),
                _("%(name)s : %(message)s", name=p.get("client", ""),
                  message=p.get("message", "")))
    return _("Tournée"), _("Les notifications fonctionnent sur cet appareil.")
