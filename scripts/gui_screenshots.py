"""Take the README screenshots of the explorer window from the running app.

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python scripts/gui_screenshots.py

Writes resources/screenshots/{main_window,training,latent_grid,decoder_preview,
grid_overlay,samples,canvas,posterior}.png and, for the views beyond the first look,
{timeline,walk,traversal,projection}.png (the last two on the shipped 10-d model), the
window at its default 1400 x 900. ``--only explorer`` takes just the latter four (no
training run). Works with QT_QPA_PLATFORM=offscreen too.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("VAE_EXPLORER_SETTINGS", str(Path(tempfile.mkdtemp()) / "shots.ini"))
os.environ.setdefault("VAE_EXPLORER_RECOVERY", tempfile.mkdtemp(prefix="vae-shots-recovery-"))

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QEventLoop, QPointF, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QMouseEvent, QPainter, QPixmap  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
Z10 = ROOT / "trained" / "mnist-bernoulli-z10.safetensors"
Z2 = ROOT / "trained" / "mnist-bernoulli-z2.safetensors"


def pump(app: QApplication, ms: int = 200) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_for(app: QApplication, done, seconds: float) -> None:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    while not done() and time.perf_counter() - t0 < seconds:
        pump(app, 100)


def mouse(widget, kind, pos: QPointF, buttons=Qt.MouseButton.LeftButton) -> None:
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    ev = QMouseEvent(
        kind, pos, QPointF(widget.mapToGlobal(pos.toPoint())), button, buttons, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, ev)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "resources" / "screenshots")
    ap.add_argument("--checkpoint", help="default: the shipped z=2 model")
    ap.add_argument("--epochs", type=int, default=3, help="epochs trained for training.png")
    ap.add_argument("--only", choices=("all", "first", "explorer"), default="all")
    ap.add_argument("--z10", type=Path, default=Z10, help="the model beyond two dimensions")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    app = QApplication(sys.argv[:1])
    from vae_explorer.gui.theme import APPLICATION, ORGANIZATION, apply_dark_theme
    from vae_explorer.gui.window import MainWindow

    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    apply_dark_theme(app)
    w = MainWindow(args.checkpoint)
    w.resize(1400, 900)
    w.show()
    pump(app, 600)
    if args.only in ("all", "explorer"):
        explorer_shots(app, w, args.out, args.z10)
    if args.only in ("all", "first"):
        if args.only == "all":  # the first look is of the 2-d model again, not the 10-d one
            if not w.open_model(Path(args.checkpoint) if args.checkpoint else Z2):
                raise SystemExit("cannot open the 2-d model again")
            w.scatter.reset_zoom()
            w.timeline_dock.raise_()  # (the walk went with the 10-d model)
            pump(app, 600)
        first_shots(app, w, args)
    # The run's model is not kept: no Save / Discard question to block an unattended close.
    w.ask_unsaved = lambda *_: QMessageBox.StandardButton.Discard
    w.close()
    for p in sorted(args.out.glob("*.png")):
        print(p)
    return 0


def first_shots(app: QApplication, w, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    """The first look: scatter, decoders, canvas, posterior, overlay, a run in progress."""
    s = w.scatter
    vp = s.plot.viewport()

    # A test digit on the canvas: its posterior shows as a star and ellipses on the scatter.
    if w.canvas is not None and hasattr(w.canvas, "load_test_digit"):
        w.canvas.load_test_digit(3)
        pump(app, 400)
    # Decode a point, select a test image (input vs reconstruction), hover another.
    mu = w.state.latents[0]
    mouse(vp, QEvent.Type.MouseButtonPress, s.data_to_viewport(float(mu[7, 0]), float(mu[7, 1])))
    mouse(
        vp,
        QEvent.Type.MouseButtonRelease,
        s.data_to_viewport(float(mu[7, 0]), float(mu[7, 1])),
        Qt.MouseButton.NoButton,
    )
    mouse(vp, QEvent.Type.MouseButtonPress, s.data_to_viewport(-0.6, 0.9))
    mouse(vp, QEvent.Type.MouseButtonRelease, s.data_to_viewport(-0.6, 0.9), Qt.MouseButton.NoButton)
    pump(app, 200)
    mouse(
        vp,
        QEvent.Type.MouseMove,
        s.data_to_viewport(float(mu[21, 0]), float(mu[21, 1])),
        Qt.MouseButton.NoButton,
    )
    pump(app, 300)
    w.grab().save(str(args.out / "main_window.png"))
    w.preview_dock.grab().save(str(args.out / "decoder_preview.png"))
    s.hover.hide()

    w.grid_dock.raise_()
    w.grid.size_spin.setValue(20)
    pump(app, 200)
    w.grid_dock.grab().save(str(args.out / "latent_grid.png"))
    w.samples_dock.raise_()
    pump(app, 200)
    w.samples_dock.grab().save(str(args.out / "samples.png"))
    w.grid_dock.raise_()

    # The canvas dock: a test digit with the middle rows missing, imputed with its draws.
    w.canvas_dock.raise_()
    imputed: list[object] = []
    w.canvas.imputed.connect(imputed.append)
    w.canvas.apply_preset_mask("middle_rows")
    w.canvas.impute()
    wait_for(app, lambda: bool(imputed), 20)
    pump(app, 300)
    w.canvas_dock.grab().save(str(args.out / "canvas.png"))

    # The Posterior dock on the picked test image, with importance draws and the IWAE curve.
    w.posterior_dock.raise_()
    w.posterior.set_source("picked")
    w.posterior.importance_box.setChecked(True)
    wait_for(app, lambda: w.posterior.result is not None and w.posterior.result.draws is not None, 60)
    pump(app, 300)
    w.grab().save(str(args.out / "posterior.png"))
    w.grid_dock.raise_()

    s.overlay_check.setChecked(True)
    s.vb.setRange(xRange=(-2.5, 2.5), yRange=(-2.5, 2.5), padding=0)
    pump(app, 400)
    w.centralWidget().grab().save(str(args.out / "grid_overlay.png"))
    s.overlay_check.setChecked(False)

    # Training in progress: a fresh model, screenshot mid-run.
    w.training.epochs.setValue(20)
    epochs_done: list[object] = []
    w.trainer.epochFinished.connect(epochs_done.append)
    w.training.start_button.click()
    t0 = time.perf_counter()
    # The run starts in the background (data loading first): wait for its epochs, not
    # only while it already runs.
    while len(epochs_done) < args.epochs and time.perf_counter() - t0 < 300:
        if not w.trainer.is_running() and time.perf_counter() - t0 > 30:
            break
        pump(app, 200)
    pump(app, 700)
    w.grab().save(str(args.out / "training.png"))
    w.training.stop_button.click()
    while w.trainer.is_running():
        pump(app, 100)


# --- the views beyond the first look -------------------------------------------------------
def right_click(app: QApplication, w, index: int):  # type: ignore[no-untyped-def]
    """A real right click on test point ``index`` of the scatter; the menu it opened."""
    s = w.scatter
    x, y = s.cloud.points()
    QTest.mouseClick(
        s.plot.viewport(),
        Qt.MouseButton.RightButton,
        pos=s.data_to_viewport(float(x[index]), float(y[index])).toPoint(),
    )
    pump(app, 150)
    if s.context_menu.index != index:
        raise SystemExit(f"the right click meant for test point {index} hit {s.context_menu.index}")
    return s.context_menu


def with_menu(w, menu) -> QPixmap:  # type: ignore[no-untyped-def]
    """The window with the open context menu painted where it pops up (a separate window)."""
    shot = w.grab()
    painter = QPainter(shot)
    painter.drawPixmap(w.mapFromGlobal(menu.pos()), menu.grab())
    painter.end()
    return shot


def class_centre(w, label: int) -> int:
    """A test image of class ``label`` near its class's median on the scatter, with no
    other point within 3 pixels (so a click there hits it)."""
    x, y = w.scatter.cloud.points()
    px, py = w.scatter.vb.viewPixelSize()
    labels = w.state.test_set.labels
    idx = np.flatnonzero(labels == label)
    mx, my = np.median(x[idx]), np.median(y[idx])
    for i in idx[np.argsort(np.hypot(x[idx] - mx, y[idx] - my))]:
        d = np.hypot((x - x[i]) / px, (y - y[i]) / py)
        d[i] = np.inf
        if d.min() > 3.0:
            return int(i)
    raise SystemExit(f"no isolated point of class {label}")


def explorer_shots(app: QApplication, w, out: Path, z10: Path) -> None:  # type: ignore[no-untyped-def]
    """timeline.png, walk.png (the shipped 2-d model), traversal.png, projection.png (10-d)."""
    s = w.scatter
    # The timeline mid-scrub: the clusters part; the curves mark the epoch.
    w.timeline_dock.raise_()
    w.timeline.set_epoch(2.6)
    pump(app, 500)
    w.grab().save(str(out / "timeline.png"))
    w.timeline.go_live()
    pump(app, 300)

    # A walk from a 1 to a 0 through the right-click menu; the menu shown over the shot.
    a, b = class_centre(w, 1), class_centre(w, 0)
    right_click(app, w, a).action("walk_from").trigger()
    menu = right_click(app, w, b)
    menu.setActiveAction(menu.action("walk_to"))
    pump(app, 100)
    menu.action("walk_to").trigger()
    menu.hide()
    pump(app, 400)
    menu = right_click(app, w, b)
    menu.setActiveAction(menu.action("walk_to"))
    pump(app, 200)
    with_menu(w, menu).save(str(out / "walk.png"))
    menu.hide()
    pump(app, 200)

    # The 10-d model: a digit's traversal with its grid, the bottom docks made taller.
    if not w.open_model(z10):
        raise SystemExit(f"cannot open {z10}")
    pump(app, 600)
    s.reset_zoom()
    s.vb.updateAutoRange()  # the new model's points on screen before clicking them
    pump(app, 300)
    digit = class_centre(w, 7)
    right_click(app, w, digit).action("traverse").trigger()
    s.context_menu.hide()
    w.resizeDocks([w.traversal_dock], [330], Qt.Orientation.Vertical)
    pump(app, 300)
    t = w.traversal
    t.set_slider_value(3, t.slider_value(3) + 1.5)
    t.make_grid()
    pump(app, 500)
    w.grab().save(str(out / "traversal.png"))

    # Its PCA plane: the whole explorer works there (a click decodes mean + x pc1 + y pc2).
    w.resizeDocks([w.traversal_dock], [170], Qt.Orientation.Vertical)
    w.scatter_plane.choose("pca")
    s.vb.updateAutoRange()
    pump(app, 600)
    a, b = class_centre(w, 4), class_centre(w, 0)
    right_click(app, w, a).action("walk_from").trigger()
    s.context_menu.hide()
    right_click(app, w, b).action("walk_to").trigger()
    s.context_menu.hide()
    pump(app, 500)
    w.grab().save(str(out / "projection.png"))


if __name__ == "__main__":
    raise SystemExit(main())
