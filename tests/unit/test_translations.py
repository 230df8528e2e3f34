"""Every French string of the interface has an English translation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from webapp.config import PROJECT_ROOT


def test_english_catalogue_covers_every_source_string(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F",
                    "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "-k", "N_", "-o", str(pot),
                    "."], cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=120)
    with pot.open("rb") as handle:
        source = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    english = PROJECT_ROOT / "webapp" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
    with english.open("rb") as handle:
        translated = {
            (m.id if isinstance(m.id, str) else m.id[0])
            for m in read_po(handle)
            if m.id and (m.string if isinstance(m.string, str) else m.string[0])
            and "fuzzy" not in m.flags
        }
    assert sorted(source - translated) == [], "run `make messages` and translate"
