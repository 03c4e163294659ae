"""Take the README screenshots of the explorer window from the running app.

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python scripts/gui_screenshots.py

Writes resources/screenshots/{main_window,training,latent_grid,decoder_preview,
grid_overlay,samples,canvas,posterior}.png, the window at its default 1400 x 900. Works
with QT_QPA_PLATFORM=offscreen too.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("VAE_EXPLORER_SETTINGS", str(Path(tempfile.mkdtemp()) / "shots.ini"))

from PySide6.QtCore import QEvent, QEventLoop, QPointF, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


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
    w.close()
    for p in sorted(args.out.glob("*.png")):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
