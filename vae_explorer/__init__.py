"""VAE Explorer: train a variational auto-encoder and look inside it.

``vae_explorer.explore(model, images)`` opens the explorer on your own VAE (imported on
first use: ``import vae_explorer`` stays light, without torch or Qt).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "explore"]


def __getattr__(name: str) -> Any:
    if name == "explore":
        # Importing the submodule binds its name here; the function takes its place.
        from .explore import explore

        globals()["explore"] = explore
        return explore
    raise AttributeError(f"module 'vae_explorer' has no attribute {name!r}")
