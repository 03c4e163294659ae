"""Train the shipped models in trained/ with the CLI and record command and metrics.

    .venv/bin/python scripts/train_shipped.py [--retrain] [NAME ...]

Each model is trained by `vae-explorer train` (its exact command goes into the checkpoint's
metadata and the JSON beside it), then evaluated by `vae-explorer eval --iwae 1000 --json`.
The checkpoint keeps its training history (each epoch's test latents, the weights at a
budget of epochs); a retrained model also gets the window's first screen cached
(scripts/cache_first_screen.py) and its history animated into resources/figures/NAME-training.gif.
A model trained before histories were kept has none: retrain it (--retrain) to get one.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMON = "--hidden-dim 256 --epochs 50 --batch-size 100 --lr 3e-3 --lr-schedule cosine --seed 0 --device cpu"
MODELS = {
    "mnist-bernoulli-z2": f"--dataset mnist --likelihood bernoulli --latent-dim 2 {COMMON}",
    "mnist-gaussian-z2": f"--dataset mnist --likelihood gaussian --latent-dim 2 {COMMON}",
    "fashion-mnist-bernoulli-z2": f"--dataset fashion-mnist --likelihood bernoulli --latent-dim 2 {COMMON}",
    # Beyond two dimensions: the PCA plane, UMAP/t-SNE maps, traversals and active units.
    "mnist-bernoulli-z10": f"--dataset mnist --likelihood bernoulli --latent-dim 10 {COMMON}",
}
IWAE_K = 1000


def main(argv: list[str]) -> None:
    retrain = "--retrain" in argv
    names = [a for a in argv if a != "--retrain"]
    exe = str(Path(sys.executable).with_name("vae-explorer"))
    for name in names or list(MODELS):
        out = f"trained/{name}.safetensors"
        args = ["train", *shlex.split(MODELS[name]), "--out", out, "--quiet"]
        if retrain or not (ROOT / out).exists():
            print("vae-explorer", " ".join(args), flush=True)
            subprocess.run([exe, *args], cwd=ROOT, check=True)
            cache_script = ROOT / "scripts" / "cache_first_screen.py"
            if cache_script.exists():
                subprocess.run([sys.executable, str(cache_script), out], cwd=ROOT, check=True)
            gif = f"resources/figures/{name}-training.gif"
            animate = ["animate", out, "--out", gif, "--steps-between", "1", "--size", "400", "--quiet"]
            subprocess.run([exe, *animate], cwd=ROOT, check=True)
        result = subprocess.run(
            [exe, "eval", out, "--iwae", str(IWAE_K), "--json"],
            cwd=ROOT, check=True, capture_output=True, text=True,
        )  # fmt: skip
        metrics = json.loads(result.stdout)
        from vae_explorer.core.checkpoints import load_checkpoint

        ckpt = load_checkpoint(ROOT / out)
        meta = ckpt.metadata
        record = {
            "checkpoint": out,
            "command": meta["command"],
            "dataset": meta["dataset"],
            "train_seconds": meta["train_seconds"],
            "epochs_completed": meta["epochs_completed"],
            "test_metrics": meta["test_metrics"],
            "iwae": {"k": IWAE_K, "seed": 0, **metrics},
            "eval_command": f"vae-explorer eval {out} --iwae {IWAE_K}",
            "history": _history_summary(ckpt, ROOT / out),
        }
        (ROOT / "trained" / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
        print(json.dumps(record["test_metrics"]), flush=True)


def _history_summary(ckpt: object, path: Path) -> dict[str, object] | None:
    """What training history the checkpoint keeps (None: none; retrain to get one)."""
    from vae_explorer.core.history import TrainingHistory

    history = TrainingHistory.from_checkpoint(ckpt)  # type: ignore[arg-type]
    if history is None:
        print(f"{path.name}: no training history (trained before histories were kept; use --retrain)")
        return None
    return {
        "latent_epochs": len(history.epochs),
        "weight_epochs": history.weight_epochs,
        "file_mb": round(path.stat().st_size / 1e6, 1),
    }


if __name__ == "__main__":
    main(sys.argv[1:])
