"""Jinja filters and globals: Paris times, French labels."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Flask
from flask_babel import format_date, get_locale, get_translations, gettext
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context

from webapp.careplans.models import INTERVENTION_KINDS, WEEKDAYS_FR
from webapp.carers.models import SKILLS, TRAVEL_MODES
from webapp.clients.models import FUNDING, GEOCODE_STATUSES
from webapp.timeutil import to_paris, today_paris
from webapp.visits.models import VISIT_STATUSES


def hhmm(value: datetime | time | None) -> str:
    """Format a time as 9 h 05 style HH:MM in Paris time."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_paris(value).time()
    return f"{value.hour:02d}:{value.minute:02d}"


def spoken_time(value: datetime | time | None) -> str:
    """Format a time the way people say it: "9 h 15" in French, "9:15" in English."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_paris(value).time()
    if str(get_locale()) == "en":
        return f"{value.hour}:{value.minute:02d}"
    return f"{value.hour} h {value.minute:02d}" if value.minute else f"{value.hour} h"


def relative_day(value: date) -> str:
    """Say "aujourd'hui" or "demain" when it is, else the full date."""
    offset = (value - today_paris()).days
    if offset == 0:
        return gettext("aujourd'hui")
    if offset == 1:
        return gettext("demain")
    return long_date(value)


def paris(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """Format an aware datetime in Paris time."""
    return to_paris(value).strftime(fmt) if value else ""


def long_date(value: date) -> str:
    """Format a date in full in the user's language."""
    return format_date(value, format="full")


@pass_context
def _template_gettext(context: Context, message: str) -> str:
    """``_()`` in templates: the catalogue looked up once per render, not once per string."""
    translations = context.get("_translations") or get_translations()
    return str(translations.ugettext(message))


@pass_context
def _template_ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    translations = context.get("_translations") or get_translations()
    return str(translations.ungettext(singular, plural, n))


def register_template_helpers(app: Flask) -> None:
    """Expose helpers and label tables to templates."""
    app.jinja_env.filters["hhmm"] = hhmm
    app.jinja_env.filters["long_date"] = long_date
    app.jinja_env.filters["paris"] = paris
    app.jinja_env.filters["spoken_time"] = spoken_time
    app.jinja_env.filters["relative_day"] = relative_day
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["timedelta"] = timedelta
    # Replaces Flask-Babel's callables, which find the request's locale and catalogue again
    # for every string: a page has dozens.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        _template_gettext, _template_ngettext, newstyle=True)

    @app.context_processor
    def labels() -> dict[str, Any]:
        return {
            "SKILLS": SKILLS,
            "TRAVEL_MODES": TRAVEL_MODES,
            "FUNDING": FUNDING,
            "GEOCODE_STATUSES": GEOCODE_STATUSES,
            "VISIT_STATUSES": VISIT_STATUSES,
            "INTERVENTION_KINDS": INTERVENTION_KINDS,
            "WEEKDAYS_FR": WEEKDAYS_FR,
            "today": today_paris(),
            "_translations": get_translations(),
            # The user itself, not the proxy: pages read it dozens of times.
            "user": current_user._get_current_object(),
        }
