"""What a phone keeps offline: the app shell (hashed static files) and a carer's own days."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

from flask import url_for

from webapp.carers.models import Carer
from webapp.config import PROJECT_ROOT
from webapp.visits.services import carer_day

STATIC_DIR = PROJECT_ROOT / "static"
SW_SOURCE = PROJECT_ROOT / "service_worker" / "sw.js"
# What the shell holds: everything a carer page loads, and the icons of the manifest.
SHELL_GLOBS = ("css/*.css", "js/*.js", "vendor/*.js", "icons/*.png")


def shell_files() -> list[Path]:
    """Return the static files of the app shell, in a stable order."""
    files: set[Path] = set()
    for pattern in SHELL_GLOBS:
        files.update(p for p in STATIC_DIR.glob(pattern) if p.is_file())
    return sorted(files)


def shell_manifest(salt: str = "") -> tuple[str, list[str]]:
    """Return the shell's version (a hash of its files and the worker) and its URLs."""
    digest = hashlib.sha256(salt.encode())
    urls = []
    for path in shell_files():
        relative = path.relative_to(STATIC_DIR).as_posix()
        digest.update(relative.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
        urls.append(url_for("static", filename=relative))
    digest.update(SW_SOURCE.read_bytes())
    return digest.hexdigest()[:16], urls


def carer_pages(carer: Carer, today: date) -> list[str]:
    """Return the URLs of ``carer``'s today and tomorrow: day lists, visits and their
    observation forms, client sheets."""
    urls = [url_for("visits.today")]
    clients: list[int] = []
    for day in (today, today + timedelta(days=1)):
        urls.append(url_for("visits.today", date=day.isoformat()))
        for visit in carer_day(carer, day):
            urls.append(url_for("visits.detail", visit_id=visit.id))
            urls.append(url_for("observations.edit", visit_id=visit.id))
            if visit.client_id not in clients:
                clients.append(visit.client_id)
    urls += [url_for("clients.detail", client_id=c) for c in clients]
    return urls
