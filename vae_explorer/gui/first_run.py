"""Before the window: is there a desktop Qt can open a window on? (Linux only.)

Qt's own answer to a missing display or a missing xcb library is an abort with "Could not
load the Qt platform plugin ... Reinstalling the application may fix this problem", which
tells a user nothing. This check runs before the QApplication exists (in ``run_app`` and
``scripts/run-app.sh``) and says what is wrong and what to do:

- no DISPLAY and no WAYLAND_DISPLAY: there is no desktop; the command-line tools work
  headless;
- libraries of Qt's X11 plugin (``libqxcb.so``) missing: ``ldd`` lists them as "not found";
  the message names the Debian/Ubuntu and Fedora packages and the install commands.

Standard library only (no Qt, no torch), one ``ldd`` run (~20 ms): it costs nothing
measurable at start-up. Skipped where Qt needs no desktop (QT_QPA_PLATFORM=offscreen,
minimal, vnc, eglfs, linuxfb...), on Wayland when the Wayland plugin is there, and when
VAE_EXPLORER_SKIP_DESKTOP_CHECK=1. ``python -m vae_explorer.gui.first_run`` runs it alone.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

EXIT_NO_DESKTOP = 2  # the CLI's "bad input" status: the environment cannot show a window
SKIP_ENV = "VAE_EXPLORER_SKIP_DESKTOP_CHECK"
# Platforms that draw without a desktop session.
HEADLESS_PLATFORMS = ("offscreen", "minimal", "minimalegl", "vnc", "eglfs", "linuxfb", "vkkhrdisplay")
HEADLESS_COMMANDS = "train, eval, figures, gaps"
LDD_TIMEOUT_S = 10

# soname -> (Debian/Ubuntu package, Fedora package). The first rows are the ones a fresh
# desktop install usually lacks (Qt >= 6.5 needs libxcb-cursor0).
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libGLX.so.0": ("libglx0", "libglvnd-glx"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
}


@dataclass(frozen=True)
class DesktopProblem:
    """Why no window can open, as one message for the user, and the exit status."""

    message: str
    exit_code: int = EXIT_NO_DESKTOP


def qt_platforms_dir() -> Path | None:
    """PySide6's platform plugin folder, found without importing PySide6."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        folder = Path(root) / "Qt" / "plugins" / "platforms"
        if folder.is_dir():
            return folder
    return None


def run_ldd(library: Path) -> str:
    """``ldd library``'s output ('' when ldd is missing or fails: then nothing is reported)."""
    try:
        done = subprocess.run(
            ["ldd", str(library)], capture_output=True, text=True, timeout=LDD_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout


def missing_libraries(ldd_output: str) -> list[str]:
    """The sonames ldd could not find ("libfoo.so.1 => not found"), in order, once each."""
    missing: list[str] = []
    for line in ldd_output.splitlines():
        name, sep, where = line.strip().partition("=>")
        if sep and where.strip() == "not found" and name.strip() not in missing:
            missing.append(name.strip())
    return missing


def no_display_message() -> str:
    return (
        "VAE Explorer cannot open its window: there is no display (neither DISPLAY nor "
        "WAYLAND_DISPLAY is set; this looks like an SSH session, a container or a server).\n"
        "Run it from a desktop session, or forward X11 (ssh -X). Everything except the window "
        f"works headless: vae-explorer {{{HEADLESS_COMMANDS.replace(', ', ',')}}} "
        "(see vae-explorer --help), e.g.\n"
        "  vae-explorer train --dataset mnist --epochs 50 --out my-model.safetensors\n"
        "  vae-explorer eval my-model.safetensors\n"
        "  vae-explorer figures my-model.safetensors --out figures/"
    )


def missing_libraries_message(missing: list[str]) -> str:
    debian: list[str] = []
    fedora: list[str] = []
    unknown: list[str] = []
    for soname in missing:
        if soname in PACKAGES:
            deb, rpm = PACKAGES[soname]
            debian += [deb] if deb not in debian else []
            fedora += [rpm] if rpm not in fedora else []
        else:
            unknown.append(soname)
    lines = [
        "VAE Explorer cannot open its window: Qt's X11 (xcb) platform plugin needs "
        f"{'a library' if len(missing) == 1 else 'libraries'} this system lacks: {', '.join(missing)}.",
    ]
    if debian:
        lines += [
            "Install them, then start the app again:",
            f"  Debian/Ubuntu: sudo apt-get install {' '.join(debian)}",
            f"  Fedora:        sudo dnf install {' '.join(fedora)}",
        ]
    if unknown:
        lines.append(
            f"Find the package of {', '.join(unknown)} with `apt-file search NAME` (Debian/Ubuntu) "
            "or `dnf provides '*/NAME'` (Fedora)."
        )
    lines.append(
        f"The command-line tools work without them: vae-explorer {{{HEADLESS_COMMANDS.replace(', ', ',')}}} "
        "(see vae-explorer --help)."
    )
    return "\n".join(lines)


def check_desktop(
    env: Mapping[str, str] | None = None,
    platform: str | None = None,
    platforms_dir: Path | None = None,
    ldd: Callable[[Path], str] = run_ldd,
) -> DesktopProblem | None:
    """What stops Qt from opening a window here, or None (go ahead).

    The parameters default to this process (environment, ``sys.platform``, PySide6's plugin
    folder, the real ``ldd``); tests pass their own.
    """
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux") or env.get(SKIP_ENV) == "1":
        return None
    requested = env.get("QT_QPA_PLATFORM", "").strip().lower()
    first = requested.split(";")[0].split(":")[0]
    if first in HEADLESS_PLATFORMS:
        return None
    x11, wayland = bool(env.get("DISPLAY")), bool(env.get("WAYLAND_DISPLAY"))
    if not x11 and not wayland:
        return DesktopProblem(no_display_message())
    folder = qt_platforms_dir() if platforms_dir is None else platforms_dir
    if folder is None:
        return None  # PySide6 itself is missing: its import error says so
    has_wayland_plugin = any(folder.glob("libqwayland*.so"))
    # Qt takes Wayland when asked, or in a Wayland session; then xcb's libraries do not matter.
    if wayland and has_wayland_plugin and (first.startswith("wayland") or not x11 or _wayland_session(env)):
        return None
    plugin = folder / "libqxcb.so"
    if not plugin.is_file():
        return None
    missing = missing_libraries(ldd(plugin))
    return DesktopProblem(missing_libraries_message(missing)) if missing else None


def _wayland_session(env: Mapping[str, str]) -> bool:
    return env.get("XDG_SESSION_TYPE", "").lower() == "wayland" and not env.get("QT_QPA_PLATFORM")


def main() -> int:
    """Print the problem (if any) on stderr; the exit status says whether the window can open."""
    problem = check_desktop()
    if problem is None:
        return 0
    print(problem.message, file=sys.stderr)
    return problem.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
