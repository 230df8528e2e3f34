"""Pages fetched in the background by the service worker never touch the session cookie.

Without this, a background fetch that was already under way when the carer signed out
would answer with a fresh copy of the old session cookie and sign her back in, and every
background fetch would refresh the cookie's lifetime as if she had been using the app.
"""

from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin

PREFETCH_HEADER = "X-Tournee-Prefetch"


def is_prefetch() -> bool:
    """Return whether the service worker fetched this page in the background."""
    return request.headers.get(PREFETCH_HEADER) == "1"


class PrefetchAwareSessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, never re-sent in answer to a background fetch."""

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if is_prefetch():
            return False
        return super().should_set_cookie(app, session)
