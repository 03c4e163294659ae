"""Soak the explorer window: a model trains for several epochs while scripted clicks and
drags land on the latent scatter and grid and strokes on the canvas; then check that
nothing failed and that memory after it is within 10% of memory after the first epoch.
Training runs until at least ``--epochs`` epochs and ``--during-share`` of the input are
done, then Stop is pressed; the rest of the input lands on the trained model.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/soak.py --epochs 10 \
        --train-images 60000 --scatter-clicks 5000 --scatter-drags 1000 --grid-clicks 2000 \
        --strokes 1500

tests/gui/test_soak.py drives the same ``run_soak`` with small counts (CI, < 1 minute).
Exit status: 0 when the soak passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MAX_GROWTH = 0.10  # memory after the soak may exceed memory after epoch 1 by this much


@dataclass(frozen=True)
class SoakPlan:
    """How much to do: the training run and the number of each interaction."""

    epochs: int = 4
    train_images: int = 2000
    batch_size: int = 50
    hidden_dim: int = 64
    scatter_clicks: int = 300
    scatter_drags: int = 60
    scatter_hovers: int = 200  # moves without a button: hover thumbnails
    zooms: int = 40  # wheel steps on the scatter (in, then out): the grid follows the view
    drag_moves: int = 8
    grid_clicks: int = 100
    strokes: int = 60
    during_share: float = 0.6  # of each kind of interaction, to land while training runs
    seed: int = 0
    timeout_s: float = 120.0


@dataclass
class SoakReport:
    """What happened: counts, epochs, memory (bytes), time and any errors."""

    done: dict[str, int]
    during_training: int
    epochs_completed: int
    rss_first_epoch: int
    rss_after_training: int
    rss_end: int
    seconds: float
    errors: list[str] = field(default_factory=list)

    @property
    def growth(self) -> float:
        """Relative RSS change from the end of epoch 1 to the end of the soak."""
        return self.rss_end / self.rss_first_epoch - 1.0

    @property
    def growth_after_training(self) -> float:
        """Relative RSS change over the interactions after training ended (no worker data)."""
        return self.rss_end / self.rss_after_training - 1.0

    @property
    def passed(self) -> bool:
        return not self.errors and self.growth <= MAX_GROWTH

    def lines(self) -> list[str]:
        mb = 1 / 2**20
        done = ", ".join(f"{k} {v:,}" for k, v in self.done.items())
        return [
            f"interactions: {done} ({self.during_training:,} while training)",
            f"epochs completed: {self.epochs_completed}",
            f"RSS after epoch 1: {self.rss_first_epoch * mb:.1f} MiB",
            f"RSS when training ended: {self.rss_after_training * mb:.1f} MiB",
            f"RSS after the soak: {self.rss_end * mb:.1f} MiB ({self.growth:+.1%} from epoch 1, "
            f"limit +{MAX_GROWTH:.0%}; {self.growth_after_training:+.1%} from the end of training)",
            f"time: {self.seconds:.1f} s",
            f"errors: {len(self.errors)}" + "".join(f"\n  {e}" for e in self.errors[:20]),
            "PASSED" if self.passed else "FAILED",
        ]


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _settled_rss(app: Any) -> int:
    for _ in range(3):
        app.processEvents()
    gc.collect()
    return rss_bytes()


def run_soak(window: Any, plan: SoakPlan) -> SoakReport:
    """Train in ``window`` while scripted input lands on its views; measure memory."""
    from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
    from PySide6.QtGui import QMouseEvent, QWheelEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    rng = np.random.default_rng(plan.seed)
    left, no_button = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton

    def send(widget: Any, kind: QEvent.Type, pos: QPointF, buttons: Qt.MouseButton = left) -> None:
        button = no_button if kind == QEvent.Type.MouseMove else left
        glob = QPointF(widget.mapToGlobal(pos.toPoint()))
        ev = QMouseEvent(kind, pos, glob, button, buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, ev)

    def scatter_point() -> QPointF:
        (x0, x1), (y0, y1) = window.scatter.visible_range()
        fx, fy = rng.uniform(0.05, 0.95, 2)
        return window.scatter.data_to_viewport(x0 + fx * (x1 - x0), y0 + fy * (y1 - y0))

    def scatter_click() -> None:
        vp = window.scatter.plot.viewport()
        p = scatter_point()
        send(vp, QEvent.Type.MouseButtonPress, p)
        send(vp, QEvent.Type.MouseButtonRelease, p, no_button)

    def scatter_drag() -> None:
        vp = window.scatter.plot.viewport()
        send(vp, QEvent.Type.MouseButtonPress, scatter_point())
        for _ in range(plan.drag_moves):
            send(vp, QEvent.Type.MouseMove, scatter_point())
            app.processEvents()
        send(vp, QEvent.Type.MouseButtonRelease, scatter_point(), no_button)

    def scatter_hover() -> None:
        send(window.scatter.plot.viewport(), QEvent.Type.MouseMove, scatter_point(), no_button)

    zoom_in = [True]

    def zoom() -> None:
        vp = window.scatter.plot.viewport()
        p = scatter_point()
        delta = 120 if zoom_in[0] else -120
        zoom_in[0] = not zoom_in[0]
        ev = QWheelEvent(
            p, QPointF(vp.mapToGlobal(p.toPoint())), QPoint(0, 0), QPoint(0, delta),
            no_button, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
        )  # fmt: skip
        QApplication.sendEvent(vp, ev)

    def grid_click() -> None:
        canvas = window.grid.canvas
        r = canvas.target_rect()
        fx, fy = rng.uniform(0.01, 0.99, 2)
        pos = QPoint(int(r.x() + fx * r.width()), int(r.y() + fy * r.height()))
        QTest.mouseClick(canvas, left, Qt.KeyboardModifier.NoModifier, pos)

    panel = window.canvas

    def stroke() -> None:
        if panel is None:
            return
        k = int(rng.integers(100))
        tool = "ink" if k < 70 else ("mask" if k < 90 else "eraser")
        panel.tool_actions[tool].trigger()
        if k == 0:
            panel.canvas.clear()
        elif k == 1:
            panel.random_button.click()
        canvas = panel.canvas
        row, col = rng.uniform(-3, 31, 2)  # some strokes start or wander off the canvas
        send(canvas, QEvent.Type.MouseButtonPress, canvas.pixel_center(row, col))
        for _ in range(int(rng.integers(2, 12))):
            row, col = np.clip([row, col] + rng.normal(0, 3, 2), -5, 33)
            send(canvas, QEvent.Type.MouseMove, canvas.pixel_center(row, col))
        send(canvas, QEvent.Type.MouseButtonRelease, canvas.pixel_center(row, col), no_button)

    actions: dict[str, tuple[int, Callable[[], None]]] = {
        "scatter clicks": (plan.scatter_clicks, scatter_click),
        "scatter drags": (plan.scatter_drags, scatter_drag),
        "scatter hovers": (plan.scatter_hovers, scatter_hover),
        "zooms": (plan.zooms, zoom),
        "grid clicks": (plan.grid_clicks, grid_click),
        "canvas strokes": (plan.strokes if panel is not None else 0, stroke),
    }

    # The layout a user might pick: grid and canvas side by side, both on screen.
    if window.canvas_dock is not None:
        window.splitDockWidget(window.grid_dock, window.canvas_dock, Qt.Orientation.Horizontal)
        window.canvas_dock.show()
    window.grid_dock.show()
    window.grid_dock.raise_()
    if panel is not None:
        i = panel.method_combo.findData("single")
        if i >= 0:
            panel.method_combo.setCurrentIndex(i)
        panel.live_check.setChecked(True)
        panel.load_test_digit(0)
    t = window.training
    t.train_limit, t.torch_threads = plan.train_images, 1
    t.latent_dim.setValue(2)
    t.hidden_dim.setValue(plan.hidden_dim)
    # Train until at least ``plan.epochs`` epochs AND the in-training share of the input
    # are done, then press Stop: the mix does not depend on how fast this machine trains.
    t.epochs.setValue(t.epochs.maximum())
    t.batch_size.setValue(plan.batch_size)
    for _, act in actions.values():  # warm-up: first-use allocations are not growth
        act()
    app.processEvents()

    done = dict.fromkeys(actions, 0)
    epochs: list[int] = []
    window.trainer.epochFinished.connect(lambda ev: epochs.append(ev.epoch))
    errors: list[str] = []
    finished: list[Any] = []
    window.trainer.done.connect(finished.append)
    window.trainer.failed.connect(lambda m: errors.append(f"training failed: {m}"))
    applied_before = window.trainer.snapshots_applied
    t0 = time.perf_counter()
    QTest.mouseClick(t.start_button, left)
    rss_first: int | None = None
    rss_trained: int | None = None
    during = 0
    target = {k: int(np.ceil(n * plan.during_share)) for k, (n, _) in actions.items()}
    stop_sent = False
    while True:
        running = not finished
        if (
            running
            and not stop_sent
            and len(epochs) >= plan.epochs
            and all(done[k] >= target[k] for k in actions)
        ):
            QTest.mouseClick(t.stop_button, left)
            stop_sent = True
        if rss_first is None and epochs and window.trainer.snapshots_applied > applied_before:
            rss_first = _settled_rss(app)
        if rss_trained is None and not running:
            rss_trained = _settled_rss(app)
        left_over = {k: n - done[k] for k, (n, _) in actions.items() if done[k] < n}
        if not left_over and not running:
            break
        if time.perf_counter() - t0 > plan.timeout_s:
            errors.append(f"timed out after {plan.timeout_s:.0f} s (training running: {running})")
            break
        if left_over:
            # The kind with the largest share still to do: the kinds stay interleaved.
            key = max(left_over, key=lambda k: left_over[k] / max(1, actions[k][0]))
            actions[key][1]()
            done[key] += 1
            during += running
        else:
            time.sleep(0.005)
        app.processEvents()
    if panel is not None:
        end = time.perf_counter() + 10
        while panel.runner.is_busy() and time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.005)
    if rss_first is None:
        errors.append("no epoch finished")
        rss_first = rss_bytes()
    rss_end = _settled_rss(app)
    rss_trained = rss_trained or rss_end
    if window.last_error:
        errors.append(f"the window reported: {window.last_error}")
    seconds = time.perf_counter() - t0
    return SoakReport(done, during, len(epochs), rss_first, rss_trained, rss_end, seconds, errors)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    d = SoakPlan()
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--train-images", type=int, default=60_000)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--scatter-clicks", type=int, default=5000)
    p.add_argument("--scatter-drags", type=int, default=1000)
    p.add_argument("--drag-moves", type=int, default=d.drag_moves)
    p.add_argument("--scatter-hovers", type=int, default=3000)
    p.add_argument("--zooms", type=int, default=400)
    p.add_argument("--grid-clicks", type=int, default=2000)
    p.add_argument("--strokes", type=int, default=1500)
    p.add_argument(
        "--during-share",
        type=float,
        default=d.during_share,
        help="share of each kind of input that lands while training runs",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds before giving up")
    p.add_argument("--model", help="checkpoint to open first (default: the shipped model)")
    a = p.parse_args(argv)
    plan = SoakPlan(
        epochs=a.epochs,
        train_images=a.train_images,
        batch_size=a.batch_size,
        scatter_clicks=a.scatter_clicks,
        scatter_drags=a.scatter_drags,
        scatter_hovers=a.scatter_hovers,
        zooms=a.zooms,
        drag_moves=a.drag_moves,
        grid_clicks=a.grid_clicks,
        strokes=a.strokes,
        during_share=a.during_share,
        seed=a.seed,
        timeout_s=a.timeout,
    )
    # Never touch the user's settings or recovery copies.
    settings = Path(tempfile.mkdtemp(prefix="vae-soak-")) / "settings.ini"
    os.environ["VAE_EXPLORER_SETTINGS"] = str(settings)
    os.environ["VAE_EXPLORER_RECOVERY"] = str(settings.parent / "recovery")

    from PySide6.QtCore import QtMsgType, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from vae_explorer.gui.window import MainWindow

    errors: list[str] = []

    def on_exception(kind, value, tb) -> None:  # type: ignore[no-untyped-def]
        import traceback

        errors.append("".join(traceback.format_exception(kind, value, tb)).strip())

    def on_qt_message(mode, _context, message) -> None:  # type: ignore[no-untyped-def]
        if mode != QtMsgType.QtDebugMsg and "propagateSizeHints" not in message:
            errors.append(f"Qt: {message}")

    sys.excepthook = on_exception
    qInstallMessageHandler(on_qt_message)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(a.model, load_default=True)
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    print(f"soak: {plan}", flush=True)
    report = run_soak(window, plan)
    window.close()
    report.errors.extend(errors)
    print("\n".join(report.lines()))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
