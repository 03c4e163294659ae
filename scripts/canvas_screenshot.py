"""Screenshot of the painting canvas and imputation panel with a trained model.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/canvas_screenshot.py [--out PNG]

Uses trained/mnist-bernoulli-z2.safetensors when it exists, otherwise trains a 2-d VAE
for a few epochs (about ten seconds). Loads a test digit, applies the middle-rows mask
(the seed article's), imputes it and grabs the widget.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT = ROOT / "trained" / "mnist-bernoulli-z2.safetensors"
QUICK = Path(tempfile.gettempdir()) / "vae-explorer-canvas-quick-z2.safetensors"


def trained_model(epochs: int):  # type: ignore[no-untyped-def]
    """The shipped 2-d model, or a quickly trained one."""
    from vae_explorer.core.checkpoints import load_checkpoint, save_checkpoint
    from vae_explorer.core.data import load_dataset
    from vae_explorer.core.model import VAE, VAEConfig
    from vae_explorer.core.training import TrainConfig, train

    for path in (CHECKPOINT, QUICK):
        if path.exists():
            print(f"model: {path}")
            return load_checkpoint(path).model.eval()
    print(f"model: trained here for {epochs} epochs (no {CHECKPOINT.name} yet)")
    images = load_dataset("mnist", "train").images
    model = VAE(VAEConfig(latent_dim=2))
    for _ in train(model, images, TrainConfig(epochs=epochs, lr=3e-3, seed=0, device="cpu")):
        pass
    save_checkpoint(model, QUICK, {"note": "quick model for the canvas screenshot"})
    return model.eval()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "resources" / "screenshots" / "canvas.png"))
    parser.add_argument("--index", type=int, default=0, help="test digit to show")
    parser.add_argument("--method", default="importance")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from vae_explorer.core.data import load_dataset
    from vae_explorer.gui.canvas import CanvasPanel
    from vae_explorer.gui.state import ExplorerState

    app = QApplication(sys.argv[:1])
    from vae_explorer.gui.theme import apply_dark_theme

    apply_dark_theme(app)

    model = trained_model(args.epochs)
    test = load_dataset("mnist", "test")
    state = ExplorerState()
    state.set_dataset("mnist", test)
    state.set_model(model)
    panel = CanvasPanel(state)
    panel.setWindowTitle("Canvas and imputation")
    panel.resize(560, 940)
    panel.live_check.setChecked(True)
    panel.show()
    panel.load_test_digit(args.index)
    panel.apply_preset_mask("middle_rows")
    panel.method_combo.setCurrentIndex(max(0, panel.method_combo.findData(args.method)))

    loop = QEventLoop()
    panel.imputed.connect(lambda _image: QTimer.singleShot(200, loop.quit))
    QTimer.singleShot(100, panel.impute)
    QTimer.singleShot(20_000, loop.quit)
    loop.exec()

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    panel.grab().save(str(out))
    print(f"{panel.message_label.text()}\nwrote {out}")
    panel.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
