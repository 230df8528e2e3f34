"""The risk library must not pull in the web stack."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_load_web_stack() -> None:
    code = (
        "import sys, risk, risk.models, risk.explain, risk.change, risk.cohort, risk.csvio, "
        "risk.evaluate, risk.__main__\n"
        "bad = [m for m in ('flask', 'sqlalchemy', 'webapp') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
