"""scripts/bootstrap.sh keeps one install stamp for the app and the tests: run-app.sh after
run-tests.sh must not reinstall (issue 9, item 22).

The script runs for real on a copy of the project whose ``.venv/bin/python`` is a stub that
logs each call and installs nothing, so the test sees exactly which pip installs the script
would make.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASH = shutil.which("bash")

STUB = """#!/bin/sh
echo "$*" >> "$(dirname "$0")/../calls.log"
exit 0
"""

pytestmark = pytest.mark.skipif(BASH is None, reason="bootstrap.sh needs bash")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's pyproject.toml and bootstrap.sh with a stub interpreter."""
    (tmp_path / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts" / "bootstrap.sh", tmp_path / "scripts" / "bootstrap.sh")
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(STUB)
    python.chmod(0o755)
    return tmp_path


def bootstrap(project: Path, mode: str, torch_spec: str = "torch==2.13.0") -> list[str]:
    """Run ``bootstrap.sh mode``; the package installs it made (pip install lines naming
    the project or torch)."""
    log = project / ".venv" / "calls.log"
    log.unlink(missing_ok=True)
    done = subprocess.run(
        [str(BASH), str(project / "scripts" / "bootstrap.sh"), mode],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "TORCH_SPEC": torch_spec, "HOME": str(project)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines() if log.exists() else []
    return [c for c in calls if "pip install" in c and "--upgrade pip" not in c]


def stamps(project: Path) -> list[Path]:
    return sorted((project / ".venv").glob(".installed-*"))


def test_the_app_does_not_reinstall_after_the_tests(project):
    installs = bootstrap(project, "test")
    assert installs and installs[-1].endswith("-e .[test]"), installs
    assert len(stamps(project)) == 1
    assert bootstrap(project, "app") == []  # run-app.sh after run-tests.sh: nothing to do
    assert bootstrap(project, "test") == []
    assert len(stamps(project)) == 1


def test_the_tests_add_their_tools_after_the_app(project):
    assert bootstrap(project, "app")[-1].endswith("-e .")
    assert bootstrap(project, "app") == []
    installs = bootstrap(project, "test")  # the test tools are missing: install them
    assert installs and installs[-1].endswith("-e .[test]")
    assert bootstrap(project, "app") == []
    assert len(stamps(project)) == 1


def test_a_changed_pyproject_or_torch_spec_reinstalls(project):
    bootstrap(project, "test")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n# a new dependency\n")
    assert bootstrap(project, "app")[-1].endswith("-e .")
    assert bootstrap(project, "app", torch_spec="torch") != []
    assert len(stamps(project)) == 1
