"""The routing and risk libraries stay pure: no Flask, SQLAlchemy or webapp."""

from __future__ import annotations

import subprocess
import sys

import pytest

from webapp.config import PROJECT_ROOT

CHECK = (
    "import importlib, pkgutil, sys\n"
    "pkg = importlib.import_module('{name}')\n"
    "for info in pkgutil.walk_packages(pkg.__path__, '{name}.'):\n"
    "    if not info.name.endswith('__main__'):\n"
    "        importlib.import_module(info.name)\n"
    "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'webapp',"
    " 'flask_sqlalchemy', 'werkzeug'))\n"
    "print(','.join(bad))\n"
)


@pytest.mark.parametrize("name", ["routing", "risk"])
def test_library_imports_without_web_stack(name: str) -> None:
    result = subprocess.run([sys.executable, "-c", CHECK.format(name=name)], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, check=True, timeout=120)
    assert result.stdout.strip() == ""


def test_check_detects_an_impure_import() -> None:
    # The same probe must see flask when it is imported, or the test above proves nothing.
    probe = "import flask, sys; print('flask' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.strip() == "True"
