"""VAE Explorer: train a variational auto-encoder and look inside it."""

__version__ = "0.1.0"
