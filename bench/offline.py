"""Offline budget of a carer's phone: bytes of JS and CSS, and the offline reload time.

    python -m bench.offline [--reloads N]

Serves the demo SAAD, signs in the demo carer in headless Debian Chromium (phone
viewport), lets the service worker cache her day, then:

* lists every script and stylesheet "Ma journée" and a visit page load (plus the service
  worker itself), with raw and gzip -9 sizes; the total is what a carer page costs;
* cuts the network and reloads "Ma journée" N times, timing from the reload to the first
  visit of the list being visible (wall clock, and the browser's navigation timing).

Last line: ``SUMMARY offline js_css_gz_kb=.. offline_reload_ms=..`` (median reload).
Targets: <= 60 KB and <= 500 ms.
"""

from __future__ import annotations

import argparse
import gzip
import re
import statistics
import time
from html.parser import HTMLParser

from playwright.sync_api import sync_playwright

from bench._demo_server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    demo_server,
    signed_in_session,
)
from webapp.demo.services import DEMO_LOGINS, DEMO_PASSWORD


class Assets(HTMLParser):
    """Collect the scripts and stylesheets a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.urls.append(str(a["src"]))
        if tag == "link" and a.get("rel") == "stylesheet" and a.get("href"):
            self.urls.append(str(a["href"]))


def main() -> None:
    """Measure and print the offline figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reloads", type=int, default=7)
    args = parser.parse_args()
    with demo_server() as base:
        session = signed_in_session(base, DEMO_LOGINS["carer"], DEMO_PASSWORD)
        day = session.get(f"{base}/ma-journee", timeout=30).text
        visit = re.search(r'href="(/visites/\d+)"', day)
        assert visit, "the demo carer has no visit today"
        urls: list[str] = []
        for html in (day, session.get(f"{base}{visit.group(1)}", timeout=30).text):
            found = Assets()
            found.feed(html)
            urls += [u for u in found.urls if u not in urls]
        urls.append("/sw.js")
        total_raw = total_gz = 0
        for url in urls:
            body = session.get(f"{base}{url}", timeout=30).content
            packed = len(gzip.compress(body, compresslevel=9))
            total_raw += len(body)
            total_gz += packed
            print(f"file {url:<32} raw={len(body) / 1024:6.1f} KB  gzip={packed / 1024:5.1f} KB")
        print(f"total JS+CSS of a carer page (incl. the service worker): "
              f"raw={total_raw / 1024:.1f} KB gzip={total_gz / 1024:.1f} KB")

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(**PHONE)
            page = context.new_page()
            page.goto(f"{base}/login")
            page.get_by_label("Adresse e-mail").fill(DEMO_LOGINS["carer"])
            page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Se connecter").click()
            page.wait_for_url(lambda u: "/login" not in u)
            page.wait_for_function("() => navigator.serviceWorker.controller !== null",
                                   timeout=60_000)
            page.wait_for_function("() => document.querySelector('#sync').dataset.synced",
                                   timeout=60_000)
            context.set_offline(True)
            walls, navs = [], []
            for _ in range(args.reloads):
                began = time.perf_counter()
                page.reload(wait_until="commit")
                page.locator("ol.visits li").first.wait_for(state="visible")
                walls.append((time.perf_counter() - began) * 1000)
                navs.append(page.evaluate(
                    "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"))
                assert page.locator("#sync [data-net]").inner_text() == "Hors ligne"
            browser.close()
        print("offline reloads (wall ms): " + " ".join(f"{w:.0f}" for w in walls))
        print("offline reloads (DOMContentLoaded ms): " + " ".join(f"{n:.0f}" for n in navs))
        print(f"SUMMARY offline js_css_gz_kb={total_gz / 1024:.1f} "
              f"offline_reload_ms={statistics.median(walls):.0f}")


if __name__ == "__main__":
    main()
