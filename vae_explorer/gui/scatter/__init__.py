"""The latent scatter view: points (point_cloud), class legend (legend), crosshair and
canvas posterior (markers), hover thumbnails (hover_card), mouse routing (plot), and the
view that ties them to the ExplorerState (view)."""

from .view import LatentScatterView

__all__ = ["LatentScatterView"]
