"""A small htmx helper: tell fragments from pages, and always vary on HX-Request."""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template, request


def is_htmx() -> bool:
    """Return whether htmx made this request."""
    return request.headers.get("HX-Request") == "true"


def wants_fragment() -> bool:
    """Return whether htmx asked for a fragment (not a boosted page or history restore)."""
    headers = request.headers
    return (
        is_htmx()
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def render(page: str, fragment: str | None = None, status: int = 200, **context: Any) -> Response:
    """Render ``fragment`` for htmx fragment requests, else the full ``page``."""
    template = fragment if fragment and wants_fragment() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def hx_redirect(location: str) -> Response:
    """Redirect after a successful POST (303, so the browser follows with a GET).

    htmx follows it too: the XHR re-sends ``HX-Request``, so the target gets the fragment
    of the same URL and a boosted form gets the full page. No htmx-only response needed.
    """
    response = make_response("", 303)
    response.headers["Location"] = location
    response.vary.add("HX-Request")
    return response
