"""Error pages: a clear message, and JSON for API clients."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp.extensions import db


def _messages() -> dict[int, str]:
    return {
        400: _("La demande est invalide."),
        403: _("Vous n'avez pas accès à cette page."),
        404: _("Page introuvable."),
        405: _("Méthode non autorisée."),
        413: _("Les données envoyées sont trop volumineuses."),
        429: _("Trop de demandes : réessayez dans un instant."),
        500: _("Une erreur est survenue de notre côté. "
               "Rien de ce qui était enregistré n'est perdu."),
    }


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return request.is_json or best == "application/json"


def _respond(code: int, reason: str | None = None) -> Any:
    message = _messages().get(code, _("La demande est invalide."))
    if _wants_json():
        return jsonify(error=message, reason=reason or message), code
    return render_template("errors/error.html", code=code, message=message, reason=reason), code


def register_error_handlers(app: Flask) -> None:
    """Install handlers for HTTP errors, CSRF failures and unexpected exceptions."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Any:
        app.logger.info("CSRF refused: %s", error.description)
        return _respond(400, _("Le formulaire a expiré ou n'est pas valide. "
                               "Rechargez la page et réessayez."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        code = error.code or 500
        default = type(error).description
        reason = error.description if error.description != default else None
        return _respond(code, reason)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        db.session.rollback()
        app.logger.exception("unhandled error")
        return _respond(500)
