"""Tournée web app: the application factory."""

from __future__ import annotations

import os
import sqlite3
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, g, request, session
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.routing import IntegerConverter

from webapp.config import INSTANCE_DIR, PROJECT_ROOT, Config, DevelopmentConfig
from webapp.extensions import babel, csrf, db, login_manager, migrate


class BoundedIntConverter(IntegerConverter):
    """The ``int`` URL converter, capped at the largest id a row can have."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(config: type[Config] | dict[str, Any] | None = None) -> Flask:
    """Build the Flask application.

    ``config`` is a config class, a mapping of overrides applied on top of the default,
    or None for the environment's default (development unless ``TOURNEE_ENV=production``).
    """
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(INSTANCE_DIR),
    )
    default = Config if os.environ.get("TOURNEE_ENV") == "production" else DevelopmentConfig
    if isinstance(config, type):
        app.config.from_object(config)
    else:
        app.config.from_object(default)
        if config:
            app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY must be set in the environment in production")
    os.makedirs(app.instance_path, exist_ok=True)

    # Ids beyond 32 bits are not ours: answer 404 instead of overflowing the database driver.
    app.url_map.converters["int"] = BoundedIntConverter
    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)
    _register_hooks(app)
    return app


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """Turn on WAL, foreign keys and a busy timeout on every SQLite connection."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _init_extensions(app: Flask) -> None:
    if str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
        from webapp.sqlite_gate import GatedConnection

        options = app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})
        # A local file cannot drop a connection: no "SELECT 1" before every checkout. Writers
        # queue at the gate instead of in SQLite's sleeping retries (webapp/sqlite_gate.py).
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **options, "pool_pre_ping": False,
            "connect_args": {**options.get("connect_args", {}), "factory": GatedConnection}}
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Connectez-vous pour continuer."
    login_manager.login_message_category = "info"
    login_manager.localize_callback = gettext
    login_manager.session_protection = "strong"
    babel.init_app(
        app,
        locale_selector=_select_locale,
        timezone_selector=lambda: app.config["TIMEZONE"],
        default_translation_directories=str(PROJECT_ROOT / "webapp" / "translations"),
    )

    from webapp import policy
    from webapp.auth.models import User
    from webapp.carers.models import Carer

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        if not user_id.isdigit():
            return None
        # Every page of a carer needs her carer profile too: one query for both.
        row = db.session.execute(
            sa.select(User, Carer).outerjoin(Carer, Carer.user_id == User.id)
            .where(User.id == int(user_id))).first()
        if row is None:
            return None
        user, carer = row
        if user.role == "carer":
            policy.remember_carer(user, carer)
        return user

    from webapp import tasks

    tasks.init_app(app)


def _select_locale() -> str:
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return str(current_user.locale)
    chosen = session.get("locale")
    if chosen in languages:
        return str(chosen)
    return request.accept_languages.best_match(languages) or "fr"


def _register_blueprints(app: Flask) -> None:
    from webapp.accounts.views import bp as accounts_bp
    from webapp.alerts.views import bp as alerts_bp
    from webapp.audit.views import bp as audit_bp
    from webapp.auth.views import bp as auth_bp
    from webapp.careplans.views import bp as careplans_bp
    from webapp.carers.views import bp as carers_bp
    from webapp.clients.views import bp as clients_bp
    from webapp.core.views import bp as core_bp
    from webapp.family.views import bp as family_bp
    from webapp.gdpr.views import bp as gdpr_bp
    from webapp.observations.views import bp as observations_bp
    from webapp.offline.views import bp as offline_bp
    from webapp.push.views import bp as push_bp
    from webapp.rounds.views import bp as rounds_bp
    from webapp.visits.views import bp as visits_bp

    for bp in (core_bp, auth_bp, visits_bp, clients_bp, carers_bp, careplans_bp, rounds_bp,
               family_bp, accounts_bp, offline_bp, observations_bp, alerts_bp, audit_bp,
               gdpr_bp, push_bp):
        app.register_blueprint(bp)


def _register_cli(app: Flask) -> None:
    from webapp.alerts.cli import alerts_cli
    from webapp.audit.cli import audit_cli
    from webapp.backup import backup_command, restore_command
    from webapp.demo.cli import demo_cli
    from webapp.gdpr.cli import gdpr_cli
    from webapp.push.cli import push_cli
    from webapp.visits.cli import visits_cli

    app.cli.add_command(alerts_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(demo_cli)
    app.cli.add_command(push_cli)
    app.cli.add_command(gdpr_cli)
    app.cli.add_command(restore_command)
    app.cli.add_command(visits_cli)


def _register_hooks(app: Flask) -> None:
    from webapp.core.errors import register_error_handlers
    from webapp.core.templating import register_template_helpers

    register_error_handlers(app)
    register_template_helpers(app)

    @app.after_request
    def security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        # Geolocation stays for check-in (the app's own origin); every other feature is off.
        response.headers.setdefault(
            "Permissions-Policy",
            "geolocation=(self), camera=(), microphone=(), payment=(), usb=(), "
            "interest-cohort=()",
        )
        if app.config.get("HSTS_SECONDS"):
            response.headers.setdefault(
                "Strict-Transport-Security",
                f"max-age={app.config['HSTS_SECONDS']}; includeSubDomains")
        tiles = "{0.scheme}://{0.netloc}".format(urlsplit(app.config["MAP_TILE_URL"]))
        response.headers.setdefault(
            "Content-Security-Policy",
            f"default-src 'self'; img-src 'self' data: {tiles}; "
            "script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'",
        )
        if getattr(g, "private_page", False) or response.mimetype == "text/html":
            # Care data must not be kept by shared caches or the back/forward cache of others.
            response.headers.setdefault("Cache-Control", "no-store")
        return response
