"""Windows still open when the interpreter exits (a script's ``explore(block=False)``, a
test's window) are freed first, their jobs stopped. Left to the interpreter's teardown,
a window's pyqtgraph scenes were destroyed after parts of Python they call back into: a
segfault at about one such exit in five."""

from __future__ import annotations

import atexit
import traceback
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .main_window import MainWindow

EXIT_WAIT_MS = 5000  # for the jobs of all the windows together
_open: weakref.WeakSet[MainWindow] = weakref.WeakSet()


def free_at_exit(window: MainWindow) -> None:
    """Free ``window`` at the interpreter's exit if it still exists then."""
    if not _open:
        atexit.unregister(_free_open_windows)  # (registered once)
        atexit.register(_free_open_windows)
    _open.add(window)


def _free_open_windows() -> None:
    from shiboken6 import delete, isValid

    from .ending import stop_jobs

    for window in list(_open):
        if not isValid(window):
            continue
        try:
            if window.views_ready:
                stop_jobs(window, EXIT_WAIT_MS)
            delete(window)
        except Exception:  # (the interpreter is ending: say it, go on with the others)
            traceback.print_exc()
