"""PySide6 + pyqtgraph views of VAE Explorer; all maths is in :mod:`vae_explorer.core`."""
