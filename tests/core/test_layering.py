"""The architecture rule: vae_explorer.core never imports Qt or the GUI package."""

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "vae_explorer" / "core"
FORBIDDEN = ("PySide6", "pyqtgraph", "shiboken6", "vae_explorer.gui", "PyQt5", "PyQt6")


def test_core_sources_import_no_qt():
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
                if node.level and (node.module or "").startswith("gui"):
                    names.append("vae_explorer.gui")
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(FORBIDDEN)]
    assert not offenders, offenders


def test_importing_core_loads_no_qt_module():
    code = (
        "import sys, pkgutil, importlib, vae_explorer.core as c\n"
        "for m in pkgutil.iter_modules(c.__path__): importlib.import_module('vae_explorer.core.' + m.name)\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'vae_explorer.gui'))]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
