"""Sign-in, sign-out and language choice."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import (
    current_user,
    login_required,
    login_user,
    logout_user,
    user_loaded_from_cookie,
)
from werkzeug.wrappers import Response

from webapp.audit.services import record
from webapp.auth.forms import CodeForm, LoginForm, PasswordChangeForm, PasswordConfirmForm
from webapp.auth.models import LoginAttempt, User
from webapp.auth.services import (
    AccountError,
    LockedError,
    ThrottledError,
    authenticate,
    change_password,
    check_throttle,
    note_failure,
    signed_in,
    verify_password,
)
from webapp.auth.twofactor import (
    disable,
    enable,
    new_recovery_codes,
    new_secret,
    provisioning_uri,
    qr_data_uri,
    use_recovery_code,
    verify_totp,
)
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


# Where a signed-in member of staff without a second factor may still go: enrolment itself.
_ENROLMENT_OPEN = frozenset({
    "auth.enrol", "auth.logout", "auth.set_language", "static", "core.healthz",
    "offline.service_worker", "offline.manifest", "offline.offline_page",
})
_PENDING_TTL_S = 300


def _finish_sign_in(user: User, *, remember: bool, method: str) -> Response:
    """Open the session of a fully authenticated user and send her on."""
    next_url = session.get("pending_next")
    session.clear()
    # Staff sessions always expire: no remembered device for them.
    remember = remember and not user.two_factor_required
    login_user(user, remember=remember)
    session.permanent = True
    now = time.time()
    session["auth_at"] = session["seen_at"] = now
    session["remembered"] = remember
    signed_in(user)
    record(user, "login", "user", user.id, method=method)
    db.session.commit()
    if user.two_factor_required and not user.two_factor_enabled:
        return redirect(url_for("auth.enrol", next=_safe_next(next_url)))
    return redirect(_safe_next(next_url) or url_for("core.home"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    """Show the sign-in form and sign the user in (then ask for her code if she has 2FA)."""
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
                lockout_after=current_app.config["LOGIN_LOCKOUT_AFTER"],
            )
        except ThrottledError as exc:
            db.session.rollback()
            minutes = max(1, exc.retry_after_s // 60)
            flash(_("Trop de tentatives. Réessayez dans %(n)s minutes.", n=minutes), "error")
            response = render("auth/login.html", form=form, status=429)
            response.headers["Retry-After"] = str(exc.retry_after_s)
            return response
        except LockedError:
            db.session.rollback()
            flash(_("Ce compte est verrouillé après trop d'essais infructueux. Demandez à un "
                    "administrateur de le déverrouiller."), "error")
            return render("auth/login.html", form=form, status=403)
        if user is None:
            db.session.commit()
            flash(_("Adresse e-mail ou mot de passe incorrect."), "error")
            status = 401
        else:
            remember = bool(form.remember.data)
            next_url = _safe_next(request.args.get("next"))
            if user.two_factor_enabled:
                db.session.commit()
                session.clear()
                session["pending_user"] = user.id
                session["pending_at"] = time.time()
                session["pending_remember"] = remember
                session["pending_next"] = next_url
                return redirect(url_for("auth.second_factor"))
            session["pending_next"] = next_url
            return _finish_sign_in(user, remember=remember, method="password")
    elif request.method == "POST":
        status = 400
    return render("auth/login.html", form=form, status=status)


@bp.route("/login/code", methods=["GET", "POST"])
def second_factor() -> Response | str:
    """Ask for the code of the authenticator app (or a recovery code) after the password."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    user_id = session.get("pending_user")
    started = session.get("pending_at", 0)
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or time.time() - started > _PENDING_TTL_S or not user.two_factor_enabled:
        session.clear()
        flash(_("Reprenez la connexion depuis le début."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        code = form.code.data or ""
        try:
            check_throttle(user.email, request.remote_addr or "",
                           max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                           window_s=current_app.config["LOGIN_WINDOW_SECONDS"])
        except ThrottledError as exc:
            response = render("auth/second_factor.html", form=form, status=429)
            response.headers["Retry-After"] = str(exc.retry_after_s)
            return response
        if user.locked_at is None and user.active and verify_totp(user, code):
            return _finish_sign_in(user, remember=bool(session.get("pending_remember")),
                                   method="totp")
        if user.locked_at is None and user.active and use_recovery_code(user, code):
            record(user, "use_recovery_code", "user", user.id,
                   remaining=len(user.recovery_codes))
            flash(_("Code de secours utilisé. Il vous en reste %(n)s.",
                    n=len(user.recovery_codes)), "info")
            return _finish_sign_in(user, remember=bool(session.get("pending_remember")),
                                   method="recovery_code")
        db.session.add(LoginAttempt(email=user.email, remote_addr=request.remote_addr or ""))
        note_failure(user, current_app.config["LOGIN_LOCKOUT_AFTER"])
        db.session.commit()
        form.code.errors = [*form.code.errors, _("Code incorrect ou expiré.")]
        status = 401
    elif request.method == "POST":
        status = 400
    return render("auth/second_factor.html", form=form, status=status)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    """Sign out and forget the session."""
    record(current_user, "logout", "user", current_user.id)
    db.session.commit()
    # Clear first: logout_user() then marks the remember-me cookie for deletion in the session.
    session.clear()
    logout_user()
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


@bp.route("/mon-compte/double-authentification", methods=["GET", "POST"])
@login_required
def enrol() -> Response:
    """Set up an authenticator app: QR code, then a first code to confirm; recovery codes."""
    if current_user.two_factor_enabled:
        return redirect(url_for("auth.settings"))
    secret = session.get("totp_pending")
    if not isinstance(secret, str) or len(secret) != 32:
        secret = new_secret()
        session["totp_pending"] = secret
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        codes = enable(current_user, secret, form.code.data or "")
        if codes is not None:
            session.pop("totp_pending", None)
            record(current_user, "enable_2fa", "user", current_user.id)
            db.session.commit()
            return render("auth/recovery_codes.html", codes=codes,
                          next_url=_safe_next(request.args.get("next")) or url_for("core.home"))
        form.code.errors = [*form.code.errors, _("Code incorrect : vérifiez l'heure du "
                                                 "téléphone et réessayez.")]
        status = 400
    elif request.method == "POST":
        status = 400
    uri = provisioning_uri(secret, current_user.email)
    return render("auth/enrol.html", form=form, status=status, secret=secret,
                  qr=qr_data_uri(uri), required=current_user.two_factor_required)


@bp.route("/mon-compte/codes-de-secours", methods=["POST"])
@login_required
def regenerate_codes() -> Response:
    """Replace one's recovery codes (the old ones stop working), after the password."""
    form = PasswordConfirmForm()
    if not current_user.two_factor_enabled:
        abort(409, description=_("La double authentification n'est pas activée."))
    if not form.validate_on_submit() or not verify_password(current_user,
                                                            form.password.data or ""):
        flash(_("Mot de passe incorrect."), "error")
        return redirect(url_for("auth.settings"), code=303)
    codes = new_recovery_codes(current_user)
    record(current_user, "regenerate_recovery_codes", "user", current_user.id)
    db.session.commit()
    return render("auth/recovery_codes.html", codes=codes, next_url=url_for("auth.settings"))


@bp.route("/mon-compte/double-authentification/desactiver", methods=["POST"])
@login_required
def disable_two_factor() -> Response:
    """Turn one's own second factor off, where the role does not require it."""
    form = PasswordConfirmForm()
    if current_user.two_factor_required:
        abort(403, description=_("La double authentification est obligatoire pour votre rôle."))
    if not form.validate_on_submit() or not verify_password(current_user,
                                                            form.password.data or ""):
        flash(_("Mot de passe incorrect."), "error")
        return redirect(url_for("auth.settings"), code=303)
    disable(current_user)
    record(current_user, "disable_2fa", "user", current_user.id)
    db.session.commit()
    flash(_("Double authentification désactivée."), "success")
    return redirect(url_for("auth.settings"), code=303)


def _expired(now: float) -> bool:
    config = current_app.config
    if session.get("remembered"):
        return False  # the remember-me cookie carries its own, shorter, lifetime
    auth_at = session.get("auth_at")
    seen_at = session.get("seen_at")
    if not isinstance(auth_at, int | float) or not isinstance(seen_at, int | float):
        return True
    idle = config["SESSION_IDLE_SECONDS_STAFF" if current_user.is_staff
                  else "SESSION_IDLE_SECONDS"]
    return now - seen_at > idle or now - auth_at > config["SESSION_ABSOLUTE_SECONDS"]


@bp.before_app_request
def enforce_session_rules() -> Response | None:
    """Expire idle and old sessions; hold staff without a second factor at enrolment."""
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    now = time.time()
    if _expired(now):
        record(current_user, "session_expired", "user", current_user.id)
        db.session.commit()
        session.clear()
        logout_user()
        flash(_("Session expirée : reconnectez-vous."), "info")
        return None  # the view answers as to anyone signed out (redirect to the sign-in)
    if now - float(session.get("seen_at", 0)) > 30:
        session["seen_at"] = now
    if (current_user.two_factor_required and not current_user.two_factor_enabled
            and request.endpoint not in _ENROLMENT_OPEN):
        return redirect(url_for("auth.enrol", next=_safe_next(request.full_path)))
    return None


@user_loaded_from_cookie.connect
def _restored_from_cookie(sender: Any, user: User) -> None:
    """A remembered device: start a fresh session (never for staff, whose sessions expire).

    Leaving the staff session unstamped makes ``enforce_session_rules`` end it at once.
    """
    if user.two_factor_required or user.locked_at is not None:
        return
    session["auth_at"] = session["seen_at"] = time.time()
    session["remembered"] = True
