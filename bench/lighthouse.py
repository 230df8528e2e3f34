"""Lighthouse 12 (mobile) on a signed-in carer's "Ma journée" and one of her visits.

    python -m bench.lighthouse [--runs N]

Needs `npm ci` (lighthouse@12 in node_modules) and Debian's Chromium. The carer's session
cookie is passed with --extra-headers. Prints the four category scores per page and run,
then `SUMMARY lighthouse ...` with the lowest score of each category over all runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

from bench._demo_server import CHROMIUM, CHROMIUM_ARGS, demo_server, signed_in_session
from webapp.config import PROJECT_ROOT
from webapp.demo.services import DEMO_LOGINS, DEMO_PASSWORD

LIGHTHOUSE = PROJECT_ROOT / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def run_lighthouse(url: str, cookie: str, out: Path) -> dict[str, float]:
    """Run Lighthouse once with its default mobile settings; return the category scores."""
    flags = " ".join(["--headless=new", *CHROMIUM_ARGS])
    subprocess.run([str(LIGHTHOUSE), url, "--quiet", f"--chrome-flags={flags}",
                    f"--only-categories={','.join(CATEGORIES)}", "--output=json",
                    f"--output-path={out}", f"--extra-headers={json.dumps({'Cookie': cookie})}"],
                   check=True, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=300)
    report = json.loads(out.read_text())
    if report.get("runtimeError"):
        raise RuntimeError(report["runtimeError"])
    final = report.get("finalDisplayedUrl") or report.get("finalUrl", "")
    if "/login" in final:
        raise RuntimeError(f"Lighthouse was not signed in: {final}")
    return {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}


def main() -> None:
    """Score the carer's pages and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    worst = dict.fromkeys(CATEGORIES, 100)
    with demo_server() as base, tempfile.TemporaryDirectory() as folder:
        session = signed_in_session(base, DEMO_LOGINS["carer"], DEMO_PASSWORD)
        day = session.get(f"{base}/ma-journee", timeout=30).text
        visit = re.search(r'href="(/visites/\d+)"', day)
        if visit is None:
            raise RuntimeError("the demo carer has no visit today")
        cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
        for name, path in (("ma-journee", "/ma-journee"), ("visite", visit.group(1))):
            for run in range(args.runs):
                scores = run_lighthouse(f"{base}{path}", cookie,
                                        Path(folder) / f"{name}-{run}.json")
                print(f"{name:<11} run {run + 1}: " +
                      " ".join(f"{c}={s}" for c, s in scores.items()), flush=True)
                worst = {c: min(worst[c], scores[c]) for c in CATEGORIES}
    print("SUMMARY lighthouse " + " ".join(f"{c.replace('-', '_')}_min={worst[c]}"
                                           for c in CATEGORIES))


if __name__ == "__main__":
    main()
