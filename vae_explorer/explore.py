"""``explore(model, images)``: open the explorer on your own VAE, from a script or a notebook.

The model is any torch module with ``encode(x) -> (mu, logvar)`` and ``decode(z) -> mean
image in [0, 1]`` for 28 x 28 images (see :mod:`vae_explorer.core.external`; the error
says what is missing when it does not follow that protocol). ``images`` are the points of
the scatter: [N, 784], [N, 28, 28] or [N, 1, 28, 28], floats in [0, 1] or uint8 0-255
(numpy or torch).
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .core.data import Dataset
    from .gui.window import MainWindow

CHECK_IMAGES = 256  # a real batch as large as a latent grid's decode (15 x 15)


def explore(
    model: Any,
    images: Any,
    labels: Any = None,
    class_names: Iterable[str] | None = None,
    block: bool = True,
) -> MainWindow:
    """Open VAE Explorer on ``model`` with ``images`` (and their integer ``labels`` and
    ``class_names``, if any: a list, tuple, numpy array... of names) as the test set.

    ``block=True`` runs the window until it is closed (a script); ``block=False`` shows it
    and returns at once (a notebook with a running Qt event loop, e.g. ``%gui qt``, or
    tests). Returns the window; once closed, Qt frees it (use it only while it is open).
    Raises ExternalModelError (the model) or ValueError (the images or labels) with a
    message naming what is wrong.
    """
    test_set = as_dataset(images, labels, class_names)
    wrapped = _explorable(model, test_set.images[:CHECK_IMAGES])

    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(["vae-explorer"])
    elif not isinstance(app, QApplication):
        raise RuntimeError("explore() needs a QApplication; a bare QGuiApplication is running")
    from .gui.theme import configure_pyqtgraph
    from .gui.window import MainWindow

    configure_pyqtgraph()
    window = MainWindow(load_default=False, fallback=False)
    # Freed once closed: the views' connections hold the window in cycles through Qt that
    # Python's collector cannot see, so each closed window kept its test set and views
    # (17-43 MB) for the rest of a notebook session.
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    try:
        window.show_external(wrapped, test_set)  # encodes every image: ExternalModelError
    except Exception:
        window.close()
        raise
    _report_errors_in(window, app)
    window.show()
    if block:
        app.exec()
        _release_hook(window)  # (app.quit() ends the loop without closing the window)
    return window


def _explorable(model: Any, images: Any) -> Any:
    """The checked model (core.external), with prior samples for the Samples dock.

    The protocol's probe uses 3 random images; a model can still fail on a real batch
    (NaN, another shape): ``images`` are encoded and decoded once here, so such a model
    is refused with the reason before a window opens, not in each view that draws."""
    import torch

    from .core.external import ExternalModel, wrap_external
    from .core.latent import decode_latents, encode_images

    class ExploredModel(ExternalModel):
        def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
            """Mean images [n, 784] of n draws z ~ N(0, I) (the usual VAE prior)."""
            z = torch.randn((n, self.latent_dim), generator=generator)
            return self.decode(z)

    checked = wrap_external(model)
    explored: Any = ExploredModel(checked.module, checked.latent_dim, checked.image_layout)
    mu, _ = encode_images(explored, images)
    decode_latents(explored, mu)
    return explored


# The app's exception hook while explore() windows are open (gui/app.py): an error raised in
# a view (the user's decode failing on a far code) goes to the window, not a bare traceback
# on stderr. explore() runs in someone's session (a notebook): their hook comes back when
# the last window closes.
_hook: dict[str, Any] = {"previous": None, "installed": None}
_hooked_windows: list[MainWindow] = []  # open, so far as known


def _report_errors_in(window: MainWindow, app: Any) -> None:
    """Install the app's exception hook for ``window`` (once for all open explore()
    windows), and put the previous hook back once the last of them has closed."""
    from PySide6.QtCore import QEvent, QObject

    from .gui.app import collect_garbage_on_gui_thread, install_exception_hook

    # A collection in a worker thread (the posterior's, the colours') destroys unreachable
    # Qt objects there and can deadlock or crash the process: the GUI thread collects.
    if collect_garbage_on_gui_thread():
        _hook["gc"] = True  # (turned on here: off again with the last window)
    if not _hooked_windows or sys.excepthook is not _hook["installed"]:
        _hook["previous"] = sys.excepthook
        install_exception_hook(app)
        _hook["installed"] = sys.excepthook
    _hooked_windows.append(window)

    class ReleaseOnClose(QObject):  # (holds no reference to the window: no cycle keeps it)
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
            # A close that went through hides the window (a minimised one is not closing).
            if event.type() == QEvent.Type.Hide and getattr(watched, "closing", False):
                _release_hook(watched)
            return False

    window.installEventFilter(ReleaseOnClose(window))


def _release_hook(window: Any) -> None:
    """``window`` has closed: the previous exception hook is back once no explore() window
    is open (unless someone replaced the app's hook meanwhile: theirs stays)."""
    from shiboken6 import isValid

    if not any(w is window for w in _hooked_windows):
        return
    _hooked_windows[:] = [w for w in _hooked_windows if w is not window and isValid(w) and not w.closing]
    if not _hooked_windows:
        if _hook.pop("gc", False):
            from .gui.app import restore_automatic_garbage_collection

            restore_automatic_garbage_collection()
        if sys.excepthook is _hook["installed"]:
            sys.excepthook = _hook["previous"]
        _hook["previous"] = _hook["installed"] = None


def as_dataset(images: Any, labels: Any = None, class_names: Iterable[str] | None = None) -> Dataset:
    """The user's images (and labels) as the app's test set: uint8 [N, 28, 28]."""
    from .core.data import OWN_IMAGES, Dataset
    from .core.image import IMAGE_PIXELS, IMAGE_SIDE

    names = _class_names(class_names)

    array = _numpy(images)
    if array.ndim < 2 or array.size == 0 or array[0].size != IMAGE_PIXELS:
        raise ValueError(
            "images must be N 28 x 28 images ([N, 784], [N, 28, 28] or [N, 1, 28, 28]), "
            f"got shape {array.shape}"
        )
    if np.iscomplexobj(array):  # (casting to float would drop the imaginary parts)
        raise ValueError(f"images must be real pixel values, got complex numbers ({array.dtype})")
    n = array.shape[0]
    if n < 2:
        raise ValueError(f"explore() needs at least 2 images, got {n}")
    if array.dtype == np.uint8:
        pixels = array.reshape(n, IMAGE_SIDE, IMAGE_SIDE)
    else:
        floats = array.astype(np.float32).reshape(n, IMAGE_SIDE, IMAGE_SIDE)
        if not np.isfinite(floats).all() or floats.min() < 0 or floats.max() > 1:
            raise ValueError("float images must be finite and in [0, 1] (or give uint8 pixels 0-255)")
        pixels = np.round(floats * 255).astype(np.uint8)
    if labels is None:
        classes = names or ["image"]
        label_array = np.zeros(n, np.uint8)
    else:
        raw = _numpy(labels).reshape(-1)
        if raw.shape[0] != n:
            raise ValueError(f"{raw.shape[0]} labels for {n} images")
        if not np.issubdtype(raw.dtype, np.integer) or raw.min() < 0 or raw.max() > 255:
            raise ValueError("labels must be whole numbers from 0 to 255 (class indices)")
        count = int(raw.max()) + 1
        classes = names or [str(i) for i in range(count)]
        if len(classes) < count:
            raise ValueError(f"{len(classes)} class names for labels up to {count - 1}")
        label_array = raw.astype(np.uint8)
    return Dataset(OWN_IMAGES, "test", np.ascontiguousarray(pixels), label_array, classes)


def _class_names(class_names: Any) -> list[str]:
    """``class_names`` as a list of texts: any sequence (a list, a tuple, a numpy or torch
    array...) of names; [] for None or an empty one. ValueError naming what is wrong."""
    if class_names is None:
        return []
    if isinstance(class_names, (str, bytes)):
        raise ValueError(
            f"class_names must be a list of names, one per class, not one text: {class_names!r:.40}"
        )
    try:
        items = list(_numpy(class_names).reshape(-1)) if hasattr(class_names, "shape") else list(class_names)
    except TypeError:
        raise ValueError(f"class_names must be a list of names, got {type(class_names).__name__}") from None
    return [item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item) for item in items]


def _numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu()
        try:
            value = value.numpy()
        except TypeError:  # a dtype numpy lacks (bfloat16, float8, ...)
            if not value.is_floating_point():
                raise ValueError(
                    f"tensors of {value.dtype} are not supported: give floats or integers"
                ) from None
            value = value.float().numpy()
    return np.asarray(value)


class _CallableModule(types.ModuleType):
    """``vae_explorer.explore`` names this module once it is imported directly (Python
    binds a submodule's name in its package): calling it still calls :func:`explore`."""

    def __call__(self, *args: Any, **kwargs: Any) -> MainWindow:
        return explore(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
