"""Configuration classes; secrets and database location come from the environment only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("TOURNEE_INSTANCE", PROJECT_ROOT / "instance"))


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


class Config:
    """Production-leaning defaults; development and tests override a few."""

    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or _sqlite_url(
        INSTANCE_DIR / "tournee.sqlite3"
    )
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, object]] = {"pool_pre_ping": True}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = True
    PERMANENT_SESSION_LIFETIME = 12 * 3600
    # Send the session cookie only when the session changed: signing it for every answer was
    # a tenth of a page view's CPU. It still slides, since ``seen_at`` is rewritten after 30 s
    # of activity (webapp/auth/views.py), and idle expiry is checked on the server anyway.
    SESSION_REFRESH_EACH_REQUEST = False
    WTF_CSRF_TIME_LIMIT = None  # a carer's page may stay open all day; the session bounds it
    MAX_CONTENT_LENGTH = 1 * 1024 * 1024
    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
    LANGUAGES = ("fr", "en")
    TIMEZONE = "Europe/Paris"
    # Login throttling: failures allowed per e-mail address and per client address in the window.
    LOGIN_MAX_FAILURES = 5
    LOGIN_WINDOW_SECONDS = 15 * 60
    # Consecutive failed passwords or codes before an account locks until an admin unlocks it.
    LOGIN_LOCKOUT_AFTER = 10
    # Session expiry: idle (staff, everyone else) and absolute, in seconds. A device whose
    # carer or family member ticked "remember me" stays signed in for REMEMBER_COOKIE_DURATION.
    SESSION_IDLE_SECONDS_STAFF = 30 * 60
    SESSION_IDLE_SECONDS = 2 * 3600
    SESSION_ABSOLUTE_SECONDS = 12 * 3600
    REMEMBER_COOKIE_DURATION = 7 * 24 * 3600
    # HTTP Strict Transport Security (max-age in seconds), sent outside development only.
    HSTS_SECONDS = 365 * 24 * 3600
    GEOCODER_DOMAIN = os.environ.get("GEOCODER_DOMAIN", "data.geopf.fr/geocodage")
    GEOCODER_SCHEME = os.environ.get("GEOCODER_SCHEME", "https")
    GEOCODER_TIMEOUT = float(os.environ.get("GEOCODER_TIMEOUT", "4"))
    GEOCODER_ENABLED = os.environ.get("GEOCODER_ENABLED", "1") == "1"
    OSM_FILE = Path(os.environ.get("OSM_FILE", PROJECT_ROOT / "data" / "monaco.osm.pbf"))
    CACHE_DIR = Path(os.environ.get("TOURNEE_CACHE", INSTANCE_DIR / "cache"))
    HUEY_URL = os.environ.get("HUEY_URL", "")  # "redis://host:6379/0" scales out; empty = SQLite
    HUEY_IMMEDIATE = False
    SERVICE_PHONE = os.environ.get("SERVICE_PHONE", "")
    # Map background; the browser fetches tiles when online (nothing else needs the internet).
    MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    # Optimiser budget per day and sector, and parking/walking time added to each trip.
    ROUTING_TIME_LIMIT_S = float(os.environ.get("ROUTING_TIME_LIMIT_S", "15"))
    ROUTING_ACCESS_S = int(os.environ.get("ROUTING_ACCESS_S", "120"))
    # Web Push (webapp/push): the VAPID key made once by `flask push keys` (outside the
    # repository), the contact the push services see, and the only origins we ever POST to
    # (a forged subscription must not make the server call internal addresses).
    PUSH_VAPID_KEY_FILE = Path(os.environ.get("PUSH_VAPID_KEY_FILE",
                                              INSTANCE_DIR / "vapid_private.pem"))
    PUSH_SUBJECT = os.environ.get("PUSH_SUBJECT", "mailto:contact@tournee.example")
    PUSH_ALLOWED_ORIGINS: ClassVar[tuple[str, ...]] = tuple(
        o.strip() for o in os.environ.get("PUSH_ALLOWED_ORIGINS", "").split(",") if o.strip()
    ) or (
        "https://fcm.googleapis.com",          # Chrome, Edge, Android
        "https://updates.push.services.mozilla.com",  # Firefox
        "https://*.push.apple.com",            # Safari, iOS home-screen apps
        "https://*.notify.windows.com",        # Windows (WNS)
    )
    PUSH_TIMEOUT_S = float(os.environ.get("PUSH_TIMEOUT_S", "10"))
    PUSH_SEND_THREADS = int(os.environ.get("PUSH_SEND_THREADS", "16"))
    # A claimed delivery not finished by then (a worker died) is sent again, same Topic.
    PUSH_LEASE_S = int(os.environ.get("PUSH_LEASE_S", "60"))


class DevelopmentConfig(Config):
    """Local `make run`: plain HTTP on loopback, so cookies cannot require TLS."""

    SECRET_KEY = os.environ.get("SECRET_KEY") or "dev-only-not-secret"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    HSTS_SECONDS = 0  # plain HTTP on loopback: a browser must not pin it to HTTPS


class TestConfig(DevelopmentConfig):
    """Tests: a real SQLite file chosen by the test, no network geocoding."""

    TESTING = True
    SECRET_KEY = "test-only-not-secret"  # noqa: S105
    GEOCODER_ENABLED = False
    HUEY_IMMEDIATE = True
    LOGIN_MAX_FAILURES = 5
    ROUTING_TIME_LIMIT_S = 2.0
    # No test reaches a real tile server: this address refuses connections.
    MAP_TILE_URL = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"
    # Only the local test push service (tests/pushservice.py, on loopback) is ever called.
    PUSH_ALLOWED_ORIGINS = ("http://127.0.0.1:*",)
    PUSH_TIMEOUT_S = 5.0
