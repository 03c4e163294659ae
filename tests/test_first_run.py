"""The desktop check before the window: no display, missing xcb libraries (simulated with
fake ldd output and a fake ldd on PATH), and the cases it must leave alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vae_explorer.gui import first_run
from vae_explorer.gui.first_run import EXIT_NO_DESKTOP, check_desktop, missing_libraries

ROOT = Path(__file__).resolve().parents[1]
LDD_MISSING = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /x/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f1)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-cursor.so.0 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f2)
"""


@pytest.fixture
def plugins(tmp_path) -> Path:
    """A platforms folder with the xcb and wayland plugins (empty files: ldd is faked)."""
    folder = tmp_path / "platforms"
    folder.mkdir()
    (folder / "libqxcb.so").write_bytes(b"")
    (folder / "libqwayland.so").write_bytes(b"")
    return folder


def _check(env, plugins, ldd_output=LDD_MISSING, platform="linux"):
    calls = []

    def ldd(path):
        calls.append(path)
        return ldd_output

    return check_desktop(env, platform, plugins, ldd), calls


def test_missing_xcb_libraries_name_the_packages_and_commands(plugins):
    problem, calls = _check({"DISPLAY": ":0"}, plugins)
    assert calls == [plugins / "libqxcb.so"]  # ldd once, on Qt's X11 plugin
    assert problem is not None and problem.exit_code == EXIT_NO_DESKTOP != 0
    text = problem.message
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4, libxcb-keysyms.so.1." in text
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in text
    assert "sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms" in text
    assert "train" in text and "Reinstalling" not in text


def test_an_unknown_library_is_named_with_how_to_find_its_package(plugins):
    problem, _ = _check({"DISPLAY": ":0"}, plugins, "\tlibweird.so.3 => not found\n")
    assert "libweird.so.3" in problem.message and "apt-file search" in problem.message
    assert "apt-get install" not in problem.message


def test_no_display_says_so_and_points_at_the_headless_commands(plugins):
    problem, calls = _check({}, plugins)
    assert calls == []  # no display: the libraries do not matter yet
    assert problem.exit_code != 0
    assert "no display" in problem.message and "DISPLAY" in problem.message
    for command in ("train", "eval", "figures", "gaps"):
        assert command in problem.message


@pytest.mark.parametrize(
    "env",
    [
        {"QT_QPA_PLATFORM": "offscreen"},
        {"QT_QPA_PLATFORM": "minimal"},
        {"QT_QPA_PLATFORM": "vnc:size=800x600"},
        {"WAYLAND_DISPLAY": "wayland-0"},
        {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"},
        {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland"},
        {"VAE_EXPLORER_SKIP_DESKTOP_CHECK": "1"},
    ],
)
def test_no_check_where_qt_needs_no_xcb(plugins, env):
    problem, calls = _check(env, plugins)
    assert problem is None and calls == []


def test_xcb_on_an_x11_session_with_wayland_available_is_still_checked(plugins):
    problem, calls = _check(
        {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, plugins
    )
    assert problem is not None and len(calls) == 1


def test_a_complete_system_and_other_platforms_pass(plugins):
    assert _check({"DISPLAY": ":0"}, plugins, "\tlibc.so.6 => /lib/libc.so.6 (0x1)\n")[0] is None
    assert _check({}, plugins, platform="darwin")[0] is None
    assert _check({"DISPLAY": ":0"}, plugins, "")[0] is None  # ldd missing or failing: let Qt try


def test_missing_libraries_parses_ldd_lines():
    assert missing_libraries(LDD_MISSING) == [
        "libxcb-cursor.so.0",
        "libxcb-icccm.so.4",
        "libxcb-keysyms.so.1",
    ]


def test_the_check_imports_neither_qt_nor_torch():
    code = (
        "import sys, vae_explorer.gui.first_run as f; f.check_desktop(); "
        "print(sorted({'torch', 'PySide6'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


@pytest.fixture
def fake_ldd(tmp_path) -> dict[str, str]:
    """An environment whose `ldd` says three xcb libraries are missing, on an X11 display."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ldd = bin_dir / "ldd"
    ldd.write_text("#!/bin/sh\ncat <<'EOF'\n" + LDD_MISSING + "EOF\n")
    ldd.chmod(0o755)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM", first_run.SKIP_ENV)
    }
    return {**env, "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", "DISPLAY": ":99"}


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or first_run.qt_platforms_dir() is None, reason="Linux + PySide6"
)
def test_the_module_and_run_app_report_a_missing_library_with_a_fake_ldd(fake_ldd, tmp_path):
    mod = subprocess.run(
        [sys.executable, "-m", "vae_explorer.gui.first_run"],
        env=fake_ldd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert mod.returncode == EXIT_NO_DESKTOP
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in mod.stderr
    code = "import sys; from vae_explorer.gui.app import run_app; sys.exit(run_app(None))"
    env = {**fake_ldd, "VAE_EXPLORER_SETTINGS": str(tmp_path / "s.ini")}
    app = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert app.returncode == EXIT_NO_DESKTOP and "sudo dnf install xcb-util-cursor" in app.stderr
    assert "Could not load the Qt platform plugin" not in app.stderr  # stopped before Qt tried


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")
def test_run_app_sh_stops_with_the_message(fake_ldd, tmp_path):
    """scripts/run-app.sh in a copy of the project whose bootstrap is a no-op."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "run-app.sh", project / "scripts" / "run-app.sh")
    (project / "scripts" / "bootstrap.sh").write_text("#!/bin/sh\nexit 0\n")
    (project / "scripts" / "bootstrap.sh").chmod(0o755)
    (project / ".venv").symlink_to(Path(sys.executable).parents[1])
    no_display = {k: v for k, v in fake_ldd.items() if k != "DISPLAY"}
    for env, expected in ((fake_ldd, "libxcb-cursor0"), (no_display, "no display")):
        done = subprocess.run(
            ["bash", str(project / "scripts" / "run-app.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == EXIT_NO_DESKTOP, done.stderr
        assert expected in done.stderr
