"""Screenshots of a labelled model (M2 / M1+M2) in the window: the style-analogy dock, the
scatter coloured by misclassified test points and by the labelled examples, the digit
grid and class-conditional samples, and the training dock's curves.

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python scripts/labelled_screenshots.py \\
        trained/m1m2-mnist-z2-100.safetensors --out /tmp/shots [--size 1400x900] [--digit 3]

The window opens the checkpoint as File > Open does.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication


def pump(ms: int = 200) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_for(done, seconds: float) -> None:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    while not done() and time.perf_counter() - t0 < seconds:
        pump(100)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint", type=Path, help="a labelled (m2 / m1m2) checkpoint")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--size", default="1400x900")
    ap.add_argument("--digit", type=int, default=3, help="test image drawn on the canvas")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    args.out.mkdir(parents=True, exist_ok=True)

    app = QApplication(sys.argv[:1])
    from vae_explorer.gui.labelled import is_labelled
    from vae_explorer.gui.theme import apply_dark_theme
    from vae_explorer.gui.window import MainWindow

    apply_dark_theme(app)
    w = MainWindow(None, load_default=False)
    w.resize(width, height)
    w.show()
    wait_for(lambda: getattr(w, "views_ready", False), 30)
    if not w.open_model(args.checkpoint):
        print(f"could not open {args.checkpoint}", file=sys.stderr)
        return 1
    if not is_labelled(w.state.model):
        print(f"{args.checkpoint} holds a VAE; this script shows labelled models", file=sys.stderr)
        return 2
    pump(500)
    w.canvas.load_test_digit(args.digit)
    pump(600)
    w.analogy_dock.raise_()
    wait_for(lambda: not w.analogy.is_busy(), 30)
    pump(300)
    w.grab().save(str(args.out / "labelled_analogy.png"))
    w.analogy_dock.grab().save(str(args.out / "analogy_dock.png"))
    colour = w.scatter.colour_by
    for quantity, dock, file in (
        ("misclassified", w.grid_dock, "labelled_misclassified.png"),
        ("labelled", w.samples_dock, "labelled_examples.png"),
    ):
        colour.combo.setCurrentIndex(colour.combo.findData(quantity))
        wait_for(lambda: not colour.is_busy() and colour.marks.found is not None, 120)
        dock.raise_()
        pump(400)
        w.grab().save(str(args.out / file))
        print(f"{file}: {colour.marks.summary}")
    w.training_dock.grab().save(str(args.out / "labelled_training.png"))
    print(f"analogy: {w.analogy.info.text()}")
    os._exit(0)  # no "save the model?" question on the way out


if __name__ == "__main__":
    raise SystemExit(main())
