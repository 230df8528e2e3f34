"""The base of every form: Flask-WTF with WTForms' own messages translated cheaply."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from babel import support
from flask import has_request_context
from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms.i18n import messages_path


@lru_cache(maxsize=8)
def _wtforms_catalogue(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class Form(FlaskForm):
    """A ``FlaskForm`` whose built-in messages ("Not a valid choice"...) follow the locale.

    Flask-WTF reads WTForms' catalogue from disk once per request; it never changes while
    the app runs, so it is read once per locale here.
    """

    class Meta(FlaskForm.Meta):
        def get_translations(self, form: Any) -> Any:
            if not has_request_context():
                return super().get_translations(form)
            return _wtforms_catalogue(str(get_locale()))
