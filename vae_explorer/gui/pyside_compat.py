"""Work around a PySide6 6.12 reference-count bug on Python < 3.12 (applied on import).

Shiboken 6.12 returns ``None`` (and, from some calls, ``True``/``False``) without taking
a new reference, as if they were immortal; they are only immortal from Python 3.12 on
(PEP 683). On 3.11 every void Qt call (``update()``, ``setText()``, ``processEvents()``)
therefore drops one reference to ``None``, and after a few thousand calls the interpreter
aborts with "Fatal Python error: none_dealloc". Giving the three singletons a huge
reference count makes them effectively immortal, as they are on 3.12+.
"""

from __future__ import annotations

import ctypes
import sys

_BOOST = 1 << 40  # ~1e12 unbalanced calls before a singleton could reach zero
_applied = False


def make_singletons_immortal() -> bool:
    """Raise the reference counts of None, True and False once; True if it did so."""
    global _applied
    if _applied or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    for obj in (None, True, False):
        # ob_refcnt is the first field of every CPython object (Py_ssize_t).
        ctypes.c_ssize_t.from_address(id(obj)).value += _BOOST
    _applied = True
    return True


make_singletons_immortal()
