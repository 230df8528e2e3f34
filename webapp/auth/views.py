"""Sign-in, sign-out and language choice."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from webapp.audit.services import record
from webapp.auth.forms import LoginForm, PasswordChangeForm
from webapp.auth.services import AccountError, ThrottledError, authenticate, change_password
from webapp.extensions import db
from webapp.htmx import render

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    """Show the sign-in form and sign the user in."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(
                form.email.data or "",
                form.password.data or "",
                request.remote_addr or "",
                max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                window_s=current_app.config["LOGIN_WINDOW_SECONDS"],
            )
        except ThrottledError as exc:
            minutes = max(1, exc.retry_after_s // 60)
            flash(_("Trop de tentatives. Réessayez dans %(n)s minutes.", n=minutes), "error")
            response = render("auth/login.html", form=form, status=429)
            response.headers["Retry-After"] = str(exc.retry_after_s)
            return response
        if user is None:
            db.session.commit()
            flash(_("Adresse e-mail ou mot de passe incorrect."), "error")
            status = 401
        else:
            session.clear()
            login_user(user, remember=bool(form.remember.data))
            session.permanent = True
            record(user, "login", "user", user.id)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")) or url_for("core.home"))
    elif request.method == "POST":
        status = 400
    return render("auth/login.html", form=form, status=status)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    """Sign out and forget the session."""
    record(current_user, "logout", "user", current_user.id)
    db.session.commit()
    logout_user()
    session.clear()
    response = redirect(url_for("auth.login"))
    # The service worker and the browser drop what they kept for this user.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@bp.route("/langue", methods=["POST"])
def set_language() -> Response:
    """Switch the interface language (French or English)."""
    locale = request.form.get("locale", "")
    if locale not in current_app.config["LANGUAGES"]:
        abort(400, description=_("Langue inconnue."))
    session["locale"] = locale
    if current_user.is_authenticated:
        current_user.locale = locale
        db.session.commit()
    return redirect(_safe_next(request.form.get("next")) or url_for("core.home"))


@bp.route("/mon-compte", methods=["GET", "POST"])
@login_required
def settings() -> Response:
    """Let the signed-in user change her password."""
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current.data or "", form.new.data or "")
        except AccountError as exc:
            db.session.rollback()
            form.current.errors = [*form.current.errors, _(str(exc))]
        else:
            db.session.commit()
            flash(_("Mot de passe changé."), "success")
            return redirect(url_for("auth.settings"), code=303)
    if request.method == "POST":
        status = 400
    return render("auth/settings.html", form=form, status=status)
