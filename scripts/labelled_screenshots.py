"""Screenshots of a labelled model (M2 / M1+M2) in the window: the style-analogy dock, the
scatter coloured by misclassified test points and by the labelled examples, the digit
grid and class-conditional samples, and the training dock's curves.

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python scripts/labelled_screenshots.py \\
        trained/m2-100-z2.safetensors --out /tmp/shots [--size 1400x900] [--digit 3]

Until the window wires the analogy dock and opens labelled checkpoints itself, this script
adds the dock and hands the model to the state (as the report to the lead describes).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
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
    from vae_explorer.core.checkpoints import load_checkpoint
    from vae_explorer.core.data import DATASETS
    from vae_explorer.gui.labelled import explorer_model
    from vae_explorer.gui.panels.analogy import AnalogyPanel
    from vae_explorer.gui.theme import apply_dark_theme
    from vae_explorer.gui.window import MainWindow
    from vae_explorer.gui.window.docks import add_dock

    ckpt = load_checkpoint(args.checkpoint)
    if ckpt.kind == "vae":
        print(f"{args.checkpoint} holds a VAE; this script shows labelled models", file=sys.stderr)
        return 2
    apply_dark_theme(app)
    name_model = MainWindow._on_model_changed

    def tolerant(self):  # type: ignore[no-untyped-def]
        try:
            name_model(self)
        except AttributeError:  # a window that names models by config.arch (VAE only)
            self.model_label.setText(f"Model: {args.checkpoint.name} ({ckpt.kind.upper()})")

    MainWindow._on_model_changed = tolerant  # type: ignore[method-assign]
    w = MainWindow(None, load_default=False)
    w.resize(width, height)
    w.show()
    wait_for(lambda: getattr(w, "views_ready", False), 30)
    dataset = ckpt.metadata.get("dataset")
    w.set_dataset(dataset if isinstance(dataset, str) and dataset in DATASETS else "mnist")
    if getattr(w, "analogy_dock", None) is None:
        w.analogy = AnalogyPanel(w.state)
        w.analogy_dock = add_dock(
            w, "Style analogy", "analogy_dock", w.analogy, Qt.DockWidgetArea.RightDockWidgetArea
        )
        w.tabifyDockWidget(w.active_units_dock, w.analogy_dock)
    history = ckpt.metadata.get("history")
    w.state.set_history(list(history) if isinstance(history, list) else [])
    w.state.set_model(
        explorer_model(ckpt.model),
        dict(ckpt.metadata),
        args.checkpoint,
        None,
        modified=False,
        arrays=ckpt.arrays,
    )
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
